/* db.c: a PostgreSQL connection per worker: (re)connection with back-off, lazily prepared
 * statements, deadline-bounded transactions, SQLSTATE -> status. The only file with libpq. */
#include "db.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "status.h"

#define BACKOFF_FIRST_US 100000  /* first retry after 0.1 s ... */
#define BACKOFF_MAX_US   5000000 /* ... doubling up to 5 s */

/* One statement prepared on this connection, found by the address of its db_stmt. */
struct prepared {
    const struct db_stmt *stmt;
    char name[16];
};

struct db {
    char *url;
    PGconn *conn;
    int64_t next_attempt_us; /* no reconnection before this time */
    int64_t backoff_us;
    int64_t deadline_us;       /* of the open transaction; 0 when none */
    bool reported_down;        /* log the outage once, not once per call */
    bool lost;                 /* the server is gone though libpq still says CONNECTION_OK */
    struct prepared *prepared; /* open-addressing table, capacity a power of two */
    size_t n_prepared, cap_prepared;
    unsigned next_name;
    char sqlstate[6];
    char constraint[64];
    char column[64]; /* the request field a CLINV error names */
    char public_msg[256];
    char detail[768];
    /* db_abandon runs on another thread: it reads `cancel` under the lock, which the owner holds
     * to replace or free it. */
    pthread_mutex_t cancel_lock;
    PGcancel *cancel;
    atomic_bool abandoned;
};

/* --- SQLSTATE -> status: exact codes first, then classes; the first prefix that matches wins ---
 */

static const struct {
    const char *prefix;
    int code;
    const char *sentence;
} sqlstate_table[] = {
    {"23P01", STATUS_ABORTED, "that time was just taken by another booking; search again"},
    {"23505", STATUS_ALREADY_EXISTS, "a record with that name or email already exists"},
    {"23503", STATUS_FAILED_PRECONDITION,
     "a record this refers to does not exist or is still in use"},
    {"23502", STATUS_INVALID_ARGUMENT, "a required value is missing"},
    {"23514", STATUS_INVALID_ARGUMENT, "a value breaks one of the data rules"},
    {"40001", STATUS_ABORTED, "the call conflicted with another one; retry it"},
    {"40P01", STATUS_ABORTED, "the call conflicted with another one; retry it"},
    {"57014", STATUS_DEADLINE_EXCEEDED, "the call ran past its deadline; nothing was changed"},
    {DB_SHUTDOWN_SQLSTATE, STATUS_UNAVAILABLE,
     "clinicd is shutting down; nothing was changed; retry in a moment"},
    {"57P01", STATUS_UNAVAILABLE, "the database is restarting; retry shortly"},
    {"57P02", STATUS_UNAVAILABLE, "the database is restarting; retry shortly"},
    {"57P03", STATUS_UNAVAILABLE, "the database is starting up; retry shortly"},
    {"53300", STATUS_UNAVAILABLE, "the database has no free connections; retry shortly"},
    /* our own SQLSTATEs (sql/README.md): the message is the sentence, written for the caller */
    {"CLINV", STATUS_INVALID_ARGUMENT, NULL},
    {"CLNOF", STATUS_NOT_FOUND, NULL},
    {"CLRUL", STATUS_FAILED_PRECONDITION, NULL},
    {"CLBSY", STATUS_ABORTED, NULL},
    {"P0001", STATUS_FAILED_PRECONDITION, NULL}, /* a plain RAISE EXCEPTION of ours */
    {"22", STATUS_INVALID_ARGUMENT, "a value is out of range or badly formed"},
    {"08", STATUS_UNAVAILABLE, "the database is unreachable; retry shortly"},
};

static size_t sqlstate_index(const char *sqlstate)
{
    size_t n = sizeof sqlstate_table / sizeof sqlstate_table[0];
    for (size_t i = 0; i < n; i++) {
        const char *p = sqlstate_table[i].prefix;
        if (strncmp(p, sqlstate, strlen(p)) == 0)
            return i;
    }
    return n;
}

int db_status_for_sqlstate(const char *sqlstate)
{
    size_t i = sqlstate_index(sqlstate);
    return i < sizeof sqlstate_table / sizeof sqlstate_table[0] ? sqlstate_table[i].code
                                                                : STATUS_INTERNAL;
}

/* --- what the process knows of the server --- */

/* When a statement of any connection of this process last got the server's answer, and when
 * one last found the server unreachable (clock.h's now_us). Health answers from these while the
 * news is fresh, instead of a round trip per check. */
static _Atomic int64_t server_answered_us, server_unreachable_us;

bool db_server_answered_within(int64_t within_us)
{
    int64_t answered = atomic_load(&server_answered_us);
    return answered > atomic_load(&server_unreachable_us) && now_us() - answered < within_us;
}

/* --- errors --- */

static void clear_error(struct db *db)
{
    db->sqlstate[0] = db->constraint[0] = db->column[0] = db->public_msg[0] = db->detail[0] = '\0';
}

/* A statement got its answer: no error, and the server is there. */
static void answered(struct db *db)
{
    clear_error(db);
    atomic_store(&server_answered_us, now_us());
}

/* The status for a failure, noting an unreachable server for db_server_answered_within. */
static int failure_status(int code)
{
    if (code == STATUS_UNAVAILABLE)
        atomic_store(&server_unreachable_us, now_us());
    return code;
}

static void copy_field(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* Data exceptions (class 22) quote the offending input ("invalid input syntax for type date:
 * \"...\""): keep the sentence, drop the value. Also trims trailing newlines. */
static void redact_values(struct db *db)
{
    char *quote = strstr(db->detail, ": \"");
    if (strncmp(db->sqlstate, "22", 2) == 0 && quote)
        *quote = '\0';
    size_t len = strlen(db->detail);
    while (len > 0 && (db->detail[len - 1] == '\n' || db->detail[len - 1] == ' '))
        db->detail[--len] = '\0';
}

/* Whether this session is gone. libpq marks a connection bad only when it reads the end of the
 * stream, but a server that quits may leave a last notice ("terminating connection due to
 * immediate shutdown command") in the socket: libpq reads that when the next write fails and
 * reports the failure, with no SQLSTATE, on a connection it still calls OK. The socket knows. */
static bool session_lost(struct db *db)
{
    if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD || db->lost)
        return true;
    struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN | POLLRDHUP};
    db->lost = pfd.fd < 0 || (poll(&pfd, 1, 0) == 1 &&
                              (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)));
    return db->lost;
}

/* Records a failed result (or a failed connection when res is NULL) and returns its status. */
static int record_failure(struct db *db, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "57014") == 0 && atomic_load(&db->abandoned))
        state = DB_SHUTDOWN_SQLSTATE; /* db_abandon's cancel, not the deadline */
    if (!state)
        state = session_lost(db) ? "08006" : "XX000";
    copy_field(db->sqlstate, sizeof db->sqlstate, state);
    copy_field(db->constraint, sizeof db->constraint,
               res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL);
    copy_field(db->column, sizeof db->column,
               res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL);
    /* Only the primary message is kept for the log: DETAIL lines carry row values ("Key
     * (lower(email))=(...)", "Failing row contains (...)"), which are personal data. */
    const char *text = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if ((!text || !*text) && db->conn)
        text = PQerrorMessage(db->conn);
    copy_field(db->detail, sizeof db->detail, text);
    redact_values(db);

    size_t i = sqlstate_index(db->sqlstate);
    size_t n = sizeof sqlstate_table / sizeof sqlstate_table[0];
    if (i == n) {
        copy_field(db->public_msg, sizeof db->public_msg, "an internal error occurred");
        return STATUS_INTERNAL;
    }
    const char *sentence = sqlstate_table[i].sentence;
    copy_field(db->public_msg, sizeof db->public_msg,
               sentence ? sentence : (res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : ""));
    return failure_status(sqlstate_table[i].code);
}

const char *db_error_sqlstate(const struct db *db)
{
    return db->sqlstate;
}

const char *db_error_constraint(const struct db *db)
{
    return db->constraint;
}

const char *db_error_column(const struct db *db)
{
    return db->column;
}

const char *db_error_public(const struct db *db)
{
    return db->public_msg;
}

const char *db_error_detail(const struct db *db)
{
    return db->detail;
}

bool db_error_is(const struct db *db, const char *sqlstate)
{
    return strcmp(db->sqlstate, sqlstate) == 0;
}

bool db_error_retryable(const struct db *db)
{
    return strcmp(db->sqlstate, "40001") == 0 || strcmp(db->sqlstate, "40P01") == 0;
}

/* Records a refusal decided before any statement reached the server: the SQLSTATE's own status
 * and sentence (sqlstate_table), and why, for the log. */
static int refuse_early(struct db *db, const char *sqlstate, const char *why)
{
    clear_error(db);
    copy_field(db->sqlstate, sizeof db->sqlstate, sqlstate);
    size_t i = sqlstate_index(sqlstate);
    copy_field(db->public_msg, sizeof db->public_msg, sqlstate_table[i].sentence);
    copy_field(db->detail, sizeof db->detail, why);
    return failure_status(sqlstate_table[i].code);
}

/* --- connection --- */

struct db *db_new(const char *url)
{
    struct db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->url = strdup(url);
    if (!db->url) {
        free(db);
        return NULL;
    }
    db->backoff_us = BACKOFF_FIRST_US;
    pthread_mutex_init(&db->cancel_lock, NULL);
    return db;
}

/* Makes `cancel` the connection's cancel handle (NULL: none), freeing the previous one. */
static void swap_cancel(struct db *db, PGcancel *cancel)
{
    pthread_mutex_lock(&db->cancel_lock);
    PGcancel *old = db->cancel;
    db->cancel = cancel;
    pthread_mutex_unlock(&db->cancel_lock);
    PQfreeCancel(old);
}

static void forget_prepared(struct db *db)
{
    free(db->prepared);
    db->prepared = NULL;
    db->n_prepared = db->cap_prepared = 0;
}

static void disconnect(struct db *db)
{
    swap_cancel(db, NULL);
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    db->lost = false;
    db->deadline_us = 0;
    forget_prepared(db); /* prepared statements die with their session */
}

void db_free(struct db *db)
{
    if (!db)
        return;
    disconnect(db);
    pthread_mutex_destroy(&db->cancel_lock);
    free(db->url);
    free(db);
}

void db_abandon(struct db *db)
{
    char why[256];
    atomic_store(&db->abandoned, true);
    pthread_mutex_lock(&db->cancel_lock);
    if (db->cancel && !PQcancel(db->cancel, why, sizeof why))
        log_msg(LOG_LEVEL_WARN, "cannot cancel a statement: %s", why);
    pthread_mutex_unlock(&db->cancel_lock);
}

/* Server notices ("relation already exists, skipping") are routine: keep them out of stderr
 * unless debugging. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    log_msg(LOG_LEVEL_DEBUG, "database notice: %.*s", (int)strcspn(message, "\n"), message);
}

/* Connects now. The URL's own settings win over these defaults (they come after in expansion).
 * JIT is off: clinicd's statements are short, and the planner's inflated estimates for
 * set-returning functions made PostgreSQL spend half a second compiling a 30 ms slot search. */
static int connect_now(struct db *db)
{
    static const char *const keys[] = {"connect_timeout", "fallback_application_name", "options",
                                       "dbname", NULL};
    const char *values[] = {"5", "clinicd", "-c jit=off", db->url, NULL};
    clear_error(db);
    db->conn = PQconnectdbParams(keys, values, 1);
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(db->conn, log_notice, NULL);
        swap_cancel(db, PQgetCancel(db->conn));
        PQsetErrorVerbosity(db->conn, PQERRORS_TERSE); /* no DETAIL: it can hold row values */
        if (db->reported_down)
            log_msg(LOG_LEVEL_INFO, "database connection restored");
        db->reported_down = false;
        db->backoff_us = BACKOFF_FIRST_US;
        return STATUS_OK;
    }
    int code = record_failure(db, NULL);
    if (code != STATUS_UNAVAILABLE) { /* bad password, unknown database: still "cannot serve" */
        code = STATUS_UNAVAILABLE;
        copy_field(db->public_msg, sizeof db->public_msg, "the database refused the connection");
    }
    if (!db->reported_down)
        log_msg(LOG_LEVEL_WARN, "database unreachable: %s", db->detail);
    db->reported_down = true;
    disconnect(db);
    db->next_attempt_us = now_us() + db->backoff_us;
    db->backoff_us = db->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : db->backoff_us * 2;
    return code;
}

int db_ensure(struct db *db)
{
    if (db->conn && !db->lost && PQstatus(db->conn) == CONNECTION_OK)
        return STATUS_OK;
    disconnect(db);
    if (now_us() < db->next_attempt_us)
        return refuse_early(db, "08006", "waiting before the next connection attempt");
    return connect_now(db);
}

/* --- prepared statements --- */

static size_t slot_for(const struct db *db, const struct db_stmt *stmt)
{
    size_t mask = db->cap_prepared - 1;
    size_t i = ((uintptr_t)stmt >> 3) * 0x9E3779B97F4A7C15ull & mask;
    while (db->prepared[i].stmt && db->prepared[i].stmt != stmt)
        i = (i + 1) & mask;
    return i;
}

static bool grow_prepared(struct db *db)
{
    struct db old = *db;
    size_t cap = db->cap_prepared ? db->cap_prepared * 2 : 64;
    db->prepared = calloc(cap, sizeof *db->prepared);
    if (!db->prepared) {
        db->prepared = old.prepared;
        return false;
    }
    db->cap_prepared = cap;
    for (size_t i = 0; i < old.cap_prepared; i++)
        if (old.prepared[i].stmt)
            db->prepared[slot_for(db, old.prepared[i].stmt)] = old.prepared[i];
    free(old.prepared);
    return true;
}

/* The server-side name of stmt on this connection, preparing it on first use; NULL on failure. */
static const char *prepared_name(struct db *db, const struct db_stmt *stmt, int *code)
{
    if ((db->n_prepared + 1) * 2 > db->cap_prepared && !grow_prepared(db)) {
        *code = STATUS_RESOURCE_EXHAUSTED;
        return NULL;
    }
    struct prepared *p = &db->prepared[slot_for(db, stmt)];
    if (p->stmt)
        return p->name;
    char name[16];
    snprintf(name, sizeof name, "s%u", db->next_name);
    PGresult *res = PQprepare(db->conn, name, stmt->sql, stmt->nparams, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *code = record_failure(db, res);
        PQclear(res);
        return NULL;
    }
    PQclear(res);
    db->next_name++;
    p->stmt = stmt;
    memcpy(p->name, name, sizeof name);
    db->n_prepared++;
    return p->name;
}

/* --- queries and transactions --- */

static int past_deadline(struct db *db)
{
    return refuse_early(db, "57014", "deadline passed before the statement started");
}

/* After db_abandon no statement starts: the one it cancelled may have been between two. */
static int refuse_abandoned(struct db *db)
{
    return refuse_early(db, DB_SHUTDOWN_SQLSTATE, "shutting down: no new statement starts");
}

int db_query(struct db *db, const struct db_stmt *stmt, const char *const *params,
             struct db_result **out)
{
    if (out)
        *out = NULL;
    if (atomic_load(&db->abandoned))
        return refuse_abandoned(db);
    if (db->deadline_us && now_us() >= db->deadline_us)
        return past_deadline(db);
    int code = db_ensure(db);
    if (code != STATUS_OK)
        return code;
    const char *name = prepared_name(db, stmt, &code);
    if (!name)
        return code;
    PGresult *res = PQexecPrepared(db->conn, name, stmt->nparams, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        code = record_failure(db, res);
        PQclear(res);
        return code;
    }
    answered(db);
    if (out)
        *out = (struct db_result *)res;
    else
        PQclear(res);
    return STATUS_OK;
}

/* Reads a pipeline's results up to its sync: step i's result goes to steps[i].out, the first
 * failure is recorded. Two NULLs in a row (no result where one was due) mean the connection
 * gave up. */
static int read_pipeline(struct db *db, const struct db_step *steps, int n)
{
    int code = STATUS_OK, i = 0, nulls = 0;
    for (;;) {
        PGresult *res = PQgetResult(db->conn);
        ExecStatusType st = PQresultStatus(res);
        if (!res) {
            if (++nulls >= 2 || PQstatus(db->conn) == CONNECTION_BAD)
                return code == STATUS_OK ? record_failure(db, NULL) : code;
            continue;
        }
        nulls = 0;
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return code;
        }
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && code == STATUS_OK)
            code = record_failure(db, res);
        else if (code == STATUS_OK && i < n && steps[i].out)
            *steps[i].out = (struct db_result *)res, res = NULL;
        PQclear(res);
        i++;
    }
}

int db_pipeline(struct db *db, const struct db_step *steps, int n)
{
    /* Copies, not pointers: preparing a later step may grow (move) the table of names. */
    char names[DB_PIPELINE_MAX][sizeof((struct prepared *)0)->name];
    for (int i = 0; i < n; i++)
        if (steps[i].out)
            *steps[i].out = NULL;
    if (n < 1 || n > DB_PIPELINE_MAX)
        return STATUS_INTERNAL;
    if (atomic_load(&db->abandoned))
        return refuse_abandoned(db);
    if (db->deadline_us && now_us() >= db->deadline_us)
        return past_deadline(db);
    int code = db_ensure(db);
    for (int i = 0; i < n && code == STATUS_OK; i++) { /* before: PQprepare is synchronous */
        const char *name = prepared_name(db, steps[i].stmt, &code);
        if (name)
            snprintf(names[i], sizeof names[i], "%s", name);
    }
    if (code != STATUS_OK)
        return code;
    bool sent = PQenterPipelineMode(db->conn) == 1;
    for (int i = 0; i < n && sent; i++)
        sent = PQsendQueryPrepared(db->conn, names[i], steps[i].stmt->nparams, steps[i].params,
                                   NULL, NULL, 0) == 1;
    code = sent && PQpipelineSync(db->conn) == 1 ? read_pipeline(db, steps, n)
                                                 : record_failure(db, NULL);
    if (PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF && PQexitPipelineMode(db->conn) != 1)
        disconnect(db); /* results left unread: this session cannot be trusted any more */
    if (code == STATUS_OK)
        answered(db);
    for (int i = 0; i < n && code != STATUS_OK; i++)
        if (steps[i].out) {
            db_result_free(*steps[i].out);
            *steps[i].out = NULL;
        }
    return code;
}

/* Runs a parameterless command with the simple protocol. */
static int run_simple(struct db *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int code = STATUS_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        code = record_failure(db, res);
    else
        answered(db);
    PQclear(res);
    return code;
}

int db_exec_script(struct db *db, const char *sql)
{
    int code = db_ensure(db);
    return code == STATUS_OK ? run_simple(db, sql) : code;
}

bool db_ping(struct db *db)
{
    static const struct db_stmt ping = {"SELECT 1", 0};
    if (db_query(db, &ping, NULL, NULL) == STATUS_OK)
        return true;
    /* A broken session is only noticed on use: after a server restart, try once more at once. */
    if (session_lost(db)) {
        disconnect(db);
        db->next_attempt_us = 0;
        return db_query(db, &ping, NULL, NULL) == STATUS_OK;
    }
    return false;
}

/* The opening and the end of every call's transaction, as prepared statements so they can
 * share a round trip with the call's first and last statements. */
static const struct db_stmt begin_stmt = {"BEGIN", 0};
/* The time budget and the role in one statement (set_config(..., true) is SET LOCAL): every
 * call pays for each statement of its opening. */
static const struct db_stmt open_stmt = {
    "SELECT set_config('statement_timeout', $1, true), set_config('role', '" DB_APP_ROLE "', true)",
    1};
static const struct db_stmt commit_stmt = {"COMMIT", 0};
#define OPENING_STEPS 2

static int open_transaction(struct db *db, const char *timeout_ms, const struct db_step *then,
                            int n)
{
    const char *params[] = {timeout_ms};
    struct db_step steps[DB_PIPELINE_MAX] = {{&begin_stmt, NULL, NULL}, {&open_stmt, params, NULL}};
    for (int i = 0; i < n; i++)
        steps[OPENING_STEPS + i] = then[i];
    return db_pipeline(db, steps, OPENING_STEPS + n);
}

int db_begin_with(struct db *db, int64_t deadline_us, const struct db_step *then, int n)
{
    db->deadline_us = 0;
    if (n < 0 || n > DB_PIPELINE_MAX - OPENING_STEPS)
        return STATUS_INTERNAL;
    char ms[24];
    int64_t left_ms = (deadline_us - now_us()) / 1000;
    if (left_ms < 1)
        return past_deadline(db);
    snprintf(ms, sizeof ms, "%lld", (long long)left_ms);
    int code = open_transaction(db, ms, then, n);
    if (code == STATUS_UNAVAILABLE && session_lost(db)) {
        /* The session died while idle (server restart): nothing was done, so reconnect once now. */
        disconnect(db);
        db->next_attempt_us = 0;
        code = open_transaction(db, ms, then, n);
    }
    if (code != STATUS_OK) {
        db_rollback(db);
        return code;
    }
    db->deadline_us = deadline_us;
    return STATUS_OK;
}

int db_begin(struct db *db, int64_t deadline_us)
{
    return db_begin_with(db, deadline_us, NULL, 0);
}

int db_commit_with(struct db *db, const struct db_step *before, int n)
{
    if (now_us() >= db->deadline_us) {
        db_rollback(db);
        return past_deadline(db);
    }
    if (n < 0 || n > DB_PIPELINE_MAX - 1)
        return STATUS_INTERNAL;
    struct db_step steps[DB_PIPELINE_MAX];
    for (int i = 0; i < n; i++)
        steps[i] = before[i];
    steps[n] = (struct db_step){&commit_stmt, NULL, NULL};
    int code = db_pipeline(db, steps, n + 1);
    db->deadline_us = 0;
    if (code == STATUS_UNAVAILABLE && !db_error_is(db, DB_SHUTDOWN_SQLSTATE))
        copy_field(db->public_msg, sizeof db->public_msg,
                   "the database connection was lost while committing, so the outcome is unknown; "
                   "retry with the same idempotency key");
    else if (code != STATUS_OK)
        db_rollback(db);
    return code;
}

int db_commit(struct db *db)
{
    return db_commit_with(db, NULL, 0);
}

void db_rollback(struct db *db)
{
    db->deadline_us = 0;
    if (session_lost(db))
        return;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    PQclear(res);
}

/* --- notifications --- */

int db_listen(struct db *db, const char *channel)
{
    int code = db_ensure(db);
    if (code != STATUS_OK)
        return code;
    char *quoted = PQescapeIdentifier(db->conn, channel, strlen(channel));
    if (!quoted)
        return record_failure(db, NULL);
    char sql[128];
    snprintf(sql, sizeof sql, "LISTEN %s", quoted);
    PQfreemem(quoted);
    return run_simple(db, sql);
}

/* Consumes every pending notification; true when there was at least one. */
/* Consumes every notification received; true when one of them came from another session
 * (what this session announced itself needs no answer from it). */
static bool drain_notifications(struct db *db)
{
    bool from_others = false;
    int self = PQbackendPID(db->conn);
    PGnotify *n;
    while ((n = PQnotifies(db->conn)) != NULL) {
        from_others = from_others || n->be_pid != self;
        PQfreemem(n);
    }
    return from_others;
}

int db_wait_notify(struct db *db, int timeout_ms, int wake_fd)
{
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
        return -1;
    if (drain_notifications(db))
        return 1;
    int64_t deadline_us = now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int64_t left_ms = (deadline_us - now_us()) / 1000;
        if (left_ms <= 0)
            return 0;
        struct pollfd pfd[2] = {{.fd = PQsocket(db->conn), .events = POLLIN},
                                {.fd = wake_fd, .events = POLLIN}}; /* fd -1: ignored */
        int ready = poll(pfd, 2, (int)left_ms);
        if (ready <= 0)
            return 0; /* timeout, or EINTR: the caller's loop comes back */
        if (pfd[1].revents & POLLIN)
            return 2;
        if (!PQconsumeInput(db->conn) || PQstatus(db->conn) != CONNECTION_OK) {
            record_failure(db, NULL);
            return -1;
        }
        if (drain_notifications(db))
            return 1;
    }
}

/* --- results --- */

int db_rows(const struct db_result *r)
{
    return PQntuples((const PGresult *)r);
}

const char *db_value(const struct db_result *r, int row, int col)
{
    return PQgetvalue((const PGresult *)r, row, col);
}

bool db_is_null(const struct db_result *r, int row, int col)
{
    return PQgetisnull((const PGresult *)r, row, col) != 0;
}

int db_columns(const struct db_result *r)
{
    return PQnfields((const PGresult *)r);
}

const char *db_column_name(const struct db_result *r, int col)
{
    return PQfname((const PGresult *)r, col);
}

void db_result_free(struct db_result *r)
{
    PQclear((PGresult *)r);
}
