/* Reports against a live daemon: a fortnight of one therapist's sessions, written by SQL with
 * every outcome a day can have (attended, a no-show, a late and a timely cancellation, one
 * never recorded, courses completed, ended early and in progress), is reported through the
 * daemon and the `clinic` tool with the numbers worked out by hand here: utilisation over the
 * hours less a day off, attendance rates, new and returning clients, courses. The front desk
 * may read reports; a therapist and a client may not. CSV output is RFC 4180 and a name that a
 * spreadsheet would run as a formula is defused. Revenue is the receipts issued today: a package
 * sold, two sessions paid and one of them voided, with 19 % tax included in the prices.
 *
 * The fortnight is computed from today (20 to 7 days ago, in the clinic's zone), so the test
 * passes on any day of any year. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/reports.pb-c.h"
#include "harness.h"
#include "status.h"

#define ZONE "Europe/Berlin"
#define DAYS 14

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];
static char first[11], last[11]; /* the fortnight: 20 to 7 days ago */
static char desk[64], therapist[64], client[64];

/* One session of client `who` at 10:00 on day `day` of the fortnight (negative: before it; past
 * the end: after it), in `status`, of course `course` (0: none). */
static void add_session(int day, int who, const char *status, bool late, long long course)
{
    char when[11];
    harness_date_add(first, day, when, sizeof when);
    long long id = harness_sql_id(
        db_url,
        "WITH t AS (SELECT ('%s 10:00'::timestamp AT TIME ZONE '" ZONE "') AS s)"
        " INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked, status, late_cancel, course_id)"
        " SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '60 minutes',"
        " tstzrange(s, s + interval '75 minutes'), '%s', %s, %s FROM t RETURNING id",
        when, clinic.client_ids[who], clinic.therapist_ids[0], clinic.room_ids[0],
        clinic.service_id, clinic.location_id, status, late ? "true" : "false",
        course ? "(SELECT max(id) FROM courses)" : "NULL");
    assert_true(id > 0);
}

static long long add_course(int who)
{
    return harness_sql_id(db_url,
                          "INSERT INTO courses (client_id, therapist_id, service_id, location_id)"
                          " VALUES (%lld, %lld, %lld, %lld) RETURNING id",
                          clinic.client_ids[who], clinic.therapist_ids[0], clinic.service_id,
                          clinic.location_id);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "reports", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 1, 5, &clinic))
        return -1;
    char *today = harness_sql(db_url, "SELECT ((now() AT TIME ZONE '" ZONE "')::date)::text");
    if (!today)
        return -1;
    harness_date_add(today, -20, first, sizeof first);
    harness_date_add(first, DAYS - 1, last, sizeof last);
    free(today);
    /* a day off on the fortnight's fourth day: 480 of its 14 x 480 working minutes */
    char off[11], off_end[11];
    harness_date_add(first, 3, off, sizeof off);
    harness_date_add(first, 4, off_end, sizeof off_end);
    if (harness_sql_id(db_url,
                       "INSERT INTO time_off (therapist_id, during) VALUES (%lld, tstzrange("
                       "'%s'::timestamp AT TIME ZONE '" ZONE
                       "', '%s'::timestamp AT TIME ZONE '" ZONE "')) RETURNING id",
                       clinic.therapist_ids[0], off, off_end) <= 0)
        return -1;
    /* 60.00 a session, 19 % tax included: what the sessions written below are charged */
    if (harness_sql_id(db_url,
                       "UPDATE services SET price_cents = 6000, tax_rate_bp = 1900 WHERE id = %lld"
                       " RETURNING id",
                       clinic.service_id) != clinic.service_id)
        return -1;
    return harness_person(db_url, daemon_.url, "desk@reports.test", "front_desk", 0, 0, desk,
                          sizeof desk) &&
                   harness_person(db_url, daemon_.url, "t@reports.test", "therapist",
                                  clinic.therapist_ids[0], 0, therapist, sizeof therapist) &&
                   harness_person(db_url, daemon_.url, "c@reports.test", "client", 0,
                                  clinic.client_ids[1], client, sizeof client)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* The fortnight's sessions, all at 10:00 in room A with the one therapist:
 *   client 1: a session a month before (so returning), course A of three sessions all attended
 *             (days 0-2), and one more session attended on day 10;
 *   client 2: course B: day 4 attended, day 5 a no-show (ended early); day 7 cancelled late;
 *   client 3: course C: day 6 attended, one more in a week (in progress); day 8 cancelled in time;
 *   client 4: day 9, still booked: never recorded. Day 3 is the day off. */
static void write_fortnight(void)
{
    add_session(-30, 1, "completed", false, 0);
    add_course(1);
    for (int d = 0; d < 3; d++)
        add_session(d, 1, "completed", false, 1);
    add_course(2);
    add_session(4, 2, "completed", false, 1);
    add_session(5, 2, "no_show", false, 1);
    add_course(3);
    add_session(6, 3, "completed", false, 1);
    add_session(27, 3, "booked", false, 1); /* a week from today */
    add_session(7, 2, "cancelled", true, 0);
    add_session(8, 3, "cancelled", false, 0);
    add_session(9, 4, "booked", false, 0);
    add_session(10, 1, "completed", false, 0);
}

static void *report(const char *token, const char *method, const ProtobufCMessageDescriptor *type,
                    const char *from, const char *to, int expect, const char *violation)
{
    Clinic__V1__ReportRequest req = CLINIC__V1__REPORT_REQUEST__INIT;
    req.location_id = clinic.location_id;
    req.first_day = (char *)from;
    req.last_day = (char *)to;
    clinic_client *c = harness_connect_as(daemon_.url, token);
    assert_non_null(c);
    void *out = NULL;
    struct clinic_error err = {0};
    int code = harness_call(c, method, &req, type, &out, false, NULL, &err);
    if (code != expect)
        fail_msg("%s answered %d (%s), not %d", method, code, err.message, expect);
    if (violation)
        assert_true(harness_has_violation(&err, violation));
    clinic_close(c);
    return out;
}

static void assert_near(double got, double want)
{
    if (fabs(got - want) > 0.0001)
        fail_msg("got %.4f, want %.4f", got, want);
}

static void test_numbers_of_a_fortnight(void **state)
{
    (void)state;
    write_fortnight();

    Clinic__V1__UtilisationReport *u =
        report(desk, "Reports/Utilisation", &clinic__v1__utilisation_report__descriptor, first,
               last, STATUS_OK, NULL);
    assert_string_equal(u->period->time_zone, ZONE);
    assert_string_equal(u->period->first_day, first);
    /* the therapist, rooms A and B */
    assert_int_equal(u->n_rows, 3);
    assert_string_equal(u->rows[0]->kind, "therapist");
    assert_int_equal(u->rows[0]->working_minutes, (DAYS - 1) * 480);
    /* six attended, the no-show and the one never recorded held their hour */
    assert_int_equal(u->rows[0]->booked_minutes, 8 * 60);
    assert_int_equal(u->rows[0]->sessions, 8);
    assert_near(u->rows[0]->utilisation, 480.0 / (13 * 480));
    assert_string_equal(u->rows[1]->kind, "room");
    assert_int_equal(u->rows[1]->id, clinic.room_ids[0]);
    assert_int_equal(u->rows[1]->booked_minutes, 8 * 60);
    assert_int_equal(u->rows[1]->working_minutes, (DAYS - 1) * 480);
    assert_int_equal(u->rows[2]->booked_minutes, 0);
    assert_string_equal(u->total->kind, "total");
    assert_int_equal(u->total->booked_minutes, 8 * 60);
    harness_free_message(u);

    Clinic__V1__AttendanceReport *a =
        report(desk, "Reports/Attendance", &clinic__v1__attendance_report__descriptor, first, last,
               STATUS_OK, NULL);
    assert_int_equal(a->n_rows, 1); /* only client 2 missed */
    assert_int_equal(a->rows[0]->client_id, clinic.client_ids[2]);
    assert_int_equal(a->rows[0]->due, 3);
    assert_int_equal(a->rows[0]->no_shows, 1);
    assert_int_equal(a->rows[0]->late_cancels, 1);
    assert_int_equal(a->total->due, 9); /* not the timely cancellation */
    assert_int_equal(a->total->attended, 6);
    assert_int_equal(a->total->unrecorded, 1);
    assert_near(a->total->no_show_rate, 1.0 / 9);
    assert_near(a->total->late_cancel_rate, 1.0 / 9);
    harness_free_message(a);

    Clinic__V1__ClientsReport *c =
        report(desk, "Reports/Clients", &clinic__v1__clients_report__descriptor, first, last,
               STATUS_OK, NULL);
    assert_int_equal(c->total->new_clients, 2);       /* clients 2 and 3 */
    assert_int_equal(c->total->returning_clients, 1); /* client 1 */
    assert_int_equal(c->total->attended_sessions, 6);
    long long by_month = 0;
    for (size_t i = 0; i < c->n_rows; i++)
        by_month += c->rows[i]->attended_sessions;
    assert_int_equal(by_month, 6);
    harness_free_message(c);

    Clinic__V1__CoursesReport *k =
        report(desk, "Reports/Courses", &clinic__v1__courses_report__descriptor, first, last,
               STATUS_OK, NULL);
    assert_int_equal(k->n_rows, 1);
    assert_int_equal(k->rows[0]->service_id, clinic.service_id);
    assert_int_equal(k->total->started, 3);
    assert_int_equal(k->total->completed, 1);
    assert_int_equal(k->total->ended_early, 1);
    assert_int_equal(k->total->in_progress, 1);
    assert_int_equal(k->total->sessions_attended, 5);
    assert_near(k->total->completion_rate, 0.5);
    harness_free_message(k);

    /* a period before any of it: zeros and a total, not an error */
    char before[11];
    harness_date_add(first, -400, before, sizeof before);
    a = report(desk, "Reports/Attendance", &clinic__v1__attendance_report__descriptor, before,
               before, STATUS_OK, NULL);
    assert_int_equal(a->n_rows, 0);
    assert_int_equal(a->total->due, 0);
    assert_near(a->total->no_show_rate, 0);
    harness_free_message(a);
}

static void test_who_may_read_them(void **state)
{
    (void)state;
    report(therapist, "Reports/Utilisation", &clinic__v1__utilisation_report__descriptor, first,
           last, STATUS_PERMISSION_DENIED, NULL);
    report(client, "Reports/Attendance", &clinic__v1__attendance_report__descriptor, first, last,
           STATUS_PERMISSION_DENIED, NULL);
    harness_cli_expect(daemon_.url, client, STATUS_PERMISSION_DENIED, NULL,
                       (const char *const[]){"report", "courses", "--location", "1", NULL});
}

static void test_bad_periods_are_told(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *d = &clinic__v1__courses_report__descriptor;
    report(desk, "Reports/Courses", d, "", last, STATUS_INVALID_ARGUMENT, "first_day");
    report(desk, "Reports/Courses", d, first, "2026-02-30", STATUS_INVALID_ARGUMENT, "last_day");
    report(desk, "Reports/Courses", d, last, first, STATUS_INVALID_ARGUMENT, "last_day");
    char far[11];
    harness_date_add(first, 3700, far, sizeof far);
    report(desk, "Reports/Courses", d, first, far, STATUS_INVALID_ARGUMENT, "last_day");

    Clinic__V1__ReportRequest req = CLINIC__V1__REPORT_REQUEST__INIT;
    req.location_id = 999999;
    req.first_day = first;
    req.last_day = last;
    clinic_client *c = harness_connect_as(daemon_.url, desk);
    struct clinic_error err = {0};
    assert_int_equal(harness_call(c, "Reports/Courses", &req, d, NULL, false, NULL, &err),
                     STATUS_NOT_FOUND);
    harness_assert_contains(err.message, "location 999999 does not exist");
    clinic_close(c);

    harness_cli_expect(
        daemon_.url, desk, STATUS_INVALID_ARGUMENT, "--to must not be before",
        (const char *const[]){"report", "clients", "--from", last, "--to", first, NULL});
    harness_cli_expect(daemon_.url, desk, 2, "choose one of --csv and --json",
                       (const char *const[]){"report", "clients", "--csv", "--json", NULL});
}

/* Pays client 1's oldest open charge (a session of the fortnight) as the desk; its receipt's
 * number. */
static long long pay_oldest_charge(void)
{
    long long charge = harness_sql_id(db_url,
                                      "SELECT min(id) FROM charges WHERE client_id = %lld"
                                      " AND status = 'open'",
                                      clinic.client_ids[1]);
    assert_true(charge > 0);
    char id[24];
    snprintf(id, sizeof id, "%lld", charge);
    harness_cli_expect(daemon_.url, desk, 0, NULL,
                       (const char *const[]){"charge", "pay", id, "--paid-by", "card", NULL});
    return harness_sql_id(db_url, "SELECT number FROM receipts WHERE charge_id = %lld", charge);
}

static void test_revenue_is_the_money_taken(void **state)
{
    (void)state;
    char client4[24], service[24], today[11];
    snprintf(client4, sizeof client4, "%lld", clinic.client_ids[4]);
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    char *t = harness_sql(db_url, "SELECT ((now() AT TIME ZONE '" ZONE "')::date)::text");
    snprintf(today, sizeof today, "%s", t);
    free(t);
    harness_cli_expect(daemon_.url, desk, 0, NULL,
                       (const char *const[]){"package", "sell", "--client", client4, "--service",
                                             service, "--sessions", "5", "--price", "300",
                                             "--paid-by", "transfer", NULL});
    pay_oldest_charge();
    char voided[24];
    snprintf(voided, sizeof voided, "%lld", pay_oldest_charge());
    harness_cli_expect(daemon_.url, desk, 0, NULL,
                       (const char *const[]){"receipt", "void", voided, "--reason",
                                             "paid twice by mistake", NULL});

    Clinic__V1__RevenueReport *r =
        report(desk, "Reports/Revenue", &clinic__v1__revenue_report__descriptor, today, today,
               STATUS_OK, NULL);
    /* the therapist, the package sales, the service */
    assert_int_equal(r->n_rows, 3);
    Clinic__V1__RevenueRow *package = NULL, *giver = NULL, *svc = NULL;
    for (size_t i = 0; i < r->n_rows; i++) {
        if (strcmp(r->rows[i]->kind, "service") == 0)
            svc = r->rows[i];
        else if (r->rows[i]->id == 0)
            package = r->rows[i];
        else
            giver = r->rows[i];
    }
    assert_non_null(package);
    assert_non_null(giver);
    assert_non_null(svc);
    /* 300.00 with 19 % in it: 300 - 300 / 1.19 = 47.90 of tax */
    assert_string_equal(package->name, "package sales");
    assert_int_equal(package->gross_cents, 30000);
    assert_int_equal(package->tax_cents, 4790);
    assert_int_equal(package->sessions, 0);
    /* two sessions of 60.00 paid, one voided: 60.00 kept, 9.58 of it tax */
    assert_int_equal(giver->id, clinic.therapist_ids[0]);
    assert_int_equal(giver->receipts, 3);
    assert_int_equal(giver->sessions, 2);
    assert_int_equal(giver->gross_cents, 6000);
    assert_int_equal(giver->tax_cents, 958);
    assert_int_equal(giver->net_cents, 5042);
    assert_int_equal(svc->gross_cents, 36000);
    assert_int_equal(r->total->receipts, 4);
    assert_int_equal(r->total->gross_cents, 36000);
    assert_int_equal(r->total->net_cents + r->total->tax_cents, 36000);
    assert_string_equal(r->total->currency, "EUR");
    harness_free_message(r);

    struct harness_run run = harness_cli_as(
        daemon_.url, desk,
        (const char *const[]){"report", "revenue", "--from", today, "--to", today, "--csv", NULL});
    assert_int_equal(run.status, 0);
    harness_assert_contains(run.out, "total,,all,4,2,302.52,57.48,360.00,EUR\r\n");
    harness_run_free(&run);
}

/* The tool's table and CSV carry the same numbers; a name beginning with '=' is defused. */
static void test_the_tool_prints_tables_and_csv(void **state)
{
    (void)state;
    assert_true(harness_sql_id(db_url,
                               "UPDATE clients SET name = '=HYPERLINK(\"x\"), Two'"
                               " WHERE id = %lld RETURNING id",
                               clinic.client_ids[2]) > 0);
    struct harness_run r = harness_cli_as(
        daemon_.url, desk,
        (const char *const[]){"report", "attendance", "--from", first, "--to", last, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Attendance at ");
    harness_assert_contains(r.out, "11.1%");
    harness_run_free(&r);

    r = harness_cli_as(daemon_.url, desk,
                       (const char *const[]){"report", "attendance", "--from", first, "--to", last,
                                             "--csv", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "KIND,ID,CLIENT,DUE,ATTENDED,NO_SHOWS,NO_SHOW_RATE,"
                                   "LATE_CANCELS,LATE_CANCEL_RATE,UNRECORDED\r\n");
    char line[160];
    snprintf(line, sizeof line,
             "client,%lld,\"'=HYPERLINK(\"\"x\"\"), Two\",3,1,1,33.3%%,1,33.3%%,0\r\n",
             clinic.client_ids[2]);
    harness_assert_contains(r.out, line);
    harness_assert_contains(r.out, "total,,all clients,9,6,1,11.1%,1,11.1%,1\r\n");
    harness_run_free(&r);

    r = harness_cli_as(daemon_.url, desk,
                       (const char *const[]){"report", "utilisation", "--from", first, "--to", last,
                                             "--json", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"booked_minutes\":\"480\"");
    harness_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_of_a_fortnight),
        cmocka_unit_test(test_who_may_read_them),
        cmocka_unit_test(test_bad_periods_are_told),
        cmocka_unit_test(test_the_tool_prints_tables_and_csv),
        cmocka_unit_test(test_revenue_is_the_money_taken),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
