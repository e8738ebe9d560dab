/* gateway.h: clinic-gateway's HTTP server: Connect unary calls (POST /clinic.v1.Service/Method,
 * JSON or binary protobuf) forwarded to clinicd through libclinic, each with its caller's bearer
 * token, idempotency key and deadline; and the clients' booking page at /. */
#ifndef CLINIC_GATEWAY_H
#define CLINIC_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clinic.h"

#define GATEWAY_DEFAULT_LISTEN     "127.0.0.1:7480"
#define GATEWAY_DEFAULT_MAX_BODY   (64u * 1024)
#define GATEWAY_DEFAULT_MAX_CONNS  256
#define GATEWAY_DEFAULT_TIMEOUT_MS 10000
#define GATEWAY_MAX_TIMEOUT_MS     60000
#define GATEWAY_MAX_ORIGINS        8
#define GATEWAY_DEFAULT_LOGINS     10 /* per address per minute */

struct gateway_config {
    const char *listen;         /* "HOST:PORT" (numeric host; port 0: any free one) */
    size_t max_body_bytes;      /* a request body above this is refused (413) */
    unsigned max_connections;   /* at once, from all addresses */
    unsigned per_address_max;   /* at once, from one address */
    unsigned logins_per_minute; /* calls carrying a password, per address; 0: no limit */
    const char *web_root;       /* the booking page's folder (web/), served at /; NULL: none */
    const char *origins[GATEWAY_MAX_ORIGINS]; /* browsers' origins allowed by CORS; none: closed */
    size_t n_origins;
};

struct gateway;

/* Starts serving on config->listen, forwarding through client (not owned). NULL after a sentence
 * in why. */
struct gateway *gateway_start(const struct gateway_config *config, clinic_client *client, char *why,
                              size_t why_len);

/* The port it listens on (the one chosen, for port 0). */
uint16_t gateway_port(const struct gateway *g);

/* Stops serving (calls in flight finish) and frees it. */
void gateway_stop(struct gateway *g);

#endif
