/* calendar.h: calendar feeds over HTTP. GET /calendar/client/ID.ics?key=KEY (or therapist/)
 * asks clinicd for the feed (clinic.v1.Calendar/Feed, no token: the key opens it) and answers
 * with it as RFC 5545 iCalendar, written by libical: every appointment a VEVENT in UTC with a
 * stable UID, DTSTAMP and LAST-MODIFIED of its last change, a SEQUENCE that grows with every
 * change, and STATUS:CANCELLED once cancelled. */
#ifndef CLINIC_GATEWAY_CALENDAR_H
#define CLINIC_GATEWAY_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clinic/v1/calendar.pb-c.h"

/* Whether path (without its query) names a feed: "/calendar/client/7.ics" gives
 * FEED_KIND_CLIENT and 7. */
bool calendar_feed_path(const char *path, Clinic__V1__FeedKind *kind, int64_t *owner_id);

/* Prepares libical's shared state; call once before serving from several threads. */
void calendar_init(void);

/* feed as an iCalendar object (malloc'd, NUL-terminated, *len bytes), or NULL when out of
 * memory. */
char *calendar_render(const Clinic__V1__CalendarFeed *feed, size_t *len);

#endif
