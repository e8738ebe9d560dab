/* standby.c: whether a hot standby may serve a read now, asked at most once a second. */
#include "standby.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "status.h"

#define LOOK_EVERY_US 1000000

struct standby {
    struct db *db;
    int64_t max_lag_ms;
    int64_t looked_us; /* when it was last asked (clock.h's now_us); 0: never */
    bool usable;
};

/* How far behind the standby is, in ms: 0 when it has replayed all it received (or it is no
 * standby at all, a primary given as the read database); NULL when it receives nothing (no WAL
 * receiver: cut off from its primary, however fresh its last replay looks). Only the
 * receiver's pid is read, which every role may see. */
static const struct db_stmt lag_stmt = {
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    "            WHEN (SELECT pid FROM pg_stat_wal_receiver) IS NULL THEN NULL"
    "            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    "            ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint"
    "       END",
    0};

struct standby *standby_new(const char *url, int64_t max_lag_ms)
{
    if (!url || !*url)
        return NULL;
    struct standby *s = calloc(1, sizeof *s);
    if (!s || !(s->db = db_new(url))) {
        free(s);
        return NULL;
    }
    s->max_lag_ms = max_lag_ms;
    return s;
}

void standby_free(struct standby *s)
{
    if (!s)
        return;
    db_free(s->db);
    free(s);
}

static bool close_enough(struct standby *s)
{
    struct db_result *r;
    if (db_query(s->db, &lag_stmt, NULL, &r) != STATUS_OK)
        return false;
    bool ok = db_rows(r) == 1 && !db_is_null(r, 0, 0) &&
              strtoll(db_value(r, 0, 0), NULL, 10) <= s->max_lag_ms;
    db_result_free(r);
    return ok;
}

struct db *standby_for_read(struct standby *s)
{
    if (!s)
        return NULL;
    int64_t now = now_us();
    if (!s->looked_us || now - s->looked_us >= LOOK_EVERY_US) {
        bool was = s->usable;
        s->usable = close_enough(s);
        s->looked_us = now;
        if (was != s->usable)
            log_msg(LOG_LEVEL_INFO, "reads %s the standby", s->usable ? "go to" : "leave");
    }
    return s->usable ? s->db : NULL;
}

void standby_failed(struct standby *s)
{
    if (s) {
        s->usable = false;
        s->looked_us = now_us();
    }
}
