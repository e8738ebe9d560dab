/* Events: a change made through one daemon reaches a libclinic subscriber of another, numbered
 * in commit order with no gaps; Events/Since replays what a watcher missed; `clinic watch` prints
 * every event exactly once across a restart of the daemon it watches; Since's last_seq is never
 * below an event it returns, however the relays number meanwhile. The bookings lie in June of
 * the year after the current one, so that the test passes whatever day it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clinic/v1/events.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static char url[512];
static struct harness_daemon a, b;
static struct harness_clinic clinic;
static int next_hour; /* each booking takes its own hour, so none collide */
static int year;      /* the year the bookings lie in: the next one */
static pid_t watcher; /* a `clinic watch` still running, for teardown to end */

static int setup(void **state)
{
    (void)state;
    year = harness_next_year();
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "events", url, sizeof url) ||
        !harness_daemon_start(&a, pg.dir, url, NULL, true) ||
        !harness_daemon_start(&b, pg.dir, url, NULL, true))
        return -1;
    return harness_seed_clinic(url, "Europe/Berlin", 2, 8, &clinic) ? 0 : -1;
}

/* Ends the watcher if it still runs (a test that failed before waiting for it must not leave it
 * holding ctest's output open) and reaps it; its wait status, or -1 if it had to be killed. */
static int stop_watcher(int timeout_ms)
{
    int status = -1;
    if (watcher <= 0)
        return -1;
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (waitpid(watcher, &status, WNOHANG) == watcher) {
            watcher = 0;
            return status;
        }
        harness_sleep_ms(100);
    }
    kill(watcher, SIGKILL);
    waitpid(watcher, NULL, 0);
    watcher = 0;
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    stop_watcher(0);
    int sa = harness_daemon_stop(&a), sb = harness_daemon_stop(&b);
    harness_pg_destroy(&pg);
    return sa == 0 && sb == 0 ? 0 : -1;
}

/* Books hour number `hour` (June of `year`, six a day from 09:00) on c; returns the appointment
 * id, or 0 with err filled. Safe from any thread: it checks nothing itself. */
static long long book_hour(clinic_client *c, int hour, char *start, size_t start_size,
                           struct clinic_error *err)
{
    snprintf(start, start_size, "%04d-06-%02d %02d:00", year, 1 + hour / 6, 9 + hour % 6);
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = start;
    ProtobufCMessage *resp = NULL;
    if (clinic_call(c, "/clinic.v1.Scheduling/Book", &req.base,
                    &clinic__v1__appointment__descriptor, &resp, NULL, err) != STATUS_OK)
        return 0;
    long long id = ((Clinic__V1__Appointment *)resp)->id;
    protobuf_c_message_free_unpacked(resp, NULL);
    return id;
}

/* Books the next free hour through daemon d; returns the appointment id. */
static long long book_through(const struct harness_daemon *d)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(d->url, 10000, &err);
    assert_non_null(c);
    char start[32];
    long long id = book_hour(c, next_hour++, start, sizeof start, &err);
    if (id == 0)
        fail_msg("Book %s: %s", start, err.message);
    clinic_close(c);
    return id;
}

static Clinic__V1__SinceResponse *since(const struct harness_daemon *d, uint64_t after)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(d->url, 10000, &err);
    assert_non_null(c);
    Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
    req.after_seq = after;
    ProtobufCMessage *resp = NULL;
    assert_int_equal(clinic_call(c, "/clinic.v1.Events/Since", &req.base,
                                 &clinic__v1__since_response__descriptor, &resp, NULL, &err),
                     STATUS_OK);
    clinic_close(c);
    return (Clinic__V1__SinceResponse *)resp;
}

/* Waits until sub's events socket is up and the Since call that follows a connection is made,
 * so that what comes next arrives live. */
static void settle(clinic_subscription *sub)
{
    struct clinic_subscription_stats st;
    Clinic__V1__Event *e = NULL;
    struct clinic_error err;
    for (int waited = 0; waited < 10000; waited += 100) {
        clinic_subscription_stats(sub, &st);
        if (st.connections > 0)
            break;
        assert_int_equal(clinic_subscription_next(sub, 100, &e, &err), STATUS_DEADLINE_EXCEEDED);
    }
    assert_true(st.connections > 0);
    assert_int_equal(clinic_subscription_next(sub, 100, &e, &err), STATUS_DEADLINE_EXCEEDED);
}

/* libclinic hands an event out as live only when it came on the events socket as
 * "<topic> <Event>" with that prefix equal to the event's own topic (anything else is counted
 * malformed and dropped), so one live event and nothing else says b published the booking made
 * through a, in the wire format. */
static void booking_through_one_daemon_is_published_by_the_other(void **state)
{
    (void)state;
    struct clinic_error err;
    clinic_client *c = clinic_connect(b.url, 10000, &err);
    assert_non_null(c);
    struct clinic_subscribe_options opts = {
        .events_url = b.events_url, .topic = "appointment.", .resync_ms = 60000};
    clinic_subscription *sub;
    assert_int_equal(clinic_subscribe(c, CLINIC_AFTER_NOW, &opts, &sub, &err), STATUS_OK);
    settle(sub);
    /* Connected at our end is not yet attached at the daemon's: PUB may drop what it publishes
     * before then, and Since hands that event out instead. Book again, a bounded number of
     * times, until one booking arrives live. */
    struct clinic_subscription_stats st = {0};
    for (int attempt = 0; attempt < 5 && st.live == 0; attempt++) {
        long long id = book_through(&a);
        Clinic__V1__Event *e = NULL;
        assert_int_equal(clinic_subscription_next(sub, 10000, &e, &err), STATUS_OK);
        assert_int_equal(e->appointment_id, id);
        assert_string_equal(e->topic, "appointment.booked");
        assert_true(e->seq > 0);
        clinic__v1__event__free_unpacked(e, NULL);
        clinic_subscription_stats(sub, &st);
    }
    assert_int_equal(st.live, 1);
    assert_int_equal(st.malformed, 0);
    clinic_subscription_close(sub);
    clinic_close(c);
}

static void since_replays_every_event_in_order_without_gaps(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        book_through(i % 2 ? &a : &b);
    Clinic__V1__SinceResponse *r = NULL;
    for (int waited = 0; waited < 10000; waited += 100) { /* the relays number within moments */
        if (r)
            clinic__v1__since_response__free_unpacked(r, NULL);
        r = since(&a, 0);
        if (r->n_events >= 6)
            break;
        harness_sleep_ms(100);
    }
    assert_int_equal(r->n_events, 6);
    for (size_t i = 0; i < r->n_events; i++)
        assert_int_equal(r->events[i]->seq, i + 1);
    assert_int_equal(r->last_seq, 6);
    clinic__v1__since_response__free_unpacked(r, NULL);
    r = since(&b, 4);
    assert_int_equal(r->n_events, 2);
    assert_int_equal(r->events[0]->seq, 5);
    clinic__v1__since_response__free_unpacked(r, NULL);
}

/* Books `count` hours from `first_hour` through one daemon, counting them; at the first refusal
 * it keeps the sentence in `failure` and stops (each call may take its full timeout). A thread
 * of its own, so it fails nothing itself (cmocka's checks belong to the test's thread). */
struct background_booker {
    const struct harness_daemon *daemon;
    int first_hour, count, booked;
    char failure[sizeof((struct clinic_error *)0)->message + 64];
    atomic_bool done;
    pthread_t thread;
};

static void *book_in_background(void *arg)
{
    struct background_booker *bk = arg;
    struct clinic_error err;
    clinic_client *c = clinic_connect(bk->daemon->url, 10000, &err);
    if (!c)
        snprintf(bk->failure, sizeof bk->failure, "connect: %s", err.message);
    for (int hour = bk->first_hour; c && hour < bk->first_hour + bk->count; hour++) {
        char start[32];
        if (book_hour(c, hour, start, sizeof start, &err) == 0) {
            snprintf(bk->failure, sizeof bk->failure, "Book %s: %s", start, err.message);
            break;
        }
        bk->booked++;
    }
    if (c)
        clinic_close(c);
    atomic_store(&bk->done, true);
    return NULL;
}

/* Since reads the events and the highest number in two statements, each with its own snapshot;
 * the relays number in between. While bookings flow through both daemons, every answer must
 * still have last_seq at or above each event it carries. Runs last: it books many hours. */
static void since_never_reports_a_last_seq_below_its_own_events(void **state)
{
    (void)state;
    enum { BOOKINGS = 80, MAX_READS = 5000 }; /* June holds 180 hours: 12 before, 160 here */
    struct background_booker bookers[2] = {{.daemon = &a, .count = BOOKINGS},
                                           {.daemon = &b, .count = BOOKINGS}};
    for (int i = 0; i < 2; i++) {
        bookers[i].first_hour = next_hour;
        next_hour += BOOKINGS;
        assert_int_equal(pthread_create(&bookers[i].thread, NULL, book_in_background, &bookers[i]),
                         0);
    }
    int reads = 0;
    for (; reads < MAX_READS && !(atomic_load(&bookers[0].done) && atomic_load(&bookers[1].done));
         reads++) {
        Clinic__V1__SinceResponse *r = since(reads % 2 ? &a : &b, 0);
        for (size_t i = 0; i < r->n_events; i++)
            if (r->events[i]->seq > r->last_seq)
                fail_msg("read %d: last_seq %llu beside event seq %llu", reads,
                         (unsigned long long)r->last_seq, (unsigned long long)r->events[i]->seq);
        clinic__v1__since_response__free_unpacked(r, NULL);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(bookers[i].thread, NULL);
        if (bookers[i].failure[0])
            fail_msg("booker %d, after %d of %d bookings: %s", i, bookers[i].booked, BOOKINGS,
                     bookers[i].failure);
        assert_int_equal(bookers[i].booked, BOOKINGS);
    }
    assert_true(reads > 0);
}

static void watch_misses_nothing_across_a_restart_of_its_daemon(void **state)
{
    (void)state;
    char out_path[] = "/tmp/clinic-watch-XXXXXX";
    int fd = mkstemp(out_path);
    assert_true(fd >= 0);
    watcher = fork();
    if (watcher == 0) {
        dup2(fd, 1);
        execl(CLINIC_CLI_PATH, "clinic", "--url", b.url, "--json", "watch", "--events",
              b.events_url, "--after", "6", "--count", "6", (char *)NULL);
        _exit(127);
    }
    close(fd);
    assert_true(watcher > 0);
    for (int i = 0; i < 3; i++)
        book_through(&a);
    /* restart the watched daemon on the same ports; meanwhile bookings go on through the other */
    char listen_arg[80], events_arg[80];
    snprintf(listen_arg, sizeof listen_arg, "%s", b.url);
    snprintf(events_arg, sizeof events_arg, "%s", b.events_url);
    assert_int_equal(harness_daemon_stop(&b), 0);
    for (int i = 0; i < 3; i++)
        book_through(&a);
    const char *const args[] = {"--listen", listen_arg, "--events", events_arg, NULL};
    assert_true(harness_daemon_start(&b, pg.dir, url, args, true));
    int status = stop_watcher(30000);
    char *out = harness_read_file(out_path);
    unlink(out_path);
    if (status == -1)
        fail_msg("clinic watch did not end within 30 s; it printed:\n%s", out ? out : "");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("clinic watch ended with wait status %d; it printed:\n%s", status, out ? out : "");
    for (int seq = 7; seq <= 12; seq++) {
        char needle[32];
        snprintf(needle, sizeof needle, "{\"seq\":\"%d\"", seq);
        const char *first = strstr(out, needle);
        if (!first || strstr(first + 1, needle))
            fail_msg("event %d should appear exactly once in:\n%s", seq, out);
    }
    free(out);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(booking_through_one_daemon_is_published_by_the_other),
        cmocka_unit_test(since_replays_every_event_in_order_without_gaps),
        cmocka_unit_test(watch_misses_nothing_across_a_restart_of_its_daemon),
        cmocka_unit_test(since_never_reports_a_last_seq_below_its_own_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
