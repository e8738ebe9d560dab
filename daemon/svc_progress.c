/* svc_progress.c: clinic.v1.Progress: a client's course of care, session by session: pain
 * before and after, ODI, the change from the first session and whether it is clinically
 * important; then every questionnaire recorded between sessions (RMDQ, PSFS, STarT Back) and the
 * latest STarT Back risk group, all on one time scale: days from the course start.
 * clinic_client_progress (sql/functions/85_notes.sql) and clinic_client_measures (87_measures.sql)
 * compute all of it from the signed notes and measures the caller may see (row-level security),
 * so a client reads their own course and a therapist the course of a client in their care. No
 * value of it is logged. */
#include "call.h"
#include "clinic/v1/notes.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

static const struct db_stmt client_stmt = {"SELECT name FROM clients WHERE id = $1", 1};
/* -1 where the wire has no NULL; has_* say whether a score or change exists at all. */
static const struct db_stmt progress_stmt = {
    "SELECT session, note_id, appointment_id, session_start,"
    " coalesce(pain_before, -1) AS pain_before, coalesce(pain_after, -1) AS pain_after,"
    " odi_score, odi_score IS NOT NULL AS has_odi_score, coalesce(pain_change, 0) AS pain_change,"
    " odi_change, odi_change IS NOT NULL AS has_odi_change, pain_mcid, odi_mcid,"
    " clinic_course_days($1, session_start::timestamptz) AS days"
    " FROM clinic_client_progress($1) ORDER BY session",
    1};
/* The same rows as Measures/ListMeasures (svc_measures.c). */
static const struct db_stmt measures_stmt = {
    "SELECT id, client_id, kind, answers, activities, recorded_at, days, number, score,"
    " coalesce(change, 0) AS change, has_change, mcid, startback_psychosocial, startback_risk,"
    " appointment_id, note_id, recorded_by_role"
    " FROM clinic_client_measures($1) ORDER BY recorded_instant, id",
    1};
static const struct db_stmt course_stmt = {
    "SELECT clinic_client_startback_risk($1) AS startback_risk,"
    " coalesce(clinic_format_instant(clinic_client_course_start($1), clinic_client_time_zone($1)),"
    " '') AS course_start",
    1};

HANDLER(svc_progress_client_progress, Progress, ClientProgressRequest, ClientProgressResponse)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    if (!check_id(call, "client_id", in->client_id))
        return;
    const char *client = param_i64(call, in->client_id);
    struct db_result *r;
    if (db_query(call->db, &client_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    Clinic__V1__ClientProgressResponse *out = NULL;
    if (db_rows(r) == 0) {
        call_fail(call, STATUS_NOT_FOUND, "client %lld does not exist", (long long)in->client_id);
    } else {
        out = (Clinic__V1__ClientProgressResponse *)rowmap_new(
            call, &clinic__v1__client_progress_response__descriptor);
        if (out) {
            out->client_id = in->client_id;
            out->client_name = call_strdup(call, db_value(r, 0, 0));
        }
    }
    db_result_free(r);
    if (out && !out->client_name)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    if (!out || !out->client_name)
        return;
    if (db_query(call->db, &progress_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    bool ok = rowmap_fill_list(call, &out->base, "sessions", r, db_rows(r));
    db_result_free(r);
    if (!ok)
        return;
    if (db_query(call->db, &measures_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    ok = rowmap_fill_list(call, &out->base, "measures", r, db_rows(r));
    db_result_free(r);
    if (!ok)
        return;
    if (db_query(call->db, &course_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (rowmap_fill(call, &out->base, r, 0))
        call_reply(&out->base, call);
    db_result_free(r);
}

static Clinic__V1__Progress_Service progress = CLINIC__V1__PROGRESS__INIT(svc_progress_);

const struct handler_set svc_progress_handlers = {&progress.base};
