/* handlers.h: the handlers clinicd serves, one protobuf-c service per svc_<name>.c, built with the
 * generated ..._INIT(prefix) macro so the compiler checks every handler's signature. Everything
 * else about a method (does it change data, who may call it) is its row in the method table
 * (common/methods.c); rpc.c matches the two by name at start-up. */
#ifndef CLINICD_HANDLERS_H
#define CLINICD_HANDLERS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "call.h"
#include "methods.h"

/* Defines handler `name` of clinic.v1.<service> with the signature protobuf-c's ..._INIT(prefix)
 * expects (so the compiler still checks it against the .proto), and opens the body every handler
 * has: `call`, the call it serves (call.h; answer with call_reply or call_fail), and `in`, its
 * decoded request. For example:
 *     HANDLER(svc_rooms_get_room, Rooms, GetRoomRequest, Room) { ... }  */
#define HANDLER(name, service, Request, Response)                                                  \
    static void name##_body(struct call *call,                                                     \
                            const Clinic__V1__##Request *in __attribute__((unused)));              \
    static void name(Clinic__V1__##service##_Service *service_, const Clinic__V1__##Request *in,   \
                     Clinic__V1__##Response##_Closure closure, void *data)                         \
    {                                                                                              \
        (void)service_;                                                                            \
        (void)closure; /* answers go through call_reply */                                         \
        ((struct call *)data)->request = &in->base;                                                \
        name##_body(data, in);                                                                     \
    }                                                                                              \
    static void name##_body(struct call *call,                                                     \
                            const Clinic__V1__##Request *in __attribute__((unused)))

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
