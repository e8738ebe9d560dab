/* test_events_url.c: clinic_events_url_near, which turns the events URL a daemon reports into the
 * one a client dials: the host the client reached the daemon at replaces the daemon's own view
 * of itself (a wildcard or loopback host); everything else is kept as reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clinic.h"

/* What a client that dialled rpc_url dials for `reported`. */
static void assert_near(const char *rpc_url, const char *reported, const char *expected)
{
    char out[256];
    if (!clinic_events_url_near(rpc_url, reported, out, sizeof out))
        fail_msg("%s with %s: no URL", rpc_url ? rpc_url : "(none)", reported);
    assert_string_equal(out, expected);
}

static void a_wildcard_host_becomes_the_host_dialled(void **state)
{
    (void)state;
    assert_near("tcp://10.0.0.5:7450", "tcp://0.0.0.0:7451", "tcp://10.0.0.5:7451");
    assert_near("tcp://desk.clinic.example:7450", "tcp://:7451", "tcp://desk.clinic.example:7451");
    assert_near("tcp://10.0.0.5:7450", "tcp://[::]:7451", "tcp://10.0.0.5:7451");
}

static void a_loopback_host_becomes_the_host_dialled(void **state)
{
    (void)state;
    assert_near("tcp://10.0.0.5:7450", "tcp://127.0.0.1:7451", "tcp://10.0.0.5:7451");
    assert_near("tcp://10.0.0.5:7450", "tcp://localhost:9000", "tcp://10.0.0.5:9000");
    assert_near("tcp://10.0.0.5:7450", "tcp://[::1]:7451", "tcp://10.0.0.5:7451");
    assert_near("tcp://127.0.0.1:7450", "tcp://127.0.0.1:7451", "tcp://127.0.0.1:7451");
}

static void an_ipv6_host_dialled_keeps_its_brackets(void **state)
{
    (void)state;
    assert_near("tcp://[2001:db8::5]:7450", "tcp://0.0.0.0:7451", "tcp://[2001:db8::5]:7451");
}

static void the_reported_scheme_and_port_are_kept(void **state)
{
    (void)state;
    assert_near("tls+tcp://clinic.example:7450", "tls+tcp://0.0.0.0:8451",
                "tls+tcp://clinic.example:8451");
    assert_near("tcp://10.0.0.5:7450", "tls+tcp://127.0.0.1:7451", "tls+tcp://10.0.0.5:7451");
}

static void a_host_the_daemon_was_told_to_publish_on_is_kept(void **state)
{
    (void)state;
    assert_near("tcp://10.0.0.5:7450", "tcp://10.0.1.9:7451", "tcp://10.0.1.9:7451");
    assert_near("tcp://10.0.0.5:7450", "tcp://events.clinic.example:7451",
                "tcp://events.clinic.example:7451");
}

static void a_url_without_a_host_is_kept(void **state)
{
    (void)state;
    assert_near("tcp://10.0.0.5:7450", "ipc:///run/clinicd/events.sock",
                "ipc:///run/clinicd/events.sock");
}

static void dialled_without_a_host_a_wildcard_means_this_machine(void **state)
{
    (void)state;
    assert_near("ipc:///run/clinicd/rpc.sock", "tcp://0.0.0.0:7451", "tcp://127.0.0.1:7451");
    assert_near("ipc:///run/clinicd/rpc.sock", "tcp://:7451", "tcp://127.0.0.1:7451");
    assert_near("ipc:///run/clinicd/rpc.sock", "tcp://[::]:7451", "tcp://[::1]:7451");
    assert_near("ipc:///run/clinicd/rpc.sock", "tcp://127.0.0.1:7451", "tcp://127.0.0.1:7451");
    assert_near(NULL, "tcp://0.0.0.0:7451", "tcp://127.0.0.1:7451");
}

static void no_url_when_the_daemon_publishes_none_or_it_does_not_parse(void **state)
{
    (void)state;
    char out[64] = "stale";
    assert_false(clinic_events_url_near("tcp://10.0.0.5:7450", "", out, sizeof out));
    assert_string_equal(out, "");
    assert_false(clinic_events_url_near("tcp://10.0.0.5:7450", NULL, out, sizeof out));
    assert_false(clinic_events_url_near("tcp://10.0.0.5:7450", "not a url", out, sizeof out));
    assert_string_equal(out, "");
}

static void a_result_that_does_not_fit_is_refused(void **state)
{
    (void)state;
    char out[16];
    assert_false(clinic_events_url_near("tcp://desk.clinic.example:7450", "tcp://0.0.0.0:7451", out,
                                        sizeof out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_wildcard_host_becomes_the_host_dialled),
        cmocka_unit_test(a_loopback_host_becomes_the_host_dialled),
        cmocka_unit_test(an_ipv6_host_dialled_keeps_its_brackets),
        cmocka_unit_test(the_reported_scheme_and_port_are_kept),
        cmocka_unit_test(a_host_the_daemon_was_told_to_publish_on_is_kept),
        cmocka_unit_test(a_url_without_a_host_is_kept),
        cmocka_unit_test(dialled_without_a_host_a_wildcard_means_this_machine),
        cmocka_unit_test(no_url_when_the_daemon_publishes_none_or_it_does_not_parse),
        cmocka_unit_test(a_result_that_does_not_fit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
