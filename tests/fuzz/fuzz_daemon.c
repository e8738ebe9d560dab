/* fuzz_daemon.c: the dispatch table, the message types and call inputs of the daemon's fuzz
 * targets (see fuzz_daemon.h). */
#include "fuzz_daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/events.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"
#include "log.h"
#include "handlers.h"

#define MAX_MESSAGE_TYPES 512
#define IDEM_KEY_LIMIT    128 /* idempotency.c refuses longer keys */

const struct rpc_server *fuzz_daemon_server(void)
{
    static struct rpc_server server = {.max_request_bytes = 1024 * 1024,
                                       .default_deadline_ms = 1000};
    if (!server.table.methods) {
        char err[256];
        /* one past the highest level: no record is written, not even errors */
        log_set_level((enum log_level)(LOG_LEVEL_ERROR + 1));
        if (!rpc_table_build(&server.table, handler_table, true, err, sizeof err)) {
            fprintf(stderr, "fuzz: cannot build the method table: %s\n", err);
            abort();
        }
    }
    return &server;
}

static void add_type(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **types,
                     size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (types[i] == d)
            return;
    if (*n == MAX_MESSAGE_TYPES)
        abort(); /* raise MAX_MESSAGE_TYPES */
    types[(*n)++] = d;
    for (unsigned f = 0; f < d->n_fields; f++)
        if (d->fields[f].type == PROTOBUF_C_TYPE_MESSAGE)
            add_type(d->fields[f].descriptor, types, n);
}

static int compare_types(const void *a, const void *b)
{
    return strcmp((*(const ProtobufCMessageDescriptor *const *)a)->name,
                  (*(const ProtobufCMessageDescriptor *const *)b)->name);
}

const ProtobufCMessageDescriptor *const *fuzz_message_types(size_t *n)
{
    static const ProtobufCMessageDescriptor *types[MAX_MESSAGE_TYPES];
    static size_t count;
    if (!count) {
        const struct rpc_table *table = &fuzz_daemon_server()->table;
        add_type(&clinic__v1__rpc_request__descriptor, types, &count);
        add_type(&clinic__v1__rpc_response__descriptor, types, &count);
        add_type(&clinic__v1__event__descriptor, types, &count);
        for (size_t i = 0; i < table->n; i++) {
            add_type(table->methods[i].desc->input, types, &count);
            add_type(table->methods[i].desc->output, types, &count);
        }
        qsort(types, count, sizeof types[0], compare_types);
    }
    *n = count;
    return types;
}

bool fuzz_call_split(const uint8_t *data, size_t size, struct fuzz_call *call)
{
    const struct rpc_table *table = &fuzz_daemon_server()->table;
    if (size < 4)
        return false;
    call->method = &table->methods[data[0] % table->n];
    call->flags = data[1];
    call->payload_len = (size_t)data[2] | (size_t)data[3] << 8;
    if (call->payload_len > size - 4)
        call->payload_len = size - 4;
    call->payload = data + 4;
    call->script = call->payload + call->payload_len;
    call->script_len = size - 4 - call->payload_len;
    return true;
}

uint8_t *fuzz_call_join(unsigned index, unsigned flags, const uint8_t *payload, size_t payload_len,
                        const uint8_t *script, size_t script_len, size_t *len)
{
    if (payload_len > 0xFFFF)
        abort(); /* the length has two bytes */
    *len = 4 + payload_len + script_len;
    uint8_t *out = malloc(*len);
    if (!out)
        abort();
    out[0] = (uint8_t)index;
    out[1] = (uint8_t)flags;
    out[2] = (uint8_t)(payload_len & 0xFF);
    out[3] = (uint8_t)(payload_len >> 8);
    if (payload_len)
        memcpy(out + 4, payload, payload_len);
    if (script_len)
        memcpy(out + 4 + payload_len, script, script_len);
    return out;
}

uint8_t *fuzz_call_envelope(const struct fuzz_call *call, size_t *len)
{
    char long_key[IDEM_KEY_LIMIT + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    env.method = (char *)call->method->name;
    env.payload.data = (uint8_t *)call->payload;
    env.payload.len = call->payload_len;
    env.request_id = "fuzz";
    env.deadline_ms = 1;
    if (call->flags & FUZZ_CALL_ROLE_MASK)
        env.auth_token = FUZZ_TOKEN;
    if (call->flags & FUZZ_CALL_LONG_KEY)
        env.idempotency_key = long_key;
    else if (call->flags & FUZZ_CALL_KEY)
        env.idempotency_key = "fuzz-key-1";
    *len = clinic__v1__rpc_request__get_packed_size(&env);
    uint8_t *out = malloc(*len ? *len : 1);
    if (!out)
        abort();
    clinic__v1__rpc_request__pack(&env, out);
    return out;
}
