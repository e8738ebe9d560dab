/* janitor.c: periodic maintenance: expired idempotency keys and long-dead tokens. */
#include "janitor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "status.h"

/* Batches keep each DELETE short, so it never holds locks a booking waits on for long. */
static const struct db_stmt expire_stmt = {
    "DELETE FROM idempotency_keys WHERE (user_id, key) IN (SELECT user_id, key"
    " FROM idempotency_keys WHERE created_at < now() - interval '24 hours' LIMIT 1000)",
    0};
/* Tokens that stopped working a week ago serve no one; the audit trail keeps the logins. */
static const struct db_stmt expire_tokens_stmt = {
    "DELETE FROM auth_tokens WHERE id IN (SELECT id FROM auth_tokens"
    " WHERE coalesce(revoked_at, expires_at) < now() - interval '7 days' LIMIT 1000)",
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

static void *janitor_main(void *arg)
{
    struct janitor *j = arg;
    while (!atomic_load(&j->stopping)) {
        for (long waited = 0; waited < j->period_ms && !atomic_load(&j->stopping); waited += 50)
            sleep_ms(50);
        if (atomic_load(&j->stopping))
            break;
        if (db_query(j->db, &expire_stmt, NULL, NULL) != STATUS_OK ||
            db_query(j->db, &expire_tokens_stmt, NULL, NULL) != STATUS_OK)
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
    if (!j)
        return;
    atomic_store(&j->stopping, true);
    pthread_join(j->thread, NULL);
    db_free(j->db);
    free(j);
}
