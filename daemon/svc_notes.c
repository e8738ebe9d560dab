/* svc_notes.c: clinic.v1.Notes: treatment notes, one per appointment, written by its therapist:
 * drafted, edited, signed (then frozen for ever) and amended; read with their amendments.
 *
 * The rules live in PostgreSQL (sql/functions/80_records.sql, 85_notes.sql): the guard trigger
 * freezes signed notes and names what a note lacks to be signed, row-level security shows each
 * caller only the notes their role allows, and clinic_note_* raise CLNOF / CLRUL with a sentence
 * for the caller. These handlers check the request's shape (one FieldViolation per bad field), turn
 * enums into the database's labels, call the function and answer with the note as note_details
 * shows it.
 *
 * Notes are health records: nothing here logs a value of a request or a row. Database errors
 * reach the log by SQLSTATE and primary message only (db.c), which quote no values. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "clinic/v1/notes.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

/* The database's bound on each SOAP text and amendment (sql/0006), in characters. */
#define NOTE_TEXT_MAX       20000
#define REASON_MAX          500
#define DECISION_REASON_MAX 2000 /* treatment_notes_care_reason_length */
#define PAIN_MAX            10
#define ODI_SECTIONS        10
#define ODI_SECTION_MAX     5

#define NOTE_COLUMNS                                                                               \
    "id, appointment_id, client_id, author_therapist_id, author_name, status, pain_before,"        \
    " pain_after, areas, techniques, pressure, subjective, objective, assessment, plan, odi,"      \
    " odi_score, has_odi_score, session_start, signed_at, created_at, updated_at, care_decision,"  \
    " care_decision_reason, care_decision_intake"

static const struct db_stmt draft_stmt = {
    "SELECT clinic_note_draft($1, $2, $3::smallint, $4::smallint, $5::body_region[],"
    " $6::technique[], $7::pressure, $8, $9, $10, $11, $12::smallint[])",
    12};
static const struct db_stmt edit_stmt = {
    "SELECT clinic_note_edit($1, $2::text[], $3::smallint, $4::smallint, $5::body_region[],"
    " $6::technique[], $7::pressure, $8, $9, $10, $11, $12::smallint[])",
    12};
static const struct db_stmt sign_stmt = {"SELECT clinic_note_sign($1)", 1};
static const struct db_stmt amend_stmt = {"SELECT clinic_note_amend($1, $2, $3, $4)", 4};
static const struct db_stmt decide_stmt = {"SELECT clinic_note_decide($1, $2::care_decision, $3)",
                                           3};
static const struct db_stmt note_stmt = {"SELECT " NOTE_COLUMNS " FROM note_details WHERE id = $1",
                                         1};
/* Keyset pages in session order: after the note whose id the token holds. A token naming a note
 * the caller cannot see ends the list (the row comparison with no row is NULL). */
static const struct db_stmt list_stmt = {"SELECT " NOTE_COLUMNS
                                         ", 'p' || id AS page_key FROM note_details"
                                         " WHERE client_id = $1"
                                         " AND ($2::bigint = 0 OR (start_at, id) > (SELECT "
                                         "start_at, id FROM note_details WHERE id = $2))"
                                         " ORDER BY start_at, id LIMIT $3",
                                         3};
static const struct db_stmt amendments_stmt = {
    "SELECT id, note_id, author_therapist_id, author_name, reason, text, created_at"
    " FROM note_amendment_details WHERE note_id = ANY ($1::bigint[])"
    " ORDER BY note_id, created_instant, id",
    1};

/* ------------------------------------------------------------------ checks */

static bool check_pain(struct call *call, const char *field, int32_t pain)
{
    if (pain >= -1 && pain <= PAIN_MAX)
        return true;
    call_violation(call, field, "must be a rating from 0 to %d, or -1 when not recorded", PAIN_MAX);
    return false;
}

static bool check_odi(struct call *call, const char *field, const int32_t *odi, size_t n)
{
    if (n != 0 && n != ODI_SECTIONS) {
        call_violation(call, field,
                       "must hold all %d sections (-1 for one not answered), or "
                       "none when no ODI was taken; it has %zu",
                       ODI_SECTIONS, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (odi[i] < -1 || odi[i] > ODI_SECTION_MAX) {
            call_violation(call, field, "section %zu must be 0 to %d, or -1 when not answered",
                           i + 1, ODI_SECTION_MAX);
            return false;
        }
    }
    return true;
}

/* The NoteContent fields that EditNote's update_mask may name, in .proto order. */
static const char *const content_fields[] = {
    "pain_before", "pain_after", "subjective", "objective", "assessment", "plan",
    "areas",       "techniques", "pressure",   "odi",       NULL};

/* Checks the fields of c that the mask names (all of them when n is 0), one violation per bad
 * field, named as the request spells it ("content.pain_before"). */
static void check_content(struct call *call, const Clinic__V1__NoteContent *c, char *const *mask,
                          size_t n)
{
#define WANTED(name) (n == 0 || check_in_mask(mask, n, name))
    if (WANTED("pain_before"))
        check_pain(call, "content.pain_before", c->pain_before);
    if (WANTED("pain_after"))
        check_pain(call, "content.pain_after", c->pain_after);
    if (WANTED("areas"))
        check_enum_list(call, "content.areas", &clinic__v1__body_region__descriptor,
                        (const int *)c->areas, c->n_areas, "body region");
    if (WANTED("techniques"))
        check_enum_list(call, "content.techniques", &clinic__v1__technique__descriptor,
                        (const int *)c->techniques, c->n_techniques, "technique");
    if (WANTED("pressure") &&
        !protobuf_c_enum_descriptor_get_value(&clinic__v1__pressure__descriptor, c->pressure))
        call_violation(call, "content.pressure",
                       "%d is not a known pressure; use one of Pressure's values (0: not recorded)",
                       c->pressure);
    if (WANTED("subjective"))
        check_long_text(call, "content.subjective", c->subjective, NOTE_TEXT_MAX, false);
    if (WANTED("objective"))
        check_long_text(call, "content.objective", c->objective, NOTE_TEXT_MAX, false);
    if (WANTED("assessment"))
        check_long_text(call, "content.assessment", c->assessment, NOTE_TEXT_MAX, false);
    if (WANTED("plan"))
        check_long_text(call, "content.plan", c->plan, NOTE_TEXT_MAX, false);
    if (WANTED("odi"))
        check_odi(call, "content.odi", c->odi, c->n_odi);
#undef WANTED
}

/* Only a therapist writes notes. The authorisation table lets nobody else reach the writing
 * methods; this keeps a broken table from writing a note in nobody's name. */
static bool check_author(struct call *call)
{
    if (call->caller.role == ROLE_THERAPIST && call->caller.therapist_id > 0)
        return true;
    call_fail(call, STATUS_PERMISSION_DENIED, "only a therapist writes treatment notes");
    return false;
}

/* ------------------------------------------------------------------ parameters */

/* {2,NULL,...}: the ODI with -1 (not answered) as NULL; SQL NULL when no ODI was taken. */
static const char *param_odi(struct call *call, const int32_t *odi, size_t n)
{
    if (n == 0)
        return NULL;
    char *out = call_alloc(call, 3 + n * 5);
    if (!out)
        return NULL;
    size_t used = 0;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (odi[i] < 0)
            used += (size_t)snprintf(out + used, 6, "%sNULL", i ? "," : "");
        else
            used += (size_t)snprintf(out + used, 6, "%s%d", i ? "," : "", (int)odi[i]);
    }
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

static const char *param_pain(struct call *call, int32_t pain)
{
    return pain < 0 ? NULL : param_i64(call, pain);
}

static const char *param_pressure(struct call *call, Clinic__V1__Pressure p)
{
    char label[32];
    if (p == CLINIC__V1__PRESSURE__PRESSURE_UNSPECIFIED ||
        !param_enum_label(&clinic__v1__pressure__descriptor, p, label, sizeof label))
        return NULL;
    return call_strdup(call, label);
}

/* Fills params[0..9] with c's values in the order of clinic_note_draft/edit's content
 * parameters: the fields the mask names (all when n is 0; only those were checked), NULL for
 * the others, which clinic_note_edit leaves as they are. False (the call failed) when out of
 * memory. */
static bool content_params(struct call *call, const Clinic__V1__NoteContent *c, char *const *mask,
                           size_t n, const char **params)
{
    bool ok = true;
#define WANTED(name) (n == 0 || check_in_mask(mask, n, name))
#define SET(i, name, value, needed)                                                                \
    do {                                                                                           \
        params[i] = WANTED(name) ? (value) : NULL;                                                 \
        ok = ok && (params[i] || !WANTED(name) || !(needed));                                      \
    } while (0)
    SET(0, "pain_before", param_pain(call, c->pain_before), c->pain_before >= 0);
    SET(1, "pain_after", param_pain(call, c->pain_after), c->pain_after >= 0);
    SET(2, "areas",
        param_enum_array(call, &clinic__v1__body_region__descriptor, (const int *)c->areas,
                         c->n_areas),
        true);
    SET(3, "techniques",
        param_enum_array(call, &clinic__v1__technique__descriptor, (const int *)c->techniques,
                         c->n_techniques),
        true);
    SET(4, "pressure", param_pressure(call, c->pressure), false);
    SET(5, "subjective", c->subjective, true);
    SET(6, "objective", c->objective, true);
    SET(7, "assessment", c->assessment, true);
    SET(8, "plan", c->plan, true);
    SET(9, "odi", param_odi(call, c->odi, c->n_odi), c->n_odi > 0);
#undef SET
#undef WANTED
    if (!ok)
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
    return ok;
}

/* ------------------------------------------------------------------ answering */

/* Sets the repeated `amendments` of each of the n notes from the rows of amendments_stmt. False
 * (the call failed) on a database error or when a value does not convert. */
static bool fill_amendments(struct call *call, Clinic__V1__Note **notes, size_t n)
{
    if (n == 0)
        return true;
    int64_t *ids = call_alloc(call, n * sizeof *ids);
    if (!ids) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = notes[i]->id;
    const char *param = param_id_array(call, ids, n);
    struct db_result *r;
    if (!param) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return false;
    }
    if (db_query(call->db, &amendments_stmt, (const char *[]){param}, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    int rows = db_rows(r);
    bool ok = true;
    /* rows come ordered by note: each note takes its run of rows */
    for (size_t i = 0; ok && i < n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)notes[i]->id);
        int first = 0;
        while (first < rows && strcmp(db_value(r, first, 1), id) != 0)
            first++;
        int count = 0;
        while (first + count < rows && strcmp(db_value(r, first + count, 1), id) == 0)
            count++;
        if (count == 0)
            continue;
        Clinic__V1__Amendment **list = call_alloc(call, (size_t)count * sizeof *list);
        if (!list) {
            call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
            ok = false;
            break;
        }
        for (int k = 0; ok && k < count; k++) {
            list[k] = (Clinic__V1__Amendment *)rowmap_new(call, &clinic__v1__amendment__descriptor);
            ok = list[k] && rowmap_fill(call, &list[k]->base, r, first + k);
        }
        notes[i]->amendments = list;
        notes[i]->n_amendments = (size_t)count;
    }
    db_result_free(r);
    return ok;
}

/* Answers with note `id` and its amendments as the caller may see them; NOT_FOUND when row-level
 * security hides it (a draft, to a client) or it does not exist. */
static void reply_note(struct call *call, int64_t id)
{
    struct db_result *r;
    if (db_query(call->db, &note_stmt, (const char *[]){param_i64(call, id)}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) == 0) {
        call_fail(call, STATUS_NOT_FOUND, "note %lld does not exist or is not signed yet",
                  (long long)id);
        db_result_free(r);
        return;
    }
    Clinic__V1__Note *note = (Clinic__V1__Note *)rowmap_new(call, &clinic__v1__note__descriptor);
    bool ok = note && rowmap_fill(call, &note->base, r, 0);
    db_result_free(r);
    if (ok && fill_amendments(call, &note, 1))
        call_reply(&note->base, call);
}

/* Runs a statement whose single value is a note id (clinic_note_*), and answers with that note. */
static void change_and_reply(struct call *call, const struct db_stmt *stmt,
                             const char *const *params)
{
    const char *id = rowmap_changed_id(call, stmt, params, NULL);
    if (!id)
        return;
    call_set_target(call, "note:%s", id);
    reply_note(call, strtoll(id, NULL, 10));
}

/* ------------------------------------------------------------------ handlers */

HANDLER(svc_notes_draft_note, Notes, DraftNoteRequest, Note)
{
    /* no content at all: an empty draft, nothing recorded (pain -1, not 0) */
    Clinic__V1__NoteContent empty = CLINIC__V1__NOTE_CONTENT__INIT;
    empty.pain_before = empty.pain_after = -1;
    const Clinic__V1__NoteContent *c = in->content ? in->content : &empty;
    call_set_target(call, "appointment:%lld", (long long)in->appointment_id);
    check_id(call, "appointment_id", in->appointment_id);
    check_content(call, c, NULL, 0);
    if (call->code != STATUS_OK || !check_author(call))
        return;
    const char *params[12];
    params[0] = param_i64(call, in->appointment_id);
    params[1] = param_i64(call, call->caller.therapist_id);
    if (!content_params(call, c, NULL, 0, params + 2))
        return;
    change_and_reply(call, &draft_stmt, params);
}

HANDLER(svc_notes_edit_note, Notes, EditNoteRequest, Note)
{
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    call_set_target(call, "note:%lld", (long long)in->id);
    check_id(call, "id", in->id);
    if (n > 0)
        check_update_mask(call, mask, n, content_fields);
    if (!in->content)
        call_violation(call, "content",
                       "is required: send the fields to change (and name them "
                       "in update_mask)");
    if (call->code != STATUS_OK)
        return;
    check_content(call, in->content, mask, n);
    if (call->code != STATUS_OK || !check_author(call))
        return;
    const char *params[12];
    params[0] = param_i64(call, in->id);
    params[1] = param_text_array(call, n ? mask : (char *const *)content_fields,
                                 n ? n : sizeof content_fields / sizeof *content_fields - 1);
    if (!params[1]) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    if (!content_params(call, in->content, mask, n, params + 2))
        return;
    change_and_reply(call, &edit_stmt, params);
}

HANDLER(svc_notes_sign_note, Notes, NoteRef, Note)
{
    call_set_target(call, "note:%lld", (long long)in->id);
    if (!check_id(call, "id", in->id) || !check_author(call))
        return;
    change_and_reply(call, &sign_stmt, (const char *[]){param_i64(call, in->id)});
}

HANDLER(svc_notes_amend_note, Notes, AmendNoteRequest, Note)
{
    call_set_target(call, "note:%lld", (long long)in->id);
    check_id(call, "id", in->id);
    if (check_text(call, "reason", in->reason, 1, REASON_MAX))
        check_long_text(call, "reason", in->reason, REASON_MAX, true);
    check_long_text(call, "text", in->text, NOTE_TEXT_MAX, true);
    if (call->code != STATUS_OK || !check_author(call))
        return;
    const char *params[] = {param_i64(call, in->id), param_i64(call, call->caller.therapist_id),
                            in->reason, in->text};
    change_and_reply(call, &amend_stmt, params);
}

HANDLER(svc_notes_get_note, Notes, NoteRef, Note)
{
    call_set_target(call, "note:%lld", (long long)in->id);
    if (!check_id(call, "id", in->id))
        return;
    reply_note(call, in->id);
}

HANDLER(svc_notes_list_notes, Notes, ListNotesRequest, ListNotesResponse)
{
    uint32_t size;
    int64_t after;
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    if (!check_page(call, in->page_size, in->page_token, &size, &after) || call->code != STATUS_OK)
        return;
    const char *client = param_i64(call, in->client_id);
    if (!check_client_exists(call, in->client_id))
        return;
    struct db_result *r;
    const char *params[] = {client, param_i64(call, after), param_u32(call, size + 1)};
    if (db_query(call->db, &list_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    int rows = db_rows(r);
    bool more = rows > (int)size;
    if (more)
        rows = (int)size;
    Clinic__V1__ListNotesResponse *list = (Clinic__V1__ListNotesResponse *)rowmap_new(
        call, &clinic__v1__list_notes_response__descriptor);
    bool ok = list && rowmap_fill_list(call, &list->base, "notes", r, rows);
    int key = db_columns(r) - 1; /* page_key comes last */
    if (ok && more)
        ok = (list->next_page_token = call_strdup(call, db_value(r, rows - 1, key))) != NULL;
    db_result_free(r);
    if (ok && fill_amendments(call, list->notes, list->n_notes))
        call_reply(&list->base, call);
}

/* The therapist's decision on a flagged client, recorded in the draft before it can be signed
 * (clinic_note_care_check in sql/functions/82_care.sql says when one is needed). */
HANDLER(svc_notes_decide_care, Notes, DecideCareRequest, Note)
{
    char decision[32];
    call_set_target(call, "note:%lld", (long long)in->id);
    check_id(call, "id", in->id);
    if (in->decision == CLINIC__V1__CARE_DECISION__CARE_DECISION_UNSPECIFIED ||
        !param_enum_label(&clinic__v1__care_decision__descriptor, in->decision, decision,
                          sizeof decision))
        call_violation(call, "decision", "must be treat, treat with changes or refer out");
    check_long_text(call, "reason", in->reason, DECISION_REASON_MAX, true);
    if (call->code != STATUS_OK || !check_author(call))
        return;
    const char *params[] = {param_i64(call, in->id), decision, in->reason};
    change_and_reply(call, &decide_stmt, params);
}

static Clinic__V1__Notes_Service notes = CLINIC__V1__NOTES__INIT(svc_notes_);

const struct handler_set svc_notes_handlers = {&notes.base};
