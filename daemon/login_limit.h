/* login_limit.h: failed logins counted per peer address, in this daemon's memory, so that one
 * address cannot try password after password across many emails (the per-account lock in
 * svc_auth.c only sees one email at a time, and never locks unknown ones). After `limit` failures
 * within LOGIN_LIMIT_WINDOW_MINUTES the address is refused until the window has passed, before
 * any password work. All ipc:// peers share one address, "local". */
#ifndef CLINICD_LOGIN_LIMIT_H
#define CLINICD_LOGIN_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define LOGIN_LIMIT_WINDOW_MINUTES 15
#define LOGIN_LIMIT_ADDRESSES      4096 /* addresses remembered; the stalest is forgotten first */
#define LOGIN_LIMIT_ADDRESS_MAX    64

/* Sets the number of failures an address may have within the window; 0 turns the limit off. */
void login_limit_configure(int limit);

/* Whether a login from addr may be tried at now_us (monotonic); when not, *minutes_left says
 * when it may (at least 1). */
bool login_limit_allows(const char *addr, int64_t now_us, int *minutes_left);

/* Counts a failed login from addr at now_us; true when it is the one that reached the limit. */
bool login_limit_failed(const char *addr, int64_t now_us);

/* Forgets every address (tests). */
void login_limit_reset(void);

#endif
