/* fuzz_db.c: daemon/db.h answered from the fuzz input instead of PostgreSQL (see fuzz_db.h).
 *
 * The script, byte by byte. Each statement (BEGIN and COMMIT included) reads one byte A:
 *   A & 7 == 7   the statement fails: the next byte picks the SQLSTATE (failures[]); one with a
 *                server-written sentence (CLINV, CLNOF, ...) reads it as a string, CLINV also its
 *                COLUMN, and 23xxx their constraint name, each a string;
 *   otherwise    it succeeds with (A >> 3) & 3 rows, held within what its SQL allows.
 * Each value of a row then reads one byte V: 0 is NULL; 1..63 one of values[] or of the
 * context values; 64 and up a string of V - 64 bytes taken from the script. Strings are cut at
 * a NUL and made valid UTF-8 (PostgreSQL never sends anything else); names (columns,
 * constraints) keep only [a-z0-9_]; a column the SQL makes hex gets hex. A script that runs out
 * answers as fuzz_db.h says. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_db.h"
#include "sql_shape.h"
#include "status.h"

#define MAX_CONTEXT_VALUES 8
#define MAX_SHAPES         512
#define AUTH_COLUMNS       13

struct db {
    char sqlstate[6];
    char constraint[64];
    char column[64];
    char public_msg[256];
    char detail[256];
};

struct db_result {
    int rows, columns;
    char (*names)[SQL_SHAPE_NAME_MAX];
    char **values; /* rows * columns; NULL for SQL NULL */
};

/* --- the script --- */

static struct {
    const uint8_t *p, *end;
    size_t statements;
    char context[MAX_CONTEXT_VALUES][256];
    int n_context;
    bool caller_set;
    char caller[AUTH_COLUMNS][72];
} in;

void fuzz_db_start(const uint8_t *script, size_t len)
{
    in.p = script;
    in.end = len ? script + len : script;
    in.statements = 0;
    in.n_context = 0;
    in.caller_set = false;
}

void fuzz_db_add_value(const char *text)
{
    if (in.n_context < MAX_CONTEXT_VALUES)
        snprintf(in.context[in.n_context++], sizeof in.context[0], "%s", text);
}

void fuzz_db_set_caller(const char *token_sha256_hex, const char *role, int64_t user_id,
                        int64_t therapist_id, int64_t client_id)
{
    /* auth.c's columns: sha256 hex, expired, revoked, active, user_id, role, therapist_id,
     * client_id, expires_at, then four set_config results */
    snprintf(in.caller[0], sizeof in.caller[0], "%s", token_sha256_hex);
    snprintf(in.caller[1], sizeof in.caller[1], "f");
    snprintf(in.caller[2], sizeof in.caller[2], "f");
    snprintf(in.caller[3], sizeof in.caller[3], "t");
    snprintf(in.caller[4], sizeof in.caller[4], "%lld", (long long)user_id);
    snprintf(in.caller[5], sizeof in.caller[5], "%s", role);
    snprintf(in.caller[6], sizeof in.caller[6], "%lld", (long long)therapist_id);
    snprintf(in.caller[7], sizeof in.caller[7], "%lld", (long long)client_id);
    snprintf(in.caller[8], sizeof in.caller[8], "2030-01-01T00:00:00Z");
    for (int i = 9; i < AUTH_COLUMNS; i++)
        in.caller[i][0] = '\0';
    in.caller_set = true;
}

size_t fuzz_db_statements(void)
{
    return in.statements;
}

static bool take(uint8_t *b)
{
    if (in.p >= in.end)
        return false;
    *b = *in.p++;
    return true;
}

/* A malloc'd string of up to len script bytes, cut at a NUL; as_name keeps [a-z0-9_] only,
 * otherwise invalid UTF-8 becomes '?'. */
static char *take_string(size_t len, bool as_name)
{
    size_t avail = (size_t)(in.end - in.p);
    if (len > avail)
        len = avail;
    const uint8_t *s = in.p;
    in.p += len;
    size_t n = 0;
    while (n < len && s[n])
        n++;
    char *out = malloc(n + 1);
    if (!out)
        abort();
    size_t used = 0;
    for (size_t i = 0; i < n;) {
        size_t seq = as_name ? 1 : fuzz_utf8_sequence(s + i, n - i);
        bool keep =
            as_name ? (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'
                    : seq > 0;
        if (keep) {
            memcpy(out + used, s + i, seq);
            used += seq;
            i += seq;
        } else {
            out[used++] = as_name ? '_' : '?';
            i++;
        }
    }
    out[used] = '\0';
    return out;
}

/* A string whose length is the next script byte. */
static char *take_sized_string(bool as_name)
{
    uint8_t len = 0;
    (void)take(&len);
    return take_string(len, as_name);
}

static char *copy(const char *s)
{
    char *c = strdup(s);
    if (!c)
        abort();
    return c;
}

/* Text PostgreSQL sends for clinicd's columns: booleans, ids, times, enum labels, arrays, page
 * tokens, hashes the fake Argon2id of fuzz_pwhash.c accepts. */
static const char *const values[] = {
    "t",
    "f",
    "0",
    "1",
    "2",
    "3",
    "7",
    "8",
    "9",
    "42",
    "-1",
    "",
    "9223372036854775807",
    "2030-03-04",
    "2030-03-04T09:00:00+01:00",
    "2030-03-04T10:00:00Z",
    "2030-03-31T01:30:00+02:00",
    "09:00",
    "17:30",
    "24:00",
    "Europe/Berlin",
    "UTC",
    "admin",
    "front_desk",
    "therapist",
    "client",
    "booked",
    "checked_in",
    "completed",
    "cancelled",
    "no_show",
    "working",
    "time_off",
    "closed",
    "draft",
    "signed",
    "{}",
    "{1,2}",
    "{neck,\"lower back\"}",
    "{\"a\\\"b\",c}",
    "{3,4,2,1,0,5,3,2,1,0}",
    "p1",
    "k1893456000.5",
    "Anna Müller",
    "anna@example.org",
    "+49 30 1234567",
    "$fuzz$password123",
    "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    "60.5",
    "1e308",
    "appointment.booked",
    "\xe2\x82\xac 12",
};
#define N_VALUES (sizeof values / sizeof values[0])

/* Makes v what a column of that kind can hold: hex stays hex (a character that is not a hex
 * digit becomes the digit of its low four bits; an odd one out is dropped). */
static char *as_kind(char *v, enum sql_column_kind kind)
{
    if (!v || kind != SQL_COLUMN_HEX)
        return v;
    size_t n = strlen(v) & ~(size_t)1;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", v[i]))
            v[i] = "0123456789abcdef"[(unsigned char)v[i] & 15];
    v[n] = '\0';
    return v;
}

static char *take_value(void)
{
    uint8_t v;
    if (!take(&v))
        return copy("1");
    if (v == 0)
        return NULL;
    if (v < 64) {
        size_t i = (size_t)(v - 1) % (N_VALUES + (size_t)in.n_context);
        return copy(i < N_VALUES ? values[i] : in.context[i - N_VALUES]);
    }
    return take_string((size_t)(v - 64), false);
}

/* --- errors --- */

/* The SQLSTATEs clinicd's statements can meet, and the status each means (db.c's table, which
 * tests/unit/test_status_mapping.c pins; a server sentence of NULL means the server's message
 * is passed on, as db.c does for our own codes). */
static const struct {
    const char *sqlstate;
    int code;
    const char *sentence;
} failures[] = {
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
    {"53300", STATUS_UNAVAILABLE, "the database has no free connections; retry shortly"},
    {"CLINV", STATUS_INVALID_ARGUMENT, NULL},
    {"CLNOF", STATUS_NOT_FOUND, NULL},
    {"CLRUL", STATUS_FAILED_PRECONDITION, NULL},
    {"CLBSY", STATUS_ABORTED, NULL},
    {"P0001", STATUS_FAILED_PRECONDITION, NULL},
    {"22007", STATUS_INVALID_ARGUMENT, "a value is out of range or badly formed"},
    {"22P02", STATUS_INVALID_ARGUMENT, "a value is out of range or badly formed"},
    {"08006", STATUS_UNAVAILABLE, "the database is unreachable; retry shortly"},
    {"XX000", STATUS_INTERNAL, "an internal error occurred"},
    {"42501", STATUS_INTERNAL, "an internal error occurred"},
};
#define N_FAILURES (sizeof failures / sizeof failures[0])

static size_t failure_index(const char *sqlstate)
{
    for (size_t i = 0; i < N_FAILURES; i++)
        if (strcmp(failures[i].sqlstate, sqlstate) == 0)
            return i;
    return N_FAILURES;
}

int db_status_for_sqlstate(const char *sqlstate)
{
    size_t i = failure_index(sqlstate);
    if (i < N_FAILURES)
        return failures[i].code;
    if (strncmp(sqlstate, "22", 2) == 0)
        return STATUS_INVALID_ARGUMENT;
    if (strncmp(sqlstate, "08", 2) == 0)
        return STATUS_UNAVAILABLE;
    return STATUS_INTERNAL;
}

/* Records failure i with the server's sentence, column and constraint; returns its status. */
static int fail_with(struct db *db, size_t i, const char *message, const char *column,
                     const char *constraint)
{
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", failures[i].sqlstate);
    snprintf(db->column, sizeof db->column, "%s", column);
    snprintf(db->constraint, sizeof db->constraint, "%s", constraint);
    snprintf(db->detail, sizeof db->detail, "%s", message);
    snprintf(db->public_msg, sizeof db->public_msg, "%s",
             failures[i].sentence ? failures[i].sentence : message);
    return failures[i].code;
}

/* A failure the script describes. */
static int scripted_failure(struct db *db)
{
    uint8_t pick = 0;
    (void)take(&pick);
    size_t i = pick % N_FAILURES;
    char *message = failures[i].sentence ? copy("") : take_sized_string(false);
    char *column = strcmp(failures[i].sqlstate, "CLINV") == 0 ? take_sized_string(true) : copy("");
    char *constraint = failures[i].sqlstate[0] == '2' && failures[i].sqlstate[1] == '3'
                           ? take_sized_string(true)
                           : copy("");
    int code = fail_with(db, i, message[0] ? message : "the rule refuses it", column, constraint);
    free(message);
    free(column);
    free(constraint);
    return code;
}

static void clear_error(struct db *db)
{
    db->sqlstate[0] = db->constraint[0] = db->column[0] = db->public_msg[0] = db->detail[0] = '\0';
}

/* --- statements --- */

/* The shape of stmt's SQL, read once per statement (statements are static: their address is
 * their identity, as db.c's prepared-statement table has it). */
static const struct sql_shape *shape_of(const struct db_stmt *stmt)
{
    static struct {
        const struct db_stmt *stmt;
        struct sql_shape shape;
    } cache[MAX_SHAPES];
    static size_t n;
    for (size_t i = 0; i < n; i++)
        if (cache[i].stmt == stmt)
            return &cache[i].shape;
    if (n == MAX_SHAPES)
        abort(); /* more statements than clinicd has: raise MAX_SHAPES */
    cache[n].stmt = stmt;
    sql_shape_read(stmt->sql, &cache[n].shape);
    if (getenv("FUZZ_DB_TRACE")) {
        const struct sql_shape *s = &cache[n].shape;
        fprintf(stderr, "fuzz_db: rows %d..%d, columns", s->min_rows, s->max_rows);
        for (int c = 0; c < s->n_columns; c++)
            fprintf(stderr, " %s", s->names[c]);
        fprintf(stderr, "\n  %s\n", stmt->sql);
    }
    return &cache[n++].shape;
}

static bool is_authentication(const struct db_stmt *stmt)
{
    return strstr(stmt->sql, "FROM auth_tokens t JOIN users u") &&
           strstr(stmt->sql, "set_config('clinic.role'");
}

static struct db_result *new_result(int rows, int columns)
{
    struct db_result *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->rows = rows;
    r->columns = columns;
    r->names = calloc(columns ? (size_t)columns : 1, sizeof *r->names);
    r->values = calloc(rows && columns ? (size_t)(rows * columns) : 1, sizeof *r->values);
    if (!r->names || !r->values)
        abort();
    return r;
}

static struct db_result *caller_row(void)
{
    struct db_result *r = new_result(1, AUTH_COLUMNS);
    for (int c = 0; c < AUTH_COLUMNS; c++)
        r->values[c] = copy(in.caller[c]);
    return r;
}

/* Reads every parameter as PostgreSQL would (ASan sees a stale or short one) and refuses one that
 * is not UTF-8 as the server does (22021). Not an abort: the stand-in's values have no types, so
 * a long text where PostgreSQL would send a bigint, copied by a handler into a buffer sized for
 * ids, can be cut inside a character, which no real answer can. */
static bool parameters_valid(struct db *db, const struct db_stmt *stmt, const char *const *params)
{
    for (int i = 0; params && i < stmt->nparams; i++) {
        if (params[i] && !fuzz_utf8_valid((const uint8_t *)params[i], strlen(params[i]))) {
            fail_with(db, failure_index("22P02"), "invalid byte sequence for encoding", "", "");
            snprintf(db->sqlstate, sizeof db->sqlstate, "22021");
            return false;
        }
    }
    return true;
}

/* Answers one statement; out (may be NULL) receives its rows on STATUS_OK. */
static int answer(struct db *db, const struct db_stmt *stmt, const char *const *params,
                  struct db_result **out)
{
    in.statements++;
    if (out)
        *out = NULL;
    if (!parameters_valid(db, stmt, params))
        return STATUS_INVALID_ARGUMENT;
    if (in.caller_set && is_authentication(stmt)) {
        clear_error(db);
        if (out)
            *out = caller_row();
        return STATUS_OK;
    }
    const struct sql_shape *shape = shape_of(stmt);
    uint8_t a;
    bool scripted = take(&a);
    if (scripted && (a & 7) == 7)
        return scripted_failure(db);
    clear_error(db);
    int rows = scripted ? (a >> 3) & 3 : 1;
    if (rows < shape->min_rows)
        rows = shape->min_rows;
    if (rows > shape->max_rows)
        rows = shape->max_rows;
    if (!out)
        return STATUS_OK;
    struct db_result *r = new_result(rows, shape->n_columns);
    for (int c = 0; c < shape->n_columns; c++)
        memcpy(r->names[c], shape->names[c], sizeof r->names[c]);
    for (int i = 0; i < rows * shape->n_columns; i++)
        r->values[i] = as_kind(take_value(), shape->kinds[i % shape->n_columns]);
    *out = r;
    return STATUS_OK;
}

/* --- db.h --- */

struct db *db_new(const char *url)
{
    (void)url;
    return calloc(1, sizeof(struct db));
}

void db_free(struct db *db)
{
    free(db);
}

void db_abandon(struct db *db)
{
    (void)db;
}

int db_ensure(struct db *db)
{
    (void)db;
    return STATUS_OK;
}

/* No news is kept here: every health check asks the stand-in database. */
bool db_server_answered_within(int64_t within_us)
{
    (void)within_us;
    return false;
}

bool db_ping(struct db *db)
{
    static const struct db_stmt ping = {"SELECT 1", 0};
    return answer(db, &ping, NULL, NULL) == STATUS_OK;
}

int db_query(struct db *db, const struct db_stmt *stmt, const char *const *params,
             struct db_result **out)
{
    return answer(db, stmt, params, out);
}

int db_pipeline(struct db *db, const struct db_step *steps, int n)
{
    for (int i = 0; i < n; i++)
        if (steps[i].out)
            *steps[i].out = NULL;
    if (n < 1 || n > DB_PIPELINE_MAX)
        return STATUS_INTERNAL;
    int code = STATUS_OK;
    for (int i = 0; i < n && code == STATUS_OK; i++)
        code = answer(db, steps[i].stmt, steps[i].params, steps[i].out);
    for (int i = 0; i < n && code != STATUS_OK; i++) {
        if (steps[i].out) {
            db_result_free(*steps[i].out);
            *steps[i].out = NULL;
        }
    }
    return code;
}

static const struct db_stmt begin_stmt = {"BEGIN", 0};
static const struct db_stmt commit_stmt = {"COMMIT", 0};

int db_begin_with(struct db *db, int64_t deadline_us, const struct db_step *then, int n)
{
    (void)deadline_us; /* time is not an input here: every statement is in time */
    if (n < 0 || n > DB_PIPELINE_MAX - 2)
        return STATUS_INTERNAL;
    struct db_step steps[DB_PIPELINE_MAX] = {{&begin_stmt, NULL, NULL}};
    for (int i = 0; i < n; i++)
        steps[1 + i] = then[i];
    return db_pipeline(db, steps, 1 + n);
}

int db_begin(struct db *db, int64_t deadline_us)
{
    return db_begin_with(db, deadline_us, NULL, 0);
}

int db_commit_with(struct db *db, const struct db_step *before, int n)
{
    if (n < 0 || n > DB_PIPELINE_MAX - 1)
        return STATUS_INTERNAL;
    struct db_step steps[DB_PIPELINE_MAX];
    for (int i = 0; i < n; i++)
        steps[i] = before[i];
    steps[n] = (struct db_step){&commit_stmt, NULL, NULL};
    int code = db_pipeline(db, steps, n + 1);
    if (code == STATUS_UNAVAILABLE && !db_error_is(db, DB_SHUTDOWN_SQLSTATE))
        snprintf(db->public_msg, sizeof db->public_msg,
                 "the database connection was lost while committing, so the outcome is unknown; "
                 "retry with the same idempotency key");
    return code;
}

int db_commit(struct db *db)
{
    return db_commit_with(db, NULL, 0);
}

void db_rollback(struct db *db)
{
    (void)db;
}

int db_exec_script(struct db *db, const char *sql)
{
    (void)sql;
    return fail_with(db, failure_index("08006"), "no database here", "", "");
}

int db_listen(struct db *db, const char *channel)
{
    (void)channel;
    return fail_with(db, failure_index("08006"), "no database here", "", "");
}

int db_wait_notify(struct db *db, int timeout_ms, int wake_fd)
{
    (void)db;
    (void)timeout_ms;
    (void)wake_fd;
    return -1;
}

/* --- results, with libpq's answers for what is out of range --- */

int db_rows(const struct db_result *r)
{
    return r ? r->rows : 0;
}

int db_columns(const struct db_result *r)
{
    return r ? r->columns : 0;
}

static bool in_range(const struct db_result *r, int row, int col)
{
    return r && row >= 0 && row < r->rows && col >= 0 && col < r->columns;
}

const char *db_value(const struct db_result *r, int row, int col)
{
    if (!in_range(r, row, col))
        return NULL;
    const char *v = r->values[row * r->columns + col];
    return v ? v : "";
}

bool db_is_null(const struct db_result *r, int row, int col)
{
    return !in_range(r, row, col) || !r->values[row * r->columns + col];
}

const char *db_column_name(const struct db_result *r, int col)
{
    return r && col >= 0 && col < r->columns ? r->names[col] : NULL;
}

void db_result_free(struct db_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->rows * r->columns; i++)
        free(r->values[i]);
    free(r->values);
    free(r->names);
    free(r);
}

const char *db_error_sqlstate(const struct db *db)
{
    return db->sqlstate;
}

const char *db_error_constraint(const struct db *db)
{
    return db->constraint;
}

const char *db_error_public(const struct db *db)
{
    return db->public_msg;
}

const char *db_error_column(const struct db *db)
{
    return db->column;
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
    return db_error_is(db, "40001") || db_error_is(db, "40P01");
}
