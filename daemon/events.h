/* events.h: the event PUB socket. Each message is "<topic> <serialized clinic.v1.Event>", so SUB
 * sockets can filter by topic prefix. */
#ifndef CLINICD_EVENTS_H
#define CLINICD_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

struct events;

/* Opens the PUB socket and listens on url (tls_cert_key as for listen_start). NULL with a
 * sentence in err on failure. */
__attribute__((warn_unused_result)) struct events *events_start(const char *url,
                                                                const char *tls_cert_key,
                                                                char *err, size_t errlen);
void events_stop(struct events *ev);

#endif
