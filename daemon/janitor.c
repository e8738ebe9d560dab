/* janitor.c: periodic maintenance: expired idempotency keys and long-dead tokens, stale and old
 * outbox rows, the audit rows kept while the database was unreachable (audit.c's backlog), and
 * the waitlist's passes (offers that ran out, freed times offered to the clients waiting). */
#include "janitor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "audit.h"
#include "db.h"
#include "log.h"
#include "status.h"

/* Batches keep each DELETE short, so it never holds locks a booking waits on for long. */
static const struct db_stmt expire_stmt = {
    "DELETE FROM idempotency_keys WHERE (user_id, key) IN (SELECT user_id, key"
    " FROM idempotency_keys WHERE created_at < now() - interval '24 hours' LIMIT 1000)",
    0};
/* One waitlist pass: offers whose time is up end, and one freed time is offered (the new
 * appointment's id; 0: no one could take it; -1: a lock was taken, try on the next pass; NULL:
 * no time was waiting); sql/functions/88_waitlist.sql. */
static const struct db_stmt waitlist_stmt = {"SELECT clinic_waitlist_pass()", 0};
/* Tokens that stopped working a week ago serve no one; the audit trail keeps the logins. */
static const struct db_stmt expire_tokens_stmt = {
    "DELETE FROM auth_tokens WHERE id IN (SELECT id FROM auth_tokens"
    " WHERE coalesce(revoked_at, expires_at) < now() - interval '7 days' LIMIT 1000)",
    0};

/* Messages to clients (sql/0025_outbox.sql): one still queued a day after its appointment's start
 * says nothing useful any more (no daemon delivers its channel, or it kept failing); finished rows
 * are kept 90 days to answer "did the client get it?", then go. */
static const struct db_stmt expire_outbox_stmt = {
    "UPDATE outbox SET status = 'withdrawn', last_error = 'not delivered before the appointment',"
    " finished_at = now() WHERE id IN (SELECT id FROM outbox WHERE status = 'pending'"
    " AND due_at < now() - interval '1 day' AND start_at < now() - interval '1 day'"
    " LIMIT 1000 FOR UPDATE SKIP LOCKED)",
    0};
static const struct db_stmt delete_outbox_stmt = {
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status <> 'pending'"
    " AND finished_at < now() - interval '90 days' LIMIT 1000)",
    0};

struct janitor {
    struct db *db;
    long period_ms;
    pthread_t thread;
    atomic_bool stopping;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The thread wakes every TICK_MS to notice janitor_stop. */
#define TICK_MS 50
/* Kept audit rows are tried this often, not only every period: they should reach the database
 * soon after it is back (the connection's own back-off, at most 5 s, spaces real attempts). */
#define BACKLOG_EVERY_MS 1000
/* The waitlist is looked at this often: a freed time is offered within about a second. */
#define WAITLIST_EVERY_MS 1000
/* At most this many freed times offered per pass, each in a transaction of its own. */
#define WAITLIST_MAX_OFFERS 50

/* Runs waitlist passes until no freed time is left, one waits for a lock, or
 * WAITLIST_MAX_OFFERS. */
static void waitlist_passes(struct db *db)
{
    for (int i = 0; i < WAITLIST_MAX_OFFERS; i++) {
        struct db_result *r;
        if (db_query(db, &waitlist_stmt, NULL, &r) != STATUS_OK) {
            log_msg(LOG_LEVEL_DEBUG, "janitor: waitlist: %s", db_error_detail(db));
            return;
        }
        bool none_waiting = db_rows(r) != 1 || db_is_null(r, 0, 0) || db_value(r, 0, 0)[0] == '-';
        db_result_free(r);
        if (none_waiting)
            return;
    }
}

static void *janitor_main(void *arg)
{
    struct janitor *j = arg;
    long since_sweep_ms = 0, since_backlog_ms = 0, since_waitlist_ms = 0;
    while (!atomic_load(&j->stopping)) {
        sleep_ms(TICK_MS);
        since_sweep_ms += TICK_MS;
        since_backlog_ms += TICK_MS;
        since_waitlist_ms += TICK_MS;
        if (atomic_load(&j->stopping))
            break;
        if (since_waitlist_ms >= WAITLIST_EVERY_MS) {
            since_waitlist_ms = 0;
            waitlist_passes(j->db);
        }
        if (since_backlog_ms >= BACKLOG_EVERY_MS) {
            since_backlog_ms = 0;
            if (audit_backlog_pending() > 0)
                (void)audit_backlog_drain(j->db, false);
        }
        if (since_sweep_ms < j->period_ms)
            continue;
        since_sweep_ms = 0;
        if (db_query(j->db, &expire_stmt, NULL, NULL) != STATUS_OK ||
            db_query(j->db, &expire_tokens_stmt, NULL, NULL) != STATUS_OK ||
            db_query(j->db, &expire_outbox_stmt, NULL, NULL) != STATUS_OK ||
            db_query(j->db, &delete_outbox_stmt, NULL, NULL) != STATUS_OK)
            log_msg(LOG_LEVEL_DEBUG, "janitor: %s", db_error_detail(j->db));
    }
    return NULL;
}

struct janitor *janitor_start(const char *database_url, long period_ms)
{
    struct janitor *j = calloc(1, sizeof *j);
    if (!j || !(j->db = db_new(database_url))) {
        free(j);
        return NULL;
    }
    j->period_ms = period_ms;
    if (pthread_create(&j->thread, NULL, janitor_main, j) != 0) {
        db_free(j->db);
        free(j);
        return NULL;
    }
    return j;
}

void janitor_stop(struct janitor *j)
{
    if (!j) {
        (void)audit_backlog_drain(NULL, true); /* nowhere to write: at least say what is lost */
        return;
    }
    atomic_store(&j->stopping, true);
    pthread_join(j->thread, NULL);
    (void)audit_backlog_drain(j->db, true);
    db_free(j->db);
    free(j);
}
