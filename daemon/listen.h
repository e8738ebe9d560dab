/* listen.h: starts an nng listener the way every clinicd socket needs it: a receive limit (nng
 * 1.5.2 has none by default and allocates whatever a peer's frame header claims), a cap on
 * connections, for tls+tcp:// URLs the server certificate, and for ipc:// URLs a front that
 * shields nng's IPC listener from broken handshakes (ipc_front.h) and sets the socket's mode. */
#ifndef CLINICD_LISTEN_H
#define CLINICD_LISTEN_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>

struct listen_options {
    const char *url;
    size_t recv_max;          /* frames longer than this close the connection */
    const char *tls_cert_key; /* PEM certificate (chain) and key; required for tls+tcp:// */
    unsigned socket_mode;     /* permissions of an ipc:// socket file */
    int max_connections;      /* connections beyond this are closed as they arrive */
};

struct listener;

/* Creates and starts a listener on sock. NULL, with one sentence in err, on failure. */
__attribute__((warn_unused_result)) struct listener *
listen_start(nng_socket sock, const struct listen_options *opt, char *err, size_t errlen);

/* The URL peers should use: the URL itself, or for a TCP URL with port 0 the same URL with the
 * port the system chose (so tests and tools can listen on "tcp://127.0.0.1:0" without racing). */
const char *listen_url(const struct listener *l);

/* Closes sock, the socket l listens for, and releases l (NULL is fine). Returns false when nng
 * did not finish closing within a few seconds: nng 1.5.2 can wait forever for a connection torn
 * down mid-receive (nanomsg/nng#1813, fixed in nng 1.8), so the close is left running on its own
 * thread and l is not freed (nng may still call its connection callbacks); the caller goes on
 * shutting down and the process exits. */
bool listen_close(nng_socket sock, struct listener *l);

#endif
