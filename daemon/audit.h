/* audit.h: the audit trail's writer. One row per mutating call and per read of clinical data:
 * who (user and role), the method, the target, the outcome and the request id. A call that
 * succeeds writes it in its own transaction, so the row commits exactly when the work does; a
 * call that fails after its caller was known writes it alone, after the rollback. */
#ifndef CLINICD_AUDIT_H
#define CLINICD_AUDIT_H

#include <stdbool.h>

#include "call.h"
#include "db.h"

/* Appends the call's row with its current outcome, in whatever transaction is open (or on its
 * own). False when the database refused; the call's own outcome is left alone. */
__attribute__((warn_unused_result)) bool audit_record(struct call *call);

/* The same row as a statement for the call's last round trip (db_commit_with); false (the call
 * failed) when out of memory. */
__attribute__((warn_unused_result)) bool audit_step(struct call *call, struct db_step *step);

#endif
