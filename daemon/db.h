/* db.h: one PostgreSQL connection owned by one thread: lazy (re)connection with back-off,
 * statements prepared once per connection, transactions bounded by a deadline, and the
 * translation of SQLSTATEs into RPC status codes. The only module that sees libpq. */
#ifndef CLINICD_DB_H
#define CLINICD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_result; /* rows of one statement, values in text form */

/* A statement a handler runs; declare it `static const` next to the handler. Each connection
 * prepares it on first use. nparams counts $1..$n; every parameter is passed as text. */
struct db_stmt {
    const char *sql;
    int nparams;
};

/* Creates a handle for url; does not connect yet. NULL only when out of memory. */
struct db *db_new(const char *url);
void db_free(struct db *db);

/* Called from another thread when clinicd shuts down and this connection's call outlived the
 * grace period: cancels the statement running now (PQcancel) and makes every later statement
 * fail at once, so the call's transaction rolls back. Such failures carry DB_SHUTDOWN_SQLSTATE,
 * which answers UNAVAILABLE "nothing was changed". Safe while the owner runs a statement; call
 * it again until the call ends, since a cancel that arrives between two statements does nothing. */
void db_abandon(struct db *db);
#define DB_SHUTDOWN_SQLSTATE "CLSTP"

/* Connects when the connection is missing or broken, honouring the back-off after failures.
 * Returns STATUS_OK or STATUS_UNAVAILABLE. */
__attribute__((warn_unused_result)) int db_ensure(struct db *db);

/* True when some connection of this process got the server's answer within the last within_us
 * and none found it unreachable since: what Health says without a round trip of its own. */
bool db_server_answered_within(int64_t within_us);

/* True when the last round trip found the server there (a cheap "SELECT 1" when asked). */
__attribute__((warn_unused_result)) bool db_ping(struct db *db);

/* One statement of a pipeline: its parameters, and where its rows go (NULL: not wanted). */
struct db_step {
    const struct db_stmt *stmt;
    const char *const *params;
    struct db_result **out;
};
#define DB_PIPELINE_MAX 8

/* Runs up to DB_PIPELINE_MAX statements in one round trip (libpq's pipeline mode), in order. A
 * failing statement skips the ones after it; its status is returned and its error kept as
 * db_query keeps it. On STATUS_OK each wanted *out holds its rows (free them); on failure all
 * are NULL. Inside a transaction, a failure leaves it aborted, as with db_query. */
__attribute__((warn_unused_result)) int db_pipeline(struct db *db, const struct db_step *steps,
                                                    int n);

/* The role every call's transaction runs as (sql/0006): row-level security applies to it, and
 * it holds no UPDATE, DELETE or TRUNCATE on the audit trail. */
#define DB_APP_ROLE "clinic_app"

/* Opens a transaction whose statements must end by deadline_us (clock.h's now_us), running as
 * DB_APP_ROLE: sets the transaction's statement_timeout to what is left and the role, in the
 * same round trip. Reconnects first if needed. */
__attribute__((warn_unused_result)) int db_begin(struct db *db, int64_t deadline_us);
__attribute__((warn_unused_result)) int db_commit(struct db *db);

/* db_begin, then the n statements `then` (at most DB_PIPELINE_MAX - 2), in the same round trip:
 * a call's first statements need not wait for the transaction's opening. */
__attribute__((warn_unused_result)) int db_begin_with(struct db *db, int64_t deadline_us,
                                                      const struct db_step *then, int n);
/* The n statements `before` (at most DB_PIPELINE_MAX - 1), then COMMIT, in one round trip. On a
 * failure the transaction is rolled back (a lost connection leaves the outcome unknown). */
__attribute__((warn_unused_result)) int db_commit_with(struct db *db, const struct db_step *before,
                                                       int n);
void db_rollback(struct db *db);

/* Runs stmt with params (NULL entries are SQL NULL). On STATUS_OK, *out (when out is not NULL)
 * holds the rows and must be released with db_result_free. On failure the error is kept for
 * db_error_* and the status says what class it was. */
__attribute__((warn_unused_result)) int db_query(struct db *db, const struct db_stmt *stmt,
                                                 const char *const *params, struct db_result **out);

/* Runs a script of several statements (a migration): simple protocol, no parameters. */
__attribute__((warn_unused_result)) int db_exec_script(struct db *db, const char *sql);

/* LISTENs on channel (a fixed identifier of ours, e.g. "clinic_events") on this connection. */
__attribute__((warn_unused_result)) int db_listen(struct db *db, const char *channel);

/* Waits up to timeout_ms for notifications on a LISTENing connection and consumes them all, or
 * for wake_fd (-1: none) to become readable, which it leaves for the caller to drain. Returns 1
 * when a notification arrived from another session (this session's own NOTIFYs are consumed and
 * waited past), 2 when wake_fd woke it, 0 on timeout, -1 when the connection is gone. */
int db_wait_notify(struct db *db, int timeout_ms, int wake_fd);

int db_rows(const struct db_result *r);
const char *db_value(const struct db_result *r, int row, int col); /* "" for NULL */
bool db_is_null(const struct db_result *r, int row, int col);
int db_columns(const struct db_result *r);
const char *db_column_name(const struct db_result *r, int col);
void db_result_free(struct db_result *r);

/* The last failure: SQLSTATE ("" when it was not the server's), constraint name ("" if none),
 * a sentence fit for a client, and the server's full text (for the log only). */
const char *db_error_sqlstate(const struct db *db);
const char *db_error_constraint(const struct db *db);
const char *db_error_public(const struct db *db);
/* The request field a CLINV error names (PostgreSQL's COLUMN field), "" if none. */
const char *db_error_column(const struct db *db);
const char *db_error_detail(const struct db *db);

/* True when the last failure had exactly this SQLSTATE (e.g. "23505", a unique violation). */
bool db_error_is(const struct db *db, const char *sqlstate);

/* True when the last failure was a serialization failure or deadlock: run the transaction again. */
bool db_error_retryable(const struct db *db);

/* The status for a SQLSTATE: 23P01 -> ABORTED, 23505 -> ALREADY_EXISTS, class 22 ->
 * INVALID_ARGUMENT, 57014 -> DEADLINE_EXCEEDED, class 08 -> UNAVAILABLE, ... (the table in db.c).
 */
int db_status_for_sqlstate(const char *sqlstate);

#endif
