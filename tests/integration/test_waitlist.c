/* The waitlist against a live daemon, through the `clinic` tool: clients wait for a time that is
 * taken (first come first served, each with their days and times of day); when it frees, the
 * daemon's waitlist pass books it for the first client whose wishes it fits and holds it for
 * them; declined, it passes to the next; not taken up in time, it passes on again (the deadline
 * is moved into the past by SQL, as if the hours had gone by); accepted, it is an ordinary
 * booking. Clients see and answer only their own; the front desk the whole list. An offer is
 * queued for the client's email with the hold (test_mail_outbox shows the outbox delivered).
 *
 * The day is computed from now (ten days ahead, in the clinic's zone). Waits are bounded. */
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

#define ZONE    "Europe/Berlin"
#define WAIT_MS 20000

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];
static char day[11];                            /* ten days ahead, local */
static char ids[4][24];                         /* clients A, B, C, D */
static char token_b[64], token_c[64], desk[64]; /* B and C log in as themselves */

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "waitlist", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 1, 4, &clinic))
        return -1;
    for (int i = 0; i < 4; i++)
        snprintf(ids[i], sizeof ids[i], "%lld", clinic.client_ids[i]);
    char *d = harness_sql(db_url, "SELECT ((now() AT TIME ZONE '" ZONE "')::date + 10)::text");
    if (!d)
        return -1;
    snprintf(day, sizeof day, "%s", d);
    free(d);
    if (harness_create_user(db_url, "b@wait.test", "client", 0, clinic.client_ids[1], NULL) < 0 ||
        harness_create_user(db_url, "c@wait.test", "client", 0, clinic.client_ids[2], NULL) < 0 ||
        harness_create_user(db_url, "desk@wait.test", "front_desk", 0, 0, NULL) < 0)
        return -1;
    return harness_login(daemon_.url, "b@wait.test", HARNESS_PASSWORD, token_b, sizeof token_b) ==
                       0 &&
                   harness_login(daemon_.url, "c@wait.test", HARNESS_PASSWORD, token_c,
                                 sizeof token_c) == 0 &&
                   harness_login(daemon_.url, "desk@wait.test", HARNESS_PASSWORD, desk,
                                 sizeof desk) == 0
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

#define EXPECT(token, status, says, ...)                                                           \
    harness_cli_expect(daemon_.url, (token), (status), (says),                                     \
                       (const char *const[]){__VA_ARGS__, NULL})

/* The id of client `who`'s appointment at `clock` on the day in `status` ('' for any), held
 * (held_until set) or not; 0 when there is none. */
static long long appointment_of(int who, const char *clock, const char *status, bool held)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(max(id), 0) FROM appointments WHERE client_id = %lld"
             " AND start_at = ('%s %s'::timestamp AT TIME ZONE '" ZONE "')"
             " AND ('%s' = '' OR status::text = '%s') AND (held_until IS NOT NULL) = %s",
             clinic.client_ids[who], day, clock, status, status, held ? "true" : "false");
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    long long id = strtoll(v, NULL, 10);
    free(v);
    return id;
}

/* Waits (bounded) for the waitlist pass to hold the time at `clock` for client `who`. */
static long long wait_for_offer(int who, const char *clock)
{
    long long deadline = harness_now_ms() + WAIT_MS, id;
    while ((id = appointment_of(who, clock, "booked", true)) == 0 && harness_now_ms() < deadline)
        harness_sleep_ms(100);
    if (id == 0)
        fail_msg("no offer to client %d at %s %s within %d ms", who, day, clock, WAIT_MS);
    return id;
}

/* Books client A at clock on the day through the tool (as the admin) and returns the id. */
static long long book_a(const char *clock)
{
    char start[32], therapist[24];
    snprintf(start, sizeof start, "%s %s", day, clock);
    snprintf(therapist, sizeof therapist, "%lld", clinic.therapist_ids[0]);
    char service[24];
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    EXPECT(daemon_.admin_token, 0, "Booked appointment", "book", "--client", ids[0], "--service",
           service, "--start", start, "--therapist", therapist);
    return appointment_of(0, clock, "booked", false);
}

static void clients_wait_first_come_first_served(void **state)
{
    (void)state;
    char service[24];
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    assert_true(book_a("10:00") > 0);
    /* offers here are held for 30 minutes */
    char location[24];
    snprintf(location, sizeof location, "%lld", clinic.location_id);
    EXPECT(daemon_.admin_token, STATUS_INVALID_ARGUMENT, "from 5 to 2880", "admin", "location",
           "update", location, "--waitlist-hold", "3");
    EXPECT(daemon_.admin_token, 0, "held 30 minutes", "admin", "location", "update", location,
           "--waitlist-hold", "30");
    /* B adds themself; the desk adds C (same wishes) and D (afternoons only) */
    EXPECT(token_b, 0, "Added waitlist entry", "waitlist", "add", "--service", service, "--from",
           day, "--to", day, "--earliest", "09:00", "--latest", "12:00");
    EXPECT(desk, 0, "Added waitlist entry", "waitlist", "add", "--client", ids[2], "--service",
           service, "--from", day, "--to", day, "--earliest", "09:00", "--latest", "12:00");
    EXPECT(desk, 0, "Added waitlist entry", "waitlist", "add", "--client", ids[3], "--service",
           service, "--from", day, "--to", day, "--earliest", "14:00", "--latest", "17:00");
    /* the desk sees the whole list in order; B sees only their own */
    struct harness_run r =
        harness_cli_as(daemon_.url, desk, (const char *const[]){"waitlist", "list", NULL});
    assert_int_equal(r.status, 0);
    char *b = strstr(r.out, "Client 2"), *c = strstr(r.out, "Client 3"),
         *d = strstr(r.out, "Client 4");
    if (!b || !c || !d || !(b < c && c < d))
        fail_msg("the desk's list is not B, C, D in order:\n%s", r.out);
    harness_run_free(&r);
    r = harness_cli_as(daemon_.url, token_b, (const char *const[]){"waitlist", "list", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Client 2");
    assert_null(strstr(r.out, "Client 3"));
    harness_run_free(&r);
    /* bad wishes are refused with what to fix */
    EXPECT(token_b, STATUS_INVALID_ARGUMENT, "--to is in the past", "waitlist", "add", "--service",
           service, "--to", "2000-01-01");
    EXPECT(token_b, STATUS_PERMISSION_DENIED, NULL, "waitlist", "add", "--client", ids[2],
           "--service", service, "--to", day);
}

static void a_freed_time_is_offered_declined_and_passed_on(void **state)
{
    (void)state;
    long long a = appointment_of(0, "10:00", "booked", false);
    char id[24];
    snprintf(id, sizeof id, "%lld", a);
    EXPECT(desk, 0, "Cancelled", "cancel", id, "--reason", "client is ill");
    long long offer = wait_for_offer(1, "10:00");
    char offer_id[24];
    snprintf(offer_id, sizeof offer_id, "%lld", offer);
    EXPECT(token_b, 0, "held from the waitlist until", "appointment", offer_id);
    /* held for the location's 30 minutes */
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT round(extract(epoch FROM held_until - offered_at) / 60)"
                                    " FROM waitlist_offers WHERE appointment_id = %lld",
                                    offer),
                     30);
    /* B is told by email, in the same transaction as the hold (the mailer sends it) */
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM outbox WHERE appointment_id = %lld"
                                    " AND kind = 'offered' AND channel = 'email'",
                                    offer),
                     1);
    /* not C's to answer, nor D's time (afternoons) */
    EXPECT(token_c, STATUS_PERMISSION_DENIED, NULL, "waitlist", "accept", offer_id);
    assert_int_equal(appointment_of(3, "10:00", "", true), 0);
    /* B declines: it passes to C */
    EXPECT(token_b, 0, "Declined", "waitlist", "decline", offer_id);
    long long to_c = wait_for_offer(2, "10:00");
    assert_true(to_c != offer);
    EXPECT(token_b, STATUS_FAILED_PRECONDITION, "declined already", "waitlist", "accept", offer_id);

    /* C lets it run out: the time is free again, offered to no one left (B passed on it, D
     * wants afternoons) */
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH o AS (UPDATE waitlist_offers SET held_until = now() - interval '1 second'"
             " WHERE appointment_id = %lld RETURNING 1) UPDATE appointments"
             " SET held_until = now() - interval '1 second' WHERE id = %lld RETURNING id",
             to_c, to_c);
    assert_true(harness_sql_id(db_url, "%s", sql) == to_c);
    long long deadline = harness_now_ms() + WAIT_MS;
    while (appointment_of(2, "10:00", "cancelled", false) != to_c && harness_now_ms() < deadline)
        harness_sleep_ms(100);
    snprintf(sql, sizeof sql,
             "SELECT status || ': ' || cancel_reason FROM appointments WHERE id = %lld", to_c);
    char *why = harness_sql(db_url, sql);
    assert_non_null(why);
    assert_string_equal(why, "cancelled: the waitlist offer was not taken up in time");
    free(why);
    harness_sleep_ms(1500); /* a pass or more: no one else may get it */
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM appointments WHERE held_until IS NOT"
                                    " NULL OR (status = 'booked' AND start_at = ('%s 10:00'"
                                    "::timestamp AT TIME ZONE '" ZONE "'))",
                                    day),
                     0);
}

static void an_accepted_offer_is_an_ordinary_booking(void **state)
{
    (void)state;
    long long a = book_a("11:00");
    char id[24];
    snprintf(id, sizeof id, "%lld", a);
    EXPECT(desk, 0, "Cancelled", "cancel", id);
    /* B is first again (B waits for other times after declining one) */
    long long offer = wait_for_offer(1, "11:00");
    char offer_id[24];
    snprintf(offer_id, sizeof offer_id, "%lld", offer);
    EXPECT(token_b, 0, "Accepted", "waitlist", "accept", offer_id);
    assert_int_equal(appointment_of(1, "11:00", "booked", false), offer);
    struct harness_run r = harness_cli_as(
        daemon_.url, token_b, (const char *const[]){"--json", "waitlist", "list", "--all", NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "WAITLIST_STATUS_BOOKED");
    harness_run_free(&r);
    /* the desk takes D off the list */
    char *entry = harness_sql(db_url, "SELECT id FROM waitlist_entries WHERE status = 'waiting'"
                                      " ORDER BY id DESC LIMIT 1");
    assert_non_null(entry);
    EXPECT(desk, 0, "Removed waitlist entry", "waitlist", "remove", entry);
    EXPECT(desk, STATUS_FAILED_PRECONDITION, "removed already", "waitlist", "remove", entry);
    /* a client cannot remove another's entry: for them it does not exist */
    char *c_entry = harness_sql(db_url, "SELECT min(id) FROM waitlist_entries WHERE status ="
                                        " 'waiting'");
    assert_non_null(c_entry);
    EXPECT(token_b, STATUS_NOT_FOUND, "does not exist", "waitlist", "remove", c_entry);
    free(entry);
    free(c_entry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clients_wait_first_come_first_served),
        cmocka_unit_test(a_freed_time_is_offered_declined_and_passed_on),
        cmocka_unit_test(an_accepted_offer_is_an_ordinary_booking),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
