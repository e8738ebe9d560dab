/* call.c: the outcome of one call: status, sentence, field violations, packed response. */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraints.h"
#include "db.h"
#include "log.h"
#include "status.h"

/* A sentence cut to fit its buffer must not end in half a UTF-8 character: clients in other
 * languages refuse invalid UTF-8 in a string field. */
static void trim_to_character(char *s, size_t size)
{
    size_t len = strlen(s);
    if (len + 1 < size)
        return;
    while (len > 0 && ((unsigned char)s[len - 1] & 0xC0) == 0x80)
        len--;
    if (len > 0 && ((unsigned char)s[len - 1] & 0xC0) == 0xC0)
        len--; /* the lead byte of the cut character */
    s[len] = '\0';
}

void call_fail(struct call *call, int code, const char *fmt, ...)
{
    if (call->code != STATUS_OK)
        return;
    call->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->message, sizeof call->message, fmt, ap);
    va_end(ap);
    trim_to_character(call->message, sizeof call->message);
}

/* Rewrites the message as "invalid start_time, end_time: see the field violations". */
static void summarise_violations(struct call *call)
{
    size_t used = (size_t)snprintf(call->message, sizeof call->message, "invalid ");
    for (size_t i = 0; i < call->n_violations && used < sizeof call->message; i++)
        used += (size_t)snprintf(call->message + used, sizeof call->message - used, "%s%s",
                                 i ? ", " : "", call->violations[i].field);
    if (used >= sizeof call->message)
        return;
    if (call->n_violations == 1)
        snprintf(call->message + used, sizeof call->message - used, ": %s",
                 call->violations[0].description);
    else
        snprintf(call->message + used, sizeof call->message - used, "; see the field violations");
}

void call_violation(struct call *call, const char *field, const char *fmt, ...)
{
    if (call->code != STATUS_OK && call->code != STATUS_INVALID_ARGUMENT)
        return;
    if (call->code == STATUS_INVALID_ARGUMENT && call->n_violations == 0)
        return; /* already failed with a whole-call sentence */
    call->code = STATUS_INVALID_ARGUMENT;
    if (call->n_violations == CALL_MAX_VIOLATIONS)
        return;
    struct call_violation *v = &call->violations[call->n_violations++];
    snprintf(v->field, sizeof v->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->description, sizeof v->description, fmt, ap);
    va_end(ap);
    trim_to_character(v->description, sizeof v->description);
    summarise_violations(call);
    trim_to_character(call->message, sizeof call->message);
}

void call_fail_internal(struct call *call)
{
    call_fail(call, STATUS_INTERNAL,
              "an internal error occurred; report request id %s to the administrator",
              call->request_id);
}

void call_fail_db(struct call *call)
{
    const char *state = db_error_sqlstate(call->db), *constraint = db_error_constraint(call->db);
    int code = db_status_for_sqlstate(state);
    struct constraint_refusal refusal;
    if (code == STATUS_INTERNAL) {
        log_msg(LOG_LEVEL_ERROR,
                "request_id=%s method=%s database error %s (constraint \"%s\"): %s",
                call->request_id, call->method, state, constraint, db_error_detail(call->db));
        call_fail_internal(call);
        return;
    }
    log_msg(LOG_LEVEL_DEBUG, "request_id=%s database said %s (constraint \"%s\"): %s",
            call->request_id, state, constraint, db_error_detail(call->db));
    if (constraint_refusal_for(state, constraint, call->request, &refusal)) {
        if (refusal.field[0])
            call_violation(call, refusal.field, "%s", refusal.sentence);
        else
            call_fail(call, refusal.code, "%s", refusal.sentence);
    } else if (code == STATUS_INVALID_ARGUMENT && db_error_column(call->db)[0]) {
        call_violation(call, db_error_column(call->db), "%s", db_error_public(call->db));
    } else {
        call_fail(call, code, "%s", db_error_public(call->db));
    }
}

/* A reply that is one record ("Client", "WorkingHours") with an int64 id names the call's audit
 * target when the request did not ("client:12", "working_hours:3"): what a create created. */
static void target_from_reply(struct call *call, const ProtobufCMessage *response)
{
    const ProtobufCMessageDescriptor *d = response->descriptor;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, "id");
    if (call->audit_target[0] || !f || f->type != PROTOBUF_C_TYPE_INT64 ||
        f->label == PROTOBUF_C_LABEL_REPEATED)
        return;
    int64_t id = *(const int64_t *)((const char *)response + f->offset);
    char kind[48];
    size_t n = 0;
    for (const char *c = d->short_name; *c && n + 2 < sizeof kind; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            if (n > 0)
                kind[n++] = '_';
            kind[n++] = (char)(*c - 'A' + 'a');
        } else {
            kind[n++] = *c;
        }
    }
    kind[n] = '\0';
    if (id != 0)
        call_set_target(call, "%s:%lld", kind, (long long)id);
}

void call_reply(const ProtobufCMessage *response, void *closure_data)
{
    struct call *call = closure_data;
    if (call->code != STATUS_OK || call->replied)
        return;
    target_from_reply(call, response);
    size_t size = protobuf_c_message_get_packed_size(response);
    call->reply.data = malloc(size ? size : 1);
    if (!call->reply.data) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    call->reply.len = protobuf_c_message_pack(response, call->reply.data);
    call->replied = true;
}

/* The arena: blocks chained from call->arena, each starting with the pointer to the previous. */
void *call_alloc(struct call *call, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!call->arena || call->arena_used + size > call->arena_size) {
        size_t block = size + 16 > 16384 ? size + 16 : 16384;
        char *b = malloc(block);
        if (!b)
            return NULL;
        *(void **)b = call->arena;
        call->arena = b;
        call->arena_size = block;
        call->arena_used = 16;
    }
    void *p = (char *)call->arena + call->arena_used;
    call->arena_used += size;
    memset(p, 0, size);
    return p;
}

char *call_strdup(struct call *call, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = call_alloc(call, n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

const char *call_caller_tag(struct call *call)
{
    char text[32];
    snprintf(text, sizeof text, "user:%lld", (long long)call->caller.user_id);
    return call_strdup(call, text);
}

static void free_arena(struct call *call)
{
    while (call->arena) {
        void *prev = *(void **)call->arena;
        free(call->arena);
        call->arena = prev;
    }
    call->arena_used = call->arena_size = 0;
}

void call_reset_outcome(struct call *call)
{
    call_release(call);
    call->code = STATUS_OK;
    call->message[0] = '\0';
    call->n_violations = 0;
}

void call_release_reply(struct call *call)
{
    free(call->reply.data);
    call->reply.data = NULL;
    call->reply.len = 0;
    call->replied = false;
}

void call_release(struct call *call)
{
    free_arena(call);
    call_release_reply(call);
}

void call_set_target(struct call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->audit_target, sizeof call->audit_target, fmt, ap);
    va_end(ap);
}

const char *caller_role_name(enum caller_role role)
{
    static const char *const names[ROLE_COUNT] = {[ROLE_NONE] = "",
                                                  [ROLE_ADMIN] = "admin",
                                                  [ROLE_FRONT_DESK] = "front_desk",
                                                  [ROLE_THERAPIST] = "therapist",
                                                  [ROLE_CLIENT] = "client"};
    return (unsigned)role < ROLE_COUNT ? names[role] : "";
}

enum caller_role caller_role_from_name(const char *name)
{
    for (int r = ROLE_ADMIN; r < ROLE_COUNT; r++)
        if (strcmp(name, caller_role_name((enum caller_role)r)) == 0)
            return (enum caller_role)r;
    return ROLE_NONE;
}
