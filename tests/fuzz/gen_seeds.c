/* gen_seeds.c: writes the generated part of the fuzz targets' seed corpus, from the dispatch
 * table and the message descriptors, so the seeds follow the .proto files and the services
 * (a committed binary seed would silently go stale when a method is added or moved in the
 * sorted table). The build runs it into <build>/tests/fuzz/seeds/<target>/; the committed seeds
 * under tests/fuzz/corpus/ are the hand-written ones and the reproducers of findings.
 *
 * Every request is filled with plausible values chosen by field name and type ("email" gets an
 * address, "start_time" a local time, "*_id" a small id, enums their first named value), so
 * the fuzzer starts from requests a handler accepts rather than from ones it refuses at once.
 *
 * Usage: gen_seeds OUTPUT_DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authz.h"
#include "call.h"
#include "clinic/v1/rpc.pb-c.h"
#include "fuzz_daemon.h"
#include "handlers.h"

#define MAX_DEPTH 3

static const char *out_dir;

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "gen_seeds: out of memory\n");
        exit(1);
    }
    return p;
}

static char *text(const char *s)
{
    return must(strdup(s));
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_seeds: cannot create %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void write_seed(const char *target, const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    make_dir(path);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* --- plausible values --- */

static bool has(const char *name, const char *part)
{
    return strstr(name, part) != NULL;
}

static bool ends(const char *name, const char *tail)
{
    size_t n = strlen(name), t = strlen(tail);
    return n >= t && strcmp(name + n - t, tail) == 0;
}

static const char *string_for(const char *name)
{
    static const struct {
        const char *part;
        const char *value;
    } by_name[] = {
        {"email", "anna@example.org"},
        {"password", "password123"},
        {"zone", "Europe/Berlin"},
        {"phone", "+49 30 1234567"},
        {"page_token", ""},
        {"reason", "the client is ill"},
        {"method", "Notes/"},
        {"target", "appointment:1"},
        {"odi", "3,2,-,1,0,4,2,-,1,3"},
        {"weekday", "mon-fri"},
        {"since", "2030-03-01 00:00"},
        {"until", "2030-04-01 00:00"},
        {"from", "2030-03-04 09:00"},
        {"to", "2030-03-04 18:00"},
        {"clock", "09:00"},
        {"date", "2030-03-04"},
        {"day", "2030-03-04"},
        {"_at", "2030-03-04T09:00:00Z"},
        {"time", "2030-03-04 09:00"},
        {"name", "Anna Müller"},
        {"role", "therapist"},
        {"pressure", "medium"},
        {"text", "Left glute, not right."},
    };
    for (size_t i = 0; i < sizeof by_name / sizeof by_name[0]; i++)
        if (has(name, by_name[i].part))
            return by_name[i].value;
    return "feels better after the session";
}

static int64_t number_for(const char *name)
{
    if (has(name, "page_size") || has(name, "limit"))
        return 10;
    if (has(name, "count"))
        return 3;
    if (has(name, "minutes"))
        return 45;
    if (has(name, "cents") || has(name, "price"))
        return 6000;
    if (has(name, "pain"))
        return 6;
    if (has(name, "every"))
        return 1;
    return 1;
}

static void fill(ProtobufCMessage *m, int depth);

/* A value of field f at slot. */
static void fill_value(const ProtobufCFieldDescriptor *f, void *slot, int depth, size_t index)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        *(char **)slot =
            text(ends(f->name, "features") || ends(f->name, "areas") || ends(f->name, "techniques")
                     ? (index ? "lower_back" : "neck")
                     : string_for(f->name));
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)slot = 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = f->descriptor;
        *(int *)slot = e->values[e->n_values > 1 ? 1 : 0].value;
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)slot = 1.5;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)slot = 1.5f;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(int64_t *)slot = number_for(f->name) + (int64_t)index;
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = slot;
        b->data = (uint8_t *)text("abc");
        b->len = 3;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *d = f->descriptor;
        ProtobufCMessage *inner = must(calloc(1, d->sizeof_message));
        protobuf_c_message_init(d, inner);
        fill(inner, depth + 1);
        *(ProtobufCMessage **)slot = inner;
        break;
    }
    default:
        *(int32_t *)slot = (int32_t)number_for(f->name);
        break;
    }
}

static size_t slot_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    default:
        return 4;
    }
}

/* Sets every field of m (the first member of each oneof; two items per repeated field; an
 * update_mask names every other field but the id), nested messages down to MAX_DEPTH. */
static void fill(ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char *base = (char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth >= MAX_DEPTH)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *which = (uint32_t *)(base + f->quantifier_offset);
            if (*which)
                continue;
            *which = f->id;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
            *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        }
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            fill_value(f, base + f->offset, depth, 0);
            continue;
        }
        bool mask = strcmp(f->name, "update_mask") == 0 && f->type == PROTOBUF_C_TYPE_STRING;
        size_t n = mask ? d->n_fields : 2, k = 0;
        char *items = must(calloc(n ? n : 1, slot_size(f)));
        for (unsigned j = 0; mask && j < d->n_fields; j++)
            if (j != i && strcmp(d->fields[j].name, "id") != 0)
                ((char **)items)[k++] = text(d->fields[j].name);
        for (; !mask && k < n; k++)
            fill_value(f, items + k * slot_size(f), depth, k);
        *(size_t *)(base + f->quantifier_offset) = k;
        *(void **)(base + f->offset) = items;
    }
}

/* A filled message of type d, packed; malloc'd, length in *len. When id_field is not NULL, that
 * int64 field is set to id. */
static uint8_t *filled(const ProtobufCMessageDescriptor *d, const char *id_field, int64_t id,
                       size_t *len)
{
    ProtobufCMessage *m = must(calloc(1, d->sizeof_message));
    protobuf_c_message_init(d, m);
    fill(m, 1);
    const ProtobufCFieldDescriptor *f =
        id_field ? protobuf_c_message_descriptor_get_field_by_name(d, id_field) : NULL;
    if (f && f->type == PROTOBUF_C_TYPE_INT64 && f->label != PROTOBUF_C_LABEL_REPEATED)
        *(int64_t *)((char *)m + f->offset) = id;
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *out = must(malloc(*len ? *len : 1));
    protobuf_c_message_pack(m, out);
    protobuf_c_message_free_unpacked(m, NULL);
    return out;
}

/* --- scripts for the stand-in database (fuzz_db.c) --- */

struct script {
    uint8_t b[256];
    size_t n;
};

static void script_byte(struct script *s, uint8_t b)
{
    if (s->n < sizeof s->b)
        s->b[s->n++] = b;
}

/* One statement that succeeds with one row of these values (NULL-terminated). */
static void script_row(struct script *s, const char *const *values)
{
    script_byte(s, 1 << 3);
    for (; *values; values++) {
        size_t len = strlen(*values);
        script_byte(s, (uint8_t)(64 + len));
        for (size_t i = 0; i < len; i++)
            script_byte(s, (uint8_t)(*values)[i]);
    }
}

/* The answer to authz.c's parties query: the caller's client, treated by the caller. */
static void script_parties(struct script *s)
{
    static const char *const parties[] = {"9", "8", "t", NULL};
    script_row(s, parties);
}

/* --- the targets' seeds --- */

/* The caller's own id for a scoped rule, and the role that has that scope. */
static int64_t own_id(const struct method_rule *rule, enum caller_role role)
{
    switch (rule->target) {
    case TARGET_USER:
        return FUZZ_USER_ID;
    case TARGET_THERAPIST:
        return FUZZ_THERAPIST_ID;
    case TARGET_CLIENT:
        return role == ROLE_CLIENT ? FUZZ_CLIENT_ID : 1;
    default:
        return 1;
    }
}

static void call_seeds(void)
{
    const struct rpc_table *table = &fuzz_daemon_server()->table;
    for (size_t i = 0; i < table->n; i++) {
        const struct rpc_method *m = &table->methods[i];
        const struct method_rule *rule = m->rule;
        char name[160];
        size_t payload_len, len;
        /* the payload alone, then as an admin's call, then as each role whose scope is checked */
        uint8_t *payload = filled(m->desc->input, NULL, 0, &payload_len);
        uint8_t *seed = must(malloc(payload_len + 1));
        seed[0] = (uint8_t)i;
        memcpy(seed + 1, payload, payload_len);
        snprintf(name, sizeof name, "%03zu-%s", i, m->desc->name);
        write_seed("fuzz_payload", name, seed, payload_len + 1);
        free(seed);

        struct script begin = {{0}, 0};
        script_byte(&begin, 0); /* BEGIN succeeds */
        seed =
            fuzz_call_join((unsigned)i, ROLE_ADMIN, payload, payload_len, begin.b, begin.n, &len);
        write_seed("fuzz_handlers", name, seed, len);
        struct fuzz_call call;
        if (!fuzz_call_split(seed, len, &call))
            abort();
        size_t env_len;
        uint8_t *env = fuzz_call_envelope(&call, &env_len);
        write_seed("fuzz_envelope", name, env, env_len);
        free(env);
        free(seed);
        if (m->rule->flags & METHOD_MUTATES) {
            seed = fuzz_call_join((unsigned)i, ROLE_ADMIN | FUZZ_CALL_KEY, payload, payload_len,
                                  begin.b, begin.n, &len);
            snprintf(name, sizeof name, "%03zu-%s-key", i, m->desc->name);
            write_seed("fuzz_handlers", name, seed, len);
            free(seed);
        }
        free(payload);

        for (int role = ROLE_ADMIN; role < ROLE_COUNT && rule->target != TARGET_NONE; role++) {
            if (rule->scope[role] != SCOPE_OWN && rule->scope[role] != SCOPE_CARE)
                continue;
            payload = filled(m->desc->input, rule->field, own_id(rule, (enum caller_role)role),
                             &payload_len);
            struct script parties = {{0}, 0};
            script_parties(&parties);
            snprintf(name, sizeof name, "%03zu-%s-%s", i, m->desc->name,
                     caller_role_name((enum caller_role)role));
            seed = fuzz_call_join((unsigned)i, (unsigned)role, payload, payload_len, parties.b,
                                  parties.n, &len);
            write_seed("fuzz_authz", name, seed, len);
            free(seed);
            struct script opening = begin;
            script_parties(&opening);
            seed = fuzz_call_join((unsigned)i, (unsigned)role, payload, payload_len, opening.b,
                                  opening.n, &len);
            write_seed("fuzz_handlers", name, seed, len);
            free(seed);
            free(payload);
        }
    }
}

static void envelope_seeds(void)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0a, 0x01};
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    env.method = "/clinic.v1.Nope/Nothing";
    env.request_id = "bad\nid";
    size_t len = clinic__v1__rpc_request__get_packed_size(&env);
    uint8_t *b = must(malloc(len));
    clinic__v1__rpc_request__pack(&env, b);
    write_seed("fuzz_envelope", "unknown-method", b, len);
    free(b);
    write_seed("fuzz_envelope", "garbage", garbage, sizeof garbage);
}

static void wire_seeds(void)
{
    size_t n;
    const ProtobufCMessageDescriptor *const *types = fuzz_message_types(&n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *packed = filled(types[i], NULL, 0, &len);
        uint8_t *seed = must(malloc(len + 1));
        seed[0] = (uint8_t)i;
        memcpy(seed + 1, packed, len);
        char name[160];
        snprintf(name, sizeof name, "%03zu-%s", i, types[i]->short_name);
        write_seed("fuzz_wire", name, seed, len + 1);
        free(seed);
        free(packed);
    }
}

/* An RpcResponse for method number index (services.c order, as fuzz_clinic_reply counts). */
static void write_reply(const char *name, size_t index, const Clinic__V1__RpcResponse *resp)
{
    size_t len = clinic__v1__rpc_response__get_packed_size(resp);
    uint8_t *seed = must(malloc(len + 1));
    seed[0] = (uint8_t)index;
    clinic__v1__rpc_response__pack(resp, seed + 1);
    write_seed("fuzz_clinic_reply", name, seed, len + 1);
    free(seed);
}

static void reply_seeds(void)
{
    size_t index = 0;
    for (const struct handler_entry *e = handler_table; e->set; e++) {
        const ProtobufCServiceDescriptor *sd = e->set->service->descriptor;
        for (unsigned i = 0; i < sd->n_methods; i++, index++) {
            Clinic__V1__RpcResponse resp = CLINIC__V1__RPC_RESPONSE__INIT;
            Clinic__V1__RpcStatus status = CLINIC__V1__RPC_STATUS__INIT;
            char name[160];
            resp.status = &status;
            resp.request_id = "0123456789abcdef";
            resp.payload.data = filled(sd->methods[i].output, NULL, 0, &resp.payload.len);
            snprintf(name, sizeof name, "%03zu-%s-ok", index, sd->methods[i].name);
            write_reply(name, index, &resp);
            free(resp.payload.data);
        }
    }
    Clinic__V1__RpcResponse resp = CLINIC__V1__RPC_RESPONSE__INIT;
    Clinic__V1__RpcStatus status = CLINIC__V1__RPC_STATUS__INIT;
    Clinic__V1__FieldViolation v1 = CLINIC__V1__FIELD_VIOLATION__INIT;
    Clinic__V1__FieldViolation v2 = CLINIC__V1__FIELD_VIOLATION__INIT;
    Clinic__V1__FieldViolation *violations[] = {&v1, &v2};
    v1.field = "start_time";
    v1.description = "must be a time like 2030-03-04 09:00";
    v2.field = "service_id";
    v2.description = "must be the id of an existing record (a positive number)";
    status.code = 3;
    status.message = "invalid start_time, service_id; see the field violations";
    status.n_violations = 2;
    status.violations = violations;
    resp.status = &status;
    resp.request_id = "0123456789abcdef";
    write_reply("invalid-argument", 0, &resp);
    status.code = 14;
    status.message = "the database is unreachable; retry shortly";
    status.n_violations = 0;
    write_reply("unavailable", 1, &resp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds OUTPUT_DIR\n");
        return 2;
    }
    out_dir = argv[1];
    make_dir(out_dir);
    call_seeds();
    envelope_seeds();
    wire_seeds();
    reply_seeds();
    return 0;
}
