/* notify.c: systemd's readiness protocol and watchdog (sd_notify(3)) for clinicd.
 *
 * DESIGN: everything is gated on NOTIFY_SOCKET, read once: outside systemd no message is built
 * and no thread starts. The watchdog thread pings at half of WatchdogSec (what
 * sd_watchdog_enabled reports), but only while the liveness check passes: the check is the
 * worker pool's (pool_stuck_worker), so a daemon whose workers hang stops pinging and systemd
 * restarts it, while a daemon that is merely idle keeps pinging. */
#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

extern char **environ;

static bool enabled;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running;
    bool stop;
    uint64_t period_us;
    notify_alive_fn *alive;
    void *arg;
} watchdog = {.lock = PTHREAD_MUTEX_INITIALIZER};

void notify_init(void)
{
    const char *socket = getenv("NOTIFY_SOCKET");
    enabled = socket && socket[0];
}

bool notify_enabled(void)
{
    return enabled;
}

char **notify_child_environ(void)
{
    static const char *const hidden[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="};
    size_t n = 0;
    while (environ[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t h = 0; h < sizeof hidden / sizeof hidden[0]; h++)
            if (strncmp(environ[i], hidden[h], strlen(hidden[h])) == 0)
                keep = false;
        if (keep)
            out[k++] = environ[i];
    }
    return out;
}

/* Sends head (e.g. "READY=1\n") followed by STATUS=<fmt...>; a failure is only logged at debug:
 * systemd going away must not take the daemon with it. */
__attribute__((format(printf, 2, 0))) static void send_with_status(const char *head,
                                                                   const char *fmt, va_list ap)
{
    char status[512], message[600];
    vsnprintf(status, sizeof status, fmt, ap);
    for (char *p = status; *p; p++)
        if (*p == '\n')
            *p = ' '; /* one STATUS line */
    snprintf(message, sizeof message, "%sSTATUS=%s", head, status);
    int rv = sd_notify(0, message);
    if (rv < 0)
        log_msg(LOG_LEVEL_DEBUG, "sd_notify failed: %s", strerror(-rv));
}

void notify_status(const char *fmt, ...)
{
    if (!enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    send_with_status("", fmt, ap);
    va_end(ap);
}

void notify_ready(const char *fmt, ...)
{
    if (!enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    send_with_status("READY=1\n", fmt, ap);
    va_end(ap);
}

void notify_stopping(const char *fmt, ...)
{
    if (!enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    send_with_status("STOPPING=1\n", fmt, ap);
    va_end(ap);
}

static struct timespec deadline_after(uint64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (us % 1000000) * 1000;
    ts.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* One tick: ping when alive; say once when pings stop and once when they resume. */
static void watchdog_tick(bool *withholding)
{
    char why[256] = "";
    pthread_mutex_lock(&watchdog.lock);
    bool alive = !watchdog.alive || watchdog.alive(watchdog.arg, why, sizeof why);
    pthread_mutex_unlock(&watchdog.lock);
    if (alive) {
        sd_notify(0, "WATCHDOG=1");
        if (*withholding) {
            log_msg(LOG_LEVEL_WARN, "the worker pool makes progress again; watchdog pings resume");
            notify_status("serving again: the worker pool makes progress");
        }
        *withholding = false;
    } else if (!*withholding) {
        *withholding = true;
        log_msg(LOG_LEVEL_ERROR, "%s: withholding watchdog pings, so systemd restarts clinicd",
                why);
        notify_status("%s; watchdog pings withheld", why);
    }
}

static void *watchdog_main(void *unused)
{
    (void)unused;
    bool withholding = false;
    pthread_mutex_lock(&watchdog.lock);
    while (!watchdog.stop) {
        pthread_mutex_unlock(&watchdog.lock);
        watchdog_tick(&withholding);
        pthread_mutex_lock(&watchdog.lock);
        struct timespec until = deadline_after(watchdog.period_us);
        while (!watchdog.stop &&
               pthread_cond_timedwait(&watchdog.wake, &watchdog.lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&watchdog.lock);
    return NULL;
}

bool notify_watchdog_start(void)
{
    uint64_t interval_us = 0;
    if (!enabled || sd_watchdog_enabled(0, &interval_us) <= 0 || interval_us == 0)
        return true;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rv = pthread_cond_init(&watchdog.wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rv != 0)
        return false;
    watchdog.period_us = interval_us / 2;
    watchdog.stop = false;
    if (pthread_create(&watchdog.thread, NULL, watchdog_main, NULL) != 0) {
        pthread_cond_destroy(&watchdog.wake);
        return false;
    }
    watchdog.running = true;
    log_msg(LOG_LEVEL_INFO,
            "systemd watchdog: pinging every %llu ms while the workers make progress",
            (unsigned long long)(watchdog.period_us / 1000));
    return true;
}

void notify_watchdog_watch(notify_alive_fn *alive, void *arg)
{
    pthread_mutex_lock(&watchdog.lock);
    watchdog.alive = alive;
    watchdog.arg = arg;
    pthread_mutex_unlock(&watchdog.lock);
}

void notify_watchdog_stop(void)
{
    if (!watchdog.running)
        return;
    pthread_mutex_lock(&watchdog.lock);
    watchdog.stop = true;
    pthread_cond_signal(&watchdog.wake);
    pthread_mutex_unlock(&watchdog.lock);
    pthread_join(watchdog.thread, NULL);
    pthread_cond_destroy(&watchdog.wake);
    watchdog.running = false;
    notify_watchdog_watch(NULL, NULL);
}
