/* Appointment changes do not NOTIFY (a notifying commit takes PostgreSQL's database-wide notify
 * lock, and every booking would queue on it); a numbering pass that numbered events NOTIFYs once,
 * and one that numbered nothing stays quiet. Watched from a LISTENing session of the test's own,
 * with no daemon running, so that nothing but the statements here can notify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

static struct harness_pg pg;
static char url[512];
static struct harness_clinic clinic;
static PGconn *listener;

static int setup(void **state)
{
    (void)state;
    struct harness_daemon d;
    /* the daemon brings the schema in; then it goes, and its relay with it */
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "events_notify", url, sizeof url) ||
        !harness_daemon_start(&d, pg.dir, url, NULL, true) ||
        !harness_seed_clinic(url, "Europe/Berlin", 1, 2, &clinic) || harness_daemon_stop(&d) != 0)
        return -1;
    listener = PQconnectdb(url);
    if (PQstatus(listener) != CONNECTION_OK)
        return -1;
    PGresult *r = PQexec(listener, "LISTEN clinic_events");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(listener);
    harness_pg_destroy(&pg);
    return 0;
}

/* Notifications the listener received within wait_ms (each statement before it has committed:
 * a notification is sent at commit, so one in flight arrives well within the wait). */
static int notifications(int wait_ms)
{
    int n = 0;
    struct pollfd pfd = {.fd = PQsocket(listener), .events = POLLIN};
    long long until = harness_now_ms() + wait_ms;
    for (long long left = wait_ms; left > 0; left = until - harness_now_ms()) {
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        assert_int_equal(PQconsumeInput(listener), 1);
        PGnotify *note;
        while ((note = PQnotifies(listener)) != NULL) {
            n++;
            PQfreemem(note);
        }
    }
    return n;
}

static long long book_by_hand(const char *start)
{
    return harness_sql_id(url,
                          "INSERT INTO appointments (client_id, therapist_id, room_id, service_id,"
                          " location_id, start_at, end_at, blocked) SELECT %lld, %lld, %lld, %lld,"
                          " %lld, s, s + interval '1 hour', tstzrange(s, s + interval '75 minutes')"
                          " FROM (SELECT timestamptz '%d-%s+00' AS s) x RETURNING id",
                          clinic.client_ids[0], clinic.therapist_ids[0], clinic.room_ids[0],
                          clinic.service_id, clinic.location_id, harness_next_year(), start);
}

static void changes_are_quiet_and_a_numbering_pass_notifies_once(void **state)
{
    (void)state;
    /* two bookings and a cancellation: three event rows, no notification */
    long long first = book_by_hand("06-01 09:00");
    assert_true(first > 0);
    assert_true(book_by_hand("06-02 09:00") > 0);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE appointments SET status = 'cancelled' WHERE id = %lld",
             first);
    free(harness_sql(url, sql));
    char *pending = harness_sql(url, "SELECT count(*) FROM events WHERE seq IS NULL");
    assert_string_equal(pending, "3");
    free(pending);
    assert_int_equal(notifications(500), 0);

    /* the pass numbers all three and wakes the relays once */
    char *numbered = harness_sql(url, "SELECT clinic_sequence_events()");
    assert_string_equal(numbered, "3");
    free(numbered);
    assert_int_equal(notifications(500), 1);

    /* nothing new: a pass numbers nothing and says nothing */
    numbered = harness_sql(url, "SELECT clinic_sequence_events()");
    assert_string_equal(numbered, "0");
    free(numbered);
    assert_int_equal(notifications(500), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changes_are_quiet_and_a_numbering_pass_notifies_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
