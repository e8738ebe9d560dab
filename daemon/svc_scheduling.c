/* svc_scheduling.c: clinic.v1.Scheduling: free-slot search, booking, courses, moving and the
 * appointment life cycle, and the front desk's views of a day, a client and a therapist.
 *
 * The rules live in SQL (sql/functions/40_slots.sql, 50_booking.sql): these handlers check the
 * shape of the request, read the location's zone, call the SQL function and answer with the
 * appointment as the view appointment_details shows it. Every refusal comes back from SQL with its
 * own SQLSTATE and a sentence naming the rule, which call_fail_db passes on. The SQL functions also
 * take the locks (sql/functions/30_locks.sql): the location's and the service's rules shared, then
 * therapist, room and client in one global order, so a booking never meets a rule changed under it
 * and a course never deadlocks with another call; a 40001 they raise is run again by rpc.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"
#include "appointment_columns.h"
#include "appointment_columns.h"

#define MAX_SEARCH_DAYS 93
#define MAX_COURSE      52

static const struct db_stmt zone_stmt = {"SELECT time_zone FROM locations WHERE id = $1", 1};
static const struct db_stmt therapist_exists_stmt = {"SELECT 1 FROM therapists WHERE id = $1", 1};
static const struct db_stmt details_stmt = {
    "SELECT " APPOINTMENT_COLUMNS " FROM appointment_details WHERE id = $1", 1};
static const struct db_stmt details_many_stmt = {
    "SELECT " APPOINTMENT_COLUMNS " FROM appointment_details WHERE id = ANY($1::bigint[])"
    " ORDER BY start_at, id",
    1};
/* One page (clinic_find_slots cuts it: it stops looking for rooms once the page is full). */
static const struct db_stmt slots_stmt = {
    "SELECT start_time, end_time, therapist_id, therapist_name, room_id, room_name, page_key"
    " FROM clinic_find_slots($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    9};
/* Everything FindSlots checks before it searches, in one round trip: the location's zone, the
 * service, the therapist, and whether to <= from or the span is too long. The span is computed
 * (and from/to parsed, which may refuse them) only when all the rest is there, so the answers
 * come in the same order as when these were separate statements. */
static const struct db_stmt slots_check_stmt = {
    "SELECT l.time_zone, s.id IS NOT NULL, s.active, s.name, x.therapist_ok,"
    " CASE WHEN l.id IS NOT NULL AND s.active AND x.therapist_ok"
    "      THEN clinic_parse_instant($5, l.time_zone, 'to')"
    "           <= clinic_parse_instant($4, l.time_zone, 'from') END,"
    " CASE WHEN l.id IS NOT NULL AND s.active AND x.therapist_ok"
    "      THEN clinic_parse_instant($5, l.time_zone, 'to')"
    "           - clinic_parse_instant($4, l.time_zone, 'from') > make_interval(days => $6) END"
    " FROM (SELECT) AS one LEFT JOIN locations l ON l.id = $1 LEFT JOIN services s ON s.id = $2,"
    " LATERAL (SELECT $3::bigint IS NULL"
    "          OR EXISTS (SELECT 1 FROM therapists WHERE id = $3) AS therapist_ok) AS x",
    6};
/* One round trip per booking: the zone is read in the same statement (for a location that does
 * not exist the start parses to NULL and clinic_book_details answers NOT_FOUND), and the booked
 * appointment comes back as appointment_details shows it. */
static const struct db_stmt book_stmt = {
    "SELECT " APPOINTMENT_COLUMNS " FROM clinic_book_details($1, $2, $3, clinic_parse_instant($4,"
    " (SELECT time_zone FROM locations WHERE id = $3), 'start_time'), $5, $6, NULL)",
    6};
static const struct db_stmt course_stmt = {
    "SELECT course AS course_id, sessions, skipped_at, skipped_why"
    " FROM clinic_book_course($1, $2, $3, clinic_parse_instant($4, $9, 'first_start_time'),"
    " $5, $6, $7, $8, $10, $11)",
    11};
/* The sessions a course skipped, one row each, from the arrays clinic_book_course answers. */
static const struct db_stmt skipped_stmt = {
    "SELECT s.start_time, s.reason FROM unnest($1::text[], $2::text[]) AS s(start_time, reason)",
    2};
/* A course as clinic.v1.Course shows it ($2: the ids CancelCourse cancelled, else empty). */
static const struct db_stmt course_details_stmt = {
    "SELECT c.id, c.client_id, c.therapist_id, c.service_id, c.location_id,"
    " cl.name AS client_name, t.name AS therapist_name, s.name AS service_name, l.time_zone,"
    " clinic_format_instant(c.created_at, l.time_zone) AS created_at,"
    " $2::bigint[] AS cancelled_ids"
    " FROM courses c JOIN clients cl ON cl.id = c.client_id"
    " JOIN therapists t ON t.id = c.therapist_id JOIN services s ON s.id = c.service_id"
    " JOIN locations l ON l.id = c.location_id WHERE c.id = $1",
    2};
static const struct db_stmt course_sessions_stmt = {"SELECT " APPOINTMENT_COLUMNS
                                                    " FROM appointment_details WHERE course_id = $1"
                                                    " ORDER BY start_at, id",
                                                    1};
static const struct db_stmt cancel_course_stmt = {"SELECT clinic_cancel_course($1, $2)", 2};
static const struct db_stmt appointment_zone_stmt = {
    "SELECT l.time_zone FROM appointments a JOIN locations l ON l.id = a.location_id"
    " WHERE a.id = $1",
    1};
static const struct db_stmt reschedule_stmt = {
    "SELECT m.appointment_id, m.previous_therapist_id"
    " FROM clinic_reschedule($1, clinic_parse_instant($2, $4, 'start_time'), $3, $5) m",
    5};
/* The moved appointment, and the therapist it had when the move changed them. */
static const struct db_stmt moved_details_stmt = {"SELECT " APPOINTMENT_COLUMNS
                                                  ", $2::bigint AS previous_therapist_id"
                                                  " FROM appointment_details WHERE id = $1",
                                                  2};
/* The zone is read in the statement, as Book's: a location that does not exist leaves the start
 * NULL and clinic_record_session answers NOT_FOUND. */
static const struct db_stmt record_stmt = {
    "SELECT clinic_record_session($1, $2, $3, clinic_parse_instant($4,"
    " (SELECT time_zone FROM locations WHERE id = $3), 'start_time'), $5, $6, $7)",
    7};
static const struct db_stmt transition_stmt = {
    "SELECT clinic_transition($1, $2::appointment_status, $3)", 3};

/* ------------------------------------------------------------------ helpers */

/* Reads one text value (the first column of the first row) into out; NOT_FOUND with the sentence
 * when there is no row. */
static bool query_text(struct call *call, const struct db_stmt *stmt, const char *const *params,
                       char *out, size_t len, const char *not_found)
{
    struct db_result *r;
    if (db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    bool found = db_rows(r) > 0;
    if (found)
        snprintf(out, len, "%s", db_value(r, 0, 0));
    else
        call_fail(call, STATUS_NOT_FOUND, "%s", not_found);
    db_result_free(r);
    return found;
}

static bool location_zone(struct call *call, int64_t location, char *zone, size_t len)
{
    char sentence[64];
    snprintf(sentence, sizeof sentence, "location %lld does not exist", (long long)location);
    return query_text(call, &zone_stmt, (const char *[]){param_i64(call, location)}, zone, len,
                      sentence);
}

static bool appointment_zone(struct call *call, int64_t id, char *zone, size_t len)
{
    char sentence[64];
    snprintf(sentence, sizeof sentence, "appointment %lld does not exist", (long long)id);
    return query_text(call, &appointment_zone_stmt, (const char *[]){param_i64(call, id)}, zone,
                      len, sentence);
}

static void reply_appointment(struct call *call, const char *id)
{
    rowmap_reply_one(call, &details_stmt, (const char *[]){id},
                     &clinic__v1__appointment__descriptor, "appointment %s does not exist", id);
}

/* Keyset page tokens of two numbers: "k<a>.<b>" (a start time in epoch seconds and an id). */
static bool check_pair_token(struct call *call, const char *token, long long *a, long long *b)
{
    *a = 0;
    *b = 0;
    if (!*token)
        return true;
    char *dot, *end;
    errno = 0;
    *a = token[0] == 'k' ? strtoll(token + 1, &dot, 10) : -1;
    bool ok = token[0] == 'k' && !errno && *dot == '.';
    if (ok) {
        *b = strtoll(dot + 1, &end, 10);
        ok = !errno && end != dot + 1 && *end == '\0';
    }
    if (!ok)
        call_violation(call, "page_token", "is not a token from an earlier reply");
    return ok;
}

static uint32_t page_size_of(struct call *call, uint32_t requested)
{
    if (requested > PAGE_SIZE_MAX)
        call_violation(call, "page_size", "must be at most %d", PAGE_SIZE_MAX);
    return requested ? requested : PAGE_SIZE_DEFAULT;
}

/* ------------------------------------------------------------------ search and booking */

/* The slot search answers for an existing location, an existing, offered service and an
 * existing therapist only (an empty list must mean "fully booked", never "no such thing"), over
 * a span that is not empty and at most MAX_SEARCH_DAYS long (the search stays bounded). One
 * statement checks it all; stores the location's zone in zone and returns true when the search
 * may run, otherwise fails the call with the first problem. */
static bool check_search(struct call *call, const Clinic__V1__FindSlotsRequest *in, char *zone,
                         size_t len)
{
    char days[8];
    snprintf(days, sizeof days, "%d", MAX_SEARCH_DAYS);
    const char *params[] = {param_i64(call, in->location_id),
                            param_i64(call, in->service_id),
                            param_id_or_null(call, in->therapist_id),
                            in->from,
                            in->to,
                            days};
    struct db_result *r;
    if (db_query(call->db, &slots_check_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    if (db_is_null(r, 0, 0))
        call_fail(call, STATUS_NOT_FOUND, "location %lld does not exist",
                  (long long)in->location_id);
    else if (strcmp(db_value(r, 0, 1), "t") != 0)
        call_fail(call, STATUS_NOT_FOUND, "service %lld does not exist", (long long)in->service_id);
    else if (strcmp(db_value(r, 0, 2), "t") != 0)
        call_fail(call, STATUS_FAILED_PRECONDITION, "the service \"%s\" is no longer offered",
                  db_value(r, 0, 3));
    else if (strcmp(db_value(r, 0, 4), "t") != 0)
        call_fail(call, STATUS_NOT_FOUND, "therapist %lld does not exist",
                  (long long)in->therapist_id);
    else if (strcmp(db_value(r, 0, 5), "t") == 0)
        call_violation(call, "to", "must be after from");
    else if (strcmp(db_value(r, 0, 6), "t") == 0)
        call_violation(call, "to", "the search may span at most %d days", MAX_SEARCH_DAYS);
    else
        snprintf(zone, len, "%s", db_value(r, 0, 0));
    db_result_free(r);
    return call->code == STATUS_OK;
}

HANDLER(svc_scheduling_find_slots, Scheduling, FindSlotsRequest, FindSlotsResponse)
{
    long long after_start, after_therapist;
    char zone[64];
    check_id(call, "service_id", in->service_id);
    check_id(call, "location_id", in->location_id);
    check_optional_id(call, "therapist_id", in->therapist_id);
    check_instant(call, "from", in->from, false);
    check_instant(call, "to", in->to, false);
    uint32_t size = page_size_of(call, in->page_size);
    check_pair_token(call, in->page_token, &after_start, &after_therapist);
    if (call->code != STATUS_OK || !check_search(call, in, zone, sizeof zone))
        return;
    char start_key[24], therapist_key[24];
    snprintf(start_key, sizeof start_key, "%lld", after_start);
    snprintf(therapist_key, sizeof therapist_key, "%lld", after_therapist);
    const char *params[] = {param_i64(call, in->service_id),
                            param_i64(call, in->location_id),
                            in->from,
                            in->to,
                            param_id_or_null(call, in->therapist_id),
                            zone,
                            start_key,
                            therapist_key,
                            param_u32(call, size + 1)};
    struct db_result *r;
    if (db_query(call->db, &slots_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    int rows = db_rows(r) > (int)size ? (int)size : db_rows(r);
    Clinic__V1__FindSlotsResponse *out = (Clinic__V1__FindSlotsResponse *)rowmap_new(
        call, &clinic__v1__find_slots_response__descriptor);
    if (out && rowmap_fill_list(call, &out->base, "slots", r, rows)) {
        out->time_zone = call_strdup(call, zone);
        if (db_rows(r) > (int)size)
            out->next_page_token = call_strdup(call, db_value(r, rows - 1, 6));
        call_reply(&out->base, call);
    }
    db_result_free(r);
}

/* Runs a statement whose one value is an appointment id, and answers with that appointment. */
static void book_and_reply(struct call *call, const struct db_stmt *stmt, const char *const *params)
{
    char id[24];
    if (query_text(call, stmt, params, id, sizeof id, "the appointment vanished"))
        reply_appointment(call, id);
}

HANDLER(svc_scheduling_book, Scheduling, BookRequest, Appointment)
{
    check_id(call, "client_id", in->client_id);
    check_id(call, "service_id", in->service_id);
    check_id(call, "location_id", in->location_id);
    check_optional_id(call, "therapist_id", in->therapist_id);
    check_instant(call, "start_time", in->start_time, false);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {
        param_i64(call, in->client_id),           param_i64(call, in->service_id),
        param_i64(call, in->location_id),         in->start_time,
        param_id_or_null(call, in->therapist_id), call_caller_tag(call)};
    rowmap_reply_one(call, &book_stmt, params, &clinic__v1__appointment__descriptor,
                     "the appointment vanished");
}

HANDLER(svc_scheduling_book_course, Scheduling, BookCourseRequest, BookCourseResponse)
{
    char zone[64];
    check_id(call, "client_id", in->client_id);
    check_id(call, "service_id", in->service_id);
    check_id(call, "location_id", in->location_id);
    check_optional_id(call, "therapist_id", in->therapist_id);
    check_instant(call, "first_start_time", in->first_start_time, false);
    if (in->count < 1 || in->count > MAX_COURSE)
        call_violation(call, "count", "must be from 1 to %d sessions", MAX_COURSE);
    if (in->every < 1 || in->every > 365)
        call_violation(call, "every", "must be from 1 to 365");
    if (in->unit != CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_DAYS &&
        in->unit != CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_WEEKS)
        call_violation(call, "unit", "must be REPEAT_UNIT_DAYS or REPEAT_UNIT_WEEKS");
    if (call->code != STATUS_OK || !location_zone(call, in->location_id, zone, sizeof zone))
        return;
    const char *params[] = {param_i64(call, in->client_id),
                            param_i64(call, in->service_id),
                            param_i64(call, in->location_id),
                            in->first_start_time,
                            param_u32(call, in->count),
                            param_u32(call, in->every),
                            in->unit == CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_WEEKS ? "weeks"
                                                                                   : "days",
                            param_id_or_null(call, in->therapist_id),
                            zone,
                            call_caller_tag(call),
                            param_bool(in->skip_blocked)};
    struct db_result *course = NULL, *sessions = NULL, *skipped = NULL;
    if (db_query(call->db, &course_stmt, params, &course) != STATUS_OK)
        goto db_failed;
    if (db_rows(course) != 1) {
        call_fail_internal(call);
        goto done;
    }
    if (db_query(call->db, &details_many_stmt, (const char *[]){db_value(course, 0, 1)},
                 &sessions) != STATUS_OK ||
        db_query(call->db, &skipped_stmt,
                 (const char *[]){db_value(course, 0, 2), db_value(course, 0, 3)},
                 &skipped) != STATUS_OK)
        goto db_failed;
    ProtobufCMessage *out = rowmap_new(call, &clinic__v1__book_course_response__descriptor);
    if (out && rowmap_fill(call, out, course, 0) &&
        rowmap_fill_list(call, out, "appointments", sessions, db_rows(sessions)) &&
        rowmap_fill_list(call, out, "skipped", skipped, db_rows(skipped)))
        call_reply(out, call);
    goto done;
db_failed:
    call_fail_db(call);
done:
    if (course)
        db_result_free(course);
    if (sessions)
        db_result_free(sessions);
    if (skipped)
        db_result_free(skipped);
}

/* Answers with course `id` and all its sessions; cancelled: the ids CancelCourse cancelled, as
 * a PostgreSQL array ("{}" for GetCourse). */
static void reply_course(struct call *call, const char *id, const char *cancelled)
{
    struct db_result *head = NULL, *sessions = NULL;
    if (db_query(call->db, &course_details_stmt, (const char *[]){id, cancelled}, &head) !=
        STATUS_OK)
        goto db_failed;
    if (db_rows(head) != 1) {
        call_fail(call, STATUS_NOT_FOUND, "course %s does not exist", id);
        goto done;
    }
    if (db_query(call->db, &course_sessions_stmt, (const char *[]){id}, &sessions) != STATUS_OK)
        goto db_failed;
    ProtobufCMessage *out = rowmap_new(call, &clinic__v1__course__descriptor);
    if (out && rowmap_fill(call, out, head, 0) &&
        rowmap_fill_list(call, out, "appointments", sessions, db_rows(sessions)))
        call_reply(out, call);
    goto done;
db_failed:
    call_fail_db(call);
done:
    if (head)
        db_result_free(head);
    if (sessions)
        db_result_free(sessions);
}

HANDLER(svc_scheduling_get_course, Scheduling, CourseRef, Course)
{
    if (check_id(call, "course_id", in->course_id))
        reply_course(call, param_i64(call, in->course_id), "{}");
}

/* Cancels what is left of a course (clinic_cancel_course: every session still booked that has
 * not started, each as Cancel would) and answers with the course and the ids it cancelled. */
HANDLER(svc_scheduling_cancel_course, Scheduling, CancelCourseRequest, Course)
{
    check_id(call, "course_id", in->course_id);
    check_text(call, "reason", in->reason, 0, 500);
    if (call->code != STATUS_OK)
        return;
    const char *id = param_i64(call, in->course_id);
    char cancelled[4096];
    if (query_text(call, &cancel_course_stmt, (const char *[]){id, in->reason}, cancelled,
                   sizeof cancelled, "the course vanished"))
        reply_course(call, id, cancelled);
}

HANDLER(svc_scheduling_reschedule, Scheduling, RescheduleRequest, Appointment)
{
    char zone[64];
    check_id(call, "appointment_id", in->appointment_id);
    check_optional_id(call, "therapist_id", in->therapist_id);
    check_instant(call, "start_time", in->start_time, false);
    if (in->any_therapist && in->therapist_id)
        call_violation(call, "any_therapist", "name a therapist or ask for any, not both");
    if (call->code != STATUS_OK || !appointment_zone(call, in->appointment_id, zone, sizeof zone))
        return;
    const char *params[] = {param_i64(call, in->appointment_id), in->start_time,
                            param_id_or_null(call, in->therapist_id), zone,
                            param_bool(in->any_therapist)};
    struct db_result *r;
    if (db_query(call->db, &reschedule_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) != 1) {
        db_result_free(r);
        call_fail_internal(call);
        return;
    }
    const char *moved[] = {call_strdup(call, db_value(r, 0, 0)),
                           db_is_null(r, 0, 1) ? NULL : call_strdup(call, db_value(r, 0, 1))};
    db_result_free(r);
    rowmap_reply_one(call, &moved_details_stmt, moved, &clinic__v1__appointment__descriptor,
                     "appointment %lld does not exist", (long long)in->appointment_id);
}

/* ------------------------------------------------------------------ the life cycle */

static void transition(struct call *call, int64_t id, const char *to, const char *reason)
{
    if (!check_id(call, "appointment_id", id) || !check_text(call, "reason", reason, 0, 500))
        return;
    book_and_reply(call, &transition_stmt, (const char *[]){param_i64(call, id), to, reason});
}

HANDLER(svc_scheduling_cancel, Scheduling, CancelRequest, Appointment)
{
    transition(call, in->appointment_id, "cancelled", in->reason);
}

HANDLER(svc_scheduling_check_in, Scheduling, AppointmentRef, Appointment)
{
    transition(call, in->appointment_id, "checked_in", "");
}

HANDLER(svc_scheduling_complete, Scheduling, AppointmentRef, Appointment)
{
    transition(call, in->appointment_id, "completed", "");
}

HANDLER(svc_scheduling_mark_no_show, Scheduling, AppointmentRef, Appointment)
{
    transition(call, in->appointment_id, "no_show", "");
}

/* Back to booked: the front desk takes back a mistaken check-in, completion or no-show. */
HANDLER(svc_scheduling_undo, Scheduling, UndoRequest, Appointment)
{
    if (check_text(call, "reason", in->reason, 1, 500))
        transition(call, in->appointment_id, "booked", in->reason);
}

/* A session that happened without a booking, written as completed (sql/functions/50_booking.sql
 * says what is checked). therapist_id 0 is the calling therapist; the method table admits a
 * therapist for their own id or 0 only. */
HANDLER(svc_scheduling_record_session, Scheduling, RecordSessionRequest, Appointment)
{
    int64_t therapist = in->therapist_id ? in->therapist_id : call->caller.therapist_id;
    check_id(call, "client_id", in->client_id);
    check_id(call, "service_id", in->service_id);
    check_id(call, "location_id", in->location_id);
    check_optional_id(call, "therapist_id", in->therapist_id);
    if (!therapist)
        call_violation(call, "therapist_id", "name the therapist who gave the session");
    check_instant(call, "start_time", in->start_time, false);
    check_text(call, "reason", in->reason, 1, 500);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->client_id),
                            param_i64(call, in->service_id),
                            param_i64(call, in->location_id),
                            in->start_time,
                            param_i64(call, therapist),
                            in->reason,
                            call_caller_tag(call)};
    book_and_reply(call, &record_stmt, params);
}

HANDLER(svc_scheduling_get_appointment, Scheduling, AppointmentRef, Appointment)
{
    if (check_id(call, "appointment_id", in->appointment_id))
        reply_appointment(call, param_i64(call, in->appointment_id));
}

/* ------------------------------------------------------------------ the day sheet */

static const struct db_stmt day_location_stmt = {
    "SELECT name, time_zone, EXISTS (SELECT 1 FROM closures c WHERE c.location_id = l.id"
    "       AND $2::date BETWEEN c.first_day AND c.last_day),"
    "       (SELECT string_agg(c.reason, '; ' ORDER BY c.first_day) FROM closures c"
    "        WHERE c.location_id = l.id AND $2::date BETWEEN c.first_day AND c.last_day"
    "          AND c.reason <> '')"
    " FROM locations l WHERE id = $1",
    2};
/* One row per working window, free gap and time off of every therapist ($4; 0: all) who works
 * at the location that day, is off that day or has an appointment there (kind NULL when such a
 * therapist has none). A gap is time the front desk can fill: no-shows stay in the timeline
 * (the therapist was there for them), and a gap too short for the shortest service the
 * therapist performs (buffers included) is no gap. */
static const struct db_stmt day_windows_stmt = {
    "WITH span AS (SELECT tstzrange(clinic_local_instant($2::date::timestamp, $3),"
    "                               clinic_local_instant(($2::date + 1)::timestamp, $3)) AS r),"
    " staff AS (SELECT t.id, t.name, span.r AS day,"
    "           clinic_working(t.id, $1, $2::date, $2::date) * tstzmultirange(span.r) AS working,"
    "           (SELECT min(make_interval(mins => v.buffer_before_minutes + v.duration_minutes"
    "                                              + v.buffer_after_minutes))"
    "            FROM therapist_services ts JOIN services v ON v.id = ts.service_id AND v.active"
    "            WHERE ts.therapist_id = t.id) AS shortest"
    "           FROM therapists t, span"
    "           WHERE ($4::bigint = 0 OR t.id = $4::bigint) AND EXISTS (SELECT 1 FROM "
    "working_hours w"
    "                         WHERE w.therapist_id = t.id AND w.location_id = $1)"
    "              OR ($4::bigint = 0 OR t.id = $4::bigint) AND EXISTS (SELECT 1 FROM appointments "
    "a"
    "                         WHERE a.therapist_id = t.id"
    "                         AND a.location_id = $1 AND a.start_at <@ span.r)),"
    " away AS (SELECT s.id, o.during * s.day AS w, o.reason FROM staff s JOIN time_off o"
    "          ON o.therapist_id = s.id AND o.during && s.day),"
    " windows AS (SELECT s.id, 'working' AS kind, x AS w, '' AS reason"
    "             FROM staff s, unnest(s.working) AS x"
    "             UNION ALL"
    "             SELECT s.id, 'gap', x, '' FROM staff s,"
    "             unnest(s.working - (SELECT coalesce(range_agg(a.blocked), '{}')"
    "                                 FROM appointments a WHERE a.therapist_id = s.id"
    "                                 AND a.blocked && s.day AND a.status <> 'cancelled')) AS x"
    "             WHERE upper(x) - lower(x) >= s.shortest"
    "             UNION ALL"
    "             SELECT id, 'time off', w, reason FROM away)"
    " SELECT s.id, s.name, w.kind, clinic_format_instant(lower(w.w), $3),"
    "        clinic_format_instant(upper(w.w), $3), w.reason"
    " FROM staff s LEFT JOIN windows w ON w.id = s.id"
    " WHERE NOT isempty(s.working) OR EXISTS (SELECT 1 FROM away WHERE away.id = s.id)"
    "    OR EXISTS (SELECT 1 FROM appointments a"
    "       WHERE a.therapist_id = s.id AND a.location_id = $1 AND a.start_at <@ s.day)"
    " ORDER BY s.name, s.id, w.kind, lower(w.w)",
    4};
/* The day's appointments ($4: one therapist's; 0: all), with the client's phone when $5. */
static const struct db_stmt day_appointments_stmt = {
    "SELECT " APPOINTMENT_COLUMNS ","
    "       CASE WHEN $5 THEN (SELECT phone FROM clients c WHERE c.id = client_id) END"
    "       AS client_phone"
    " FROM appointment_details WHERE location_id = $1 AND ($4::bigint = 0 OR therapist_id = "
    "$4::bigint)"
    " AND start_at >= clinic_local_instant($2::date::timestamp, $3)"
    " AND start_at < clinic_local_instant(($2::date + 1)::timestamp, $3)"
    " ORDER BY therapist_id, start_at",
    5};

/* Rows of day_windows_stmt from `row` on that belong to the same therapist. */
static int therapist_rows(const struct db_result *r, int row)
{
    int end = row + 1;
    while (end < db_rows(r) && strcmp(db_value(r, end, 0), db_value(r, row, 0)) == 0)
        end++;
    return end - row;
}

/* Fills the working windows, gaps and time off of one therapist from rows [row, row + n). */
static bool fill_windows(struct call *call, Clinic__V1__TherapistDay *day,
                         const struct db_result *r, int row, int n)
{
    day->working = call_alloc(call, (size_t)n * sizeof *day->working);
    day->gaps = call_alloc(call, (size_t)n * sizeof *day->gaps);
    day->absences = call_alloc(call, (size_t)n * sizeof *day->absences);
    if (!day->working || !day->gaps || !day->absences)
        return false;
    for (int i = row; i < row + n; i++) {
        if (db_is_null(r, i, 2))
            continue;
        const char *kind = db_value(r, i, 2);
        if (strcmp(kind, "time off") == 0) {
            Clinic__V1__Absence *a =
                (Clinic__V1__Absence *)rowmap_new(call, &clinic__v1__absence__descriptor);
            if (!a)
                return false;
            a->start_time = call_strdup(call, db_value(r, i, 3));
            a->end_time = call_strdup(call, db_value(r, i, 4));
            a->kind = call_strdup(call, kind);
            a->reason = call_strdup(call, db_value(r, i, 5));
            day->absences[day->n_absences++] = a;
            continue;
        }
        Clinic__V1__Gap *g = (Clinic__V1__Gap *)rowmap_new(call, &clinic__v1__gap__descriptor);
        if (!g)
            return false;
        g->start_time = call_strdup(call, db_value(r, i, 3));
        g->end_time = call_strdup(call, db_value(r, i, 4));
        if (strcmp(kind, "working") == 0)
            day->working[day->n_working++] = g;
        else
            day->gaps[day->n_gaps++] = g;
    }
    return true;
}

/* The therapist's day in out, or NULL. */
static Clinic__V1__TherapistDay *day_of(Clinic__V1__DaySheetResponse *out, int64_t therapist_id)
{
    for (size_t d = 0; d < out->n_therapists; d++)
        if (out->therapists[d]->therapist_id == therapist_id)
            return out->therapists[d];
    return NULL;
}

/* Hands each appointment to its therapist's timeline; cancelled ones go to the list apart. */
static bool attach_appointments(struct call *call, Clinic__V1__DaySheetResponse *out,
                                const struct db_result *r)
{
    size_t room = (size_t)db_rows(r) + 1;
    out->cancelled = call_alloc(call, room * sizeof(void *));
    if (!out->cancelled)
        return false;
    for (size_t d = 0; d < out->n_therapists; d++)
        if (!(out->therapists[d]->appointments = call_alloc(call, room * sizeof(void *))))
            return false;
    for (int i = 0; i < db_rows(r); i++) {
        Clinic__V1__Appointment *a =
            (Clinic__V1__Appointment *)rowmap_new(call, &clinic__v1__appointment__descriptor);
        if (!a || !rowmap_fill(call, &a->base, r, i))
            return false;
        Clinic__V1__TherapistDay *day = day_of(out, a->therapist_id);
        if (a->status == CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED)
            out->cancelled[out->n_cancelled++] = a;
        else if (day)
            day->appointments[day->n_appointments++] = a;
    }
    return true;
}

static bool build_days(struct call *call, Clinic__V1__DaySheetResponse *out,
                       const struct db_result *windows, const struct db_result *appointments)
{
    out->therapists = call_alloc(call, (size_t)(db_rows(windows) + 1) * sizeof(void *));
    if (!out->therapists)
        return false;
    for (int row = 0; row < db_rows(windows);) {
        int n = therapist_rows(windows, row);
        Clinic__V1__TherapistDay *day =
            (Clinic__V1__TherapistDay *)rowmap_new(call, &clinic__v1__therapist_day__descriptor);
        if (!day || !fill_windows(call, day, windows, row, n))
            return false;
        day->therapist_id = strtoll(db_value(windows, row, 0), NULL, 10);
        day->therapist_name = call_strdup(call, db_value(windows, row, 1));
        out->therapists[out->n_therapists++] = day;
        row += n;
    }
    return attach_appointments(call, out, appointments);
}

/* Clients' phones are contact data for the people who run the day, not for therapists. */
static bool caller_sees_phones(const struct call *call)
{
    return call->caller.role == ROLE_ADMIN || call->caller.role == ROLE_FRONT_DESK;
}

HANDLER(svc_scheduling_day_sheet, Scheduling, DaySheetRequest, DaySheetResponse)
{
    check_id(call, "location_id", in->location_id);
    check_day(call, "date", in->date, false);
    if (in->therapist_id < 0)
        call_violation(call, "therapist_id", "must be a therapist's id, or 0 for every therapist");
    if (call->code != STATUS_OK)
        return;
    const char *location = param_i64(call, in->location_id);
    struct db_result *loc = NULL, *windows = NULL, *appointments = NULL;
    if (db_query(call->db, &day_location_stmt, (const char *[]){location, in->date}, &loc) !=
        STATUS_OK)
        goto db_failed;
    if (db_rows(loc) == 0) {
        call_fail(call, STATUS_NOT_FOUND, "location %s does not exist", location);
        goto done;
    }
    const char *zone = db_value(loc, 0, 1);
    const char *params[] = {location, in->date, zone, param_i64(call, in->therapist_id),
                            caller_sees_phones(call) ? "t" : "f"};
    if (db_query(call->db, &day_windows_stmt, params, &windows) != STATUS_OK ||
        db_query(call->db, &day_appointments_stmt, params, &appointments) != STATUS_OK)
        goto db_failed;
    Clinic__V1__DaySheetResponse *out = (Clinic__V1__DaySheetResponse *)rowmap_new(
        call, &clinic__v1__day_sheet_response__descriptor);
    if (!out || !build_days(call, out, windows, appointments)) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        goto done;
    }
    out->date = call_strdup(call, in->date);
    out->time_zone = call_strdup(call, zone);
    out->location_name = call_strdup(call, db_value(loc, 0, 0));
    out->closed = strcmp(db_value(loc, 0, 2), "t") == 0;
    out->closed_reason = call_strdup(call, db_value(loc, 0, 3));
    call_reply(&out->base, call);
    goto done;
db_failed:
    call_fail_db(call);
done:
    if (loc)
        db_result_free(loc);
    if (windows)
        db_result_free(windows);
    if (appointments)
        db_result_free(appointments);
}

/* ------------------------------------------------------------------ a client's, a therapist's */

/* Local times without an offset are read in the clinic's home zone (its first location's). */
#define RANGE_PAGE_SQL(who)                                                                        \
    "SELECT " APPOINTMENT_COLUMNS ", 'k' || (extract(epoch FROM start_at) * 1000000)::bigint"      \
    " || '.' || id AS page_key FROM appointment_details WHERE " who " = $1"                        \
    " AND ($2::text IS NULL OR start_at >= clinic_parse_instant($2, clinic_home_zone(), 'from'))"  \
    " AND ($3::text IS NULL OR start_at < clinic_parse_instant($3, clinic_home_zone(), 'to'))"     \
    " AND (start_at, id) > (to_timestamp($4::double precision / 1000000), $5)"                     \
    " ORDER BY start_at, id LIMIT $6"

static const struct db_stmt client_exists_stmt = {"SELECT 1 FROM clients WHERE id = $1", 1};
static const struct db_stmt client_range_stmt = {RANGE_PAGE_SQL("client_id"), 6};
static const struct db_stmt therapist_range_stmt = {RANGE_PAGE_SQL("therapist_id"), 6};

/* Answers with one page of the appointments of `who` (checked to exist) between from and to. */
static void reply_range(struct call *call, const char *kind, int64_t who, const char *from,
                        const char *to, uint32_t page_size, const char *token,
                        const struct db_stmt *exists, const struct db_stmt *range)
{
    long long after_start, after_id;
    char field[32], sentence[64], found[4];
    snprintf(field, sizeof field, "%s_id", kind);
    check_id(call, field, who);
    check_instant(call, "from", from, true);
    check_instant(call, "to", to, true);
    uint32_t size = page_size_of(call, page_size);
    check_pair_token(call, token, &after_start, &after_id);
    snprintf(sentence, sizeof sentence, "%s %lld does not exist", kind, (long long)who);
    const char *id = param_i64(call, who);
    if (call->code != STATUS_OK ||
        !query_text(call, exists, (const char *[]){id}, found, sizeof found, sentence))
        return;
    char start_key[24], id_key[24];
    snprintf(start_key, sizeof start_key, "%lld", after_start);
    snprintf(id_key, sizeof id_key, "%lld", after_id);
    const char *params[] = {id,     param_text_or_null(from), param_text_or_null(to), start_key,
                            id_key, param_u32(call, size + 1)};
    rowmap_reply_list(call, range, params, &clinic__v1__appointment_list__descriptor,
                      "appointments", size);
}

HANDLER(svc_scheduling_client_appointments, Scheduling, ClientAppointmentsRequest, AppointmentList)
{
    reply_range(call, "client", in->client_id, in->from, in->to, in->page_size, in->page_token,
                &client_exists_stmt, &client_range_stmt);
}

HANDLER(svc_scheduling_therapist_agenda, Scheduling, TherapistAgendaRequest, AppointmentList)
{
    reply_range(call, "therapist", in->therapist_id, in->from, in->to, in->page_size,
                in->page_token, &therapist_exists_stmt, &therapist_range_stmt);
}

static Clinic__V1__Scheduling_Service scheduling = CLINIC__V1__SCHEDULING__INIT(svc_scheduling_);

const struct handler_set svc_scheduling_handlers = {&scheduling.base};
