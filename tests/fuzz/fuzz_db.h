/* fuzz_db.h: the stand-in database of the fuzz targets. fuzz_db.c implements every function of
 * daemon/db.h without PostgreSQL and is linked instead of daemon/db.c: each statement is
 * answered from a script of bytes (the part of the fuzz input after the request) with an error
 * (a SQLSTATE clinicd knows) or with rows shaped like the statement's SQL (sql_shape.h), so
 * handlers run past their first query into every branch a real database could send them down.
 *
 * What it checks as it goes: every parameter a statement is given is read up to its NUL (ASan
 * reports a stale or short parameter array), and one that is not valid UTF-8 is refused as
 * PostgreSQL refuses it (22021). Result values come back as libpq gives them ("" for NULL, NULL
 * out of range); results are malloc'd, so one never freed is a leak. */
#ifndef CLINIC_FUZZ_DB_H
#define CLINIC_FUZZ_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts a new input: the answers of the statements to come are read from script[0..len) (not
 * copied: it must outlive the call). When the script runs out, every statement succeeds with one
 * row (or none, or more, where its SQL allows no other count), each value "1". Forgets the
 * context values and the caller. */
void fuzz_db_start(const uint8_t *script, size_t len);

/* Adds text (copied) to the values a result may hold for this input, beside the fixed ones: what
 * only the target knows, such as the request's digest an idempotency row must repeat. */
void fuzz_db_add_value(const char *text);

/* Makes the authentication statement (auth.c's, recognised by its SQL) find a token whose
 * SHA-256 is token_sha256_hex, in force, for a user with this role and ids. Without it, that
 * statement is answered from the script like any other. */
void fuzz_db_set_caller(const char *token_sha256_hex, const char *role, int64_t user_id,
                        int64_t therapist_id, int64_t client_id);

/* How many statements have been answered since fuzz_db_start (authentication included). */
size_t fuzz_db_statements(void);

#endif
