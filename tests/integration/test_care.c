/* Care before the first touch, against a live daemon and through the `clinic` tool as each person
 * meets it: a client's health history is versioned (every change a new version, the old kept and
 * readable), read by admins, the client and therapists of the client's care, each read audited,
 * while the front desk records it and sees only its status; a red flag or a contraindication
 * shows beside the client's appointments and keeps the session's note unsigned until the therapist
 * records a decision on the newest version; general consent is needed to check in, and written
 * consent to sign a note naming a sensitive area; a consent withdrawn is kept, with its reason.
 *
 * The clients here are made by each test, without the paperwork harness_seed_clinic's clients
 * have. Sessions that must be checked in start at the current minute (their local day is today
 * whenever the suite runs); bookings ahead are computed from now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/intake.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];

/* Tokens of the people who meet: the front desk, therapist 1 (who will treat the clients
 * here), therapist 2 (who never does), and the admin's (the harness's). */
static char desk[64], therapist[64], stranger[64];

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "care", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "Europe/Berlin", 2, 1, &clinic))
        return -1;
    if (harness_create_user(db_url, "desk@care.test", "front_desk", 0, 0, NULL) < 0 ||
        harness_create_user(db_url, "t1@care.test", "therapist", clinic.therapist_ids[0], 0, NULL) <
            0 ||
        harness_create_user(db_url, "t2@care.test", "therapist", clinic.therapist_ids[1], 0, NULL) <
            0)
        return -1;
    if (harness_login(daemon_.url, "desk@care.test", HARNESS_PASSWORD, desk, sizeof desk) != 0 ||
        harness_login(daemon_.url, "t1@care.test", HARNESS_PASSWORD, therapist, sizeof therapist) !=
            0 ||
        harness_login(daemon_.url, "t2@care.test", HARNESS_PASSWORD, stranger, sizeof stranger) !=
            0)
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

/* The token given, or the harness admin's for NULL. */
static const char *who(const char *token)
{
    return token ? token : daemon_.admin_token;
}

/* `clinic` as the person whose token is given (NULL: the harness admin). */
#define CLINIC_AS(token, ...)                                                                      \
    harness_cli_as(daemon_.url, who(token), (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT(token, status, says, ...)                                                           \
    harness_cli_expect(daemon_.url, who(token), (status), (says),                                  \
                       (const char *const[]){__VA_ARGS__, NULL})

/* The first value of one statement, built printf-style, as a number. */
static long long sql_number(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long sql_number(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* A new client with no paperwork; their id into `id` (text). */
static long long new_client(const char *name, char *id, size_t len)
{
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO clients (name) VALUES ('%s') RETURNING id", name);
    long long n = harness_sql_id(db_url, "%s", sql);
    assert_true(n > 0);
    snprintf(id, len, "%lld", n);
    return n;
}

/* A session of `client` with therapist 1 starting this minute (so it may be checked in today, and
 * makes therapist 1 the client's therapist); its id into `id`. Written by SQL: the rules of
 * booking ahead are not what is tested here. */
static long long session_now(long long client, char *id, size_t len)
{
    long long n = harness_sql_id(
        db_url,
        "WITH s AS (SELECT date_trunc('minute', now()) AS t)"
        " INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked) SELECT %lld, %lld, %lld, %lld, %lld, t,"
        " t + interval '1 hour', tstzrange(t, t + interval '75 minutes') FROM s RETURNING id",
        client, clinic.therapist_ids[0], clinic.room_ids[client % 2], clinic.service_id,
        clinic.location_id);
    assert_true(n > 0);
    snprintf(id, len, "%lld", n);
    return n;
}

/* The number of audit rows of method (e.g. "Intakes/GetIntake") about client:id with outcome. */
static long long audit_rows(const char *method, long long client, const char *outcome)
{
    return sql_number("SELECT count(*) FROM audit WHERE method = '/clinic.v1.%s'"
                      " AND target = 'client:%lld' AND outcome = '%s'",
                      method, client, outcome);
}

static void health_history_is_versioned_and_read_only_by_care(void **state)
{
    (void)state;
    char c[24], appt[24];
    long long client = new_client("Nora Berg", c, sizeof c);

    /* the front desk records the first version, with a red flag, and reads only its status */
    EXPECT(desk, 0, "Recorded version 1", "intake", "record", c, "--conditions",
           "low back pain since March", "--medications", "apixaban", "--anticoagulants",
           "--red-flags", "constant_night_pain");
    EXPECT(desk, STATUS_PERMISSION_DENIED, NULL, "intake", "show", c);
    EXPECT(desk, 0, "red flag or a contraindication", "intake", "status", c);
    /* a therapist who does not treat the client reads nothing of it */
    EXPECT(stranger, STATUS_PERMISSION_DENIED, NULL, "intake", "show", c);
    EXPECT(therapist, STATUS_PERMISSION_DENIED, NULL, "intake", "show", c);

    /* once therapist 1 has a session with the client, they read it */
    session_now(client, appt, sizeof appt);
    EXPECT(therapist, 0, "constant night pain", "intake", "show", c);
    EXPECT(therapist, 0, "apixaban", "intake", "show", c);

    /* the client answers again: version 2, without the flag; version 1 is kept as it was */
    long long user = harness_create_user(db_url, "nora@care.test", "client", 0, client, NULL);
    assert_true(user > 0);
    char own[64];
    assert_int_equal(
        harness_login(daemon_.url, "nora@care.test", HARNESS_PASSWORD, own, sizeof own), 0);
    EXPECT(own, 0, "Recorded version 2", "intake", "record", "--conditions",
           "low back pain, better at night now");
    EXPECT(own, 0, "better at night", "intake", "show");
    struct harness_run r = CLINIC_AS(therapist, "intake", "show", c, "--version", "1");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "constant night pain");
    harness_assert_contains(r.out, "an older version");
    harness_run_free(&r);
    EXPECT(therapist, STATUS_NOT_FOUND, "has no version 3", "intake", "show", c, "--version", "3");
    /* the client's own status: recorded by them, no flag */
    r = CLINIC_AS(own, "--json", "intake", "status");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"version\":2");
    assert_null(strstr(r.out, "\"health_flag\":true"));
    harness_run_free(&r);

    /* every read is in the audit trail, refused ones too; the status is not a read of it */
    assert_int_equal(audit_rows("Intakes/GetIntake", client, "OK"), 4);
    assert_int_equal(audit_rows("Intakes/GetIntake", client, "NOT_FOUND"), 1);
    assert_true(audit_rows("Intakes/GetIntake", client, "PERMISSION_DENIED") >= 3);

    /* no version can change or go, whoever connects */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE client_intakes SET conditions = 'x' WHERE client_id = %lld",
             client);
    assert_null(harness_sql(db_url, sql));
    snprintf(sql, sizeof sql, "DELETE FROM client_intakes WHERE client_id = %lld", client);
    assert_null(harness_sql(db_url, sql));
    assert_null(harness_sql(db_url, "TRUNCATE client_intakes"));
    assert_int_equal(
        sql_number("SELECT count(*) FROM client_intakes WHERE client_id = %lld", client), 2);
    /* the session ends cancelled: therapist 1's time is free for the next test's */
    assert_true(sql_number("UPDATE appointments SET status = 'cancelled' WHERE id = %s"
                           " RETURNING id",
                           appt) > 0);

    /* bad input: a name that is no red flag, too long an answer */
    EXPECT(desk, 2, "constant_night_pain", "intake", "record", c, "--red-flags", "back_ache");
    Clinic__V1__RecordIntakeRequest req = CLINIC__V1__RECORD_INTAKE_REQUEST__INIT;
    Clinic__V1__Intake in = CLINIC__V1__INTAKE__INIT;
    Clinic__V1__RedFlag twice[] = {CLINIC__V1__RED_FLAG__RED_FLAG_CANCER_HISTORY,
                                   CLINIC__V1__RED_FLAG__RED_FLAG_CANCER_HISTORY};
    char *long_text = malloc(4002);
    assert_non_null(long_text);
    memset(long_text, 'a', 4001);
    long_text[4001] = '\0';
    in.conditions = long_text;
    in.red_flags = twice;
    in.n_red_flags = 2;
    req.client_id = client;
    req.intake = &in;
    clinic_client *admin = harness_connect_as(daemon_.url, daemon_.admin_token);
    struct clinic_error err = {0};
    assert_int_equal(harness_call(admin, "Intakes/RecordIntake", &req,
                                  &clinic__v1__intake_status__descriptor, NULL, true, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "intake.conditions"));
    assert_true(harness_has_violation(&err, "intake.red_flags"));
    free(long_text);
    clinic_close(admin);
}

static void consent_comes_before_check_in_and_sensitive_areas(void **state)
{
    (void)state;
    char c[24], appt[24];
    long long client = new_client("Omar Haddad", c, sizeof c);
    session_now(client, appt, sizeof appt);

    /* no consent: the appointment says so, and check-in is refused, saying what to do */
    EXPECT(desk, 0, "no general consent on file", "appointment", appt);
    EXPECT(desk, STATUS_FAILED_PRECONDITION, "has not given general consent", "check-in", appt);
    EXPECT(desk, 0, "Recorded consent", "consent", "give", c, "--kind", "general", "--how",
           "signed form");
    /* giving it again keeps the one in force */
    EXPECT(desk, 0, "Recorded consent", "consent", "give", c, "--kind", "general", "--how",
           "again");
    assert_int_equal(
        sql_number("SELECT count(*) FROM client_consents WHERE client_id = %lld", client), 1);
    EXPECT(desk, 0, "checked in", "check-in", appt);

    /* the session's note names the glutes: no signature without written consent for them */
    EXPECT(therapist, 0, "Drafted", "note", "draft", appt, "--pain-before", "6", "--pain-after",
           "3", "--areas", "lower_back,glutes", "--techniques", "myofascial_release");
    long long note = sql_number("SELECT id FROM treatment_notes WHERE appointment_id = %lld",
                                strtoll(appt, NULL, 10));
    char note_id[24];
    snprintf(note_id, sizeof note_id, "%lld", note);
    EXPECT(therapist, STATUS_FAILED_PRECONDITION, "sensitive area (gluteal)", "note", "sign",
           note_id);

    /* a contraindication recorded meanwhile (by the therapist, who treats the client): the note
     * waits for the therapist's decision too */
    EXPECT(therapist, 0, "Recorded version 1", "intake", "record", c, "--contraindications",
           "suspected_dvt");
    EXPECT(desk, 0, "red flag", "appointment", appt);
    EXPECT(therapist, 0, "Recorded consent", "consent", "give", c, "--kind", "gluteal", "--how",
           "signed form, gluteal work explained");
    EXPECT(therapist, STATUS_FAILED_PRECONDITION, "record your decision", "note", "sign", note_id);
    EXPECT(therapist, 2, "treat, treat-with-changes or refer-out", "note", "decide", note_id,
           "--decision", "-", "--reason", "x");
    EXPECT(therapist, 0, "treat with changes", "note", "decide", note_id, "--decision",
           "treat-with-changes", "--reason", "no work on the calves; GP letter asked for");
    /* a newer history after the decision asks for the decision again */
    EXPECT(desk, 0, "Recorded version 2", "intake", "record", c, "--contraindications",
           "suspected_dvt", "--conditions", "calf swelling");
    EXPECT(therapist, STATUS_FAILED_PRECONDITION, "after your decision on version 1", "note",
           "sign", note_id);
    EXPECT(therapist, 0, "version 2", "note", "decide", note_id, "--decision", "treat-with-changes",
           "--reason", "no work on the legs until the GP has seen it");
    EXPECT(therapist, 0, "Signed", "note", "sign", note_id);
    struct harness_run r = CLINIC_AS(therapist, "note", "show", note_id);
    harness_assert_contains(r.out, "Decision on the health history (version 2)");
    harness_assert_contains(r.out, "until the GP has seen it");
    harness_run_free(&r);

    /* withdrawn: recorded with its reason, never deleted */
    EXPECT(desk, 0, "withdrawn", "consent", "withdraw", c, "--kind", "gluteal", "--reason",
           "client prefers no gluteal work");
    EXPECT(desk, STATUS_FAILED_PRECONDITION, "no gluteal consent in force", "consent", "withdraw",
           c, "--kind", "gluteal", "--reason", "again");
    r = CLINIC_AS(therapist, "consent", "list", c);
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "client prefers no gluteal work");
    harness_assert_contains(r.out, "in force");
    harness_run_free(&r);
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM client_consents WHERE client_id = %lld", client);
    assert_null(harness_sql(db_url, sql));
    snprintf(sql, sizeof sql, "UPDATE client_consents SET how = 'x' WHERE client_id = %lld",
             client);
    assert_null(harness_sql(db_url, sql));
    assert_true(audit_rows("Consents/ListConsents", client, "OK") >= 1);
    /* a consent dated in the future is refused */
    EXPECT(desk, STATUS_INVALID_ARGUMENT, "future", "consent", "give", c, "--kind", "breast",
           "--how", "form", "--given-at", "2999-01-01 10:00");
    /* a therapist who does not treat the client records nothing for them */
    EXPECT(stranger, STATUS_PERMISSION_DENIED, NULL, "consent", "give", c, "--kind", "breast",
           "--how", "form");
}

/* A booking's answer carries the client's care alerts, as the day sheet and the agenda do: no
 * health history, no consent, then a history recorded now that will be over a year old by a
 * session booked 400 days ahead. */
static void bookings_and_day_sheets_show_care_alerts(void **state)
{
    (void)state;
    char c[24];
    long long client = new_client("Pia Lund", c, sizeof c);
    char *start = harness_sql(db_url, "SELECT to_char(now() AT TIME ZONE 'Europe/Berlin'"
                                      " + interval '400 days', 'YYYY-MM-DD') || ' 10:00'");
    assert_non_null(start);
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = client;
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.therapist_id = clinic.therapist_ids[1];
    req.start_time = start;
    clinic_client *admin = harness_connect_as(daemon_.url, daemon_.admin_token);
    Clinic__V1__Appointment *a = NULL;
    struct clinic_error err = {0};
    assert_int_equal(harness_call(admin, "Scheduling/Book", &req,
                                  &clinic__v1__appointment__descriptor, &a, true, NULL, &err),
                     0);
    assert_int_equal(a->n_care_alerts, 2);
    assert_int_equal(a->care_alerts[0], CLINIC__V1__CARE_ALERT__CARE_ALERT_INTAKE_MISSING);
    assert_int_equal(a->care_alerts[1], CLINIC__V1__CARE_ALERT__CARE_ALERT_CONSENT_MISSING);
    char day[11];
    snprintf(day, sizeof day, "%.10s", a->start_time);
    harness_free_message(a);

    EXPECT(desk, 0, "Recorded", "intake", "record", c, "--conditions", "stiff neck");
    EXPECT(desk, 0, "Recorded", "consent", "give", c, "--kind", "general", "--how", "online");
    EXPECT(desk, 0, "Pia Lund [intake over a year old]", "day", "--date", day);
    char therapist2[24];
    snprintf(therapist2, sizeof therapist2, "%lld", clinic.therapist_ids[1]);
    EXPECT(desk, 0, "intake over a year old", "agenda", therapist2, "--from", day);
    struct harness_run r = CLINIC_AS(desk, "--json", "day", "--date", day);
    harness_assert_contains(r.out, "CARE_ALERT_INTAKE_OUT_OF_DATE");
    /* the desk sees that a flag exists, never what the history says */
    assert_null(strstr(r.out, "stiff neck"));
    harness_run_free(&r);
    free(start);
    clinic_close(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_history_is_versioned_and_read_only_by_care),
        cmocka_unit_test(consent_comes_before_check_in_and_sensitive_areas),
        cmocka_unit_test(bookings_and_day_sheets_show_care_alerts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
