/* listen.c: nng listeners with a receive limit and, for tls+tcp://, a server certificate. */
#include "listen.h"

#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <string.h>

static bool is_tls(const char *url)
{
    return strncmp(url, "tls+tcp", 7) == 0; /* tls+tcp://, tls+tcp4://, tls+tcp6:// */
}

static bool configure_tls(nng_listener l, const char *url, const char *cert_key, char *err,
                          size_t errlen)
{
    if (!cert_key || !*cert_key) {
        snprintf(err, errlen,
                 "%s needs a certificate: pass --tls-cert-key FILE (a PEM file with "
                 "the certificate and its private key)",
                 url);
        return false;
    }
    nng_tls_config *cfg;
    int rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER);
    if (rv == 0)
        rv = nng_tls_config_cert_key_file(cfg, cert_key, NULL);
    if (rv == 0)
        rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
    if (rv != 0)
        snprintf(err, errlen, "cannot use %s as the TLS certificate and key: %s", cert_key,
                 nng_strerror(rv));
    nng_tls_config_free(cfg); /* the listener holds its own reference */
    return rv == 0;
}

bool listen_start(nng_socket sock, const char *url, size_t recv_max, const char *tls_cert_key,
                  nng_listener *out, char *err, size_t errlen)
{
    int rv = nng_listener_create(out, sock, url);
    if (rv != 0) {
        snprintf(err, errlen,
                 "cannot listen on %s: %s (use tcp://HOST:PORT, ipc:///PATH or "
                 "tls+tcp://HOST:PORT)",
                 url, nng_strerror(rv));
        return false;
    }
    nng_listener_set_size(*out, NNG_OPT_RECVMAXSZ, recv_max);
    if (is_tls(url) && !configure_tls(*out, url, tls_cert_key, err, errlen)) {
        nng_listener_close(*out);
        return false;
    }
    if ((rv = nng_listener_start(*out, 0)) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", url, nng_strerror(rv));
        nng_listener_close(*out);
        return false;
    }
    return true;
}

void listen_bound_url(nng_listener l, const char *url, char *out, size_t len)
{
    const char *colon = strrchr(url, ':');
    int port = 0;
    bool tcp = strncmp(url, "tcp", 3) == 0 || is_tls(url);
    if (!tcp || !colon || strcmp(colon, ":0") != 0 ||
        nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0) {
        snprintf(out, len, "%s", url);
        return;
    }
    snprintf(out, len, "%.*s:%d", (int)(colon - url), url, port);
}
