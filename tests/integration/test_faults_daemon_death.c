/* The daemon dies under load and no acknowledged booking is lost. Callers book without pause
 * (each with its own clinic, so nothing but the fault refuses them) while the daemon is killed
 * with SIGKILL, or stopped with SIGTERM. Afterwards every booking a caller was told about is in
 * the database as it was told, and every call resent with its idempotency key through a new
 * daemon returns the appointment that key booked: the answer lost with a killed daemon is found
 * again, never booked twice. Under SIGTERM nothing is lost at all: calls in flight answer, and a
 * call not answered OK changed nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "status.h"

/* Short enough that callers notice a dead daemon soon (libclinic retries until then), long
 * enough for a busy sanitizer build to answer a booking. */
#define CALL_TIMEOUT_MS 2000
/* The fault strikes once this many bookings were acknowledged: under load, well into it. */
#define ACKED_BEFORE_FAULT 150
#define LOAD_TIMEOUT_MS    60000
#define EXIT_TIMEOUT_MS    20000
/* Acknowledged calls of each caller resent after the fault, besides every unanswered one. */
#define RESENT_PER_CALLER 3

static struct harness_pg pg;
static char db_url[512];

static int setup(void **state)
{
    (void)state;
    return harness_pg_start(&pg) &&
                   harness_pg_create_database(&pg, "daemon_death", db_url, sizeof db_url)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_pg_destroy(&pg);
    return 0;
}

/* Fails the test unless every call not acknowledged got a status a fault explains (UNAVAILABLE
 * or DEADLINE_EXCEEDED): a refusal (ABORTED, FAILED_PRECONDITION) or INTERNAL would be a bug. */
static void assert_only_fault_failures(const struct harness_load *l)
{
    for (int i = 0; i < l->callers; i++) {
        const struct harness_load_caller *c = &l->caller[i];
        assert_true(c->connected);
        for (int k = 0; k < c->n; k++) {
            const struct harness_booking *b = &c->bookings[k];
            if (b->code != STATUS_OK && b->code != STATUS_UNAVAILABLE &&
                b->code != STATUS_DEADLINE_EXCEEDED)
                fail_msg("caller %d, %s: status %d: %s", i, b->start, b->code, b->message);
        }
    }
}

/* Starts a daemon on the database and returns once it serves. */
static void start_daemon(struct harness_daemon *d)
{
    assert_true(harness_daemon_start(d, pg.dir, db_url, NULL, true));
}

static void kill_9_under_load(int callers)
{
    char tag[16];
    snprintf(tag, sizeof tag, "kill9x%d", callers);
    static struct harness_load load;
    struct harness_daemon first, second;
    start_daemon(&first); /* seeding needs the schema a first start migrates */
    assert_true(harness_load_seed(&load, db_url, callers, tag));
    assert_true(harness_load_start(&load, first.url, CALL_TIMEOUT_MS));
    assert_true(harness_load_wait_acked(&load, ACKED_BEFORE_FAULT, LOAD_TIMEOUT_MS));
    assert_int_equal(kill(first.pid, SIGKILL), 0);
    assert_int_equal(harness_daemon_wait_exit(&first, EXIT_TIMEOUT_MS), 128 + SIGKILL);
    harness_load_stop(&load);

    int acked = atomic_load(&load.acked), unanswered = harness_load_calls(&load) - acked;
    assert_only_fault_failures(&load);
    /* calls were on their way when the kill struck */
    assert_true(unanswered >= 1);
    long long rows_before = harness_load_rows(&load, db_url);
    assert_int_equal(harness_load_missing(&load, db_url), 0);

    start_daemon(&second);
    struct harness_resend r;
    assert_true(harness_load_resend(&load, second.url, db_url, RESENT_PER_CALLER, &r));
    print_message("kill -9 under %d callers: %d acknowledged bookings, all found; %d calls "
                  "unanswered, %d of which had committed; %d resends returned the same "
                  "appointment (%d acknowledged, %d committed without an answer), %d booked "
                  "what had not committed\n",
                  callers, acked, unanswered, r.had_committed, r.same, r.acknowledged,
                  r.had_committed, r.booked_now);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.different, 0);
    assert_int_equal(r.unanswered, unanswered);
    assert_int_equal(r.same, r.acknowledged + r.had_committed);
    assert_int_equal(rows_before, acked + r.had_committed);
    /* one appointment per slot: nothing was booked twice */
    assert_int_equal(harness_load_rows(&load, db_url), acked + unanswered);
    assert_int_equal(harness_daemon_stop(&second), 0);
    harness_load_free(&load);
}

static void kill_9_under_8_callers_loses_no_acknowledged_booking(void **state)
{
    (void)state;
    kill_9_under_load(8);
}

static void kill_9_under_16_callers_loses_no_acknowledged_booking(void **state)
{
    (void)state;
    kill_9_under_load(16);
}

static void sigterm_under_load_answers_every_call_in_flight(void **state)
{
    (void)state;
    enum { CALLERS = 12 };
    static struct harness_load load;
    struct harness_daemon first, second;
    start_daemon(&first);
    assert_true(harness_load_seed(&load, db_url, CALLERS, "term"));
    assert_true(harness_load_start(&load, first.url, CALL_TIMEOUT_MS));
    assert_true(harness_load_wait_acked(&load, ACKED_BEFORE_FAULT, LOAD_TIMEOUT_MS));
    long long signalled = harness_now_ms();
    assert_int_equal(kill(first.pid, SIGTERM), 0);
    assert_int_equal(harness_daemon_wait_exit(&first, EXIT_TIMEOUT_MS), 0);
    long exit_ms = (long)(harness_now_ms() - signalled);
    harness_load_stop(&load);

    int acked = atomic_load(&load.acked), unanswered = harness_load_calls(&load) - acked;
    assert_only_fault_failures(&load);
    assert_int_equal(harness_load_missing(&load, db_url), 0);
    /* graceful: what was not acknowledged was not booked either */
    long long rows = harness_load_rows(&load, db_url);

    start_daemon(&second);
    struct harness_resend r;
    assert_true(harness_load_resend(&load, second.url, db_url, RESENT_PER_CALLER, &r));
    print_message("SIGTERM under %d callers: exit 0 after %ld ms; %d acknowledged bookings, all "
                  "found; %d calls unanswered, %d of which had committed; %d resends of "
                  "acknowledged calls returned the same appointment, %d booked the unanswered\n",
                  CALLERS, exit_ms, acked, unanswered, r.had_committed, r.same, r.booked_now);
    assert_int_equal(rows, acked);
    assert_int_equal(r.had_committed, 0);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.different, 0);
    assert_int_equal(r.same, r.acknowledged);
    assert_int_equal(r.booked_now, unanswered);
    assert_int_equal(harness_load_rows(&load, db_url), acked + unanswered);
    char *log = harness_daemon_log(&first);
    assert_non_null(log);
    harness_assert_contains(log, "SIGTERM received");
    assert_null(strstr(log, " code=13 ")); /* no INTERNAL answer */
    free(log);
    assert_int_equal(harness_daemon_stop(&second), 0);
    harness_load_free(&load);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill_9_under_8_callers_loses_no_acknowledged_booking),
        cmocka_unit_test(kill_9_under_16_callers_loses_no_acknowledged_booking),
        cmocka_unit_test(sigterm_under_load_answers_every_call_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
