/* Daylight-saving changes, in two clinics of one database (Europe/Berlin and America/New_York):
 * a 09:00-17:00 rule stays 09:00-17:00 local on the days the clocks go forward and back (28
 * starts per therapist, with the day's offset); a round-the-clock rule offers no start inside
 * the skipped hour and never the same instant twice in the repeated one; a weekly course keeps
 * its local time while its UTC offset changes; a local time that does not exist is refused and
 * one that exists twice is read as the first. Everything happens in the year after the current
 * one, on the days, offsets and hours of that year's clock changes as PostgreSQL's zone database
 * (the daemon's) knows them, so the test passes whatever day it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 20000
#define SVC             "/clinic.v1.Scheduling/"
#define BERLIN          "Europe/Berlin"
#define NEW_YORK        "America/New_York"
#define DAY_SECONDS     86400

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];

/* A seeded clinic and, at its location, a service of its own performed by two therapists who
 * work 00:00-24:00 every day: slot lists are read for `owl`, bookings go to `lark`, so that no
 * test's bookings change another test's slots (two rooms: one stays free). `forward` and `back`
 * are the zone's clock changes in the year the tests book in, read once in setup. */
struct site {
    const char *zone;
    struct harness_clinic c;
    int64_t owl;
    int64_t lark;
    int64_t owl_service;
    struct harness_dst_change forward;
    struct harness_dst_change back;
};
static struct site berlin = {.zone = BERLIN}, new_york = {.zone = NEW_YORK};

/* --- helpers --- */

static void free_msg(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

static int call(const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *out_type, void *out, bool mutating,
                struct clinic_error *err)
{
    char name[128];
    snprintf(name, sizeof name, SVC "%s", method);
    struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS, .mutating = mutating};
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, name, req, out_type, &resp, &opts, err);
    *(ProtobufCMessage **)out = resp;
    return code;
}

static void assert_violation_on(int code, const struct clinic_error *err, const char *field)
{
    if (code != STATUS_INVALID_ARGUMENT)
        fail_msg("expected INVALID_ARGUMENT on %s, got %d: %s", field, code,
                 code ? err->message : "OK");
    for (size_t i = 0; i < err->n_violations; i++)
        if (strcmp(err->violations[i].field, field) == 0)
            return;
    fail_msg("no violation on %s; message: %s", field, err->message);
}

/* The instant of "2027-03-28T09:00:00+02:00" in seconds since the epoch (fails the test on any
 * other shape). glibc's strptime reads the offset into tm_gmtoff, which timegm ignores and
 * then resets, so it is read first. */
static int64_t epoch_of(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S%z", &tm);
    if (!end || *end)
        fail_msg("\"%s\" is not RFC 3339 with an offset", s);
    int64_t offset = tm.tm_gmtoff;
    return (int64_t)timegm(&tm) - offset;
}

/* Everything FindSlots offers for service (and therapist, 0: anyone) from..to, in one page. */
static Clinic__V1__FindSlotsResponse *slots(const struct site *s, int64_t service,
                                            int64_t therapist, const char *from, const char *to)
{
    Clinic__V1__FindSlotsRequest req = CLINIC__V1__FIND_SLOTS_REQUEST__INIT;
    req.service_id = service;
    req.location_id = s->c.location_id;
    req.from = (char *)from;
    req.to = (char *)to;
    req.therapist_id = therapist;
    req.page_size = 500;
    struct clinic_error err;
    Clinic__V1__FindSlotsResponse *r;
    int code =
        call("FindSlots", &req.base, &clinic__v1__find_slots_response__descriptor, &r, false, &err);
    if (code != STATUS_OK)
        fail_msg("FindSlots %s %s..%s: %d %s", s->zone, from, to, code, err.message);
    assert_string_equal(r->next_page_token, "");
    assert_string_equal(r->time_zone, s->zone);
    return r;
}

static int book(const struct site *s, int64_t service, int64_t client_id, int64_t therapist,
                const char *start, Clinic__V1__Appointment **out, struct clinic_error *err)
{
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = client_id;
    req.service_id = service;
    req.location_id = s->c.location_id;
    req.start_time = (char *)start;
    req.therapist_id = therapist;
    return call("Book", &req.base, &clinic__v1__appointment__descriptor, out, true, err);
}

/* Asserts that no two slots share an instant and that they come in 15-minute steps of real
 * time, whatever the wall clock does. */
static void assert_distinct_quarter_hours(const Clinic__V1__FindSlotsResponse *r)
{
    for (size_t i = 1; i < r->n_slots; i++) {
        int64_t prev = epoch_of(r->slots[i - 1]->start_time),
                here = epoch_of(r->slots[i]->start_time);
        if (here - prev != 900)
            fail_msg("%s follows %s: %lld s apart, not 900", r->slots[i]->start_time,
                     r->slots[i - 1]->start_time, (long long)(here - prev));
    }
}

/* The hour of a change ("02") as a number. */
static int hour_of(const struct harness_dst_change *change)
{
    return (int)strtol(change->hour, NULL, 10);
}

/* --- set-up --- */

static bool seed_site(struct site *s)
{
    char sql[1024];
    if (!harness_seed_clinic(db_url, s->zone, 2, 8, &s->c))
        return false;
    snprintf(sql, sizeof sql,
             "WITH s AS (INSERT INTO services (name, duration_minutes, required_features)"
             " VALUES ('Round the clock %lld', 60, '{table}') RETURNING id),"
             " t AS (INSERT INTO therapists (name, email) VALUES ('Night Owl',"
             " 'owl.%lld@example.org'), ('Early Lark', 'lark.%lld@example.org') RETURNING id),"
             " ts AS (INSERT INTO therapist_services SELECT t.id, s.id FROM t, s),"
             " h AS (INSERT INTO working_hours (therapist_id, location_id, weekday, start_local,"
             " end_local) SELECT t.id, %lld, d, '00:00', '24:00' FROM t, generate_series(1, 7) d)"
             " SELECT s.id || ' ' || min(t.id) || ' ' || max(t.id) FROM s, t GROUP BY s.id",
             s->c.location_id, s->c.location_id, s->c.location_id, s->c.location_id);
    char *ids = harness_sql(db_url, sql);
    if (!ids)
        return false;
    char *end, *end2;
    s->owl_service = strtoll(ids, &end, 10);
    s->owl = strtoll(end, &end2, 10);
    s->lark = strtoll(end2, NULL, 10);
    free(ids);
    return s->owl_service > 0 && s->owl > 0 && s->lark > s->owl;
}

/* Reads the site's two clock changes in `year`. The tests assume what holds in both zones: each
 * change moves the clocks by one hour, and the hour it skips or repeats lies between 01:00 and
 * 09:00 local, so that the day starts at its old offset and its working day (09:00-17:00) lies
 * wholly at its new one. */
static bool read_changes(struct site *s, int year)
{
    if (!harness_dst_change(db_url, s->zone, year, true, &s->forward) ||
        !harness_dst_change(db_url, s->zone, year, false, &s->back)) {
        print_error("%s: no clock change in %d\n", s->zone, year);
        return false;
    }
    const struct harness_dst_change *changes[] = {&s->forward, &s->back};
    for (size_t i = 0; i < 2; i++) {
        const struct harness_dst_change *c = changes[i];
        print_message("%s, %s: %s %s:00-%s:59 local, %s -> %s\n", s->zone, c->day,
                      i == 0 ? "skips" : "repeats", c->hour, c->hour, c->offset_before,
                      c->offset_after);
        if (hour_of(c) < 1 || hour_of(c) > 8) {
            print_error("%s, %s: the hour %s:00 lies outside 01:00-09:00\n", s->zone, c->day,
                        c->hour);
            return false;
        }
    }
    return true;
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "dst", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) || !seed_site(&berlin) ||
        !seed_site(&new_york) || !read_changes(&berlin, harness_next_year()) ||
        !read_changes(&new_york, harness_next_year()))
        return -1;
    struct clinic_error e;
    client = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &e);
    return client ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(client);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* --- 09:00-17:00 on the transition days --- */

/* The seeded 60-minute service (15 minutes of cleanup) on the day of `change`: 09:00..15:45
 * local at the offset after the change (which lies before 09:00), 28 starts for each of the two
 * therapists, no instant twice. */
static void check_nine_to_five(const struct site *s, const struct harness_dst_change *change)
{
    const char *day = change->day, *offset = change->offset_after;
    char from[32], to[32];
    snprintf(from, sizeof from, "%s 00:00", day);
    snprintf(to, sizeof to, "%s 00:00", change->next_day);
    Clinic__V1__FindSlotsResponse *r = slots(s, s->c.service_id, 0, from, to);
    for (int t = 0; t < 2; t++) {
        int n = 0;
        int64_t prev = 0;
        for (size_t i = 0; i < r->n_slots; i++) {
            const Clinic__V1__Slot *slot = r->slots[i];
            if (slot->therapist_id != s->c.therapist_ids[t])
                continue;
            char want[64], want_end[64];
            int minute = 9 * 60 + 15 * n;
            snprintf(want, sizeof want, "%sT%02d:%02d:00%s", day, minute / 60, minute % 60, offset);
            snprintf(want_end, sizeof want_end, "%sT%02d:%02d:00%s", day, minute / 60 + 1,
                     minute % 60, offset);
            assert_string_equal(slot->start_time, want);
            assert_string_equal(slot->end_time, want_end);
            int64_t at = epoch_of(slot->start_time);
            assert_true(n == 0 || at == prev + 900); /* never the same instant twice */
            prev = at;
            n++;
        }
        if (n != 28)
            fail_msg("%s %s: therapist %lld has %d starts, not 28", s->zone, day,
                     (long long)s->c.therapist_ids[t], n);
    }
    assert_int_equal(r->n_slots, 56);
    free_msg(r);
}

static void spring_forward_in_berlin_keeps_nine_to_five_local(void **state)
{
    (void)state;
    check_nine_to_five(&berlin, &berlin.forward);
}

static void fall_back_in_berlin_keeps_nine_to_five_local(void **state)
{
    (void)state;
    check_nine_to_five(&berlin, &berlin.back);
}

static void spring_forward_in_new_york_keeps_nine_to_five_local(void **state)
{
    (void)state;
    check_nine_to_five(&new_york, &new_york.forward);
}

static void fall_back_in_new_york_keeps_nine_to_five_local(void **state)
{
    (void)state;
    check_nine_to_five(&new_york, &new_york.back);
}

/* --- 00:00-24:00 on the transition days --- */

/* Index of the slot starting at `start`, or fails. */
static size_t slot_at(const Clinic__V1__FindSlotsResponse *r, const char *start)
{
    for (size_t i = 0; i < r->n_slots; i++)
        if (strcmp(r->slots[i]->start_time, start) == 0)
            return i;
    fail_msg("no slot at %s", start);
    return 0;
}

/* A 23-hour day: 92 starts, none in the skipped hour (local 02:xx in both zones), the quarter
 * before the jump (01:45) followed by the hour after it (03:00). */
static void check_spring_forward_round_the_clock(const struct site *s,
                                                 const struct harness_dst_change *change)
{
    const char *day = change->day, *before = change->offset_before, *after = change->offset_after;
    char from[32], to[32], first[64], last[64], before_jump[64], after_jump[64];
    snprintf(from, sizeof from, "%s 00:00", day);
    snprintf(to, sizeof to, "%s 00:00", change->next_day);
    Clinic__V1__FindSlotsResponse *r = slots(s, s->owl_service, s->owl, from, to);
    for (size_t i = 0; i < r->n_slots; i++) {
        const char *start = r->slots[i]->start_time;
        assert_int_equal(r->slots[i]->therapist_id, s->owl);
        assert_true(strncmp(start, day, 10) == 0);
        if (strncmp(start + 11, change->hour, 2) == 0)
            fail_msg("%s: %s lies in the hour that does not exist", s->zone, start);
    }
    assert_int_equal(r->n_slots, 23 * 4);
    assert_distinct_quarter_hours(r);
    snprintf(first, sizeof first, "%sT00:00:00%s", day, before);
    snprintf(last, sizeof last, "%sT23:45:00%s", day, after);
    snprintf(before_jump, sizeof before_jump, "%sT%02d:45:00%s", day, hour_of(change) - 1, before);
    snprintf(after_jump, sizeof after_jump, "%sT%02d:00:00%s", day, hour_of(change) + 1, after);
    assert_string_equal(r->slots[0]->start_time, first);
    assert_string_equal(r->slots[r->n_slots - 1]->start_time, last);
    assert_int_equal(slot_at(r, after_jump), slot_at(r, before_jump) + 1);
    free_msg(r);
}

/* A 25-hour day: 100 distinct instants; the repeated hour (02:xx in Berlin, 01:xx in New York)
 * appears once with each offset. */
static void check_fall_back_round_the_clock(const struct site *s,
                                            const struct harness_dst_change *change)
{
    const char *day = change->day, *repeated_hour = change->hour;
    const char *before = change->offset_before, *after = change->offset_after;
    char from[32], to[32], first[64], last[64], summer_last[64], winter_first[64];
    snprintf(from, sizeof from, "%s 00:00", day);
    snprintf(to, sizeof to, "%s 00:00", change->next_day);
    Clinic__V1__FindSlotsResponse *r = slots(s, s->owl_service, s->owl, from, to);
    assert_int_equal(r->n_slots, 25 * 4);
    assert_distinct_quarter_hours(r);
    for (size_t i = 0; i < r->n_slots; i++)
        for (size_t j = i + 1; j < r->n_slots; j++)
            assert_string_not_equal(r->slots[i]->start_time, r->slots[j]->start_time);
    snprintf(first, sizeof first, "%sT00:00:00%s", day, before);
    snprintf(last, sizeof last, "%sT23:45:00%s", day, after);
    snprintf(summer_last, sizeof summer_last, "%sT%s:45:00%s", day, repeated_hour, before);
    snprintf(winter_first, sizeof winter_first, "%sT%s:00:00%s", day, repeated_hour, after);
    assert_string_equal(r->slots[0]->start_time, first);
    assert_string_equal(r->slots[r->n_slots - 1]->start_time, last);
    assert_int_equal(slot_at(r, winter_first), slot_at(r, summer_last) + 1);
    free_msg(r);
}

static void round_the_clock_hours_skip_the_missing_hour_in_berlin(void **state)
{
    (void)state;
    check_spring_forward_round_the_clock(&berlin, &berlin.forward);
}

static void round_the_clock_hours_skip_the_missing_hour_in_new_york(void **state)
{
    (void)state;
    check_spring_forward_round_the_clock(&new_york, &new_york.forward);
}

static void round_the_clock_hours_never_repeat_an_instant_on_fall_back_in_berlin(void **state)
{
    (void)state;
    check_fall_back_round_the_clock(&berlin, &berlin.back);
}

static void round_the_clock_hours_never_repeat_an_instant_on_fall_back_in_new_york(void **state)
{
    (void)state;
    check_fall_back_round_the_clock(&new_york, &new_york.back);
}

/* --- courses --- */

/* Books three weekly 09:00 sessions from 6 days before the day of `change`, so that the clocks
 * change between the first two, and checks each start string (09:00 local, at the offset before
 * the change, then twice at the one after) and that the real time between the first two is a
 * week plus `shift_s` (the clock change). */
static void check_weekly_course(const struct site *s, int64_t client_id,
                                const struct harness_dst_change *change, int64_t shift_s)
{
    char days[3][11], first[32], want[3][64];
    harness_date_add(change->day, -6, days[0], sizeof days[0]);
    harness_date_add(days[0], 7, days[1], sizeof days[1]);
    harness_date_add(days[1], 7, days[2], sizeof days[2]);
    snprintf(first, sizeof first, "%s 09:00", days[0]);
    for (size_t i = 0; i < 3; i++)
        snprintf(want[i], sizeof want[i], "%sT09:00:00%s", days[i],
                 i == 0 ? change->offset_before : change->offset_after);
    Clinic__V1__BookCourseRequest req = CLINIC__V1__BOOK_COURSE_REQUEST__INIT;
    req.client_id = client_id;
    req.service_id = s->c.service_id;
    req.location_id = s->c.location_id;
    req.first_start_time = first;
    req.count = 3;
    req.every = 1;
    req.unit = CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_WEEKS;
    struct clinic_error err;
    Clinic__V1__BookCourseResponse *r;
    int code = call("BookCourse", &req.base, &clinic__v1__book_course_response__descriptor, &r,
                    true, &err);
    if (code != STATUS_OK)
        fail_msg("BookCourse %s %s: %d %s", s->zone, first, code, err.message);
    assert_int_equal(r->n_appointments, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(r->appointments[i]->start_time, want[i]);
        assert_string_equal(r->appointments[i]->time_zone, s->zone);
    }
    assert_int_equal(epoch_of(want[1]) - epoch_of(want[0]), 7 * DAY_SECONDS + shift_s);
    assert_int_equal(epoch_of(want[2]) - epoch_of(want[1]), 7 * DAY_SECONDS);
    free_msg(r);
}

static void weekly_course_keeps_nine_local_across_each_transition(void **state)
{
    (void)state;
    check_weekly_course(&berlin, berlin.c.client_ids[0], &berlin.forward, -3600);
    check_weekly_course(&berlin, berlin.c.client_ids[1], &berlin.back, 3600);
    check_weekly_course(&new_york, new_york.c.client_ids[0], &new_york.forward, -3600);
    check_weekly_course(&new_york, new_york.c.client_ids[1], &new_york.back, 3600);
}

/* --- local times that do not exist, or exist twice --- */

static void booking_in_the_skipped_hour_is_invalid(void **state)
{
    (void)state;
    const struct harness_dst_change *b = &berlin.forward, *ny = &new_york.forward;
    char start[32], want[64], want_end[64];
    struct clinic_error err;
    Clinic__V1__Appointment *a;
    snprintf(start, sizeof start, "%s %s:30", b->day, b->hour);
    int code =
        book(&berlin, berlin.owl_service, berlin.c.client_ids[2], berlin.lark, start, &a, &err);
    assert_violation_on(code, &err, "start_time");
    assert_non_null(strstr(err.message, "does not exist"));
    snprintf(start, sizeof start, "%s %s:00", ny->day, ny->hour);
    code = book(&new_york, new_york.owl_service, new_york.c.client_ids[2], new_york.lark, start, &a,
                &err);
    assert_violation_on(code, &err, "start_time");
    /* the hour before the gap is fine */
    snprintf(start, sizeof start, "%s %02d:00", b->day, hour_of(b) - 1);
    code = book(&berlin, berlin.owl_service, berlin.c.client_ids[2], berlin.lark, start, &a, &err);
    if (code != STATUS_OK)
        fail_msg("%s: %s", start, err.message);
    snprintf(want, sizeof want, "%sT%02d:00:00%s", b->day, hour_of(b) - 1, b->offset_before);
    snprintf(want_end, sizeof want_end, "%sT%02d:00:00%s", b->day, hour_of(b) + 1, b->offset_after);
    assert_string_equal(a->start_time, want);
    assert_string_equal(a->end_time, want_end); /* 60 minutes of real time */
    free_msg(a);
}

static void booking_in_the_repeated_hour_reads_the_first_occurrence(void **state)
{
    (void)state;
    const struct harness_dst_change *b = &berlin.back, *ny = &new_york.back;
    char start[32], want[64];
    struct clinic_error err;
    Clinic__V1__Appointment *a;
    snprintf(start, sizeof start, "%s %s:30", b->day, b->hour);
    int code =
        book(&berlin, berlin.owl_service, berlin.c.client_ids[3], berlin.lark, start, &a, &err);
    if (code != STATUS_OK)
        fail_msg("%s: %s", start, err.message);
    snprintf(want, sizeof want, "%sT%s:30:00%s", b->day, b->hour, b->offset_before);
    assert_string_equal(a->start_time, want);
    free_msg(a);
    /* the second 02:30 is reachable with an explicit offset, an hour later in real time */
    snprintf(want, sizeof want, "%sT%s:30:00%s", b->day, b->hour, b->offset_after);
    code = book(&berlin, berlin.owl_service, berlin.c.client_ids[4], berlin.lark, want, &a, &err);
    if (code != STATUS_OK)
        fail_msg("%s: %s", want, err.message);
    assert_string_equal(a->start_time, want);
    free_msg(a);
    snprintf(start, sizeof start, "%s %s:30", ny->day, ny->hour);
    code = book(&new_york, new_york.owl_service, new_york.c.client_ids[3], new_york.lark, start, &a,
                &err);
    if (code != STATUS_OK)
        fail_msg("%s: %s", start, err.message);
    snprintf(want, sizeof want, "%sT%s:30:00%s", ny->day, ny->hour, ny->offset_before);
    assert_string_equal(a->start_time, want);
    free_msg(a);
}

/* --- the day sheet --- */

static void day_sheet_on_spring_forward_day_shows_local_windows(void **state)
{
    (void)state;
    const struct harness_dst_change *ny = &new_york.forward;
    char midnight[64], next_midnight[64], nine[64], five[64];
    snprintf(midnight, sizeof midnight, "%sT00:00:00%s", ny->day, ny->offset_before);
    snprintf(next_midnight, sizeof next_midnight, "%sT00:00:00%s", ny->next_day, ny->offset_after);
    snprintf(nine, sizeof nine, "%sT09:00:00%s", ny->day, ny->offset_after);
    snprintf(five, sizeof five, "%sT17:00:00%s", ny->day, ny->offset_after);
    Clinic__V1__DaySheetRequest req = CLINIC__V1__DAY_SHEET_REQUEST__INIT;
    req.location_id = new_york.c.location_id;
    req.date = (char *)ny->day;
    struct clinic_error err;
    Clinic__V1__DaySheetResponse *r;
    int code =
        call("DaySheet", &req.base, &clinic__v1__day_sheet_response__descriptor, &r, false, &err);
    if (code != STATUS_OK)
        fail_msg("DaySheet: %s", err.message);
    assert_string_equal(r->time_zone, NEW_YORK);
    assert_int_equal(r->n_therapists, 4);
    for (size_t i = 0; i < r->n_therapists; i++) {
        const Clinic__V1__TherapistDay *d = r->therapists[i];
        assert_int_equal(d->n_working, 1);
        if (d->therapist_id == new_york.owl || d->therapist_id == new_york.lark) {
            assert_string_equal(d->working[0]->start_time, midnight);
            assert_string_equal(d->working[0]->end_time, next_midnight);
        } else {
            assert_string_equal(d->working[0]->start_time, nine);
            assert_string_equal(d->working[0]->end_time, five);
        }
    }
    free_msg(r);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spring_forward_in_berlin_keeps_nine_to_five_local),
        cmocka_unit_test(fall_back_in_berlin_keeps_nine_to_five_local),
        cmocka_unit_test(spring_forward_in_new_york_keeps_nine_to_five_local),
        cmocka_unit_test(fall_back_in_new_york_keeps_nine_to_five_local),
        cmocka_unit_test(round_the_clock_hours_skip_the_missing_hour_in_berlin),
        cmocka_unit_test(round_the_clock_hours_skip_the_missing_hour_in_new_york),
        cmocka_unit_test(round_the_clock_hours_never_repeat_an_instant_on_fall_back_in_berlin),
        cmocka_unit_test(round_the_clock_hours_never_repeat_an_instant_on_fall_back_in_new_york),
        cmocka_unit_test(weekly_course_keeps_nine_local_across_each_transition),
        cmocka_unit_test(booking_in_the_skipped_hour_is_invalid),
        cmocka_unit_test(booking_in_the_repeated_hour_reads_the_first_occurrence),
        cmocka_unit_test(day_sheet_on_spring_forward_day_shows_local_windows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
