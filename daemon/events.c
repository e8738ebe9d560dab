/* events.c: the PUB socket that announces changes to watchers. */
#include "events.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

struct events {
    nng_socket sock;
};

struct events *events_start(const char *url, char *err, size_t errlen)
{
    struct events *ev = calloc(1, sizeof *ev);
    int rv;
    if (!ev) {
        snprintf(err, errlen, "out of memory opening the event socket");
        return NULL;
    }
    if ((rv = nng_pub0_open(&ev->sock)) != 0) {
        snprintf(err, errlen, "cannot open the event socket: %s", nng_strerror(rv));
        free(ev);
        return NULL;
    }
    if ((rv = nng_listen(ev->sock, url, NULL, 0)) != 0) {
        snprintf(err, errlen, "cannot publish events on %s: %s", url, nng_strerror(rv));
        nng_close(ev->sock);
        free(ev);
        return NULL;
    }
    log_msg(LOG_LEVEL_INFO, "publishing events on %s", url);
    return ev;
}

void events_stop(struct events *ev)
{
    if (!ev)
        return;
    nng_close(ev->sock);
    free(ev);
}
