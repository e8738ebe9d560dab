/* service.h: how a service file describes itself to the dispatcher: its protobuf-c service
 * (descriptor + handlers, built with the generated ..._INIT(prefix) macro so the compiler checks
 * every handler's signature) and, per method, the policy flags dispatch honours. */
#ifndef CLINICD_SERVICE_H
#define CLINICD_SERVICE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

enum method_flag {
    METHOD_MUTATES = 1 << 0, /* changes data: honours idempotency_key, listed as mutating */
    METHOD_NO_TX = 1 << 2,   /* runs outside a transaction (touches the database itself, or not) */
    METHOD_AUDIT_READ = 1 << 3,   /* a read of clinical data: audited like a mutation */
    METHOD_SECRET_INPUT = 1 << 4, /* the request carries a password: its idempotency key is
                                   * ignored, since the stored SHA-256 of the request would let
                                   * anyone with the table try passwords against it offline */
};

struct method_policy {
    const char *name; /* the method's name in the .proto, e.g. "Check" */
    unsigned flags;
};

struct service_def {
    ProtobufCService *service;
    const struct method_policy *policies; /* one per method, ended by {NULL, 0} */
};

/* One entry of the served-services table (services.c). */
struct service_entry {
    const struct service_def *def;
    bool diagnostics; /* served only with --enable-diagnostics */
};

/* Every service clinicd can serve, ended by {NULL, false}. */
extern const struct service_entry service_table[];

#endif
