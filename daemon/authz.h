/* authz.h: who may call what. One table (authz.c) says, for every method the daemon serves,
 * whether it needs a token, and per role the scope of what the caller may touch: nothing, their
 * own records, the records of clients in their care, or everything. The scope is checked against
 * the request's target field (an appointment, a note, a client, ...) before the handler runs. */
#ifndef CLINICD_AUTHZ_H
#define CLINICD_AUTHZ_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "call.h"

enum authz_scope {
    SCOPE_NONE = 0, /* not allowed */
    SCOPE_OWN,      /* the caller's own records: their client, their therapist, their notes */
    SCOPE_CARE,     /* therapists: also the records of clients they treat */
    SCOPE_ALL,      /* everything */
};

enum authz_target {
    TARGET_NONE = 0,    /* the method names no single record (lists, searches, one's own session) */
    TARGET_CLIENT,      /* the field is a client id */
    TARGET_THERAPIST,   /* a therapist id */
    TARGET_APPOINTMENT, /* an appointment id */
    TARGET_NOTE,        /* a treatment note id */
    TARGET_USER,        /* a user id */
};

struct authz_rule {
    const char *method; /* "/clinic.v1.Notes/GetNote" */
    bool public;        /* needs no token */
    enum authz_target target;
    const char *field; /* the request's int64 field holding the target's id */
    enum authz_scope scope[ROLE_COUNT];
};

/* The rule for method, or NULL (a method without a rule is a start-up error, see rpc.c). */
const struct authz_rule *authz_rule_for(const char *method);

/* Every rule, for tests that walk the table. */
const struct authz_rule *authz_rules(size_t *n);

/* The scope's name ("own", ...) and the target kind's ("appointment", ...), for sentences. */
const char *authz_scope_name(enum authz_scope scope);
const char *authz_target_name(enum authz_target target);

/* Checks the authenticated caller against rule for this request, inside the call's transaction.
 * Names the target in call->audit_target. False with the call failed PERMISSION_DENIED (or the
 * database's status); a target that does not exist is refused the same way as someone else's,
 * so ids cannot be probed. */
__attribute__((warn_unused_result)) bool
authz_check(struct call *call, const struct authz_rule *rule, const ProtobufCMessage *input);

#endif
