/* authz.h: the check of one call against its method's row of the method table (common/methods.c),
 * which says whether it needs a token and, per role, the scope of what the caller may touch:
 * nothing, their own records, the records of clients in their care, or everything. The scope is
 * checked against the request's target field (an appointment, a note, a client, ...) before the
 * handler runs. */
#ifndef CLINICD_AUTHZ_H
#define CLINICD_AUTHZ_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "call.h"
#include "methods.h"

/* Checks the authenticated caller against rule for this request, inside the call's transaction.
 * A client whose request names client 0, or a therapist whose request names therapist 0, means
 * their own record: their id is written into input's target field first, so the handler acts on
 * what was checked (an account linked to no such record: FAILED_PRECONDITION). Any other scoped
 * call naming no target is INVALID_ARGUMENT with a violation of the target field. Names the target
 * in call->audit_target. False with the call failed PERMISSION_DENIED (or the
 * database's status); a target that does not exist is refused the same way as someone else's,
 * so ids cannot be probed. */
__attribute__((warn_unused_result)) bool
authz_check(struct call *call, const struct method_rule *rule, ProtobufCMessage *input);

#endif
