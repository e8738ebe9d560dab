/* auth.h: passwords, bearer tokens, and who a token belongs to.
 *
 * Passwords are hashed with Argon2id (libsodium's crypto_pwhash_str, interactive limits: 64 MiB
 * and a few passes each), and only so many hashes run at once (--password-hash-slots): a burst
 * of logins waits for a slot instead of taking the machine's memory. Tokens are 256 random bits
 * sent base64url; the database keeps only their SHA-256, and the daemon compares it in constant
 * time. */
#ifndef CLINICD_AUTH_H
#define CLINICD_AUTH_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "db.h"

#define AUTH_HASH_BYTES         crypto_pwhash_STRBYTES
#define AUTH_TOKEN_RANDOM_BYTES 32
#define AUTH_TOKEN_CHARS        43 /* base64url of 32 bytes, no padding */
#define AUTH_DIGEST_BYTES       32
#define AUTH_PASSWORD_MIN       10
#define AUTH_PASSWORD_MAX       1024

/* Initialises libsodium and the hash slots. False when libsodium cannot start. */
__attribute__((warn_unused_result)) bool auth_init(int hash_slots, int session_hours);
/* At most max_callers threads at once in password work (waiting for a hash slot or hashing);
 * more are refused at once, as if no slot came before their deadline (AUTH_BUSY,
 * RESOURCE_EXHAUSTED). clinicd gives them half its workers, so a flood of logins leaves the other
 * half serving. 0, the default, sets no limit. */
void auth_limit_password_callers(int max_callers);
void auth_shutdown(void);

/* How long a new token works. */
int auth_session_hours(void);

/* Hashes password into out (a NUL-terminated "$argon2id$..." string) once a slot is free before
 * deadline_us. STATUS_OK, RESOURCE_EXHAUSTED (no slot in time) or INTERNAL (out of memory). */
int auth_hash_password(const char *password, char out[AUTH_HASH_BYTES], int64_t deadline_us);

enum auth_verdict {
    AUTH_MATCH,
    AUTH_MISMATCH,
    AUTH_BUSY, /* no hash slot before the deadline */
};

/* Checks password against hash. A NULL hash (no such user) still spends the time of a real
 * check, against a hash of random bytes, so timing does not tell which emails have accounts. */
enum auth_verdict auth_verify_password(const char *hash, const char *password, int64_t deadline_us);

/* True when hash was made with older limits and should be replaced at the next login. */
bool auth_needs_rehash(const char *hash);

/* A fresh Argon2id hash of password in the call's arena, or NULL with the call failed (no hash
 * slot before the call's deadline: RESOURCE_EXHAUSTED). */
char *auth_hash_for_call(struct call *call, const char *password);

/* The columns of `users u` that fill a clinic.v1.User (rowmap), for every statement that
 * answers with a user. */
#define AUTH_USER_COLUMNS                                                                          \
    "u.id, u.email, u.name, u.role::text AS role, coalesce(u.therapist_id, 0) AS therapist_id,"    \
    " coalesce(u.client_id, 0) AS client_id, u.active,"                                            \
    " to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

/* Records a violation on field unless password is 10..1024 bytes long. */
bool check_password(struct call *call, const char *field, const char *password);

/* A fresh token (NUL-terminated) and its SHA-256. */
void auth_new_token(char token[AUTH_TOKEN_CHARS + 1], uint8_t digest[AUTH_DIGEST_BYTES]);

/* The SHA-256 of a token as sent; false when it cannot be one of ours (wrong length or alphabet).
 */
bool auth_token_digest(const char *token, uint8_t digest[AUTH_DIGEST_BYTES]);

/* The first 8 bytes of a digest as a signed integer: the index key that finds a token's row. */
int64_t auth_token_lookup(const uint8_t digest[AUTH_DIGEST_BYTES]);

/* Hex of a digest (for SQL parameters): 64 digits and a NUL. */
void auth_digest_hex(const uint8_t digest[AUTH_DIGEST_BYTES], char hex[2 * AUTH_DIGEST_BYTES + 1]);

/* Authenticating a call takes one statement, run as the first of its transaction (see
 * db_begin_with) so that it shares the round trip of BEGIN: auth_step fills in that statement,
 * whose rows land in *rows, and auth_accept judges them. The statement also records the caller in
 * the transaction (clinic.role, clinic.user_id, ...) for row-level security when the token is in
 * force. Both return false with the call failed: UNAUTHENTICATED with a sentence saying what to
 * do (missing, malformed, unknown, expired or revoked token, deactivated user). auth_accept
 * frees rows and fills call->caller. */
__attribute__((warn_unused_result)) bool auth_step(struct call *call, struct db_step *step,
                                                   struct db_result **rows);
__attribute__((warn_unused_result)) bool auth_accept(struct call *call, struct db_result *rows);

#endif
