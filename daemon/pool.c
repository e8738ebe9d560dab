/* pool.c: worker threads over one nng REP socket; with rpc.c the only file that touches nng
 * for RPC.
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
 * nng 1.5.2's IPC listener stops accepting after a few peers hang up in the middle of the SP
 * handshake (upstream issue 1518, fixed in 1.6.0). For ipc:// a watchdog thread dials the
 * listener every WATCHDOG_PERIOD_MS; when its handshake does not complete in time, the listener
 * is closed and created again (connected clients re-dial, and REQ resends what they had sent). */
#include "pool.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "listen.h"
#include "log.h"
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
#define CANCEL_REPEAT_MS   100
#define CANCEL_WAIT_MS     1000
#define WATCHDOG_PERIOD_MS 2000
#define WATCHDOG_PROBE_MS  2000

struct worker {
    struct pool *pool;
    int id;
    pthread_t thread;
    bool started;
    nng_ctx ctx;
    nng_aio *aio;
    struct db *db;
    atomic_bool in_call; /* serving a call it took: what pool_stop cancels after the grace */
};

struct pool {
    nng_socket sock;
    nng_listener listener;
    char *listen_url;
    char bound_url[256]; /* listen_url with the port the system chose for port 0 */
    const char *tls_cert_key;
    size_t transport_limit;
    pthread_t watchdog;
    bool watchdog_started;
    atomic_uint pipes_added; /* connections our socket took in: what the watchdog looks for */
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

static void serve_message(struct worker *w, nng_msg *msg)
{
    uint8_t *reply = NULL;
    size_t len =
        rpc_serve(w->pool->server, w->db, w->id, nng_msg_body(msg), nng_msg_len(msg), &reply);
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

static bool start_listener(struct pool *pool, char *err, size_t errlen)
{
    return listen_start(pool->sock, pool->listen_url, pool->transport_limit, pool->tls_cert_key,
                        &pool->listener, err, errlen);
}

static bool open_socket(struct pool *pool, const struct pool_options *opt, char *err, size_t errlen)
{
    int rv = nng_rep0_open(&pool->sock);
    if (rv != 0) {
        snprintf(err, errlen, "cannot open the RPC socket: %s", nng_strerror(rv));
        return false;
    }
    pool->listen_url = strdup(opt->listen_url);
    pool->transport_limit = opt->max_request_bytes * TRANSPORT_LIMIT_FACTOR;
    pool->tls_cert_key = opt->tls_cert_key;
    if (!pool->listen_url) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return start_listener(pool, err, errlen);
}

/* --- the IPC watchdog --- */

static void probe_connected(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    (void)pipe;
    (void)ev;
    atomic_store((atomic_bool *)arg, true);
}

static void pipe_added(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    (void)pipe;
    (void)ev;
    atomic_fetch_add(&((struct pool *)arg)->pipes_added, 1);
}

/* True when a fresh peer's connection reaches our socket within WATCHDOG_PROBE_MS. In the failure
 * the peer completes its side of the handshake but the listener never hands the connection to
 * the socket, so the probe watches the socket's own pipe count. It sends no request: it costs the
 * workers nothing and writes no log line. */
static bool listener_answers(struct pool *pool)
{
    nng_socket probe;
    atomic_bool connected = false;
    if (nng_req0_open(&probe) != 0)
        return true; /* cannot tell: do not tear down a listener on our own failure */
    unsigned before = atomic_load(&pool->pipes_added);
    nng_pipe_notify(probe, NNG_PIPE_EV_ADD_POST, probe_connected, &connected);
    bool ok = nng_dial(probe, pool->listen_url, NULL, NNG_FLAG_NONBLOCK) == 0;
    for (int waited = 0; ok && waited < WATCHDOG_PROBE_MS && !atomic_load(&pool->stopping);
         waited += 10) {
        if (atomic_load(&connected) && atomic_load(&pool->pipes_added) != before)
            break;
        sleep_ms(10);
    }
    ok = ok && ((atomic_load(&connected) && atomic_load(&pool->pipes_added) != before) ||
                atomic_load(&pool->stopping));
    nng_close(probe);
    return ok;
}

static void *watchdog_main(void *arg)
{
    struct pool *pool = arg;
    while (!atomic_load(&pool->stopping)) {
        for (int waited = 0; waited < WATCHDOG_PERIOD_MS && !atomic_load(&pool->stopping);
             waited += 50)
            sleep_ms(50);
        if (atomic_load(&pool->stopping) || listener_answers(pool))
            continue;
        log_msg(LOG_LEVEL_WARN,
                "the listener on %s stopped completing handshakes (nng issue "
                "1518); re-creating it",
                pool->listen_url);
        char err[256];
        nng_listener_close(pool->listener);
        if (!start_listener(pool, err, sizeof err))
            log_msg(LOG_LEVEL_ERROR, "%s; retrying in %d ms", err, WATCHDOG_PERIOD_MS);
    }
    return NULL;
}

static void start_watchdog(struct pool *pool)
{
    if (strncmp(pool->listen_url, "ipc://", 6) != 0)
        return; /* TCP survived the same test; only IPC needs watching */
    nng_pipe_notify(pool->sock, NNG_PIPE_EV_ADD_POST, pipe_added, pool);
    pool->watchdog_started = pthread_create(&pool->watchdog, NULL, watchdog_main, pool) == 0;
    if (!pool->watchdog_started)
        log_msg(LOG_LEVEL_WARN, "cannot start the IPC listener watchdog");
}

static bool start_worker(struct pool *pool, struct worker *w, const char *database_url, char *err,
                         size_t errlen)
{
    int rv;
    w->pool = pool;
    if ((rv = nng_ctx_open(&w->ctx, pool->sock)) != 0 ||
        (rv = nng_aio_alloc(&w->aio, NULL, NULL))) {
        snprintf(err, errlen, "cannot set up worker %d: %s", w->id, nng_strerror(rv));
        return false;
    }
    if (!(w->db = db_new(database_url))) {
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
        if (!start_worker(pool, &pool->workers[i], opt->database_url, err, errlen))
            goto fail;
    }
    start_watchdog(pool);
    listen_bound_url(pool->listener, opt->listen_url, pool->bound_url, sizeof pool->bound_url);
    log_msg(LOG_LEVEL_INFO, "serving RPC on %s with %d workers", pool->bound_url, opt->workers);
    return pool;
fail:
    if (!pool->workers)
        snprintf(err, errlen, "out of memory starting the worker pool");
    pool_stop(pool, 0);
    return NULL;
}

const char *pool_url(const struct pool *pool)
{
    return pool->bound_url;
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
    if (pool->watchdog_started)
        pthread_join(pool->watchdog, NULL);
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
    }
    nng_close(pool->sock); /* no receive of ours is pending: see the DESIGN note above */
    free(pool->workers);
    free(pool->listen_url);
    free(pool);
}
