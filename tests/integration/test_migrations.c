/* Migrations: several daemons starting at once on one empty database apply each migration
 * exactly once; every migration is recorded with its checksum; a migration changed after it was
 * applied stops start-up with a sentence that says what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "migrate.h"

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
        cmocka_unit_test(unreachable_database_stops_startup_with_a_sentence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
