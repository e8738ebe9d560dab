/* migrate.c: numbered schema migrations, applied once each under an advisory lock. */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "status.h"

/* Any constant works as long as every clinicd uses the same one: "clinic" in ASCII. */
#define MIGRATION_LOCK_KEY "99043401458531"

static const struct db_stmt lock_stmt = {"SELECT pg_advisory_lock($1::bigint)", 1};
static const struct db_stmt unlock_stmt = {"SELECT pg_advisory_unlock($1::bigint)", 1};
static const struct db_stmt create_table_stmt = {"CREATE TABLE IF NOT EXISTS schema_migrations ("
                                                 " version integer PRIMARY KEY,"
                                                 " name text NOT NULL,"
                                                 " checksum text NOT NULL,"
                                                 " applied_at timestamptz NOT NULL DEFAULT now())",
                                                 0};
static const struct db_stmt lookup_stmt = {
    "SELECT checksum, encode(sha256(convert_to($2, 'UTF8')), 'hex')"
    " FROM schema_migrations WHERE version = $1",
    2};
static const struct db_stmt record_stmt = {
    "INSERT INTO schema_migrations (version, name, checksum)"
    " VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))",
    3};

/* The version number of "0001_name.sql", or -1 when the name has another shape. */
static long version_of(const char *name)
{
    char *end;
    errno = 0;
    long v = strtol(name, &end, 10);
    if (errno || end != name + 4 || *end != '_' || v <= 0)
        return -1;
    return v;
}

static bool fail_db(struct db *db, const char *what, const char *name, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s %s failed: %s", what, name, db_error_detail(db));
    return false;
}

/* Applies one migration unless recorded; checks the checksum when it is. */
static bool apply_one(struct db *db, const struct migration_file *m, long version, char *err,
                      size_t errlen)
{
    char vtext[24];
    snprintf(vtext, sizeof vtext, "%ld", version);
    const char *lookup_params[] = {vtext, m->sql};
    struct db_result *r;
    if (db_query(db, &lookup_stmt, lookup_params, &r) != STATUS_OK)
        return fail_db(db, "checking migration", m->name, err, errlen);
    bool applied = db_rows(r) > 0;
    bool same = applied && strcmp(db_value(r, 0, 0), db_value(r, 0, 1)) == 0;
    db_result_free(r);
    if (applied && !same) {
        snprintf(err, errlen,
                 "migration %s was changed after it was applied (its checksum differs from the "
                 "one recorded in schema_migrations); restore the file and put the change in a "
                 "new migration",
                 m->name);
        return false;
    }
    if (applied)
        return true;
    const char *record_params[] = {vtext, m->name, m->sql};
    if (db_exec_script(db, "BEGIN") != STATUS_OK)
        return fail_db(db, "starting migration", m->name, err, errlen);
    if (db_exec_script(db, m->sql) != STATUS_OK ||
        db_query(db, &record_stmt, record_params, NULL) != STATUS_OK) {
        fail_db(db, "migration", m->name, err, errlen);
        db_rollback(db);
        return false;
    }
    if (db_exec_script(db, "COMMIT") != STATUS_OK)
        return fail_db(db, "committing migration", m->name, err, errlen);
    log_msg(LOG_LEVEL_INFO, "applied migration %s", m->name);
    return true;
}

bool migrate_run(struct db *db, const struct migration_file *files, char *err, size_t errlen)
{
    const char *key[] = {MIGRATION_LOCK_KEY};
    if (db_query(db, &lock_stmt, key, NULL) != STATUS_OK)
        return fail_db(db, "locking", "schema_migrations", err, errlen);
    bool ok = db_query(db, &create_table_stmt, NULL, NULL) == STATUS_OK ||
              fail_db(db, "creating", "schema_migrations", err, errlen);
    long last = 0;
    for (const struct migration_file *m = files; ok && m->name; m++) {
        long version = version_of(m->name);
        if (version <= last) {
            snprintf(err, errlen,
                     "migration file %s must be named NNNN_name.sql with a number above the "
                     "previous one's",
                     m->name);
            ok = false;
            break;
        }
        last = version;
        ok = apply_one(db, m, version, err, errlen);
    }
    if (db_query(db, &unlock_stmt, key, NULL) != STATUS_OK && ok)
        return fail_db(db, "unlocking", "schema_migrations", err, errlen);
    return ok;
}

bool migrate_database(const char *url, int64_t wait_us, char *err, size_t errlen)
{
    struct db *db = db_new(url);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    int64_t give_up = now_us() + wait_us;
    while (db_ensure(db) != STATUS_OK && now_us() < give_up) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    bool ok = migrate_run(db, migration_files, err, errlen);
    db_free(db);
    return ok;
}
