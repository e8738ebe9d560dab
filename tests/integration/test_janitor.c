/* The janitor deletes idempotency keys older than a day and keeps younger ones (each user's
 * own), and deletes tokens that stopped working over a week ago. */
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
    /* keys belong to users: user 2's old "shared" goes, user 1's young "shared" stays */
    free(harness_sql(url, "INSERT INTO idempotency_keys (user_id, key, method, request_sha256,"
                          " created_at) VALUES (1, 'old', 'm', '\\x00', now() - interval '2 days'),"
                          " (1, 'young', 'm', '\\x00', now() - interval '23 hours'),"
                          " (1, 'shared', 'm', '\\x00', now() - interval '1 hour'),"
                          " (2, 'shared', 'm', '\\x00', now() - interval '3 days')"));
    /* tokens dead for over a week go; the harness admin's live one stays */
    free(harness_sql(url, "INSERT INTO auth_tokens (lookup, sha256, user_id, expires_at)"
                          " SELECT 42, sha256('\\x01'), id, now() - interval '8 days' FROM users"));
    char *left = NULL, *tokens = NULL;
    for (int waited = 0; waited < 10000; waited += 100) {
        free(left);
        free(tokens);
        left =
            harness_sql(url, "SELECT string_agg(user_id || ':' || key, ',' ORDER BY user_id, key)"
                             " FROM idempotency_keys");
        tokens = harness_sql(url, "SELECT count(*) || '/' || count(*) FILTER (WHERE lookup = 42)"
                                  " FROM auth_tokens");
        if (left && strcmp(left, "1:shared,1:young") == 0 && tokens && strcmp(tokens, "1/0") == 0)
            break;
        harness_sleep_ms(100);
    }
    assert_string_equal(left, "1:shared,1:young");
    assert_string_equal(tokens, "1/0");
    free(left);
    free(tokens);
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
