/* The `clinic` tool's scheduling and admin commands as a new user meets them, against a live
 * daemon: a clinic set up entirely through `clinic admin ...` (a location, a room, a service, a
 * therapist with weekly hours, a client), then free slots, booking in a table and in JSON, the
 * day sheet in 80 columns with the booking and the free gaps, the life cycle (cancel, move,
 * check in, complete), agendas, update masks, paging with --all, usage errors (exit 2, naming
 * the option), rule refusals (exit 9, with the rule's sentence), --help everywhere, and the demo.
 *
 * The tests run in order and build on each other's clinic, as a front desk's day would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "status.h"

#define EXIT_USAGE 2

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char unreachable_url[64];
static char db_url[512];

/* The clinic the admin commands create, and the day the tests book on: a week ahead (UTC's
 * date; any day works, the therapist works every day). */
static char location_id[24], room_id[24], service_id[24], therapist_id[24], client_id[24];
static char day[11];
static char appointment_id[24]; /* booked at 09:00 by book_prints_the_appointment */

/* Runs `clinic --url <daemon> args...` with env overrides (may be NULL). */
static struct harness_run run_env(const char *const *env, const char *const *args)
{
    const char *argv[48] = {"--url", daemon_.url};
    int n = 2;
    for (int i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, env, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

#define CLINIC(...) run_env(NULL, (const char *const[]){__VA_ARGS__, NULL})

/* "<day> <clock>" into out. */
static const char *at(const char *clock, char *out, size_t len)
{
    snprintf(out, len, "%s %s", day, clock);
    return out;
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "cli_scheduling", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true))
        return -1;
    snprintf(unreachable_url, sizeof unreachable_url, "tcp://127.0.0.1:%d", harness_free_port());
    time_t later = time(NULL) + 7 * 86400;
    struct tm tm;
    gmtime_r(&later, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* Runs an admin create with --json and keeps the new record's id. */
static void create(char *id, size_t len, const char *const *args)
{
    const char *argv[32] = {"--json"};
    int n = 1;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct harness_run r = run_env(NULL, argv);
    if (r.status != 0)
        fail_msg("clinic %s %s %s failed (%d): %s", args[0], args[1], args[2], r.status, r.err);
    harness_json_id(r.out, id, len);
    harness_run_free(&r);
}

#define CREATE(id, ...) create((id), sizeof(id), (const char *const[]){__VA_ARGS__, NULL})

static void admin_commands_set_up_a_clinic(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("admin", "location", "create", "--name", "Test Clinic",
                                  "--time-zone", "Europe/Berlin");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Created location");
    harness_assert_contains(r.out, "Test Clinic");
    harness_assert_contains(r.out, "Europe/Berlin");
    harness_run_free(&r);
    r = CLINIC("--json", "admin", "location", "list");
    assert_int_equal(r.status, 0);
    harness_json_id(r.out, location_id, sizeof location_id);
    harness_run_free(&r);

    CREATE(room_id, "admin", "room", "create", "--location", location_id, "--name", "Room A",
           "--features", "table,shower");
    CREATE(service_id, "admin", "service", "create", "--name", "Back massage", "--duration", "60",
           "--buffer-after", "15", "--price", "65.50", "--features", "table");
    CREATE(therapist_id, "admin", "therapist", "create", "--name", "Tess Therapist", "--email",
           "tess@example.org", "--services", service_id);
    CREATE(client_id, "admin", "client", "create", "--name", "Carl Client", "--email",
           "carl@example.org", "--date-of-birth", "1970-01-31");
    /* Carl's paperwork, as the desk does it before a first session: health history, consent */
    r = CLINIC("intake", "record", client_id, "--conditions", "stiff lower back");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Recorded version 1");
    harness_run_free(&r);
    r = CLINIC("consent", "give", client_id, "--kind", "general", "--how", "signed form");
    assert_int_equal(r.status, 0);
    harness_run_free(&r);

    r = CLINIC("admin", "hours", "add", "--therapist", therapist_id, "--location", location_id,
               "--weekday", "mon-sun", "--from", "09:00", "--to", "17:00");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Mon");
    harness_assert_contains(r.out, "Sun");
    harness_run_free(&r);
    r = CLINIC("admin", "hours", "list", "--therapist", therapist_id);
    assert_int_equal(r.status, 0);
    for (const char *d = "Mon\0Tue\0Wed\0Thu\0Fri\0Sat\0Sun\0"; *d; d += 4)
        harness_assert_contains(r.out, d);
    harness_assert_contains(r.out, "09:00");
    harness_run_free(&r);

    r = CLINIC("admin", "service", "get", service_id);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "65.50");
    harness_assert_contains(r.out, "60 minutes");
    harness_run_free(&r);
    r = CLINIC("admin", "room", "list", "--location", location_id);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "table, shower");
    harness_run_free(&r);
}

static void location_update_changes_only_the_options_given(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("admin", "location", "update", location_id, "--slot-step", "30");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Updated location");
    harness_assert_contains(r.out, "30 minutes");
    harness_run_free(&r);

    /* the mask named slot_step_minutes only: the name and the zone stay */
    r = CLINIC("--json", "admin", "location", "get", location_id);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"slot_step_minutes\":30");
    harness_assert_contains(r.out, "\"name\":\"Test Clinic\"");
    harness_assert_contains(r.out, "\"time_zone\":\"Europe/Berlin\"");
    harness_run_free(&r);

    r = CLINIC("admin", "location", "update", location_id, "--slot-step=15");
    assert_int_equal(r.status, 0);
    harness_run_free(&r);

    /* no field at all is a usage error, before any call */
    r = CLINIC("admin", "location", "update", location_id);
    assert_int_equal(r.status, EXIT_USAGE);
    harness_assert_contains(r.err, "field");
    harness_run_free(&r);
}

static void slots_lists_free_times_of_the_day(void **state)
{
    (void)state;
    char from[32], to[32], first[32];
    struct harness_run r =
        CLINIC("slots", "--service", service_id, "--location", location_id, "--from",
               at("09:00", from, sizeof from), "--to", at("11:00", to, sizeof to));
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "START");
    harness_assert_contains(r.out, "THERAPIST");
    harness_assert_contains(r.out, at("09:00", first, sizeof first));
    harness_assert_contains(r.out, "10:00"); /* the first slot's end, on the same day */
    harness_assert_contains(r.out, "Tess Therapist");
    harness_assert_contains(r.out, "Room A");
    assert_null(strstr(r.out, "T09:00:00")); /* local time, not RFC 3339 */
    harness_run_free(&r);

    /* a bare day means the whole day; the one location is the default */
    r = CLINIC("slots", "--service", service_id, "--from", day, "--to", day, "--all");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, at("15:00", first, sizeof first));
    assert_string_equal(r.err, "");
    harness_run_free(&r);
}

static void book_prints_the_appointment(void **state)
{
    (void)state;
    char start[32];
    struct harness_run r =
        CLINIC("book", "--client", client_id, "--service", service_id, "--location", location_id,
               "--start", at("09:00", start, sizeof start));
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Booked appointment");
    harness_assert_contains(r.out, day);
    harness_assert_contains(r.out, "09:00-10:00");
    harness_assert_contains(r.out, "Europe/Berlin");
    harness_assert_contains(r.out, "Carl Client");
    harness_assert_contains(r.out, "Tess Therapist");
    harness_assert_contains(r.out, "Room A");
    harness_assert_contains(r.out, "Back massage");
    harness_assert_contains(r.out, "booked");
    snprintf(appointment_id, sizeof appointment_id, "%lld",
             strtoll(r.out + strlen("Booked appointment "), NULL, 10));
    assert_true(strtoll(appointment_id, NULL, 10) > 0);
    harness_run_free(&r);
}

static void json_book_prints_one_document_with_the_id(void **state)
{
    (void)state;
    char start[32], id[24];
    struct harness_run r = CLINIC("--json", "book", "--client", client_id, "--service", service_id,
                                  "--start", at("11:00", start, sizeof start));
    assert_int_equal(r.status, 0);
    size_t len = strlen(r.out);
    /* one JSON object on one line */
    assert_true(len > 2 && r.out[0] == '{' && r.out[len - 2] == '}');
    assert_int_equal(strcspn(r.out, "\n"), len - 1);
    harness_json_id(r.out, id, sizeof id);
    harness_assert_contains(r.out, "\"start_time\":\"");
    harness_assert_contains(r.out, "T11:00:00+0"); /* RFC 3339 with Berlin's offset */
    harness_assert_contains(r.out, "\"status\":\"APPOINTMENT_STATUS_BOOKED\"");
    harness_run_free(&r);

    r = CLINIC("--json", "appointment", id);
    assert_int_equal(r.status, 0);
    char expected[48];
    snprintf(expected, sizeof expected, "\"id\":\"%s\"", id);
    harness_assert_contains(r.out, expected);
    harness_run_free(&r);
}

static void day_shows_bookings_and_free_gaps_in_80_columns(void **state)
{
    (void)state;
    const char *const env[] = {"COLUMNS=80", NULL};
    struct harness_run r =
        run_env(env, (const char *const[]){"day", "--location", location_id, "--date", day, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Test Clinic");
    harness_assert_contains(r.out, day);
    harness_assert_contains(r.out, "Europe/Berlin");
    harness_assert_contains(r.out, "Tess Therapist");
    harness_assert_contains(r.out, "works 09:00-17:00");
    harness_assert_contains(r.out, "09:00-10:00");
    harness_assert_contains(r.out, "Carl Client: Back massage");
    /* 10:15-11:00 is free after the cleanup, but too short for the hour's massage */
    assert_null(strstr(r.out, "10:15-11:00"));
    harness_assert_contains(r.out, "12:15-17:00");
    harness_assert_contains(r.out, "free");
    for (const char *line = r.out; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > 80)
            fail_msg("line longer than 80 columns: %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    harness_run_free(&r);

    r = CLINIC("--json", "day", "--location", location_id, "--date", day);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"location_name\":\"Test Clinic\"");
    harness_assert_contains(r.out, "\"gaps\":[");
    harness_run_free(&r);

    /* without --date: today at the location */
    r = CLINIC("day");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Test Clinic");
    harness_run_free(&r);
}

static void agenda_and_client_appointments_list_the_bookings(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("agenda", therapist_id, "--from", day, "--to", day);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Carl Client");
    harness_assert_contains(r.out, "09:00-10:00");
    harness_assert_contains(r.out, "11:00-12:00");
    harness_run_free(&r);

    /* the README's spelling: the therapist by name, as book and slots take it */
    r = CLINIC("agenda", "--therapist", therapist_id, "--from", day, "--to", day);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Carl Client");
    harness_assert_contains(r.out, "09:00-10:00");
    harness_run_free(&r);

    /* the admin has no therapist of their own: the daemon asks for one, by the flag */
    r = CLINIC("agenda", "--from", day);
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--therapist");
    assert_null(strstr(r.err, "therapist_id"));
    harness_run_free(&r);

    r = CLINIC("client-appointments", "--client", client_id);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, appointment_id);
    harness_run_free(&r);

    r = CLINIC("client-appointments", client_id);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Tess Therapist");
    harness_assert_contains(r.out, appointment_id);
    harness_run_free(&r);
}

static void life_cycle_moves_and_refuses_what_has_not_happened(void **state)
{
    (void)state;
    char start[32], id[24];
    struct harness_run r = CLINIC("--json", "book", "--client", client_id, "--service", service_id,
                                  "--start", at("13:00", start, sizeof start));
    assert_int_equal(r.status, 0);
    harness_json_id(r.out, id, sizeof id);
    harness_run_free(&r);

    r = CLINIC("reschedule", id, "--start", at("14:30", start, sizeof start));
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Moved appointment");
    harness_assert_contains(r.out, "14:30-15:30");
    harness_run_free(&r);

    /* days ahead: too early to check in (the day's own path is test_life_cycle.c's) */
    r = CLINIC("check-in", id);
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "check-in opens");
    harness_run_free(&r);
    /* an undo needs its reason */
    r = CLINIC("undo", id);
    assert_int_equal(r.status, 2);
    harness_assert_contains(r.err, "--reason");
    harness_run_free(&r);
    r = CLINIC("undo", id, "--reason", "nothing happened yet");
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "cannot be undone");
    harness_run_free(&r);

    /* the appointment lies a week ahead: too early to call it a no-show */
    r = CLINIC("no-show", appointment_id);
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "has not started yet");
    harness_run_free(&r);
}

static void cancel_frees_the_time_and_a_second_cancel_is_refused(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("cancel", appointment_id, "--reason", "flu");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Cancelled appointment");
    harness_assert_contains(r.out, "cancelled");
    harness_assert_contains(r.out, "flu");
    harness_run_free(&r);

    char from[32], to[32], slot[32];
    r = CLINIC("slots", "--service", service_id, "--from", at("09:00", from, sizeof from), "--to",
               at("10:00", to, sizeof to));
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, at("09:00", slot, sizeof slot));
    harness_run_free(&r);

    /* a rule refusal: exit 9 (FAILED_PRECONDITION) with the rule's sentence */
    r = CLINIC("cancel", appointment_id);
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "FAILED_PRECONDITION");
    harness_assert_contains(r.err, "is cancelled, so it cannot be cancelled");
    assert_string_equal(r.out, "");
    harness_run_free(&r);
}

static void booking_outside_working_hours_exits_9_with_the_rule(void **state)
{
    (void)state;
    char start[32];
    struct harness_run r = CLINIC("book", "--client", client_id, "--service", service_id, "--start",
                                  at("06:00", start, sizeof start));
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "working hours");
    harness_run_free(&r);
}

/* The daemon's field violations name the options typed, once each, never the request fields. */
static void refused_values_name_the_options_typed(void **state)
{
    (void)state;
    struct harness_run r =
        CLINIC("admin", "hours", "add", "--therapist", therapist_id, "--location", location_id,
               "--weekday", "mon", "--from", "17:00", "--to", "09:00");
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "clinic admin hours add: INVALID_ARGUMENT: --to must be after "
                                   "--from; hours past midnight are two rules");
    assert_null(strstr(r.err, "end_local"));
    assert_null(strstr(r.err, "start_local"));
    assert_null(strstr(strstr(r.err, "must be after") + 1, "must be after"));
    harness_run_free(&r);

    char from[32], to[32];
    r = CLINIC("slots", "--service", service_id, "--from", at("12:00", from, sizeof from), "--to",
               at("10:00", to, sizeof to));
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--to must be after --from");
    harness_run_free(&r);
}

static void usage_errors_exit_2_and_name_the_option(void **state)
{
    (void)state;
    /* an unreachable daemon: usage errors are found before any call */
    const char *const *const cases[] = {
        (const char *const[]){"book", "--client", "abc", "--service", "1", "--start",
                              "2026-03-29 09:00", NULL},
        (const char *const[]){"slots", "--service", "1", "--from", "tomorrow", NULL},
        (const char *const[]){"book-course", "--client", "1", "--service", "1", "--start",
                              "2026-03-29 09:00", "--count", "4", "--unit", "months", NULL},
        (const char *const[]){"cancel", NULL},
        (const char *const[]){"book", "--client", "1", "--service", "1", NULL},
        (const char *const[]){"admin", "hours", "add", "--therapist", "1", "--location", "1",
                              "--weekday", "funday", "--from", "09:00", "--to", "17:00", NULL},
        (const char *const[]){"admin", "location", "update", "1", "--slot-step", "-5", NULL},
        (const char *const[]){"day", "--date", "29.03.2026", NULL},
        (const char *const[]){"cancel", "1", "--frobnicate", NULL},
        /* a day that does not exist is the same mistake as an hour that does not */
        (const char *const[]){"book", "--client", "1", "--service", "1", "--start",
                              "2026-02-30 10:00", NULL},
        (const char *const[]){"book", "--client", "1", "--service", "1", "--start",
                              "2026-03-29 25:00", NULL},
        (const char *const[]){"day", "--date", "2026-04-31", NULL},
        (const char *const[]){"agenda", "1", "--to", "2026-02-29", NULL},
    };
    const char *const named[] = {"--client",  "--from",      "--unit", "ID",           "--start",
                                 "--weekday", "--slot-step", "--date", "--frobnicate", "--start",
                                 "--start",   "--date",      "--to"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[32] = {"--url", unreachable_url};
        int n = 2;
        for (int j = 0; cases[i][j]; j++)
            argv[n++] = cases[i][j];
        argv[n] = NULL;
        struct harness_run r = {0};
        r.status = harness_run_cli(argv, NULL, &r.out, &r.err);
        if (r.status != EXIT_USAGE)
            fail_msg("case %zu: exit %d, stderr %s", i, r.status, r.err);
        harness_assert_contains(r.err, named[i]);
        harness_assert_contains(r.err, "--help");
        assert_string_equal(r.out, "");
        harness_run_free(&r);
    }
}

static void every_command_answers_help_without_a_daemon(void **state)
{
    (void)state;
    static const char *const commands[][4] = {
        {"slots"},
        {"book"},
        {"book-course"},
        {"course"},
        {"course", "show"},
        {"course", "cancel"},
        {"reschedule"},
        {"cancel"},
        {"check-in"},
        {"complete"},
        {"no-show"},
        {"undo"},
        {"appointment"},
        {"day"},
        {"agenda"},
        {"client-appointments"},
        {"demo"},
        {"demo", "load"},
        {"admin"},
        {"admin", "location"},
        {"admin", "location", "create"},
        {"admin", "location", "update"},
        {"admin", "room", "list"},
        {"admin", "service", "create"},
        {"admin", "therapist", "archive"},
        {"admin", "hours", "add"},
        {"admin", "time-off", "add"},
        {"admin", "closure", "delete"},
        {"admin", "client", "get"},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *argv[8] = {"--url", unreachable_url};
        int n = 2;
        for (int j = 0; j < 4 && commands[i][j]; j++)
            argv[n++] = commands[i][j];
        argv[n++] = "--help";
        argv[n] = NULL;
        struct harness_run r = {0};
        r.status = harness_run_cli(argv, NULL, &r.out, &r.err);
        if (r.status != 0 || !strstr(r.out, "usage: clinic"))
            fail_msg("%s --help: exit %d\n%s%s", commands[i][0], r.status, r.out, r.err);
        assert_string_equal(r.err, "");
        harness_run_free(&r);
    }

    /* generated from the option table: every option, its value and the field it changes */
    struct harness_run r = CLINIC("admin", "location", "update", "--help");
    harness_assert_contains(r.out, "admin location update ID");
    harness_assert_contains(r.out, "--slot-step MINUTES");
    harness_assert_contains(r.out, "--time-zone ZONE");
    harness_assert_contains(r.out, "--check-in-opens MINUTES");
    harness_run_free(&r);
    r = CLINIC("book-course", "--help");
    harness_assert_contains(r.out, "--skip-blocked");
    harness_run_free(&r);
    r = CLINIC("course", "cancel", "--help");
    harness_assert_contains(r.out, "course cancel ID");
    harness_assert_contains(r.out, "--reason");
    harness_run_free(&r);

    r = CLINIC("--help");
    assert_int_equal(r.status, 0);
    for (const char *c = "slots\0book\0book-course\0reschedule\0cancel\0check-in\0complete\0"
                         "no-show\0undo\0day\0agenda\0client-appointments\0appointment\0demo load\0"
                         "admin ENTITY VERB\0location\0therapist\0hours\0time-off\0closure\0";
         *c; c += strlen(c) + 1)
        harness_assert_contains(r.out, c);
    harness_run_free(&r);
}

static void lists_show_one_page_or_all_of_them(void **state)
{
    (void)state;
    char id[24];
    CREATE(id, "admin", "client", "create", "--name", "Dora Second");
    CREATE(id, "admin", "client", "create", "--name", "Emil Third", "--phone", "+49 30 1");

    struct harness_run r = CLINIC("admin", "client", "list", "--page-size", "2");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Carl Client");
    assert_null(strstr(r.out, "Emil Third"));
    harness_assert_contains(r.err, "--page-token");
    harness_run_free(&r);

    r = CLINIC("admin", "client", "list", "--page-size", "2", "--all");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Carl Client");
    harness_assert_contains(r.out, "Dora Second");
    harness_assert_contains(r.out, "Emil Third");
    assert_string_equal(r.err, "");
    harness_run_free(&r);

    /* --json --all: one reply holding every page's items */
    r = CLINIC("--json", "admin", "client", "list", "--page-size", "1", "--all");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"name\":\"Carl Client\"");
    harness_assert_contains(r.out, "\"name\":\"Emil Third\"");
    harness_assert_contains(r.out, "\"next_page_token\":\"\"");
    assert_int_equal(strcspn(r.out, "\n"), strlen(r.out) - 1);
    harness_run_free(&r);

    r = CLINIC("admin", "client", "list", "--query", "emil");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Emil Third");
    assert_null(strstr(r.out, "Carl Client"));
    harness_run_free(&r);
}

static void demo_load_goes_into_a_set_up_clinic_only_when_forced(void **state)
{
    (void)state;
    /* the clinic set up above is not empty: the demo would mix with it */
    struct harness_run r = CLINIC("demo", "load");
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "already holds 1 location(s)");
    harness_assert_contains(r.err, "--force");
    harness_run_free(&r);

    r = CLINIC("demo", "load", "--force");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Loaded the demo clinic");
    harness_run_free(&r);

    r = CLINIC("demo", "load", "--force");
    assert_int_equal(r.status, STATUS_ALREADY_EXISTS);
    harness_assert_contains(r.err, "already");
    harness_run_free(&r);

    /* two locations now: the commands that default to the only one ask for --location */
    r = CLINIC("day");
    assert_int_equal(r.status, EXIT_USAGE);
    harness_assert_contains(r.err, "--location");
    harness_run_free(&r);
}

/* Logs in a user linked to the clinic's client (or therapist) and writes "CLINIC_TOKEN=..." into
 * env_token, for run_env. */
static void log_in_as(const char *email, const char *role, const char *therapist,
                      const char *client, char *env_token, size_t len)
{
    char token[64];
    assert_true(harness_create_user(db_url, email, role, strtoll(therapist, NULL, 10),
                                    strtoll(client, NULL, 10), NULL) > 0);
    assert_int_equal(harness_login(daemon_.url, email, NULL, token, sizeof token), STATUS_OK);
    snprintf(env_token, len, "CLINIC_TOKEN=%s", token);
}

/* "Me" by default: a client books and lists without typing their client id, a therapist's agenda
 * is their own, whoami shows the ids; the front desk still has to say who. */
static void clients_and_therapists_need_not_name_themselves(void **state)
{
    (void)state;
    char client_env[128], therapist_env[128], start[32], expected[64];
    log_in_as("carl@clinic.test", "client", "0", client_id, client_env, sizeof client_env);
    log_in_as("tess@clinic.test", "therapist", therapist_id, "0", therapist_env,
              sizeof therapist_env);
    const char *const as_client[] = {client_env, NULL}, *const as_therapist[] = {therapist_env,
                                                                                 NULL};

    struct harness_run r = run_env(as_client, (const char *const[]){"whoami", NULL});
    assert_int_equal(r.status, 0);
    snprintf(expected, sizeof expected, "client %s", client_id);
    harness_assert_contains(r.out, expected);
    harness_run_free(&r);
    r = run_env(as_client, (const char *const[]){"--json", "whoami", NULL});
    assert_int_equal(r.status, 0);
    snprintf(expected, sizeof expected, "\"client_id\":\"%s\"", client_id);
    harness_assert_contains(r.out, expected);
    harness_assert_contains(r.out, "\"role\":\"ROLE_CLIENT\"");
    harness_run_free(&r);

    r = run_env(as_client, (const char *const[]){"book", "--service", service_id, "--start",
                                                 at("13:00", start, sizeof start), NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Carl Client");
    harness_assert_contains(r.out, "13:00-14:00");
    char own[24];
    snprintf(own, sizeof own, "%lld", strtoll(r.out + strlen("Booked appointment "), NULL, 10));
    harness_run_free(&r);

    char next_day[11], course_start[32];
    harness_date_add(day, 1, next_day, sizeof next_day);
    snprintf(course_start, sizeof course_start, "%s 13:00", next_day);
    r = run_env(as_client,
                (const char *const[]){"book-course", "--service", service_id, "--start",
                                      course_start, "--count", "2", "--unit", "days", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "2 sessions of Back massage for Carl Client");
    harness_run_free(&r);

    r = run_env(as_client, (const char *const[]){"client-appointments", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, own);
    harness_assert_contains(r.out, appointment_id);
    harness_run_free(&r);

    r = run_env(as_therapist, (const char *const[]){"whoami", NULL});
    assert_int_equal(r.status, 0);
    snprintf(expected, sizeof expected, "therapist %s", therapist_id);
    harness_assert_contains(r.out, expected);
    harness_run_free(&r);
    r = run_env(as_therapist, (const char *const[]){"agenda", "--from", day, "--to", day, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Carl Client");
    harness_assert_contains(r.out, "13:00-14:00");
    harness_run_free(&r);

    /* the harness's admin has no client of their own: the daemon asks for --client */
    r = CLINIC("book", "--service", service_id, "--start", at("15:00", start, sizeof start));
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--client");
    assert_null(strstr(r.err, "client_id"));
    harness_run_free(&r);
    r = CLINIC("client-appointments");
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--client");
    assert_null(strstr(r.err, "client_id"));
    harness_run_free(&r);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    unsetenv("COLUMNS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admin_commands_set_up_a_clinic),
        cmocka_unit_test(location_update_changes_only_the_options_given),
        cmocka_unit_test(slots_lists_free_times_of_the_day),
        cmocka_unit_test(book_prints_the_appointment),
        cmocka_unit_test(json_book_prints_one_document_with_the_id),
        cmocka_unit_test(day_shows_bookings_and_free_gaps_in_80_columns),
        cmocka_unit_test(agenda_and_client_appointments_list_the_bookings),
        cmocka_unit_test(life_cycle_moves_and_refuses_what_has_not_happened),
        cmocka_unit_test(cancel_frees_the_time_and_a_second_cancel_is_refused),
        cmocka_unit_test(booking_outside_working_hours_exits_9_with_the_rule),
        cmocka_unit_test(refused_values_name_the_options_typed),
        cmocka_unit_test(usage_errors_exit_2_and_name_the_option),
        cmocka_unit_test(every_command_answers_help_without_a_daemon),
        cmocka_unit_test(lists_show_one_page_or_all_of_them),
        cmocka_unit_test(clients_and_therapists_need_not_name_themselves),
        cmocka_unit_test(demo_load_goes_into_a_set_up_clinic_only_when_forced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
