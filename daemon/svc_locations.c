/* svc_locations.c: clinic.v1.Locations: locations, their booking rules and closures.
 *
 * A location's rules are serialised with the bookings they govern by the database itself: a
 * write to a location, its closures, rooms or working hours takes the location's rules lock
 * first (triggers, sql/functions/60_rules.sql), which every booking there takes shared before it
 * reads a rule. */
#include <string.h>

#include "call.h"
#include "clinic/v1/admin.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

#define LOCATION_COLUMNS                                                                           \
    "id, name, time_zone, min_notice_minutes, max_advance_days, slot_step_minutes,"                \
    " cancellation_window_hours, archived, check_in_opens_minutes, address, language,"             \
    " (extract(epoch FROM reminder_lead) / 60)::bigint AS reminder_lead_minutes, cancel_contact,"  \
    " waitlist_hold_minutes, currency, package_draw_late_cancel, package_draw_no_show,"            \
    " late_cancel_fee_cents, late_cancel_fee_percent, no_show_fee_cents, no_show_fee_percent"
#define CLOSURE_COLUMNS "id, location_id, first_day::text, last_day::text, reason"

static const struct db_stmt create_stmt = {
    "INSERT INTO locations (name, time_zone, min_notice_minutes, max_advance_days,"
    " slot_step_minutes, cancellation_window_hours, check_in_opens_minutes)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " LOCATION_COLUMNS,
    7};
static const struct db_stmt get_stmt = {"SELECT " LOCATION_COLUMNS " FROM locations WHERE id = $1",
                                        1};
static const struct db_stmt list_stmt = {
    "SELECT " LOCATION_COLUMNS ", 'p' || id AS page_key FROM locations"
    " WHERE id > $1 AND ($2 OR NOT archived) ORDER BY id LIMIT $3",
    3};
static const struct db_stmt update_stmt = {
    "UPDATE locations SET name = coalesce($2, name), time_zone = coalesce($3, time_zone),"
    " min_notice_minutes = coalesce($4::int, min_notice_minutes),"
    " max_advance_days = coalesce($5::int, max_advance_days),"
    " slot_step_minutes = coalesce($6::int, slot_step_minutes),"
    " cancellation_window_hours = coalesce($7::int, cancellation_window_hours),"
    " check_in_opens_minutes = coalesce($8::int, check_in_opens_minutes),"
    " address = coalesce($9, address), language = coalesce($10, language),"
    " reminder_lead = coalesce(make_interval(mins => $11::int), reminder_lead),"
    " cancel_contact = coalesce($12, cancel_contact),"
    " waitlist_hold_minutes = coalesce($13::int, waitlist_hold_minutes),"
    " currency = coalesce($14, currency),"
    " package_draw_late_cancel = coalesce($15::boolean, package_draw_late_cancel),"
    " package_draw_no_show = coalesce($16::boolean, package_draw_no_show),"
    " late_cancel_fee_cents = coalesce($17::bigint, late_cancel_fee_cents),"
    " late_cancel_fee_percent = coalesce($18::int, late_cancel_fee_percent),"
    " no_show_fee_cents = coalesce($19::bigint, no_show_fee_cents),"
    " no_show_fee_percent = coalesce($20::int, no_show_fee_percent)"
    " WHERE id = $1 RETURNING " LOCATION_COLUMNS,
    20};
static const struct db_stmt archive_stmt = {
    "UPDATE locations SET archived = true WHERE id = $1 RETURNING " LOCATION_COLUMNS, 1};
/* A closure may not strand booked appointments: the trigger on closures
 * (sql/functions/60_rules.sql) takes the location's rules lock, so bookings in flight there finish
 * first and later ones wait, then counts them and refuses (CLRUL, FAILED_PRECONDITION) with a
 * sentence naming the days. The check and the insert are one statement, so no booking can land on
 * the days between them. */
static const struct db_stmt add_closure_stmt = {
    "INSERT INTO closures (location_id, first_day, last_day, reason)"
    " VALUES ($1, $2::date, $3::date, $4) RETURNING " CLOSURE_COLUMNS,
    4};
static const struct db_stmt list_closures_stmt = {
    "SELECT " CLOSURE_COLUMNS " FROM closures WHERE location_id = $1 ORDER BY first_day, id", 1};
static const struct db_stmt delete_closure_stmt = {
    "DELETE FROM closures WHERE id = $1 RETURNING id", 1};

/* The booking rules, each within the range the schema allows. */
static void check_rules(struct call *call, uint32_t notice, uint32_t advance, uint32_t step,
                        uint32_t window, uint32_t check_in_opens)
{
    if (notice > 525600)
        call_violation(call, "min_notice_minutes", "must be at most 525600 (a year)");
    if (advance > 3660)
        call_violation(call, "max_advance_days", "must be from 1 to 3660");
    if (step > 1440)
        call_violation(call, "slot_step_minutes", "must be from 1 to 1440");
    if (window > 8760)
        call_violation(call, "cancellation_window_hours", "must be at most 8760 (a year)");
    if (check_in_opens > 1440)
        call_violation(call, "check_in_opens_minutes", "must be at most 1440 (a day)");
}

HANDLER(svc_locations_create_location, Locations, CreateLocationRequest, Location)
{
    uint32_t advance = in->max_advance_days ? in->max_advance_days : 90;
    uint32_t step = in->slot_step_minutes ? in->slot_step_minutes : 15;
    uint32_t opens = in->check_in_opens_minutes ? in->check_in_opens_minutes : 120;
    check_text(call, "name", in->name, 1, 200);
    check_rules(call, in->min_notice_minutes, advance, step, in->cancellation_window_hours, opens);
    if (call->code == STATUS_OK)
        check_time_zone(call, "time_zone", in->time_zone);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {in->name,
                            in->time_zone,
                            param_u32(call, in->min_notice_minutes),
                            param_u32(call, advance),
                            param_u32(call, step),
                            param_u32(call, in->cancellation_window_hours),
                            param_u32(call, opens)};
    rowmap_reply_inserted(call, &create_stmt, params, &clinic__v1__location__descriptor);
}

HANDLER(svc_locations_get_location, Locations, GetLocationRequest, Location)
{
    rowmap_reply_by_id(call, &get_stmt, in->id, &clinic__v1__location__descriptor, "location");
}

HANDLER(svc_locations_list_locations, Locations, ListLocationsRequest, ListLocationsResponse)
{
    uint32_t size;
    int64_t after;
    if (!check_page(call, in->page_size, in->page_token, &size, &after))
        return;
    const char *params[] = {param_i64(call, after), param_bool(in->include_archived),
                            param_u32(call, size + 1)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_locations_response__descriptor,
                      "locations", size);
}

/* A language tag as locations.language takes it (its CHECK, sql/0025_outbox.sql): two or three
 * lower-case letters, then "-" and 1 to 8 letters or digits, any number of times ("fr-CA"). */
static bool language_tag_ok(const char *s)
{
    size_t n = 0;
    while (s[n] >= 'a' && s[n] <= 'z')
        n++;
    if (n < 2 || n > 3 || strlen(s) > 35)
        return false;
    for (s += n; *s;) {
        size_t k = 0;
        if (*s++ != '-')
            return false;
        while ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
               (s[k] >= '0' && s[k] <= '9'))
            k++;
        if (k < 1 || k > 8)
            return false;
        s += k;
    }
    return true;
}

/* The money settings named in the mask: a currency code of three capital letters, fees from 0
 * to 1000000.00 or 0 to 100 percent, and a fee that is an amount or a percent, not both (the
 * table's CHECKs say the same; a fee given in one form clears the other only when the caller
 * masks both, as `clinic admin location update` does). */
static void check_money_settings(struct call *call, const Clinic__V1__UpdateLocationRequest *in,
                                 char *const *mask, size_t n)
{
    if (check_in_mask(mask, n, "currency")) {
        const char *c = in->currency;
        if (strlen(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' ||
            c[2] > 'Z')
            call_violation(call, "currency", "must be an ISO 4217 code such as EUR, CHF or GBP");
    }
    static const struct {
        const char *cents, *percent;
    } fees[2] = {{"late_cancel_fee_cents", "late_cancel_fee_percent"},
                 {"no_show_fee_cents", "no_show_fee_percent"}};
    int64_t cents[2] = {in->late_cancel_fee_cents, in->no_show_fee_cents};
    uint32_t percent[2] = {in->late_cancel_fee_percent, in->no_show_fee_percent};
    for (int i = 0; i < 2; i++) {
        bool has_cents = check_in_mask(mask, n, fees[i].cents);
        bool has_percent = check_in_mask(mask, n, fees[i].percent);
        if (has_cents && (cents[i] < 0 || cents[i] > 100000000))
            call_violation(call, fees[i].cents, "must be from 0 to 100000000 cents (1000000.00)");
        if (has_percent && percent[i] > 100)
            call_violation(call, fees[i].percent, "must be from 0 to 100 percent");
        if (has_cents && has_percent && cents[i] > 0 && percent[i] > 0)
            call_violation(call, fees[i].percent,
                           "a fee is an amount or a percent of the price, not both");
    }
}

HANDLER(svc_locations_update_location, Locations, UpdateLocationRequest, Location)
{
    static const char *const fields[] = {"name",
                                         "time_zone",
                                         "min_notice_minutes",
                                         "max_advance_days",
                                         "slot_step_minutes",
                                         "cancellation_window_hours",
                                         "check_in_opens_minutes",
                                         "address",
                                         "language",
                                         "reminder_lead_minutes",
                                         "cancel_contact",
                                         "waitlist_hold_minutes",
                                         "currency",
                                         "package_draw_late_cancel",
                                         "package_draw_no_show",
                                         "late_cancel_fee_cents",
                                         "late_cancel_fee_percent",
                                         "no_show_fee_cents",
                                         "no_show_fee_percent",
                                         NULL};
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    check_id(call, "id", in->id);
    if (!check_update_mask(call, mask, n, fields))
        return;
    if (check_in_mask(mask, n, "name"))
        check_text(call, "name", in->name, 1, 200);
    check_rules(call, in->min_notice_minutes,
                check_in_mask(mask, n, "max_advance_days") ? in->max_advance_days : 1,
                check_in_mask(mask, n, "slot_step_minutes") ? in->slot_step_minutes : 1,
                in->cancellation_window_hours, in->check_in_opens_minutes);
    if (check_in_mask(mask, n, "max_advance_days") && in->max_advance_days == 0)
        call_violation(call, "max_advance_days", "must be from 1 to 3660");
    if (check_in_mask(mask, n, "slot_step_minutes") && in->slot_step_minutes == 0)
        call_violation(call, "slot_step_minutes", "must be from 1 to 1440");
    if (check_in_mask(mask, n, "address"))
        check_text(call, "address", in->address, 0, 500);
    if (check_in_mask(mask, n, "cancel_contact"))
        check_text(call, "cancel_contact", in->cancel_contact, 0, 300);
    if (check_in_mask(mask, n, "language") && !language_tag_ok(in->language))
        call_violation(call, "language", "must be a language tag such as en, fr or de");
    if (check_in_mask(mask, n, "reminder_lead_minutes") && in->reminder_lead_minutes > 43200)
        call_violation(call, "reminder_lead_minutes", "must be from 0 to 43200 (30 days)");
    if (check_in_mask(mask, n, "waitlist_hold_minutes") &&
        (in->waitlist_hold_minutes < 5 || in->waitlist_hold_minutes > 2880))
        call_violation(call, "waitlist_hold_minutes", "must be from 5 to 2880 (two days)");
    check_money_settings(call, in, mask, n);
    if (call->code == STATUS_OK && check_in_mask(mask, n, "time_zone"))
        check_time_zone(call, "time_zone", in->time_zone);
    if (call->code != STATUS_OK)
        return;
#define IF_MASKED(field, value) (check_in_mask(mask, n, field) ? (value) : NULL)
    const char *params[] = {
        param_i64(call, in->id),
        IF_MASKED("name", in->name),
        IF_MASKED("time_zone", in->time_zone),
        IF_MASKED("min_notice_minutes", param_u32(call, in->min_notice_minutes)),
        IF_MASKED("max_advance_days", param_u32(call, in->max_advance_days)),
        IF_MASKED("slot_step_minutes", param_u32(call, in->slot_step_minutes)),
        IF_MASKED("cancellation_window_hours", param_u32(call, in->cancellation_window_hours)),
        IF_MASKED("check_in_opens_minutes", param_u32(call, in->check_in_opens_minutes)),
        IF_MASKED("address", in->address),
        IF_MASKED("language", in->language),
        IF_MASKED("reminder_lead_minutes", param_u32(call, in->reminder_lead_minutes)),
        IF_MASKED("cancel_contact", in->cancel_contact),
        IF_MASKED("waitlist_hold_minutes", param_u32(call, in->waitlist_hold_minutes)),
        IF_MASKED("currency", in->currency),
        IF_MASKED("package_draw_late_cancel", param_bool(in->package_draw_late_cancel)),
        IF_MASKED("package_draw_no_show", param_bool(in->package_draw_no_show)),
        IF_MASKED("late_cancel_fee_cents", param_i64(call, in->late_cancel_fee_cents)),
        IF_MASKED("late_cancel_fee_percent", param_u32(call, in->late_cancel_fee_percent)),
        IF_MASKED("no_show_fee_cents", param_i64(call, in->no_show_fee_cents)),
        IF_MASKED("no_show_fee_percent", param_u32(call, in->no_show_fee_percent)),
    };
#undef IF_MASKED
    rowmap_reply_one(call, &update_stmt, params, &clinic__v1__location__descriptor,
                     "location %lld does not exist", (long long)in->id);
}

HANDLER(svc_locations_archive_location, Locations, ArchiveLocationRequest, Location)
{
    rowmap_reply_by_id(call, &archive_stmt, in->id, &clinic__v1__location__descriptor, "location");
}

HANDLER(svc_locations_add_closure, Locations, AddClosureRequest, Closure)
{
    const char *last = in->last_day[0] ? in->last_day : in->first_day;
    check_id(call, "location_id", in->location_id);
    check_day(call, "first_day", in->first_day, false);
    check_day(call, "last_day", in->last_day, true);
    check_text(call, "reason", in->reason, 0, 500);
    if (call->code == STATUS_OK && strcmp(last, in->first_day) < 0)
        call_violation(call, "last_day", "must not be before first_day");
    if (call->code != STATUS_OK)
        return;
    const char *location = param_i64(call, in->location_id);
    rowmap_reply_inserted(call, &add_closure_stmt,
                          (const char *[]){location, in->first_day, last, in->reason},
                          &clinic__v1__closure__descriptor);
}

HANDLER(svc_locations_list_closures, Locations, ListClosuresRequest, ListClosuresResponse)
{
    if (!check_id(call, "location_id", in->location_id))
        return;
    rowmap_reply_all(call, &list_closures_stmt, (const char *[]){param_i64(call, in->location_id)},
                     &clinic__v1__list_closures_response__descriptor, "closures");
}

HANDLER(svc_locations_delete_closure, Locations, DeleteClosureRequest, DeleteClosureResponse)
{
    rowmap_reply_by_id(call, &delete_closure_stmt, in->id,
                       &clinic__v1__delete_closure_response__descriptor, "closure");
}

static Clinic__V1__Locations_Service locations = CLINIC__V1__LOCATIONS__INIT(svc_locations_);

const struct handler_set svc_locations_handlers = {&locations.base};
