/* The clients' booking page in a real browser: headless Chromium driven by Selenium through
 * ChromeDriver (tests/browser/booking_page.py) against a gateway in this process that serves the
 * page (web/) and forwards to a real clinicd. The script logs in as a client, searches, books,
 * sees the booking listed, moves it and cancels it; in the second test the desk takes the time
 * first and the page must say so in plain words. What the page did is then checked through
 * `clinic` and in the database.
 * Screenshots at phone and desktop width land in the build folder (screenshots/). The clinic is
 * in UTC and searched from today, so the tests pass on any day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clinic.h"
#include "gateway.h"
#include "harness.h"
#include "status.h"
#include "web_harness.h"

extern char **environ;

#define CLIENT_EMAIL "client@page.test"
#define SCRIPT_S     180 /* one browser scenario, at most */

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static struct web_gateway web;
static long long client_user;

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "booking_page", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "UTC", 1, 2, &clinic))
        return -1;
    client_user =
        harness_create_user(db_url, CLIENT_EMAIL, "client", 0, clinic.client_ids[0], NULL);
    struct gateway_config config = {.max_body_bytes = GATEWAY_DEFAULT_MAX_BODY,
                                    .max_connections = 64,
                                    .per_address_max = 64,
                                    .logins_per_minute = 100,
                                    .web_root = CLINIC_SOURCE_DIR "/web"};
    if (client_user <= 0 || !web_gateway_start(&web, daemon_.url, &config))
        return -1;
    mkdir(CLINIC_SCREENSHOT_DIR, 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    web_gateway_stop(&web);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* Runs the browser script with extra arguments (NULL-terminated); its exit status, -1 when it
 * had to be stopped after SCRIPT_S. Its output goes to this test's. */
static int run_script(const char *const *extra)
{
    const char *argv[24] = {"/usr/bin/python3",
                            CLINIC_SOURCE_DIR "/tests/browser/booking_page.py",
                            "--url",
                            web.base,
                            "--email",
                            CLIENT_EMAIL,
                            "--password",
                            HARNESS_PASSWORD,
                            "--screenshots",
                            CLINIC_SCREENSHOT_DIR};
    size_t n = 10;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid;
    if (posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0)
        fail_msg("cannot start %s", argv[0]);
    for (int waited_ms = 0; waited_ms < SCRIPT_S * 1000; waited_ms += 100) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        struct timespec pause = {0, 100 * 1000000L};
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Log in, search, book the first free time, see it listed, move it, cancel it, fill in the
 * health history. */
static void a_client_books_and_cancels_in_the_browser(void **state)
{
    (void)state;
    assert_int_equal(run_script(NULL), 0);
    /* one appointment, booked by the client's own account, then cancelled by them */
    char by[64];
    snprintf(by, sizeof by, "user:%lld", client_user);
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM appointments WHERE client_id = %lld",
                                    clinic.client_ids[0]),
                     1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT status || ' ' || booked_by FROM appointments WHERE client_id = %lld",
             clinic.client_ids[0]);
    char *row = harness_sql(db_url, sql);
    char want[96];
    snprintf(want, sizeof want, "cancelled %s", by);
    assert_string_equal(row, want);
    free(row);
    /* and as the front desk sees it through `clinic` */
    char id[24];
    snprintf(id, sizeof id, "%lld", clinic.client_ids[0]);
    const char *const argv[] = {"--url", daemon_.url, "--json", "client-appointments", id, NULL};
    char *out = NULL;
    assert_int_equal(harness_run_cli(argv, NULL, &out, NULL), 0);
    json_t *list = json_loads(out, 0, NULL);
    json_t *appointments = json_object_get(list, "appointments");
    if (json_array_size(appointments) != 1)
        fail_msg("clinic client-appointments %s printed:\n%s", id, out);
    json_t *a = json_array_get(appointments, 0);
    assert_string_equal(json_string_value(json_object_get(a, "status")),
                        "APPOINTMENT_STATUS_CANCELLED");
    assert_string_equal(json_string_value(json_object_get(a, "booked_by")), by);
    json_decref(list);
    free(out);
    /* the health history filled in on the page: version 1, with the red flag ticked */
    snprintf(sql, sizeof sql,
             "SELECT version || ' ' || red_flags::text || ' ' || anticoagulants"
             " FROM client_intakes WHERE client_id = %lld",
             clinic.client_ids[0]);
    row = harness_sql(db_url, sql);
    assert_string_equal(row, "1 {constant_night_pain} true");
    free(row);
    /* moved once on the way */
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM events e JOIN appointments a"
                                    " ON a.id = e.appointment_id WHERE a.client_id = %lld"
                                    " AND e.topic = 'appointment.rescheduled'",
                                    clinic.client_ids[0]),
                     1);
}

/* The desk books the time the page shows before the client clicks it. */
static void a_time_taken_meanwhile_is_told_in_plain_words(void **state)
{
    (void)state;
    char today[11], week[11], other[24];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    harness_date_add(today, 7, week, sizeof week);
    snprintf(other, sizeof other, "%lld", clinic.client_ids[1]);
    /* "--staff-token=T" in one word: a token may begin with '-', which argparse would otherwise
     * take for an option of its own */
    char staff[128];
    snprintf(staff, sizeof staff, "--staff-token=%s", daemon_.admin_token);
    const char *extra[] = {"--scenario", "taken",       staff, "--other-client",
                           other,        "--first-day", today, "--last-day",
                           week,         NULL};
    assert_int_equal(run_script(extra), 0);
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM appointments WHERE client_id = %lld"
                                    " AND status = 'booked'",
                                    clinic.client_ids[0]),
                     0);
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM appointments WHERE client_id = %lld"
                                    " AND status = 'booked'",
                                    clinic.client_ids[1]),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_client_books_and_cancels_in_the_browser),
        cmocka_unit_test(a_time_taken_meanwhile_is_told_in_plain_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
