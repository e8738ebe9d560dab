/* Migrations: several daemons starting at once on one empty database apply each migration
 * exactly once; every migration is recorded with its checksum; a migration changed after it was
 * applied stops start-up with a sentence that says what to do; a database built by the texts
 * published before the migrations were rewritten upgrades with its bookings and notes intact
 * and ends with the schema a new database gets; a function file runs again exactly when its
 * text changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "harness.h"
#include "migrate.h"
#include "status.h"

#define DAEMONS 3
#define ROUNDS  3

static struct harness_pg pg;

static int setup(void **state)
{
    (void)state;
    return harness_pg_start(&pg) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_pg_destroy(&pg);
    return 0;
}

static long embedded_migration_count(void)
{
    long n = 0;
    while (migration_files[n].name)
        n++;
    return n;
}

static long sql_long(const char *url, const char *sql)
{
    char *text = harness_sql(url, sql);
    assert_non_null(text);
    long v = strtol(text, NULL, 10);
    free(text);
    return v;
}

static bool all_serving(struct harness_daemon *d, int n, long timeout_ms)
{
    for (int i = 0; i < n; i++)
        if (!harness_daemon_wait_url(&d[i], (int)timeout_ms))
            return false;
    for (long waited = 0; waited < timeout_ms; waited += 100) {
        int serving = 0;
        for (int i = 0; i < n; i++)
            serving += harness_health(d[i].url, 1000) == 1;
        if (serving == n)
            return true;
        harness_sleep_ms(100);
    }
    return false;
}

static void daemons_starting_at_once_apply_each_migration_once(void **state)
{
    (void)state;
    for (int round = 0; round < ROUNDS; round++) {
        char name[32], url[512];
        snprintf(name, sizeof name, "race%d", round);
        assert_true(harness_pg_create_database(&pg, name, url, sizeof url));
        struct harness_daemon d[DAEMONS];
        for (int i = 0; i < DAEMONS; i++)
            assert_true(harness_daemon_start(&d[i], pg.dir, url, NULL, false));
        assert_true(all_serving(d, DAEMONS, 60000));
        long n = embedded_migration_count();
        assert_int_equal(sql_long(url, "SELECT count(*) FROM schema_migrations"), n);
        assert_int_equal(sql_long(url, "SELECT count(DISTINCT version) FROM schema_migrations"), n);
        assert_int_equal(sql_long(url, "SELECT count(*) FROM pg_extension WHERE extname = "
                                       "'btree_gist'"),
                         1);
        for (int i = 0; i < DAEMONS; i++)
            assert_int_equal(harness_daemon_stop(&d[i]), 0);
    }
}

static void applied_migrations_record_name_and_checksum(void **state)
{
    (void)state;
    char url[512];
    assert_true(harness_pg_create_database(&pg, "recorded", url, sizeof url));
    struct harness_daemon d;
    assert_true(harness_daemon_start(&d, pg.dir, url, NULL, true));
    char *first = harness_sql(url, "SELECT name || ' ' || length(checksum) FROM schema_migrations "
                                   "ORDER BY version LIMIT 1");
    char expected[128];
    snprintf(expected, sizeof expected, "%s 64", migration_files[0].name);
    assert_string_equal(first, expected);
    free(first);
    assert_int_equal(harness_daemon_stop(&d), 0);
    char *log = harness_daemon_log(&d);
    assert_non_null(strstr(log, "applied migration 0001"));
    free(log);
    /* a second start (its own log file) applies nothing */
    assert_true(harness_daemon_start(&d, pg.dir, url, NULL, true));
    assert_int_equal(harness_daemon_stop(&d), 0);
    log = harness_daemon_log(&d);
    assert_null(strstr(log, "applied migration"));
    free(log);
}

static void changed_migration_stops_startup(void **state)
{
    (void)state;
    char url[512];
    assert_true(harness_pg_create_database(&pg, "tampered", url, sizeof url));
    struct harness_daemon d;
    assert_true(harness_daemon_start(&d, pg.dir, url, NULL, true));
    assert_int_equal(harness_daemon_stop(&d), 0);
    free(harness_sql(url, "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1"));
    assert_true(harness_daemon_start(&d, pg.dir, url, NULL, false));
    assert_int_equal(harness_daemon_wait_exit(&d, 30000), 1);
    char *log = harness_daemon_log(&d);
    assert_non_null(strstr(log, "was changed after it was applied"));
    assert_non_null(strstr(log, "new migration"));
    free(log);
}

/* Runs a script of several statements on url; fails the test when it fails. */
static void sql_script(const char *url, const char *sql)
{
    struct db *db = db_new(url);
    assert_non_null(db);
    int code = db_exec_script(db, sql);
    if (code != STATUS_OK)
        fprintf(stderr, "script failed: %s\n", db_error_detail(db));
    assert_int_equal(code, STATUS_OK);
    db_free(db);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct migration_file *)a)->name,
                  ((const struct migration_file *)b)->name);
}

/* The migrations as clinicd published them before they were rewritten (frozen copies of their
 * texts, 0001 to 0013), sorted, ended by {NULL, NULL}. */
static struct migration_file *published_migrations(void)
{
    static const char dir[] = CLINIC_SOURCE_DIR "/tests/integration/data/published";
    struct migration_file *files = calloc(64, sizeof *files);
    assert_non_null(files);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        assert_true(n < 63);
        char path[sizeof dir + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        files[n].name = strdup(e->d_name);
        files[n].sql = harness_read_file(path);
        assert_non_null(files[n].sql);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 13);
    qsort(files, (size_t)n, sizeof *files, by_name);
    return files;
}

static void published_migrations_free(struct migration_file *files)
{
    for (struct migration_file *f = files; f->name; f++) {
        free((char *)f->name);
        free((char *)f->sql);
    }
    free(files);
}

/* What the schema is made of, as one digest: every function's definition and rights, every
 * view's, trigger, constraint, index, policy, column and table right in the public schema. Two
 * databases with the same digest hold the same schema. */
static const char schema_digest_sql[] =
    "SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM ("
    " SELECT 'f ' || p.oid::regprocedure::text || ' ' || pg_get_functiondef(p.oid) || ' '"
    "        || coalesce(p.proacl::text, '') AS x"
    " FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'"
    " UNION ALL SELECT 'r ' || c.relname || ' ' || c.relkind::text || ' ' || "
    "coalesce(c.relacl::text, '')"
    "        || ' ' || coalesce(pg_get_viewdef(c.oid), '') || ' ' || coalesce(c.reloptions::text, "
    "'')"
    " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
    " UNION ALL SELECT 't ' || pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal"
    " UNION ALL SELECT 'c ' || conrelid::regclass::text || ' ' || conname || ' '"
    "        || pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'p ' || polname || ' ' || polrelid::regclass::text || ' '"
    "        || coalesce(pg_get_expr(polqual, polrelid), '') || ' '"
    "        || coalesce(pg_get_expr(polwithcheck, polrelid), '')"
    " FROM pg_policy"
    " UNION ALL SELECT 'a ' || c.relname || ' ' || a.attnum || ' ' || a.attname || ' '"
    "        || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull"
    " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    " WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"
    "   AND c.relname NOT IN ('schema_migrations', 'schema_functions')"
    " UNION ALL SELECT 'i ' || indexdef FROM pg_indexes WHERE schemaname = 'public') AS s";

/* Every row a client or therapist reads back, as text: appointments, notes, amendments and
 * events through the views the daemon answers from, and the tables under them. Columns later
 * migrations added (recorded_reason, 0020, course_id, 0021: NULL, or '' in the view, and
 * revision, 0022: 0, a note's care decision, 0023, and an appointment's waitlist hold, 0026:
 * NULL, on every row written before them) are left out, so that the rows compare as they were
 * written. */
#define CARE_DECISION_COLUMNS                                                                      \
    "'{care_decision, care_decision_reason, care_decision_intake}'::text[]"
static const char records_sql[] =
    "SELECT concat_ws(E'\\n',"
    " (SELECT string_agg((to_jsonb(d) - 'recorded_reason' - 'course_id')::text, E'\\n'"
    "  ORDER BY d.id) FROM appointment_details d),"
    " (SELECT string_agg((to_jsonb(a) - 'recorded_reason' - 'course_id' - 'revision'"
    "  - 'held_until')::text,"
    "  E'\\n'"
    "  ORDER BY a.id)"
    "  FROM appointments a),"
    " (SELECT string_agg((to_jsonb(n) - " CARE_DECISION_COLUMNS ")::text, E'\\n' ORDER BY n.id)"
    "  FROM note_details n),"
    " (SELECT string_agg((to_jsonb(n) - " CARE_DECISION_COLUMNS ")::text, E'\\n' ORDER BY n.id)"
    "  FROM treatment_notes n),"
    " (SELECT string_agg(m::text, E'\\n' ORDER BY m.id) FROM note_amendment_details m),"
    " (SELECT string_agg(e::text, E'\\n' ORDER BY e.id) FROM events e))";

/* A clinic open every day around the clock in UTC, two clients, two bookings (one cancelled
 * after), a signed note with an amendment and a draft, written with the functions the
 * published migrations defined. Days ahead are computed from now. */
static const char published_records_sql[] =
    "INSERT INTO locations (name, time_zone, min_notice_minutes) VALUES ('Upgrade', 'UTC', 0);"
    "INSERT INTO rooms (location_id, name, features) SELECT id, 'Linden', '{table}' FROM locations;"
    "INSERT INTO services (name, duration_minutes, buffer_after_minutes, required_features)"
    " VALUES ('Back pain treatment', 45, 10, '{table}');"
    "INSERT INTO therapists (name, email) VALUES ('Tess Ahl', 'tess@upgrade.test');"
    "INSERT INTO therapist_services SELECT t.id, s.id FROM therapists t, services s;"
    "INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)"
    " SELECT t.id, l.id, d, '00:00', '23:45' FROM therapists t, locations l,"
    " generate_series(1, 7) AS d;"
    "INSERT INTO clients (name, email) VALUES ('Cleo Brandt', 'cleo@upgrade.test'),"
    " ('Dan Ek', 'dan@upgrade.test');"
    "SELECT count(*) FROM clients c, services s, locations l,"
    " LATERAL clinic_book_details(c.id, s.id, l.id,"
    "   date_trunc('day', now()) + interval '2 days 9 hours' + (c.id - 1) * interval '2 hours',"
    "   NULL, 'upgrade test', NULL) AS b;"
    "SELECT clinic_transition(a.id, 'cancelled', 'moved away') FROM appointments a"
    " JOIN clients c ON c.id = a.client_id WHERE c.name = 'Dan Ek';"
    "SELECT clinic_note_draft(a.id, a.therapist_id, 6::smallint, 3::smallint, '{lower_back}',"
    " '{deep_tissue}', 'firm', 'stiff after gardening', 'guarded L4-L5', 'improving', 'stretch',"
    " '{1,2,3,4,5,0,NULL,2,3,4}'::smallint[]) FROM appointments a WHERE a.status = 'booked';"
    "SELECT clinic_note_sign(n.id) FROM treatment_notes n;"
    "SELECT clinic_note_amend(n.id, n.author_therapist_id, 'typo', 'pain before was 7')"
    " FROM treatment_notes n;"
    "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
    " start_at, end_at, blocked)"
    " SELECT c.id, t.id, r.id, s.id, l.id, date_trunc('day', now()) + interval '3 days 9 hours',"
    " date_trunc('day', now()) + interval '3 days 9 hours 45 minutes',"
    " tstzrange(date_trunc('day', now()) + interval '3 days 9 hours',"
    "           date_trunc('day', now()) + interval '3 days 9 hours 55 minutes')"
    " FROM clients c, therapists t, rooms r, services s, locations l WHERE c.name = 'Cleo Brandt';"
    "SELECT clinic_note_draft(max(a.id), min(a.therapist_id), NULL, NULL, NULL, NULL, NULL,"
    " 'draft', '', '', '', NULL) FROM appointments a;"
    "SELECT clinic_sequence_events();";

static void published_database_upgrades_with_its_bookings_and_notes(void **state)
{
    (void)state;
    char url[512], fresh_url[512];
    assert_true(harness_pg_create_database(&pg, "published", url, sizeof url));

    /* the database as a clinicd of the published texts left it: migrations 0001 to 0013, each
     * recorded with the checksum of its text, and no schema_functions */
    struct migration_file *published = published_migrations();
    static const struct migration_file none[] = {{0, 0}};
    const struct migration_set then = {published, none, NULL};
    struct db *db = db_new(url);
    assert_non_null(db);
    char err[512] = "";
    bool ok = migrate_apply(db, &then, err, sizeof err);
    if (!ok)
        fprintf(stderr, "%s\n", err);
    assert_true(ok);
    db_free(db);
    sql_script(url, "DROP TABLE schema_functions");
    sql_script(url, published_records_sql);
    char *before = harness_sql(url, records_sql);
    assert_non_null(before);
    assert_non_null(strstr(before, "pain before was 7"));
    assert_non_null(strstr(before, "appointment.cancelled"));

    /* the current daemon upgrades it */
    struct harness_daemon d;
    assert_true(harness_daemon_start(&d, pg.dir, url, NULL, true));
    assert_int_equal(harness_health(d.url, 5000), 1);
    assert_int_equal(harness_daemon_stop(&d), 0);
    char *log = harness_daemon_log(&d);
    assert_non_null(strstr(log, "migration 0003_scheduling_functions.sql: recorded checksum of "
                                "its earlier text replaced"));
    assert_non_null(strstr(log, "applied migration 0014"));
    assert_non_null(strstr(log, "applied functions file 50_booking.sql"));
    free(log);

    /* every migration now recorded with the checksum of its current text */
    long n = embedded_migration_count();
    assert_int_equal(sql_long(url, "SELECT count(*) FROM schema_migrations"), n);
    db = db_new(url);
    assert_non_null(db);
    for (long i = 0; i < n; i++) {
        static const struct db_stmt same = {
            "SELECT 1 FROM schema_migrations WHERE name = $1"
            " AND checksum = encode(sha256(convert_to($2, 'UTF8')), 'hex')",
            2};
        const char *params[] = {migration_files[i].name, migration_files[i].sql};
        struct db_result *r;
        assert_int_equal(db_query(db, &same, params, &r), STATUS_OK);
        assert_int_equal(db_rows(r), 1);
        db_result_free(r);
    }
    db_free(db);

    /* the same rows read the same */
    char *after = harness_sql(url, records_sql);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* the schema is the one a new database gets */
    assert_true(harness_pg_create_database(&pg, "fresh", fresh_url, sizeof fresh_url));
    assert_true(harness_daemon_start(&d, pg.dir, fresh_url, NULL, true));
    assert_int_equal(harness_daemon_stop(&d), 0);
    char *upgraded_schema = harness_sql(url, schema_digest_sql);
    char *fresh_schema = harness_sql(fresh_url, schema_digest_sql);
    assert_non_null(upgraded_schema);
    assert_non_null(fresh_schema);
    assert_string_equal(upgraded_schema, fresh_schema);
    free(upgraded_schema);
    free(fresh_schema);

    /* and a booking still works, with the current booking function */
    assert_int_equal(sql_long(url, "SELECT count(*) FROM clients c, services s, locations l,"
                                   " LATERAL clinic_book_details(c.id, s.id, l.id,"
                                   "   date_trunc('day', now()) + interval '4 days 14 hours',"
                                   "   NULL, 'after upgrade', NULL) AS b WHERE c.name = 'Dan Ek'"),
                     1);
    assert_int_equal(sql_long(url, "SELECT count(*) FROM appointments WHERE status = 'booked'"), 3);
    published_migrations_free(published);
}

/* pg_proc's xmin of one function: the transaction that last (re-)created it. */
static char *function_xmin(const char *url, const char *function)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT xmin::text FROM pg_proc WHERE proname = '%s'", function);
    char *x = harness_sql(url, sql);
    assert_non_null(x);
    assert_true(x[0] != '\0');
    return x;
}

static void functions_file_runs_again_only_when_its_text_changed(void **state)
{
    (void)state;
    char url[512], err[512] = "";
    assert_true(harness_pg_create_database(&pg, "functions", url, sizeof url));
    struct db *db = db_new(url);
    assert_non_null(db);
    assert_true(migrate_run(db, migration_files, err, sizeof err));
    long files = 0;
    while (function_files[files].name)
        files++;
    assert_int_equal(sql_long(url, "SELECT count(*) FROM schema_functions"), files);
    static const char applied_sql[] =
        "SELECT string_agg(name || ' ' || checksum || ' ' || applied_at, ',' ORDER BY name)"
        " FROM schema_functions";
    char *recorded = harness_sql(url, applied_sql);
    char *demo = function_xmin(url, "clinic_load_demo");
    char *booking = function_xmin(url, "clinic_book_details");

    /* unchanged: nothing runs again */
    assert_true(migrate_run(db, migration_files, err, sizeof err));
    char *again = harness_sql(url, applied_sql);
    assert_string_equal(recorded, again);
    free(again);
    char *x = function_xmin(url, "clinic_load_demo");
    assert_string_equal(x, demo);
    free(x);

    /* 95_demo.sql changed: that file runs again, once; the others do not */
    struct migration_file *changed = calloc((size_t)files + 1, sizeof *changed);
    assert_non_null(changed);
    char *demo_text = NULL;
    for (long i = 0; i < files; i++) {
        changed[i] = function_files[i];
        if (strcmp(changed[i].name, "95_demo.sql") == 0) {
            size_t len = strlen(changed[i].sql) + 64;
            demo_text = malloc(len);
            assert_non_null(demo_text);
            snprintf(demo_text, len, "%s-- a changed comment\n", changed[i].sql);
            changed[i].sql = demo_text;
        }
    }
    assert_non_null(demo_text);
    const struct migration_set set = {migration_files, changed, superseded_checksums};
    assert_true(migrate_apply(db, &set, err, sizeof err));
    x = function_xmin(url, "clinic_load_demo");
    assert_string_not_equal(x, demo);
    char *demo_after = x;
    x = function_xmin(url, "clinic_book_details");
    assert_string_equal(x, booking);
    free(x);
    /* its record moved, and only its */
    static const char others_sql[] =
        "SELECT string_agg(name || ' ' || checksum || ' ' || applied_at, ',' ORDER BY name)"
        " FROM schema_functions WHERE name <> '95_demo.sql'";
    static const char demo_sql[] =
        "SELECT checksum || ' ' || applied_at FROM schema_functions WHERE name = '95_demo.sql'";
    char *others = harness_sql(url, others_sql);
    char *demo_row = harness_sql(url, demo_sql);
    assert_non_null(others);
    assert_non_null(demo_row);
    assert_null(strstr(recorded, demo_row));
    assert_non_null(strstr(recorded, others));
    free(others);
    /* a second start with the same change runs nothing */
    assert_true(migrate_apply(db, &set, err, sizeof err));
    x = function_xmin(url, "clinic_load_demo");
    assert_string_equal(x, demo_after);
    free(x);
    x = harness_sql(url, demo_sql);
    assert_string_equal(x, demo_row);
    free(x);
    free(demo_row);

    free(demo_after);
    free(demo_text);
    free(changed);
    free(recorded);
    free(demo);
    free(booking);
    db_free(db);
}

static void unreachable_database_stops_startup_with_a_sentence(void **state)
{
    (void)state;
    struct harness_daemon d;
    assert_true(harness_daemon_start(
        &d, pg.dir, "postgresql:///nowhere?host=/nonexistent&connect_timeout=1", NULL, false));
    assert_int_equal(harness_daemon_wait_exit(&d, 60000), 1);
    char *log = harness_daemon_log(&d);
    assert_non_null(strstr(log, "cannot start"));
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(daemons_starting_at_once_apply_each_migration_once),
        cmocka_unit_test(applied_migrations_record_name_and_checksum),
        cmocka_unit_test(changed_migration_stops_startup),
        cmocka_unit_test(published_database_upgrades_with_its_bookings_and_notes),
        cmocka_unit_test(functions_file_runs_again_only_when_its_text_changed),
        cmocka_unit_test(unreachable_database_stops_startup_with_a_sentence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
