/* Scheduling/RecordSession and `clinic record`: a session that happened without a booking is
 * written afterwards, completed, with why it was not booked. The front desk records anyone's, a
 * therapist their own (therapist_id 0 is themselves), a client nobody's. The session must be
 * over and at most 31 days ago, and hold no time another appointment held; a note can then be
 * drafted and signed on it, and the call is audited like every change.
 *
 * The clinic is in UTC and every time is computed from now (whole hours back), so the tests pass
 * on any day of any year; each test takes hours of its own, so no two collide. Working hours
 * (09:00-17:00) do not matter: recording does not need them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "clinic/v1/notes.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define METHOD "/clinic.v1.Scheduling/RecordSession"

enum who { DESK, THERAPIST1, CLIENT1, N_WHO };

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static char tokens[N_WHO][64];
static clinic_client *as[N_WHO];

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "record_session", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "UTC", 2, 6, &clinic))
        return -1;
    static const char *const emails[N_WHO] = {"desk@record.test", "t1@record.test",
                                              "c1@record.test"};
    static const char *const roles[N_WHO] = {"front_desk", "therapist", "client"};
    long long therapist[N_WHO] = {0, clinic.therapist_ids[0], 0};
    long long client[N_WHO] = {0, 0, clinic.client_ids[0]};
    for (int i = 0; i < N_WHO; i++) {
        if (harness_create_user(db_url, emails[i], roles[i], therapist[i], client[i], NULL) <= 0 ||
            harness_login(daemon_.url, emails[i], NULL, tokens[i], sizeof tokens[i]) != STATUS_OK)
            return -1;
        as[i] = harness_connect_as(daemon_.url, tokens[i]);
        if (!as[i])
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_WHO; i++)
        clinic_close(as[i]);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* The whole hour `hours` before now, as the clinic (UTC) reads a typed time: "YYYY-MM-DD HH:00". */
static const char *hours_ago(int hours, char *out, size_t len)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT to_char(date_trunc('hour', now() AT TIME ZONE 'UTC')"
             " - make_interval(hours => %d), 'YYYY-MM-DD HH24:MI')",
             hours);
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    snprintf(out, len, "%s", v);
    free(v);
    return out;
}

/* Records client's session with therapist (0: the caller) at start as `who`. */
static int record(enum who who, long long client, long long therapist, const char *start,
                  const char *reason, Clinic__V1__Appointment **out, struct clinic_error *err)
{
    Clinic__V1__RecordSessionRequest req = CLINIC__V1__RECORD_SESSION_REQUEST__INIT;
    req.client_id = client;
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = (char *)start;
    req.therapist_id = therapist;
    req.reason = (char *)reason;
    Clinic__V1__Appointment *a = NULL;
    int code = harness_call(as[who], "Scheduling/RecordSession", &req,
                            &clinic__v1__appointment__descriptor, &a, true, NULL, err);
    if (out)
        *out = a;
    else
        harness_free_message(a);
    return code;
}

static void assert_refused(int code, const struct clinic_error *err, int want, const char *phrase)
{
    if (code != want)
        fail_msg("expected status %d, got %d: %s", want, code, code ? err->message : "OK");
    if (phrase && !strstr(err->message, phrase))
        fail_msg("the sentence \"%s\" does not mention \"%s\"", err->message, phrase);
}

static long long count(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* ------------------------------------------------------------------ tests */

static void the_front_desk_records_a_walk_in_completed_audited_and_announced(void **state)
{
    (void)state;
    char start[32], sql[300];
    struct clinic_error err;
    Clinic__V1__Appointment *a = NULL;
    int code = record(DESK, clinic.client_ids[1], clinic.therapist_ids[1], hours_ago(3, start, 32),
                      "  walk-in, back spasm  ", &a, &err);
    if (code != STATUS_OK)
        fail_msg("RecordSession: %d %s", code, err.message);
    assert_int_equal(a->status, CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_COMPLETED);
    assert_string_equal(a->recorded_reason, "walk-in, back spasm"); /* trimmed */
    assert_int_equal(a->therapist_id, clinic.therapist_ids[1]);
    assert_int_equal(a->client_id, clinic.client_ids[1]);
    assert_true(a->room_id == clinic.room_ids[0] || a->room_id == clinic.room_ids[1]);
    assert_int_equal(strncmp(a->start_time, start, 10), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE method = '" METHOD "' AND outcome = 'OK'"
             " AND role = 'front_desk'");
    assert_true(count(sql) >= 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM events WHERE appointment_id = %lld"
             " AND topic = 'appointment.recorded' AND status = 'completed'",
             (long long)a->id);
    assert_int_equal(count(sql), 1);
    /* GetAppointment shows the reason too */
    Clinic__V1__AppointmentRef ref = CLINIC__V1__APPOINTMENT_REF__INIT;
    ref.appointment_id = a->id;
    Clinic__V1__Appointment *got = NULL;
    assert_int_equal(harness_call(as[DESK], "Scheduling/GetAppointment", &ref,
                                  &clinic__v1__appointment__descriptor, &got, false, NULL, &err),
                     STATUS_OK);
    assert_string_equal(got->recorded_reason, "walk-in, back spasm");
    harness_free_message(got);
    harness_free_message(a);
}

static void a_therapist_records_their_own_session_and_signs_its_note(void **state)
{
    (void)state;
    char start[32];
    struct clinic_error err;
    Clinic__V1__Appointment *a = NULL;
    int code = record(THERAPIST1, clinic.client_ids[2], 0, hours_ago(6, start, 32),
                      "came in without an appointment", &a, &err);
    if (code != STATUS_OK)
        fail_msg("RecordSession: %d %s", code, err.message);
    assert_int_equal(a->therapist_id, clinic.therapist_ids[0]); /* 0: the caller */
    assert_int_equal(a->status, CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_COMPLETED);

    static Clinic__V1__BodyRegion areas[] = {CLINIC__V1__BODY_REGION__BODY_REGION_LOWER_BACK};
    static Clinic__V1__Technique techniques[] = {CLINIC__V1__TECHNIQUE__TECHNIQUE_SWEDISH};
    Clinic__V1__NoteContent c = CLINIC__V1__NOTE_CONTENT__INIT;
    c.pain_before = 6;
    c.pain_after = 3;
    c.n_areas = 1;
    c.areas = areas;
    c.n_techniques = 1;
    c.techniques = techniques;
    Clinic__V1__DraftNoteRequest draft = CLINIC__V1__DRAFT_NOTE_REQUEST__INIT;
    draft.appointment_id = a->id;
    draft.content = &c;
    Clinic__V1__Note *n = NULL;
    code = harness_call(as[THERAPIST1], "Notes/DraftNote", &draft, &clinic__v1__note__descriptor,
                        &n, true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("DraftNote: %d %s", code, err.message);
    Clinic__V1__NoteRef ref = CLINIC__V1__NOTE_REF__INIT;
    ref.id = n->id;
    Clinic__V1__Note *s = NULL;
    code = harness_call(as[THERAPIST1], "Notes/SignNote", &ref, &clinic__v1__note__descriptor, &s,
                        true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("SignNote: %d %s", code, err.message);
    assert_true(strlen(s->signed_at) > 0);
    harness_free_message(s);
    harness_free_message(n);
    harness_free_message(a);
}

static void a_therapist_records_for_no_other_therapist_and_a_client_for_nobody(void **state)
{
    (void)state;
    char start[32];
    struct clinic_error err;
    assert_refused(record(THERAPIST1, clinic.client_ids[3], clinic.therapist_ids[1],
                          hours_ago(9, start, 32), "walk-in", NULL, &err),
                   &err, STATUS_PERMISSION_DENIED, NULL);
    assert_refused(record(CLIENT1, clinic.client_ids[0], clinic.therapist_ids[0],
                          hours_ago(9, start, 32), "walk-in", NULL, &err),
                   &err, STATUS_PERMISSION_DENIED, NULL);
    assert_refused(
        record(CLIENT1, clinic.client_ids[0], 0, hours_ago(9, start, 32), "walk-in", NULL, &err),
        &err, STATUS_PERMISSION_DENIED, NULL);
    /* the front desk has no therapist of its own: it names one */
    assert_int_equal(
        record(DESK, clinic.client_ids[3], 0, hours_ago(9, start, 32), "walk-in", NULL, &err),
        STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "therapist_id"));
    assert_int_equal(count("SELECT count(*) FROM appointments WHERE recorded_reason IS NOT NULL"
                           " AND client_id IN (SELECT id FROM clients WHERE name = 'Client 4')"),
                     0);
}

static void a_session_not_over_yet_or_older_than_31_days_is_refused(void **state)
{
    (void)state;
    char start[32];
    struct clinic_error err;
    /* ahead: -2 hours from now */
    assert_refused(record(DESK, clinic.client_ids[4], clinic.therapist_ids[0],
                          hours_ago(-2, start, 32), "walk-in", NULL, &err),
                   &err, STATUS_FAILED_PRECONDITION, "is recorded once it is over");
    /* started this hour, so its 60 minutes are not over */
    assert_refused(record(DESK, clinic.client_ids[4], clinic.therapist_ids[0],
                          hours_ago(0, start, 32), "walk-in", NULL, &err),
                   &err, STATUS_FAILED_PRECONDITION, "book it instead");
    assert_refused(record(DESK, clinic.client_ids[4], clinic.therapist_ids[0],
                          hours_ago(32 * 24, start, 32), "walk-in", NULL, &err),
                   &err, STATUS_FAILED_PRECONDITION, "at most 31 days after it happened");
    /* 30 days back is fine */
    assert_int_equal(record(DESK, clinic.client_ids[4], clinic.therapist_ids[0],
                            hours_ago(30 * 24, start, 32), "paper record typed in", NULL, &err),
                     STATUS_OK);
}

static void an_overlap_is_refused_naming_the_appointment_that_held_the_time(void **state)
{
    (void)state;
    char start[32], half[32], phrase[96];
    struct clinic_error err;
    Clinic__V1__Appointment *first = NULL;
    assert_int_equal(record(DESK, clinic.client_ids[5], clinic.therapist_ids[0],
                            hours_ago(12, start, 32), "walk-in", &first, &err),
                     STATUS_OK);
    /* the same therapist, another client, half an hour later (inside session and buffer) */
    snprintf(half, sizeof half, "%.14s30", start);
    assert_refused(
        record(DESK, clinic.client_ids[3], clinic.therapist_ids[0], half, "walk-in", NULL, &err),
        &err, STATUS_FAILED_PRECONDITION, "was with another client");
    snprintf(phrase, sizeof phrase, "(appointment %lld)", (long long)first->id);
    assert_refused(
        record(DESK, clinic.client_ids[3], clinic.therapist_ids[0], half, "walk-in", NULL, &err),
        &err, STATUS_FAILED_PRECONDITION, phrase);
    /* the same client with the other therapist */
    snprintf(phrase, sizeof phrase, "already has appointment %lld", (long long)first->id);
    assert_refused(
        record(DESK, clinic.client_ids[5], clinic.therapist_ids[1], half, "walk-in", NULL, &err),
        &err, STATUS_FAILED_PRECONDITION, phrase);
    harness_free_message(first);
}

static void a_blank_reason_is_refused_on_the_reason_field(void **state)
{
    (void)state;
    char start[32];
    struct clinic_error err;
    assert_int_equal(record(DESK, clinic.client_ids[3], clinic.therapist_ids[1],
                            hours_ago(15, start, 32), "", NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "reason"));
    assert_int_equal(record(DESK, clinic.client_ids[3], clinic.therapist_ids[1],
                            hours_ago(15, start, 32), "   ", NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "reason"));
}

/* A retry with the same idempotency key gets the first answer and writes nothing more. */
static void a_retried_record_with_its_key_records_once(void **state)
{
    (void)state;
    char start[32], sql[200];
    struct clinic_error err;
    Clinic__V1__RecordSessionRequest req = CLINIC__V1__RECORD_SESSION_REQUEST__INIT;
    req.client_id = clinic.client_ids[4];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = (char *)hours_ago(21, start, sizeof start);
    req.therapist_id = clinic.therapist_ids[1];
    req.reason = "walk-in";
    Clinic__V1__Appointment *a = NULL, *b = NULL;
    assert_int_equal(harness_call(as[DESK], "Scheduling/RecordSession", &req,
                                  &clinic__v1__appointment__descriptor, &a, true, "record-once-1",
                                  &err),
                     STATUS_OK);
    assert_int_equal(harness_call(as[DESK], "Scheduling/RecordSession", &req,
                                  &clinic__v1__appointment__descriptor, &b, true, "record-once-1",
                                  &err),
                     STATUS_OK);
    assert_int_equal(a->id, b->id);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM appointments WHERE client_id = %lld AND therapist_id = %lld"
             " AND recorded_reason IS NOT NULL",
             clinic.client_ids[4], clinic.therapist_ids[1]);
    assert_int_equal(count(sql), 1);
    harness_free_message(a);
    harness_free_message(b);
}

/* ------------------------------------------------------------------ the command line */

static struct harness_run cli(const char *const *args)
{
    const char *argv[32] = {"--url", daemon_.url};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, NULL, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}
#define CLINIC(...) cli((const char *const[]){__VA_ARGS__, NULL})

static void clinic_record_prints_the_recorded_session_and_names_its_flags(void **state)
{
    (void)state;
    char start[32], client[24], service[24], therapist[24];
    snprintf(client, sizeof client, "%lld", clinic.client_ids[3]);
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    snprintf(therapist, sizeof therapist, "%lld", clinic.therapist_ids[1]);
    hours_ago(18, start, sizeof start);
    struct harness_run r = CLINIC("record", "--client", client, "--service", service, "--start",
                                  start, "--therapist", therapist);
    assert_int_equal(r.status, 2); /* a usage error: the reason is required */
    harness_assert_contains(r.err, "--reason");
    harness_run_free(&r);
    r = CLINIC("record", "--client", client, "--service", service, "--start", start, "--therapist",
               therapist, "--reason", "  ");
    assert_int_equal(r.status, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--reason");
    harness_run_free(&r);
    r = CLINIC("record", "--client", client, "--service", service, "--start", start, "--therapist",
               therapist, "--reason", "walk-in");
    if (r.status != 0)
        fail_msg("clinic record: exit %d\n%s", r.status, r.err);
    harness_assert_contains(r.out, "Recorded (completed) appointment");
    harness_assert_contains(r.out, "status     completed");
    harness_assert_contains(r.out, "recorded   after the session: walk-in");
    harness_run_free(&r);
    /* the same time again: the refusal says who held it */
    r = CLINIC("record", "--client", client, "--service", service, "--start", start, "--therapist",
               therapist, "--reason", "walk-in");
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    harness_assert_contains(r.err, "was with another client");
    harness_assert_contains(r.err, "(appointment ");
    harness_run_free(&r);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_front_desk_records_a_walk_in_completed_audited_and_announced),
        cmocka_unit_test(a_therapist_records_their_own_session_and_signs_its_note),
        cmocka_unit_test(a_therapist_records_for_no_other_therapist_and_a_client_for_nobody),
        cmocka_unit_test(a_session_not_over_yet_or_older_than_31_days_is_refused),
        cmocka_unit_test(an_overlap_is_refused_naming_the_appointment_that_held_the_time),
        cmocka_unit_test(a_blank_reason_is_refused_on_the_reason_field),
        cmocka_unit_test(a_retried_record_with_its_key_records_once),
        cmocka_unit_test(clinic_record_prints_the_recorded_session_and_names_its_flags),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
