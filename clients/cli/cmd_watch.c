/* cmd_watch.c: `clinic watch`: appointment changes as they happen.
 *
 * PUB/SUB drops what a disconnected watcher misses, so the watcher keeps the last sequence
 * number it printed and asks Events/Since for anything between: at start (from --after), when a
 * live event skips numbers, and every few seconds while quiet (a daemon restart or a dropped
 * connection is noticed that way even with no new event). Events arrive at most once each. */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clinic/v1/events.pb-c.h"

#define DEFAULT_EVENTS_URL "tcp://127.0.0.1:7451"
#define RECV_POLL_MS       500
#define QUIET_CATCH_UP_MS  3000

struct watch {
    struct cli *cli;
    const char *topic;
    unsigned long long last; /* highest sequence number printed */
    long long remaining;     /* events still to print; -1: no limit */
};

static atomic_bool interrupted;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, true);
}

static void print_event(struct watch *w, const Clinic__V1__Event *e)
{
    if (w->cli->json) {
        cli_print_json(&e->base);
    } else {
        /* "2026-03-29T09:00:00+02:00" shown as "2026-03-29 09:00" */
        printf(
            "%-6llu %-26s appointment %-6lld %.10s %.5s  therapist %lld  room %lld  client %lld\n",
            (unsigned long long)e->seq, e->topic, (long long)e->appointment_id, e->start_time,
            strlen(e->start_time) > 11 ? e->start_time + 11 : "", (long long)e->therapist_id,
            (long long)e->room_id, (long long)e->client_id);
    }
    fflush(stdout);
    w->last = e->seq;
    if (w->remaining > 0)
        w->remaining--;
}

static bool wanted(const struct watch *w, const char *topic)
{
    return strncmp(topic, w->topic, strlen(w->topic)) == 0;
}

/* Prints what Events/Since has after w->last; false when the daemon could not be asked. */
static bool catch_up(struct watch *w)
{
    for (;;) {
        Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
        req.after_seq = w->last;
        req.limit = 1000;
        ProtobufCMessage *resp;
        if (cli_call(w->cli, "/clinic.v1.Events/Since", &req.base,
                     &clinic__v1__since_response__descriptor, &resp) != 0)
            return false;
        const Clinic__V1__SinceResponse *s = (const Clinic__V1__SinceResponse *)resp;
        size_t n = s->n_events;
        for (size_t i = 0; i < n && w->remaining != 0; i++) {
            if (wanted(w, s->events[i]->topic))
                print_event(w, s->events[i]);
            else
                w->last = s->events[i]->seq;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        if (n < 1000 || w->remaining == 0)
            return true;
    }
}

/* The sequence number watching starts after: --after, else the newest one (live from now). */
static bool starting_point(struct watch *w, const char *after)
{
    if (after) {
        char *end;
        errno = 0;
        w->last = strtoull(after, &end, 10);
        return !errno && end != after && !*end;
    }
    Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
    req.limit = 1;
    ProtobufCMessage *resp;
    if (cli_call(w->cli, "/clinic.v1.Events/Since", &req.base,
                 &clinic__v1__since_response__descriptor, &resp) != 0)
        return false;
    w->last = ((Clinic__V1__SinceResponse *)resp)->last_seq;
    protobuf_c_message_free_unpacked(resp, NULL);
    return true;
}

/* Handles one live message: "<topic> <Event>". */
static void on_message(struct watch *w, nng_msg *msg)
{
    const char *body = nng_msg_body(msg);
    size_t len = nng_msg_len(msg);
    const char *space = memchr(body, ' ', len);
    if (!space)
        return;
    size_t skip = (size_t)(space - body) + 1;
    Clinic__V1__Event *e =
        clinic__v1__event__unpack(NULL, len - skip, (const uint8_t *)body + skip);
    if (!e)
        return;
    if (e->seq > w->last + 1)
        catch_up(w); /* numbers were skipped: fetch them in order (it prints e too) */
    else if (e->seq == w->last + 1)
        print_event(w, e);
    clinic__v1__event__free_unpacked(e, NULL);
}

static int watch_loop(struct watch *w, nng_socket sub)
{
    long quiet_ms = 0;
    while (!atomic_load(&interrupted) && w->remaining != 0) {
        nng_msg *msg;
        int rv = nng_recvmsg(sub, &msg, 0);
        if (rv == 0) {
            on_message(w, msg);
            nng_msg_free(msg);
            quiet_ms = 0;
        } else if (rv == NNG_ETIMEDOUT && (quiet_ms += RECV_POLL_MS) >= QUIET_CATCH_UP_MS) {
            catch_up(w); /* a failure here is printed; keep watching, the daemon may come back */
            quiet_ms = 0;
        } else if (rv != NNG_ETIMEDOUT) {
            fprintf(stderr, "clinic watch: %s\n", nng_strerror(rv));
            return STATUS_UNAVAILABLE;
        }
    }
    return 0;
}

int cmd_watch(struct cli *cli, int argc, char **argv)
{
    const char *events_url = getenv("CLINIC_EVENTS"), *after = NULL;
    struct watch w = {.cli = cli, .topic = "appointment.", .remaining = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--events") == 0 && v)
            events_url = argv[++i];
        else if (strcmp(a, "--after") == 0 && v)
            after = argv[++i];
        else if (strcmp(a, "--topic") == 0 && v)
            w.topic = argv[++i];
        else if (strcmp(a, "--count") == 0 && v)
            w.remaining = strtoll(argv[++i], NULL, 10);
        else
            return cli_usage_error("watch", "unexpected argument \"%s\"", a);
    }
    if (w.remaining == 0 || w.remaining < -1)
        return cli_usage_error("watch", "--count must be a positive number");
    if (!starting_point(&w, after))
        return after ? cli_usage_error("watch", "--after must be a sequence number") : 14;
    nng_socket sub;
    int rv;
    if ((rv = nng_sub0_open(&sub)) != 0 ||
        (rv = nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, w.topic, strlen(w.topic))) != 0 ||
        (rv = nng_dial(sub, events_url ? events_url : DEFAULT_EVENTS_URL, NULL,
                       NNG_FLAG_NONBLOCK)) != 0) {
        fprintf(stderr, "clinic watch: cannot watch %s: %s\n",
                events_url ? events_url : DEFAULT_EVENTS_URL, nng_strerror(rv));
        return STATUS_UNAVAILABLE;
    }
    nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, RECV_POLL_MS);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    catch_up(&w);
    int code = watch_loop(&w, sub);
    nng_close(sub);
    return code;
}
