/* rpc.h: the envelope and dispatch. Turns one serialized RpcRequest into one serialized
 * RpcResponse: size limit, decoding, method lookup (a table built from the protobuf-c service
 * descriptors at start-up), the call's transaction with deadline and retries, and the status. */
#ifndef CLINICD_RPC_H
#define CLINICD_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers.h"

struct db;

struct rpc_method {
    char name[128]; /* "/clinic.v1.Health/Check" */
    ProtobufCService *service;
    unsigned index; /* in the service descriptor */
    const ProtobufCMethodDescriptor *desc;
    const struct method_rule *rule; /* what it is and who may call it (common/methods.c) */
};

struct rpc_table {
    struct rpc_method *methods; /* sorted by name */
    size_t n;
};

/* Builds the table of served methods from the handler sets (diagnostics ones only when asked),
 * each with its row of the method table. Fails, with a sentence in err, when a served method has
 * no handler or no row, a row names a method no handler set defines, a row's target field is not
 * an int64 of the request, or a method that needs a token would run outside a transaction: a
 * start-up error (before the database is touched) rather than a surprise at call time. */
__attribute__((warn_unused_result)) bool rpc_table_build(struct rpc_table *table,
                                                         const struct handler_entry *entries,
                                                         bool with_diagnostics, char *err,
                                                         size_t errlen);
void rpc_table_free(struct rpc_table *table);

/* The method called `name`, or NULL. */
const struct rpc_method *rpc_table_find(const struct rpc_table *table, const char *name);

struct standby;

struct rpc_server {
    struct rpc_table table;
    size_t max_request_bytes;
    uint32_t default_deadline_ms;
    const char *events_url; /* the event socket's URL for Server/Info; NULL or "" when none */
    /* Called after a call that changes data committed (the event relay's wake-up: events.h);
     * NULL when nobody listens. */
    void (*committed)(void *arg);
    void *committed_arg;
};

/* Serves one request from the peer at address `peer` (see struct call) on db, or on the
 * standby (NULL: none) when its method may read there and the standby is close behind (a read it
 * cannot serve, or that is refused, runs again on db). Always produces a reply: *reply is
 * malloc'd (free it) and its length is returned; 0 with *reply NULL only when memory ran out for
 * the reply itself. */
size_t rpc_serve(const struct rpc_server *server, struct db *db, struct standby *standby,
                 int worker, const char *peer, const uint8_t *request, size_t request_len,
                 uint8_t **reply);

/* Answers request with `code` and `message` without serving it (shutdown), echoing its request
 * id when the envelope decodes. Same reply contract as rpc_serve. */
size_t rpc_refuse(const uint8_t *request, size_t request_len, int worker, int code,
                  const char *message, uint8_t **reply);

#endif
