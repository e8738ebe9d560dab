/* listen.h: starts an nng listener the way every clinicd socket needs it: a receive limit (nng
 * 1.5.2 has none by default and allocates whatever a peer's frame header claims) and, for
 * tls+tcp:// URLs, the server certificate. */
#ifndef CLINICD_LISTEN_H
#define CLINICD_LISTEN_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>

/* Creates and starts a listener for url on sock with a receive limit of recv_max bytes.
 * tls_cert_key names a PEM file holding the certificate (chain) and private key; required for
 * tls+tcp:// URLs, ignored otherwise. False, with one sentence in err, on failure. */
__attribute__((warn_unused_result)) bool listen_start(nng_socket sock, const char *url,
                                                      size_t recv_max, const char *tls_cert_key,
                                                      nng_listener *out, char *err, size_t errlen);

/* The URL peers should use: url itself, or for a TCP URL with port 0 the same URL with the port
 * the system chose (so tests and tools can listen on "tcp://127.0.0.1:0" without racing). */
void listen_bound_url(nng_listener l, const char *url, char *out, size_t len);

#endif
