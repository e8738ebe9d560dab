/* The clinic tool's clock: instants shown as local wall-clock time, date arithmetic across month
 * and year ends and leap days, range bounds that include the last day typed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "times.h"

static void instants_show_as_local_minutes(void **state)
{
    (void)state;
    char out[32];
    assert_string_equal(times_local("2026-03-29T09:00:00+02:00", out, sizeof out),
                        "2026-03-29 09:00");
    assert_string_equal(times_local("2026-11-01T01:30:00-05:00", out, sizeof out),
                        "2026-11-01 01:30");
    assert_string_equal(times_local("not a time", out, sizeof out), "not a time");
}

static void spans_within_a_day_show_clock_times_only(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(
        times_span("2026-03-29T09:00:00+02:00", "2026-03-29T10:15:00+02:00", out, sizeof out),
        "09:00-10:15");
    assert_string_equal(
        times_span("2026-03-29T23:00:00+02:00", "2026-03-30T01:00:00+02:00", out, sizeof out),
        "2026-03-29 23:00-2026-03-30 01:00");
}

static void epoch_follows_the_offset(void **state)
{
    (void)state;
    int64_t a, b;
    assert_true(times_epoch("2026-03-29T09:00:00+02:00", &a));
    assert_true(times_epoch("2026-03-29T07:00:00Z", &b));
    assert_int_equal(a, b);
    assert_int_equal(a, 1774767600);
    assert_false(times_epoch("yesterday", &a));
}

static void adding_days_crosses_months_years_and_leap_days(void **state)
{
    (void)state;
    char out[32];
    assert_true(times_add_days("2026-12-31", 1, out, sizeof out));
    assert_string_equal(out, "2027-01-01");
    assert_true(times_add_days("2028-02-28 09:00", 1, out, sizeof out));
    assert_string_equal(out, "2028-02-29 09:00");
    assert_true(times_add_days("2026-03-01", -1, out, sizeof out));
    assert_string_equal(out, "2026-02-28");
    assert_false(times_add_days("soon", 1, out, sizeof out));
}

static void only_days_of_the_calendar_are_dates(void **state)
{
    (void)state;
    assert_true(times_is_date("2026-02-28"));
    assert_true(times_is_date("2028-02-29"));
    assert_true(times_is_date("2000-02-29"));
    assert_true(times_is_date("2026-12-31 09:00"));
    assert_false(times_is_date("2026-02-29"));
    assert_false(times_is_date("1900-02-29"));
    assert_false(times_is_date("2026-02-30 10:00"));
    assert_false(times_is_date("2026-04-31"));
    assert_false(times_is_date("2026-13-01"));
    assert_false(times_is_date("2026-00-10"));
    assert_false(times_is_date("2026-01-00"));
    assert_false(times_is_date("2026-1-01"));
    assert_false(times_is_date("tomorrow"));
}

static void weekdays_are_iso(void **state)
{
    (void)state;
    assert_int_equal(times_weekday("2026-03-30"), 1); /* a Monday */
    assert_int_equal(times_weekday("2026-03-29 09:00"), 7);
    assert_string_equal(times_weekday_name(1), "Mon");
    assert_int_equal(times_weekday("x"), 0);
}

static void a_bare_end_date_includes_its_whole_day(void **state)
{
    (void)state;
    char out[40];
    times_bound("2026-04-03", true, out, sizeof out);
    assert_string_equal(out, "2026-04-04 00:00");
    times_bound("2026-03-30", false, out, sizeof out);
    assert_string_equal(out, "2026-03-30 00:00");
    times_bound("2026-03-30 14:00", true, out, sizeof out);
    assert_string_equal(out, "2026-03-30 14:00");
}

static void today_in_a_zone_is_a_date(void **state)
{
    (void)state;
    char today[11];
    assert_true(times_today("Europe/Berlin", today));
    assert_int_equal(strlen(today), 10);
    assert_int_equal(today[4], '-');
}

/* Past changes of the IANA rules: they stay what they were. */
static void second_passes_of_repeated_times_are_known(void **state)
{
    (void)state;
    /* Berlin, 2026-10-25: 03:00 CEST became 02:00 CET, so 02:00-02:59 came round twice */
    assert_false(times_second_pass("2026-10-25T02:30:00+02:00", "Europe/Berlin"));
    assert_true(times_second_pass("2026-10-25T02:30:00+01:00", "Europe/Berlin"));
    assert_true(times_second_pass("2026-10-25T02:00:00+01:00", "Europe/Berlin"));
    assert_false(times_second_pass("2026-10-25T03:00:00+01:00", "Europe/Berlin"));
    assert_false(times_second_pass("2026-10-25T01:59:00+02:00", "Europe/Berlin"));
    /* Troll goes back two hours, Lord Howe half an hour */
    assert_true(times_second_pass("2026-10-25T01:15:00+00:00", "Antarctica/Troll"));
    assert_true(times_second_pass("2026-10-25T02:45:00+00:00", "Antarctica/Troll"));
    assert_false(times_second_pass("2026-10-25T03:00:00+00:00", "Antarctica/Troll"));
    assert_true(times_second_pass("2026-04-05T01:45:00+10:30", "Australia/Lord_Howe"));
    assert_false(times_second_pass("2026-04-05T01:45:00+11:00", "Australia/Lord_Howe"));
    /* no data, no guess */
    assert_false(times_second_pass("2026-10-25T02:30:00+01:00", "Nowhere/Atlantis"));
    assert_false(times_second_pass("not a time", "Europe/Berlin"));
}

static void spans_mark_second_passes(void **state)
{
    (void)state;
    char out[64];
    bool marked = false;
    times_span_in("2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "Europe/Berlin", out,
                  sizeof out, &marked);
    assert_string_equal(out, "01:00-02:00");
    assert_false(marked);
    times_span_in("2026-10-25T02:15:00+02:00", "2026-10-25T02:30:00+01:00", "Europe/Berlin", out,
                  sizeof out, &marked);
    assert_string_equal(out, "02:15-02:30" TIMES_SECOND_PASS_MARK);
    assert_true(marked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(instants_show_as_local_minutes),
        cmocka_unit_test(spans_within_a_day_show_clock_times_only),
        cmocka_unit_test(epoch_follows_the_offset),
        cmocka_unit_test(adding_days_crosses_months_years_and_leap_days),
        cmocka_unit_test(only_days_of_the_calendar_are_dates),
        cmocka_unit_test(weekdays_are_iso),
        cmocka_unit_test(a_bare_end_date_includes_its_whole_day),
        cmocka_unit_test(today_in_a_zone_is_a_date),
        cmocka_unit_test(second_passes_of_repeated_times_are_known),
        cmocka_unit_test(spans_mark_second_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
