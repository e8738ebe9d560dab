/* ipc_front.h: the Unix socket that ipc:// clients dial, relayed to nng's IPC listener on a
 * private path, so that peers who hang up in the middle of the SP handshake never reach nng
 * 1.5.2's listener (see the DESIGN note in ipc_front.c). */
#ifndef CLINICD_IPC_FRONT_H
#define CLINICD_IPC_FRONT_H

#include <stdbool.h>
#include <stddef.h>

struct ipc_front;

/* Makes a private folder for nng's listener and checks that path can be served (absent, or a
 * socket nobody listens on any more). protocol is the SP protocol number of the nng socket
 * (NNG_OPT_PROTO), which the front answers with when it turns a client away. Nothing is bound
 * yet: listen on ipc_front_inner_url, then call ipc_front_open. NULL, with one sentence in err,
 * on failure. */
struct ipc_front *ipc_front_create(const char *path, unsigned mode, int max_connections,
                                   int protocol, char *err, size_t errlen);

/* The ipc:// URL of the private path nng's listener should use. */
const char *ipc_front_inner_url(const struct ipc_front *f);

/* Binds path with the given mode and starts relaying. False, with one sentence in err. */
__attribute__((warn_unused_result)) bool ipc_front_open(struct ipc_front *f, char *err,
                                                        size_t errlen);

/* Stops relaying, closes every connection, removes path and the private folder. Call after
 * nng's listener is closed. NULL is fine. */
void ipc_front_close(struct ipc_front *f);

#endif
