/* The `clinic` tool as a new user meets it: health and methods against a live daemon, in tables
 * and in JSON; CLINIC_URL and --url and which one wins; help and version without any daemon;
 * usage errors with exit 2 and a pointer to --help; the documented exit codes for an unreachable
 * daemon (14) and a malformed URL (3). Also clinicd's own --help, --version and flag errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "status.h"

#define EXIT_USAGE 2

static struct harness_pg pg;
static struct harness_daemon daemon_;
/* A URL on which nothing listens: a free port that nobody took. */
static char unreachable_url[64];

static int setup(void **state)
{
    (void)state;
    char url[512];
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "cli", url, sizeof url) ||
        !harness_daemon_start(&daemon_, pg.dir, url, NULL, true))
        return -1;
    snprintf(unreachable_url, sizeof unreachable_url, "tcp://127.0.0.1:%d", harness_free_port());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* Runs clinic with argv and env; keeps stdout and stderr for the assertions (freed by the
 * caller through harness_run_free). */
static struct harness_run run_cli(const char *const *argv, const char *const *env)
{
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, env, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static void health_prints_serving_and_exits_zero(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", daemon_.url, "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "SERVING\n");
    assert_string_equal(r.err, "");
    harness_run_free(&r);
}

static void health_json_prints_the_status_object(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", daemon_.url, "--json", "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"status\":\"SERVING\"}\n");
    harness_run_free(&r);
}

static void clinic_url_environment_is_used_without_url_flag(void **state)
{
    (void)state;
    char env_url[96];
    snprintf(env_url, sizeof env_url, "CLINIC_URL=%s", daemon_.url);
    const char *const env[] = {env_url, NULL};
    const char *const argv[] = {"health", NULL};
    struct harness_run r = run_cli(argv, env);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "SERVING\n");
    harness_run_free(&r);

    /* and it is really read: pointing it nowhere makes the same command fail */
    snprintf(env_url, sizeof env_url, "CLINIC_URL=%s", unreachable_url);
    r = run_cli(argv, env);
    assert_int_equal(r.status, STATUS_UNAVAILABLE);
    assert_non_null(strstr(r.err, unreachable_url));
    harness_run_free(&r);
}

static void url_flag_wins_over_clinic_url_environment(void **state)
{
    (void)state;
    char env_url[96];
    snprintf(env_url, sizeof env_url, "CLINIC_URL=%s", unreachable_url);
    const char *const env[] = {env_url, NULL};
    const char *const argv[] = {"--url", daemon_.url, "health", NULL};
    struct harness_run r = run_cli(argv, env);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "SERVING\n");
    harness_run_free(&r);
}

static void methods_lists_health_and_reflection(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", daemon_.url, "methods", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "METHOD"));
    assert_non_null(strstr(r.out, "/clinic.v1.Health/Check"));
    assert_non_null(strstr(r.out, "/clinic.v1.Reflection/ListMethods"));
    assert_non_null(strstr(r.out, "clinic.v1.HealthCheckRequest"));
    /* diagnostics are served only with --enable-diagnostics, which this daemon lacks */
    assert_null(strstr(r.out, "/clinic.v1.Diagnostics/Sleep"));
    harness_run_free(&r);
}

static void methods_json_names_types_and_mutation(void **state)
{
    (void)state;
    const char *const argv[] = {"--json", "--url", daemon_.url, "methods", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"methods\":["));
    assert_non_null(strstr(r.out, "\"name\":\"/clinic.v1.Health/Check\""));
    assert_non_null(strstr(r.out, "\"name\":\"/clinic.v1.Reflection/ListMethods\""));
    assert_non_null(strstr(r.out, "\"request_type\":\"clinic.v1.HealthCheckRequest\""));
    assert_non_null(strstr(r.out, "\"request_type\":\"clinic.v1.ListMethodsRequest\""));
    assert_non_null(strstr(r.out, "\"response_type\":\"clinic.v1.HealthCheckResponse\""));
    assert_non_null(strstr(r.out, "\"mutates\":false"));
    harness_run_free(&r);
}

static void help_and_version_need_no_daemon(void **state)
{
    (void)state;
    const char *const *const cases[] = {
        (const char *const[]){"--help", NULL},
        (const char *const[]){"health", "--help", NULL},
        (const char *const[]){"methods", "--help", NULL},
        (const char *const[]){"--version", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* an unreachable URL: any attempt to call the daemon would fail with 14 */
        const char *argv[8] = {"--url", unreachable_url};
        int n = 2;
        for (int j = 0; cases[i][j]; j++)
            argv[n++] = cases[i][j];
        argv[n] = NULL;
        struct harness_run r = run_cli(argv, NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.err, "");
        if (strcmp(cases[i][0], "--version") == 0)
            assert_non_null(strstr(r.out, "clinic "));
        else
            assert_non_null(strstr(r.out, "usage: clinic"));
        harness_run_free(&r);
    }
}

static void top_level_help_lists_commands_and_exit_codes(void **state)
{
    (void)state;
    const char *const argv[] = {"--help", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "health"));
    assert_non_null(strstr(r.out, "methods"));
    assert_non_null(strstr(r.out, "--json"));
    assert_non_null(strstr(r.out, "Exit status"));
    harness_run_free(&r);
}

static void unknown_command_is_a_usage_error(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", unreachable_url, "frobnicate", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, EXIT_USAGE);
    assert_non_null(strstr(r.err, "frobnicate"));
    assert_non_null(strstr(r.err, "--help"));
    assert_string_equal(r.out, "");
    harness_run_free(&r);
}

static void unknown_global_option_is_a_usage_error(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", unreachable_url, "--frobnicate", "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, EXIT_USAGE);
    assert_non_null(strstr(r.err, "--frobnicate"));
    assert_non_null(strstr(r.err, "--help"));
    harness_run_free(&r);
}

static void non_numeric_timeout_is_a_usage_error(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", unreachable_url, "--timeout", "abc", "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, EXIT_USAGE);
    assert_non_null(strstr(r.err, "--timeout"));
    harness_run_free(&r);
}

static void unreachable_daemon_exits_unavailable_with_a_sentence(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", unreachable_url, "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, STATUS_UNAVAILABLE);
    assert_non_null(strstr(r.err, "cannot reach clinicd"));
    assert_non_null(strstr(r.err, unreachable_url));
    assert_string_equal(r.out, "");
    harness_run_free(&r);
}

static void unreachable_daemon_with_json_prints_a_json_error(void **state)
{
    (void)state;
    const char *const argv[] = {"--json", "--url", unreachable_url, "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, STATUS_UNAVAILABLE);
    assert_true(r.err[0] == '{');
    assert_non_null(strstr(r.err, "\"code\":14"));
    assert_non_null(strstr(r.err, "\"status\":\"UNAVAILABLE\""));
    assert_non_null(strstr(r.err, "\"message\":\"cannot reach clinicd"));
    assert_string_equal(r.out, "");
    harness_run_free(&r);
}

static void usage_errors_with_json_are_json_objects(void **state)
{
    (void)state;
    /* a bad value, a bad global option before --json, a missing command, a missing verb */
    const char *const *const cases[] = {
        (const char *const[]){"--json", "--url", unreachable_url, "book", "--client", "abc", NULL},
        (const char *const[]){"--timeout", "abc", "--json", "health", NULL},
        (const char *const[]){"--json", NULL},
        (const char *const[]){"--json", "admin", "location", NULL},
    };
    const char *const said[] = {
        "\"message\":\"--client must be an id", "\"message\":\"--timeout must be",
        "\"message\":\"a command is missing", "\"message\":\"a verb is missing"};
    const char *const command[] = {"\"command\":\"book\"", "\"command\":\"\"", "\"command\":\"\"",
                                   "\"command\":\"admin location\""};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct harness_run r = run_cli(cases[i], NULL);
        if (r.status != EXIT_USAGE || r.err[0] != '{')
            fail_msg("case %zu: exit %d, stderr %s", i, r.status, r.err);
        assert_non_null(strstr(r.err, "\"code\":2,\"status\":\"USAGE\""));
        assert_non_null(strstr(r.err, said[i]));
        assert_non_null(strstr(r.err, command[i]));
        assert_non_null(strstr(r.err, "--help"));
        assert_non_null(strstr(r.err, "}\n"));
        assert_string_equal(r.out, "");
        harness_run_free(&r);
    }
}

static void malformed_url_exits_invalid_argument(void **state)
{
    (void)state;
    const char *const argv[] = {"--url", "nonsense", "health", NULL};
    struct harness_run r = run_cli(argv, NULL);
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(r.err, "nonsense"));
    assert_non_null(strstr(r.err, "tcp://"));
    harness_run_free(&r);
}

static void clinicd_help_and_version_exit_zero(void **state)
{
    (void)state;
    char *out = NULL, *err = NULL;
    const char *const help[] = {"--help", NULL};
    assert_int_equal(harness_run_clinicd(help, &out, &err), 0);
    assert_non_null(strstr(out, "usage: clinicd"));
    assert_non_null(strstr(out, "--database"));
    assert_non_null(strstr(out, "--data-dir"));
    assert_non_null(strstr(out, "CLINIC_WORKERS"));
    free(out);
    free(err);

    const char *const version[] = {"--version", NULL};
    assert_int_equal(harness_run_clinicd(version, &out, &err), 0);
    assert_non_null(strstr(out, "clinicd "));
    free(out);
    free(err);
}

static void clinicd_zero_workers_is_a_usage_error(void **state)
{
    (void)state;
    char *err = NULL;
    const char *const argv[] = {"--workers", "0", NULL};
    assert_int_equal(harness_run_clinicd(argv, NULL, &err), EXIT_USAGE);
    assert_non_null(err);
    assert_non_null(strstr(err, "--workers"));
    free(err);
}

static void clinicd_unknown_flag_is_a_usage_error(void **state)
{
    (void)state;
    char *err = NULL;
    const char *const argv[] = {"--bogus", NULL};
    assert_int_equal(harness_run_clinicd(argv, NULL, &err), EXIT_USAGE);
    assert_non_null(err);
    assert_non_null(strstr(err, "--bogus"));
    assert_non_null(strstr(err, "--help"));
    free(err);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_prints_serving_and_exits_zero),
        cmocka_unit_test(health_json_prints_the_status_object),
        cmocka_unit_test(clinic_url_environment_is_used_without_url_flag),
        cmocka_unit_test(url_flag_wins_over_clinic_url_environment),
        cmocka_unit_test(methods_lists_health_and_reflection),
        cmocka_unit_test(methods_json_names_types_and_mutation),
        cmocka_unit_test(help_and_version_need_no_daemon),
        cmocka_unit_test(top_level_help_lists_commands_and_exit_codes),
        cmocka_unit_test(unknown_command_is_a_usage_error),
        cmocka_unit_test(unknown_global_option_is_a_usage_error),
        cmocka_unit_test(non_numeric_timeout_is_a_usage_error),
        cmocka_unit_test(unreachable_daemon_exits_unavailable_with_a_sentence),
        cmocka_unit_test(unreachable_daemon_with_json_prints_a_json_error),
        cmocka_unit_test(usage_errors_with_json_are_json_objects),
        cmocka_unit_test(malformed_url_exits_invalid_argument),
        cmocka_unit_test(clinicd_help_and_version_exit_zero),
        cmocka_unit_test(clinicd_zero_workers_is_a_usage_error),
        cmocka_unit_test(clinicd_unknown_flag_is_a_usage_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
