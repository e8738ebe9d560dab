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

/* The row's values, in the call's arena; NULL when out of memory. */
static const char **row_params(struct call *call)
{
    const char **params = call_alloc(call, 6 * sizeof *params);
    if (!params)
        return NULL;
    params[0] = param_i64(call, call->caller.user_id);
    params[1] = caller_role_name(call->caller.role);
    params[2] = call->method;
    params[3] = call->audit_target;
    params[4] = status_code_name(call->code);
    params[5] = call->request_id;
    return params[0] ? params : NULL;
}

bool audit_record(struct call *call)
{
    const char **params = row_params(call);
    return params && db_query(call->db, &insert_stmt, params, NULL) == STATUS_OK;
}

bool audit_step(struct call *call, struct db_step *step)
{
    const char **params = row_params(call);
    if (!params) {
        call_release_reply(call);
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    *step = (struct db_step){&insert_stmt, params, NULL};
    return true;
}
