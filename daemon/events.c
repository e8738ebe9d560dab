/* events.c: the PUB socket that announces changes to watchers, and the relay thread that
 * numbers committed events and publishes them. */
#include "events.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "clinic/v1/events.pb-c.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "rowmap.h"
#include "status.h"

/* Watchers only subscribe: what they send is a few bytes of subscription. */
#define EVENTS_RECV_MAX 4096
/* Even without a wake-up (a change written by hand in psql, a notification missed while
 * reconnecting), look this often. */
#define RELAY_POLL_MS 1000
#define RELAY_BATCH   "500"
/* Passes are at least this far apart. A pass costs the database about half a millisecond and a
 * commit that NOTIFYs (which PostgreSQL serialises with every booking's commit); one pass per
 * booking at a busy desk doubled those commits. A watcher sees an event this much later at
 * most, in bursts only: after a quiet spell the next event starts a pass at once. */
#define RELAY_MIN_GAP_MS 20

struct events {
    nng_socket sock;
    struct listener *listener;
    struct db *db;
    pthread_t relay;
    bool relay_started;
    int wake_fd; /* an eventfd: this daemon's workers committed a change (events_wake) */
    atomic_bool stopping;
    long long last_published; /* -1 until the relay has read where numbering stands */
};

static const struct db_stmt sequence_stmt = {"SELECT clinic_sequence_events()", 0};
static const struct db_stmt last_seq_stmt = {"SELECT coalesce(max(seq), 0) FROM events", 0};
static const struct db_stmt batch_stmt = {"SELECT * FROM clinic_events_after($1, " RELAY_BATCH ")",
                                          1};

static void publish(struct events *ev, const char *topic, const ProtobufCMessage *event)
{
    size_t topic_len = strlen(topic), size = protobuf_c_message_get_packed_size(event);
    nng_msg *msg;
    if (nng_msg_alloc(&msg, topic_len + 1 + size) != 0)
        return;
    uint8_t *body = nng_msg_body(msg);
    memcpy(body, topic, topic_len);
    body[topic_len] = ' ';
    protobuf_c_message_pack(event, body + topic_len + 1);
    if (nng_sendmsg(ev->sock, msg, 0) != 0)
        nng_msg_free(msg);
}

/* Publishes every numbered event after last_published; false when the database failed. */
static bool publish_new(struct events *ev)
{
    for (;;) {
        char after[24];
        snprintf(after, sizeof after, "%lld", ev->last_published);
        struct db_result *r;
        if (db_query(ev->db, &batch_stmt, (const char *[]){after}, &r) != STATUS_OK)
            return false;
        int rows = db_rows(r);
        struct call scratch = {.request_id = "event-relay", .method = "-"}; /* for its arena */
        for (int i = 0; i < rows; i++) {
            ProtobufCMessage *e = rowmap_new(&scratch, &clinic__v1__event__descriptor);
            if (!e || !rowmap_fill(&scratch, e, r, i))
                break;
            publish(ev, ((Clinic__V1__Event *)e)->topic, e);
            ev->last_published = (long long)((Clinic__V1__Event *)e)->seq;
        }
        call_release(&scratch);
        db_result_free(r);
        if (rows < 500)
            return true;
    }
}

/* Connects, LISTENs and learns where numbering stands (only on the first connection: after a
 * reconnection the relay catches up on what it missed). */
static bool relay_connect(struct events *ev)
{
    if (db_ensure(ev->db) != STATUS_OK || db_listen(ev->db, "clinic_events") != STATUS_OK)
        return false;
    if (ev->last_published >= 0)
        return true;
    struct db_result *r;
    if (db_query(ev->db, &last_seq_stmt, NULL, &r) != STATUS_OK)
        return false;
    ev->last_published = strtoll(db_value(r, 0, 0), NULL, 10);
    db_result_free(r);
    return true;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until RELAY_MIN_GAP_MS after the pass that started at last_pass_ms. */
static void keep_gap_after(int64_t last_pass_ms)
{
    int64_t wait_ms = last_pass_ms + RELAY_MIN_GAP_MS - monotonic_ms();
    if (wait_ms <= 0)
        return;
    struct timespec pause = {0, (long)wait_ms * 1000000L};
    nanosleep(&pause, NULL);
}

void events_wake(struct events *ev)
{
    uint64_t one = 1;
    if (ev && write(ev->wake_fd, &one, sizeof one) < 0) {
        /* the counter is full (never in practice): the relay has a wake-up pending anyway */
    }
}

/* Waits for a reason to look: this daemon's workers committed (events_wake), another daemon's
 * relay numbered events (its NOTIFY), or RELAY_POLL_MS passed. False when the connection is
 * gone. */
static bool wait_for_changes(struct events *ev)
{
    int woke = db_wait_notify(ev->db, RELAY_POLL_MS, ev->wake_fd);
    if (woke == 2) {
        uint64_t count;
        if (read(ev->wake_fd, &count, sizeof count) < 0) {
            /* EAGAIN: another read drained it; nothing is lost, a pass follows */
        }
    }
    return woke >= 0;
}

static void *relay_main(void *arg)
{
    struct events *ev = arg;
    bool connected = false;
    int64_t last_pass_ms = 0;
    while (!atomic_load(&ev->stopping)) {
        if (!connected) {
            connected = relay_connect(ev);
            if (!connected) {
                struct timespec pause = {0, 500 * 1000000L};
                nanosleep(&pause, NULL);
            }
            continue;
        }
        if (!wait_for_changes(ev)) {
            connected = false;
            continue;
        }
        keep_gap_after(last_pass_ms);
        last_pass_ms = monotonic_ms();
        if (db_query(ev->db, &sequence_stmt, NULL, NULL) != STATUS_OK || !publish_new(ev)) {
            log_msg(LOG_LEVEL_WARN, "event relay: %s", db_error_detail(ev->db));
            connected = false;
        }
    }
    return NULL;
}

struct events *events_start(const struct listen_options *opt, const char *database_url, char *err,
                            size_t errlen)
{
    struct events *ev = calloc(1, sizeof *ev);
    int rv;
    if (!ev || !(ev->db = db_new(database_url))) {
        snprintf(err, errlen, "out of memory opening the event socket");
        free(ev);
        return NULL;
    }
    ev->last_published = -1;
    if ((ev->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot make the event relay's wake-up: %s", strerror(errno));
        db_free(ev->db);
        free(ev);
        return NULL;
    }
    if ((rv = nng_pub0_open(&ev->sock)) != 0) {
        close(ev->wake_fd);
        snprintf(err, errlen, "cannot open the event socket: %s", nng_strerror(rv));
        db_free(ev->db);
        free(ev);
        return NULL;
    }
    struct listen_options listen = *opt;
    listen.recv_max = EVENTS_RECV_MAX;
    /* Without a URL nobody can subscribe, but the relay still numbers events: Events/Since
     * serves watchers from those numbers, here and on every other daemon of the database. */
    if (opt->url && opt->url[0] && !(ev->listener = listen_start(ev->sock, &listen, err, errlen))) {
        events_stop(ev);
        return NULL;
    }
    ev->relay_started = pthread_create(&ev->relay, NULL, relay_main, ev) == 0;
    if (!ev->relay_started) {
        snprintf(err, errlen, "cannot start the event relay thread");
        events_stop(ev);
        return NULL;
    }
    if (ev->listener)
        log_msg(LOG_LEVEL_INFO, "publishing events on %s", listen_url(ev->listener));
    else
        log_msg(LOG_LEVEL_INFO, "publishing no events (--events is empty): watchers of this "
                                "daemon ask Events/Since every few seconds instead");
    return ev;
}

const char *events_url(const struct events *ev)
{
    return ev && ev->listener ? listen_url(ev->listener) : "";
}

void events_stop(struct events *ev)
{
    if (!ev)
        return;
    atomic_store(&ev->stopping, true);
    if (ev->relay_started)
        pthread_join(ev->relay, NULL);
    listen_close(ev->sock, ev->listener);
    close(ev->wake_fd);
    db_free(ev->db);
    free(ev);
}
