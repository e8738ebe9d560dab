/* main.c: clinicd's start-up and shutdown: settings, the embedded cluster, migrations, the event
 * socket and the worker pool; then wait for SIGINT/SIGTERM and take it all down in reverse. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "db.h"
#include "embedded_pg.h"
#include "events.h"
#include "janitor.h"
#include "log.h"
#include "migrate.h"
#include "pool.h"
#include "rpc.h"
#include "status.h"

#define EXIT_USAGE 2
#define STARTUP_DB_WAIT_US (30 * 1000000LL)

/* Signals are taken synchronously by main (sigwait), so every thread starts with them blocked. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Applies the migrations, waiting up to 30 s for a database that is still starting. */
static bool migrate_database(const char *url, char *err, size_t errlen)
{
    struct db *db = db_new(url);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    int64_t give_up = now_us() + STARTUP_DB_WAIT_US;
    while (db_ensure(db) != STATUS_OK && now_us() < give_up) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    bool ok = migrate_run(db, migration_files, err, errlen);
    db_free(db);
    return ok;
}

struct daemon {
    struct config cfg;
    struct embedded_pg pg;
    bool embedded;
    struct rpc_server server;
    struct events *events;
    struct janitor *janitor;
    struct pool *pool;
};

static bool start(struct daemon *d, char *err, size_t errlen)
{
    const char *url = d->cfg.database_url;
    if (!url[0]) {
        d->embedded = true;
        if (!embedded_pg_prepare(&d->pg, d->cfg.data_dir, d->cfg.pg_user, false, err, errlen) ||
            !embedded_pg_start(&d->pg, err, errlen))
            return false;
        url = d->pg.url;
    }
    if (!migrate_database(url, err, errlen))
        return false;
    if (!rpc_table_build(&d->server.table, service_table, d->cfg.enable_diagnostics, err, errlen))
        return false;
    d->server.max_request_bytes = (size_t)d->cfg.max_request_bytes;
    d->server.default_deadline_ms = (uint32_t)d->cfg.default_deadline_ms;
    if (!(d->janitor = janitor_start(url, d->cfg.janitor_period_ms)))
        log_msg(LOG_LEVEL_WARN, "cannot start the janitor; expired idempotency keys stay");
    if (!(d->events = events_start(d->cfg.events_url, d->cfg.tls_cert_key, url, err, errlen)))
        return false;
    struct pool_options opt = {
        .listen_url = d->cfg.listen_url,
        .database_url = url,
        .workers = (int)d->cfg.workers,
        .max_request_bytes = (size_t)d->cfg.max_request_bytes,
        .tls_cert_key = d->cfg.tls_cert_key,
        .server = &d->server,
    };
    return (d->pool = pool_start(&opt, err, errlen)) != NULL;
}

static void stop(struct daemon *d)
{
    pool_stop(d->pool, d->cfg.shutdown_grace_ms);
    d->pool = NULL;
    events_stop(d->events);
    d->events = NULL;
    janitor_stop(d->janitor);
    d->janitor = NULL;
    rpc_table_free(&d->server.table);
    if (d->embedded)
        embedded_pg_stop(&d->pg);
}

int main(int argc, char **argv)
{
    static struct daemon d; /* large (paths): keep it off the stack */
    char err[1024];
    switch (config_load(&d.cfg, argc, argv, err, sizeof err)) {
    case CONFIG_RUN:
        break;
    case CONFIG_EXIT_OK:
        config_free(&d.cfg);
        return 0;
    case CONFIG_EXIT_USAGE:
        fprintf(stderr, "clinicd: %s\n", err);
        config_free(&d.cfg);
        return EXIT_USAGE;
    }
    log_set_level(d.cfg.log_level);
    sigset_t signals;
    block_signals(&signals);

    int exit_code = 0;
    if (!start(&d, err, sizeof err)) {
        log_msg(LOG_LEVEL_ERROR, "cannot start: %s", err);
        exit_code = 1;
    } else {
        log_msg(LOG_LEVEL_INFO, "clinicd %s ready on %s; try: clinic --url %s health",
                CLINIC_VERSION, pool_url(d.pool), pool_url(d.pool));
        int sig = 0;
        sigwait(&signals, &sig);
        log_msg(LOG_LEVEL_INFO, "%s received: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    stop(&d);
    config_free(&d.cfg);
    log_msg(LOG_LEVEL_INFO, "stopped");
    return exit_code;
}
