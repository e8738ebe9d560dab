/* events.h: the event PUB socket and the relay that feeds it. Each message is
 * "<topic> <serialized clinic.v1.Event>", so SUB sockets can filter by topic prefix.
 *
 * Appointment changes write event rows (a trigger, in the changing transaction), and nothing
 * more: a NOTIFY there would take PostgreSQL's database-wide notify lock in every booking's
 * commit. Instead a worker that committed a change wakes its own daemon's relay (events_wake);
 * the relay numbers committed events in commit order (clinic_sequence_events, shared by every
 * daemon on the database), and that numbering pass NOTIFYs once when it numbered any, which wakes
 * the other daemons' relays (they LISTEN). Each relay also looks every second unprompted, and
 * publishes each numbered event once, so a watcher of any daemon sees the changes made through
 * every daemon, and only committed ones. */
#ifndef CLINICD_EVENTS_H
#define CLINICD_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "listen.h"

struct events;

/* Opens the PUB socket as opt says (its receive limit is the relay's own) and starts the relay
 * on its own connection to database_url. An empty opt->url publishes nothing (the relay still
 * numbers events for Events/Since). NULL with a sentence in err on failure. */
__attribute__((warn_unused_result)) struct events *
events_start(const struct listen_options *opt, const char *database_url, char *err, size_t errlen);
void events_stop(struct events *ev);

/* Wakes the relay: a change was committed. Cheap and safe from any thread; NULL is fine. */
void events_wake(struct events *ev);

/* The URL the PUB socket listens on, as peers should dial it (a port 0 replaced by the port the
 * system chose; a wildcard host stays a wildcard), or "" when it publishes nowhere. Valid until
 * events_stop. */
const char *events_url(const struct events *ev);

#endif
