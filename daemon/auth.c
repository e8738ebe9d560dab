/* auth.c: Argon2id under a concurrency cap, tokens, and authenticating a call's token. */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "status.h"
#include "param.h"

static sem_t hash_slots;
static bool hash_slots_ready;
/* Threads in password work (waiting for a slot or hashing), and how many may be (0: any). */
static atomic_int password_callers;
static int password_callers_max;
static int session_hours = 12;

/* The hash a login for an unknown email is checked against (see auth_verify_password). */
static char decoy_hash[AUTH_HASH_BYTES];
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

bool auth_init(int slots, int hours)
{
    if (sodium_init() < 0)
        return false;
    if (!hash_slots_ready) {
        if (sem_init(&hash_slots, 0, (unsigned)(slots > 0 ? slots : 1)) != 0)
            return false;
        hash_slots_ready = true;
    }
    session_hours = hours;
    return true;
}

void auth_limit_password_callers(int max_callers)
{
    password_callers_max = max_callers;
}

void auth_shutdown(void)
{
    if (hash_slots_ready)
        sem_destroy(&hash_slots);
    hash_slots_ready = false;
}

int auth_session_hours(void)
{
    return session_hours;
}

/* Joins the threads in password work unless as many as allowed are there already. */
static bool enter_password_work(void)
{
    if (atomic_fetch_add(&password_callers, 1) < password_callers_max || !password_callers_max)
        return true;
    atomic_fetch_sub(&password_callers, 1);
    return false;
}

/* Waits for a hash slot until deadline_us (monotonic); sem_timedwait wants the realtime clock.
 * Refuses at once when auth_limit_password_callers' limit is reached. */
static bool take_slot(int64_t deadline_us)
{
    if (!hash_slots_ready && !auth_init(2, session_hours))
        return false;
    if (!enter_password_work())
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = deadline_us - now_us();
    if (left < 0)
        left = 0;
    int64_t ns = ts.tv_nsec + (left % 1000000) * 1000;
    ts.tv_sec += (time_t)(left / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    while (sem_timedwait(&hash_slots, &ts) != 0) {
        if (errno != EINTR) {
            atomic_fetch_sub(&password_callers, 1);
            return false;
        }
    }
    return true;
}

static void give_slot(void)
{
    sem_post(&hash_slots);
    atomic_fetch_sub(&password_callers, 1);
}

int auth_hash_password(const char *password, char out[AUTH_HASH_BYTES], int64_t deadline_us)
{
    if (!take_slot(deadline_us))
        return STATUS_RESOURCE_EXHAUSTED;
    int rc = crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    give_slot();
    return rc == 0 ? STATUS_OK : STATUS_INTERNAL;
}

static void make_decoy(void)
{
    uint8_t random[32];
    char text[2 * sizeof random + 1];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(text, sizeof text, random, sizeof random);
    if (crypto_pwhash_str(decoy_hash, text, strlen(text), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        decoy_hash[0] = '\0';
}

enum auth_verdict auth_verify_password(const char *hash, const char *password, int64_t deadline_us)
{
    if (!hash)
        pthread_once(&decoy_once, make_decoy);
    if (!take_slot(deadline_us))
        return AUTH_BUSY;
    const char *against = hash ? hash : decoy_hash;
    bool match = against[0] && crypto_pwhash_str_verify(against, password, strlen(password)) == 0;
    give_slot();
    return match && hash ? AUTH_MATCH : AUTH_MISMATCH;
}

char *auth_hash_for_call(struct call *call, const char *password)
{
    char *out = call_alloc(call, AUTH_HASH_BYTES);
    int code =
        out ? auth_hash_password(password, out, call->deadline_us) : STATUS_RESOURCE_EXHAUSTED;
    if (code == STATUS_OK)
        return out;
    call_fail(call, code,
              code == STATUS_RESOURCE_EXHAUSTED
                  ? "too many password hashes at once (or the daemon is out of memory); try again "
                    "in a moment"
                  : "the password could not be hashed; report request id %s",
              call->request_id);
    return NULL;
}

bool auth_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

bool check_password(struct call *call, const char *field, const char *password)
{
    size_t n = strlen(password);
    if (n >= AUTH_PASSWORD_MIN && n <= AUTH_PASSWORD_MAX)
        return true;
    call_violation(call, field,
                   "must be %d to %d characters long (a passphrase of a few words is best)",
                   AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
    return false;
}

/* --- tokens --- */

void auth_new_token(char token[AUTH_TOKEN_CHARS + 1], uint8_t digest[AUTH_DIGEST_BYTES])
{
    uint8_t random[AUTH_TOKEN_RANDOM_BYTES];
    randombytes_buf(random, sizeof random);
    sodium_bin2base64(token, AUTH_TOKEN_CHARS + 1, random, sizeof random,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(random, sizeof random);
    crypto_hash_sha256(digest, (const uint8_t *)token, AUTH_TOKEN_CHARS);
}

static bool base64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

bool auth_token_digest(const char *token, uint8_t digest[AUTH_DIGEST_BYTES])
{
    size_t n = 0;
    for (; token[n] && n <= AUTH_TOKEN_CHARS; n++)
        if (!base64url_char(token[n]))
            return false;
    if (n != AUTH_TOKEN_CHARS)
        return false;
    crypto_hash_sha256(digest, (const uint8_t *)token, AUTH_TOKEN_CHARS);
    return true;
}

int64_t auth_token_lookup(const uint8_t digest[AUTH_DIGEST_BYTES])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | digest[i];
    return (int64_t)v;
}

void auth_digest_hex(const uint8_t digest[AUTH_DIGEST_BYTES], char hex[2 * AUTH_DIGEST_BYTES + 1])
{
    sodium_bin2hex(hex, 2 * AUTH_DIGEST_BYTES + 1, digest, AUTH_DIGEST_BYTES);
}

/* --- authenticating a call --- */

/* One round trip: the token's row and its user, and, when the token is in force, the caller
 * recorded in the transaction for row-level security. The stored hash is compared in C in
 * constant time; a row found by a lookup prefix whose hash then differs is someone else's token,
 * and the call fails (rolling back what set_config did). */
static const struct db_stmt authenticate_stmt = {
    "SELECT encode(s.sha256, 'hex'), s.expired, s.revoked, s.active, s.user_id, s.role,"
    " s.therapist_id, s.client_id, s.expires_at, s.revoked_reason,"
    " set_config('clinic.role', CASE WHEN s.in_force THEN s.role ELSE '' END, true),"
    " set_config('clinic.user_id', CASE WHEN s.in_force THEN s.user_id::text ELSE '' END, true),"
    " set_config('clinic.user_therapist_id', CASE WHEN s.in_force THEN s.therapist_id::text"
    "  ELSE '' END, true),"
    " set_config('clinic.user_client_id', CASE WHEN s.in_force THEN s.client_id::text"
    "  ELSE '' END, true)"
    " FROM (SELECT t.sha256, t.expires_at <= now() AS expired, t.revoked_at IS NOT NULL AS revoked,"
    "  u.active, u.id AS user_id, u.role::text AS role, coalesce(u.therapist_id, 0) AS "
    "therapist_id,"
    "  coalesce(u.client_id, 0) AS client_id,"
    "  to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_at,"
    "  coalesce(t.revoked_reason, '') AS revoked_reason,"
    "  t.expires_at > now() AND t.revoked_at IS NULL AND u.active AS in_force"
    "  FROM auth_tokens t JOIN users u ON u.id = t.user_id WHERE t.lookup = $1) AS s",
    1};

static bool unauthenticated(struct call *call, const char *why)
{
    call_fail(call, STATUS_UNAUTHENTICATED, "%s; log in again with `clinic login`", why);
    return false;
}

/* Why a token was revoked, in words, from auth_tokens.revoked_reason ("" before it was kept). */
static const char *revoked_reason_sentence(const char *reason)
{
    static const struct {
        const char *reason, *sentence;
    } sentences[] = {
        {"logout", "your token was revoked (logged out)"},
        {"password", "your password was changed, which ended this session"},
        {"account", "an administrator changed your account (its role or who it acts as), which "
                    "ended this session"},
    };
    for (size_t i = 0; i < sizeof sentences / sizeof sentences[0]; i++)
        if (strcmp(reason, sentences[i].reason) == 0)
            return sentences[i].sentence;
    return "your token was revoked";
}

/* Fills the caller from row 0 once the token has proved itself. */
static bool accept_caller(struct call *call, const struct db_result *r)
{
    if (strcmp(db_value(r, 0, 1), "t") == 0)
        return unauthenticated(call, "your token has expired");
    /* a deactivated account's tokens are revoked too: say the lasting reason first */
    if (strcmp(db_value(r, 0, 3), "t") != 0)
        return unauthenticated(call, "your account is deactivated; ask an administrator");
    if (strcmp(db_value(r, 0, 2), "t") == 0)
        return unauthenticated(call, revoked_reason_sentence(db_value(r, 0, 9)));
    struct caller *c = &call->caller;
    c->user_id = strtoll(db_value(r, 0, 4), NULL, 10);
    c->role = caller_role_from_name(db_value(r, 0, 5));
    c->therapist_id = strtoll(db_value(r, 0, 6), NULL, 10);
    c->client_id = strtoll(db_value(r, 0, 7), NULL, 10);
    snprintf(c->token_expires_at, sizeof c->token_expires_at, "%s", db_value(r, 0, 8));
    if (c->role == ROLE_NONE) {
        call_fail(call, STATUS_INTERNAL, "your account has an unknown role; report request id %s",
                  call->request_id);
        return false;
    }
    return true;
}

bool auth_step(struct call *call, struct db_step *step, struct db_result **rows)
{
    uint8_t digest[AUTH_DIGEST_BYTES];
    if (!call->auth_token || !call->auth_token[0])
        return unauthenticated(call, "this method needs a token (auth_token)");
    if (!auth_token_digest(call->auth_token, digest))
        return unauthenticated(call, "the token is not one this daemon issued");
    const char **params = call_alloc(call, sizeof *params);
    if (!params || !(params[0] = param_i64(call, auth_token_lookup(digest)))) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    *step = (struct db_step){&authenticate_stmt, params, rows};
    return true;
}

bool auth_accept(struct call *call, struct db_result *rows)
{
    uint8_t digest[AUTH_DIGEST_BYTES];
    char hex[2 * AUTH_DIGEST_BYTES + 1];
    if (!auth_token_digest(call->auth_token, digest)) {
        db_result_free(rows);
        return unauthenticated(call, "the token is not one this daemon issued");
    }
    auth_digest_hex(digest, hex);
    bool known = rows && db_rows(rows) == 1 && strlen(db_value(rows, 0, 0)) == sizeof hex - 1 &&
                 sodium_memcmp(db_value(rows, 0, 0), hex, sizeof hex - 1) == 0;
    bool ok = known ? accept_caller(call, rows) : unauthenticated(call, "the token is unknown");
    db_result_free(rows);
    return ok;
}
