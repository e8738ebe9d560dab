/* events.c: the PUB socket that announces changes to watchers. */
#include "events.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <stdio.h>
#include <stdlib.h>

#include "listen.h"
#include "log.h"

struct events {
    nng_socket sock;
};

/* Watchers only subscribe: what they send is a few bytes of subscription. */
#define EVENTS_RECV_MAX 4096

struct events *events_start(const char *url, const char *tls_cert_key, char *err, size_t errlen)
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
    nng_listener listener;
    if (!listen_start(ev->sock, url, EVENTS_RECV_MAX, tls_cert_key, &listener, err, errlen)) {
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
