/* standby.h: reads off the primary. A worker's connection to a hot standby (--read-database)
 * serves the calls whose answers may be a moment old (METHOD_STANDBY_OK in the method table)
 * while the standby is reachable and no further behind than --read-max-lag-ms; otherwise they
 * go to the primary like every other call. */
#ifndef CLINICD_STANDBY_H
#define CLINICD_STANDBY_H

#include <stdint.h>

struct db;
struct standby;

/* A handle on the standby at url (not connected yet). NULL when url is empty, or out of memory. */
struct standby *standby_new(const char *url, int64_t max_lag_ms);
void standby_free(struct standby *s);

/* The standby's connection when a read may go there now, else NULL (read the primary). Whether
 * it is close enough behind is asked at most once a second. NULL s: NULL. */
struct db *standby_for_read(struct standby *s);

/* A read there found it unreachable: the primary serves reads until the next look. */
void standby_failed(struct standby *s);

#endif
