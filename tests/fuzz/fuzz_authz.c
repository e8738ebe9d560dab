/* fuzz_authz.c: libFuzzer target. Authorisation (daemon/authz.c) on its own: the target id read
 * from the request's field the rule names, and the check of a caller of each role against it,
 * with the target's parties (client, therapist, "in care") answered by the stand-in database.
 *
 * Input: a call (fuzz_daemon.h); the flags' role bits are the caller's role as they are (0 and
 * 5..7 are roles no token carries: nothing but public methods may pass). The payload is decoded
 * as rpc.c decodes it; inputs it would refuse are skipped.
 * Checks, against the table (method_rule_for) and an independent reading of the target field:
 * the verdict and the call's status agree; public methods pass; scope none refuses and scope all
 * passes; a scoped pass names a target, and a user, a client's own record or a therapist's own
 * record is the caller's; the audit target names the kind and the id. A target of 0 becomes the
 * caller's own only for a client naming no client or a therapist naming no therapist (authz.h),
 * and no other id in the request is ever rewritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "db.h"
#include "fuzz_check.h"
#include "fuzz_daemon.h"
#include "fuzz_db.h"
#include "message_unpack.h"
#include "status.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct db *db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_daemon_server();
    if (!(db = db_new("stand-in")))
        abort();
    return 0;
}

/* The request's int64 field `name`, read here without authz.c; 0 when it has none. */
static int64_t field_id(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; name && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (strcmp(f->name, name) == 0 && f->type == PROTOBUF_C_TYPE_INT64 &&
            f->label != PROTOBUF_C_LABEL_REPEATED)
            return *(const int64_t *)((const char *)m + f->offset);
    }
    return 0;
}

static void check_verdict(const struct rpc_method *m, const struct call *call, bool allowed,
                          int64_t id)
{
    const struct method_rule *rule = m->rule;
    enum caller_role role = call->caller.role;
    enum method_scope scope = (unsigned)role < ROLE_COUNT ? rule->scope[role] : SCOPE_NONE;
    if (allowed != (call->code == STATUS_OK))
        fuzz_fail("%s: authz_check says %s, the call's status is %s", m->name,
                  allowed ? "allowed" : "refused", status_code_name(call->code));
    if ((rule->flags & METHOD_PUBLIC) && !allowed)
        fuzz_fail("%s is public but was refused", m->name);
    if ((rule->flags & METHOD_PUBLIC))
        return;
    if (scope == SCOPE_NONE && allowed)
        fuzz_fail("%s allowed role %d, whose scope is none", m->name, (int)role);
    if (scope == SCOPE_ALL && !allowed)
        fuzz_fail("%s refused role %d, whose scope is all", m->name, (int)role);
    if (!allowed || scope == SCOPE_ALL)
        return;
    if (id == 0)
        fuzz_fail("%s allowed a scoped call that names no target", m->name);
    bool own_user = rule->target == TARGET_USER && id != FUZZ_USER_ID;
    bool own_client = rule->target == TARGET_CLIENT && role == ROLE_CLIENT && id != FUZZ_CLIENT_ID;
    bool own_therapist = rule->target == TARGET_THERAPIST && id != FUZZ_THERAPIST_ID;
    if (own_user || own_client || own_therapist)
        fuzz_fail("%s allowed role %d on %s %lld, which is not theirs", m->name, (int)role,
                  method_target_name(rule->target), (long long)id);
}

/* "Me" by default: named is the target id the request carried, id what authz left there. */
static void check_default(const struct rpc_method *m, const struct call *call, int64_t named,
                          int64_t id)
{
    const struct method_rule *rule = m->rule;
    enum caller_role role = call->caller.role;
    if (named != 0 || id == 0) {
        if (id != named)
            fuzz_fail("%s: authz rewrote the target %lld as %lld", m->name, (long long)named,
                      (long long)id);
        return;
    }
    bool own_client = role == ROLE_CLIENT && rule->target == TARGET_CLIENT && id == FUZZ_CLIENT_ID;
    bool own_therapist =
        role == ROLE_THERAPIST && rule->target == TARGET_THERAPIST && id == FUZZ_THERAPIST_ID;
    if (!own_client && !own_therapist)
        fuzz_fail("%s: authz filled target 0 with %s %lld for role %d", m->name,
                  method_target_name(rule->target), (long long)id, (int)role);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_call in;
    char why[200];
    if (!fuzz_call_split(data, size, &in))
        return 0;
    const struct rpc_method *m = in.method;
    const ProtobufCMessageDescriptor *type = m->desc->input;
    if (!wire_check(type, in.payload, in.payload_len, why, sizeof why))
        return 0;
    ProtobufCMessage *request = message_unpack(type, in.payload_len, in.payload);
    if (!request)
        return 0;
    fuzz_db_start(in.script, in.script_len);
    struct call call = {.db = db, .method = m->name, .request_id = "fuzz"};
    call.caller = (struct caller){.user_id = FUZZ_USER_ID,
                                  .role = (enum caller_role)(in.flags & FUZZ_CALL_ROLE_MASK),
                                  .therapist_id = FUZZ_THERAPIST_ID,
                                  .client_id = FUZZ_CLIENT_ID};
    int64_t named = m->rule->target != TARGET_NONE ? field_id(request, m->rule->field) : 0;
    bool allowed = authz_check(&call, m->rule, request);
    int64_t id = m->rule->target != TARGET_NONE ? field_id(request, m->rule->field) : 0;
    check_verdict(m, &call, allowed, id);
    check_default(m, &call, named, id);
    char expected[96] = "";
    if (id != 0)
        snprintf(expected, sizeof expected, "%s:%lld", method_target_name(m->rule->target),
                 (long long)id);
    if (strcmp(call.audit_target, expected) != 0)
        fuzz_fail("%s: the audit target is \"%s\", not \"%s\"", m->name, call.audit_target,
                  expected);
    call_release(&call);
    protobuf_c_message_free_unpacked(request, NULL);
    return 0;
}
