/* Finding the events from the RPC URL alone: Server/Info names the URL the daemon publishes on
 * (as it listens: a wildcard host stays a wildcard; "" when it publishes none); a subscription
 * given no events URL dials that, at the host it reached the daemon at, and receives events
 * live; `clinic watch --url` alone does the same, and when the events socket is out of reach
 * (a daemon publishing on 127.0.0.1, watched from "another machine": 127.0.0.2) or there is
 * none, it says so on stderr and still shows every change by polling. Bookings lie in the year
 * after the current one, so the test passes whatever day it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clinic/v1/events.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
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
/* hidden: RPC on 127.0.0.2, events on 127.0.0.1 only: out of reach at 127.0.0.2 */
static struct harness_daemon hidden;
static struct harness_clinic clinic;
static int next_hour; /* each booking takes its own slot, so none collide */
static pid_t watcher; /* a `clinic watch` still running, for teardown to end */

static int setup(void **state)
{
    (void)state;
    const char *const silent_args[] = {"--workers", "2", "--events", "", NULL};
    const char *const wildcard_args[] = {
        "--workers", "2", "--listen", "tcp://127.0.0.2:0", "--events", "tcp://0.0.0.0:0", NULL};
    const char *const hidden_args[] = {"--workers", "2", "--listen", "tcp://127.0.0.2:0", NULL};
    const char *const loopback_args[] = {"--workers", "2", NULL};
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "discovery", db_url, sizeof db_url) ||
        !harness_daemon_start(&loopback, pg.dir, db_url, loopback_args, true) ||
        !harness_daemon_start(&silent, pg.dir, db_url, silent_args, true) ||
        !harness_daemon_start(&wildcard, pg.dir, db_url, wildcard_args, true) ||
        !harness_daemon_start(&hidden, pg.dir, db_url, hidden_args, true))
        return -1;
    return harness_seed_clinic(db_url, "Europe/Berlin", 1, 1, &clinic) ? 0 : -1;
}

/* Ends the watcher if it still runs and reaps it; its wait status, or -1 if it had to be
 * killed. */
static int stop_watcher(int timeout_ms)
{
    int status = -1;
    if (watcher <= 0)
        return -1;
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (waitpid(watcher, &status, WNOHANG) == watcher) {
            watcher = 0;
            return status;
        }
        harness_sleep_ms(50);
    }
    kill(watcher, SIGKILL);
    waitpid(watcher, NULL, 0);
    watcher = 0;
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    stop_watcher(0);
    int a = harness_daemon_stop(&loopback), b = harness_daemon_stop(&silent),
        c = harness_daemon_stop(&wildcard), d = harness_daemon_stop(&hidden);
    harness_pg_destroy(&pg);
    return a == 0 && b == 0 && c == 0 && d == 0 ? 0 : -1;
}

/* Books the next free slot (June of next year, four a day two hours apart from 09:00, so that
 * the service's hour and its cleanup never meet the next) through the daemon at url. */
static void book_through(const char *url)
{
    clinic_client *c = harness_connect_as(url, getenv("CLINIC_TOKEN"));
    assert_non_null(c);
    char start[32];
    int hour = next_hour++;
    snprintf(start, sizeof start, "%04d-06-%02d %02d:00", harness_next_year(), 1 + hour / 4,
             9 + 2 * (hour % 4));
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = start;
    struct clinic_error err;
    if (harness_call(c, "Scheduling/Book", &req, &clinic__v1__appointment__descriptor, NULL, true,
                     NULL, &err) != STATUS_OK)
        fail_msg("Book %s through %s: %s", start, url, err.message);
    clinic_close(c);
}

/* The highest event number assigned so far. */
static uint64_t newest_seq(void)
{
    clinic_client *c = harness_connect_as(loopback.url, getenv("CLINIC_TOKEN"));
    assert_non_null(c);
    Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
    req.limit = 1;
    Clinic__V1__SinceResponse *r = NULL;
    struct clinic_error err;
    if (harness_call(c, "Events/Since", &req, &clinic__v1__since_response__descriptor, &r, false,
                     NULL, &err) != STATUS_OK)
        fail_msg("Events/Since: %s", err.message);
    uint64_t last = r->last_seq;
    harness_free_message(r);
    clinic_close(c);
    return last;
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

/* Subscribes through the daemon at url with no events URL, waits (bounded) until the events
 * socket is up and the Since that follows a connection is made, so that what comes next can
 * only arrive live or by a resync a minute away. */
static clinic_subscription *subscribe_settled(clinic_client *c)
{
    struct clinic_subscribe_options opts = {.resync_ms = 60000};
    clinic_subscription *sub = NULL;
    struct clinic_error err;
    if (clinic_subscribe(c, CLINIC_AFTER_NOW, &opts, &sub, &err) != STATUS_OK)
        fail_msg("subscribe: %s", err.message);
    struct clinic_subscription_stats st = {0};
    for (int i = 0; i < 100 && st.connections == 0; i++) {
        Clinic__V1__Event *e = NULL;
        if (clinic_subscription_next(sub, 100, &e, &err) == STATUS_OK)
            fail_msg("unexpected event %llu", (unsigned long long)e->seq);
        clinic_subscription_stats(sub, &st);
    }
    if (st.connections == 0)
        fail_msg("the events socket at %s did not connect within 10 s",
                 clinic_subscription_events_url(sub));
    Clinic__V1__Event *e = NULL;
    if (clinic_subscription_next(sub, 100, &e, &err) == STATUS_OK)
        fail_msg("unexpected event %llu", (unsigned long long)e->seq);
    return sub;
}

/* Books through url and expects the event live on sub. */
static void expect_live_booking(clinic_subscription *sub, const char *url)
{
    uint64_t seq = clinic_subscription_last_seq(sub) + 1;
    book_through(url);
    Clinic__V1__Event *e = NULL;
    struct clinic_error err;
    if (clinic_subscription_next(sub, 10000, &e, &err) != STATUS_OK)
        fail_msg("waiting for event %llu: %s", (unsigned long long)seq, err.message);
    assert_int_equal(e->seq, seq);
    clinic__v1__event__free_unpacked(e, NULL);
    struct clinic_subscription_stats st;
    clinic_subscription_stats(sub, &st);
    assert_int_equal(st.live, 1);
    assert_int_equal(st.replayed, 0);
}

static void a_subscription_without_an_events_url_receives_the_daemons_events_live(void **state)
{
    (void)state;
    unsetenv("CLINIC_EVENTS");
    clinic_client *c = harness_connect_as(loopback.url, getenv("CLINIC_TOKEN"));
    assert_non_null(c);
    clinic_subscription *sub = subscribe_settled(c);
    assert_string_equal(clinic_subscription_events_url(sub), loopback.events_url);
    expect_live_booking(sub, loopback.url);
    clinic_subscription_close(sub);
    clinic_close(c);
}

static void a_wildcard_events_url_is_dialled_at_the_host_the_client_reached(void **state)
{
    (void)state;
    unsetenv("CLINIC_EVENTS");
    clinic_client *c = harness_connect_as(wildcard.url, getenv("CLINIC_TOKEN"));
    assert_non_null(c);
    clinic_subscription *sub = subscribe_settled(c);
    char expected[96];
    snprintf(expected, sizeof expected, "tcp://127.0.0.2:%s",
             strrchr(wildcard.events_url, ':') + 1);
    assert_string_equal(clinic_subscription_events_url(sub), expected);
    expect_live_booking(sub, loopback.url); /* any daemon's bookings: one database */
    clinic_subscription_close(sub);
    clinic_close(c);
}

/* Starts `clinic --url url --json watch --after SEQ --count 1` with stdout and stderr in files. */
static void start_watcher(const char *url, uint64_t after, char *out_path, char *err_path)
{
    int out = mkstemp(out_path), err = mkstemp(err_path);
    assert_true(out >= 0 && err >= 0);
    char after_arg[24];
    snprintf(after_arg, sizeof after_arg, "%llu", (unsigned long long)after);
    watcher = fork();
    if (watcher == 0) {
        dup2(out, 1);
        dup2(err, 2);
        unsetenv("CLINIC_EVENTS");
        execl(CLINIC_CLI_PATH, "clinic", "--url", url, "--json", "watch", "--after", after_arg,
              "--count", "1", (char *)NULL);
        _exit(127);
    }
    close(out);
    close(err);
    assert_true(watcher > 0);
}

/* Waits (bounded) until the file at path holds part; its text (malloc'd). */
static char *wait_for_text(const char *path, const char *part, int timeout_ms)
{
    char *text = NULL;
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        free(text);
        text = harness_read_file(path);
        if (text && strstr(text, part))
            return text;
        harness_sleep_ms(50);
    }
    fail_msg("%s never held \"%s\"; it holds:\n%s", path, part, text ? text : "");
    return NULL;
}

/* Waits for the watcher to end on its own, OK, having printed event seq; its stderr (malloc'd). */
static char *expect_watcher_printed(uint64_t seq, const char *out_path, const char *err_path)
{
    int status = stop_watcher(30000);
    char *out = harness_read_file(out_path), *err = harness_read_file(err_path);
    unlink(out_path);
    unlink(err_path);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("clinic watch ended with wait status %d; stdout:\n%s\nstderr:\n%s", status,
                 out ? out : "", err ? err : "");
    char needle[32];
    snprintf(needle, sizeof needle, "{\"seq\":\"%llu\"", (unsigned long long)seq);
    harness_assert_contains(out, needle);
    free(out);
    return err;
}

static void watch_with_only_the_daemon_url_prints_changes_without_a_warning(void **state)
{
    (void)state;
    char out_path[] = "/tmp/clinic-watch-out-XXXXXX", err_path[] = "/tmp/clinic-watch-err-XXXXXX";
    uint64_t seq = newest_seq() + 1;
    start_watcher(wildcard.url, seq - 1, out_path, err_path);
    book_through(wildcard.url);
    char *err = expect_watcher_printed(seq, out_path, err_path);
    if (err && strstr(err, "clinic watch:"))
        fail_msg("clinic watch warned although the events socket is in reach:\n%s", err);
    free(err);
}

static void watch_says_it_only_polls_when_the_events_port_is_out_of_reach(void **state)
{
    (void)state;
    char out_path[] = "/tmp/clinic-watch-out-XXXXXX", err_path[] = "/tmp/clinic-watch-err-XXXXXX";
    uint64_t seq = newest_seq() + 1;
    start_watcher(hidden.url, seq - 1, out_path, err_path);
    /* the event is booked only once the watch has said it polls: only polling can bring it */
    char expected[128];
    snprintf(expected, sizeof expected,
             "cannot reach the events socket at tcp://127.0.0.2:%s (reported by the daemon)",
             strrchr(hidden.events_url, ':') + 1);
    free(wait_for_text(err_path, expected, 15000));
    book_through(hidden.url);
    char *err = expect_watcher_printed(seq, out_path, err_path);
    harness_assert_contains(err, "pass --events");
    free(err);
}

static void watch_says_it_only_polls_when_the_daemon_publishes_no_events(void **state)
{
    (void)state;
    char out_path[] = "/tmp/clinic-watch-out-XXXXXX", err_path[] = "/tmp/clinic-watch-err-XXXXXX";
    uint64_t seq = newest_seq() + 1;
    start_watcher(silent.url, seq - 1, out_path, err_path);
    free(wait_for_text(err_path, "the daemon publishes no events", 15000));
    book_through(silent.url);
    free(expect_watcher_printed(seq, out_path, err_path));
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_EVENTS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_info_names_the_events_url_without_a_token),
        cmocka_unit_test(server_info_keeps_a_wildcard_host_for_the_client_to_replace),
        cmocka_unit_test(server_info_says_so_when_the_daemon_publishes_no_events),
        cmocka_unit_test(a_subscription_without_an_events_url_receives_the_daemons_events_live),
        cmocka_unit_test(a_wildcard_events_url_is_dialled_at_the_host_the_client_reached),
        cmocka_unit_test(watch_with_only_the_daemon_url_prints_changes_without_a_warning),
        cmocka_unit_test(watch_says_it_only_polls_when_the_events_port_is_out_of_reach),
        cmocka_unit_test(watch_says_it_only_polls_when_the_daemon_publishes_no_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
