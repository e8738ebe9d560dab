/* migrate.c: brings the schema up to date: numbered migrations applied once each, then the
 * function files whose text changed, in one transaction under an advisory lock.
 *
 * Why function files apart from migrations: a function restated in every migration that changed
 * it left the rule in several places (the booking function was written out four times) and its
 * history spread over files. Tables keep the append-only discipline of migrations, because data
 * cannot be re-created; functions, views and triggers can, so each lives once in sql/functions/
 * and is re-created from it. Only a changed file is run again: CREATE OR REPLACE invalidates the
 * plans every connection has cached for what it replaces, so running them on every start would
 * cost each daemon's workers a round of re-planning for nothing. */
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
static const struct db_stmt create_migrations_stmt = {
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())",
    0};
static const struct db_stmt create_functions_stmt = {
    "CREATE TABLE IF NOT EXISTS schema_functions ("
    " name text PRIMARY KEY,"
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
static const struct db_stmt supersede_stmt = {
    "UPDATE schema_migrations SET checksum = encode(sha256(convert_to($2, 'UTF8')), 'hex')"
    " WHERE version = $1",
    2};
/* One row when the file's text differs from the one last run (or was never run). */
static const struct db_stmt function_changed_stmt = {
    "SELECT 1 WHERE encode(sha256(convert_to($2, 'UTF8')), 'hex') IS DISTINCT FROM"
    " (SELECT checksum FROM schema_functions WHERE name = $1)",
    2};
static const struct db_stmt function_record_stmt = {
    "INSERT INTO schema_functions (name, checksum)"
    " VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex'))"
    " ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()",
    2};

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

/* Whether sql holds anything but white space and -- comments. A migration emptied of the
 * functions it once held is only recorded: PostgreSQL answers an empty script with no result,
 * which db_exec_script counts as a failure. */
static bool has_statement(const char *sql)
{
    for (const char *p = sql; *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else {
            return true;
        }
    }
    return false;
}

/* Whether superseded lists `recorded` as an earlier text of migration `name`. */
static bool is_superseded(const struct superseded_checksum *superseded, const char *name,
                          const char *recorded)
{
    for (const struct superseded_checksum *s = superseded; s && s->name; s++)
        if (strcmp(s->name, name) == 0 && strcmp(s->sha256, recorded) == 0)
            return true;
    return false;
}

/* Inside the run's transaction: applies one migration unless recorded; checks the checksum
 * when it is, and replaces a superseded one by the current text's. */
static bool apply_migration(struct db *db, const struct migration_file *m, long version,
                            const struct superseded_checksum *superseded, char *err, size_t errlen)
{
    char vtext[24];
    snprintf(vtext, sizeof vtext, "%ld", version);
    const char *lookup_params[] = {vtext, m->sql};
    struct db_result *r;
    if (db_query(db, &lookup_stmt, lookup_params, &r) != STATUS_OK)
        return fail_db(db, "checking migration", m->name, err, errlen);
    bool applied = db_rows(r) > 0;
    bool same = applied && strcmp(db_value(r, 0, 0), db_value(r, 0, 1)) == 0;
    bool earlier = applied && !same && is_superseded(superseded, m->name, db_value(r, 0, 0));
    db_result_free(r);
    if (earlier) {
        const char *params[] = {vtext, m->sql};
        if (db_query(db, &supersede_stmt, params, NULL) != STATUS_OK)
            return fail_db(db, "recording the rewritten migration", m->name, err, errlen);
        log_msg(LOG_LEVEL_INFO, "migration %s: recorded checksum of its earlier text replaced",
                m->name);
        return true;
    }
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
    if ((has_statement(m->sql) && db_exec_script(db, m->sql) != STATUS_OK) ||
        db_query(db, &record_stmt, record_params, NULL) != STATUS_OK)
        return fail_db(db, "migration", m->name, err, errlen);
    log_msg(LOG_LEVEL_INFO, "applied migration %s", m->name);
    return true;
}

/* Inside the run's transaction: runs function file f when its text differs from the one last
 * run, and records it. */
static bool apply_functions(struct db *db, const struct migration_file *f, char *err, size_t errlen)
{
    const char *params[] = {f->name, f->sql};
    struct db_result *r;
    if (db_query(db, &function_changed_stmt, params, &r) != STATUS_OK)
        return fail_db(db, "checking functions file", f->name, err, errlen);
    bool changed = db_rows(r) > 0;
    db_result_free(r);
    if (!changed)
        return true;
    if (db_exec_script(db, f->sql) != STATUS_OK ||
        db_query(db, &function_record_stmt, params, NULL) != STATUS_OK)
        return fail_db(db, "functions file", f->name, err, errlen);
    log_msg(LOG_LEVEL_INFO, "applied functions file %s", f->name);
    return true;
}

/* The whole run's transaction: migrations in order, then function files in order. */
static bool apply_all(struct db *db, const struct migration_set *set, char *err, size_t errlen)
{
    if (db_exec_script(db, "BEGIN") != STATUS_OK)
        return fail_db(db, "starting", "the migration", err, errlen);
    bool ok = true;
    long last = 0;
    for (const struct migration_file *m = set->migrations; ok && m->name; m++) {
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
        ok = apply_migration(db, m, version, set->superseded, err, errlen);
    }
    for (const struct migration_file *f = set->functions; ok && f && f->name; f++)
        ok = apply_functions(db, f, err, errlen);
    if (!ok) {
        db_rollback(db);
        return false;
    }
    if (db_exec_script(db, "COMMIT") != STATUS_OK)
        return fail_db(db, "committing", "the migration", err, errlen);
    return true;
}

bool migrate_apply(struct db *db, const struct migration_set *set, char *err, size_t errlen)
{
    const char *key[] = {MIGRATION_LOCK_KEY};
    if (db_query(db, &lock_stmt, key, NULL) != STATUS_OK)
        return fail_db(db, "locking", "schema_migrations", err, errlen);
    bool ok = (db_query(db, &create_migrations_stmt, NULL, NULL) == STATUS_OK &&
               db_query(db, &create_functions_stmt, NULL, NULL) == STATUS_OK) ||
              fail_db(db, "creating", "schema_migrations and schema_functions", err, errlen);
    ok = ok && apply_all(db, set, err, errlen);
    if (db_query(db, &unlock_stmt, key, NULL) != STATUS_OK && ok)
        return fail_db(db, "unlocking", "schema_migrations", err, errlen);
    return ok;
}

bool migrate_run(struct db *db, const struct migration_file *files, char *err, size_t errlen)
{
    const struct migration_set set = {files, function_files, superseded_checksums};
    return migrate_apply(db, &set, err, errlen);
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
