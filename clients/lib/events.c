/* events.c: libclinic's subscription to clinicd's events: live from the PUB socket, what PUB/SUB
 * lost from Events/Since, each event handed out once, in sequence order.
 *
 * DESIGN. Sequence numbers are contiguous, so the subscription needs one number to know what it
 * has: last_seq, the highest event handed out or passed over. A live event numbered last_seq + 1
 * goes straight out; one at or below is a duplicate; one beyond is "held" while Since fetches
 * the events in between (Since is the record, the PUB socket only a fast path). Held events are
 * waited on for a bounded time only: a Since answered by a daemon that has not seen the event
 * yet (a replica, a slower relay) is asked again for HELD_PATIENCE_MS, then the held event is
 * dropped, and Since delivers it later. Everything runs in the caller's thread inside
 * clinic_subscription_next, every wait bounded by its deadline; nng's pipe callback only sets a
 * flag, so that a reconnection is followed by a Since call (events published while the socket
 * was down are never seen live). The SUB socket subscribes to every topic and filters here:
 * nng's SUB filters on the subscriber's side anyway, and seeing every number is what makes
 * gaps visible. */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "clinic/v1/events.pb-c.h"
#include "clinic_internal.h"

#define SINCE_PAGE_MAX     1000 /* the daemon's SINCE_MAX */
#define RESYNC_DEFAULT_MS  3000
#define RECONNECT_MIN_MS   100
#define RECONNECT_MAX_MS   2000
#define SINCE_RETRY_MIN_MS 50
#define HELD_PATIENCE_MS   2000
#define EVENT_MAX_BYTES    (64 * 1024) /* an event is a few hundred bytes; refuse absurd frames */
#define TOPIC_MAX          128
#define EVENTS_URLS_MAX    1024

struct clinic_subscription {
    clinic_client *client;
    nng_socket sock;
    nng_aio *aio;
    char topic[TOPIC_MAX];
    char events_urls[EVENTS_URLS_MAX]; /* dialled, comma-separated; "": none, Since only */
    uint32_t call_timeout_ms, resync_ms, page_limit, retry_max_ms;
    uint64_t last_seq;
    Clinic__V1__SinceResponse *page; /* a Since answer being handed out */
    size_t page_next;
    Clinic__V1__Event *held; /* the lowest live event seen beyond a gap */
    int64_t held_since_ms;
    bool catch_up;           /* Since must be asked (again) */
    int64_t retry_at_ms;     /* not before this (after a failed or a lagging Since) */
    uint32_t retry_ms;       /* the next pause after a failure: doubles up to retry_max_ms */
    int64_t last_sync_ms;    /* when Since last answered or a live event came in order */
    atomic_bool reconnected; /* set by the pipe callback */
    atomic_uint_fast64_t connections;
    struct clinic_subscription_stats stats;
};

static void pipe_added(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    (void)pipe;
    (void)ev;
    struct clinic_subscription *s = arg;
    atomic_fetch_add(&s->connections, 1);
    atomic_store(&s->reconnected, true);
}

static void free_event(Clinic__V1__Event *e)
{
    if (e)
        clinic__v1__event__free_unpacked(e, NULL);
}

/* Frees the Since answer with the events not handed out yet (those handed out are the
 * caller's: the array is emptied first so that protobuf-c frees only the array). */
static void drop_page(struct clinic_subscription *s)
{
    if (!s->page)
        return;
    for (size_t i = s->page_next; i < s->page->n_events; i++)
        free_event(s->page->events[i]);
    s->page->n_events = 0;
    clinic__v1__since_response__free_unpacked(s->page, NULL);
    s->page = NULL;
}

/* Takes e (ours to free) as the event after last_seq: hands it to the caller when its topic is
 * wanted (true), else frees it. Either way the subscription has now passed it. */
static bool pass_on(struct clinic_subscription *s, Clinic__V1__Event *e, bool live,
                    Clinic__V1__Event **out)
{
    s->last_seq = e->seq;
    if (strncmp(e->topic, s->topic, strlen(s->topic)) != 0) {
        free_event(e);
        return false;
    }
    if (live)
        s->stats.live++;
    else
        s->stats.replayed++;
    *out = e;
    return true;
}

/* Hands out the next event Since returned, or the held live event once it is next; true when
 * *out was set. */
static bool take_ready(struct clinic_subscription *s, Clinic__V1__Event **out)
{
    while (s->page && s->page_next < s->page->n_events) {
        Clinic__V1__Event *e = s->page->events[s->page_next++];
        if (e->seq <= s->last_seq)
            free_event(e); /* Since answers after last_seq; only a confused daemon repeats */
        else if (pass_on(s, e, false, out))
            return true;
    }
    drop_page(s);
    if (s->held && s->held->seq <= s->last_seq) {
        free_event(s->held); /* Since brought it */
        s->held = NULL;
    } else if (s->held && s->held->seq == s->last_seq + 1) {
        Clinic__V1__Event *e = s->held;
        s->held = NULL;
        return pass_on(s, e, true, out);
    }
    return false;
}

static bool transient(int code)
{
    return code == STATUS_UNAVAILABLE || code == STATUS_DEADLINE_EXCEEDED ||
           code == STATUS_RESOURCE_EXHAUSTED || code == STATUS_INTERNAL || code == STATUS_ABORTED;
}

/* After a Since page: decides whether Since must be asked again, and when. */
static void after_page(struct clinic_subscription *s, size_t n)
{
    int64_t now = clinic_now_ms();
    s->last_sync_ms = now;
    s->retry_ms = SINCE_RETRY_MIN_MS;
    uint64_t reached = n ? s->page->events[n - 1]->seq : s->last_seq;
    if (n >= s->page_limit)
        return; /* more pages: catch_up stays */
    if (!s->held || reached + 1 >= s->held->seq) {
        s->catch_up = false;
    } else if (now - s->held_since_ms >= HELD_PATIENCE_MS) {
        free_event(s->held); /* Since will bring it once its daemon has it */
        s->held = NULL;
        s->catch_up = false;
    } else {
        s->retry_at_ms = now + SINCE_RETRY_MIN_MS; /* Since lags the live event: ask again */
    }
}

/* Asks Events/Since for the page after last_seq, by deadline_ms at the latest. */
static int fetch_page(struct clinic_subscription *s, int64_t deadline_ms, struct clinic_error *err)
{
    int64_t left = deadline_ms - clinic_now_ms();
    if (left <= 0) {
        clinic_set_error(err, STATUS_DEADLINE_EXCEEDED, NULL, "no time left to ask Events/Since");
        return STATUS_DEADLINE_EXCEEDED;
    }
    Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
    req.after_seq = s->last_seq;
    req.limit = s->page_limit;
    struct clinic_call_options opts = {
        .timeout_ms = left < s->call_timeout_ms ? (uint32_t)left : s->call_timeout_ms};
    ProtobufCMessage *resp = NULL;
    int code =
        clinic_call_within(s->client, "/clinic.v1.Events/Since", &req.base,
                           &clinic__v1__since_response__descriptor, &resp, &opts, deadline_ms, err);
    if (code != STATUS_OK)
        return code;
    s->stats.since_calls++;
    s->page = (Clinic__V1__SinceResponse *)resp;
    s->page_next = 0;
    after_page(s, s->page->n_events);
    return STATUS_OK;
}

/* Decodes "<topic> <Event>"; NULL (counted) when the message is not that. */
static Clinic__V1__Event *decode_live(struct clinic_subscription *s, nng_msg *msg)
{
    const char *body = nng_msg_body(msg);
    size_t len = nng_msg_len(msg);
    const char *space = memchr(body, ' ', len);
    Clinic__V1__Event *e = NULL;
    if (space) {
        size_t skip = (size_t)(space - body) + 1;
        e = clinic__v1__event__unpack(NULL, len - skip, (const uint8_t *)body + skip);
    }
    /* the prefix is what SUB filters on: it must be the event's own topic */
    if (e && (e->seq == 0 || strlen(e->topic) != (size_t)(space - body) ||
              memcmp(e->topic, body, (size_t)(space - body)) != 0)) {
        free_event(e);
        e = NULL;
    }
    if (!e)
        s->stats.malformed++;
    return e;
}

/* Takes one live event: hands it out when it is next (true), drops a duplicate, holds one that
 * comes after a gap and asks for Since. */
static bool take_live(struct clinic_subscription *s, Clinic__V1__Event *e, Clinic__V1__Event **out)
{
    if (e->seq <= s->last_seq) {
        s->stats.duplicates++;
        free_event(e);
        return false;
    }
    if (e->seq == s->last_seq + 1) {
        s->last_sync_ms = clinic_now_ms();
        return pass_on(s, e, true, out);
    }
    if (!s->held || e->seq < s->held->seq) {
        if (!s->held) {
            s->stats.gaps++;
            s->held_since_ms = clinic_now_ms();
        }
        free_event(s->held);
        s->held = e;
    } else {
        free_event(e); /* Since brings it too */
    }
    s->catch_up = true;
    return false;
}

/* Waits up to wait_ms for a live message; true when it made *out an event to hand out. */
static bool receive(struct clinic_subscription *s, int64_t wait_ms, Clinic__V1__Event **out)
{
    nng_aio_set_timeout(s->aio, (nng_duration)(wait_ms > 0 ? wait_ms : 0));
    nng_recv_aio(s->sock, s->aio);
    nng_aio_wait(s->aio);
    if (nng_aio_result(s->aio) != 0)
        return false;
    nng_msg *msg = nng_aio_get_msg(s->aio);
    Clinic__V1__Event *e = decode_live(s, msg);
    nng_msg_free(msg);
    return e && take_live(s, e, out);
}

/* How long receive may wait: until the deadline, the next resync or the next Since retry. */
static int64_t wait_budget(const struct clinic_subscription *s, int64_t deadline_ms)
{
    int64_t now = clinic_now_ms(), until = deadline_ms;
    if (s->catch_up && s->retry_at_ms < until)
        until = s->retry_at_ms;
    if (!s->catch_up && s->last_sync_ms + s->resync_ms < until)
        until = s->last_sync_ms + s->resync_ms;
    return until - now;
}

/* Asks Since when it is due; the status of a refusal to give up on, else STATUS_OK (a transient
 * failure is kept in *failure, with err filled, and retried after a growing pause). */
static int sync_if_due(struct clinic_subscription *s, int64_t deadline_ms, int *failure,
                       struct clinic_error *err)
{
    int64_t now = clinic_now_ms();
    if (atomic_exchange(&s->reconnected, false) || now - s->last_sync_ms >= s->resync_ms)
        s->catch_up = true;
    if (!s->catch_up || now < s->retry_at_ms || now >= deadline_ms)
        return STATUS_OK;
    int code = fetch_page(s, deadline_ms, err);
    if (code == STATUS_OK || !transient(code))
        return code;
    *failure = code;
    s->retry_at_ms = clinic_now_ms() + s->retry_ms;
    s->retry_ms = s->retry_ms * 2 > s->retry_max_ms ? s->retry_max_ms : s->retry_ms * 2;
    return STATUS_OK;
}

int clinic_subscription_next(clinic_subscription *s, uint32_t timeout_ms,
                             struct Clinic__V1__Event **event, struct clinic_error *err)
{
    *event = NULL;
    int64_t deadline_ms = clinic_now_ms() + timeout_ms;
    int failure = STATUS_OK; /* a transient Since failure, reported if nothing comes */
    for (;;) {
        if (take_ready(s, event))
            return STATUS_OK;
        int code = sync_if_due(s, deadline_ms, &failure, err);
        if (code != STATUS_OK)
            return code;
        if (s->page)
            continue; /* Since answered: hand that out first */
        int64_t wait_ms = wait_budget(s, deadline_ms);
        if (receive(s, wait_ms, event))
            return STATUS_OK;
        if (clinic_now_ms() >= deadline_ms && !s->page) {
            if (failure != STATUS_OK)
                return failure; /* err says what the last Since call met */
            clinic_set_error(err, STATUS_DEADLINE_EXCEEDED, NULL,
                             "no event after %llu within %u ms", (unsigned long long)s->last_seq,
                             timeout_ms);
            return STATUS_DEADLINE_EXCEEDED;
        }
    }
}

/* The starting point for CLINIC_AFTER_NOW: the highest number assigned, from one Since call. */
static int newest_seq(clinic_client *client, uint32_t timeout_ms, uint64_t *seq,
                      struct clinic_error *err)
{
    Clinic__V1__SinceRequest req = CLINIC__V1__SINCE_REQUEST__INIT;
    req.limit = 1;
    struct clinic_call_options opts = {.timeout_ms = timeout_ms};
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, "/clinic.v1.Events/Since", &req.base,
                           &clinic__v1__since_response__descriptor, &resp, &opts, err);
    if (code == STATUS_OK) {
        *seq = ((Clinic__V1__SinceResponse *)resp)->last_seq;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code;
}

/* Starts dialling url in the background. */
static int dial(struct clinic_subscription *s, const char *url, struct clinic_error *err)
{
    int rv;
    nng_dialer d;
    if (err)
        err->code = STATUS_OK;
    rv = clinic_dialer_create(s->sock, url, clinic_client_tls_ca(s->client), &d, err);
    if (rv == 0 && (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
        nng_dialer_close(d);
    if (rv == 0)
        return STATUS_OK;
    if (!err || err->code == STATUS_OK)
        clinic_set_error(err, STATUS_INVALID_ARGUMENT, NULL,
                         "cannot watch \"%.300s\": %s; use the daemon's --events URL "
                         "(tcp://HOST:PORT, ipc:///PATH or tls+tcp://HOST:PORT)",
                         url, nng_strerror(rv));
    return err ? err->code : STATUS_INVALID_ARGUMENT;
}

/* Opens the SUB socket (every topic) and starts dialling each of s->events_urls (none: the
 * socket stays idle and Since does all the work). */
static int open_socket(struct clinic_subscription *s, struct clinic_error *err)
{
    int rv;
    if ((rv = nng_sub0_open(&s->sock)) != 0 || (rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
        clinic_set_error(err, STATUS_INTERNAL, NULL, "cannot open a socket: %s", nng_strerror(rv));
        return STATUS_INTERNAL;
    }
    nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
    nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, EVENT_MAX_BYTES);
    nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, RECONNECT_MIN_MS);
    nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, (nng_duration)s->retry_max_ms);
    nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_added, s);
    char list[EVENTS_URLS_MAX], *save = NULL;
    snprintf(list, sizeof list, "%s", s->events_urls);
    for (char *url = strtok_r(list, ",", &save); url; url = strtok_r(NULL, ",", &save)) {
        while (*url == ' ')
            url++;
        int code = dial(s, url, err);
        if (code != STATUS_OK)
            return code;
    }
    return STATUS_OK;
}

static void apply_options(struct clinic_subscription *s, const struct clinic_subscribe_options *o)
{
    snprintf(s->topic, sizeof s->topic, "%s", o->topic ? o->topic : "");
    s->call_timeout_ms =
        o->call_timeout_ms ? o->call_timeout_ms : clinic_client_default_timeout_ms(s->client);
    s->resync_ms = o->resync_ms ? o->resync_ms : RESYNC_DEFAULT_MS;
    s->retry_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : RECONNECT_MAX_MS;
    s->page_limit =
        o->page_limit && o->page_limit < SINCE_PAGE_MAX ? o->page_limit : SINCE_PAGE_MAX;
    s->retry_ms = SINCE_RETRY_MIN_MS;
}

int clinic_subscribe(clinic_client *client, uint64_t after_seq,
                     const struct clinic_subscribe_options *opts, clinic_subscription **sub,
                     struct clinic_error *err)
{
    static const struct clinic_subscribe_options defaults = {0};
    *sub = NULL;
    if (!opts)
        opts = &defaults;
    struct clinic_subscription *s = calloc(1, sizeof *s);
    if (!s) {
        clinic_set_error(err, STATUS_RESOURCE_EXHAUSTED, NULL, "out of memory");
        return STATUS_RESOURCE_EXHAUSTED;
    }
    s->client = client;
    apply_options(s, opts);
    int code = STATUS_OK;
    if (after_seq == CLINIC_AFTER_NOW)
        code = newest_seq(client, s->call_timeout_ms, &after_seq, err);
    s->last_seq = after_seq;
    s->catch_up = true; /* the events after after_seq come from Since first */
    s->last_sync_ms = clinic_now_ms();
    const char *url = opts->events_url ? opts->events_url : getenv("CLINIC_EVENTS");
    if (code == STATUS_OK && url && *url)
        snprintf(s->events_urls, sizeof s->events_urls, "%s", url);
    else if (code == STATUS_OK)
        code = clinic_events_urls_discover(client, s->call_timeout_ms, s->events_urls,
                                           sizeof s->events_urls, err);
    if (code == STATUS_OK)
        code = open_socket(s, err);
    if (code != STATUS_OK) {
        clinic_subscription_close(s);
        return code;
    }
    *sub = s;
    return STATUS_OK;
}

const char *clinic_subscription_events_url(const clinic_subscription *s)
{
    return s->events_urls;
}

uint64_t clinic_subscription_last_seq(const clinic_subscription *s)
{
    return s->last_seq;
}

void clinic_subscription_stats(const clinic_subscription *s, struct clinic_subscription_stats *out)
{
    *out = s->stats;
    out->connections = atomic_load(&s->connections);
}

void clinic_subscription_close(clinic_subscription *s)
{
    if (!s)
        return;
    if (nng_socket_id(s->sock) > 0)
        nng_close(s->sock); /* after this no pipe callback runs */
    if (s->aio)
        nng_aio_free(s->aio);
    drop_page(s);
    free_event(s->held);
    free(s);
}
