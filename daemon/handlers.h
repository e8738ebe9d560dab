/* handlers.h: the handlers clinicd serves, one protobuf-c service per svc_<name>.c, built with the
 * generated ..._INIT(prefix) macro so the compiler checks every handler's signature. Everything
 * else about a method (does it change data, who may call it) is its row in the method table
 * (common/methods.c); rpc.c matches the two by name at start-up. */
#ifndef CLINICD_HANDLERS_H
#define CLINICD_HANDLERS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "methods.h"

/* What a svc_<name>.c exports: its protobuf-c service (descriptor + handlers). */
struct handler_set {
    ProtobufCService *service;
};

/* One entry of the handler table (handlers.c). */
struct handler_entry {
    const struct handler_set *set;
    bool diagnostics; /* served only with --enable-diagnostics */
};

/* Every handler set clinicd can serve, ended by {NULL, false}. */
extern const struct handler_entry handler_table[];

#endif
