/* svc_reports.c: clinic.v1.Reports: the front desk's and the owner's numbers over a period of a
 * location's local days. PostgreSQL computes each report in one statement
 * (sql/functions/92_reports.sql) that returns its rows and, last, a row of kind 'total'; every
 * handler here is the same three steps: check the period, name it, and split the rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "check.h"
#include "clinic/v1/reports.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

/* The longest period one report covers: ten years (the call's deadline bounds it too). */
#define REPORT_MAX_DAYS 3660

static const struct db_stmt period_stmt = {
    "SELECT id AS location_id, name AS location_name, time_zone, $2::text AS first_day,"
    " $3::text AS last_day, $3::date - $2::date AS span_days FROM locations WHERE id = $1",
    3};

#define REPORT_STMT(function)                                                                      \
    {                                                                                              \
        "SELECT * FROM " function "($1, $2::date, $3::date)", 3                                    \
    }
static const struct db_stmt utilisation_stmt = REPORT_STMT("clinic_report_utilisation");
static const struct db_stmt attendance_stmt = REPORT_STMT("clinic_report_attendance");
static const struct db_stmt clients_stmt = REPORT_STMT("clinic_report_clients");
static const struct db_stmt courses_stmt = REPORT_STMT("clinic_report_courses");
static const struct db_stmt revenue_stmt = REPORT_STMT("clinic_report_revenue");

/* Sets the message field `name` of msg (a pointer to a sub-message) to value. */
static void set_submessage(ProtobufCMessage *msg, const char *name, ProtobufCMessage *value)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
    *(ProtobufCMessage **)((char *)msg + f->offset) = value;
}

/* The report's ReportPeriod into out's `period`: NOT_FOUND for an unknown location, a violation
 * for a period backwards or too long. False when the call failed. */
static bool fill_period(struct call *call, ProtobufCMessage *out, const char *const *params)
{
    struct db_result *r;
    if (db_query(call->db, &period_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    bool ok = false;
    if (db_rows(r) != 1) {
        call_fail(call, STATUS_NOT_FOUND, "location %s does not exist", params[0]);
    } else {
        long days = strtol(db_value(r, 0, 5), NULL, 10);
        if (days < 0)
            call_violation(call, "last_day", "must not be before first_day (%s)", params[1]);
        else if (days >= REPORT_MAX_DAYS)
            call_violation(
                call, "last_day",
                "must be at most ten years after first_day; ask for several shorter periods");
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(out->descriptor, "period");
        ProtobufCMessage *period = call->code == STATUS_OK ? rowmap_new(call, f->descriptor) : NULL;
        if (period && rowmap_fill(call, period, r, 0)) {
            set_submessage(out, "period", period);
            ok = true;
        } else if (call->code == STATUS_OK && !period) {
            call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        }
    }
    db_result_free(r);
    return ok;
}

/* Every report: the request's period checked, the report's statement run, its rows but the last
 * in `rows` and the last (kind 'total') in `total`. */
static void reply_report(struct call *call, const Clinic__V1__ReportRequest *in,
                         const struct db_stmt *stmt, const ProtobufCMessageDescriptor *desc)
{
    call_set_target(call, "location:%lld", (long long)in->location_id);
    check_id(call, "location_id", in->location_id);
    check_day(call, "first_day", in->first_day, false);
    check_day(call, "last_day", in->last_day, false);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->location_id), in->first_day, in->last_day};
    ProtobufCMessage *out = rowmap_new(call, desc);
    if (!params[0] || !out) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    if (!fill_period(call, out, params))
        return;
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    int rows = db_rows(r);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(desc, "total");
    ProtobufCMessage *total = rows > 0 ? rowmap_new(call, f->descriptor) : NULL;
    bool ok = total && rowmap_fill_list(call, out, "rows", r, rows - 1) &&
              rowmap_fill(call, total, r, rows - 1);
    db_result_free(r);
    if (!ok) {
        if (call->code == STATUS_OK) /* no total row: the statement and this file disagree */
            call_fail_internal(call);
        return;
    }
    set_submessage(out, "total", total);
    call_reply(out, call);
}

HANDLER(svc_reports_utilisation, Reports, ReportRequest, UtilisationReport)
{
    reply_report(call, in, &utilisation_stmt, &clinic__v1__utilisation_report__descriptor);
}

HANDLER(svc_reports_attendance, Reports, ReportRequest, AttendanceReport)
{
    reply_report(call, in, &attendance_stmt, &clinic__v1__attendance_report__descriptor);
}

HANDLER(svc_reports_clients, Reports, ReportRequest, ClientsReport)
{
    reply_report(call, in, &clients_stmt, &clinic__v1__clients_report__descriptor);
}

HANDLER(svc_reports_courses, Reports, ReportRequest, CoursesReport)
{
    reply_report(call, in, &courses_stmt, &clinic__v1__courses_report__descriptor);
}

HANDLER(svc_reports_revenue, Reports, ReportRequest, RevenueReport)
{
    reply_report(call, in, &revenue_stmt, &clinic__v1__revenue_report__descriptor);
}

static Clinic__V1__Reports_Service reports = CLINIC__V1__REPORTS__INIT(svc_reports_);

const struct handler_set svc_reports_handlers = {&reports.base};
