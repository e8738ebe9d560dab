/* The day sheet a front desk works from: cancelled appointments apart from the timeline, a
 * no-show never inside free time, no free gap too short for any service, time off and closures
 * with their reasons, clients' phones for the desk only, one therapist's day, the terminal's
 * width used, and the second pass of a repeated hour marked. Dates are computed from today. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char url[512];
static struct harness_clinic clinic;
static char day[11], closed_day[11];
static long long booked_id, no_show_id, cancelled_id;
static char therapist_token[64];

/* Inserts an appointment of the seeded service (60 minutes, 15 of cleanup) for therapist 0 at
 * local `clock` on `day`, in `status`. */
static long long appointment(int client, const char *clock, const char *status, const char *why)
{
    return harness_sql_id(
        url,
        "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked, status, cancel_reason)"
        " SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '1 hour',"
        " tstzrange(s, s + interval '75 minutes'), '%s', '%s'"
        " FROM (SELECT ('%s %s'::timestamp AT TIME ZONE 'Europe/Berlin') AS s) x RETURNING id",
        clinic.client_ids[client], clinic.therapist_ids[0], clinic.room_ids[0], clinic.service_id,
        clinic.location_id, status, why, day, clock);
}

static int setup(void **state)
{
    (void)state;
    snprintf(day, sizeof day, "%d-06-16", harness_next_year());
    harness_date_add(day, 1, closed_day, sizeof closed_day);
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "day_sheet", url, sizeof url) ||
        !harness_daemon_start(&daemon_, pg.dir, url, NULL, true) ||
        !harness_seed_clinic(url, "Europe/Berlin", 2, 3, &clinic))
        return -1;
    char *done = harness_sql(url, "UPDATE clients SET phone = '+49 30 1234567'");
    free(done);
    booked_id = appointment(0, "09:00", "booked", "");
    no_show_id = appointment(1, "11:00", "no_show", "");
    cancelled_id = appointment(2, "13:00", "cancelled", "flu");
    long long off = harness_sql_id(
        url,
        "INSERT INTO time_off (therapist_id, during, reason) SELECT %lld,"
        " tstzrange('%s 14:00'::timestamp AT TIME ZONE 'Europe/Berlin',"
        "           '%s 15:00'::timestamp AT TIME ZONE 'Europe/Berlin'), 'dentist' RETURNING id",
        clinic.therapist_ids[0], day, day);
    long long closure = harness_sql_id(url,
                                       "INSERT INTO closures (location_id, first_day, last_day,"
                                       " reason) VALUES (%lld, '%s', '%s', 'staff training')"
                                       " RETURNING id",
                                       clinic.location_id, closed_day, closed_day);
    if (booked_id < 0 || no_show_id < 0 || cancelled_id < 0 || off < 0 || closure < 0)
        return -1;
    if (harness_create_user(url, "tess@clinic.test", "therapist", clinic.therapist_ids[0], 0,
                            NULL) < 0 ||
        harness_login(daemon_.url, "tess@clinic.test", HARNESS_PASSWORD, therapist_token,
                      sizeof therapist_token) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static int day_sheet(const char *token, const char *date, long long therapist,
                     Clinic__V1__DaySheetResponse **out, struct clinic_error *err)
{
    clinic_client *c = harness_connect_as(daemon_.url, token);
    assert_non_null(c);
    Clinic__V1__DaySheetRequest req = CLINIC__V1__DAY_SHEET_REQUEST__INIT;
    req.location_id = clinic.location_id;
    req.date = (char *)date;
    req.therapist_id = therapist;
    int code = harness_call(c, "Scheduling/DaySheet", &req.base,
                            &clinic__v1__day_sheet_response__descriptor, out, false, NULL, err);
    clinic_close(c);
    return code;
}

static const Clinic__V1__TherapistDay *day_of(const Clinic__V1__DaySheetResponse *r,
                                              long long therapist)
{
    for (size_t i = 0; i < r->n_therapists; i++)
        if (r->therapists[i]->therapist_id == therapist)
            return r->therapists[i];
    fail_msg("therapist %lld is not on the day sheet", therapist);
    return NULL;
}

/* Fails unless start-end reads from-to on the wall clock. */
static void assert_span(const char *start, const char *end, const char *from, const char *to)
{
    if (strncmp(start + 11, from, 5) != 0 || strncmp(end + 11, to, 5) != 0)
        fail_msg("%s-%s, expected %s-%s", start, end, from, to);
}

static void assert_gap(const Clinic__V1__Gap *g, const char *from, const char *to)
{
    assert_span(g->start_time, g->end_time, from, to);
}

static void the_timeline_holds_what_happens_and_only_usable_free_time(void **state)
{
    (void)state;
    Clinic__V1__DaySheetResponse *r;
    struct clinic_error err;
    if (day_sheet(daemon_.admin_token, day, 0, &r, &err) != STATUS_OK)
        fail_msg("DaySheet: %s", err.message);
    const Clinic__V1__TherapistDay *t = day_of(r, clinic.therapist_ids[0]);
    /* the booked session and the no-show stay in the timeline; the cancelled one is apart */
    assert_int_equal(t->n_appointments, 2);
    assert_int_equal(t->appointments[0]->id, booked_id);
    assert_int_equal(t->appointments[1]->id, no_show_id);
    assert_int_equal(r->n_cancelled, 1);
    assert_int_equal(r->cancelled[0]->id, cancelled_id);
    assert_string_equal(r->cancelled[0]->cancel_reason, "flu");
    /* 10:15-11:00 is too short for the hour's massage and its cleanup; 11:00-12:15 is the
     * no-show's; the cancelled 13:00 frees its time; 14:00-15:00 is time off */
    assert_int_equal(t->n_gaps, 2);
    assert_gap(t->gaps[0], "12:15", "14:00");
    assert_gap(t->gaps[1], "15:00", "17:00");
    assert_int_equal(t->n_absences, 1);
    assert_string_equal(t->absences[0]->kind, "time off");
    assert_string_equal(t->absences[0]->reason, "dentist");
    assert_span(t->absences[0]->start_time, t->absences[0]->end_time, "14:00", "15:00");
    /* the other therapist: the whole day free */
    const Clinic__V1__TherapistDay *other = day_of(r, clinic.therapist_ids[1]);
    assert_int_equal(other->n_gaps, 1);
    assert_gap(other->gaps[0], "09:00", "17:00");
    /* the desk sees the phone to call */
    assert_string_equal(t->appointments[0]->client_phone, "+49 30 1234567");
    harness_free_message(r);
}

static void one_therapists_day_and_closures_with_their_reason(void **state)
{
    (void)state;
    Clinic__V1__DaySheetResponse *r;
    struct clinic_error err;
    if (day_sheet(daemon_.admin_token, day, clinic.therapist_ids[1], &r, &err) != STATUS_OK)
        fail_msg("DaySheet: %s", err.message);
    assert_int_equal(r->n_therapists, 1);
    assert_int_equal(r->therapists[0]->therapist_id, clinic.therapist_ids[1]);
    assert_int_equal(r->n_cancelled, 0);
    harness_free_message(r);

    if (day_sheet(daemon_.admin_token, closed_day, 0, &r, &err) != STATUS_OK)
        fail_msg("DaySheet: %s", err.message);
    assert_true(r->closed);
    assert_string_equal(r->closed_reason, "staff training");
    assert_int_equal(r->n_therapists, 0);
    harness_free_message(r);
}

static void a_therapist_sees_their_own_day_without_phones(void **state)
{
    (void)state;
    Clinic__V1__DaySheetResponse *r;
    struct clinic_error err;
    if (day_sheet(therapist_token, day, clinic.therapist_ids[0], &r, &err) != STATUS_OK)
        fail_msg("DaySheet as the therapist: %s", err.message);
    assert_int_equal(r->n_therapists, 1);
    const Clinic__V1__TherapistDay *t = day_of(r, clinic.therapist_ids[0]);
    assert_int_equal(t->n_appointments, 2);
    assert_string_equal(t->appointments[0]->client_phone, "");
    harness_free_message(r);
    /* naming no one, a therapist gets their own day, not everyone's */
    if (day_sheet(therapist_token, day, 0, &r, &err) != STATUS_OK)
        fail_msg("DaySheet as the therapist, naming no one: %s", err.message);
    assert_int_equal(r->n_therapists, 1);
    assert_int_equal(r->therapists[0]->therapist_id, clinic.therapist_ids[0]);
    assert_int_equal(r->n_cancelled, 1); /* their own cancelled session */
    harness_free_message(r);
    /* another therapist's day is not theirs to read */
    assert_int_equal(day_sheet(therapist_token, day, clinic.therapist_ids[1], &r, &err),
                     STATUS_PERMISSION_DENIED);
}

static struct harness_run cli(const char *columns, const char *date, const char *therapist)
{
    char cols[32], location[24];
    snprintf(cols, sizeof cols, "COLUMNS=%s", columns);
    snprintf(location, sizeof location, "%lld", clinic.location_id);
    const char *const env[] = {cols, NULL};
    const char *argv[] = {"--url",   daemon_.url, "day", "--location",
                          location,  "--date",    date,  therapist ? "--therapist" : NULL,
                          therapist, NULL};
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, env, &r.out, &r.err);
    return r;
}

static void assert_lines_fit(const char *text, size_t width)
{
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        if (n > width)
            fail_msg("line longer than %zu columns: %.*s", width, (int)n, line);
        line += n + (line[n] == '\n');
    }
}

static void the_sheet_uses_the_terminal_width(void **state)
{
    (void)state;
    struct harness_run r = cli("140", day, NULL);
    assert_int_equal(r.status, 0);
    /* wide: client, phone and service each have a column */
    harness_assert_contains(r.out, "CLIENT ");
    harness_assert_contains(r.out, "PHONE");
    harness_assert_contains(r.out, "SERVICE");
    harness_assert_contains(r.out, "+49 30 1234567");
    harness_assert_contains(r.out, "14:00-15:00");
    harness_assert_contains(r.out, "time off: dentist");
    harness_assert_contains(r.out, "no-show");
    harness_assert_contains(r.out, "Cancelled");
    harness_assert_contains(r.out, "flu");
    assert_null(strstr(r.out, "CLIENT: SERVICE"));
    assert_lines_fit(r.out, 140);
    harness_run_free(&r);

    r = cli("80", day, NULL);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "CLIENT: SERVICE");
    harness_assert_contains(r.out, "+49 30 1234567");
    assert_lines_fit(r.out, 80);
    harness_run_free(&r);

    r = cli("100", closed_day, NULL);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "closed: staff training");
    harness_run_free(&r);
}

/* On the day the clocks go back, a session in the second pass of the repeated hour shows marked,
 * with a note saying what the mark means. */
static void the_second_pass_of_a_repeated_hour_is_marked(void **state)
{
    (void)state;
    struct harness_dst_change back;
    assert_true(harness_dst_change(url, "Europe/Berlin", harness_next_year(), false, &back));
    char therapist[24];
    snprintf(therapist, sizeof therapist, "%lld", clinic.therapist_ids[1]);
    long long hours = harness_sql_id(url,
                                     "INSERT INTO working_hours (therapist_id, location_id,"
                                     " weekday, start_local, end_local) VALUES (%lld, %lld,"
                                     " extract(isodow FROM date '%s'), '00:00', '06:00')"
                                     " RETURNING id",
                                     clinic.therapist_ids[1], clinic.location_id, back.day);
    assert_true(hours > 0);
    /* 02:15 in the offset after the change is the second 02:15 of that night */
    long long second = harness_sql_id(
        url,
        "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked) SELECT %lld, %lld, %lld, %lld, %lld, s,"
        " s + interval '1 hour', tstzrange(s, s + interval '75 minutes')"
        " FROM (SELECT timestamptz '%s %s:15:00%s' AS s) x RETURNING id",
        clinic.client_ids[2], clinic.therapist_ids[1], clinic.room_ids[1], clinic.service_id,
        clinic.location_id, back.day, back.hour, back.offset_after);
    assert_true(second > 0);
    struct harness_run r = cli("120", back.day, therapist);
    assert_int_equal(r.status, 0);
    char marked[16];
    snprintf(marked, sizeof marked, "%s:15*-", back.hour);
    harness_assert_contains(r.out, marked);
    harness_assert_contains(r.out, "the clocks went back");
    harness_run_free(&r);
    /* an ordinary day has no marks and no note */
    r = cli("120", day, therapist);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "*"));
    harness_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_timeline_holds_what_happens_and_only_usable_free_time),
        cmocka_unit_test(one_therapists_day_and_closures_with_their_reason),
        cmocka_unit_test(a_therapist_sees_their_own_day_without_phones),
        cmocka_unit_test(the_sheet_uses_the_terminal_width),
        cmocka_unit_test(the_second_pass_of_a_repeated_hour_is_marked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
