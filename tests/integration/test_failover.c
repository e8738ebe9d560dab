/* Failover under load: a pg_auto_failover formation (scripts/ha.sh: a monitor, a primary and a
 * synchronous secondary on this machine), two daemons on its multi-host URL, eight callers
 * booking through libclinic with idempotency keys, and the primary killed while they book: its
 * postmaster, its other PostgreSQL processes and its pg_autoctl keeper, kill -9, as a machine
 * that dies (killing the postmaster alone leaves its backends serving, and the keeper restarts
 * it as it was, a primary, while the monitor promotes the secondary). The callers retry what was
 * refused, with the same key, and go on. Afterwards, on whichever node is primary then: every
 * booking answered OK is there exactly once, no two appointments of a therapist overlap, and the
 * events are numbered 1..n without a gap or a repeat. The test prints how long bookings were
 * refused. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALLERS        8
#define BOOKINGS_EACH  40 /* per caller: ten days of four sessions with one therapist */
#define LOAD_BOUND_MS  180000
#define RETRY_PAUSE_MS 100

static char ha_dir[64] = "/tmp/clinic-ha-XXXXXX", log_dir[64] = "/tmp/clinic-ha-logs-XXXXXX";
static char url[512];
static struct harness_daemon daemons[2];
static struct harness_clinic clinic;
static int year;

struct caller {
    int index;
    pthread_t thread;
    int booked;                   /* answered OK */
    long long ids[BOOKINGS_EACH]; /* what OK answered */
    long long refused_ms;         /* the longest stretch from a refusal to the next OK */
    int refusals;
    char last_error[600];
};
static struct caller callers[CALLERS];
static atomic_int booked_total;

/* scripts/ha.sh on this test's formation. */
static int ha(const char *command, char *out, size_t len)
{
    return harness_ha(ha_dir, command, out, len);
}

static int setup(void **state)
{
    (void)state;
    year = harness_next_year();
    if (!mkdtemp(ha_dir) || !mkdtemp(log_dir) || chmod(ha_dir, 0755) != 0 ||
        chmod(log_dir, 0777) != 0)
        return -1;
    rmdir(ha_dir); /* ha.sh makes it, for the PostgreSQL user */
    if (ha("up", NULL, 0) != 0 || ha("url", url, sizeof url) != 0 || !url[0]) {
        fprintf(stderr, "scripts/ha.sh up failed; its logs are in %s\n", ha_dir);
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (!harness_daemon_start(&daemons[i], log_dir, url, NULL, true))
            return -1;
    return harness_seed_clinic(url, "Europe/Berlin", CALLERS, CALLERS, &clinic) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        harness_daemon_stop(&daemons[i]);
    if (getenv("CLINIC_TEST_KEEP")) /* to look at the nodes' logs afterwards */
        return 0;
    ha("down", NULL, 0);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf -- %s", log_dir);
    return system(rm) == 0 ? 0 : -1;
}

/* What a failover may answer meanwhile; the same key is then sent again. */
static bool transient(int code)
{
    return code == STATUS_UNAVAILABLE || code == STATUS_ABORTED ||
           code == STATUS_DEADLINE_EXCEEDED || code == STATUS_INTERNAL || code == STATUS_UNKNOWN;
}

/* Books booking k of caller c (its own therapist and client; 09:00, 11:00, 13:00 and 15:00 of a
 * day, clear of each other's cleanup), retrying a transient refusal with the same idempotency
 * key until OK or the load's bound: true when it was answered OK. */
static bool book(struct caller *c, clinic_client *client, int k, long long until_ms)
{
    char first_day[16], day[16], start[32], key[64];
    snprintf(first_day, sizeof first_day, "%d-03-01", year);
    /* each caller its own days: the clinic has two rooms */
    harness_date_add(first_day, c->index * (BOOKINGS_EACH / 4) + k / 4, day, sizeof day);
    snprintf(start, sizeof start, "%s %02d:00", day, 9 + 2 * (k % 4));
    snprintf(key, sizeof key, "failover-%d-%d", c->index, k);
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[c->index];
    req.therapist_id = clinic.therapist_ids[c->index];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = start;
    long long refused_since = 0;
    while (harness_now_ms() < until_ms) {
        struct clinic_error err;
        Clinic__V1__Appointment *a = NULL;
        int code = harness_call(client, "Scheduling/Book", &req,
                                &clinic__v1__appointment__descriptor, &a, true, key, &err);
        if (code == STATUS_OK) {
            c->ids[k] = a->id;
            harness_free_message(a);
            if (refused_since && harness_now_ms() - refused_since > c->refused_ms)
                c->refused_ms = harness_now_ms() - refused_since;
            return true;
        }
        snprintf(c->last_error, sizeof c->last_error, "%d: %s", code, err.message);
        if (!transient(code))
            return false;
        c->refusals++;
        if (!refused_since)
            refused_since = harness_now_ms();
        harness_sleep_ms(RETRY_PAUSE_MS);
    }
    return false;
}

static void *caller_run(void *arg)
{
    struct caller *c = arg;
    clinic_client *client =
        harness_connect_as(daemons[c->index % 2].url, daemons[c->index % 2].admin_token);
    if (!client)
        return NULL;
    long long until = harness_now_ms() + LOAD_BOUND_MS;
    for (int k = 0; k < BOOKINGS_EACH && book(c, client, k, until); k++) {
        c->booked++;
        atomic_fetch_add(&booked_total, 1);
    }
    clinic_close(client);
    return NULL;
}

static long long number(const char *sql)
{
    char *v = harness_sql(url, sql);
    assert_non_null(v);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Kills the node that is primary now, every process of it, as a dying machine would go. */
static void kill_the_primary(void)
{
    char said[256];
    print_message("killing the primary after %d bookings\n", atomic_load(&booked_total));
    assert_int_equal(ha("kill-primary", said, sizeof said), 0);
    print_message("%s\n", said);
}

static void acknowledged_bookings_survive_the_primary_dying(void **state)
{
    (void)state;
    for (int i = 0; i < CALLERS; i++) {
        callers[i].index = i;
        assert_int_equal(pthread_create(&callers[i].thread, NULL, caller_run, &callers[i]), 0);
    }
    /* mid-load: once a quarter of the bookings are in (bounded) */
    for (long long until = harness_now_ms() + 60000;
         atomic_load(&booked_total) < CALLERS * BOOKINGS_EACH / 4 && harness_now_ms() < until;)
        harness_sleep_ms(50);
    kill_the_primary();
    for (int i = 0; i < CALLERS; i++)
        pthread_join(callers[i].thread, NULL);

    long long longest = 0;
    int refusals = 0;
    for (int i = 0; i < CALLERS; i++) {
        const struct caller *c = &callers[i];
        if (c->booked != BOOKINGS_EACH)
            fail_msg("caller %d booked %d of %d; last refusal: %s", i, c->booked, BOOKINGS_EACH,
                     c->last_error);
        longest = c->refused_ms > longest ? c->refused_ms : longest;
        refusals += c->refusals;
    }
    print_message("bookings were refused for at most %lld ms (%d refusals, retried)\n", longest,
                  refusals);

    /* every OK is there once, on the node that is primary now */
    char sql[256];
    for (int i = 0; i < CALLERS; i++)
        for (int k = 0; k < BOOKINGS_EACH; k++) {
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM appointments WHERE id = %lld AND therapist_id = %lld"
                     " AND status = 'booked'",
                     callers[i].ids[k], clinic.therapist_ids[i]);
            if (number(sql) != 1)
                fail_msg("booking %lld acknowledged to caller %d is not there once",
                         callers[i].ids[k], i);
        }
    assert_int_equal(number("SELECT count(*) FROM appointments"), CALLERS * BOOKINGS_EACH);
    assert_int_equal(number("SELECT count(*) FROM appointments a JOIN appointments b"
                            " ON a.therapist_id = b.therapist_id AND a.id < b.id"
                            " AND a.blocked && b.blocked"),
                     0);
    /* the relays number every event once, in one run of numbers (bounded wait) */
    for (long long until = harness_now_ms() + 20000;
         number("SELECT count(*) FROM events WHERE seq IS NULL") > 0 && harness_now_ms() < until;)
        harness_sleep_ms(100);
    assert_int_equal(number("SELECT count(*) FROM events WHERE seq IS NULL"), 0);
    long long events = number("SELECT count(*) FROM events");
    assert_true(events >= CALLERS * BOOKINGS_EACH);
    assert_int_equal(number("SELECT count(DISTINCT seq) FROM events"), events);
    assert_int_equal(number("SELECT max(seq) FROM events"), events);
    assert_int_equal(number("SELECT min(seq) FROM events"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acknowledged_bookings_survive_the_primary_dying),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
