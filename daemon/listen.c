/* listen.c: nng listeners with a receive limit, a connection cap, a certificate for tls+tcp://
 * and, for ipc://, the front of ipc_front.c. */
#include "listen.h"

#include <errno.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc_front.h"
#include "log.h"

/* A close takes milliseconds; one that takes longer is stuck in nng (listen_close). */
#define CLOSE_TIMEOUT_MS 3000

struct listener {
    nng_listener nng;
    struct ipc_front *front; /* ipc:// only */
    int max_connections;
    atomic_int connections;
    atomic_bool refusing; /* the last connection was refused: log once per episode */
    char url[256];
};

static bool is_tls(const char *url)
{
    return strncmp(url, "tls+tcp", 7) == 0; /* tls+tcp://, tls+tcp4://, tls+tcp6:// */
}

static bool is_ipc(const char *url)
{
    return strncmp(url, "ipc://", 6) == 0;
}

static bool configure_tls(nng_listener l, const char *url, const char *cert_key, char *err,
                          size_t errlen)
{
    if (!cert_key || !*cert_key) {
        snprintf(err, errlen,
                 "%s needs a certificate: pass --tls-cert-key FILE (a PEM file with "
                 "the certificate and its private key)",
                 url);
        return false;
    }
    nng_tls_config *cfg;
    int rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER);
    if (rv == 0)
        rv = nng_tls_config_cert_key_file(cfg, cert_key, NULL);
    if (rv == 0)
        rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
    if (rv != 0)
        snprintf(err, errlen, "cannot use %s as the TLS certificate and key: %s", cert_key,
                 nng_strerror(rv));
    nng_tls_config_free(cfg); /* the listener holds its own reference */
    return rv == 0;
}

/* Counts the socket's connections and closes those beyond the cap as they arrive, before any
 * request of theirs is read: what hostile peers can make the daemon buffer is bounded by
 * max_connections x recv_max. nng reports every later event of a pipe it reported here. */
static void count_connection(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    struct listener *l = arg;
    if (ev == NNG_PIPE_EV_REM_POST) {
        atomic_fetch_sub(&l->connections, 1);
        return;
    }
    if (atomic_fetch_add(&l->connections, 1) < l->max_connections) {
        atomic_store(&l->refusing, false);
        return;
    }
    nng_pipe_close(pipe);
    if (!atomic_exchange(&l->refusing, true))
        log_msg(LOG_LEVEL_WARN, "refusing connections on %s: %d are open (--max-connections)",
                l->url, l->max_connections);
}

/* For port 0, the port the system chose. */
static void record_bound_url(struct listener *l, const char *url)
{
    const char *colon = strrchr(url, ':');
    int port = 0;
    bool tcp = strncmp(url, "tcp", 3) == 0 || is_tls(url);
    if (!tcp || !colon || strcmp(colon, ":0") != 0 ||
        nng_listener_get_int(l->nng, NNG_OPT_TCP_BOUND_PORT, &port) != 0) {
        snprintf(l->url, sizeof l->url, "%s", url);
        return;
    }
    snprintf(l->url, sizeof l->url, "%.*s:%d", (int)(colon - url), url, port);
}

static bool start_nng(nng_socket sock, const struct listen_options *opt, const char *url,
                      struct listener *l, char *err, size_t errlen)
{
    int rv = nng_listener_create(&l->nng, sock, url);
    if (rv != 0) {
        snprintf(err, errlen,
                 "cannot listen on %s: %s (use tcp://HOST:PORT, ipc:///PATH or "
                 "tls+tcp://HOST:PORT)",
                 opt->url, nng_strerror(rv));
        return false;
    }
    nng_listener_set_size(l->nng, NNG_OPT_RECVMAXSZ, opt->recv_max);
    if (is_tls(url) && !configure_tls(l->nng, url, opt->tls_cert_key, err, errlen))
        return false;
    if ((rv = nng_listener_start(l->nng, 0)) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", opt->url, nng_strerror(rv));
        return false;
    }
    return true;
}

static void listener_free(struct listener *l)
{
    if (!l)
        return;
    ipc_front_close(l->front);
    free(l);
}

struct listener *listen_start(nng_socket sock, const struct listen_options *opt, char *err,
                              size_t errlen)
{
    struct listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->max_connections = opt->max_connections;
    snprintf(l->url, sizeof l->url, "%s", opt->url);
    nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, count_connection, l);
    nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, count_connection, l);
    const char *nng_url = opt->url;
    if (is_ipc(opt->url)) {
        int protocol = 0;
        nng_socket_get_int(sock, NNG_OPT_PROTO, &protocol);
        if (!(l->front = ipc_front_create(opt->url + 6, opt->socket_mode, opt->max_connections,
                                          protocol, err, errlen)))
            goto fail;
        nng_url = ipc_front_inner_url(l->front);
    }
    if (!start_nng(sock, opt, nng_url, l, err, errlen) ||
        (l->front && !ipc_front_open(l->front, err, errlen)))
        goto fail;
    if (!l->front)
        record_bound_url(l, opt->url);
    return l;
fail:
    nng_listener_close(l->nng);
    nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
    nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
    listener_free(l);
    return NULL;
}

const char *listen_url(const struct listener *l)
{
    return l->url;
}

/* One nng_close on its own thread. The closer and the waiter each hold a reference; whoever
 * lets go last frees it, so a waiter that gives up leaves nothing dangling. */
struct socket_close {
    nng_socket sock;
    pthread_mutex_t mutex;
    pthread_cond_t done_cond;
    bool done;
    atomic_int refs;
};

static void socket_close_release(struct socket_close *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    pthread_cond_destroy(&c->done_cond);
    pthread_mutex_destroy(&c->mutex);
    free(c);
}

static void *socket_close_main(void *arg)
{
    struct socket_close *c = arg;
    nng_close(c->sock);
    pthread_mutex_lock(&c->mutex);
    c->done = true;
    pthread_cond_signal(&c->done_cond);
    pthread_mutex_unlock(&c->mutex);
    socket_close_release(c);
    return NULL;
}

/* True once c's close finished, false when timeout_ms passed first. */
static bool socket_close_wait(struct socket_close *c, long timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mutex);
    int rv = 0;
    while (!c->done && rv != ETIMEDOUT)
        rv = pthread_cond_timedwait(&c->done_cond, &c->mutex, &until);
    bool done = c->done;
    pthread_mutex_unlock(&c->mutex);
    return done;
}

static bool socket_close_init(struct socket_close *c, nng_socket sock)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&c->done_cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return false;
    pthread_mutex_init(&c->mutex, NULL);
    c->sock = sock;
    atomic_init(&c->refs, 2);
    return true;
}

bool listen_close(nng_socket sock, struct listener *l)
{
    struct socket_close *c = calloc(1, sizeof *c);
    pthread_t closer;
    if (!c || !socket_close_init(c, sock)) {
        free(c);
        nng_close(sock); /* no thread to spare: close without a bound */
        listener_free(l);
        return true;
    }
    if (pthread_create(&closer, NULL, socket_close_main, c) != 0) {
        atomic_store(&c->refs, 1);
        socket_close_main(c);
        listener_free(l);
        return true;
    }
    pthread_detach(closer);
    bool closed = socket_close_wait(c, CLOSE_TIMEOUT_MS);
    socket_close_release(c);
    if (closed)
        listener_free(l);
    else
        log_msg(LOG_LEVEL_WARN,
                "the socket listening on %s did not close within %ld ms (an nng 1.5.2 defect, "
                "nanomsg/nng#1813); going on without it",
                l ? l->url : "?", (long)CLOSE_TIMEOUT_MS);
    return closed;
}
