/* pool.c: worker threads over one nng REP socket: each receives a request, has rpc.c serve it
 * and sends the answer. (The listener itself is listen.c's; the events socket events.c's.)
 *
 * DESIGN: each worker loops nng_ctx_recv -> nng_aio_wait -> rpc_serve -> nng_ctx_send -> wait on
 * an aio without callback, so all blocking happens on the worker's own thread. Receives time out
 * every RECV_POLL_MS so a worker notices shutdown between calls without anyone cancelling its
 * aio mid-reply; a call in flight always gets to send its answer: its own, or, when it outlives
 * the grace period, UNAVAILABLE "nothing was changed" after its statement is cancelled.
 * The socket closes only once every worker has returned and its aio is freed: in nng 1.5.2 a
 * receive timeout that expires while the socket closes runs its cancel function on the freed
 * socket (nng_close then aborts the daemon with "pthread_mutex_unlock: Invalid argument"), and
 * freeing the aio is what waits out an expiry already under way.
 *
 * Liveness (for systemd's watchdog, see notify.c): every worker stamps, each time round its loop
 * and before each call, the instant after which it counts as stuck: STALL_MARGIN_US after a
 * receive that returns every RECV_POLL_MS, or, in a call, its deadline plus as long again (at
 * least STALL_MARGIN_US). A worker past that point is far beyond any deadline the daemon keeps.
 */
#include "pool.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "standby.h"
#include "status.h"

#define RECV_POLL_MS    200
#define SEND_TIMEOUT_MS 5000
/* nng 1.5.2 allocates whatever a peer's frame header claims unless a limit is set. Ours sits well
 * above the application limit so that oversize requests up to it get a RESOURCE_EXHAUSTED reply
 * from rpc.c instead of a dropped connection; beyond it nng drops the peer. */
#define TRANSPORT_LIMIT_FACTOR 4
/* After the grace period, calls still running are cancelled in the database, again every
 * CANCEL_REPEAT_MS (a cancel that lands between two statements does nothing) for at most
 * CANCEL_WAIT_MS: shutdown takes at most the grace period and this. */
#define CANCEL_REPEAT_MS 100
#define CANCEL_WAIT_MS   1000
#define STALL_MARGIN_US  (60 * 1000000LL)

struct worker {
    struct pool *pool;
    int id;
    pthread_t thread;
    bool started;
    nng_ctx ctx;
    nng_aio *aio;
    struct db *db;
    struct standby *standby; /* NULL without --read-database */
    atomic_bool in_call;     /* serving a call it took: what pool_stop cancels after the grace */
    atomic_llong stuck_after_us; /* now_us() past this: the worker is stuck (see the top) */
};

struct pool {
    nng_socket sock;
    struct listener *listener;
    const struct rpc_server *server;
    struct worker *workers;
    int n_workers;
    atomic_bool stopping; /* calls that arrive from now on are refused */
    atomic_bool closing;  /* workers return after their current receive */
    atomic_int busy;      /* workers serving a call they took before shutdown began */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sends reply bytes on the worker's context; a failed send leaves the message ours to free. */
static void send_reply(struct worker *w, const uint8_t *reply, size_t len)
{
    nng_msg *msg;
    if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, reply, len) != 0) {
        log_msg(LOG_LEVEL_ERROR, "worker %d: out of memory for a reply", w->id);
        return;
    }
    nng_aio_set_msg(w->aio, msg);
    nng_aio_set_timeout(w->aio, SEND_TIMEOUT_MS);
    nng_ctx_send(w->ctx, w->aio);
    nng_aio_wait(w->aio);
    int rv = nng_aio_result(w->aio);
    if (rv != 0) {
        nng_msg_free(msg);
        log_msg(LOG_LEVEL_DEBUG, "worker %d: reply not sent: %s", w->id, nng_strerror(rv));
    }
}

/* The address a message came from, as login_limit.h keys it. */
static void peer_address(nng_msg *msg, char *out, size_t len)
{
    nng_sockaddr sa;
    snprintf(out, len, "unknown");
    if (nng_pipe_get_addr(nng_msg_get_pipe(msg), NNG_OPT_REMADDR, &sa) != 0)
        return;
    if (sa.s_family == NNG_AF_INET)
        inet_ntop(AF_INET, &sa.s_in.sa_addr, out, (socklen_t)len);
    else if (sa.s_family == NNG_AF_INET6)
        inet_ntop(AF_INET6, sa.s_in6.sa_addr, out, (socklen_t)len);
    else if (sa.s_family == NNG_AF_IPC || sa.s_family == NNG_AF_ABSTRACT)
        snprintf(out, len, "local");
}

/* Reads one varint at *p (not past end) into *out; false when cut short. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    *out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t byte = *(*p)++;
        *out |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

/* The envelope's deadline_ms (RpcRequest field 5, a varint), read without unpacking it: 0 when
 * absent or when the bytes are not a well-formed envelope (rpc.c then refuses them). */
static uint64_t peek_deadline_ms(const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    uint64_t found = 0, key, value;
    while (p < end) {
        if (!read_varint(&p, end, &key))
            return 0;
        switch (key & 7) {
        case 0: /* varint */
            if (!read_varint(&p, end, &value))
                return 0;
            if (key >> 3 == 5)
                found = value;
            break;
        case 1: /* 64-bit */
            if (end - p < 8)
                return 0;
            p += 8;
            break;
        case 2: /* length-delimited */
            if (!read_varint(&p, end, &value) || value > (uint64_t)(end - p))
                return 0;
            p += value;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return 0;
            p += 4;
            break;
        default:
            return 0;
        }
    }
    return found;
}

/* Stamps when the worker, now starting a call with this budget, would count as stuck. */
static void stamp_call(struct worker *w, nng_msg *msg)
{
    uint64_t budget_ms = peek_deadline_ms(nng_msg_body(msg), nng_msg_len(msg));
    if (budget_ms == 0 || budget_ms > UINT32_MAX)
        budget_ms = w->pool->server->default_deadline_ms;
    int64_t budget_us = (int64_t)budget_ms * 1000;
    int64_t margin_us = budget_us > STALL_MARGIN_US ? budget_us : STALL_MARGIN_US;
    atomic_store(&w->stuck_after_us, now_us() + budget_us + margin_us);
}

static void serve_message(struct worker *w, nng_msg *msg)
{
    uint8_t *reply = NULL;
    char peer[INET6_ADDRSTRLEN];
    peer_address(msg, peer, sizeof peer);
    size_t len = rpc_serve(w->pool->server, w->db, w->standby, w->id, peer, nng_msg_body(msg),
                           nng_msg_len(msg), &reply);
    nng_msg_free(msg);
    if (reply)
        send_reply(w, reply, len);
    free(reply);
}

/* Answers a call that arrived after shutdown began: UNAVAILABLE at once, so the client retries
 * (another daemon, if it dialled several) instead of waiting for its timeout. */
static void refuse_message(struct worker *w, nng_msg *msg)
{
    uint8_t *reply = NULL;
    size_t len = rpc_refuse(nng_msg_body(msg), nng_msg_len(msg), w->id, STATUS_UNAVAILABLE,
                            "clinicd is shutting down; retry in a moment", &reply);
    nng_msg_free(msg);
    if (reply)
        send_reply(w, reply, len);
    free(reply);
}

/* Serves calls until pool_stop says the pool is closing. The busy count goes up before the
 * stopping flag is read, so pool_stop, which sets the flag and then waits for busy to drop, never
 * closes the socket under a call it let start. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *pool = w->pool;
    while (!atomic_load(&pool->closing)) {
        atomic_store(&w->stuck_after_us, now_us() + STALL_MARGIN_US);
        nng_aio_set_timeout(w->aio, RECV_POLL_MS);
        nng_ctx_recv(w->ctx, w->aio);
        nng_aio_wait(w->aio);
        int rv = nng_aio_result(w->aio);
        if (rv == NNG_ETIMEDOUT)
            continue;
        if (rv == NNG_ECLOSED)
            break;
        if (rv != 0) {
            log_msg(LOG_LEVEL_WARN, "worker %d: receive failed: %s", w->id, nng_strerror(rv));
            continue;
        }
        nng_msg *msg = nng_aio_get_msg(w->aio);
        atomic_fetch_add(&pool->busy, 1);
        stamp_call(w, msg);
        if (atomic_load(&pool->stopping)) {
            refuse_message(w, msg);
        } else {
            atomic_store(&w->in_call, true);
            serve_message(w, msg);
            atomic_store(&w->in_call, false);
        }
        atomic_fetch_sub(&pool->busy, 1);
    }
    return NULL;
}

static bool open_socket(struct pool *pool, const struct pool_options *opt, char *err, size_t errlen)
{
    int rv = nng_rep0_open(&pool->sock);
    if (rv != 0) {
        snprintf(err, errlen, "cannot open the RPC socket: %s", nng_strerror(rv));
        return false;
    }
    struct listen_options listen = opt->listen;
    listen.recv_max = opt->max_request_bytes * TRANSPORT_LIMIT_FACTOR;
    return (pool->listener = listen_start(pool->sock, &listen, err, errlen)) != NULL;
}

static bool start_worker(struct pool *pool, struct worker *w, const struct pool_options *opt,
                         char *err, size_t errlen)
{
    const char *database_url = opt->database_url;
    int rv;
    w->pool = pool;
    atomic_store(&w->stuck_after_us, now_us() + STALL_MARGIN_US);
    if ((rv = nng_ctx_open(&w->ctx, pool->sock)) != 0 ||
        (rv = nng_aio_alloc(&w->aio, NULL, NULL))) {
        snprintf(err, errlen, "cannot set up worker %d: %s", w->id, nng_strerror(rv));
        return false;
    }
    bool reads_off = opt->read_database_url && opt->read_database_url[0];
    if (!(w->db = db_new(database_url)) ||
        (reads_off && !(w->standby = standby_new(opt->read_database_url, opt->read_max_lag_ms)))) {
        snprintf(err, errlen, "out of memory for worker %d", w->id);
        return false;
    }
    /* Connect now so the first calls do not pay for it; a failure is retried on first use. */
    if (db_ensure(w->db) != 0)
        log_msg(LOG_LEVEL_WARN, "worker %d: no database connection yet", w->id);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        snprintf(err, errlen, "cannot start worker thread %d", w->id);
        return false;
    }
    w->started = true;
    return true;
}

struct pool *pool_start(const struct pool_options *opt, char *err, size_t errlen)
{
    struct pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        snprintf(err, errlen, "out of memory starting the worker pool");
        return NULL;
    }
    pool->server = opt->server;
    pool->n_workers = opt->workers;
    pool->workers = calloc((size_t)opt->workers, sizeof *pool->workers);
    if (!pool->workers || !open_socket(pool, opt, err, errlen))
        goto fail;
    for (int i = 0; i < opt->workers; i++) {
        pool->workers[i].id = i + 1;
        if (!start_worker(pool, &pool->workers[i], opt, err, errlen))
            goto fail;
    }
    log_msg(LOG_LEVEL_INFO, "serving RPC on %s with %d workers", pool_url(pool), opt->workers);
    return pool;
fail:
    if (!pool->workers)
        snprintf(err, errlen, "out of memory starting the worker pool");
    pool_stop(pool, 0);
    return NULL;
}

const char *pool_url(const struct pool *pool)
{
    return listen_url(pool->listener);
}

int pool_stuck_worker(struct pool *pool, int64_t *stuck_for_us)
{
    int64_t now = now_us();
    for (int i = 0; i < pool->n_workers; i++) {
        struct worker *w = &pool->workers[i];
        int64_t after = atomic_load(&w->stuck_after_us);
        if (w->started && now > after) {
            *stuck_for_us = now - after;
            return w->id;
        }
    }
    return 0;
}

/* Cancels, in the database, the calls that outlived the grace period: each rolls back and is
 * answered UNAVAILABLE "nothing was changed" (db_abandon), instead of committing after its
 * caller was told the daemon went away. */
static void cancel_calls_in_flight(struct pool *pool, long grace_ms)
{
    log_msg(LOG_LEVEL_WARN,
            "%d calls still running after the %ld ms grace period; cancelling them, nothing they "
            "did is kept",
            atomic_load(&pool->busy), grace_ms);
    for (long waited = 0; atomic_load(&pool->busy) > 0 && waited < CANCEL_WAIT_MS;
         waited += CANCEL_REPEAT_MS) {
        for (int i = 0; i < pool->n_workers; i++)
            if (atomic_load(&pool->workers[i].in_call))
                db_abandon(pool->workers[i].db);
        sleep_ms(CANCEL_REPEAT_MS);
    }
    if (atomic_load(&pool->busy) > 0)
        log_msg(LOG_LEVEL_ERROR, "%d calls still running after cancelling them",
                atomic_load(&pool->busy));
}

void pool_stop(struct pool *pool, long grace_ms)
{
    if (!pool)
        return;
    /* From here on new calls are answered UNAVAILABLE; calls in flight finish and are answered.
     * The socket stays open meanwhile: closing it (or its listener, which closes the pipes it
     * accepted) would drop the replies of calls in flight. */
    atomic_store(&pool->stopping, true);
    for (long waited = 0; atomic_load(&pool->busy) > 0 && waited < grace_ms; waited += 10)
        sleep_ms(10);
    if (atomic_load(&pool->busy) > 0)
        cancel_calls_in_flight(pool, grace_ms);
    atomic_store(&pool->closing, true);
    for (int i = 0; i < pool->n_workers && pool->workers; i++) {
        struct worker *w = &pool->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL); /* within RECV_POLL_MS, or once its call ends */
        if (w->aio)
            nng_aio_free(w->aio); /* waits for nng to finish expiring its last receive */
        db_free(w->db);
        standby_free(w->standby);
    }
    listen_close(pool->sock, pool->listener); /* no receive of ours is pending: see above */
    free(pool->workers);
    free(pool);
}
