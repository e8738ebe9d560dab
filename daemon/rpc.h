/* rpc.h: the envelope and dispatch. Turns one serialized RpcRequest into one serialized
 * RpcResponse: size limit, decoding, method lookup (a table built from the protobuf-c service
 * descriptors at start-up), the call's transaction with deadline and retries, and the status. */
#ifndef CLINICD_RPC_H
#define CLINICD_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

struct db;
struct authz_rule;

struct rpc_method {
    char name[128]; /* "/clinic.v1.Health/Check" */
    ProtobufCService *service;
    unsigned index; /* in the service descriptor */
    const ProtobufCMethodDescriptor *desc;
    unsigned flags;                /* enum method_flag */
    const struct authz_rule *rule; /* who may call it (authz.c) */
};

struct rpc_table {
    struct rpc_method *methods; /* sorted by name */
    size_t n;
};

/* Builds the method table from the service entries (diagnostics ones only when asked). Fails,
 * with a sentence in err, when a method has no handler, no policy or no authorisation rule, a
 * policy names a method the descriptor lacks, or a method that needs a token would run outside
 * a transaction: a start-up error rather than a surprise at call time. */
__attribute__((warn_unused_result)) bool rpc_table_build(struct rpc_table *table,
                                                         const struct service_entry *entries,
                                                         bool with_diagnostics, char *err,
                                                         size_t errlen);
void rpc_table_free(struct rpc_table *table);

/* The method called `name`, or NULL. */
const struct rpc_method *rpc_table_find(const struct rpc_table *table, const char *name);

struct rpc_server {
    struct rpc_table table;
    size_t max_request_bytes;
    uint32_t default_deadline_ms;
};

/* Serves one request from the peer at address `peer` (see struct call). Always produces a reply:
 * *reply is malloc'd (free it) and its length is returned; 0 with *reply NULL only when memory ran
 * out for the reply itself. */
size_t rpc_serve(const struct rpc_server *server, struct db *db, int worker, const char *peer,
                 const uint8_t *request, size_t request_len, uint8_t **reply);

/* Answers request with `code` and `message` without serving it (shutdown), echoing its request
 * id when the envelope decodes. Same reply contract as rpc_serve. */
size_t rpc_refuse(const uint8_t *request, size_t request_len, int worker, int code,
                  const char *message, uint8_t **reply);

#endif
