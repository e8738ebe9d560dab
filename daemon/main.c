/* main.c: clinicd's start-up and shutdown: settings, the embedded cluster, migrations, the event
 * socket and the worker pool; then wait for SIGINT/SIGTERM and take it all down in reverse.
 * Under systemd it reports each step (notify.h): READY once serving, STOPPING on the signal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "bootstrap.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "embedded_pg.h"
#include "events.h"
#include "janitor.h"
#include "log.h"
#include "login_limit.h"
#include "mailer.h"
#include "migrate.h"
#include "notify.h"
#include "pool.h"
#include "rpc.h"
#include "status.h"

#define EXIT_USAGE         2
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

struct daemon {
    struct config cfg;
    struct embedded_pg pg;
    bool embedded;
    struct rpc_server server;
    struct events *events;
    struct janitor *janitor;
    struct mailer *mailer;
    struct pool *pool;
};

static struct listen_options listen_options_from(const struct config *cfg, const char *url)
{
    return (struct listen_options){.url = url,
                                   .tls_cert_key = cfg->tls_cert_key,
                                   .socket_mode = (unsigned)cfg->socket_mode,
                                   .max_connections = (int)cfg->max_connections};
}

/* rpc's committed hook: a change's events are there for the relay to number, and the messages
 * it queued for the mailer. */
static void wake_relay(void *daemon)
{
    struct daemon *d = daemon;
    events_wake(d->events);
    mailer_wake(d->mailer);
}

/* url for the log: "smtp://user:secret@host" as "smtp://host", so a password put in the URL
 * stays out of it. */
static const char *url_without_user(const char *url, char *out, size_t len)
{
    const char *scheme = strstr(url, "://"), *at = strrchr(url, '@');
    if (!scheme || !at || at < scheme)
        return url;
    snprintf(out, len, "%.*s%s", (int)(scheme + 3 - url), url, at + 1);
    return out;
}

/* The mailer, when a channel is configured; without one, say once that messages stay queued. */
static bool start_mailer(struct daemon *d, const char *url, char *err, size_t errlen)
{
    const struct config *c = &d->cfg;
    char shown[512];
    struct mailer_options opt = {
        .database_url = url,
        .smtp_url = c->smtp_url,
        .smtp_user = c->smtp_user,
        .smtp_password = c->smtp_password,
        .starttls = (enum mailer_starttls)c->smtp_starttls,
        .mail_from = c->mail_from,
        .webhook_url = c->webhook_url,
        .webhook_secret = c->webhook_secret,
        .webhook_secret_len = c->webhook_secret_len,
        .retry_base_ms = c->mail_retry_base_ms,
        .retry_max_ms = c->mail_retry_max_ms,
        .max_attempts = c->mail_max_attempts,
        .timeout_ms = c->mail_timeout_ms,
    };
    d->mailer = mailer_start(&opt, err, errlen);
    if (!d->mailer && err[0])
        return false;
    if (!c->smtp_url[0])
        log_msg(LOG_LEVEL_INFO, "no --smtp-url (CLINIC_SMTP_URL): confirmations and reminders by "
                                "email stay queued in the outbox");
    else
        log_msg(LOG_LEVEL_INFO, "sending confirmations and reminders by email through %s",
                url_without_user(c->smtp_url, shown, sizeof shown));
    if (c->webhook_url[0])
        log_msg(LOG_LEVEL_INFO, "posting messages for SMS to the webhook");
    return true;
}

static bool start(struct daemon *d, char *err, size_t errlen)
{
    /* a served method and the method table disagreeing is the build's fault: say so before
     * starting PostgreSQL or migrating anything */
    if (!rpc_table_build(&d->server.table, handler_table, d->cfg.enable_diagnostics, err, errlen))
        return false;
    const char *url = d->cfg.database_url;
    if (!url[0]) {
        d->embedded = true;
        notify_status("starting the embedded PostgreSQL in %s", d->cfg.data_dir);
        if (!embedded_pg_prepare(&d->pg, d->cfg.data_dir, d->cfg.pg_user, false, err, errlen) ||
            !embedded_pg_start(&d->pg, err, errlen))
            return false;
        url = d->pg.url;
    }
    notify_status("applying migrations");
    if (!migrate_database(url, STARTUP_DB_WAIT_US, err, errlen))
        return false;
    if (!auth_init((int)d->cfg.password_hash_slots, (int)d->cfg.session_hours)) {
        snprintf(err, errlen, "libsodium cannot start");
        return false;
    }
    auth_limit_password_callers(d->cfg.workers > 1 ? (int)d->cfg.workers / 2 : 1);
    login_limit_configure((int)d->cfg.max_failed_logins_per_address);
    d->server.max_request_bytes = (size_t)d->cfg.max_request_bytes;
    d->server.default_deadline_ms = (uint32_t)d->cfg.default_deadline_ms;
    if (!(d->janitor = janitor_start(url, d->cfg.janitor_period_ms)))
        log_msg(LOG_LEVEL_WARN,
                "cannot start the janitor: expired idempotency keys stay, and audit "
                "rows kept while the database is unreachable are not written");
    struct listen_options events = listen_options_from(&d->cfg, d->cfg.events_url);
    if (!(d->events = events_start(&events, url, err, errlen)))
        return false;
    d->server.events_url = events_url(d->events);
    if (!start_mailer(d, url, err, errlen))
        return false;
    d->server.committed = wake_relay;
    d->server.committed_arg = d;
    notify_status("starting %d workers", (int)d->cfg.workers);
    struct pool_options opt = {
        .listen = listen_options_from(&d->cfg, d->cfg.listen_url),
        .database_url = url,
        .read_database_url = d->cfg.read_database_url,
        .read_max_lag_ms = d->cfg.read_max_lag_ms,
        .workers = (int)d->cfg.workers,
        .max_request_bytes = (size_t)d->cfg.max_request_bytes,
        .server = &d->server,
    };
    return (d->pool = pool_start(&opt, err, errlen)) != NULL;
}

/* The watchdog's liveness check: every worker back at its loop or within its call's deadline. */
static bool pool_alive(void *pool, char *why, size_t whylen)
{
    int64_t stuck_for_us = 0;
    int id = pool_stuck_worker(pool, &stuck_for_us);
    if (id)
        snprintf(why, whylen, "worker %d is stuck (%lld s past its call's deadline and margin)", id,
                 (long long)(stuck_for_us / 1000000));
    return id == 0;
}

static void stop(struct daemon *d)
{
    pool_stop(d->pool, d->cfg.shutdown_grace_ms);
    d->pool = NULL;
    mailer_stop(d->mailer);
    d->mailer = NULL;
    events_stop(d->events);
    d->events = NULL;
    janitor_stop(d->janitor);
    d->janitor = NULL;
    rpc_table_free(&d->server.table);
    auth_shutdown();
    if (d->embedded)
        embedded_pg_stop(&d->pg);
}

int main(int argc, char **argv)
{
    static struct daemon d; /* large (paths): keep it off the stack */
    char err[1024];
    notify_init();
    log_use_journal_if_connected();
    if (argc > 1 && strcmp(argv[1], "bootstrap-admin") == 0)
        return bootstrap_admin_main(argc - 1, argv + 1);
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
    if (!notify_watchdog_start()) {
        log_msg(LOG_LEVEL_ERROR, "cannot start: no thread for systemd's watchdog");
        exit_code = 1;
    } else if (!start(&d, err, sizeof err)) {
        log_msg(LOG_LEVEL_ERROR, "cannot start: %s", err);
        notify_status("cannot start: %s", err);
        exit_code = 1;
    } else {
        log_msg(LOG_LEVEL_INFO, "clinicd %s ready on %s; try: clinic --url %s health",
                CLINIC_VERSION, pool_url(d.pool), pool_url(d.pool));
        notify_watchdog_watch(pool_alive, d.pool);
        notify_ready("serving on %s (events on %s) with %d workers%s", pool_url(d.pool),
                     d.server.events_url, (int)d.cfg.workers,
                     d.embedded ? " on the embedded PostgreSQL" : "");
        int sig = 0;
        sigwait(&signals, &sig);
        log_msg(LOG_LEVEL_INFO, "%s received: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        notify_stopping("shutting down: calls in flight may finish for %ld ms",
                        (long)d.cfg.shutdown_grace_ms);
    }
    notify_watchdog_stop();
    stop(&d);
    config_free(&d.cfg);
    log_msg(LOG_LEVEL_INFO, "stopped");
    return exit_code;
}
