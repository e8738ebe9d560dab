/* Packages, fees and receipts against a live daemon, mostly through the `clinic` tool: the desk
 * sells a package (its receipt issued), completed sessions draw from it one by one (each with a
 * receipt of nothing due) until it is used up, and the next session is charged its price; the
 * charge is paid and receipted, shown as text and as an HTML page with every field escaped; a
 * package past its last day pays nothing; late cancellations and no-shows are charged the
 * location's fee with the package policy off and draw from the package with it on, and an undo
 * gives the draw back; a paid session is not undone until its receipt is voided (a correction
 * with the next number); a voided receipt stays as it was. Clients see their own, therapists
 * the receipts of their own sessions, the desk everything; every bad input is refused with a
 * sentence naming the option or field.
 *
 * Sessions are written by SQL a minute before now, each with a therapist and room of its own
 * (the seeded therapist's when a therapist's view is tested), so that they can be completed at
 * once; a late cancellation is three hours ahead (the window is 24 hours). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/billing.pb-c.h"
#include "harness.h"
#include "status.h"

#define ZONE "Europe/Berlin"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];
static char desk[64], token_a[64], token_b[64], token_t1[64];
static char client_a[24], client_b[24], client_c[24], service[24], location[24];
static int next_session = 1;

#define EXPECT(token, status, says, ...)                                                           \
    harness_cli_expect(daemon_.url, (token), (status), (says),                                     \
                       (const char *const[]){__VA_ARGS__, NULL})

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "billing", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 1, 3, &clinic))
        return -1;
    snprintf(client_a, sizeof client_a, "%lld", clinic.client_ids[0]);
    snprintf(client_b, sizeof client_b, "%lld", clinic.client_ids[1]);
    snprintf(client_c, sizeof client_c, "%lld", clinic.client_ids[2]);
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    snprintf(location, sizeof location, "%lld", clinic.location_id);
    /* a name that HTML would take for markup */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE clients SET name = 'Zoë <script>alert(\"x\")</script> & Co' WHERE id = %lld"
             " RETURNING id",
             clinic.client_ids[0]);
    if (harness_sql_id(db_url, "%s", sql) < 0)
        return -1;
    const char *url = daemon_.url;
    return harness_person(db_url, url, "desk@bill.test", "front_desk", 0, 0, desk, sizeof desk) &&
                   harness_person(db_url, url, "a@bill.test", "client", 0, clinic.client_ids[0],
                                  token_a, sizeof token_a) &&
                   harness_person(db_url, url, "b@bill.test", "client", 0, clinic.client_ids[1],
                                  token_b, sizeof token_b) &&
                   harness_person(db_url, url, "t1@bill.test", "therapist", clinic.therapist_ids[0],
                                  0, token_t1, sizeof token_t1)
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

/* A one-hour session of the seeded service for client `who` (an index), `minutes` from now, in
 * `status`; with the seeded therapist when own_therapist, else with a therapist and room of its
 * own. Its id, as text, in out. */
static void session(int who, int minutes, const char *status, bool own_therapist, char *out,
                    size_t len)
{
    char sql[1400];
    int n = next_session++;
    long long therapist = clinic.therapist_ids[0];
    if (!own_therapist)
        therapist = harness_sql_id(db_url,
                                   "INSERT INTO therapists (name, email) VALUES ('Therapist x%d',"
                                   " 'tx%d@bill.example') RETURNING id",
                                   n, n);
    assert_true(therapist > 0);
    snprintf(sql, sizeof sql,
             "WITH r AS (INSERT INTO rooms (location_id, name) VALUES (%lld, 'Room x%d')"
             " RETURNING id)"
             " INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
             " start_at, end_at, blocked, status) SELECT %lld, %lld, r.id, %lld, %lld, s, e,"
             " tstzrange(s, e), '%s' FROM r, (SELECT date_trunc('second', now())"
             " + make_interval(mins => %d) AS s, date_trunc('second', now())"
             " + make_interval(mins => %d + 60) AS e) w RETURNING id",
             clinic.location_id, n, clinic.client_ids[who], therapist, clinic.service_id,
             clinic.location_id, status, minutes, minutes);
    char *id = harness_sql(db_url, sql);
    assert_non_null(id);
    assert_true(atoll(id) > 0);
    snprintf(out, len, "%s", id);
    free(id);
}

/* "  label              value": a line of a record as the tool prints it. */
static const char *line(const char *label, const char *value)
{
    static char out[4][256];
    static int next;
    char *l = out[next++ % 4];
    snprintf(l, sizeof out[0], "  %-18s %s", label, value);
    return l;
}

/* The first column of the first row of sql, as text in out. */
static void sql_text(const char *sql, char *out, size_t len)
{
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    snprintf(out, len, "%s", v);
    free(v);
}

/* The id of client `who`'s newest package of the seeded service. */
static void package_of(int who, char *out, size_t len)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT max(id) FROM packages WHERE client_id = %lld",
             clinic.client_ids[who]);
    sql_text(sql, out, len);
}

/* The id of the open charge of appointment `appt`. */
static void charge_of(const char *appt, char *out, size_t len)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT max(id) FROM charges WHERE appointment_id = %s AND status = 'open'", appt);
    sql_text(sql, out, len);
}

/* ------------------------------------------------------------------ settings */

static void money_settings_are_checked_and_shown(void **state)
{
    (void)state;
    EXPECT(daemon_.admin_token, 0, "65.00, tax included: 19.00 %", "admin", "service", "update",
           service, "--price", "65", "--tax-rate", "19");
    EXPECT(daemon_.admin_token, 2, "--tax-rate must be a percent from 0 to 100", "admin", "service",
           "update", service, "--tax-rate", "120");
    EXPECT(daemon_.admin_token, STATUS_INVALID_ARGUMENT, "ISO 4217", "admin", "location", "update",
           location, "--currency", "euro");
    EXPECT(daemon_.admin_token, 2, "--late-cancel-fee must be an amount", "admin", "location",
           "update", location, "--late-cancel-fee", "lots");
    EXPECT(daemon_.admin_token, 2, NULL, "admin", "location", "update", location,
           "--package-draw-no-show", "maybe");
    EXPECT(daemon_.admin_token, 0, "50 % of the price", "admin", "location", "update", location,
           "--late-cancel-fee", "50%", "--no-show-fee", "20", "--currency", "EUR");
    EXPECT(daemon_.admin_token, 0, line("no-show fee", "20.00"), "admin", "location", "get",
           location);
    /* an amount replaces a percent, and back */
    EXPECT(daemon_.admin_token, 0, line("late-cancel fee", "12.50"), "admin", "location", "update",
           location, "--late-cancel-fee", "12.50");
    EXPECT(daemon_.admin_token, 0, line("late-cancel fee", "50 % of the price"), "admin",
           "location", "update", location, "--late-cancel-fee", "50%");
    EXPECT(desk, STATUS_PERMISSION_DENIED, NULL, "admin", "location", "update", location,
           "--no-show-fee", "none");
}

/* ------------------------------------------------------------------ packages */

static void sessions_draw_from_a_package_then_are_charged(void **state)
{
    (void)state;
    char pkg[24], s1[24], s2[24], s3[24], charge[24];
    EXPECT(desk, STATUS_INVALID_ARGUMENT, "cash, card, transfer or voucher", "package", "sell",
           "--client", client_a, "--service", service, "--sessions", "2", "--price", "120",
           "--paid-by", "cheque");
    EXPECT(desk, STATUS_INVALID_ARGUMENT, "--sessions", "package", "sell", "--client", client_a,
           "--service", service, "--sessions", "0", "--price", "120", "--paid-by", "card");
    EXPECT(desk, STATUS_INVALID_ARGUMENT, "--months", "package", "sell", "--client", client_a,
           "--service", service, "--sessions", "2", "--price", "120", "--paid-by", "card",
           "--months", "0");
    EXPECT(desk, STATUS_NOT_FOUND, "client 999999 does not exist", "package", "sell", "--client",
           "999999", "--service", service, "--sessions", "2", "--price", "120", "--paid-by",
           "card");
    EXPECT(token_a, STATUS_PERMISSION_DENIED, NULL, "package", "sell", "--client", client_a,
           "--service", service, "--sessions", "2", "--price", "120", "--paid-by", "card");
    EXPECT(desk, 0, "2 of 2 left", "package", "sell", "--client", client_a, "--service", service,
           "--sessions", "2", "--price", "120", "--paid-by", "card");
    package_of(0, pkg, sizeof pkg);
    /* the sale's receipt: 120.00 = 100.84 net + 19.16 tax */
    struct harness_run r =
        harness_cli_as(daemon_.url, desk, (const char *const[]){"receipt", "show", "1", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Receipt 1: Clinic " ZONE);
    harness_assert_contains(r.out, "EUR 120.00");
    harness_assert_contains(r.out, "EUR 100.84");
    harness_assert_contains(r.out, "EUR 19.16");
    harness_assert_contains(r.out, line("paid by", "card"));
    harness_run_free(&r);

    /* one after the other (a client is in one session at a time), all begun */
    session(0, -62, "checked_in", true, s1, sizeof s1);
    session(0, -123, "checked_in", false, s2, sizeof s2);
    session(0, -184, "checked_in", false, s3, sizeof s3);
    EXPECT(daemon_.admin_token, 0, NULL, "complete", s1);
    EXPECT(desk, 0, "1 of 2 left", "package", "show", pkg);
    EXPECT(desk, 0, "session 1 of 2: EUR 0.00 due", "receipt", "show", "2");
    EXPECT(daemon_.admin_token, 0, NULL, "complete", s2);
    r = harness_cli_as(daemon_.url, desk, (const char *const[]){"package", "show", pkg, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "0 of 2 left (2 used)");
    harness_assert_contains(r.out, line("state", "used"));
    harness_assert_contains(r.out, ": session, 2 of 2");
    harness_run_free(&r);
    /* used up: the third session is charged its price */
    EXPECT(daemon_.admin_token, 0, NULL, "complete", s3);
    charge_of(s3, charge, sizeof charge);
    r = harness_cli_as(daemon_.url, desk,
                       (const char *const[]){"charge", "list", "--client", client_a, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "EUR 65.00");
    harness_assert_contains(r.out, "open");
    harness_run_free(&r);
    EXPECT(desk, STATUS_INVALID_ARGUMENT, "--paid-by", "charge", "pay", charge, "--paid-by",
           "gold");
    EXPECT(desk, 0, "Paid: issued receipt 4", "charge", "pay", charge, "--paid-by", "cash");
    EXPECT(desk, STATUS_FAILED_PRECONDITION, "cannot be paid again (receipt", "charge", "pay",
           charge, "--paid-by", "cash");
    /* text and HTML; the client's name is markup-free in the page */
    r = harness_cli_as(daemon_.url, desk,
                       (const char *const[]){"receipt", "show", "4", "--html", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "<!DOCTYPE html>");
    harness_assert_contains(r.out, "EUR 54.62");
    harness_assert_contains(r.out, "EUR 10.38");
    harness_assert_contains(r.out,
                            "Zoë &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co");
    assert_null(strstr(r.out, "<script>"));
    assert_null(strstr(r.out, "http"));
    harness_run_free(&r);
    EXPECT(desk, 0, "Zoë <script>", "receipt", "show", "4");
}

static void an_expired_package_pays_nothing(void **state)
{
    (void)state;
    char pkg[24], s[24], sql[200];
    EXPECT(desk, 0, "Sold package", "package", "sell", "--client", client_b, "--service", service,
           "--sessions", "5", "--price", "250", "--paid-by", "transfer", "--months", "1");
    package_of(1, pkg, sizeof pkg);
    /* as if its month had passed */
    snprintf(sql, sizeof sql,
             "UPDATE packages SET expires_on = (now() AT TIME ZONE '" ZONE "')::date - 1"
             " WHERE id = %s RETURNING id",
             pkg);
    assert_true(harness_sql_id(db_url, "%s", sql) > 0);
    session(1, -1, "checked_in", false, s, sizeof s);
    EXPECT(daemon_.admin_token, 0, NULL, "complete", s);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM charges WHERE appointment_id = %s", s);
    assert_int_equal(harness_sql_id(db_url, "%s", sql), 1);
    EXPECT(desk, 0, "expired", "package", "list", "--client", client_b, "--all");
    EXPECT(desk, 0, "5 of 5 left", "package", "show", pkg);
}

/* ------------------------------------------------------------------ fees */

static void late_cancels_and_no_shows_follow_the_policy(void **state)
{
    (void)state;
    char pkg[24], late1[24], miss1[24], late2[24], miss2[24], sql[256];
    EXPECT(desk, 0, "5 of 5 left", "package", "sell", "--client", client_c, "--service", service,
           "--sessions", "5", "--price", "250", "--paid-by", "voucher");
    package_of(2, pkg, sizeof pkg);
    /* policy off: fees */
    session(2, 180, "booked", false, late1, sizeof late1);
    session(2, -1, "booked", false, miss1, sizeof miss1);
    EXPECT(daemon_.admin_token, 0, "cancelled late", "cancel", late1, "--reason", "ill");
    EXPECT(daemon_.admin_token, 0, NULL, "no-show", miss1);
    struct harness_run r = harness_cli_as(
        daemon_.url, desk, (const char *const[]){"charge", "list", "--client", client_c, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "late cancellation");
    harness_assert_contains(r.out, "EUR 32.50");
    harness_assert_contains(r.out, "no-show");
    harness_assert_contains(r.out, "EUR 20.00");
    harness_run_free(&r);
    EXPECT(desk, 0, "5 of 5 left", "package", "show", pkg);
    /* policy on: the package pays with a session, no fee */
    EXPECT(daemon_.admin_token, 0, "a client's package pays it", "admin", "location", "update",
           location, "--package-draw-late-cancel", "on", "--package-draw-no-show", "on");
    session(2, 180, "booked", false, late2, sizeof late2);
    session(2, -1, "checked_in", false, miss2, sizeof miss2);
    EXPECT(daemon_.admin_token, 0, "cancelled late", "cancel", late2, "--reason", "ill again");
    EXPECT(daemon_.admin_token, 0, NULL, "no-show", miss2);
    EXPECT(desk, 0, "3 of 5 left", "package", "show", pkg);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM charges WHERE appointment_id IN (%s, %s)",
             late2, miss2);
    assert_int_equal(harness_sql_id(db_url, "%s", sql), 0);
    /* the no-show undone: the session is given back, the history keeps both rows */
    EXPECT(desk, 0, NULL, "undo", miss2, "--reason", "came after all");
    r = harness_cli_as(daemon_.url, desk, (const char *const[]){"package", "show", pkg, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "4 of 5 left");
    harness_assert_contains(r.out, "no-show, 2 of 5");
    harness_assert_contains(r.out, "given back (undone: came after all)");
    harness_run_free(&r);
    EXPECT(daemon_.admin_token, 0, NULL, "admin", "location", "update", location,
           "--package-draw-late-cancel", "off", "--package-draw-no-show", "off");
}

/* ------------------------------------------------------------------ corrections */

static void a_paid_session_is_undone_after_its_receipt_is_voided(void **state)
{
    (void)state;
    char s[24], charge[24], sql[256];
    session(0, -1, "checked_in", false, s, sizeof s);
    EXPECT(daemon_.admin_token, 0, NULL, "complete", s);
    charge_of(s, charge, sizeof charge);
    struct harness_run r = harness_cli_as(
        daemon_.url, desk,
        (const char *const[]){"--json", "charge", "pay", charge, "--paid-by", "cash", NULL});
    assert_int_equal(r.status, 0);
    snprintf(sql, sizeof sql, "SELECT number FROM receipts WHERE charge_id = %s", charge);
    char number[24];
    sql_text(sql, number, sizeof number);
    harness_run_free(&r);
    EXPECT(desk, STATUS_FAILED_PRECONDITION, "void that receipt first", "undo", s, "--reason",
           "wrong client");
    EXPECT(desk, 2, "--reason", "receipt", "void", number);
    EXPECT(desk, STATUS_INVALID_ARGUMENT, "--reason", "receipt", "void", number, "--reason", "");
    EXPECT(token_a, STATUS_PERMISSION_DENIED, NULL, "receipt", "void", number, "--reason", "x");
    EXPECT(desk, STATUS_NOT_FOUND, "receipt 99999 does not exist", "receipt", "void", "99999",
           "--reason", "x");
    r = harness_cli_as(daemon_.url, desk,
                       (const char *const[]){"receipt", "void", number, "--reason",
                                             "paid by card, not cash", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Voided: issued correction receipt");
    harness_assert_contains(r.out, "EUR -65.00");
    harness_assert_contains(r.out, "paid by card, not cash");
    harness_run_free(&r);
    EXPECT(desk, STATUS_FAILED_PRECONDITION, "already voided", "receipt", "void", number,
           "--reason", "again");
    /* the original reads as it did, and says what voided it */
    EXPECT(desk, 0, "voided by", "receipt", "show", number);
    EXPECT(desk, 0, NULL, "undo", s, "--reason", "wrong client");
    snprintf(sql, sizeof sql, "SELECT status FROM charges WHERE id = %s", charge);
    char status[24];
    sql_text(sql, status, sizeof status);
    assert_string_equal(status, "cancelled");
    /* not even the database's owner changes a receipt */
    assert_null(harness_sql(db_url, "UPDATE receipts SET gross_cents = 0 RETURNING id"));
    assert_null(harness_sql(db_url, "DELETE FROM receipts RETURNING id"));
    /* numbers run without a gap */
    char gaps[24];
    sql_text("SELECT count(*) FROM (SELECT number - row_number() OVER (ORDER BY number) AS g"
             " FROM receipts) x WHERE g <> 0",
             gaps, sizeof gaps);
    assert_string_equal(gaps, "0");
}

/* ------------------------------------------------------------------ who sees what */

static void each_sees_only_their_own(void **state)
{
    (void)state;
    char b_receipt[24], t1_receipt[24], sql[256];
    snprintf(sql, sizeof sql, "SELECT min(number) FROM receipts WHERE client_id = %lld",
             clinic.client_ids[1]);
    sql_text(sql, b_receipt, sizeof b_receipt);
    snprintf(sql, sizeof sql, "SELECT min(number) FROM receipts WHERE therapist_id = %lld",
             clinic.therapist_ids[0]);
    sql_text(sql, t1_receipt, sizeof t1_receipt);
    /* a client: their own receipts, packages and charges, nothing of anyone else's */
    struct harness_run r =
        harness_cli_as(daemon_.url, token_a, (const char *const[]){"receipt", "list", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Zoë");
    if (strstr(r.out, "Client 2"))
        fail_msg("client A sees client B's receipts:\n%s", r.out);
    harness_run_free(&r);
    EXPECT(token_a, STATUS_NOT_FOUND, "does not exist", "receipt", "show", b_receipt);
    EXPECT(token_b, 0, "Client 2", "receipt", "show", b_receipt);
    EXPECT(token_a, 0, "0 of 2", "package", "list", "--all");
    EXPECT(token_a, STATUS_PERMISSION_DENIED, NULL, "package", "list", "--client", client_b);
    EXPECT(token_a, STATUS_PERMISSION_DENIED, NULL, "charge", "list", "--client", client_b);
    EXPECT(token_a, STATUS_PERMISSION_DENIED, NULL, "charge", "pay", "1", "--paid-by", "cash");
    /* a therapist: the receipts of their own sessions, never a sale, never packages */
    EXPECT(token_t1, 0, line("therapist", "Therapist 1"), "receipt", "show", t1_receipt);
    EXPECT(token_t1, STATUS_NOT_FOUND, NULL, "receipt", "show", "1");
    EXPECT(token_t1, STATUS_PERMISSION_DENIED, NULL, "package", "list");
    EXPECT(token_t1, STATUS_PERMISSION_DENIED, NULL, "charge", "list");
    /* reads of a client's financial documents are audited */
    assert_true(harness_sql_id(db_url, "SELECT count(*) FROM audit WHERE method ="
                                       " '/clinic.v1.Billing/GetReceipt'") >= 3);
}

/* ------------------------------------------------------------------ the wire itself */

static void bad_requests_name_their_fields(void **state)
{
    (void)state;
    clinic_client *c = harness_connect_as(daemon_.url, desk);
    assert_non_null(c);
    struct clinic_error err;
    Clinic__V1__SellPackageRequest sell = CLINIC__V1__SELL_PACKAGE_REQUEST__INIT;
    sell.client_id = clinic.client_ids[0];
    sell.service_id = clinic.service_id;
    sell.location_id = clinic.location_id;
    sell.sessions = 101;
    sell.price_cents = -1;
    sell.valid_months = 0;
    sell.paid_by = "bitcoin";
    assert_int_equal(harness_call(c, "Packages/SellPackage", &sell,
                                  &clinic__v1__package__descriptor, NULL, true, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "sessions"));
    assert_true(harness_has_violation(&err, "price_cents"));
    assert_true(harness_has_violation(&err, "valid_months"));
    assert_true(harness_has_violation(&err, "paid_by"));
    Clinic__V1__GetReceiptRequest get = CLINIC__V1__GET_RECEIPT_REQUEST__INIT;
    get.number = -3;
    assert_int_equal(harness_call(c, "Billing/GetReceipt", &get, &clinic__v1__receipt__descriptor,
                                  NULL, false, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "number"));
    Clinic__V1__Package *pkg = NULL;
    Clinic__V1__GetPackageRequest gp = CLINIC__V1__GET_PACKAGE_REQUEST__INIT;
    gp.id = 987654;
    assert_int_equal(harness_call(c, "Packages/GetPackage", &gp, &clinic__v1__package__descriptor,
                                  &pkg, false, NULL, &err),
                     STATUS_NOT_FOUND);
    clinic_close(c);
}

/* ------------------------------------------------------------------ revenue */

static void revenue_lines_sum_what_was_taken(void **state)
{
    (void)state;
    char total[32], check[32];
    /* every receipt is a line; corrections cancel what they void */
    sql_text("SELECT sum(gross_cents) FROM clinic_revenue_lines", total, sizeof total);
    sql_text("SELECT sum(CASE WHEN r.kind = 'correction' THEN 0 ELSE r.gross_cents END)"
             " - coalesce((SELECT sum(o.gross_cents) FROM receipts o WHERE o.id IN"
             " (SELECT corrects_receipt_id FROM receipts)), 0) FROM receipts r",
             check, sizeof check);
    assert_string_equal(total, check);
    sql_text("SELECT count(*) FROM clinic_revenue_lines WHERE kind = 'package'"
             " AND therapist_id IS NOT NULL",
             check, sizeof check);
    assert_string_equal(check, "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_settings_are_checked_and_shown),
        cmocka_unit_test(sessions_draw_from_a_package_then_are_charged),
        cmocka_unit_test(an_expired_package_pays_nothing),
        cmocka_unit_test(late_cancels_and_no_shows_follow_the_policy),
        cmocka_unit_test(a_paid_session_is_undone_after_its_receipt_is_voided),
        cmocka_unit_test(each_sees_only_their_own),
        cmocka_unit_test(bad_requests_name_their_fields),
        cmocka_unit_test(revenue_lines_sum_what_was_taken),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
