/* svc_billing.c: clinic.v1.Billing: what clients owe (charges written by the appointment's own
 * transaction: a session no package paid, the fee of a late cancellation or no-show), their
 * payment, and the receipts, which never change once issued (sql/functions/89_billing.sql).
 * A receipt is named as the law numbers it: its location and its number there. Row-level
 * security shows the desk and admins everything, a client their own, a therapist the receipts
 * of their own sessions: a receipt one may not see does not exist. */
#include <stdio.h>
#include <string.h>

#include "billing.h"
#include "call.h"
#include "check.h"
#include "clinic/v1/billing.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

#define CHARGE_COLUMNS                                                                             \
    "id, appointment_id, client_id, client_name, location_id, therapist_id, therapist_name,"       \
    " service_id, service_name, kind, amount_cents, currency, status, created_at, session_start,"  \
    " receipt_number, cancel_reason"
#define RECEIPT_COLUMNS                                                                            \
    "id, location_id, number, kind, issued_at, location_name, location_address, currency,"         \
    " client_id, client_name, therapist_id, therapist_name, service_id, service_name,"             \
    " appointment_id, session_start, charge_id, package_id, package_draw, package_sessions,"       \
    " description, price_cents, gross_cents, tax_rate_bp, net_cents, tax_cents, paid_by,"          \
    " corrects_number, corrected_by_number, reason"

static const struct db_stmt list_charges_stmt = {
    "SELECT " CHARGE_COLUMNS " FROM charge_details"
    " WHERE ($1::bigint = 0 OR client_id = $1::bigint) AND ($2 OR status = 'open')"
    " AND ($3::bigint = 0 OR location_id = $3::bigint) ORDER BY id DESC LIMIT 1000",
    3};
/* charges the caller cannot see do not exist: the lookup goes through the policy first */
static const struct db_stmt pay_stmt = {
    "SELECT clinic_charge_pay(id, $2, $3) FROM charges WHERE id = $1", 3};
static const struct db_stmt receipt_by_id_stmt = {
    "SELECT " RECEIPT_COLUMNS " FROM receipt_details WHERE id = $1", 1};
/* by number: at most two rows, to tell "which location?" from the one meant */
static const struct db_stmt receipt_by_number_stmt = {
    "SELECT " RECEIPT_COLUMNS " FROM receipt_details"
    " WHERE number = $2 AND ($1::bigint = 0 OR location_id = $1::bigint) ORDER BY location_id"
    " LIMIT 2",
    2};
static const struct db_stmt list_receipts_stmt = {
    "SELECT " RECEIPT_COLUMNS " FROM receipt_details"
    " WHERE ($1::bigint = 0 OR client_id = $1::bigint)"
    " AND ($2::bigint = 0 OR location_id = $2::bigint) ORDER BY issued_instant DESC, id DESC"
    " LIMIT 1000",
    2};
static const struct db_stmt void_stmt = {"SELECT clinic_receipt_void($1, $2, $3)", 3};

bool billing_check_paid_by(struct call *call, const char *paid_by)
{
    static const char *const methods[] = {"cash", "card", "transfer", "voucher"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(paid_by, methods[i]) == 0)
            return true;
    call_violation(call, "paid_by", "say how it was paid: cash, card, transfer or voucher");
    return false;
}

HANDLER(svc_billing_list_charges, Billing, ListChargesRequest, ListChargesResponse)
{
    check_optional_id(call, "client_id", in->client_id);
    check_optional_id(call, "location_id", in->location_id);
    if (call->code != STATUS_OK)
        return;
    struct db_result *r;
    const char *params[] = {param_i64(call, in->client_id), param_bool(in->include_closed),
                            param_i64(call, in->location_id)};
    if (db_query(call->db, &list_charges_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    ProtobufCMessage *out = rowmap_new(call, &clinic__v1__list_charges_response__descriptor);
    if (out && rowmap_fill_list(call, out, "charges", r, db_rows(r)))
        call_reply(out, call);
    else if (!out)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    db_result_free(r);
}

/* Runs stmt, whose one value is a receipt's id (no row: NOT_FOUND "<what> <name> does not
 * exist"), and answers with that receipt. */
static void receipt_and_reply(struct call *call, const struct db_stmt *stmt,
                              const char *const *params, const char *what, const char *name)
{
    const char *id = rowmap_changed_id(call, stmt, params, "%s %s does not exist", what, name);
    if (!id)
        return;
    rowmap_reply_one(call, &receipt_by_id_stmt, (const char *[]){id},
                     &clinic__v1__receipt__descriptor, "receipt %s does not exist", id);
}

HANDLER(svc_billing_pay_charge, Billing, PayChargeRequest, Receipt)
{
    call_set_target(call, "charge:%lld", (long long)in->id);
    check_id(call, "id", in->id);
    billing_check_paid_by(call, in->paid_by);
    if (call->code != STATUS_OK)
        return;
    const char *id = param_i64(call, in->id);
    receipt_and_reply(call, &pay_stmt, (const char *[]){id, in->paid_by, call_caller_tag(call)},
                      "charge", id);
}

/* Finds receipt `number` at location (0: wherever it is unique) and writes its row into *out
 * (the caller frees it). False with the call failed when there is none the caller may see, or
 * when several locations have that number and none was named. */
static bool find_receipt(struct call *call, int64_t location, int64_t number,
                         struct db_result **out)
{
    check_optional_id(call, "location_id", location);
    check_id(call, "number", number);
    if (call->code != STATUS_OK)
        return false;
    const char *params[] = {param_i64(call, location), param_i64(call, number)};
    if (db_query(call->db, &receipt_by_number_stmt, params, out) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    int rows = db_rows(*out);
    if (rows == 1)
        return true;
    db_result_free(*out);
    *out = NULL;
    if (rows == 0)
        call_fail(call, STATUS_NOT_FOUND, "receipt %lld does not exist%s", (long long)number,
                  location ? " at that location" : "");
    else
        call_violation(call, "location_id",
                       "several locations have a receipt %lld; name the location",
                       (long long)number);
    return false;
}

HANDLER(svc_billing_get_receipt, Billing, GetReceiptRequest, Receipt)
{
    struct db_result *r;
    call_set_target(call, "receipt:%lld", (long long)in->number);
    if (!find_receipt(call, in->location_id, in->number, &r))
        return;
    rowmap_reply_row(call, r, 0, &clinic__v1__receipt__descriptor);
    db_result_free(r);
}

HANDLER(svc_billing_list_receipts, Billing, ListReceiptsRequest, ListReceiptsResponse)
{
    check_optional_id(call, "client_id", in->client_id);
    check_optional_id(call, "location_id", in->location_id);
    if (call->code != STATUS_OK)
        return;
    struct db_result *r;
    const char *params[] = {param_i64(call, in->client_id), param_i64(call, in->location_id)};
    if (db_query(call->db, &list_receipts_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    ProtobufCMessage *out = rowmap_new(call, &clinic__v1__list_receipts_response__descriptor);
    if (out && rowmap_fill_list(call, out, "receipts", r, db_rows(r)))
        call_reply(out, call);
    else if (!out)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    db_result_free(r);
}

HANDLER(svc_billing_void_receipt, Billing, VoidReceiptRequest, Receipt)
{
    struct db_result *r;
    call_set_target(call, "receipt:%lld", (long long)in->number);
    check_text(call, "reason", in->reason, 1, 500);
    if (!find_receipt(call, in->location_id, in->number, &r))
        return;
    const char *id = call_strdup(call, db_value(r, 0, 0));
    db_result_free(r);
    if (!id) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    receipt_and_reply(call, &void_stmt, (const char *[]){id, in->reason, call_caller_tag(call)},
                      "receipt", id);
}

static Clinic__V1__Billing_Service billing = CLINIC__V1__BILLING__INIT(svc_billing_);

const struct handler_set svc_billing_handlers = {&billing.base};
