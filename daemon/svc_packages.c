/* svc_packages.c: clinic.v1.Packages: prepaid series of sessions sold to a client, each with its
 * history of draws (sql/functions/89_billing.sql: a completed session, and a late cancellation
 * or no-show when the location says so, draws in its own transaction). Selling issues the
 * sale's receipt. Row-level security on packages shows the desk and admins every package and a
 * client their own, so one ListPackages and one GetPackage serve both. */
#include <stdio.h>

#include "billing.h"
#include "call.h"
#include "check.h"
#include "clinic/v1/billing.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

#define PACKAGE_COLUMNS                                                                            \
    "id, client_id, client_name, service_id, service_name, location_id, sessions, used,"           \
    " remaining, price_cents, currency, sold_at, expires_on, state, receipt_number"

static const struct db_stmt sell_stmt = {
    "SELECT clinic_package_sell($1, $2, $3, $4, $5, $6, $7, $8)", 8};
static const struct db_stmt package_stmt = {
    "SELECT " PACKAGE_COLUMNS " FROM package_details WHERE id = $1", 1};
static const struct db_stmt draws_stmt = {
    "SELECT id, package_id, appointment_id, kind, number, returns_draw_id, reason, drawn_at,"
    " session_start FROM package_draw_details WHERE package_id = $1 ORDER BY id",
    1};
/* the next drawn from first: active ones by expiry, then the rest newest first */
static const struct db_stmt list_stmt = {
    "SELECT " PACKAGE_COLUMNS " FROM package_details"
    " WHERE ($1::bigint = 0 OR client_id = $1::bigint) AND ($2 OR state = 'active')"
    " ORDER BY state <> 'active', CASE WHEN state = 'active' THEN expires_on END, sold_instant "
    "DESC,"
    " id LIMIT 1000",
    2};

/* Answers with package id and its draws; NOT_FOUND when the caller cannot see it. */
static void reply_package(struct call *call, const char *id)
{
    struct db_result *r = NULL, *d = NULL;
    if (db_query(call->db, &package_stmt, (const char *[]){id}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) != 1) {
        call_fail(call, STATUS_NOT_FOUND, "package %s does not exist", id);
        goto done;
    }
    if (db_query(call->db, &draws_stmt, (const char *[]){id}, &d) != STATUS_OK) {
        call_fail_db(call);
        goto done;
    }
    ProtobufCMessage *out = rowmap_new(call, &clinic__v1__package__descriptor);
    if (!out) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        goto done;
    }
    if (rowmap_fill(call, out, r, 0) && rowmap_fill_list(call, out, "draws", d, db_rows(d)))
        call_reply(out, call);
done:
    db_result_free(r);
    if (d)
        db_result_free(d);
}

HANDLER(svc_packages_sell_package, Packages, SellPackageRequest, Package)
{
    check_id(call, "client_id", in->client_id);
    check_id(call, "service_id", in->service_id);
    check_id(call, "location_id", in->location_id);
    if (in->sessions < 1 || in->sessions > 100)
        call_violation(call, "sessions", "a package holds from 1 to 100 sessions");
    if (in->price_cents < 0 || in->price_cents > 100000000)
        call_violation(call, "price_cents", "must be from 0 to 100000000 cents (1000000.00)");
    if (in->valid_months < 1 || in->valid_months > 120)
        call_violation(call, "valid_months", "a package is valid from 1 to 120 months");
    billing_check_paid_by(call, in->paid_by);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->client_id),
                            param_i64(call, in->service_id),
                            param_i64(call, in->location_id),
                            param_u32(call, in->sessions),
                            param_i64(call, in->price_cents),
                            param_u32(call, in->valid_months),
                            in->paid_by,
                            call_caller_tag(call)};
    const char *id = rowmap_changed_id(call, &sell_stmt, params, NULL);
    if (id)
        reply_package(call, id);
}

HANDLER(svc_packages_get_package, Packages, GetPackageRequest, Package)
{
    call_set_target(call, "package:%lld", (long long)in->id);
    if (!check_id(call, "id", in->id))
        return;
    reply_package(call, param_i64(call, in->id));
}

HANDLER(svc_packages_list_packages, Packages, ListPackagesRequest, ListPackagesResponse)
{
    if (!check_optional_id(call, "client_id", in->client_id))
        return;
    struct db_result *r;
    const char *params[] = {param_i64(call, in->client_id), param_bool(in->include_closed)};
    if (db_query(call->db, &list_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    ProtobufCMessage *out = rowmap_new(call, &clinic__v1__list_packages_response__descriptor);
    if (out && rowmap_fill_list(call, out, "packages", r, db_rows(r)))
        call_reply(out, call);
    else if (!out)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    db_result_free(r);
}

static Clinic__V1__Packages_Service packages = CLINIC__V1__PACKAGES__INIT(svc_packages_);

const struct handler_set svc_packages_handlers = {&packages.base};
