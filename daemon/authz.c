/* authz.c: the check of one call against its method's row of the method table. What the scopes
 * mean is said once, at the table (common/methods.c). */
#include "authz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "status.h"
#include "param.h"

/* --- the check --- */

/* Who a target concerns: its client and its therapist (0 when none), and whether the calling
 * therapist treats that client. */
struct parties {
    int64_t client_id;
    int64_t therapist_id;
    bool caller_treats_client;
};

#define TREATS                                                                                     \
    "EXISTS (SELECT 1 FROM appointments b WHERE b.client_id = x.client_id"                         \
    " AND b.therapist_id = $2 AND b.status <> 'cancelled')"

static const struct db_stmt appointment_parties = {
    "SELECT x.client_id, x.therapist_id, " TREATS " FROM appointments x WHERE x.id = $1", 2};
static const struct db_stmt note_parties = {
    "SELECT x.client_id, x.therapist_id, " TREATS
    " FROM clinic_note_parties($1) x WHERE x.client_id IS NOT NULL",
    2};
static const struct db_stmt course_parties = {
    "SELECT x.client_id, x.therapist_id, " TREATS " FROM courses x WHERE x.id = $1", 2};
static const struct db_stmt client_parties = {
    "SELECT x.client_id, 0, " TREATS " FROM (SELECT id AS client_id FROM clients WHERE id = $1) x",
    2};

/* The int64 value of the request's field `name`; 0 when absent. */
static int64_t target_id(const ProtobufCMessage *input, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(input->descriptor, name);
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_INT64)
        return 0;
    return *(const int64_t *)((const char *)input + f->offset);
}

/* Reads the parties of the target; false with *found false when it does not exist. */
static bool read_parties(struct call *call, enum method_target target, int64_t id,
                         struct parties *p, bool *found)
{
    const struct db_stmt *stmt = target == TARGET_APPOINTMENT ? &appointment_parties
                                 : target == TARGET_NOTE      ? &note_parties
                                 : target == TARGET_COURSE    ? &course_parties
                                                              : &client_parties;
    const char *params[] = {param_i64(call, id), param_i64(call, call->caller.therapist_id)};
    struct db_result *r;
    if (!params[0] || !params[1] || db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    *found = db_rows(r) == 1;
    if (*found) {
        p->client_id = strtoll(db_value(r, 0, 0), NULL, 10);
        p->therapist_id = strtoll(db_value(r, 0, 1), NULL, 10);
        p->caller_treats_client = strcmp(db_value(r, 0, 2), "t") == 0;
    }
    db_result_free(r);
    return true;
}

/* Does the caller's scope cover a target with these parties? */
static bool covers(const struct caller *c, enum method_scope scope, const struct parties *p)
{
    switch (c->role) {
    case ROLE_CLIENT:
        return p->client_id != 0 && p->client_id == c->client_id;
    case ROLE_THERAPIST:
        return (p->therapist_id != 0 && p->therapist_id == c->therapist_id) ||
               (scope == SCOPE_CARE && p->caller_treats_client);
    default:
        return false;
    }
}

static bool deny(struct call *call, const struct method_rule *rule, const char *why)
{
    call_fail(call, STATUS_PERMISSION_DENIED, "as %s you may not call %s%s%s",
              call->caller.role == ROLE_FRONT_DESK  ? "front desk"
              : call->caller.role == ROLE_ADMIN     ? "an admin"
              : call->caller.role == ROLE_THERAPIST ? "a therapist"
                                                    : "a client",
              rule->method, why[0] ? " " : "", why);
    return false;
}

/* Checks a scoped (own/care) call against the target the request names. */
static bool check_target(struct call *call, const struct method_rule *rule, enum method_scope scope,
                         int64_t id)
{
    const struct caller *c = &call->caller;
    char why[160];
    snprintf(why, sizeof why, "for %s %lld: it is not %s", method_target_name(rule->target),
             (long long)id, scope == SCOPE_CARE ? "yours or a client in your care" : "yours");
    /* Naming no one, with no record of that kind of one's own to stand for (a therapist asking
     * for a client's notes): the field is missing, as it is for staff, and said so. */
    if (id == 0)
        return check_id(call, rule->field, id);
    struct parties p = {0};
    bool found = true;
    switch (rule->target) {
    case TARGET_USER:
        return id == c->user_id ? true : deny(call, rule, why);
    case TARGET_THERAPIST:
        p.therapist_id = id;
        break;
    case TARGET_CLIENT:
        if (c->role == ROLE_CLIENT || scope == SCOPE_OWN)
            p.client_id = id;
        else if (!read_parties(call, rule->target, id, &p, &found))
            return false;
        break;
    case TARGET_APPOINTMENT:
    case TARGET_NOTE:
    case TARGET_COURSE:
        if (!read_parties(call, rule->target, id, &p, &found))
            return false;
        break;
    case TARGET_NONE:
        return deny(call, rule, "");
    }
    return found && covers(c, scope, &p) ? true : deny(call, rule, why);
}

/* The request's own field `name` as a writable int64; NULL when it has none. */
static int64_t *target_slot(ProtobufCMessage *input, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(input->descriptor, name);
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_INT64)
        return NULL;
    return (int64_t *)((char *)input + f->offset);
}

/* "Me" by default: a client who names no client, or a therapist who names no therapist, means
 * their own record. The id is written into the request itself, so that the check below and the
 * handler see the same target. False with the call failed FAILED_PRECONDITION when the account
 * is linked to no such record. Other roles keep the 0 (the handler's "is required"). */
static bool default_to_caller(struct call *call, const struct method_rule *rule,
                              ProtobufCMessage *input)
{
    const struct caller *c = &call->caller;
    int64_t own;
    if (c->role == ROLE_CLIENT && rule->target == TARGET_CLIENT)
        own = c->client_id;
    else if (c->role == ROLE_THERAPIST && rule->target == TARGET_THERAPIST)
        own = c->therapist_id;
    else
        return true;
    int64_t *slot = target_slot(input, rule->field);
    if (!slot || *slot != 0)
        return true;
    if (own == 0) {
        call_fail(call, STATUS_FAILED_PRECONDITION, "%s",
                  c->role == ROLE_CLIENT ? "your account is not linked to a client record; ask "
                                           "the front desk to link it"
                                         : "your account is not linked to a therapist record; "
                                           "ask an admin to link it");
        return false;
    }
    *slot = own;
    return true;
}

bool authz_check(struct call *call, const struct method_rule *rule, ProtobufCMessage *input)
{
    enum caller_role role = call->caller.role;
    enum method_scope scope = (unsigned)role < ROLE_COUNT ? rule->scope[role] : SCOPE_NONE;
    bool scoped = !(rule->flags & METHOD_PUBLIC) && (scope == SCOPE_OWN || scope == SCOPE_CARE);
    if (scoped && !default_to_caller(call, rule, input))
        return false;
    int64_t id = rule->target != TARGET_NONE ? target_id(input, rule->field) : 0;
    if (id != 0)
        call_set_target(call, "%s:%lld", method_target_name(rule->target), (long long)id);
    if (rule->flags & METHOD_PUBLIC)
        return true;
    switch (scope) {
    case SCOPE_ALL:
        return true;
    case SCOPE_NONE:
        return deny(call, rule, "");
    case SCOPE_OWN:
    case SCOPE_CARE:
        return check_target(call, rule, scope, id);
    }
    return deny(call, rule, "");
}
