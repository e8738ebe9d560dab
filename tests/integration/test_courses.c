/* Courses as things of their own, through libclinic and the `clinic` tool against a live daemon:
 * every session carries its course's id; a course booked without a therapist keeps one therapist
 * free at every session, even when another is free earlier; all or none by default, refused with
 * the blocked date named; with skip_blocked the free sessions are booked and the blocked ones
 * listed with the sentence a single booking would refuse them with; GetCourse shows every session
 * in time order; CancelCourse cancels only the sessions still booked and not yet started; a
 * client reads and cancels only their own course, a therapist reads only courses of clients they
 * treat; moving a session keeps its therapist and its course.
 *
 * Dates are in next year (harness_next_year), so the suite passes on any day; each test books
 * its own client on its own days. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static clinic_client *admin;
static int year;

/* "YYYY-MM-DD HH:MM", `days` after 1 June of next year, into out. */
static const char *local_at(int days, const char *clock, char *out, size_t len)
{
    char first[11], day[11];
    snprintf(first, sizeof first, "%d-06-01", year);
    harness_date_add(first, days, day, sizeof day);
    snprintf(out, len, "%s %s", day, clock);
    return out;
}

static void *call_as(clinic_client *c, const char *method, const void *req,
                     const ProtobufCMessageDescriptor *type, bool mutating, int expect)
{
    void *out = NULL;
    struct clinic_error err;
    int code = harness_call(c, method, req, type, &out, mutating, NULL, &err);
    if (code != expect)
        fail_msg("%s: expected status %d, got %d: %s", method, expect, code, err.message);
    return out;
}

/* Books a single session (another client's) so that `therapist` is busy at that time. */
static Clinic__V1__Appointment *book_one(int client, int therapist, int days, const char *clock)
{
    char start[24];
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[client];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = (char *)local_at(days, clock, start, sizeof start);
    req.therapist_id = therapist < 0 ? 0 : clinic.therapist_ids[therapist];
    return call_as(admin, "Scheduling/Book", &req, &clinic__v1__appointment__descriptor, true,
                   STATUS_OK);
}

/* A course of `count` daily sessions at `clock` from day `days` for client `client`; the
 * status; *out the reply when OK, err the refusal. */
static int book_course(clinic_client *c, int client, int therapist, int days, const char *clock,
                       uint32_t count, bool skip, Clinic__V1__BookCourseResponse **out,
                       struct clinic_error *err)
{
    char start[24];
    Clinic__V1__BookCourseRequest req = CLINIC__V1__BOOK_COURSE_REQUEST__INIT;
    req.client_id = clinic.client_ids[client];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.first_start_time = (char *)local_at(days, clock, start, sizeof start);
    req.count = count;
    req.every = 1;
    req.unit = CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_DAYS;
    req.therapist_id = therapist < 0 ? 0 : clinic.therapist_ids[therapist];
    req.skip_blocked = skip;
    *out = NULL;
    return harness_call(c, "Scheduling/BookCourse", &req,
                        &clinic__v1__book_course_response__descriptor, out, true, NULL, err);
}

static Clinic__V1__BookCourseResponse *book_course_ok(int client, int therapist, int days,
                                                      uint32_t count, bool skip)
{
    Clinic__V1__BookCourseResponse *r;
    struct clinic_error err;
    int code = book_course(admin, client, therapist, days, "10:00", count, skip, &r, &err);
    if (code != STATUS_OK)
        fail_msg("BookCourse: %d %s", code, err.message);
    return r;
}

static Clinic__V1__Course *get_course(clinic_client *c, int64_t id, int expect)
{
    Clinic__V1__CourseRef req = CLINIC__V1__COURSE_REF__INIT;
    req.course_id = id;
    return call_as(c, "Scheduling/GetCourse", &req, &clinic__v1__course__descriptor, false, expect);
}

static Clinic__V1__Course *cancel_course(clinic_client *c, int64_t id, const char *reason,
                                         int expect)
{
    Clinic__V1__CancelCourseRequest req = CLINIC__V1__CANCEL_COURSE_REQUEST__INIT;
    req.course_id = id;
    req.reason = (char *)reason;
    return call_as(c, "Scheduling/CancelCourse", &req, &clinic__v1__course__descriptor, true,
                   expect);
}

/* A client connection logged in as a new user of `role` linked to therapist/client (0: none). */
static clinic_client *user(const char *email, const char *role, long long therapist,
                           long long client)
{
    char token[64];
    assert_true(harness_create_user(db_url, email, role, therapist, client, NULL) > 0);
    assert_int_equal(harness_login(daemon_.url, email, NULL, token, sizeof token), STATUS_OK);
    clinic_client *c = harness_connect_as(daemon_.url, token);
    assert_non_null(c);
    return c;
}

static int setup(void **state)
{
    (void)state;
    year = harness_next_year();
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "courses", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "Europe/Berlin", 2, 12, &clinic))
        return -1;
    admin = harness_connect_as(daemon_.url, daemon_.admin_token);
    return admin ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(admin);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static void every_session_carries_the_course_id(void **state)
{
    (void)state;
    Clinic__V1__BookCourseResponse *r = book_course_ok(0, 0, 0, 3, false);
    assert_true(r->course_id > 0);
    assert_int_equal(r->n_appointments, 3);
    assert_int_equal(r->n_skipped, 0);
    for (size_t i = 0; i < r->n_appointments; i++) {
        assert_int_equal(r->appointments[i]->course_id, r->course_id);
        Clinic__V1__AppointmentRef ref = CLINIC__V1__APPOINTMENT_REF__INIT;
        ref.appointment_id = r->appointments[i]->id;
        Clinic__V1__Appointment *a = call_as(admin, "Scheduling/GetAppointment", &ref,
                                             &clinic__v1__appointment__descriptor, false, 0);
        assert_int_equal(a->course_id, r->course_id);
        harness_free_message(a);
    }
    /* a single booking belongs to no course */
    Clinic__V1__Appointment *one = book_one(0, 0, 10, "10:00");
    assert_int_equal(one->course_id, 0);
    harness_free_message(one);
    harness_free_message(r);
}

static void one_therapist_is_kept_even_when_another_is_free_earlier(void **state)
{
    (void)state;
    /* therapist 0 (first in the choice order) is free on the first day, busy on the second */
    Clinic__V1__Appointment *busy = book_one(2, 0, 21, "10:00");
    Clinic__V1__BookCourseResponse *r = book_course_ok(1, -1, 20, 3, false);
    assert_int_equal(r->n_appointments, 3);
    for (size_t i = 0; i < r->n_appointments; i++)
        assert_int_equal(r->appointments[i]->therapist_id, clinic.therapist_ids[1]);
    Clinic__V1__Course *c = get_course(admin, r->course_id, STATUS_OK);
    assert_int_equal(c->therapist_id, clinic.therapist_ids[1]);
    harness_free_message(c);
    harness_free_message(r);
    harness_free_message(busy);
}

static void all_or_none_is_the_default_and_names_the_blocked_date(void **state)
{
    (void)state;
    /* both therapists are busy on the third day */
    Clinic__V1__Appointment *b0 = book_one(4, 0, 32, "10:00");
    Clinic__V1__Appointment *b1 = book_one(5, 1, 32, "10:00");
    Clinic__V1__BookCourseResponse *r;
    struct clinic_error err;
    int code = book_course(admin, 3, -1, 30, "10:00", 4, false, &r, &err);
    assert_int_equal(code, STATUS_FAILED_PRECONDITION);
    char blocked[24];
    local_at(32, "10:00", blocked, sizeof blocked);
    harness_assert_contains(err.message, blocked);
    harness_assert_contains(err.message, "is with another client");
    harness_assert_contains(err.message, "so none was booked");
    Clinic__V1__ClientAppointmentsRequest list = CLINIC__V1__CLIENT_APPOINTMENTS_REQUEST__INIT;
    list.client_id = clinic.client_ids[3];
    Clinic__V1__AppointmentList *l = call_as(admin, "Scheduling/ClientAppointments", &list,
                                             &clinic__v1__appointment_list__descriptor, false, 0);
    assert_int_equal(l->n_appointments, 0);
    harness_free_message(l);

    /* with skip_blocked: the other three, with one therapist, and the blocked one listed */
    code = book_course(admin, 3, -1, 30, "10:00", 4, true, &r, &err);
    if (code != STATUS_OK)
        fail_msg("BookCourse skip_blocked: %s", err.message);
    assert_true(r->course_id > 0);
    assert_int_equal(r->n_appointments, 3);
    assert_int_equal(r->n_skipped, 1);
    char day[11];
    snprintf(day, sizeof day, "%.10s", blocked);
    harness_assert_contains(r->skipped[0]->start_time, day);
    harness_assert_contains(r->skipped[0]->reason, "busy at");
    harness_assert_contains(r->skipped[0]->reason, "is with another client");
    /* a tie (both free at three): the first in the choice order */
    for (size_t i = 0; i < r->n_appointments; i++) {
        assert_int_equal(r->appointments[i]->therapist_id, clinic.therapist_ids[0]);
        assert_int_equal(r->appointments[i]->course_id, r->course_id);
    }
    harness_free_message(r);

    /* nothing free at all: refused as without skip_blocked */
    code = book_course(admin, 6, 0, 32, "10:00", 1, true, &r, &err);
    assert_int_equal(code, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(err.message, blocked);
    harness_free_message(b0);
    harness_free_message(b1);
}

static void skip_blocked_keeps_the_therapist_free_at_the_most_sessions(void **state)
{
    (void)state;
    /* therapist 0 busy on two of four days, therapist 1 on one: therapist 1 is kept */
    Clinic__V1__Appointment *a = book_one(8, 0, 40, "10:00");
    Clinic__V1__Appointment *b = book_one(8, 0, 41, "10:00");
    Clinic__V1__Appointment *c = book_one(9, 1, 42, "10:00");
    Clinic__V1__BookCourseResponse *r = book_course_ok(7, -1, 40, 4, true);
    assert_int_equal(r->n_appointments, 3);
    assert_int_equal(r->n_skipped, 1);
    for (size_t i = 0; i < r->n_appointments; i++)
        assert_int_equal(r->appointments[i]->therapist_id, clinic.therapist_ids[1]);
    harness_free_message(r);
    harness_free_message(a);
    harness_free_message(b);
    harness_free_message(c);
}

static void skip_blocked_with_a_named_therapist_books_what_they_can(void **state)
{
    (void)state;
    Clinic__V1__Appointment *busy = book_one(2, 0, 101, "10:00");
    Clinic__V1__BookCourseResponse *r = book_course_ok(1, 0, 100, 3, true);
    assert_int_equal(r->n_appointments, 2);
    assert_int_equal(r->n_skipped, 1);
    harness_assert_contains(r->skipped[0]->reason, "busy at");
    for (size_t i = 0; i < r->n_appointments; i++)
        assert_int_equal(r->appointments[i]->therapist_id, clinic.therapist_ids[0]);
    harness_free_message(r);
    harness_free_message(busy);
}

static void get_course_shows_every_session_in_time_order(void **state)
{
    (void)state;
    Clinic__V1__BookCourseResponse *r = book_course_ok(10, 0, 50, 3, false);
    Clinic__V1__AppointmentRef ref = CLINIC__V1__APPOINTMENT_REF__INIT;
    ref.appointment_id = r->appointments[1]->id;
    harness_free_message(
        call_as(admin, "Scheduling/Cancel", &ref, &clinic__v1__appointment__descriptor, true, 0));
    Clinic__V1__Course *c = get_course(admin, r->course_id, STATUS_OK);
    assert_int_equal(c->id, r->course_id);
    assert_int_equal(c->client_id, clinic.client_ids[10]);
    assert_int_equal(c->therapist_id, clinic.therapist_ids[0]);
    assert_int_equal(c->service_id, clinic.service_id);
    assert_int_equal(c->location_id, clinic.location_id);
    assert_string_equal(c->time_zone, "Europe/Berlin");
    assert_true(c->client_name[0] && c->therapist_name[0] && c->service_name[0]);
    assert_int_equal(c->n_appointments, 3); /* the cancelled one too */
    assert_int_equal(c->n_cancelled_ids, 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(c->appointments[i]->id, r->appointments[i]->id);
    assert_int_equal(c->appointments[1]->status,
                     CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED);
    harness_free_message(c);
    harness_free_message(r);
    get_course(admin, 999999, STATUS_NOT_FOUND);
}

static void cancel_course_cancels_only_future_booked_sessions(void **state)
{
    (void)state;
    Clinic__V1__BookCourseResponse *r = book_course_ok(11, 0, 60, 5, false);
    long long id[5];
    for (int i = 0; i < 5; i++)
        id[i] = r->appointments[i]->id;
    /* as if time had passed: the first happened (completed), the second has started and was
     * never marked, the third is checked in */
    assert_int_equal(
        harness_sql_id(db_url,
                       "UPDATE appointments SET start_at = s, end_at = s + interval '1 hour',"
                       " blocked = tstzrange(s, s + interval '75 minutes'), status = 'completed'"
                       " FROM (SELECT now() - interval '3 days' AS s) x WHERE id = %lld"
                       " RETURNING id",
                       id[0]),
        id[0]);
    assert_int_equal(
        harness_sql_id(db_url,
                       "UPDATE appointments SET start_at = s, end_at = s + interval '1 hour',"
                       " blocked = tstzrange(s, s + interval '75 minutes')"
                       " FROM (SELECT now() - interval '2 days' AS s) x WHERE id = %lld"
                       " RETURNING id",
                       id[1]),
        id[1]);
    assert_int_equal(harness_sql_id(db_url,
                                    "UPDATE appointments SET status = 'checked_in' WHERE id = %lld"
                                    " RETURNING id",
                                    id[2]),
                     id[2]);

    Clinic__V1__Course *c = cancel_course(admin, r->course_id, "moved to another town", 0);
    assert_int_equal(c->n_cancelled_ids, 2);
    assert_int_equal(c->cancelled_ids[0], id[3]);
    assert_int_equal(c->cancelled_ids[1], id[4]);
    assert_int_equal(c->n_appointments, 5);
    static const Clinic__V1__AppointmentStatus want[] = {
        CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_COMPLETED,
        CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_BOOKED,
        CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CHECKED_IN,
        CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED,
        CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED,
    };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(c->appointments[i]->id, id[i]);
        assert_int_equal(c->appointments[i]->status, want[i]);
    }
    assert_string_equal(c->appointments[3]->cancel_reason, "moved to another town");
    assert_false(c->appointments[3]->late_cancel);
    harness_free_message(c);
    /* again: nothing is left to cancel, which is not an error */
    c = cancel_course(admin, r->course_id, "", 0);
    assert_int_equal(c->n_cancelled_ids, 0);
    harness_free_message(c);
    harness_free_message(r);
    cancel_course(admin, 999999, "", STATUS_NOT_FOUND);
}

static void clients_and_therapists_see_only_courses_they_may(void **state)
{
    (void)state;
    /* client 0's course is with therapist 0 (every_session_carries_the_course_id books one);
     * therapist 1 has never treated client 0 */
    Clinic__V1__BookCourseResponse *r = book_course_ok(0, 0, 70, 2, false);
    clinic_client *own = user("own@courses.test", "client", 0, clinic.client_ids[0]);
    clinic_client *other = user("other@courses.test", "client", 0, clinic.client_ids[1]);
    clinic_client *carer = user("carer@courses.test", "therapist", clinic.therapist_ids[0], 0);
    clinic_client *stranger =
        user("stranger@courses.test", "therapist", clinic.therapist_ids[1], 0);

    harness_free_message(get_course(own, r->course_id, STATUS_OK));
    harness_free_message(get_course(carer, r->course_id, STATUS_OK));
    get_course(other, r->course_id, STATUS_PERMISSION_DENIED);
    get_course(stranger, r->course_id, STATUS_PERMISSION_DENIED);
    cancel_course(other, r->course_id, "", STATUS_PERMISSION_DENIED);
    cancel_course(carer, r->course_id, "", STATUS_PERMISSION_DENIED);
    Clinic__V1__Course *c = cancel_course(own, r->course_id, "", STATUS_OK);
    assert_int_equal(c->n_cancelled_ids, 2);
    harness_free_message(c);
    clinic_close(own);
    clinic_close(other);
    clinic_close(carer);
    clinic_close(stranger);
    harness_free_message(r);
}

static void moving_a_session_keeps_its_therapist_and_its_course(void **state)
{
    (void)state;
    /* the course is therapist 1's; therapist 0 is free at the new time too, and first in order */
    Clinic__V1__BookCourseResponse *r = book_course_ok(2, 1, 80, 2, false);
    char start[24];
    Clinic__V1__RescheduleRequest req = CLINIC__V1__RESCHEDULE_REQUEST__INIT;
    req.appointment_id = r->appointments[0]->id;
    req.start_time = (char *)local_at(80, "14:00", start, sizeof start);
    Clinic__V1__Appointment *a = call_as(admin, "Scheduling/Reschedule", &req,
                                         &clinic__v1__appointment__descriptor, true, 0);
    assert_int_equal(a->therapist_id, clinic.therapist_ids[1]);
    assert_int_equal(a->course_id, r->course_id);
    assert_int_equal(a->previous_therapist_id, 0);
    harness_free_message(a);
    harness_free_message(r);
}

/* `clinic book-course --skip-blocked` prints the course's id and the skipped dates with why;
 * `clinic course show` the sessions in a table (and --json); `clinic course cancel` the rest. */
static void cli_books_shows_and_cancels_a_course(void **state)
{
    (void)state;
    Clinic__V1__Appointment *b0 = book_one(4, 0, 91, "10:00");
    Clinic__V1__Appointment *b1 = book_one(5, 1, 91, "10:00");
    char start[24], client[24], service[24], location[24], blocked[24];
    local_at(90, "10:00", start, sizeof start);
    local_at(91, "10:00", blocked, sizeof blocked);
    snprintf(client, sizeof client, "%lld", clinic.client_ids[6]);
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    snprintf(location, sizeof location, "%lld", clinic.location_id);
    const char *book[] = {
        "--url", daemon_.url,  "book-course", "--client",       client, "--service",
        service, "--location", location,      "--start",        start,  "--count",
        "3",     "--unit",     "days",        "--skip-blocked", NULL};
    struct harness_run r = {0};
    r.status = harness_run_cli(book, NULL, &r.out, &r.err);
    if (r.status != 0)
        fail_msg("book-course: %d %s", r.status, r.err);
    harness_assert_contains(r.out, "Booked course ");
    harness_assert_contains(r.out, "Skipped 1 session");
    harness_assert_contains(r.out, blocked);
    harness_assert_contains(r.out, "is with another client");
    long long course = 0;
    const char *at = strstr(r.out, "Booked course ");
    assert_non_null(at);
    course = strtoll(at + strlen("Booked course "), NULL, 10);
    assert_true(course > 0);
    harness_run_free(&r);

    char id[24];
    snprintf(id, sizeof id, "%lld", course);
    const char *show[] = {"--url", daemon_.url, "course", "show", id, NULL};
    r.status = harness_run_cli(show, NULL, &r.out, &r.err);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "STATUS");
    harness_assert_contains(r.out, "THERAPIST");
    harness_assert_contains(r.out, "booked");
    harness_run_free(&r);
    const char *json[] = {"--url", daemon_.url, "--json", "course", "show", id, NULL};
    r.status = harness_run_cli(json, NULL, &r.out, &r.err);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"appointments\"");
    harness_run_free(&r);
    const char *cancel[] = {"--url", daemon_.url, "course",         "cancel",
                            id,      "--reason",  "feeling better", NULL};
    r.status = harness_run_cli(cancel, NULL, &r.out, &r.err);
    if (r.status != 0)
        fail_msg("course cancel: %d %s", r.status, r.err);
    harness_assert_contains(r.out, "Cancelled 2 sessions");
    harness_assert_contains(r.out, "cancelled");
    harness_run_free(&r);
    const char *missing[] = {"--url", daemon_.url, "course", "show", NULL};
    r.status = harness_run_cli(missing, NULL, &r.out, &r.err);
    assert_int_equal(r.status, 2);
    harness_assert_contains(r.err, "ID");
    harness_run_free(&r);
    harness_free_message(b0);
    harness_free_message(b1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_session_carries_the_course_id),
        cmocka_unit_test(one_therapist_is_kept_even_when_another_is_free_earlier),
        cmocka_unit_test(all_or_none_is_the_default_and_names_the_blocked_date),
        cmocka_unit_test(skip_blocked_keeps_the_therapist_free_at_the_most_sessions),
        cmocka_unit_test(skip_blocked_with_a_named_therapist_books_what_they_can),
        cmocka_unit_test(get_course_shows_every_session_in_time_order),
        cmocka_unit_test(cancel_course_cancels_only_future_booked_sessions),
        cmocka_unit_test(clients_and_therapists_see_only_courses_they_may),
        cmocka_unit_test(moving_a_session_keeps_its_therapist_and_its_course),
        cmocka_unit_test(cli_books_shows_and_cancels_a_course),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
