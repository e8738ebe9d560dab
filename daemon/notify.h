/* notify.h: tells systemd how clinicd is doing (sd_notify(3)): READY once serving, STATUS lines
 * for `systemctl status`, STOPPING on shutdown, and the watchdog, pinged only while a liveness
 * check passes. Outside systemd (no NOTIFY_SOCKET) every call returns at once, no thread runs. */
#ifndef CLINICD_NOTIFY_H
#define CLINICD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

/* Reads NOTIFY_SOCKET once. Call it first in main, before any thread starts. */
void notify_init(void);

/* The environment for programs clinicd runs: environ without NOTIFY_SOCKET, WATCHDOG_USEC and
 * WATCHDOG_PID, so that they (PostgreSQL's server speaks sd_notify too) never report to systemd
 * as if they were clinicd. An array the caller frees (not its strings); NULL when out of memory.
 * Build it before fork: the child only passes it to execve. */
char **notify_child_environ(void);

/* True when systemd listens (NOTIFY_SOCKET was set). */
bool notify_enabled(void);

/* STATUS=text: one line for `systemctl status clinicd`. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* READY=1 with a STATUS line: clinicd serves. */
void notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STOPPING=1 with a STATUS line: shutdown has begun. */
void notify_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Answers whether the daemon is making progress; false with a sentence in why when not. */
typedef bool notify_alive_fn(void *arg, char *why, size_t whylen);

/* Starts the watchdog thread when systemd asked for one (WatchdogSec=): WATCHDOG=1 every half of
 * its interval. Until notify_watchdog_watch names a liveness check (while starting up) it pings
 * unconditionally: start-up is bounded by TimeoutStartSec, not by the watchdog. Returns false
 * only when the thread cannot start; true when no watchdog is wanted. */
__attribute__((warn_unused_result)) bool notify_watchdog_start(void);

/* From now on a ping is sent only when alive(arg) says so; a failing check is logged once and
 * put in STATUS, and pings resume (logged) when it passes again. NULL: ping unconditionally. */
void notify_watchdog_watch(notify_alive_fn *alive, void *arg);

/* Stops the watchdog thread (before shutdown takes the pool away). */
void notify_watchdog_stop(void);

#endif
