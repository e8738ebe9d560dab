/* svc_auth.c: clinic.v1.Auth: logging in and out, who am I, changing one's password.
 *
 * Login runs outside a transaction (METHOD_NO_TX): a failed attempt must be counted, and
 * committed, even though the call fails. Its statements are single autocommitted ones. After
 * LOGIN_SLOW_AFTER failures in a row the answer is delayed a little more each time; at
 * LOGIN_LOCK_AFTER the account refuses logins (RESOURCE_EXHAUSTED) for LOGIN_LOCK_MINUTES, the
 * right password included. Failures older than the lock period are forgotten. The same sentence
 * answers an unknown email and a wrong password, after the same Argon2id work. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "call.h"
#include "clinic/v1/auth.pb-c.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "login_limit.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

#define LOGIN_SLOW_AFTER    2
#define LOGIN_LOCK_AFTER    5
#define LOGIN_LOCK_MINUTES  15
#define LOGIN_DELAY_STEP_MS 250
#define LOGIN_DELAY_MAX_MS  1000

static const struct db_stmt find_stmt = {
    "SELECT u.id, u.password_hash, u.active, u.role::text,"
    " coalesce(u.locked_until > now(), false),"
    " greatest(1, ceil(extract(epoch FROM u.locked_until - now()) / 60))::int"
    " FROM users u WHERE lower(u.email) = lower($1)",
    1};
static const struct db_stmt failure_stmt = {
    "WITH f AS (SELECT id, CASE WHEN last_failed_login_at > now() - make_interval(mins => $3)"
    "  THEN failed_logins + 1 ELSE 1 END AS n FROM users WHERE id = $1)"
    " UPDATE users u SET failed_logins = f.n, last_failed_login_at = now(),"
    " locked_until = CASE WHEN f.n >= $2 THEN now() + make_interval(mins => $3)"
    "  ELSE u.locked_until END"
    " FROM f WHERE u.id = f.id RETURNING f.n",
    3};
/* Success: the failures are forgotten, a rehash (when the limits changed) stored, the token's
 * hash inserted; one statement. */
static const struct db_stmt success_stmt = {
    "WITH u AS (UPDATE users SET failed_logins = 0, locked_until = NULL,"
    "  password_hash = coalesce($4, password_hash) WHERE id = $1 RETURNING *),"
    " t AS (INSERT INTO auth_tokens (lookup, sha256, user_id, expires_at)"
    "  SELECT $2, decode($3, 'hex'), id, now() + make_interval(hours => $5) FROM u"
    "  RETURNING expires_at)"
    " SELECT " AUTH_USER_COLUMNS ","
    " to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at"
    " FROM u, t",
    5};
static const struct db_stmt revoke_stmt = {
    "UPDATE auth_tokens SET revoked_at = now(), revoked_reason = 'logout'"
    " WHERE lookup = $1 AND revoked_at IS NULL",
    1};
static const struct db_stmt whoami_stmt = {
    "SELECT " AUTH_USER_COLUMNS " FROM users u WHERE u.id = $1", 1};
static const struct db_stmt hash_stmt = {"SELECT password_hash FROM users WHERE id = $1", 1};
/* A new password ends every other session of the user, keeping the one that asked. */
static const struct db_stmt change_password_stmt = {
    "WITH p AS (UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1)"
    " UPDATE auth_tokens SET revoked_at = now(), revoked_reason = 'password'"
    " WHERE user_id = $1 AND revoked_at IS NULL AND lookup <> $3",
    3};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The answer to every failed password check: slower after a few, bounded by the deadline. */
static void refuse_login(struct call *call, int failures)
{
    if (failures > LOGIN_SLOW_AFTER) {
        long delay = (long)(failures - LOGIN_SLOW_AFTER) * LOGIN_DELAY_STEP_MS;
        long left = (long)((call->deadline_us - now_us()) / 1000) - 50;
        delay = delay > LOGIN_DELAY_MAX_MS ? LOGIN_DELAY_MAX_MS : delay;
        if (delay > 0 && left > 0)
            sleep_ms(delay < left ? delay : left);
    }
    call_fail(call, STATUS_UNAUTHENTICATED, "the email or the password is wrong");
}

static int record_failure(struct call *call, int64_t user_id)
{
    const char *params[] = {param_i64(call, user_id), param_i64(call, LOGIN_LOCK_AFTER),
                            param_i64(call, LOGIN_LOCK_MINUTES)};
    struct db_result *r;
    int failures = 1;
    if (params[0] && db_query(call->db, &failure_stmt, params, &r) == STATUS_OK) {
        long counted = db_rows(r) == 1 ? strtol(db_value(r, 0, 0), NULL, 10) : 0;
        if (counted > 0 && counted <= INT_MAX)
            failures = (int)counted;
        db_result_free(r);
    }
    return failures;
}

/* Issues the token; the call's reply on success. */
static void open_session(struct call *call, int64_t user_id, const char *rehash)
{
    char token[AUTH_TOKEN_CHARS + 1], hex[2 * AUTH_DIGEST_BYTES + 1];
    uint8_t digest[AUTH_DIGEST_BYTES];
    auth_new_token(token, digest);
    auth_digest_hex(digest, hex);
    const char *params[] = {param_i64(call, user_id), param_i64(call, auth_token_lookup(digest)),
                            hex, rehash, param_i64(call, auth_session_hours())};
    struct db_result *r;
    if (!params[0] || !params[1] || !params[4] ||
        db_query(call->db, &success_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        sodium_memzero(token, sizeof token);
        return;
    }
    Clinic__V1__LoginResponse resp = CLINIC__V1__LOGIN_RESPONSE__INIT;
    Clinic__V1__User *user = (Clinic__V1__User *)rowmap_new(call, &clinic__v1__user__descriptor);
    if (db_rows(r) == 1 && user && rowmap_fill(call, &user->base, r, 0)) {
        resp.token = token;
        resp.expires_at = (char *)db_value(r, 0, 8);
        resp.user = user;
        call_reply(&resp.base, call);
    } else if (call->code == STATUS_OK) {
        call_fail(call, STATUS_INTERNAL, "the login could not be recorded; report request id %s",
                  call->request_id);
    }
    db_result_free(r);
    sodium_memzero(token, sizeof token);
}

/* The account's row: id, hash, active, locked, minutes left. NULL result when unknown. */
static bool find_account(struct call *call, const char *email, struct db_result **r)
{
    const char *params[] = {email};
    if (db_query(call->db, &find_stmt, params, r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    if (db_rows(*r) == 0) {
        db_result_free(*r);
        *r = NULL;
    }
    return true;
}

/* The password matched: store a fresh hash if the limits changed since, and open a session. */
static void welcome(struct call *call, const char *hash, const char *password)
{
    const char *fresh = auth_needs_rehash(hash) ? auth_hash_for_call(call, password) : NULL;
    if (call->code == STATUS_OK)
        open_session(call, call->caller.user_id, fresh);
}

/* A failed login counts against the caller's address as well as the account. */
static void refuse_and_count(struct call *call, bool account)
{
    if (login_limit_failed(call->peer, now_us()))
        log_msg(LOG_LEVEL_WARN,
                "request_id=%s: too many failed logins from %s; logins from there are refused for "
                "up to %d minutes (--max-failed-logins-per-address)",
                call->request_id, call->peer, LOGIN_LIMIT_WINDOW_MINUTES);
    refuse_login(call, account ? record_failure(call, call->caller.user_id) : 1);
}

static void login(struct call *call, const Clinic__V1__LoginRequest *in)
{
    int minutes;
    if (!login_limit_allows(call->peer, now_us(), &minutes)) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED,
                  "too many failed logins from your address; try again in %d minute(s)", minutes);
        return;
    }
    struct db_result *account;
    if (!find_account(call, in->email, &account))
        return;
    if (account) {
        call->caller.user_id = strtoll(db_value(account, 0, 0), NULL, 10);
        call->caller.role = caller_role_from_name(db_value(account, 0, 3));
        call_set_target(call, "user:%lld", (long long)call->caller.user_id);
    }
    if (account && strcmp(db_value(account, 0, 4), "t") == 0) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED,
                  "too many failed logins for this account; try again in %s minute(s) or ask an "
                  "administrator to set a new password",
                  db_value(account, 0, 5));
    } else {
        const char *hash = account ? db_value(account, 0, 1) : NULL;
        enum auth_verdict v = auth_verify_password(hash, in->password, call->deadline_us);
        bool active = account && strcmp(db_value(account, 0, 2), "t") == 0;
        if (v == AUTH_BUSY)
            call_fail(call, STATUS_RESOURCE_EXHAUSTED,
                      "too many logins at once; try again in a moment");
        else if (v == AUTH_MISMATCH || !active)
            refuse_and_count(call, account != NULL);
        else
            welcome(call, hash, in->password);
    }
    db_result_free(account);
}

HANDLER(svc_auth_login, Auth, LoginRequest, LoginResponse)
{
    check_email(call, "email", in->email, true);
    if (!in->password[0])
        call_violation(call, "password", "is required");
    else if (strlen(in->password) > AUTH_PASSWORD_MAX)
        call_violation(call, "password", "must be at most %d characters", AUTH_PASSWORD_MAX);
    if (call->code != STATUS_OK)
        return;
    login(call, in);
    if (call->caller.user_id != 0 && !audit_record(call))
        log_msg(LOG_LEVEL_ERROR, "request_id=%s could not write the login's audit row",
                call->request_id);
}

HANDLER(svc_auth_logout, Auth, LogoutRequest, LogoutResponse)
{
    uint8_t digest[AUTH_DIGEST_BYTES];
    if (!auth_token_digest(call->auth_token, digest))
        return; /* authentication passed, so this cannot happen */
    const char *params[] = {param_i64(call, auth_token_lookup(digest))};
    if (!params[0] || db_query(call->db, &revoke_stmt, params, NULL) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    call_set_target(call, "user:%lld", (long long)call->caller.user_id);
    Clinic__V1__LogoutResponse resp = CLINIC__V1__LOGOUT_RESPONSE__INIT;
    call_reply(&resp.base, call);
}

HANDLER(svc_auth_who_am_i, Auth, WhoAmIRequest, WhoAmIResponse)
{
    const char *params[] = {param_i64(call, call->caller.user_id)};
    struct db_result *r;
    if (!params[0] || db_query(call->db, &whoami_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    Clinic__V1__WhoAmIResponse resp = CLINIC__V1__WHO_AM_IRESPONSE__INIT;
    Clinic__V1__User *user = (Clinic__V1__User *)rowmap_new(call, &clinic__v1__user__descriptor);
    if (db_rows(r) == 1 && user && rowmap_fill(call, &user->base, r, 0)) {
        resp.user = user;
        resp.token_expires_at = call->caller.token_expires_at;
        call_reply(&resp.base, call);
    } else if (call->code == STATUS_OK) {
        call_fail(call, STATUS_UNAUTHENTICATED, "your account no longer exists");
    }
    db_result_free(r);
}

HANDLER(svc_auth_change_password, Auth, ChangePasswordRequest, ChangePasswordResponse)
{
    if (!in->current_password[0])
        call_violation(call, "current_password", "is required");
    check_password(call, "new_password", in->new_password);
    if (call->code != STATUS_OK)
        return;
    call_set_target(call, "user:%lld", (long long)call->caller.user_id);
    const char *id = param_i64(call, call->caller.user_id);
    struct db_result *r;
    if (!id || db_query(call->db, &hash_stmt, (const char *[]){id}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    enum auth_verdict v =
        db_rows(r) == 1
            ? auth_verify_password(db_value(r, 0, 0), in->current_password, call->deadline_us)
            : AUTH_MISMATCH;
    db_result_free(r);
    if (v != AUTH_MATCH) {
        if (v == AUTH_BUSY)
            call_fail(call, STATUS_RESOURCE_EXHAUSTED, "too many logins at once; try again");
        else
            call_violation(call, "current_password", "is not your current password");
        return;
    }
    uint8_t digest[AUTH_DIGEST_BYTES];
    const char *hash = auth_hash_for_call(call, in->new_password);
    if (!hash || !auth_token_digest(call->auth_token, digest))
        return;
    const char *params[] = {id, hash, param_i64(call, auth_token_lookup(digest))};
    if (!params[2]) {
        call_fail_db(call);
        return;
    }
    rowmap_reply_done(call, &change_password_stmt, params,
                      &clinic__v1__change_password_response__descriptor);
}

static Clinic__V1__Auth_Service auth_service = CLINIC__V1__AUTH__INIT(svc_auth_);

const struct handler_set svc_auth_handlers = {&auth_service.base};
