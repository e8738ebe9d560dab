/* pool.h: the worker pool. N threads, each owning one nng REP context and one PostgreSQL
 * connection: receive, serve (rpc_serve), reply, repeat. nng's own threads never wait on the
 * database, and libpq's one-connection-per-thread rule holds by construction. */
#ifndef CLINICD_POOL_H
#define CLINICD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listen.h"
#include "rpc.h"

struct pool;

struct pool_options {
    struct listen_options listen; /* the receive limit is the pool's (see pool.c) */
    const char *database_url;
    const char *read_database_url; /* a hot standby for reads (standby.h); NULL or "": none */
    int64_t read_max_lag_ms;
    int workers;
    size_t max_request_bytes; /* nng's own limit is set well above this (see pool.c) */
    const struct rpc_server *server;
};

/* Opens the REP socket, listens and starts the workers. NULL with a sentence in err on failure
 * (for example the address is in use). */
__attribute__((warn_unused_result)) struct pool *pool_start(const struct pool_options *opt,
                                                            char *err, size_t errlen);

/* The URL clients reach the pool at (the listen URL, with the real port when it was 0). */
const char *pool_url(const struct pool *pool);

/* The id of a worker that is stuck: not back at its receive loop long after a receive should
 * have returned, or in one call far beyond the call's deadline (see pool.c); 0 when every worker
 * makes progress. *stuck_for_us: how long past that point. Safe from any thread while the pool
 * runs. */
int pool_stuck_worker(struct pool *pool, int64_t *stuck_for_us);

/* Stops taking new calls, lets calls in flight finish for up to grace_ms, then closes the socket,
 * joins the workers and closes their connections. */
void pool_stop(struct pool *pool, long grace_ms);

#endif
