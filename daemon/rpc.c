/* rpc.c: envelope, dispatch and status. Knows no service: the method table comes from the
 * protobuf-c service descriptors of the handler sets (handlers.c), and what each method is from
 * the method table (common/methods.c).
 *
 * DESIGN: a request is refused as early as possible, cheapest check first: size, then the
 * envelope's bytes (wire_check, protobuf-c unpack), then the method, then the payload. Only a
 * request that passes all of them is authenticated (its token, in the call's transaction) and
 * authorised (its row of the method table, by authz.c, against the target the request names); only
 * then does it reach its handler, inside that transaction, whose statements are bounded by the
 * call's deadline and run as the database role clinic_app. Mutating calls and reads of clinical
 * data leave an audit row in the same transaction; failures and refusals of a known caller leave
 * one after the rollback (audit_failure). Serialization failures and deadlocks re-run the
 * transaction a bounded number of times: the handler is a function of its input and the database.
 */
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "audit.h"
#include "auth.h"
#include "authz.h"
#include "call.h"
#include "clinic/v1/rpc.pb-c.h"
#include "clock.h"
#include "db.h"
#include "idempotency.h"
#include "log.h"
#include "message_unpack.h"
#include "standby.h"
#include "status.h"
#include "wire.h"

#define MAX_TX_ATTEMPTS 4
#define MAX_REQUEST_ID  64

/* --- the method table --- */

static int compare_methods(const void *a, const void *b)
{
    return strcmp(((const struct rpc_method *)a)->name, ((const struct rpc_method *)b)->name);
}

/* The method's full name ("/clinic.v1.Health/Check") into out; false when it does not fit. */
static bool full_name(const ProtobufCServiceDescriptor *sd, const ProtobufCMethodDescriptor *md,
                      char *out, size_t len)
{
    return (size_t)snprintf(out, len, "/%s/%s", sd->name, md->name) < len;
}

/* Whether one of the handler sets (served or not) defines the method called name. */
static bool defined_anywhere(const struct handler_entry *entries, const char *name)
{
    char full[sizeof((struct rpc_method *)0)->name];
    for (const struct handler_entry *e = entries; e->set; e++) {
        const ProtobufCServiceDescriptor *sd = e->set->service->descriptor;
        for (unsigned i = 0; i < sd->n_methods; i++)
            if (full_name(sd, &sd->methods[i], full, sizeof full) && strcmp(full, name) == 0)
                return true;
    }
    return false;
}

/* Checks every row of the method table names a method some handler set defines (a typo or a
 * removed method would otherwise leave a rule that guards nothing). */
static bool rules_name_methods(const struct handler_entry *entries, char *err, size_t errlen)
{
    size_t n;
    const struct method_rule *rules = method_rules(&n);
    for (size_t i = 0; i < n; i++) {
        if (!defined_anywhere(entries, rules[i].method)) {
            snprintf(err, errlen,
                     "the method table (common/methods.c) has a row for %s, which no service "
                     "defines",
                     rules[i].method);
            return false;
        }
    }
    return true;
}

/* Checks the method's row against its descriptor: the target field is the request's int64, and
 * a method that needs a token runs in a transaction (its token is checked in it). */
static bool rule_fits(const struct method_rule *rule, const ProtobufCMethodDescriptor *md,
                      char *err, size_t errlen)
{
    if (rule->target != TARGET_NONE) {
        const ProtobufCFieldDescriptor *f =
            rule->field ? protobuf_c_message_descriptor_get_field_by_name(md->input, rule->field)
                        : NULL;
        if (!f || f->type != PROTOBUF_C_TYPE_INT64 || f->label == PROTOBUF_C_LABEL_REPEATED) {
            snprintf(err, errlen, "method %s: its target field \"%s\" is not an int64 field of %s",
                     rule->method, rule->field ? rule->field : "", md->input->name);
            return false;
        }
    }
    if (!(rule->flags & METHOD_PUBLIC) && (rule->flags & METHOD_NO_TX)) {
        snprintf(err, errlen, "method %s needs a token but runs outside a transaction",
                 rule->method);
        return false;
    }
    return true;
}

static bool add_service(struct rpc_table *table, const struct handler_set *set, char *err,
                        size_t errlen)
{
    const ProtobufCServiceDescriptor *sd = set->service->descriptor;
    /* protobuf-c's invoke finds handler i right after the base struct; NULL means none was set */
    void (*const *handlers)(void) = (void (*const *)(void))(set->service + 1);
    for (unsigned i = 0; i < sd->n_methods; i++) {
        const ProtobufCMethodDescriptor *md = &sd->methods[i];
        struct rpc_method *m = &table->methods[table->n++];
        if (!full_name(sd, md, m->name, sizeof m->name)) {
            snprintf(err, errlen, "method /%s/%s has a name too long to serve", sd->name, md->name);
            return false;
        }
        m->rule = method_rule_for(m->name);
        if (!m->rule || !handlers[i]) {
            snprintf(err, errlen, "method %s has no %s", m->name,
                     m->rule ? "handler" : "row in the method table (common/methods.c)");
            return false;
        }
        if (!rule_fits(m->rule, md, err, errlen))
            return false;
        m->service = set->service;
        m->index = i;
        m->desc = md;
    }
    return true;
}

bool rpc_table_build(struct rpc_table *table, const struct handler_entry *entries,
                     bool with_diagnostics, char *err, size_t errlen)
{
    size_t total = 0;
    table->n = 0;
    table->methods = NULL;
    if (!rules_name_methods(entries, err, errlen))
        return false;
    for (const struct handler_entry *e = entries; e->set; e++)
        total += e->set->service->descriptor->n_methods;
    table->methods = calloc(total ? total : 1, sizeof *table->methods);
    if (!table->methods) {
        snprintf(err, errlen, "out of memory building the method table");
        return false;
    }
    for (const struct handler_entry *e = entries; e->set; e++) {
        if (e->diagnostics && !with_diagnostics)
            continue;
        if (!add_service(table, e->set, err, errlen)) {
            rpc_table_free(table);
            return false;
        }
    }
    qsort(table->methods, table->n, sizeof *table->methods, compare_methods);
    for (size_t i = 1; i < table->n; i++) {
        if (strcmp(table->methods[i - 1].name, table->methods[i].name) == 0) {
            snprintf(err, errlen, "method %s is served twice", table->methods[i].name);
            rpc_table_free(table);
            return false;
        }
    }
    return true;
}

void rpc_table_free(struct rpc_table *table)
{
    free(table->methods);
    table->methods = NULL;
    table->n = 0;
}

const struct rpc_method *rpc_table_find(const struct rpc_table *table, const char *name)
{
    struct rpc_method key;
    if (strlen(name) >= sizeof key.name)
        return NULL;
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, table->methods, table->n, sizeof *table->methods, compare_methods);
}

/* --- identifiers --- */

static void new_request_id(char *out, size_t len)
{
    uint8_t raw[12];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        memset(raw, 0, sizeof raw);
    size_t used = 0;
    for (size_t i = 0; i < sizeof raw && used + 2 < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%02x", raw[i]);
}

/* Ids and method names go into the log: only a conservative alphabet, so no line can be forged. */
static bool log_safe(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
        if (!ok || n >= max)
            return false;
    }
    return n > 0;
}

/* --- serving --- */

static void invoke(const struct rpc_method *m, const ProtobufCMessage *input, struct call *call)
{
    m->service->invoke(m->service, m->index, input, call_reply, call);
    if (call->code == STATUS_OK && !call->replied) {
        log_msg(LOG_LEVEL_ERROR, "request_id=%s method=%s handler returned without a reply",
                call->request_id, m->name);
        call_fail_internal(call);
    }
}

static bool audited(const struct rpc_method *m)
{
    return (m->rule->flags & (METHOD_MUTATES | METHOD_AUDIT_READ)) != 0;
}

/* What a call writes besides its work, in the round trip of its COMMIT. */
struct closing {
    struct db_step steps[2]; /* the idempotent reply, the audit row */
    int n;
};

/* Whether the call's answer is kept under its idempotency key (requests carrying a password are
 * not: the stored request hash would allow guessing it offline). */
static bool keyed(const struct rpc_method *m, const struct call *call)
{
    return method_takes_idempotency_key(m->rule) && call->idempotency_key[0];
}

/* Runs the handler (or replays a stored answer) inside the open transaction, once the caller is
 * known and allowed; stored_reply is what the opening found under the call's idempotency key.
 * For a keyed call the answer is stored in the same transaction, and so is the audit row (both
 * queued in `closing`). authz_check may write the caller's own id into input's target field
 * ("me" by default, authz.h); the key's request hash is over the payload as sent. */
static void run_once(const struct rpc_method *m, ProtobufCMessage *input, struct call *call,
                     struct db_result *stored_reply, struct closing *closing)
{
    closing->n = 0;
    if (!authz_check(call, m->rule, input)) {
        db_result_free(stored_reply);
        return;
    }
    if (keyed(m, call)) {
        switch (idem_check(call, stored_reply, call->idempotency_key, m->name, call->payload)) {
        case IDEM_FRESH:
            break;
        case IDEM_REPLAYED:
            log_msg(LOG_LEVEL_DEBUG, "request_id=%s replayed the answer stored for its key",
                    call->request_id);
            return;
        case IDEM_FAILED:
            return;
        }
    }
    invoke(m, input, call);
    if (keyed(m, call) && call->code == STATUS_OK &&
        idem_store_step(call, call->idempotency_key, m->name, call->payload,
                        &closing->steps[closing->n]))
        closing->n++;
    if (audited(m) && call->code == STATUS_OK && audit_step(call, &closing->steps[closing->n]))
        closing->n++;
}

/* Opens the call's transaction in one round trip: for a method that needs a token, its
 * authentication; for a keyed call, the lock on its key and the answer stored under it
 * (*stored_reply, to free). False with the call failed. */
static bool open_call(const struct rpc_method *m, struct call *call,
                      struct db_result **stored_reply)
{
    struct db_step steps[1 + IDEM_FIND_STEPS];
    struct db_result *rows = NULL;
    int n = 0;
    bool authenticating = !(m->rule->flags & METHOD_PUBLIC);
    *stored_reply = NULL;
    if (authenticating && !auth_step(call, &steps[n++], &rows))
        return false;
    if (keyed(m, call)) {
        if (!idem_find_steps(call, call->idempotency_key, &steps[n], stored_reply))
            return false;
        n += IDEM_FIND_STEPS;
    }
    if (db_begin_with(call->db, call->deadline_us, steps, n) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    if (authenticating && !auth_accept(call, rows)) {
        db_result_free(*stored_reply);
        *stored_reply = NULL;
        db_rollback(call->db);
        return false;
    }
    return true;
}

/* A failed call by a known caller leaves its audit row on its own, the call's work being rolled
 * back: every failure of an audited method, and every refusal (PERMISSION_DENIED) of any method,
 * reads and lists included, so that probing for other people's records leaves a trace. Calls
 * whose token did not prove itself leave none: anyone could fill the table. A row the database
 * cannot take because it is gone waits in audit.c's backlog. */
static void audit_failure(const struct rpc_method *m, struct call *call)
{
    if (call->caller.user_id == 0 || (!audited(m) && call->code != STATUS_PERMISSION_DENIED))
        return;
    if (!audit_record(call))
        log_msg(LOG_LEVEL_ERROR, "request_id=%s could not write its audit row (%s)",
                call->request_id, db_error_sqlstate(call->db));
}

/* Runs the handler in a transaction, again after a serialization failure or deadlock. True
 * when it committed. A failure is audited when `audit` says so. */
static bool invoke_in_transaction(const struct rpc_method *m, ProtobufCMessage *input,
                                  struct call *call, bool audit)
{
    for (int attempt = 1;; attempt++) {
        struct closing closing;
        struct db_result *stored_reply;
        call_reset_outcome(call);
        call->caller = (struct caller){0};
        call->audit_target[0] = '\0';
        if (!open_call(m, call, &stored_reply))
            return false;
        run_once(m, input, call, stored_reply, &closing);
        if (call->code == STATUS_OK) {
            if (db_commit_with(call->db, closing.steps, closing.n) == STATUS_OK)
                return true;
            call_release_reply(call);
            call_fail_db(call);
        } else {
            db_rollback(call->db);
        }
        if (attempt == MAX_TX_ATTEMPTS || !db_error_retryable(call->db)) {
            if (audit)
                audit_failure(m, call);
            return false;
        }
        log_msg(LOG_LEVEL_DEBUG, "request_id=%s retrying after %s (attempt %d)", call->request_id,
                db_error_sqlstate(call->db), attempt);
    }
}

/* Serves a read that may be a moment old on the standby, when there is one close behind: true
 * when that answered the call. Otherwise (no standby, another kind of method, a standby that
 * failed or a refusal, whose audit row the primary writes) the call is left to run on the
 * primary, call->db, as if the standby had not been tried. */
static bool read_on_standby(const struct rpc_method *m, ProtobufCMessage *input, struct call *call,
                            struct standby *standby)
{
    struct db *reader = (m->rule->flags & METHOD_STANDBY_OK) ? standby_for_read(standby) : NULL;
    if (!reader)
        return false;
    struct db *primary = call->db;
    call->db = reader;
    invoke_in_transaction(m, input, call, false);
    call->db = primary;
    if (call->code == STATUS_OK ||
        (call->code != STATUS_UNAVAILABLE && call->code != STATUS_PERMISSION_DENIED &&
         call->code != STATUS_INTERNAL))
        return true;
    if (call->code == STATUS_UNAVAILABLE)
        standby_failed(standby);
    call_release_reply(call);
    return false;
}

/* Decodes the envelope; on failure the call holds the status. */
static Clinic__V1__RpcRequest *decode_envelope(const struct rpc_server *server,
                                               const uint8_t *request, size_t len,
                                               struct call *call)
{
    char why[200];
    if (len > server->max_request_bytes) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED,
                  "the request is %zu bytes, over the limit of %zu bytes; send less per call", len,
                  server->max_request_bytes);
        return NULL;
    }
    if (len == 0) {
        call_fail(call, STATUS_INVALID_ARGUMENT,
                  "the request is empty; send a serialized clinic.v1.RpcRequest");
        return NULL;
    }
    if (!wire_check(&clinic__v1__rpc_request__descriptor, request, len, why, sizeof why)) {
        call_fail(call, STATUS_INVALID_ARGUMENT, "the request envelope is malformed: %s", why);
        return NULL;
    }
    Clinic__V1__RpcRequest *env = clinic__v1__rpc_request__unpack(NULL, len, request);
    if (!env)
        call_fail(call, STATUS_INVALID_ARGUMENT,
                  "the request is not a valid clinic.v1.RpcRequest message");
    return env;
}

/* Decodes the payload as the method's input type; on failure the call holds the status. */
static ProtobufCMessage *decode_payload(const struct rpc_method *m,
                                        const Clinic__V1__RpcRequest *env, struct call *call)
{
    char why[200];
    const ProtobufCMessageDescriptor *in = m->desc->input;
    if (!wire_check(in, env->payload.data, env->payload.len, why, sizeof why)) {
        call_fail(call, STATUS_INVALID_ARGUMENT, "the payload of %s is malformed: %s", m->name,
                  why);
        return NULL;
    }
    ProtobufCMessage *input = message_unpack(in, env->payload.len, env->payload.data);
    if (!input)
        call_fail(call, STATUS_INVALID_ARGUMENT, "the payload of %s is not a valid %s message",
                  m->name, in->name);
    return input;
}

static size_t pack_reply(const struct call *call, const char *request_id, uint8_t **reply)
{
    Clinic__V1__RpcResponse resp = CLINIC__V1__RPC_RESPONSE__INIT;
    Clinic__V1__RpcStatus status = CLINIC__V1__RPC_STATUS__INIT;
    Clinic__V1__FieldViolation fv[CALL_MAX_VIOLATIONS];
    Clinic__V1__FieldViolation *fvp[CALL_MAX_VIOLATIONS];
    status.code = call->code;
    status.message = (char *)(call->code == STATUS_OK ? "" : call->message);
    for (size_t i = 0; i < call->n_violations; i++) {
        clinic__v1__field_violation__init(&fv[i]);
        fv[i].field = (char *)call->violations[i].field;
        fv[i].description = (char *)call->violations[i].description;
        fvp[i] = &fv[i];
    }
    status.n_violations = call->n_violations;
    status.violations = fvp;
    resp.status = &status;
    resp.request_id = (char *)request_id;
    if (call->code == STATUS_OK)
        resp.payload = call->reply;
    size_t size = clinic__v1__rpc_response__get_packed_size(&resp);
    *reply = malloc(size ? size : 1);
    if (!*reply)
        return 0;
    return clinic__v1__rpc_response__pack(&resp, *reply);
}

size_t rpc_serve(const struct rpc_server *server, struct db *db, struct standby *standby,
                 int worker, const char *peer, const uint8_t *request, size_t request_len,
                 uint8_t **reply)
{
    int64_t started = now_us();
    char generated_id[32];
    struct call call = {.db = db,
                        .worker = worker,
                        .peer = peer,
                        .method = "-",
                        .served = &server->table,
                        .events_url = server->events_url ? server->events_url : ""};
    ProtobufCMessage *input = NULL;
    const struct rpc_method *m = NULL;

    new_request_id(generated_id, sizeof generated_id);
    call.request_id = generated_id;
    Clinic__V1__RpcRequest *env = decode_envelope(server, request, request_len, &call);
    if (!env)
        goto done;
    if (env->request_id[0] && log_safe(env->request_id, MAX_REQUEST_ID))
        call.request_id = env->request_id;
    m = rpc_table_find(&server->table, env->method);
    if (!m) {
        /* Quoted back only when made of the characters method names have: a sentence must not
         * carry a caller's escape sequences or line breaks to a terminal or a log. */
        bool quotable = log_safe(env->method, 100);
        call.method = quotable ? env->method : "?";
        if (quotable)
            call_fail(&call, STATUS_UNIMPLEMENTED,
                      "unknown method \"%s\"; `clinic methods` lists the methods this daemon "
                      "serves",
                      env->method);
        else
            call_fail(&call, STATUS_UNIMPLEMENTED,
                      "unknown method: its name has characters no method name has (they read "
                      "/clinic.v1.Service/Method); `clinic methods` lists the methods this "
                      "daemon serves");
        goto done;
    }
    call.method = m->name;
    call.auth_token = env->auth_token;
    call.idempotency_key = env->idempotency_key;
    call.payload = &env->payload;
    uint32_t budget_ms = env->deadline_ms ? env->deadline_ms : server->default_deadline_ms;
    call.deadline_us = started + (int64_t)budget_ms * 1000;
    input = decode_payload(m, env, &call);
    if (!input)
        goto done;
    if (!(m->rule->flags & METHOD_PUBLIC) && !call.auth_token[0]) {
        call_fail(&call, STATUS_UNAUTHENTICATED,
                  "%s needs a token; log in with `clinic login` (or send auth_token)", m->name);
        goto done;
    }
    if (m->rule->flags & METHOD_NO_TX)
        invoke(m, input, &call);
    else if (!read_on_standby(m, input, &call, standby) &&
             invoke_in_transaction(m, input, &call, true) && (m->rule->flags & METHOD_MUTATES) &&
             server->committed)
        server->committed(server->committed_arg); /* its events, if any, are there to number */

done:;
    /* echo the caller's id even when it was unfit for the log; otherwise the one we generated */
    size_t len =
        pack_reply(&call, env && env->request_id[0] ? env->request_id : generated_id, reply);
    log_call(call.request_id, call.method, call.code, (uint64_t)(now_us() - started), worker);
    call_release(&call);
    if (input)
        protobuf_c_message_free_unpacked(input, NULL);
    if (env)
        clinic__v1__rpc_request__free_unpacked(env, NULL);
    return len;
}

size_t rpc_refuse(const uint8_t *request, size_t request_len, int worker, int code,
                  const char *message, uint8_t **reply)
{
    char generated_id[32];
    struct call call = {.method = "-"};
    new_request_id(generated_id, sizeof generated_id);
    call.request_id = generated_id;
    /* The same checks as decode_envelope: a request id that is not UTF-8 must not go back in a
     * proto3 string. An envelope they refuse is answered with the generated id. */
    char why[200];
    Clinic__V1__RpcRequest *env = request_len && wire_check(&clinic__v1__rpc_request__descriptor,
                                                            request, request_len, why, sizeof why)
                                      ? clinic__v1__rpc_request__unpack(NULL, request_len, request)
                                      : NULL;
    if (env && env->request_id[0] && log_safe(env->request_id, MAX_REQUEST_ID))
        call.request_id = env->request_id;
    if (env && log_safe(env->method, 100))
        call.method = env->method;
    call_fail(&call, code, "%s", message);
    size_t len =
        pack_reply(&call, env && env->request_id[0] ? env->request_id : generated_id, reply);
    log_call(call.request_id, call.method, call.code, 0, worker);
    if (env)
        clinic__v1__rpc_request__free_unpacked(env, NULL);
    return len;
}
