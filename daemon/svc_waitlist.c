/* svc_waitlist.c: clinic.v1.Waitlist: clients waiting for a time that is taken, and their
 * answers to the offers the waitlist pass makes them (sql/functions/88_waitlist.sql; the janitor
 * runs the pass). Row-level security on waitlist_entries shows the front desk and admins the
 * whole list and a client their own entries, so one ListEntries serves both. */
#include <stdio.h>

#include "appointment_columns.h"
#include "call.h"
#include "check.h"
#include "clinic/v1/waitlist.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

#define ENTRY_COLUMNS                                                                              \
    "id, client_id, client_name, service_id, service_name, location_id, therapist_id,"             \
    " therapist_name, first_day, last_day, earliest, latest, status, created_at,"                  \
    " offered_appointment_id, held_until, offered_start, booked_appointment_id"

static const struct db_stmt add_stmt = {
    "SELECT clinic_waitlist_add($1, $2, $3, $4, coalesce($5::date, '-infinity'), $6::date,"
    " coalesce($7::time, '00:00'), coalesce($8::time, '24:00'), $9)",
    9};
static const struct db_stmt entry_stmt = {
    "SELECT " ENTRY_COLUMNS " FROM waitlist_details WHERE id = $1", 1};
static const struct db_stmt list_stmt = {
    "SELECT " ENTRY_COLUMNS " FROM waitlist_details"
    " WHERE ($1::bigint = 0 OR location_id = $1::bigint)"
    " AND ($2 OR status IN ('waiting', 'offered')) ORDER BY created_instant, id LIMIT 1000",
    2};
static const struct db_stmt remove_stmt = {
    /* a client's own only: row-level security hides others' entries, so they do not exist */
    "SELECT clinic_waitlist_remove(id) FROM waitlist_entries WHERE id = $1", 1};
static const struct db_stmt accept_stmt = {"SELECT clinic_waitlist_accept($1)", 1};
static const struct db_stmt decline_stmt = {"SELECT clinic_waitlist_decline($1)", 1};
static const struct db_stmt appointment_stmt = {
    "SELECT " APPOINTMENT_COLUMNS " FROM appointment_details WHERE id = $1", 1};

/* Runs stmt, whose one value is an id, and answers with the row of `read` for it. */
static void change_and_reply(struct call *call, const struct db_stmt *stmt,
                             const char *const *params, const struct db_stmt *read,
                             const ProtobufCMessageDescriptor *desc, const char *what)
{
    const char *id = rowmap_changed_id(call, stmt, params, "%s %s does not exist", what, params[0]);
    if (!id)
        return;
    rowmap_reply_one(call, read, (const char *[]){id}, desc, "%s %s does not exist", what, id);
}

HANDLER(svc_waitlist_add_entry, Waitlist, AddWaitlistEntryRequest, WaitlistEntry)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    check_id(call, "service_id", in->service_id);
    check_id(call, "location_id", in->location_id);
    check_optional_id(call, "therapist_id", in->therapist_id);
    check_day(call, "first_day", in->first_day, true);
    check_day(call, "last_day", in->last_day, false);
    if (*in->earliest)
        check_clock(call, "earliest", in->earliest);
    if (*in->latest)
        check_clock(call, "latest", in->latest);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->client_id),
                            param_i64(call, in->service_id),
                            param_i64(call, in->location_id),
                            param_id_or_null(call, in->therapist_id),
                            param_text_or_null(in->first_day),
                            in->last_day,
                            param_text_or_null(in->earliest),
                            param_text_or_null(in->latest),
                            call_caller_tag(call)};
    change_and_reply(call, &add_stmt, params, &entry_stmt, &clinic__v1__waitlist_entry__descriptor,
                     "client");
}

HANDLER(svc_waitlist_list_entries, Waitlist, ListWaitlistRequest, ListWaitlistResponse)
{
    if (!check_optional_id(call, "location_id", in->location_id))
        return;
    const char *params[] = {param_i64(call, in->location_id), param_bool(in->include_closed)};
    rowmap_reply_all(call, &list_stmt, params, &clinic__v1__list_waitlist_response__descriptor,
                     "entries");
}

HANDLER(svc_waitlist_remove_entry, Waitlist, WaitlistEntryRef, WaitlistEntry)
{
    call_set_target(call, "waitlist:%lld", (long long)in->id);
    if (!check_id(call, "id", in->id))
        return;
    change_and_reply(call, &remove_stmt, (const char *[]){param_i64(call, in->id)}, &entry_stmt,
                     &clinic__v1__waitlist_entry__descriptor, "waitlist entry");
}

static void answer_offer(struct call *call, const Clinic__V1__WaitlistOfferRef *in,
                         const struct db_stmt *stmt)
{
    call_set_target(call, "appointment:%lld", (long long)in->appointment_id);
    if (!check_id(call, "appointment_id", in->appointment_id))
        return;
    change_and_reply(call, stmt, (const char *[]){param_i64(call, in->appointment_id)},
                     &appointment_stmt, &clinic__v1__appointment__descriptor, "appointment");
}

HANDLER(svc_waitlist_accept_offer, Waitlist, WaitlistOfferRef, Appointment)
{
    answer_offer(call, in, &accept_stmt);
}

HANDLER(svc_waitlist_decline_offer, Waitlist, WaitlistOfferRef, Appointment)
{
    answer_offer(call, in, &decline_stmt);
}

static Clinic__V1__Waitlist_Service waitlist = CLINIC__V1__WAITLIST__INIT(svc_waitlist_);

const struct handler_set svc_waitlist_handlers = {&waitlist.base};
