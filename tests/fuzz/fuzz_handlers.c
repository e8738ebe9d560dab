/* fuzz_handlers.c: libFuzzer target. Every handler, through rpc_serve as a worker runs it, with
 * a caller the stand-in database knows and that database's answers taken from the input, so
 * handlers are reached past their first query: authorisation against targets that exist or not,
 * idempotent replays, refusals with every SQLSTATE clinicd maps, rows of every shape.
 *
 * Input: a call (fuzz_daemon.h). Checks: the reply keeps rpc_serve's promises (fuzz_check.h) and
 * a successful one decodes as the method's response type with valid text; no statement gets a
 * parameter that is not UTF-8 (fuzz_db.h); ASan and UBSan for the rest. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "clock.h"
#include "db.h"
#include "fuzz_check.h"
#include "fuzz_daemon.h"
#include "fuzz_db.h"
#include "login_limit.h"
#include "status.h"

#define LOGIN_LIMIT 2 /* failed logins per address; the daemon's default is higher */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct db *db;
static char token_hex[2 * crypto_hash_sha256_BYTES + 1];

static void to_hex(const uint8_t *bytes, size_t n, char *out)
{
    sodium_bin2hex(out, 2 * n + 1, bytes, n);
}

/* Serves one call input and checks the reply; returns its status code. */
static int serve(const uint8_t *data, size_t size)
{
    struct fuzz_call call;
    if (!fuzz_call_split(data, size, &call))
        return -1;
    fuzz_db_start(call.script, call.script_len);
    /* the per-address login limit holds state between calls: each Login sets its own */
    if (strcmp(call.method->name, "/clinic.v1.Auth/Login") == 0) {
        login_limit_reset();
        login_limit_configure(LOGIN_LIMIT);
        for (int i = 0; i < LOGIN_LIMIT && (call.flags & FUZZ_CALL_LOCKED_OUT); i++)
            login_limit_failed(FUZZ_PEER, now_us());
    }
    unsigned role = call.flags & FUZZ_CALL_ROLE_MASK;
    if (role >= ROLE_ADMIN && role < ROLE_COUNT)
        fuzz_db_set_caller(token_hex, caller_role_name((enum caller_role)role), FUZZ_USER_ID,
                           FUZZ_THERAPIST_ID, FUZZ_CLIENT_ID);
    /* what an idempotency row must repeat to be replayed: the method and the request's digest */
    uint8_t digest[crypto_hash_sha256_BYTES];
    char digest_hex[2 * sizeof digest + 1];
    crypto_hash_sha256(digest, call.payload, call.payload_len);
    to_hex(digest, sizeof digest, digest_hex);
    fuzz_db_add_value(call.method->name);
    fuzz_db_add_value(digest_hex);

    size_t request_len;
    uint8_t *request = fuzz_call_envelope(&call, &request_len);
    uint8_t *reply = NULL;
    size_t reply_len =
        rpc_serve(fuzz_daemon_server(), db, NULL, 0, FUZZ_PEER, request, request_len, &reply);
    /* a replayed answer is whatever the idempotency row held: only the envelope is the daemon's */
    bool keyed = call.flags & (FUZZ_CALL_KEY | FUZZ_CALL_LONG_KEY);
    int code = fuzz_check_reply(reply, reply_len, keyed ? NULL : call.method->desc->output);
    free(reply);
    free(request);
    return code;
}

/* The stand-in must still recognise auth.c's statement, or every call would stop at
 * UNAUTHENTICATED and this target would test nothing past it: check once with WhoAmI. */
static void check_authentication_reached(void)
{
    const struct rpc_table *table = &fuzz_daemon_server()->table;
    const struct rpc_method *whoami = rpc_table_find(table, "/clinic.v1.Auth/WhoAmI");
    if (!whoami)
        fuzz_fail("the daemon serves no /clinic.v1.Auth/WhoAmI");
    uint8_t input[4] = {(uint8_t)(whoami - table->methods), ROLE_ADMIN, 0, 0};
    int code = serve(input, sizeof input);
    if (code != STATUS_OK)
        fuzz_fail("an admin's WhoAmI answered %s, not OK: does fuzz_db.c still recognise "
                  "auth.c's statement?",
                  status_code_name(code));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    uint8_t digest[crypto_hash_sha256_BYTES];
    if (sodium_init() < 0 || !(db = db_new("stand-in")))
        abort();
    crypto_hash_sha256(digest, (const uint8_t *)FUZZ_TOKEN, strlen(FUZZ_TOKEN));
    to_hex(digest, sizeof digest, token_hex);
    check_authentication_reached();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    serve(data, size);
    return 0;
}
