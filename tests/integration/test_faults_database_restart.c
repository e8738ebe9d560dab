/* PostgreSQL stops and starts again under load, and one daemon rides it out. Callers book without
 * pause (each with its own clinic) while the server is stopped in fast mode (sessions rolled back,
 * a shutdown checkpoint) and, in the second test, in immediate mode (every server process quits at
 * once, crash recovery on the next start). Health says NOT_SERVING while the database is away and
 * SERVING soon after it is back, the daemon is never restarted, bookings go on being acknowledged
 * after the restart, every acknowledged booking is in the database as it was acknowledged, and
 * every call resent with its idempotency key returns the appointment that key booked. */
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

#define CALLERS 8
/* Long enough that most calls ride out the outage inside libclinic's retries (same envelope,
 * same key), so both the retried and the given-up calls get exercised. */
#define CALL_TIMEOUT_MS    4000
#define ACKED_BEFORE_FAULT 100
#define ACKED_AFTER_FAULT  100
#define LOAD_TIMEOUT_MS    60000
#define HEALTH_TIMEOUT_MS  30000
#define RESENT_PER_CALLER  3

static struct harness_pg pg;
static char db_url[512];
static struct harness_daemon daemon_;

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "database_restart", db_url, sizeof db_url))
        return -1;
    /* The harness's clusters trade durability for speed (synchronous_commit off): a commit may be
     * acknowledged before its WAL leaves PostgreSQL's memory, and an immediate stop would lose it
     * as a crash of a real server would not. This database commits as production ones do. */
    char *ok = harness_sql(db_url, "ALTER DATABASE database_restart SET synchronous_commit = on");
    if (!ok)
        return -1;
    free(ok);
    return harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* The length of the daemon's log so far. */
static size_t log_length(void)
{
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    size_t n = strlen(log);
    free(log);
    return n;
}

/* Calls the daemon answered UNAVAILABLE since the log was `from` bytes long. */
static int unavailable_answers_since(size_t from)
{
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    int n = 0;
    for (const char *p = strstr(log + from, " code=14 "); p; p = strstr(p + 1, " code=14 "))
        n++;
    free(log);
    return n;
}

/* Polls Health until it says `want` (1 SERVING, 2 NOT_SERVING); the ms it took, or -1. */
static long health_becomes(int want)
{
    long long t0 = harness_now_ms();
    while (harness_now_ms() - t0 < HEALTH_TIMEOUT_MS) {
        if (harness_health(daemon_.url, 2000) == want)
            return (long)(harness_now_ms() - t0);
        harness_sleep_ms(20);
    }
    return -1;
}

/* Every call of the load was acknowledged, or answered UNAVAILABLE or DEADLINE_EXCEEDED. */
static void assert_only_outage_answers(const struct harness_load *load)
{
    for (int i = 0; i < load->callers; i++) {
        const struct harness_load_caller *c = &load->caller[i];
        assert_true(c->connected);
        for (int k = 0; k < c->n; k++) {
            const struct harness_booking *b = &c->bookings[k];
            if (b->code != STATUS_OK && b->code != STATUS_UNAVAILABLE &&
                b->code != STATUS_DEADLINE_EXCEEDED)
                fail_msg("caller %d, %s: status %d: %s", i, b->start, b->code, b->message);
        }
    }
}

static void database_restart_under_load(const char *mode, bool immediate)
{
    static struct harness_load load;
    assert_true(harness_load_seed(&load, db_url, CALLERS, mode));
    pid_t pid = daemon_.pid;
    assert_true(harness_load_start(&load, daemon_.url, CALL_TIMEOUT_MS));
    assert_true(harness_load_wait_acked(&load, ACKED_BEFORE_FAULT, LOAD_TIMEOUT_MS));

    size_t log_at_stop = log_length();
    long long stopping = harness_now_ms();
    assert_true(immediate ? harness_pg_stop_immediate(&pg) : harness_pg_stop(&pg));
    long stop_ms = (long)(harness_now_ms() - stopping);
    int acked_at_stop = atomic_load(&load.acked);
    long not_serving_ms = health_becomes(2);
    assert_true(not_serving_ms >= 0);
    long long restarting = harness_now_ms();
    assert_true(harness_pg_restart(&pg));
    long restart_ms = (long)(harness_now_ms() - restarting);
    long serving_ms = health_becomes(1);
    assert_true(serving_ms >= 0);
    int acked_at_back = atomic_load(&load.acked);
    /* the same daemon goes on acknowledging bookings */
    assert_true(harness_load_wait_acked(&load, acked_at_back + ACKED_AFTER_FAULT, LOAD_TIMEOUT_MS));
    harness_load_stop(&load);
    /* the callers met the outage: some of their calls were answered UNAVAILABLE and retried */
    int unavailable = unavailable_answers_since(log_at_stop);
    assert_true(unavailable >= 1);
    assert_int_equal(daemon_.pid, pid);
    assert_int_equal(kill(pid, 0), 0);

    int acked = atomic_load(&load.acked), calls = harness_load_calls(&load);
    assert_only_outage_answers(&load);
    assert_int_equal(harness_load_missing(&load, db_url), 0);
    long long rows_before = harness_load_rows(&load, db_url);
    struct harness_resend r;
    assert_true(harness_load_resend(&load, daemon_.url, db_url, RESENT_PER_CALLER, &r));
    print_message("PostgreSQL %s stop under %d callers: stopped in %ld ms, health NOT_SERVING "
                  "%ld ms later; restarted in %ld ms, SERVING %ld ms later, same daemon\n",
                  mode, CALLERS, stop_ms, not_serving_ms, restart_ms, serving_ms);
    print_message("%d acknowledged bookings (%d before the stop, %d after the restart), all "
                  "found; %d answers UNAVAILABLE retried with their keys; %d of %d calls "
                  "unanswered (%d UNAVAILABLE, %d DEADLINE_EXCEEDED), %d of which had committed; "
                  "%d resends returned the same appointment, %d booked what had not committed\n",
                  acked, acked_at_stop, acked - acked_at_back, unavailable, calls - acked, calls,
                  harness_load_count(&load, STATUS_UNAVAILABLE),
                  harness_load_count(&load, STATUS_DEADLINE_EXCEEDED), r.had_committed, r.same,
                  r.booked_now);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.different, 0);
    assert_int_equal(r.unanswered, calls - acked);
    assert_int_equal(r.same, r.acknowledged + r.had_committed);
    assert_int_equal(rows_before, acked + r.had_committed);
    assert_int_equal(harness_load_rows(&load, db_url), calls);
    harness_load_free(&load);
}

static void fast_stop_under_load_loses_no_acknowledged_booking(void **state)
{
    (void)state;
    database_restart_under_load("fast", false);
}

static void immediate_stop_under_load_loses_no_acknowledged_booking(void **state)
{
    (void)state;
    database_restart_under_load("immediate", true);
}

/* Sessions that sat idle through an immediate stop. The server's last words to them ("terminating
 * connection due to immediate shutdown command") are a notice, so libpq reads them when the next
 * write fails and reports that failure, without a SQLSTATE, on a connection it still calls OK.
 * Each worker's first call after the stop meets this: it is answered UNAVAILABLE and retried, and
 * the worker reconnects once PostgreSQL is back. */
static void idle_sessions_ride_out_an_immediate_stop(void **state)
{
    (void)state;
    static struct harness_load warm, after;
    assert_true(harness_load_seed(&warm, db_url, CALLERS, "warm"));
    assert_true(harness_load_seed(&after, db_url, CALLERS, "idle"));
    /* 8 callers on 4 workers: every worker opens its session */
    assert_true(harness_load_start(&warm, daemon_.url, CALL_TIMEOUT_MS));
    assert_true(harness_load_wait_acked(&warm, 4 * CALLERS, LOAD_TIMEOUT_MS));
    harness_load_stop(&warm);
    harness_sleep_ms(100);

    size_t log_at_stop = log_length();
    assert_true(harness_pg_stop_immediate(&pg));
    assert_true(harness_load_start(&after, daemon_.url, CALL_TIMEOUT_MS));
    harness_sleep_ms(300);
    assert_true(harness_pg_restart(&pg));
    assert_true(harness_load_wait_acked(&after, ACKED_AFTER_FAULT, LOAD_TIMEOUT_MS));
    harness_load_stop(&after);

    assert_only_outage_answers(&after);
    assert_true(unavailable_answers_since(log_at_stop) >= 1);
    assert_int_equal(harness_load_missing(&after, db_url), 0);
    harness_load_free(&warm);
    harness_load_free(&after);
}

/* The daemon's error lines say why it answered INTERNAL (the database's SQLSTATE and message). */
static void print_error_lines(const char *log)
{
    for (const char *line = log; *line;) {
        size_t len = strcspn(line, "\n");
        if (strncmp(line + strcspn(line, " "), " error ", 7) == 0)
            print_message("%.*s\n", (int)len, line);
        line += len + (line[len] == '\n');
    }
}

static void daemon_answered_no_call_with_internal(void **state)
{
    (void)state;
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    harness_assert_contains(log, "database unreachable");
    harness_assert_contains(log, "database connection restored");
    const char *internal = strstr(log, " code=13 ");
    if (internal) {
        print_error_lines(log);
        fail_msg("the daemon answered INTERNAL: %.*s", (int)strcspn(internal, "\n"), internal);
    }
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fast_stop_under_load_loses_no_acknowledged_booking),
        cmocka_unit_test(immediate_stop_under_load_loses_no_acknowledged_booking),
        cmocka_unit_test(idle_sessions_ride_out_an_immediate_stop),
        cmocka_unit_test(daemon_answered_no_call_with_internal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
