/* web_harness.h: what the tests of clinic-gateway share: a gateway running in the test's own
 * process on a free port (gateway_start, what clinic-gateway's main runs) in front of a harness
 * daemon, and HTTP exchanges with it through libcurl, as a browser or a calendar app makes them. */
#ifndef CLINIC_WEB_HARNESS_H
#define CLINIC_WEB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "clinic.h"
#include "gateway.h"

struct web_gateway {
    clinic_client *upstream;
    struct gateway *gateway;
    char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts a gateway with config (its listen address is replaced by a free port on 127.0.0.1)
 * forwarding to the daemon at daemon_url. False after a sentence on stderr. */
bool web_gateway_start(struct web_gateway *w, const char *daemon_url,
                       const struct gateway_config *config);
void web_gateway_stop(struct web_gateway *w);

struct web_reply {
    long status;
    char *body; /* NUL-terminated; NULL when there was none */
    size_t len;
    char headers[4096];
};

/* Sends `method` to url with the headers (NULL-terminated, may be NULL) and body (NULL: none);
 * fails the test when no answer comes within 30 s. Free the body with free(). */
struct web_reply web_exchange(const char *method, const char *url, const char *const *headers,
                              const void *body, size_t len);

#endif
