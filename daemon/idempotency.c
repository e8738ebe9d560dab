/* idempotency.c: idempotency keys stored with the response, in the call's transaction. A key
 * belongs to the user who sent it (user 0: calls without a token), so one user can never
 * replay another's answer. */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db.h"
#include "status.h"
#include "param.h"

#define IDEM_KEY_MAX 128 /* the table's CHECK says the same */

/* Two hashes of (user, key) in the two-key advisory lock space, apart from clinic_lock_key's. */
static const struct db_stmt lock_stmt = {
    "SELECT pg_advisory_xact_lock(hashtext($1), hashtext(coalesce(clinic_caller_user(), 0)::text))",
    1};
static const struct db_stmt lookup_stmt = {
    "SELECT method, encode(request_sha256, 'hex'), encode(response, 'hex') FROM idempotency_keys"
    " WHERE user_id = coalesce(clinic_caller_user(), 0) AND key = $1",
    1};
static const struct db_stmt store_stmt = {
    "INSERT INTO idempotency_keys (key, method, request_sha256, user_id, response)"
    " VALUES ($1, $2, decode($3, 'hex'), $4, decode($5, 'hex'))",
    5};

static char *to_hex(struct call *call, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = call_alloc(call, 2 * len + 1);
    for (size_t i = 0; out && i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    return out;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Makes the stored hex response the call's reply. */
static bool replay(struct call *call, const char *hex)
{
    size_t len = strlen(hex) / 2;
    call->reply.data = malloc(len ? len : 1);
    if (!call->reply.data) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    for (size_t i = 0; i < len; i++)
        call->reply.data[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    call->reply.len = len;
    call->replied = true;
    return true;
}

/* The request's SHA-256 in hex, in the call's arena: what a reused key is compared by. */
static char *request_digest(struct call *call, const ProtobufCBinaryData *payload)
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, payload->data, payload->len);
    return to_hex(call, digest, sizeof digest);
}

bool idem_find_steps(struct call *call, const char *key, struct db_step *steps,
                     struct db_result **found)
{
    const char **params = call_alloc(call, sizeof *params);
    if (!params) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    params[0] = key;
    steps[0] = (struct db_step){&lock_stmt, params, NULL};
    steps[1] = (struct db_step){&lookup_stmt, params, found};
    return true;
}

enum idem_claim idem_check(struct call *call, struct db_result *found, const char *key,
                           const char *method, const ProtobufCBinaryData *payload)
{
    /* checked here, once the caller is known and allowed, so that a bad token is told first */
    if (strlen(key) > IDEM_KEY_MAX) {
        db_result_free(found);
        call_violation(call, "idempotency_key", "must be at most %d characters", IDEM_KEY_MAX);
        return IDEM_FAILED;
    }
    if (!found || db_rows(found) == 0) {
        db_result_free(found);
        return IDEM_FRESH;
    }
    const char *digest = request_digest(call, payload);
    enum idem_claim outcome = IDEM_FAILED;
    if (!digest)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    else if (strcmp(db_value(found, 0, 0), method) != 0 ||
             strcmp(db_value(found, 0, 1), digest) != 0)
        call_violation(call, "idempotency_key",
                       "was already used for a different request; use a new key per request");
    else if (replay(call, db_value(found, 0, 2)))
        outcome = IDEM_REPLAYED;
    db_result_free(found);
    return outcome;
}

bool idem_store_step(struct call *call, const char *key, const char *method,
                     const ProtobufCBinaryData *payload, struct db_step *step)
{
    const char **params = call_alloc(call, 5 * sizeof *params);
    if (params) {
        params[0] = key;
        params[1] = method;
        params[2] = request_digest(call, payload);
        params[3] = param_i64(call, call->caller.user_id);
        params[4] = to_hex(call, call->reply.data, call->reply.len);
    }
    if (!params || !params[2] || !params[3] || !params[4]) {
        call_release_reply(call);
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    *step = (struct db_step){&store_stmt, params, NULL};
    return true;
}
