/* idempotency.c: idempotency keys stored with the response, in the call's transaction. A key
 * belongs to the user who sent it (user 0: calls without a token), so one user can never
 * replay another's answer. */
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "status.h"
#include "validate.h"

static const struct db_stmt claim_stmt = {
    "INSERT INTO idempotency_keys (key, method, request_sha256, user_id)"
    " VALUES ($1, $2, sha256(decode($3, 'hex')), $4)"
    " ON CONFLICT (user_id, key) DO NOTHING RETURNING 1",
    4};
static const struct db_stmt lookup_stmt = {
    "SELECT method = $2 AND request_sha256 = sha256(decode($3, 'hex')), encode(response, 'hex')"
    " FROM idempotency_keys WHERE key = $1 AND user_id = $4",
    4};
static const struct db_stmt store_stmt = {
    "UPDATE idempotency_keys SET response = decode($2, 'hex') WHERE key = $1 AND user_id = $3", 3};

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

enum idem_claim idem_claim(struct call *call, const char *key, const char *method,
                           const ProtobufCBinaryData *payload)
{
    if (strlen(key) > 128) {
        call_violation(call, "idempotency_key", "must be at most 128 characters");
        return IDEM_FAILED;
    }
    const char *hex = to_hex(call, payload->data, payload->len);
    const char *params[] = {key, method, hex, param_i64(call, call->caller.user_id)};
    struct db_result *r;
    if (!hex || !params[3] || db_query(call->db, &claim_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return IDEM_FAILED;
    }
    bool fresh = db_rows(r) == 1;
    db_result_free(r);
    if (fresh)
        return IDEM_FRESH;
    if (db_query(call->db, &lookup_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return IDEM_FAILED;
    }
    enum idem_claim outcome = IDEM_FAILED;
    if (db_rows(r) != 1 || strcmp(db_value(r, 0, 0), "t") != 0)
        call_violation(call, "idempotency_key",
                       "was already used for a different request; use a new key per request");
    else if (replay(call, db_value(r, 0, 1)))
        outcome = IDEM_REPLAYED;
    db_result_free(r);
    return outcome;
}

bool idem_store_step(struct call *call, const char *key, struct db_step *step)
{
    const char **params = call_alloc(call, 3 * sizeof *params);
    if (params) {
        params[0] = key;
        params[1] = to_hex(call, call->reply.data, call->reply.len);
        params[2] = param_i64(call, call->caller.user_id);
    }
    if (!params || !params[1] || !params[2]) {
        call_release_reply(call);
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    *step = (struct db_step){&store_stmt, params, NULL};
    return true;
}
