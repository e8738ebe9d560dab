/* Finding the events from the RPC URL alone: Server/Info names the URL the daemon publishes on
 * (as it listens: a wildcard host stays a wildcard; "" when it publishes none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/server.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static char db_url[512];
/* loopback: RPC and events on 127.0.0.1, as the harness starts every daemon */
static struct harness_daemon loopback;
/* silent: publishes no events */
static struct harness_daemon silent;
/* wildcard: RPC on 127.0.0.2, events on every interface */
static struct harness_daemon wildcard;

static int setup(void **state)
{
    (void)state;
    const char *const silent_args[] = {"--workers", "2", "--events", "", NULL};
    const char *const wildcard_args[] = {
        "--workers", "2", "--listen", "tcp://127.0.0.2:0", "--events", "tcp://0.0.0.0:0", NULL};
    const char *const loopback_args[] = {"--workers", "2", NULL};
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "discovery", db_url, sizeof db_url) ||
        !harness_daemon_start(&loopback, pg.dir, db_url, loopback_args, true) ||
        !harness_daemon_start(&silent, pg.dir, db_url, silent_args, true) ||
        !harness_daemon_start(&wildcard, pg.dir, db_url, wildcard_args, true))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int a = harness_daemon_stop(&loopback), b = harness_daemon_stop(&silent),
        c = harness_daemon_stop(&wildcard);
    harness_pg_destroy(&pg);
    return a == 0 && b == 0 && c == 0 ? 0 : -1;
}

/* Server/Info of the daemon at url, asked without a token (it needs none). */
static Clinic__V1__ServerInfoResponse *server_info(const char *url)
{
    clinic_client *c = harness_connect_as(url, NULL);
    assert_non_null(c);
    Clinic__V1__ServerInfoRequest req = CLINIC__V1__SERVER_INFO_REQUEST__INIT;
    Clinic__V1__ServerInfoResponse *info = NULL;
    struct clinic_error err;
    int code = harness_call(c, "Server/Info", &req, &clinic__v1__server_info_response__descriptor,
                            &info, false, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("Server/Info at %s: %d %s", url, code, err.message);
    clinic_close(c);
    return info;
}

static void server_info_names_the_events_url_without_a_token(void **state)
{
    (void)state;
    Clinic__V1__ServerInfoResponse *info = server_info(loopback.url);
    assert_string_equal(info->version, CLINIC_VERSION);
    assert_string_equal(info->events_url, loopback.events_url);
    harness_free_message(info);
}

static void server_info_keeps_a_wildcard_host_for_the_client_to_replace(void **state)
{
    (void)state;
    Clinic__V1__ServerInfoResponse *info = server_info(wildcard.url);
    assert_string_equal(info->events_url, wildcard.events_url);
    harness_assert_contains(info->events_url, "tcp://0.0.0.0:");
    size_t n = strlen(info->events_url); /* the port the system chose, not the 0 asked for */
    assert_false(strcmp(info->events_url + n - 2, ":0") == 0);
    harness_free_message(info);
}

static void server_info_says_so_when_the_daemon_publishes_no_events(void **state)
{
    (void)state;
    Clinic__V1__ServerInfoResponse *info = server_info(silent.url);
    assert_string_equal(info->events_url, "");
    harness_free_message(info);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_EVENTS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_info_names_the_events_url_without_a_token),
        cmocka_unit_test(server_info_keeps_a_wildcard_host_for_the_client_to_replace),
        cmocka_unit_test(server_info_says_so_when_the_daemon_publishes_no_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
