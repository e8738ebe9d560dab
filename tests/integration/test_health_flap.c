/* Health follows the database: SERVING, NOT_SERVING while PostgreSQL is down, SERVING again once
 * it is back, with no restart of the daemon; calls that need the database get UNAVAILABLE
 * meanwhile, and `clinic health` exits 1 then 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clinic/v1/diagnostics.pb-c.h"
#include "harness.h"
#include "status.h"

#define RECOVERY_TIMEOUT_MS 30000

static struct harness_pg pg;
static struct harness_daemon daemon_;

static int setup(void **state)
{
    (void)state;
    char url[512];
    static const char *const args[] = {"--enable-diagnostics", NULL};
    return harness_pg_start(&pg) && harness_pg_create_database(&pg, "flap", url, sizeof url) &&
                   harness_daemon_start(&daemon_, pg.dir, url, args, true)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static int sleep_call_status(unsigned timeout_ms)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(daemon_.url, timeout_ms, &err);
    if (!c)
        return err.code;
    Clinic__V1__SleepRequest req = CLINIC__V1__SLEEP_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(c, "/clinic.v1.Diagnostics/Sleep", &req.base,
                           &clinic__v1__sleep_response__descriptor, &resp, NULL, &err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    clinic_close(c);
    return code;
}

static int cli_health(void)
{
    const char *const argv[] = {"--url", daemon_.url, "health", NULL};
    return harness_run_cli(argv, NULL, NULL, NULL);
}

/* Polls health until it reports `want` (1 SERVING, 2 NOT_SERVING); false after timeout_ms. */
static bool health_becomes(int want, long timeout_ms)
{
    for (long waited = 0; waited < timeout_ms; waited += 100) {
        if (harness_health(daemon_.url, 2000) == want)
            return true;
        harness_sleep_ms(100);
    }
    return false;
}

static void health_is_serving_with_the_database_up(void **state)
{
    (void)state;
    assert_int_equal(harness_health(daemon_.url, 2000), 1);
    assert_int_equal(cli_health(), 0);
}

static void health_is_not_serving_while_the_database_is_down(void **state)
{
    (void)state;
    assert_true(harness_pg_stop(&pg));
    /* every worker holds its own connection: each must notice, so ask more times than workers */
    for (int i = 0; i < 12; i++)
        assert_int_equal(harness_health(daemon_.url, 2000), 2);
    assert_int_equal(cli_health(), 1);
    assert_int_equal(sleep_call_status(1500), STATUS_UNAVAILABLE);
}

static void health_is_serving_again_once_the_database_is_back(void **state)
{
    (void)state;
    assert_true(harness_pg_restart(&pg));
    assert_true(health_becomes(1, RECOVERY_TIMEOUT_MS));
    /* once one worker is back they all come back within the back-off limit */
    harness_sleep_ms(5500);
    for (int i = 0; i < 12; i++)
        assert_int_equal(harness_health(daemon_.url, 2000), 1);
    assert_int_equal(sleep_call_status(5000), STATUS_OK);
    assert_int_equal(cli_health(), 0);
}

static void daemon_flaps_repeatedly_without_restart(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        assert_true(harness_pg_stop(&pg));
        assert_true(health_becomes(2, 10000));
        assert_true(harness_pg_restart(&pg));
        assert_true(health_becomes(1, RECOVERY_TIMEOUT_MS));
    }
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(strstr(log, "database unreachable"));
    assert_non_null(strstr(log, "database connection restored"));
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_is_serving_with_the_database_up),
        cmocka_unit_test(health_is_not_serving_while_the_database_is_down),
        cmocka_unit_test(health_is_serving_again_once_the_database_is_back),
        cmocka_unit_test(daemon_flaps_repeatedly_without_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
