/* The janitor deletes idempotency keys older than a day and keeps younger ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void expired_idempotency_keys_are_deleted_and_fresh_ones_kept(void **state)
{
    (void)state;
    struct harness_pg pg;
    struct harness_daemon d;
    char url[512];
    assert_true(harness_pg_start(&pg));
    assert_true(harness_pg_create_database(&pg, "janitor", url, sizeof url));
    static const char *const args[] = {"--janitor-period-ms", "200", NULL};
    assert_true(harness_daemon_start(&d, pg.dir, url, args, true));
    free(harness_sql(url, "INSERT INTO idempotency_keys (key, method, request_sha256, created_at)"
                          " VALUES ('old', 'm', '\\x00', now() - interval '2 days'),"
                          " ('young', 'm', '\\x00', now() - interval '23 hours')"));
    char *left = NULL;
    for (int waited = 0; waited < 10000; waited += 100) {
        free(left);
        left = harness_sql(url, "SELECT string_agg(key, ',' ORDER BY key) FROM idempotency_keys");
        if (left && strcmp(left, "young") == 0)
            break;
        harness_sleep_ms(100);
    }
    assert_string_equal(left, "young");
    free(left);
    assert_int_equal(harness_daemon_stop(&d), 0);
    harness_pg_destroy(&pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expired_idempotency_keys_are_deleted_and_fresh_ones_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
