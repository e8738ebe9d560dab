/* audit.c: one INSERT into audit (sql/0006), the only statement the daemon's role may run on it
 * besides SELECT, and the backlog of rows the database could not take.
 *
 * DESIGN: audit rows never vanish. A call that fails because the database went away (a restart,
 * a failover, or the daemon abandoning the connection at shutdown) cannot write its row either,
 * so the row is copied into a fixed ring in memory and the janitor, on its own connection,
 * writes it once the database answers again, with the time it happened (the `at` column is
 * given, not defaulted). The ring is bounded: a row that finds it full is counted, never
 * allocated, and the count is logged once when the episode ends ("N audit rows were lost: ..."),
 * never a line per row, so an outage cannot flood the log either. A connection lost after the
 * server committed a row but before it answered makes that row appear twice: the trail prefers a
 * duplicate to a gap. A row is built from its call in one place (row_from_call) and becomes the
 * statement's parameters in one place (row_params), whichever way it is written. */
#include "audit.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "status.h"

/* $7 is when the row happened: NULL (a row written with its call) takes the database's now(),
 * the time of the call's transaction; a row written late carries the time it was kept. */
static const struct db_stmt insert_stmt = {
    "INSERT INTO audit (user_id, role, method, target, outcome, request_id, at)"
    " VALUES (nullif($1, '0')::bigint, nullif($2, ''), $3, nullif($4, ''), $5, $6,"
    " coalesce($7::timestamptz, now()))",
    7};

/* One row, copied whole so that it outlives its call. The sizes are those of the sources: the
 * method table's names (rpc.h, 128), the call's target, and request ids (rpc.c takes a caller's
 * only up to 64 characters, and generates 24). */
struct audit_row {
    int64_t user_id;
    int64_t at_us; /* wall clock, microseconds since 1970 (UTC); 0: the database's now() */
    enum caller_role role;
    int outcome; /* a status code */
    char method[128];
    char target[sizeof(((struct call *)0)->audit_target)];
    char request_id[65];
};

/* A row's parameters for insert_stmt and the text they point into (besides the row's). */
struct row_params {
    const char *values[7];
    char user_id[24];
    char at[48];
};

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What the trail records of a call: who, what, on what, with which outcome. */
static void row_from_call(const struct call *call, int64_t at_us, struct audit_row *row)
{
    *row = (struct audit_row){.user_id = call->caller.user_id,
                              .at_us = at_us,
                              .role = call->caller.role,
                              .outcome = call->code};
    snprintf(row->method, sizeof row->method, "%s", call->method);
    snprintf(row->target, sizeof row->target, "%s", call->audit_target);
    snprintf(row->request_id, sizeof row->request_id, "%s", call->request_id);
}

/* The row as insert_stmt's parameters; p->values point into row and p. */
static void row_params(const struct audit_row *row, struct row_params *p)
{
    snprintf(p->user_id, sizeof p->user_id, "%lld", (long long)row->user_id);
    p->values[0] = p->user_id;
    p->values[1] = caller_role_name(row->role);
    p->values[2] = row->method;
    p->values[3] = row->target;
    p->values[4] = status_code_name(row->outcome);
    p->values[5] = row->request_id;
    p->values[6] = NULL;
    if (row->at_us > 0) {
        time_t seconds = (time_t)(row->at_us / 1000000);
        struct tm utc;
        char day_time[32];
        if (gmtime_r(&seconds, &utc) &&
            strftime(day_time, sizeof day_time, "%Y-%m-%d %H:%M:%S", &utc) > 0) {
            snprintf(p->at, sizeof p->at, "%s.%06d+00", day_time, (int)(row->at_us % 1000000));
            p->values[6] = p->at;
        }
    }
}

/* Is the database gone, rather than refusing this row: the connection failed or was lost (class
 * 08), the server is stopping or starting (57P01-57P03), or clinicd abandoned the connection at
 * shutdown (db.h)? */
static bool unreachable(const char *sqlstate)
{
    return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
           strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0 ||
           strcmp(sqlstate, DB_SHUTDOWN_SQLSTATE) == 0;
}

/* --- the backlog --- */

/* What happened to the rows of one episode (from the first row kept to the backlog's emptying). */
struct episode {
    uint64_t written;  /* late, but written */
    uint64_t dropped;  /* the backlog was full */
    uint64_t refused;  /* the database took the connection but not the row */
    uint64_t given_up; /* still kept when clinicd stopped */
    char refused_sqlstate[6];
};

/* The ring: rows[head] is the oldest of count rows. Writers append under the lock; only the
 * drainer removes, and only the oldest, so the copy it writes outside the lock stays current. */
static struct {
    pthread_mutex_t lock;
    struct audit_row rows[AUDIT_BACKLOG_ROWS];
    size_t head, count;
    bool open; /* an episode is under way: its first row has been announced */
    struct episode episode;
} backlog = {.lock = PTHREAD_MUTEX_INITIALIZER};

_Static_assert(sizeof backlog.rows <= 384 * 1024, "the backlog stays a few hundred KiB");

/* Appends row (or counts it as dropped when the ring is full); false when dropped. */
static bool keep(const struct audit_row *row)
{
    pthread_mutex_lock(&backlog.lock);
    bool kept = backlog.count < AUDIT_BACKLOG_ROWS;
    if (kept)
        backlog.rows[(backlog.head + backlog.count++) % AUDIT_BACKLOG_ROWS] = *row;
    else
        backlog.episode.dropped++;
    bool first = !backlog.open;
    backlog.open = true;
    pthread_mutex_unlock(&backlog.lock);
    if (first)
        log_msg(LOG_LEVEL_WARN,
                "the database is out of reach: audit rows are kept in memory (at most %d) and "
                "written once it answers again",
                AUDIT_BACKLOG_ROWS);
    return kept;
}

bool audit_backlog_keep(const struct call *call)
{
    struct audit_row row;
    row_from_call(call, wall_now_us(), &row);
    return keep(&row);
}

size_t audit_backlog_pending(void)
{
    pthread_mutex_lock(&backlog.lock);
    size_t n = backlog.count;
    pthread_mutex_unlock(&backlog.lock);
    return n;
}

uint64_t audit_backlog_lost(void)
{
    pthread_mutex_lock(&backlog.lock);
    uint64_t n = backlog.episode.dropped + backlog.episode.refused + backlog.episode.given_up;
    pthread_mutex_unlock(&backlog.lock);
    return n;
}

/* Appends a part (printf-style) to the sentence why, after "; " unless it is the first. */
static void add_reason(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_reason(char *why, size_t len, const char *fmt, ...)
{
    size_t used = strlen(why);
    if (used > 0 && used + 2 < len) {
        memcpy(why + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + used, len - used, fmt, ap);
    va_end(ap);
}

/* The episode's one or two lines: what was written late, and what was lost and why. */
static void report(const struct episode *e)
{
    if (e->written > 0)
        log_msg(LOG_LEVEL_INFO, "%llu audit %s kept in memory %s written late",
                (unsigned long long)e->written, e->written == 1 ? "row" : "rows",
                e->written == 1 ? "was" : "were");
    uint64_t lost = e->dropped + e->refused + e->given_up;
    if (lost == 0)
        return;
    char why[320] = "";
    if (e->dropped > 0)
        add_reason(why, sizeof why, "%llu arrived with the backlog full (%d rows)",
                   (unsigned long long)e->dropped, AUDIT_BACKLOG_ROWS);
    if (e->refused > 0)
        add_reason(why, sizeof why, "%llu were refused by the database (SQLSTATE %s)",
                   (unsigned long long)e->refused, e->refused_sqlstate);
    if (e->given_up > 0)
        add_reason(why, sizeof why,
                   "%llu could not be written before clinicd stopped (database unreachable)",
                   (unsigned long long)e->given_up);
    log_msg(LOG_LEVEL_ERROR, "%llu audit %s lost: %s", (unsigned long long)lost,
            lost == 1 ? "row was" : "rows were", why);
}

/* Writes the oldest kept row, if any: 1 written (or refused, and counted), 0 none left, -1 the
 * database is unreachable (the row stays). */
static int write_oldest(struct db *db)
{
    struct audit_row row;
    pthread_mutex_lock(&backlog.lock);
    bool any = backlog.count > 0;
    if (any)
        row = backlog.rows[backlog.head];
    pthread_mutex_unlock(&backlog.lock);
    if (!any)
        return 0;
    struct row_params p;
    row_params(&row, &p);
    bool ok = db_query(db, &insert_stmt, p.values, NULL) == STATUS_OK;
    if (!ok && unreachable(db_error_sqlstate(db)))
        return -1;
    pthread_mutex_lock(&backlog.lock);
    backlog.head = (backlog.head + 1) % AUDIT_BACKLOG_ROWS;
    backlog.count--;
    if (ok) {
        backlog.episode.written++;
    } else {
        backlog.episode.refused++;
        snprintf(backlog.episode.refused_sqlstate, sizeof backlog.episode.refused_sqlstate, "%s",
                 db_error_sqlstate(db));
    }
    pthread_mutex_unlock(&backlog.lock);
    return 1;
}

size_t audit_backlog_drain(struct db *db, bool final)
{
    /* At the end, one real attempt even if the connection is waiting out a back-off. */
    bool reachable = db && (!final || audit_backlog_pending() == 0 || db_ping(db));
    for (size_t i = 0; reachable && i <= AUDIT_BACKLOG_ROWS; i++) {
        int r = write_oldest(db);
        if (r <= 0)
            break;
    }
    struct episode ended = {0};
    pthread_mutex_lock(&backlog.lock);
    if (final) {
        backlog.episode.given_up += backlog.count;
        backlog.head = backlog.count = 0;
    }
    size_t left = backlog.count;
    bool end = left == 0 && backlog.open;
    if (end) {
        ended = backlog.episode;
        backlog.episode = (struct episode){0};
        backlog.open = false;
    }
    pthread_mutex_unlock(&backlog.lock);
    if (end)
        report(&ended);
    return left;
}

/* --- writing a call's row --- */

bool audit_record(struct call *call)
{
    struct audit_row row;
    struct row_params p;
    row_from_call(call, 0, &row);
    row_params(&row, &p);
    if (db_query(call->db, &insert_stmt, p.values, NULL) == STATUS_OK)
        return true;
    if (!unreachable(db_error_sqlstate(call->db)))
        return false;
    row.at_us = wall_now_us();
    (void)keep(&row); /* a full backlog counts the row; the episode's end reports it */
    return true;
}

bool audit_step(struct call *call, struct db_step *step)
{
    struct {
        struct audit_row row;
        struct row_params p;
    } *held = call_alloc(call, sizeof *held); /* the parameters live until the commit */
    if (!held) {
        call_release_reply(call);
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    row_from_call(call, 0, &held->row);
    row_params(&held->row, &held->p);
    *step = (struct db_step){&insert_stmt, held->p.values, NULL};
    return true;
}
