/* libclinic's event subscription (clinic_subscribe): it resumes exactly after the number it is
 * given, paging through Events/Since; a live event after a gap waits while Since fills the gap,
 * and duplicates and malformed messages are dropped (driven by a stand-in PUB socket, so that
 * the gap is exact); a restart of the daemon it listens to loses nothing and repeats nothing;
 * every wait returns within its timeout. Bookings lie in June of next year, computed from now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/events.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

/* A wait that should end at its timeout may take this much longer on a busy machine. */
#define LATE_MS 1000
/* How long the events socket may take to dial a restarted daemon again. */
#define RECONNECT_WAIT_MS 15000

static struct harness_pg pg;
static char url[512];
static struct harness_daemon a, b;
static struct harness_clinic clinic;
static int next_hour;
static int year;

static int setup(void **state)
{
    (void)state;
    year = harness_next_year();
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "subscription", url, sizeof url) ||
        !harness_daemon_start(&a, pg.dir, url, NULL, true) ||
        !harness_daemon_start(&b, pg.dir, url, NULL, true))
        return -1;
    return harness_seed_clinic(url, "Europe/Berlin", 2, 8, &clinic) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int sa = harness_daemon_stop(&a), sb = harness_daemon_stop(&b);
    harness_pg_destroy(&pg);
    return sa == 0 && sb == 0 ? 0 : -1;
}

/* Books the next free hour (June of next year, six a day from 09:00) through daemon d. */
static void book_through(const struct harness_daemon *d)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(d->url, 10000, &err);
    assert_non_null(c);
    char start[32];
    int hour = next_hour++;
    snprintf(start, sizeof start, "%04d-06-%02d %02d:00", year, 1 + hour / 6, 9 + hour % 6);
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = start;
    if (clinic_call(c, "/clinic.v1.Scheduling/Book", &req.base,
                    &clinic__v1__appointment__descriptor, NULL, NULL, &err) != STATUS_OK)
        fail_msg("Book %s: %s", start, err.message);
    clinic_close(c);
}

/* Events/Since through a after `after`, once at least `n` events are numbered (bounded wait). */
static Clinic__V1__SinceResponse *since_at_least(uint64_t after, size_t n)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(a.url, 10000, &err);
    assert_non_null(c);
    Clinic__V1__SinceResponse *r = NULL;
    for (int waited = 0; waited < 10000; waited += 100) {
        if (r)
            clinic__v1__since_response__free_unpacked(r, NULL);
        Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
        req.after_seq = after;
        ProtobufCMessage *resp = NULL;
        assert_int_equal(clinic_call(c, "/clinic.v1.Events/Since", &req.base,
                                     &clinic__v1__since_response__descriptor, &resp, NULL, &err),
                         STATUS_OK);
        r = (Clinic__V1__SinceResponse *)resp;
        if (r->n_events >= n)
            break;
        harness_sleep_ms(100);
    }
    clinic_close(c);
    assert_true(r->n_events >= n);
    return r;
}

static uint64_t newest_seq(void)
{
    Clinic__V1__SinceResponse *r = since_at_least(0, 0);
    uint64_t last = r->last_seq;
    clinic__v1__since_response__free_unpacked(r, NULL);
    return last;
}

/* Waits for the next event and checks that it is number `seq`. */
static void expect_seq(clinic_subscription *sub, uint64_t seq)
{
    Clinic__V1__Event *e = NULL;
    struct clinic_error err;
    int code = clinic_subscription_next(sub, 10000, &e, &err);
    if (code != STATUS_OK)
        fail_msg("waiting for event %llu: %s", (unsigned long long)seq, err.message);
    assert_int_equal(e->seq, seq);
    clinic__v1__event__free_unpacked(e, NULL);
}

/* Checks that nothing comes within timeout_ms, and that the wait ends about then. */
static void expect_nothing(clinic_subscription *sub, uint32_t timeout_ms)
{
    Clinic__V1__Event *e = NULL;
    struct clinic_error err;
    long long started = harness_now_ms();
    int code = clinic_subscription_next(sub, timeout_ms, &e, &err);
    long long took = harness_now_ms() - started;
    if (code == STATUS_OK)
        fail_msg("unexpected event %llu", (unsigned long long)e->seq);
    assert_int_equal(code, STATUS_DEADLINE_EXCEEDED);
    assert_null(e);
    assert_true(err.message[0] != '\0');
    if (took < (long long)timeout_ms - 50 || took > (long long)timeout_ms + LATE_MS)
        fail_msg("a %u ms wait took %lld ms", timeout_ms, took);
}

/* As in test_events.c: waits until the events socket is up and the Since call that follows a
 * connection is made, so that what comes next arrives live. */
static void settle(clinic_subscription *sub)
{
    struct clinic_subscription_stats st;
    for (int waited = 0; waited < 10000; waited += 100) {
        clinic_subscription_stats(sub, &st);
        if (st.connections > 0)
            break;
        expect_nothing(sub, 100);
    }
    assert_true(st.connections > 0);
    expect_nothing(sub, 100);
}

static void resuming_after_n_hands_out_n_plus_one_onwards_in_order(void **state)
{
    (void)state;
    uint64_t first = newest_seq() + 1;
    for (int i = 0; i < 5; i++)
        book_through(i % 2 ? &a : &b);
    clinic__v1__since_response__free_unpacked(since_at_least(first - 1, 5), NULL);
    struct clinic_error err;
    clinic_client *c = clinic_connect(a.url, 10000, &err);
    assert_non_null(c);
    /* pages of two: the three events come in two Since calls */
    struct clinic_subscribe_options opts = {.events_url = a.events_url, .page_limit = 2};
    clinic_subscription *sub;
    assert_int_equal(clinic_subscribe(c, first + 1, &opts, &sub, &err), STATUS_OK);
    for (uint64_t seq = first + 2; seq <= first + 4; seq++)
        expect_seq(sub, seq);
    expect_nothing(sub, 300);
    struct clinic_subscription_stats st;
    clinic_subscription_stats(sub, &st);
    assert_int_equal(st.replayed, 3);
    /* Not asserted: duplicates. A's relay may publish the events B's relay numbered after the
     * replay handed them out (it hears of them through B's NOTIFY, late on a busy machine); the
     * subscription drops such copies (counted there), and what it hands out, checked above, is
     * each event once, in order. */
    assert_true(st.since_calls >= 2);
    assert_int_equal(clinic_subscription_last_seq(sub), first + 4);
    clinic_subscription_close(sub);
    clinic_close(c);
}

/* Publishes e on pub as clinicd does: "<topic> <Event>". */
static void publish(nng_socket pub, const char *topic, const Clinic__V1__Event *e)
{
    size_t tlen = strlen(topic), size = clinic__v1__event__get_packed_size(e);
    nng_msg *msg;
    assert_int_equal(nng_msg_alloc(&msg, tlen + 1 + size), 0);
    uint8_t *body = nng_msg_body(msg);
    memcpy(body, topic, tlen);
    body[tlen] = ' ';
    clinic__v1__event__pack(e, body + tlen + 1);
    assert_int_equal(nng_sendmsg(pub, msg, 0), 0);
}

static void publish_raw(nng_socket pub, const char *text)
{
    assert_int_equal(nng_send(pub, (void *)text, strlen(text), 0), 0);
}

/* A stand-in PUB socket publishes real events, skipping one: the subscription fills the hole
 * from Since, hands out each event once, and drops the repeats and the garbage that follow. */
static void a_gap_in_live_events_is_filled_from_since_without_duplicates(void **state)
{
    (void)state;
    char pub_url[64];
    snprintf(pub_url, sizeof pub_url, "tcp://127.0.0.1:%d", harness_free_port());
    nng_socket pub;
    assert_int_equal(nng_pub0_open(&pub), 0);
    assert_int_equal(nng_listen(pub, pub_url, NULL, 0), 0);
    uint64_t last = newest_seq();
    struct clinic_error err;
    clinic_client *c = clinic_connect(a.url, 10000, &err);
    assert_non_null(c);
    struct clinic_subscribe_options opts = {.events_url = pub_url, .resync_ms = 60000};
    clinic_subscription *sub;
    assert_int_equal(clinic_subscribe(c, CLINIC_AFTER_NOW, &opts, &sub, &err), STATUS_OK);
    assert_int_equal(clinic_subscription_last_seq(sub), last);
    settle(sub);
    for (int i = 0; i < 3; i++)
        book_through(&a);
    Clinic__V1__SinceResponse *r = since_at_least(last, 3);
    Clinic__V1__Event **ev = r->events;

    publish(pub, ev[0]->topic, ev[0]);
    expect_seq(sub, last + 1);
    publish(pub, ev[2]->topic, ev[2]); /* ev[1] is lost on the way */
    expect_seq(sub, last + 2);
    expect_seq(sub, last + 3);
    publish(pub, ev[1]->topic, ev[1]); /* late, and again: both already handed out */
    publish(pub, ev[2]->topic, ev[2]);
    publish_raw(pub, "no-topic-separator");
    publish(pub, "appointment.cancelled", ev[0]); /* a prefix that is not the event's topic */
    expect_nothing(sub, 500);

    struct clinic_subscription_stats st;
    clinic_subscription_stats(sub, &st);
    assert_int_equal(st.live, 1);
    assert_int_equal(st.replayed, 2);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.duplicates, 2);
    assert_int_equal(st.malformed, 2);
    clinic__v1__since_response__free_unpacked(r, NULL);
    clinic_subscription_close(sub);
    clinic_close(c);
    nng_close(pub);
}

/* Nothing to wait for, no daemon on the events URL, or the daemon away: each wait ends at its
 * timeout (plus LATE_MS on a busy machine) with a status saying why. */
static void waits_end_at_their_timeout(void **state)
{
    (void)state;
    struct clinic_error err;
    clinic_client *c = clinic_connect(a.url, 10000, &err);
    assert_non_null(c);
    clinic_subscription *sub;
    struct clinic_subscribe_options quiet = {.events_url = a.events_url};
    assert_int_equal(clinic_subscribe(c, CLINIC_AFTER_NOW, &quiet, &sub, &err), STATUS_OK);
    expect_nothing(sub, 300);
    expect_nothing(sub, 0);
    clinic_subscription_close(sub);

    char nobody[64];
    snprintf(nobody, sizeof nobody, "tcp://127.0.0.1:%d", harness_free_port());
    struct clinic_subscribe_options absent = {.events_url = nobody};
    assert_int_equal(clinic_subscribe(c, CLINIC_AFTER_NOW, &absent, &sub, &err), STATUS_OK);
    expect_nothing(sub, 300);
    clinic_subscription_close(sub);

    struct clinic_subscribe_options bad = {.events_url = "carrier-pigeon://loft"};
    assert_int_equal(clinic_subscribe(c, 0, &bad, &sub, &err), STATUS_INVALID_ARGUMENT);
    assert_null(sub);
    harness_assert_contains(err.message, "carrier-pigeon://loft");
    clinic_close(c);
}

/* Collects events until number `through`, checking each is the one after the last. */
static void expect_through(clinic_subscription *sub, uint64_t through)
{
    for (uint64_t seq = clinic_subscription_last_seq(sub) + 1; seq <= through; seq++)
        expect_seq(sub, seq);
}

/* The subscriber listens to b and asks Since of b; b stops while bookings go on through a, and
 * starts again on the same ports. While b is away a wait still ends at its timeout; afterwards
 * every event comes once, in order. */
static void a_daemon_restart_loses_nothing_and_repeats_nothing(void **state)
{
    (void)state;
    uint64_t last = newest_seq();
    struct clinic_error err;
    clinic_client *c = clinic_connect(b.url, 10000, &err);
    assert_non_null(c);
    struct clinic_subscribe_options opts = {.events_url = b.events_url, .call_timeout_ms = 2000};
    clinic_subscription *sub;
    assert_int_equal(clinic_subscribe(c, last, &opts, &sub, &err), STATUS_OK);
    settle(sub);
    book_through(&a);
    book_through(&a);
    expect_through(sub, last + 2);

    char listen_arg[80], events_arg[80];
    snprintf(listen_arg, sizeof listen_arg, "%s", b.url);
    snprintf(events_arg, sizeof events_arg, "%s", b.events_url);
    assert_int_equal(harness_daemon_stop(&b), 0);
    for (int i = 0; i < 3; i++)
        book_through(&a);
    Clinic__V1__Event *e = NULL;
    long long started = harness_now_ms();
    int code = clinic_subscription_next(sub, 500, &e, &err);
    long long took = harness_now_ms() - started;
    assert_null(e);
    assert_true(code == STATUS_UNAVAILABLE || code == STATUS_DEADLINE_EXCEEDED);
    if (took > 500 + LATE_MS)
        fail_msg("a 500 ms wait with the daemon away took %lld ms", took);

    const char *const args[] = {"--listen", listen_arg, "--events", events_arg, NULL};
    assert_true(harness_daemon_start(&b, pg.dir, url, args, true));
    book_through(&a);
    expect_through(sub, last + 6);
    expect_nothing(sub, 300);
    /* Since may have filled everything before the events socket dialled b again (nng retries
     * on its own schedule, slower on a loaded machine): wait, bounded, for the reconnection. */
    struct clinic_subscription_stats st;
    long long give_up = harness_now_ms() + RECONNECT_WAIT_MS;
    do {
        clinic_subscription_stats(sub, &st);
        if (st.connections < 2)
            harness_sleep_ms(50);
    } while (st.connections < 2 && harness_now_ms() < give_up);
    assert_true(st.connections >= 2);
    book_through(&a);
    expect_through(sub, last + 7);
    clinic_subscription_stats(sub, &st);
    assert_int_equal(st.live + st.replayed, 7);
    clinic_subscription_close(sub);
    clinic_close(c);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_EVENTS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resuming_after_n_hands_out_n_plus_one_onwards_in_order),
        cmocka_unit_test(a_gap_in_live_events_is_filled_from_since_without_duplicates),
        cmocka_unit_test(waits_end_at_their_timeout),
        cmocka_unit_test(a_daemon_restart_loses_nothing_and_repeats_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
