/* svc_therapists.c: clinic.v1.Therapists: therapists and the services they perform, their
 * weekly working hours and their time off.
 *
 * Working hours and time off are rules a booking reads; writes to them are serialised with the
 * bookings they govern by triggers (sql/functions/60_rules.sql): working hours take their
 * location's rules lock, time off the therapist's lock, before the row is written. */
#include <string.h>

#include "call.h"
#include "clinic/v1/admin.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

/* A therapist performs few services; the bound keeps one request from naming thousands. */
#define MAX_SERVICE_IDS 100
/* Where working hours start when valid_from is not given (the column's default). */
#define RULES_START_DAY "2000-01-01"

/* A therapist's email address is for the clinic's staff: a client (who may list therapists to
 * book one) gets an empty one. */
#define THERAPIST_COLUMNS                                                                          \
    "t.id, t.name, CASE WHEN clinic_caller_role() = 'client' THEN '' ELSE t.email END AS email,"   \
    " array(SELECT ts.service_id FROM therapist_services ts WHERE ts.therapist_id = t.id"          \
    " ORDER BY 1) AS service_ids, t.archived"
#define HOURS_COLUMNS                                                                              \
    "id, therapist_id, location_id, weekday, to_char(start_local, 'HH24:MI') AS start_local,"      \
    " to_char(end_local, 'HH24:MI') AS end_local,"                                                 \
    " CASE WHEN valid_from = DATE '" RULES_START_DAY "' THEN ''"                                   \
    " ELSE to_char(valid_from, 'YYYY-MM-DD') END AS valid_from,"                                   \
    " coalesce(to_char(valid_until, 'YYYY-MM-DD'), '') AS valid_until"

static const struct db_stmt missing_services_stmt = {
    "SELECT array_to_string(array(SELECT DISTINCT x FROM unnest($1::bigint[]) AS x"
    " WHERE NOT EXISTS (SELECT 1 FROM services s WHERE s.id = x) ORDER BY x), ', ')",
    1};
/* The services inserted here are not visible to a subquery on therapist_services in the same
 * statement, so the reply's service_ids come from the insert's own RETURNING. */
static const struct db_stmt create_stmt = {
    "WITH t AS (INSERT INTO therapists (name, email) VALUES ($1, $2) RETURNING *),"
    " s AS (INSERT INTO therapist_services (therapist_id, service_id)"
    " SELECT DISTINCT t.id, x FROM t, unnest($3::bigint[]) AS x RETURNING service_id)"
    " SELECT t.id, t.name, t.email, array(SELECT service_id FROM s ORDER BY 1) AS service_ids,"
    " t.archived FROM t",
    3};
static const struct db_stmt get_stmt = {
    "SELECT " THERAPIST_COLUMNS " FROM therapists t WHERE t.id = $1", 1};
static const struct db_stmt list_stmt = {
    "SELECT " THERAPIST_COLUMNS ", 'p' || t.id AS page_key FROM therapists t"
    " WHERE t.id > $1 AND ($2 OR NOT t.archived)"
    " AND ($4::bigint IS NULL OR EXISTS (SELECT 1 FROM therapist_services f"
    " WHERE f.therapist_id = t.id AND f.service_id = $4))"
    " ORDER BY t.id LIMIT $3",
    4};
static const struct db_stmt update_stmt = {
    "UPDATE therapists SET name = coalesce($2, name), email = coalesce($3, email)"
    " WHERE id = $1 RETURNING id",
    3};
/* Replaces the set: rows outside the new set go, missing ones come. The deleted and the inserted
 * rows never coincide, so the two parts of the statement cannot trip over each other. */
static const struct db_stmt replace_services_stmt = {
    "WITH gone AS (DELETE FROM therapist_services"
    " WHERE therapist_id = $1 AND service_id <> ALL ($2::bigint[]))"
    " INSERT INTO therapist_services (therapist_id, service_id)"
    " SELECT DISTINCT $1::bigint, x FROM unnest($2::bigint[]) AS x ON CONFLICT DO NOTHING",
    2};
static const struct db_stmt archive_stmt = {
    "UPDATE therapists t SET archived = true WHERE t.id = $1 RETURNING " THERAPIST_COLUMNS, 1};
/* The therapist, and the zone of the location of their first working-hours rule ("" if none):
 * the zone local times are read in when a request gives none. */
static const struct db_stmt therapist_zone_stmt = {
    "SELECT coalesce((SELECT l.time_zone FROM working_hours w JOIN locations l"
    " ON l.id = w.location_id WHERE w.therapist_id = t.id ORDER BY w.id LIMIT 1), '')"
    " FROM therapists t WHERE t.id = $1",
    1};
static const struct db_stmt add_hours_stmt = {
    "INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local,"
    " valid_from, valid_until) VALUES ($1, $2, $3, $4::time, $5::time,"
    " CASE WHEN $6::text IS NULL THEN date '" RULES_START_DAY "'"
    " ELSE clinic_parse_day($6, 'valid_from') END,"
    " CASE WHEN $7::text IS NULL THEN NULL ELSE clinic_parse_day($7, 'valid_until') END)"
    " RETURNING " HOURS_COLUMNS,
    7};
static const struct db_stmt list_hours_stmt = {"SELECT " HOURS_COLUMNS
                                               " FROM working_hours WHERE therapist_id = $1"
                                               " ORDER BY weekday, start_local, location_id, id",
                                               1};
static const struct db_stmt delete_hours_stmt = {
    "DELETE FROM working_hours WHERE id = $1 RETURNING id", 1};
/* Whether start < end. Comparing bounds rather than building a range keeps an inverted pair from
 * raising a range error before the caller can be told which field is bad. */
static const struct db_stmt time_off_order_stmt = {
    "SELECT clinic_parse_instant($1, $3, 'start_time') < clinic_parse_instant($2, $3, 'end_time')",
    3};
/* Time off may not strand active appointments: the trigger on time_off (sql/functions/60_rules.sql)
 * takes the therapist's lock, the one every booking of theirs takes before it writes, then counts
 * the active appointments (buffers included: they block the therapist too) that overlap it and
 * refuses (CLRUL, FAILED_PRECONDITION) naming how many. A booking that commits first is counted;
 * one still waiting for the lock sees the time off when it writes. */
static const struct db_stmt add_time_off_stmt = {
    "INSERT INTO time_off (therapist_id, during, reason)"
    " VALUES ($1, tstzrange(clinic_parse_instant($2, $4, 'start_time'),"
    " clinic_parse_instant($3, $4, 'end_time')), $5)"
    " RETURNING id, therapist_id, clinic_format_instant(lower(during), $4) AS start_time,"
    " clinic_format_instant(upper(during), $4) AS end_time, reason",
    5};
static const struct db_stmt list_time_off_stmt = {
    "SELECT id, therapist_id, clinic_format_instant(lower(during), $2) AS start_time,"
    " clinic_format_instant(upper(during), $2) AS end_time, reason"
    " FROM time_off WHERE therapist_id = $1 ORDER BY lower(during), id",
    2};
static const struct db_stmt delete_time_off_stmt = {
    "DELETE FROM time_off WHERE id = $1 RETURNING id", 1};

/* A name and a required email address (control characters refused before the address form). */
static void check_name_email(struct call *call, const char *name, bool has_name, const char *email,
                             bool has_email)
{
    if (has_name)
        check_text(call, "name", name, 1, 200);
    if (has_email && check_text(call, "email", email, 1, 254))
        check_email(call, "email", email, true);
}

/* The shape of service_ids: a bounded list of positive ids (whether they exist is asked later,
 * in one query, by check_services_exist). */
static void check_service_ids(struct call *call, const int64_t *ids, size_t n)
{
    if (n > MAX_SERVICE_IDS) {
        call_violation(call, "service_ids", "may list at most %d services", MAX_SERVICE_IDS);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] <= 0) {
            call_violation(call, "service_ids",
                           "must hold ids of existing services (positive numbers), not %lld",
                           (long long)ids[i]);
            return;
        }
    }
}

/* Records a violation on service_ids naming every id that is not a service. Runs before the
 * write, so the write never meets the foreign key (which would abort the transaction with a
 * sentence naming no id). Services are archived, never deleted, so the answer stays true. */
static void check_services_exist(struct call *call, const char *ids)
{
    struct db_result *r;
    if (db_query(call->db, &missing_services_stmt, (const char *[]){ids}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    const char *missing = db_value(r, 0, 0);
    if (*missing)
        call_violation(call, "service_ids",
                       strchr(missing, ',') ? "services %s do not exist"
                                            : "service %s does not exist",
                       missing);
    db_result_free(r);
}

/* Looks the therapist up. True when they exist, with *zone set (in the arena) to the zone of
 * their first working-hours location, "" when they have none; otherwise the call failed. */
static bool find_therapist(struct call *call, int64_t id, const char **zone)
{
    struct db_result *r;
    if (db_query(call->db, &therapist_zone_stmt, (const char *[]){param_i64(call, id)}, &r) !=
        STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    bool found = db_rows(r) > 0;
    if (found)
        *zone = call_strdup(call, db_value(r, 0, 0));
    else
        call_fail(call, STATUS_NOT_FOUND, "therapist %lld does not exist", (long long)id);
    db_result_free(r);
    if (found && !*zone) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    return found;
}

HANDLER(svc_therapists_create_therapist, Therapists, CreateTherapistRequest, Therapist)
{
    check_name_email(call, in->name, true, in->email, true);
    check_service_ids(call, in->service_ids, in->n_service_ids);
    if (call->code != STATUS_OK)
        return;
    const char *ids = param_id_array(call, in->service_ids, in->n_service_ids);
    if (!ids) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    check_services_exist(call, ids);
    if (call->code != STATUS_OK)
        return;
    struct db_result *r;
    if (db_query(call->db, &create_stmt, (const char *[]){in->name, in->email, ids}, &r) !=
        STATUS_OK) {
        call_fail_db(call);
        return;
    }
    rowmap_reply_row(call, r, 0, &clinic__v1__therapist__descriptor);
    db_result_free(r);
}

HANDLER(svc_therapists_get_therapist, Therapists, GetTherapistRequest, Therapist)
{
    rowmap_reply_by_id(call, &get_stmt, in->id, &clinic__v1__therapist__descriptor, "therapist");
}

HANDLER(svc_therapists_list_therapists, Therapists, ListTherapistsRequest, ListTherapistsResponse)
{
    uint32_t size;
    int64_t after;
    check_optional_id(call, "service_id", in->service_id);
    if (!check_page(call, in->page_size, in->page_token, &size, &after) || call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, after), param_bool(in->include_archived),
                            param_u32(call, size + 1), param_id_or_null(call, in->service_id)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_therapists_response__descriptor,
                      "therapists", size);
}

HANDLER(svc_therapists_update_therapist, Therapists, UpdateTherapistRequest, Therapist)
{
    static const char *const fields[] = {"name", "email", "service_ids", NULL};
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    check_id(call, "id", in->id);
    if (!check_update_mask(call, mask, n, fields))
        return;
    bool set_services = check_in_mask(mask, n, "service_ids");
    check_name_email(call, in->name, check_in_mask(mask, n, "name"), in->email,
                     check_in_mask(mask, n, "email"));
    if (set_services)
        check_service_ids(call, in->service_ids, in->n_service_ids);
    if (call->code != STATUS_OK)
        return;
    const char *id = param_i64(call, in->id);
    const char *ids =
        set_services ? param_id_array(call, in->service_ids, in->n_service_ids) : NULL;
    if (set_services && !ids) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    if (set_services)
        check_services_exist(call, ids);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {id, check_in_mask(mask, n, "name") ? in->name : NULL,
                            check_in_mask(mask, n, "email") ? in->email : NULL};
    struct db_result *r;
    if (db_query(call->db, &update_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    bool found = db_rows(r) > 0;
    db_result_free(r);
    if (!found) {
        call_fail(call, STATUS_NOT_FOUND, "therapist %lld does not exist", (long long)in->id);
        return;
    }
    if (set_services &&
        db_query(call->db, &replace_services_stmt, (const char *[]){id, ids}, NULL) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    rowmap_reply_one(call, &get_stmt, (const char *[]){id}, &clinic__v1__therapist__descriptor,
                     "therapist %lld does not exist", (long long)in->id);
}

/* Archived therapists keep their booked appointments (as an archived location does); they are
 * left out of free-slot searches and new bookings. */
HANDLER(svc_therapists_archive_therapist, Therapists, ArchiveTherapistRequest, Therapist)
{
    rowmap_reply_by_id(call, &archive_stmt, in->id, &clinic__v1__therapist__descriptor,
                       "therapist");
}

HANDLER(svc_therapists_add_working_hours, Therapists, AddWorkingHoursRequest, WorkingHours)
{
    check_id(call, "therapist_id", in->therapist_id);
    check_id(call, "location_id", in->location_id);
    if (in->weekday < 1 || in->weekday > 7)
        call_violation(call, "weekday", "must be from 1 (Monday) to 7 (Sunday)");
    /* "HH:MM" strings order as the times they name. A rule is one local day's: hours past
     * midnight are the next day's rule, so that each day's hours read the same in any zone. */
    if (check_clock(call, "start_local", in->start_local) &&
        check_clock(call, "end_local", in->end_local) &&
        strcmp(in->end_local, in->start_local) <= 0)
        call_violation(call, "end_local",
                       "must be after start_local; hours past midnight are two rules, e.g. "
                       "22:00-24:00 on one day and 00:00-06:00 on the next");
    if (check_day(call, "valid_from", in->valid_from, true) &&
        check_day(call, "valid_until", in->valid_until, true) && in->valid_until[0]) {
        if (in->valid_from[0] && strcmp(in->valid_until, in->valid_from) < 0)
            call_violation(call, "valid_until", "must not be before valid_from");
        else if (!in->valid_from[0] && strcmp(in->valid_until, RULES_START_DAY) < 0)
            call_violation(call, "valid_until",
                           "must not be before " RULES_START_DAY
                           ", when rules start if valid_from is empty");
    }
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->therapist_id),
                            param_i64(call, in->location_id),
                            param_u32(call, in->weekday),
                            in->start_local,
                            in->end_local,
                            param_text_or_null(in->valid_from),
                            param_text_or_null(in->valid_until)};
    rowmap_reply_inserted(call, &add_hours_stmt, params, &clinic__v1__working_hours__descriptor);
}

HANDLER(svc_therapists_list_working_hours, Therapists, ListWorkingHoursRequest,
        ListWorkingHoursResponse)
{
    const char *zone;
    if (!check_id(call, "therapist_id", in->therapist_id) ||
        !find_therapist(call, in->therapist_id, &zone))
        return;
    rowmap_reply_all(call, &list_hours_stmt, (const char *[]){param_i64(call, in->therapist_id)},
                     &clinic__v1__list_working_hours_response__descriptor, "hours");
}

/* Deleting a rule is always allowed: appointments already booked inside it stay booked (the
 * working-hours rule constrains new bookings, not existing ones); the front desk sees them in
 * the therapist's day and can move them. */
HANDLER(svc_therapists_delete_working_hours, Therapists, DeleteWorkingHoursRequest,
        DeleteWorkingHoursResponse)
{
    rowmap_reply_by_id(call, &delete_hours_stmt, in->id,
                       &clinic__v1__delete_working_hours_response__descriptor,
                       "working hours entry");
}

/* True when an instant's text (already of check_instant's shape) carries an offset or Z: the
 * date's hyphens end at index 10, so a sign after the clock can only be an offset's. */
static bool has_offset(const char *s)
{
    return strpbrk(s + 16, "Zz+-") != NULL;
}

/* Time off is refused while active appointments fall in it (the trigger on time_off counts them):
 * the clinic would otherwise hold bookings the therapist cannot keep. Cancelled and no-show ones
 * do not count. */
HANDLER(svc_therapists_add_time_off, Therapists, AddTimeOffRequest, TimeOff)
{
    check_id(call, "therapist_id", in->therapist_id);
    check_instant(call, "start_time", in->start_time, false);
    check_instant(call, "end_time", in->end_time, false);
    check_text(call, "reason", in->reason, 0, 500);
    if (call->code == STATUS_OK && in->time_zone[0])
        check_time_zone(call, "time_zone", in->time_zone);
    if (call->code != STATUS_OK)
        return;
    const char *fallback;
    if (!find_therapist(call, in->therapist_id, &fallback))
        return;
    /* The request's zone, else the therapist's first location's: it reads local times and
     * writes the reply, so both show the clock the clinic lives by. */
    const char *zone = in->time_zone[0] ? in->time_zone : fallback[0] ? fallback : NULL;
    if (!zone && !(has_offset(in->start_time) && has_offset(in->end_time))) {
        call_violation(call, "time_zone",
                       "is required for times without an offset: therapist %lld has no working "
                       "hours to take a location's zone from; give one like Europe/Berlin",
                       (long long)in->therapist_id);
        return;
    }
    if (!zone)
        zone = "UTC";
    const char *therapist = param_i64(call, in->therapist_id);
    struct db_result *r;
    if (db_query(call->db, &time_off_order_stmt,
                 (const char *[]){in->start_time, in->end_time, zone}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    bool ordered = strcmp(db_value(r, 0, 0), "t") == 0;
    db_result_free(r);
    if (!ordered) {
        call_violation(call, "end_time", "must be after start_time");
        return;
    }
    const char *params[] = {therapist, in->start_time, in->end_time, zone, in->reason};
    if (db_query(call->db, &add_time_off_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    rowmap_reply_row(call, r, 0, &clinic__v1__time_off__descriptor);
    db_result_free(r);
}

/* Instants are shown in the zone of the therapist's first working-hours location (UTC when
 * they have none), as AddTimeOff answers when given no zone. */
HANDLER(svc_therapists_list_time_off, Therapists, ListTimeOffRequest, ListTimeOffResponse)
{
    const char *zone;
    if (!check_id(call, "therapist_id", in->therapist_id) ||
        !find_therapist(call, in->therapist_id, &zone))
        return;
    rowmap_reply_all(call, &list_time_off_stmt,
                     (const char *[]){param_i64(call, in->therapist_id), zone[0] ? zone : "UTC"},
                     &clinic__v1__list_time_off_response__descriptor, "time_off");
}

HANDLER(svc_therapists_delete_time_off, Therapists, DeleteTimeOffRequest, DeleteTimeOffResponse)
{
    rowmap_reply_by_id(call, &delete_time_off_stmt, in->id,
                       &clinic__v1__delete_time_off_response__descriptor, "time off");
}

static Clinic__V1__Therapists_Service therapists = CLINIC__V1__THERAPISTS__INIT(svc_therapists_);

const struct handler_set svc_therapists_handlers = {&therapists.base};
