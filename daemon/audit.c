/* audit.c: one INSERT into audit (sql/0006), the only statement the daemon's role may run on it
 * besides SELECT. */
#include "audit.h"

#include "db.h"
#include "status.h"
#include "validate.h"

static const struct db_stmt insert_stmt = {
    "INSERT INTO audit (user_id, role, method, target, outcome, request_id)"
    " VALUES (nullif($1, '0')::bigint, nullif($2, ''), $3, nullif($4, ''), $5, $6)",
    6};

bool audit_record(struct call *call)
{
    const char *params[] = {
        param_i64(call, call->caller.user_id), caller_role_name(call->caller.role), call->method,
        call->audit_target,                    status_code_name(call->code),        call->request_id,
    };
    return params[0] && db_query(call->db, &insert_stmt, params, NULL) == STATUS_OK;
}
