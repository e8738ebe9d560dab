/* test_life_cycle.c: an appointment's day at the clinic: check-in only on its day and from the
 * location's check-in window, completion and no-show only once it has started, and the front
 * desk's undo (back to booked, with a reason kept and an event) on the same day only.
 *
 * Today's sessions are written straight into the table (Book refuses starts inside the minimum
 * notice, and a session that has started lies in the past). The clinic's zone is chosen so that
 * its local time is about noon whenever the suite runs: "today", "an hour ago" and "in an hour"
 * then all fall on the same local day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clinic.h"
#include "clinic/v1/admin.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 20000

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];
static struct harness_clinic clinic;
static char zone[32];
static int next_client; /* each session has a client, therapist and room of its own */

/* An Etc/GMT zone whose local time is now between 12:00 and 13:00 (Etc/GMT+X is UTC-X). */
static void noon_zone(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    int x = utc.tm_hour - 12; /* -12 .. 11, all of which exist */
    if (x == 0)
        snprintf(out, len, "Etc/GMT");
    else
        snprintf(out, len, "Etc/GMT%+d", x);
}

static int setup(void **state)
{
    (void)state;
    noon_zone(zone, sizeof zone);
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "life_cycle", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, zone, 1, 24, &clinic))
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

/* A 30-minute session `minutes` from now (negative: in the past) in `status`, with a client,
 * therapist and room of its own (so no two sessions collide); its id. */
static int64_t session(int minutes, const char *status)
{
    char sql[1400];
    int n = next_client++;
    snprintf(sql, sizeof sql,
             "WITH t AS (INSERT INTO therapists (name, email) VALUES ('Therapist %d',"
             " 'therapist%d@life.example') RETURNING id),"
             " r AS (INSERT INTO rooms (location_id, name) VALUES (%lld, 'Room %d') RETURNING id)"
             " INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
             " start_at, end_at, blocked, status) SELECT %lld, t.id, r.id, %lld, %lld, s, e,"
             " tstzrange(s, e), '%s' FROM t, r, (SELECT now() + make_interval(mins => %d) AS s,"
             " now() + make_interval(mins => %d + 30) AS e) w RETURNING id",
             n, n, clinic.location_id, n, clinic.client_ids[n], clinic.service_id,
             clinic.location_id, status, minutes, minutes);
    char *id = harness_sql(db_url, sql);
    assert_non_null(id);
    int64_t appointment = strtoll(id, NULL, 10);
    free(id);
    return appointment;
}

/* CheckIn, Complete, MarkNoShow or (with a reason) Undo on appointment id: the status code,
 * *status the appointment's new status when OK. */
static int step(const char *method, int64_t id, const char *reason, int *status,
                struct clinic_error *err)
{
    char name[96];
    snprintf(name, sizeof name, "/clinic.v1.Scheduling/%s", method);
    Clinic__V1__AppointmentRef ref = CLINIC__V1__APPOINTMENT_REF__INIT;
    Clinic__V1__UndoRequest undo = CLINIC__V1__UNDO_REQUEST__INIT;
    ref.appointment_id = undo.appointment_id = id;
    undo.reason = (char *)reason;
    const ProtobufCMessage *req = reason ? &undo.base : &ref.base;
    struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS, .mutating = true};
    ProtobufCMessage *resp = NULL;
    int code =
        clinic_call(client, name, req, &clinic__v1__appointment__descriptor, &resp, &opts, err);
    if (resp) {
        *status = (int)((Clinic__V1__Appointment *)resp)->status;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code;
}

static void assert_step(const char *method, int64_t id, const char *reason, int want)
{
    struct clinic_error err;
    int status = -1;
    int code = step(method, id, reason, &status, &err);
    if (code != STATUS_OK)
        fail_msg("%s %lld: %d %s", method, (long long)id, code, err.message);
    assert_int_equal(status, want);
}

static void assert_refused(const char *method, int64_t id, const char *reason, int want,
                           const char *phrase)
{
    struct clinic_error err;
    int status;
    int code = step(method, id, reason, &status, &err);
    if (code != want || !strstr(err.message, phrase))
        fail_msg("%s %lld: expected %d with \"%s\", got %d: %s", method, (long long)id, want,
                 phrase, code, code ? err.message : "OK");
}

static long long count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static long long count(const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *n = harness_sql(db_url, sql);
    assert_non_null(n);
    long long v = strtoll(n, NULL, 10);
    free(n);
    return v;
}

#define BOOKED     CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_BOOKED
#define CHECKED_IN CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CHECKED_IN
#define COMPLETED  CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_COMPLETED
#define NO_SHOW    CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_NO_SHOW

static void a_started_session_checks_in_and_completes(void **state)
{
    (void)state;
    int64_t id = session(-10, "booked");
    assert_step("CheckIn", id, NULL, CHECKED_IN);
    assert_step("Complete", id, NULL, COMPLETED);
}

static void check_in_opens_inside_the_window_on_the_day(void **state)
{
    (void)state;
    /* the seeded location keeps the default: check-in opens 120 minutes before the start */
    assert_step("CheckIn", session(20, "booked"), NULL, CHECKED_IN);
    assert_refused("CheckIn", session(200, "booked"), NULL, STATUS_FAILED_PRECONDITION,
                   "check-in opens");
}

/* Sets the location's check-in window through the API; the status code. */
static int set_check_in_opens(uint32_t minutes, struct clinic_error *err)
{
    Clinic__V1__UpdateLocationRequest req = CLINIC__V1__UPDATE_LOCATION_REQUEST__INIT;
    char *mask[] = {"check_in_opens_minutes"};
    req.id = clinic.location_id;
    req.check_in_opens_minutes = minutes;
    req.update_mask = mask;
    req.n_update_mask = 1;
    struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS, .mutating = true};
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, "/clinic.v1.Locations/UpdateLocation", &req.base,
                           &clinic__v1__location__descriptor, &resp, &opts, err);
    if (resp) {
        assert_int_equal(((Clinic__V1__Location *)resp)->check_in_opens_minutes, minutes);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code;
}

static void the_check_in_window_is_the_locations(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(set_check_in_opens(30, &err), STATUS_OK);
    assert_refused("CheckIn", session(45, "booked"), NULL, STATUS_FAILED_PRECONDITION,
                   "check-in opens");
    assert_step("CheckIn", session(25, "booked"), NULL, CHECKED_IN);
    assert_int_equal(set_check_in_opens(1441, &err), STATUS_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "check_in_opens_minutes");
    assert_int_equal(set_check_in_opens(120, &err), STATUS_OK);
}

static void check_in_of_a_later_day_is_refused(void **state)
{
    (void)state;
    assert_refused("CheckIn", session(3 * 24 * 60, "booked"), NULL, STATUS_FAILED_PRECONDITION,
                   "check-in opens");
}

static void check_in_after_its_day_is_refused(void **state)
{
    (void)state;
    assert_refused("CheckIn", session(-2 * 24 * 60, "booked"), NULL, STATUS_FAILED_PRECONDITION,
                   "check-in is only on its day");
}

static void complete_and_no_show_wait_for_the_start(void **state)
{
    (void)state;
    int64_t id = session(20, "checked_in");
    assert_refused("Complete", id, NULL, STATUS_FAILED_PRECONDITION, "has not started yet");
    assert_refused("MarkNoShow", id, NULL, STATUS_FAILED_PRECONDITION, "has not started yet");
}

static void undo_books_again_keeps_the_reason_and_tells_watchers(void **state)
{
    (void)state;
    int64_t checked = session(-15, "checked_in"), done = session(-45, "completed"),
            missed = session(-5, "no_show");
    assert_step("Undo", checked, "wrong client checked in", BOOKED);
    assert_step("Undo", done, "completed by mistake", BOOKED);
    assert_step("Undo", missed, "she was in the waiting room", BOOKED);
    assert_int_equal(count("SELECT count(*) FROM appointment_undos WHERE appointment_id = %lld"
                           " AND undone_status = 'completed' AND reason = 'completed by mistake'",
                           (long long)done),
                     1);
    assert_int_equal(count("SELECT count(*) FROM events WHERE appointment_id = %lld"
                           " AND topic = 'appointment.undone'",
                           (long long)missed),
                     1);
    /* the trail keeps who undid what (written after the reply: wait for it, bounded) */
    long long audited = 0;
    for (int waited = 0; waited < 10000 && audited != 1; waited += 100) {
        audited = count("SELECT count(*) FROM audit WHERE method = '/clinic.v1.Scheduling/Undo'"
                        " AND target = 'appointment:%lld' AND outcome = 'OK'",
                        (long long)done);
        if (audited != 1)
            harness_sleep_ms(100);
    }
    assert_int_equal(audited, 1);
    /* booked again, the session runs its course as before */
    assert_step("CheckIn", checked, NULL, CHECKED_IN);
    assert_step("Complete", checked, NULL, COMPLETED);
}

static void undo_needs_a_reason_a_step_to_undo_and_the_day(void **state)
{
    (void)state;
    struct clinic_error err;
    int status;
    int64_t done = session(-50, "completed");
    assert_int_equal(step("Undo", done, "", &status, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 1);
    assert_string_equal(err.violations[0].field, "reason");
    assert_refused("Undo", session(-70, "booked"), "nothing to undo", STATUS_FAILED_PRECONDITION,
                   "cannot be undone");
    assert_refused("Undo", session(-3 * 24 * 60, "completed"), "too late",
                   STATUS_FAILED_PRECONDITION, "only on its day");
    assert_int_equal(count("SELECT count(*) FROM appointment_undos WHERE appointment_id = %lld",
                           (long long)done),
                     0);
}

/* A signed note records a session that happened: it holds its appointment checked in or
 * completed, so undoing it or marking it a no-show is refused, saying why and what to do. */
static void a_session_with_a_signed_note_is_not_undone_nor_a_no_show(void **state)
{
    (void)state;
    int64_t done = session(-50, "completed");
    int64_t checked = session(-40, "checked_in");
    int64_t ids[2] = {done, checked};
    for (int i = 0; i < 2; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO treatment_notes (appointment_id, author_therapist_id, status,"
                 " pain_before, pain_after, areas, techniques) SELECT id, therapist_id, 'signed',"
                 " 5, 3, '{neck}', '{swedish}' FROM appointments WHERE id = %lld RETURNING id",
                 (long long)ids[i]);
        char *note = harness_sql(db_url, sql);
        assert_non_null(note);
        assert_true(note[0] != '\0');
        free(note);
    }
    assert_refused("Undo", done, "completed by mistake", STATUS_FAILED_PRECONDITION,
                   "is signed and cannot be detached from the session; amend the note instead");
    assert_refused("Undo", checked, "wrong client", STATUS_FAILED_PRECONDITION,
                   "cannot be undone: its note");
    assert_refused("MarkNoShow", checked, NULL, STATUS_FAILED_PRECONDITION,
                   "cannot be marked as a no-show: its note");
    assert_step("Complete", checked, NULL, COMPLETED); /* completing keeps the note */
    assert_int_equal(count("SELECT count(*) FROM appointment_undos WHERE appointment_id = %lld",
                           (long long)done),
                     0);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_started_session_checks_in_and_completes),
        cmocka_unit_test(check_in_opens_inside_the_window_on_the_day),
        cmocka_unit_test(the_check_in_window_is_the_locations),
        cmocka_unit_test(check_in_of_a_later_day_is_refused),
        cmocka_unit_test(check_in_after_its_day_is_refused),
        cmocka_unit_test(complete_and_no_show_wait_for_the_start),
        cmocka_unit_test(undo_books_again_keeps_the_reason_and_tells_watchers),
        cmocka_unit_test(undo_needs_a_reason_a_step_to_undo_and_the_day),
        cmocka_unit_test(a_session_with_a_signed_note_is_not_undone_nor_a_no_show),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
