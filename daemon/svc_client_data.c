/* svc_client_data.c: clinic.v1.ClientData: a client's data, exported as one JSON document for
 * their rights of access and portability (GDPR articles 15 and 20). PostgreSQL writes the
 * document (clinic_client_export, sql/functions/93_client_export.sql) under the caller's
 * row-level security; the method table makes each export an audited read (common/methods.c).
 * Nothing here logs the document. */
#include "call.h"
#include "check.h"
#include "clinic/v1/client_data.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

static const struct db_stmt export_stmt = {
    "SELECT c.id AS client_id, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " AS exported_at, clinic_client_export(c.id)::text AS document"
    " FROM clients c WHERE c.id = $1",
    1};

HANDLER(svc_client_data_export_client, ClientData, ExportClientRequest, ClientExport)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    if (!check_id(call, "client_id", in->client_id))
        return;
    rowmap_reply_one(call, &export_stmt, (const char *[]){param_i64(call, in->client_id)},
                     &clinic__v1__client_export__descriptor, "client %lld does not exist",
                     (long long)in->client_id);
}

static Clinic__V1__ClientData_Service client_data = CLINIC__V1__CLIENT_DATA__INIT(svc_client_data_);

const struct handler_set svc_client_data_handlers = {&client_data.base};
