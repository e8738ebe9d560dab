/* svc_measures.c: clinic.v1.Measures: the back-pain questionnaires a client answers (RMDQ,
 * PSFS, STarT Back), recorded with when they were answered and listed with their scores.
 *
 * The database scores them (generated columns of outcome_measures, sql/0024) and decides what is
 * clinically important (clinic_client_measures, sql/functions/87_measures.sql); its CHECKs and
 * row-level security are the last wall. These handlers check the request's shape first, so that
 * a wrong answer is told in the questionnaire's words, one FieldViolation per problem, and a
 * score is never taken from the caller. Questionnaires are health records: nothing here logs an
 * answer or an activity's name. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "check.h"
#include "clinic/v1/measures.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

#define RMDQ_ITEMS         24
#define STARTBACK_ITEMS    9
#define STARTBACK_ITEM9MAX 4 /* 0 not at all ... 4 extremely */
#define PSFS_MIN           1
#define PSFS_MAX           5
#define PSFS_RATING_MAX    10
#define PSFS_NAME_MAX      60 /* characters, as outcome_measures' CHECK */
#define RECORDED_AT_MAX    64

#define MEASURE_COLUMNS                                                                            \
    "id, client_id, kind, answers, activities, recorded_at, days, number, score,"                  \
    " coalesce(change, 0) AS change, has_change, mcid, startback_psychosocial, startback_risk,"    \
    " appointment_id, note_id, recorded_by_role"

static const struct db_stmt record_stmt = {
    "SELECT clinic_measure_record($1, $2::measure_kind, $3::smallint[], $4::text[], $5, $6, $7)",
    7};
static const struct db_stmt measure_stmt = {
    "SELECT " MEASURE_COLUMNS " FROM clinic_client_measures($1) WHERE id = $2", 2};
static const struct db_stmt list_stmt = {"SELECT " MEASURE_COLUMNS
                                         " FROM clinic_client_measures($1)"
                                         " ORDER BY recorded_instant, id",
                                         1};
static const struct db_stmt risk_stmt = {
    "SELECT $1::bigint AS client_id, clinic_client_startback_risk($1) AS startback_risk", 1};

/* ------------------------------------------------------------------ checks */

/* Each of the n answers is 0 or 1 (RMDQ, STarT Back items 1-8: the first `binary` of them) or,
 * past them, 0..last_max. One violation for the first wrong one. */
static bool check_items(struct call *call, const char *what, const int32_t *a, size_t n,
                        size_t binary, int last_max, const char *yes, const char *no)
{
    for (size_t i = 0; i < n; i++) {
        if (i < binary && a[i] != 0 && a[i] != 1) {
            call_violation(call, "answers", "%s item %zu must be 1 (%s) or 0 (%s), not %d", what,
                           i + 1, yes, no, (int)a[i]);
            return false;
        }
        if (i >= binary && (a[i] < 0 || a[i] > last_max)) {
            call_violation(call, "answers",
                           "%s item %zu must be 0 (not at all), 1 (slightly), 2 (moderately), "
                           "3 (very much) or 4 (extremely), not %d",
                           what, i + 1, (int)a[i]);
            return false;
        }
    }
    return true;
}

/* One activity's name: not blank, at most PSFS_NAME_MAX characters, no control characters. */
static bool check_activity(struct call *call, size_t i, const char *name)
{
    size_t chars = 0;
    bool blank = true;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            call_violation(call, "activities", "activity %zu must be one line of text", i + 1);
            return false;
        }
        chars += (*p & 0xC0) != 0x80;
        blank = blank && isspace(*p);
    }
    if (blank) {
        call_violation(call, "activities",
                       "activity %zu has no name; name each activity the client finds hard, "
                       "e.g. \"putting on socks\"",
                       i + 1);
        return false;
    }
    if (chars > PSFS_NAME_MAX) {
        call_violation(call, "activities",
                       "activity %zu's name must be at most %d characters long (it has %zu)", i + 1,
                       PSFS_NAME_MAX, chars);
        return false;
    }
    return true;
}

static void check_psfs(struct call *call, const Clinic__V1__RecordMeasureRequest *in)
{
    if (in->n_activities < PSFS_MIN) {
        call_violation(call, "activities",
                       "the PSFS needs at least one activity the client finds hard because of "
                       "their back (up to %d), each rated 0-10",
                       PSFS_MAX);
        return;
    }
    if (in->n_activities > PSFS_MAX) {
        call_violation(call, "activities",
                       "the PSFS takes at most %d activities; %zu given: keep the ones that "
                       "matter most to the client",
                       PSFS_MAX, in->n_activities);
        return;
    }
    for (size_t i = 0; i < in->n_activities; i++)
        if (!check_activity(call, i, in->activities[i]))
            break;
    if (in->n_answers != in->n_activities) {
        call_violation(call, "answers",
                       "the PSFS needs one rating per activity: %zu activities, %zu ratings",
                       in->n_activities, in->n_answers);
        return;
    }
    for (size_t i = 0; i < in->n_answers; i++) {
        if (in->answers[i] < 0 || in->answers[i] > PSFS_RATING_MAX) {
            call_violation(call, "answers",
                           "activity %zu's rating must be 0 (unable to do it) to 10 (able to do "
                           "it as before), not %d",
                           i + 1, (int)in->answers[i]);
            return;
        }
    }
}

/* The answers fit the questionnaire `kind`; one violation per bad field. Returns the database's
 * label of the kind, or NULL (the call failed). */
static const char *check_measure(struct call *call, const Clinic__V1__RecordMeasureRequest *in)
{
    const char *label = NULL;
    switch (in->kind) {
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ:
        label = "rmdq";
        if (in->n_answers != RMDQ_ITEMS)
            call_violation(call, "answers",
                           "the RMDQ has %d statements: answer each 1 (yes) or 0 (no); %zu given",
                           RMDQ_ITEMS, in->n_answers);
        else
            check_items(call, "RMDQ", in->answers, in->n_answers, RMDQ_ITEMS, 0, "yes", "no");
        break;
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK:
        label = "startback";
        if (in->n_answers != STARTBACK_ITEMS)
            call_violation(call, "answers",
                           "the STarT Back tool has %d items (1-8: 1 agree or 0 disagree; 9: "
                           "bothersomeness 0-4); %zu given",
                           STARTBACK_ITEMS, in->n_answers);
        else
            check_items(call, "STarT Back", in->answers, in->n_answers, STARTBACK_ITEMS - 1,
                        STARTBACK_ITEM9MAX, "agree", "disagree");
        break;
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS:
        label = "psfs";
        check_psfs(call, in);
        break;
    default:
        call_violation(call, "kind", "must name the questionnaire: RMDQ, PSFS or STarT Back");
        return NULL;
    }
    if (in->kind != CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS && in->n_activities > 0)
        call_violation(call, "activities", "only the PSFS names activities; leave it empty");
    return label;
}

/* ------------------------------------------------------------------ parameters */

/* {1,0,...} for a checked list of small numbers; NULL when out of memory. */
static const char *param_small_array(struct call *call, const int32_t *a, size_t n)
{
    size_t cap = 3 + n * 4;
    char *out = call_alloc(call, cap);
    if (!out)
        return NULL;
    size_t used = 0;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%d", i ? "," : "", (int)a[i]);
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

/* ------------------------------------------------------------------ handlers */

HANDLER(svc_measures_record_measure, Measures, RecordMeasureRequest, Measure)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    const char *kind = check_measure(call, in);
    check_optional_id(call, "appointment_id", in->appointment_id);
    check_optional_id(call, "note_id", in->note_id);
    if (strlen(in->recorded_at) > RECORDED_AT_MAX)
        call_violation(call, "recorded_at",
                       "must look like 2026-03-29 09:00 or 2026-03-29T09:00:00+02:00");
    if (call->code != STATUS_OK || !kind)
        return;
    const char *activities =
        in->n_activities ? param_text_array(call, in->activities, in->n_activities) : NULL;
    const char *params[] = {param_i64(call, in->client_id),
                            kind,
                            param_small_array(call, in->answers, in->n_answers),
                            activities,
                            param_text_or_null(in->recorded_at),
                            param_id_or_null(call, in->appointment_id),
                            param_id_or_null(call, in->note_id)};
    if (!params[0] || !params[2] || (in->n_activities && !activities)) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    const char *id = rowmap_changed_id(call, &record_stmt, params, NULL);
    if (!id)
        return;
    call_set_target(call, "measure:%s", id);
    rowmap_reply_one(call, &measure_stmt, (const char *[]){params[0], id},
                     &clinic__v1__measure__descriptor, "measure %s does not exist", id);
}

HANDLER(svc_measures_list_measures, Measures, ListMeasuresRequest, ListMeasuresResponse)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    if (!check_id(call, "client_id", in->client_id))
        return;
    const char *client = param_i64(call, in->client_id);
    if (!check_client_exists(call, in->client_id))
        return;
    struct db_result *r;
    if (db_query(call->db, &risk_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    Clinic__V1__ListMeasuresResponse *out = (Clinic__V1__ListMeasuresResponse *)rowmap_new(
        call, &clinic__v1__list_measures_response__descriptor);
    bool ok = out && rowmap_fill(call, &out->base, r, 0);
    db_result_free(r);
    if (!ok) {
        if (!out)
            call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    if (db_query(call->db, &list_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (rowmap_fill_list(call, &out->base, "measures", r, db_rows(r)))
        call_reply(&out->base, call);
    db_result_free(r);
}

static Clinic__V1__Measures_Service measures = CLINIC__V1__MEASURES__INIT(svc_measures_);

const struct handler_set svc_measures_handlers = {&measures.base};
