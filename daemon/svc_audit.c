/* svc_audit.c: clinic.v1.Audit: reading the audit trail, newest first. Admins only (authz.c).
 * Reading it is not itself audited: it holds no clinical content. */
#include <stdint.h>
#include <string.h>

#include "call.h"
#include "clinic/v1/audit.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

/* Newest first: the page token carries the last id shown, the next page continues below it.
 * A method filter ending in "/" is a prefix ("/clinic.v1.Notes/"). */
static const struct db_stmt list_stmt = {
    "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at,"
    " coalesce(user_id, 0) AS user_id, coalesce(role, '') AS role, method,"
    " coalesce(target, '') AS target, outcome, coalesce(request_id, '') AS request_id,"
    " 'p' || id AS page_key FROM audit"
    " WHERE ($1::bigint = 0 OR id < $1) AND ($2::bigint = 0 OR user_id = $2)"
    " AND ($3::text = '' OR method = $3 OR (right($3, 1) = '/' AND starts_with(method, $3)))"
    " AND ($4::text = '' OR target = $4)"
    " AND ($5::text IS NULL OR at >= clinic_parse_instant($5, 'UTC', 'since'))"
    " AND ($6::text IS NULL OR at < clinic_parse_instant($6, 'UTC', 'until'))"
    " ORDER BY id DESC LIMIT $7",
    7};

HANDLER(svc_audit_list_audit, Audit, ListAuditRequest, ListAuditResponse)
{
    uint32_t size;
    int64_t before;
    check_optional_id(call, "user_id", in->user_id);
    check_text(call, "method", in->method, 0, 200);
    check_text(call, "target", in->target, 0, 200);
    check_instant(call, "since", in->since, true);
    check_instant(call, "until", in->until, true);
    if (!check_page(call, in->page_size, in->page_token, &size, &before) || call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, before),
                            param_i64(call, in->user_id),
                            in->method,
                            in->target,
                            param_text_or_null(in->since),
                            param_text_or_null(in->until),
                            param_u32(call, size + 1)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_audit_response__descriptor,
                      "entries", size);
}

static Clinic__V1__Audit_Service audit_service = CLINIC__V1__AUDIT__INIT(svc_audit_);

const struct handler_set svc_audit_handlers = {&audit_service.base};
