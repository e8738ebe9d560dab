/* clinic.v1.Notes and clinic.v1.Progress through libclinic, as each role calls them: a therapist
 * drafts, edits, signs and amends the note of their session; a signed note never changes; a
 * note is signed only when complete; the ODI is scored by the database; a course of six
 * sessions shows clinically important change; a client reads their own signed notes and nothing
 * else; the front desk reads no note; every read and change leaves an audit row; and no note
 * text reaches the daemon's log.
 *
 * The clinic is written by SQL (harness_seed_clinic, Europe/Berlin) and so are the sessions:
 * completed appointments in January and February 2026, each on its own day, so that no test
 * depends on another and no booking rule (minimum notice) stands between a test and a note. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/notes.pb-c.h"
#include "harness.h"
#include "status.h"

#define ZONE       "Europe/Berlin"
#define NO_SUCH_ID 987654321
#define PAGE_ALL   500
/* a phrase written into notes; the daemon's log must never contain it */
#define SECRET_PHRASE "sciatica flares after the divorce"

enum who { ADMIN, THERAPIST1, THERAPIST2, CLIENT1, CLIENT2, CLIENT3, FRONT_DESK, N_WHO };

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static clinic_client *as[N_WHO];
static int next_day; /* each session on its own day */

/* ------------------------------------------------------------------ helpers */

static int64_t sql_number(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    if (!v)
        fail_msg("SQL failed: %s", sql);
    int64_t n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* A completed (or `status`) one-hour session of client with therapist on a day of its own, at
 * 10:00 Berlin time from 2026-01-05 on (winter time: +01:00). Returns its id; its start as the
 * note shows it goes into start (when not NULL). */
static int64_t session(int64_t client_id, int64_t therapist, const char *status, char *start,
                       size_t len)
{
    char sql[1024];
    int day = next_day++;
    assert_true(day < 50); /* stays in winter time, before 2026-03-29 */
    snprintf(sql, sizeof sql,
             "WITH s AS (SELECT timestamptz '2026-01-05 10:00+01' + %d * "
             "interval '1 day' AS t)"
             " INSERT INTO appointments (client_id, therapist_id, room_id, "
             "service_id, location_id,"
             " start_at, end_at, blocked, status)"
             " SELECT %lld, %lld, %lld, %lld, %lld, t, t + interval '1 hour',"
             " tstzrange(t, t + interval '1 hour'), '%s' FROM s RETURNING id",
             day, (long long)client_id, (long long)therapist, clinic.room_ids[day % 2],
             clinic.service_id, clinic.location_id, status);
    int64_t id = sql_number(sql);
    if (start) {
        int d = 5 + day, month = d > 31 ? 2 : 1;
        snprintf(start, len, "2026-%02d-%02dT10:00:00+01:00", month, month == 2 ? d - 31 : d);
    }
    return id;
}

static bool is_mutating(const char *method)
{
    return strstr(method, "Draft") || strstr(method, "Edit") || strstr(method, "Sign") ||
           strstr(method, "Amend");
}

/* Calls "Notes/<M>" or "Progress/<M>" as `who`; *out holds the reply on OK. */
static int call_as(enum who who, const char *method, const void *req,
                   const ProtobufCMessageDescriptor *type, void *out, struct clinic_error *err)
{
    return harness_call(as[who], method, req, type, out, is_mutating(method), NULL, err);
}

static void assert_code(int code, const struct clinic_error *err, int want, const char *phrase)
{
    if (code != want)
        fail_msg("expected status %d, got %d: %s", want, code, code ? err->message : "OK");
    if (phrase && !strstr(err->message, phrase))
        fail_msg("the sentence \"%s\" does not mention \"%s\"", err->message, phrase);
}

static void assert_violation_on(int code, const struct clinic_error *err, const char *field)
{
    if (code != STATUS_INVALID_ARGUMENT)
        fail_msg("expected INVALID_ARGUMENT on %s, got %d: %s", field, code, err->message);
    if (!harness_has_violation(err, field))
        fail_msg("no violation on %s; message: %s", field, err->message);
}

/* A complete note's content (signable): pain 6 -> 3, lower back and glutes, myofascial release
 * and trigger points, firm, the four SOAP texts. The arrays are static: do not free. */
static Clinic__V1__NoteContent full_content(void)
{
    static Clinic__V1__BodyRegion areas[] = {CLINIC__V1__BODY_REGION__BODY_REGION_LOWER_BACK,
                                             CLINIC__V1__BODY_REGION__BODY_REGION_GLUTES};
    static Clinic__V1__Technique techniques[] = {
        CLINIC__V1__TECHNIQUE__TECHNIQUE_MYOFASCIAL_RELEASE,
        CLINIC__V1__TECHNIQUE__TECHNIQUE_TRIGGER_POINT};
    Clinic__V1__NoteContent c = CLINIC__V1__NOTE_CONTENT__INIT;
    c.pain_before = 6;
    c.pain_after = 3;
    c.n_areas = 2;
    c.areas = areas;
    c.n_techniques = 2;
    c.techniques = techniques;
    c.pressure = CLINIC__V1__PRESSURE__PRESSURE_FIRM;
    c.subjective = "stiff lower back, worse in the mornings;\n" SECRET_PHRASE;
    c.objective = "reduced flexion, tender L4-L5 paraspinals";
    c.assessment = "myofascial low back pain";
    c.plan = "weekly for six weeks; home stretches";
    return c;
}

/* Nothing recorded yet: pain -1 (0 would be a rating), everything else empty. */
static Clinic__V1__NoteContent empty_content(void)
{
    Clinic__V1__NoteContent c = CLINIC__V1__NOTE_CONTENT__INIT;
    c.pain_before = c.pain_after = -1;
    return c;
}

static int draft(enum who who, int64_t appointment, Clinic__V1__NoteContent *content,
                 Clinic__V1__Note **out, struct clinic_error *err)
{
    Clinic__V1__DraftNoteRequest req = CLINIC__V1__DRAFT_NOTE_REQUEST__INIT;
    req.appointment_id = appointment;
    req.content = content;
    return call_as(who, "Notes/DraftNote", &req, &clinic__v1__note__descriptor, out, err);
}

/* Drafts the note of `appointment` as `who`; must succeed. Returns the note (free it). */
static Clinic__V1__Note *draft_ok(enum who who, int64_t appointment, Clinic__V1__NoteContent c)
{
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    int code = draft(who, appointment, &c, &n, &err);
    if (code != STATUS_OK)
        fail_msg("DraftNote of appointment %lld: %d %s", (long long)appointment, code, err.message);
    return n;
}

static int on_note(enum who who, const char *method, int64_t id, Clinic__V1__Note **out,
                   struct clinic_error *err)
{
    Clinic__V1__NoteRef ref = CLINIC__V1__NOTE_REF__INIT;
    ref.id = id;
    return call_as(who, method, &ref, &clinic__v1__note__descriptor, out, err);
}

static int edit(enum who who, int64_t id, Clinic__V1__NoteContent *content, char **mask, size_t n,
                Clinic__V1__Note **out, struct clinic_error *err)
{
    Clinic__V1__EditNoteRequest req = CLINIC__V1__EDIT_NOTE_REQUEST__INIT;
    req.id = id;
    req.content = content;
    req.update_mask = mask;
    req.n_update_mask = n;
    return call_as(who, "Notes/EditNote", &req, &clinic__v1__note__descriptor, out, err);
}

static int amend(enum who who, int64_t id, const char *reason, const char *text,
                 Clinic__V1__Note **out, struct clinic_error *err)
{
    Clinic__V1__AmendNoteRequest req = CLINIC__V1__AMEND_NOTE_REQUEST__INIT;
    req.id = id;
    req.reason = (char *)reason;
    req.text = (char *)text;
    return call_as(who, "Notes/AmendNote", &req, &clinic__v1__note__descriptor, out, err);
}

/* A complete, signed note of a new session of client with therapist (as who). Returns its id. */
static int64_t signed_note(enum who who, int64_t client_id, int64_t therapist)
{
    struct clinic_error err;
    Clinic__V1__Note *n =
        draft_ok(who, session(client_id, therapist, "completed", NULL, 0), full_content());
    int64_t id = n->id;
    harness_free_message(n);
    int code = on_note(who, "Notes/SignNote", id, &n, &err);
    if (code != STATUS_OK)
        fail_msg("SignNote %lld: %d %s", (long long)id, code, err.message);
    harness_free_message(n);
    return id;
}

static int list_notes(enum who who, int64_t client_id, uint32_t size, const char *token,
                      Clinic__V1__ListNotesResponse **out, struct clinic_error *err)
{
    Clinic__V1__ListNotesRequest req = CLINIC__V1__LIST_NOTES_REQUEST__INIT;
    req.client_id = client_id;
    req.page_size = size;
    req.page_token = (char *)(token ? token : "");
    return call_as(who, "Notes/ListNotes", &req, &clinic__v1__list_notes_response__descriptor, out,
                   err);
}

static int progress(enum who who, int64_t client_id, Clinic__V1__ClientProgressResponse **out,
                    struct clinic_error *err)
{
    Clinic__V1__ClientProgressRequest req = CLINIC__V1__CLIENT_PROGRESS_REQUEST__INIT;
    req.client_id = client_id;
    return call_as(who, "Progress/ClientProgress", &req,
                   &clinic__v1__client_progress_response__descriptor, out, err);
}

static int64_t audit_count(const char *method, const char *target, const char *outcome)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE method = '/clinic.v1.%s' AND "
             "target = '%s'"
             " AND outcome = '%s'",
             method, target, outcome);
    return sql_number(sql);
}

/* ------------------------------------------------------------------ set-up */

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "notes", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 2, 3, &clinic))
        return -1;
    struct {
        const char *email, *role;
        long long therapist, client;
    } users[N_WHO] = {
        [ADMIN] = {HARNESS_ADMIN_EMAIL, "admin", 0, 0},
        [THERAPIST1] = {"t1@notes.test", "therapist", clinic.therapist_ids[0], 0},
        [THERAPIST2] = {"t2@notes.test", "therapist", clinic.therapist_ids[1], 0},
        [CLIENT1] = {"c1@notes.test", "client", 0, clinic.client_ids[0]},
        [CLIENT2] = {"c2@notes.test", "client", 0, clinic.client_ids[1]},
        [CLIENT3] = {"c3@notes.test", "client", 0, clinic.client_ids[2]},
        [FRONT_DESK] = {"desk@notes.test", "front_desk", 0, 0},
    };
    for (int i = 0; i < N_WHO; i++) {
        char token[64];
        if (harness_create_user(db_url, users[i].email, users[i].role, users[i].therapist,
                                users[i].client, NULL) < 0 ||
            harness_login(daemon_.url, users[i].email, NULL, token, sizeof token) != STATUS_OK ||
            !(as[i] = harness_connect_as(daemon_.url, token)))
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_WHO; i++)
        clinic_close(as[i]);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ the life of a note */

static void a_note_is_drafted_edited_signed_and_amended(void **state)
{
    (void)state;
    struct clinic_error err;
    char start[40];
    int64_t appt =
        session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", start, sizeof start);
    Clinic__V1__NoteContent c = empty_content();
    c.pain_before = 6;
    c.subjective = "stiff lower back\nworse in the mornings";
    Clinic__V1__Note *n = draft_ok(THERAPIST1, appt, c);
    int64_t id = n->id;
    assert_true(id > 0);
    assert_int_equal(n->appointment_id, appt);
    assert_int_equal(n->client_id, clinic.client_ids[0]);
    assert_int_equal(n->author_therapist_id, clinic.therapist_ids[0]);
    assert_string_equal(n->author_name, "Therapist 1");
    assert_int_equal(n->status, CLINIC__V1__NOTE_STATUS__NOTE_STATUS_DRAFT);
    assert_int_equal(n->pain_before, 6);
    assert_int_equal(n->pain_after, -1);
    assert_int_equal(n->n_areas, 0);
    assert_int_equal(n->pressure, CLINIC__V1__PRESSURE__PRESSURE_UNSPECIFIED);
    assert_string_equal(n->subjective, "stiff lower back\nworse in the mornings");
    assert_int_equal(n->n_odi, 0);
    assert_false(n->has_odi_score);
    assert_string_equal(n->session_start, start);
    assert_string_equal(n->signed_at, "");
    assert_int_equal(n->n_amendments, 0);
    harness_free_message(n);

    /* the mask changes what it names, nothing else */
    Clinic__V1__NoteContent full = full_content();
    char *mask[] = {"pain_after", "areas", "techniques", "pressure", "plan"};
    assert_int_equal(edit(THERAPIST1, id, &full, mask, 5, &n, &err), STATUS_OK);
    assert_int_equal(n->pain_before, 6);
    assert_int_equal(n->pain_after, 3);
    assert_int_equal(n->n_areas, 2);
    assert_int_equal(n->areas[0], CLINIC__V1__BODY_REGION__BODY_REGION_LOWER_BACK);
    assert_int_equal(n->areas[1], CLINIC__V1__BODY_REGION__BODY_REGION_GLUTES);
    assert_int_equal(n->n_techniques, 2);
    assert_int_equal(n->techniques[0], CLINIC__V1__TECHNIQUE__TECHNIQUE_MYOFASCIAL_RELEASE);
    assert_int_equal(n->pressure, CLINIC__V1__PRESSURE__PRESSURE_FIRM);
    assert_string_equal(n->subjective, "stiff lower back\nworse in the mornings");
    assert_string_equal(n->plan, full.plan);
    assert_string_equal(n->objective, "");
    harness_free_message(n);

    assert_int_equal(on_note(THERAPIST1, "Notes/SignNote", id, &n, &err), STATUS_OK);
    assert_int_equal(n->status, CLINIC__V1__NOTE_STATUS__NOTE_STATUS_SIGNED);
    assert_true(strlen(n->signed_at) > 0);
    harness_free_message(n);

    assert_int_equal(amend(THERAPIST1, id, "wrong side", "the right hip, not the left", &n, &err),
                     STATUS_OK);
    assert_int_equal(n->n_amendments, 1);
    assert_int_equal(
        amend(THERAPIST1, id, "addendum", "client reported relief next day", NULL, &err),
        STATUS_OK);
    harness_free_message(n);

    assert_int_equal(on_note(THERAPIST1, "Notes/GetNote", id, &n, &err), STATUS_OK);
    assert_int_equal(n->status, CLINIC__V1__NOTE_STATUS__NOTE_STATUS_SIGNED);
    assert_int_equal(n->n_amendments, 2);
    assert_string_equal(n->amendments[0]->reason, "wrong side");
    assert_string_equal(n->amendments[0]->text, "the right hip, not the left");
    assert_string_equal(n->amendments[0]->author_name, "Therapist 1");
    assert_int_equal(n->amendments[0]->author_therapist_id, clinic.therapist_ids[0]);
    assert_true(strlen(n->amendments[0]->created_at) > 0);
    assert_string_equal(n->amendments[1]->reason, "addendum");
    assert_string_equal(n->plan, full.plan); /* amendments add; the note stays as signed */
    harness_free_message(n);
}

static void a_session_has_one_note_and_a_cancelled_one_none(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    int64_t appt = session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0);
    harness_free_message(draft_ok(THERAPIST1, appt, empty_content()));
    Clinic__V1__NoteContent c = empty_content();
    assert_code(draft(THERAPIST1, appt, &c, &n, &err), &err, STATUS_ALREADY_EXISTS,
                "already has a note");
    int64_t cancelled =
        session(clinic.client_ids[0], clinic.therapist_ids[0], "cancelled", NULL, 0);
    assert_code(draft(THERAPIST1, cancelled, &c, &n, &err), &err, STATUS_FAILED_PRECONDITION,
                "cancelled");
    /* the session of another therapist is not theirs to write */
    int64_t other = session(clinic.client_ids[0], clinic.therapist_ids[1], "completed", NULL, 0);
    assert_code(draft(THERAPIST1, other, &c, &n, &err), &err, STATUS_PERMISSION_DENIED, NULL);
}

static void a_signed_note_cannot_be_edited_and_stays_unchanged(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *before, *after, *n = NULL;
    int64_t id = signed_note(THERAPIST1, clinic.client_ids[0], clinic.therapist_ids[0]);
    assert_int_equal(on_note(THERAPIST1, "Notes/GetNote", id, &before, &err), STATUS_OK);

    Clinic__V1__NoteContent c = full_content();
    c.plan = "rewritten after the fact";
    char *mask[] = {"plan"};
    assert_code(edit(THERAPIST1, id, &c, mask, 1, &n, &err), &err, STATUS_FAILED_PRECONDITION,
                "is signed and cannot change; add an amendment");
    assert_code(edit(THERAPIST1, id, &c, NULL, 0, &n, &err), &err, STATUS_FAILED_PRECONDITION,
                "signed");
    assert_code(on_note(THERAPIST1, "Notes/SignNote", id, &n, &err), &err,
                STATUS_FAILED_PRECONDITION, "already signed");

    assert_int_equal(on_note(THERAPIST1, "Notes/GetNote", id, &after, &err), STATUS_OK);
    assert_true(harness_same_bytes(before, after));
    harness_free_message(before);
    harness_free_message(after);

    /* and a draft is edited, not amended */
    Clinic__V1__Note *d = draft_ok(
        THERAPIST1, session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0),
        empty_content());
    assert_code(amend(THERAPIST1, d->id, "typo", "x", &n, &err), &err, STATUS_FAILED_PRECONDITION,
                "edit it instead");
    harness_free_message(d);
}

/* A note is signed for a session that happened (checked in or completed): a booked one's
 * complete draft is kept, and signing it says what to do first. */
static void a_note_is_signed_only_for_a_session_that_happened(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    int64_t appt = session(clinic.client_ids[0], clinic.therapist_ids[0], "booked", NULL, 0);
    Clinic__V1__Note *d = draft_ok(THERAPIST1, appt, full_content());
    char sentence[160];
    snprintf(sentence, sizeof sentence,
             "appointment %lld is booked: check the client in or record the session before signing",
             (long long)appt);
    assert_code(on_note(THERAPIST1, "Notes/SignNote", d->id, &n, &err), &err,
                STATUS_FAILED_PRECONDITION, sentence);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status FROM treatment_notes WHERE id = %lld",
             (long long)d->id);
    char *status = harness_sql(db_url, sql);
    assert_non_null(status);
    assert_string_equal(status, "draft");
    free(status);
    /* checked in, it is signed */
    snprintf(sql, sizeof sql, "UPDATE appointments SET status = 'checked_in' WHERE id = %lld",
             (long long)appt);
    free(harness_sql(db_url, sql));
    assert_int_equal(on_note(THERAPIST1, "Notes/SignNote", d->id, &n, &err), STATUS_OK);
    harness_free_message(n);
    harness_free_message(d);
}

static void signing_an_incomplete_note_names_what_is_missing(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    Clinic__V1__Note *d = draft_ok(
        THERAPIST1, session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0),
        empty_content());
    assert_code(on_note(THERAPIST1, "Notes/SignNote", d->id, &n, &err), &err,
                STATUS_FAILED_PRECONDITION,
                "cannot be signed without pain before, pain after, an area "
                "treated, a technique");
    Clinic__V1__NoteContent c = full_content();
    char *mask[] = {"pain_before", "pain_after", "areas"};
    assert_int_equal(edit(THERAPIST1, d->id, &c, mask, 3, &n, &err), STATUS_OK);
    harness_free_message(n);
    assert_code(on_note(THERAPIST1, "Notes/SignNote", d->id, &n, &err), &err,
                STATUS_FAILED_PRECONDITION, "cannot be signed without a technique");
    assert_int_equal(on_note(THERAPIST1, "Notes/GetNote", d->id, &n, &err), STATUS_OK);
    assert_int_equal(n->status, CLINIC__V1__NOTE_STATUS__NOTE_STATUS_DRAFT);
    harness_free_message(n);
    harness_free_message(d);
}

static void bad_fields_are_each_named(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    int64_t appt = session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0);

    Clinic__V1__NoteContent c = full_content();
    Clinic__V1__BodyRegion bad_areas[] = {99};
    int32_t short_odi[] = {1, 2, 3};
    c.pain_before = 11;
    c.pain_after = -2;
    c.areas = bad_areas;
    c.n_areas = 1;
    c.pressure = 42;
    c.odi = short_odi;
    c.n_odi = 3;
    assert_int_equal(draft(THERAPIST1, appt, &c, &n, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 5); /* one per bad field */
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.pain_before");
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.pain_after");
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.areas");
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.pressure");
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.odi");

    c = full_content();
    Clinic__V1__Technique twice[] = {CLINIC__V1__TECHNIQUE__TECHNIQUE_SWEDISH,
                                     CLINIC__V1__TECHNIQUE__TECHNIQUE_SWEDISH};
    c.techniques = twice;
    int32_t odi_out_of_range[] = {1, 2, 3, 4, 6, 0, 0, 0, 0, 0};
    c.odi = odi_out_of_range;
    c.n_odi = 10;
    char *long_text = malloc(20002);
    assert_non_null(long_text);
    memset(long_text, 'a', 20001);
    long_text[20001] = '\0';
    c.objective = long_text;
    assert_int_equal(draft(THERAPIST1, appt, &c, &n, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 3);
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.techniques");
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.odi");
    assert_violation_on(STATUS_INVALID_ARGUMENT, &err, "content.objective");
    long_text[20000] = '\0'; /* exactly 20000 characters is allowed */
    c = full_content();
    c.objective = long_text;
    assert_int_equal(draft(THERAPIST1, appt, &c, &n, &err), STATUS_OK);
    assert_int_equal(strlen(n->objective), 20000);
    int64_t id = n->id;
    harness_free_message(n);
    free(long_text);

    /* fields outside the mask are ignored, bad or not */
    Clinic__V1__NoteContent only_plan = full_content();
    only_plan.pain_before = 99;
    only_plan.areas = bad_areas;
    only_plan.plan = "fortnightly";
    char *plan_mask[] = {"plan"};
    assert_int_equal(edit(THERAPIST1, id, &only_plan, plan_mask, 1, &n, &err), STATUS_OK);
    assert_int_equal(n->pain_before, 6);
    assert_int_equal(n->n_areas, 2);
    assert_string_equal(n->plan, "fortnightly");
    harness_free_message(n);

    c = full_content();
    char *unknown[] = {"plan", "colour"};
    assert_violation_on(edit(THERAPIST1, id, &c, unknown, 2, &n, &err), &err, "update_mask");
    assert_violation_on(amend(THERAPIST1, id, "", "text", &n, &err), &err, "reason");
    assert_violation_on(amend(THERAPIST1, id, "why", " \n ", &n, &err), &err, "text");
    assert_violation_on(on_note(ADMIN, "Notes/GetNote", 0, &n, &err), &err, "id");
}

static void odi_is_scored_by_the_database_without_unanswered_sections(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    Clinic__V1__NoteContent c = full_content();
    /* sections 3 and 7 unanswered: 19 / (5 x 8) = 47.5 % */
    int32_t odi[] = {2, 3, -1, 1, 4, 2, -1, 3, 2, 2};
    c.odi = odi;
    c.n_odi = 10;
    n = draft_ok(THERAPIST1,
                 session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0), c);
    assert_true(n->has_odi_score);
    assert_true(n->odi_score > 47.49 && n->odi_score < 47.51);
    assert_int_equal(n->n_odi, 10);
    assert_int_equal(n->odi[2], -1);
    assert_int_equal(n->odi[6], -1);
    assert_int_equal(n->odi[1], 3);
    int64_t id = n->id;
    harness_free_message(n);

    int32_t none_answered[] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    c.odi = none_answered;
    char *mask[] = {"odi"};
    assert_int_equal(edit(THERAPIST1, id, &c, mask, 1, &n, &err), STATUS_OK);
    assert_false(n->has_odi_score); /* nothing measured is not "no disability" */
    assert_int_equal(n->n_odi, 10);
    harness_free_message(n);

    int32_t all_answered[] = {1, 2, 3, 4, 5, 0, 1, 2, 3, 4}; /* 25 / 50 */
    c.odi = all_answered;
    assert_int_equal(edit(THERAPIST1, id, &c, mask, 1, &n, &err), STATUS_OK);
    assert_true(n->has_odi_score && n->odi_score > 49.99 && n->odi_score < 50.01);
    harness_free_message(n);

    c.odi = NULL;
    c.n_odi = 0;
    assert_int_equal(edit(THERAPIST1, id, &c, mask, 1, &n, &err), STATUS_OK);
    assert_false(n->has_odi_score);
    assert_int_equal(n->n_odi, 0);
    harness_free_message(n);
}

/* Client 3's course with therapist 2: pain before 8 7 6 5 4 3, ODI 40 36 30 26 20 16 %. */
static void a_course_of_six_sessions_shows_clinically_important_change(void **state)
{
    (void)state;
    struct clinic_error err;
    static const int pain[6] = {8, 7, 6, 5, 4, 3};
    /* ten sections each, sums 20 18 15 13 10 8 of 50 */
    static const int32_t odi[6][10] = {
        {2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, {2, 2, 2, 2, 2, 2, 2, 2, 1, 1},
        {2, 2, 2, 2, 2, 1, 1, 1, 1, 1}, {2, 2, 2, 1, 1, 1, 1, 1, 1, 1},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}};
    static const double odi_score[6] = {40, 36, 30, 26, 20, 16};
    static const bool pain_mcid[6] = {false, false, true, true, true, true};
    static const bool odi_mcid[6] = {false, false, true, true, true, true};
    int64_t client3 = clinic.client_ids[2];
    char starts[6][40];
    for (int i = 0; i < 6; i++) {
        Clinic__V1__NoteContent c = full_content();
        c.pain_before = pain[i];
        c.pain_after = pain[i] - 2;
        c.odi = (int32_t *)odi[i];
        c.n_odi = 10;
        Clinic__V1__Note *n = draft_ok(
            THERAPIST2, session(client3, clinic.therapist_ids[1], "completed", starts[i], 40), c);
        int64_t id = n->id;
        harness_free_message(n);
        assert_int_equal(on_note(THERAPIST2, "Notes/SignNote", id, &n, &err), STATUS_OK);
        harness_free_message(n);
    }
    /* a seventh session still in draft does not count */
    harness_free_message(draft_ok(THERAPIST2,
                                  session(client3, clinic.therapist_ids[1], "completed", NULL, 0),
                                  full_content()));

    enum who readers[] = {THERAPIST2, CLIENT3, ADMIN};
    for (size_t r = 0; r < sizeof readers / sizeof *readers; r++) {
        Clinic__V1__ClientProgressResponse *p = NULL;
        assert_int_equal(progress(readers[r], client3, &p, &err), STATUS_OK);
        assert_int_equal(p->client_id, client3);
        assert_string_equal(p->client_name, "Client 3");
        assert_int_equal(p->n_sessions, 6);
        for (int i = 0; i < 6; i++) {
            const Clinic__V1__ProgressSession *s = p->sessions[i];
            assert_int_equal(s->session, i + 1);
            assert_string_equal(s->session_start, starts[i]);
            assert_int_equal(s->pain_before, pain[i]);
            assert_int_equal(s->pain_after, pain[i] - 2);
            assert_int_equal(s->pain_change, pain[i] - pain[0]);
            assert_true(s->has_odi_score);
            assert_true(s->odi_score > odi_score[i] - 0.01 && s->odi_score < odi_score[i] + 0.01);
            assert_true(s->has_odi_change);
            double change = odi_score[i] - odi_score[0];
            assert_true(s->odi_change > change - 0.01 && s->odi_change < change + 0.01);
            if (s->pain_mcid != pain_mcid[i] || s->odi_mcid != odi_mcid[i])
                fail_msg("session %d: pain_mcid %d odi_mcid %d", i + 1, s->pain_mcid, s->odi_mcid);
        }
        harness_free_message(p);
    }

    /* nobody else's course */
    Clinic__V1__ClientProgressResponse *p = NULL;
    assert_code(progress(CLIENT1, client3, &p, &err), &err, STATUS_PERMISSION_DENIED, NULL);
    assert_code(progress(THERAPIST1, client3, &p, &err), &err, STATUS_PERMISSION_DENIED, NULL);
    assert_code(progress(FRONT_DESK, client3, &p, &err), &err, STATUS_PERMISSION_DENIED, NULL);
    assert_code(progress(ADMIN, NO_SUCH_ID, &p, &err), &err, STATUS_NOT_FOUND, "does not exist");
}

/* ------------------------------------------------------------------ who reads what */

static void a_client_reads_own_signed_notes_only(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    /* client 2: one signed note, one draft; client 1 has notes of their own elsewhere */
    int64_t signed_id = signed_note(THERAPIST1, clinic.client_ids[1], clinic.therapist_ids[0]);
    Clinic__V1__Note *d = draft_ok(
        THERAPIST1, session(clinic.client_ids[1], clinic.therapist_ids[0], "completed", NULL, 0),
        full_content());
    int64_t draft_id = d->id;
    harness_free_message(d);
    int64_t other = signed_note(THERAPIST1, clinic.client_ids[0], clinic.therapist_ids[0]);

    assert_int_equal(on_note(CLIENT2, "Notes/GetNote", signed_id, &n, &err), STATUS_OK);
    assert_int_equal(n->client_id, clinic.client_ids[1]);
    assert_string_equal(n->assessment, "myofascial low back pain");
    harness_free_message(n);
    assert_code(on_note(CLIENT2, "Notes/GetNote", draft_id, &n, &err), &err, STATUS_NOT_FOUND,
                "is not signed yet");
    assert_code(on_note(CLIENT2, "Notes/GetNote", other, &n, &err), &err, STATUS_PERMISSION_DENIED,
                NULL);

    Clinic__V1__ListNotesResponse *l = NULL;
    assert_int_equal(list_notes(CLIENT2, clinic.client_ids[1], 0, NULL, &l, &err), STATUS_OK);
    assert_int_equal(l->n_notes, 1);
    assert_int_equal(l->notes[0]->id, signed_id);
    harness_free_message(l);
    assert_code(list_notes(CLIENT2, clinic.client_ids[0], 0, NULL, &l, &err), &err,
                STATUS_PERMISSION_DENIED, NULL);

    /* their therapist sees both, draft included */
    assert_int_equal(list_notes(THERAPIST1, clinic.client_ids[1], 0, NULL, &l, &err), STATUS_OK);
    assert_int_equal(l->n_notes, 2);
    harness_free_message(l);
    /* a therapist who never treated client 2 sees nothing of theirs */
    assert_code(on_note(THERAPIST2, "Notes/GetNote", signed_id, &n, &err), &err,
                STATUS_PERMISSION_DENIED, NULL);
}

static void the_front_desk_reads_and_writes_no_note(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    int64_t id = signed_note(THERAPIST1, clinic.client_ids[0], clinic.therapist_ids[0]);
    assert_code(on_note(FRONT_DESK, "Notes/GetNote", id, &n, &err), &err, STATUS_PERMISSION_DENIED,
                NULL);
    Clinic__V1__ListNotesResponse *l = NULL;
    assert_code(list_notes(FRONT_DESK, clinic.client_ids[0], 0, NULL, &l, &err), &err,
                STATUS_PERMISSION_DENIED, NULL);
    Clinic__V1__NoteContent c = full_content();
    int64_t appt = session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0);
    assert_code(draft(FRONT_DESK, appt, &c, &n, &err), &err, STATUS_PERMISSION_DENIED, NULL);
    assert_code(amend(FRONT_DESK, id, "why", "what", &n, &err), &err, STATUS_PERMISSION_DENIED,
                NULL);
    /* nor does an admin write one: notes are the treating therapist's */
    assert_code(draft(ADMIN, appt, &c, &n, &err), &err, STATUS_PERMISSION_DENIED, NULL);
}

static void notes_are_listed_in_session_order_page_by_page(void **state)
{
    (void)state;
    struct clinic_error err;
    /* a client of their own, so the count is known: client 2 of therapist 2 */
    int64_t client = clinic.client_ids[1];
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = signed_note(THERAPIST2, client, clinic.therapist_ids[1]);
    /* client 2 also has notes by therapist 1 from an earlier test: the database says how many */
    char token[128] = "";
    int64_t seen[64];
    size_t n_seen = 0;
    for (int page = 0; page < 20; page++) {
        Clinic__V1__ListNotesResponse *l = NULL;
        assert_int_equal(list_notes(ADMIN, client, 2, token, &l, &err), STATUS_OK);
        assert_true(l->n_notes <= 2);
        for (size_t i = 0; i < l->n_notes && n_seen < 64; i++)
            seen[n_seen++] = l->notes[i]->id;
        snprintf(token, sizeof token, "%s", l->next_page_token);
        harness_free_message(l);
        if (!token[0])
            break;
    }
    assert_string_equal(token, "");
    /* every note of the client exactly once, in session order (sessions are created in time
     * order, and so are the ids) */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM treatment_notes n JOIN appointments a"
             " ON a.id = n.appointment_id WHERE a.client_id = %lld",
             (long long)client);
    int64_t total = sql_number(sql);
    assert_int_equal(n_seen, total);
    for (size_t i = 1; i < n_seen; i++)
        assert_true(seen[i - 1] < seen[i]);
    assert_int_equal(seen[n_seen - 1], ids[4]);

    Clinic__V1__ListNotesResponse *l = NULL;
    assert_code(list_notes(ADMIN, NO_SUCH_ID, 0, NULL, &l, &err), &err, STATUS_NOT_FOUND,
                "does not exist");
    assert_violation_on(list_notes(ADMIN, client, 0, "bogus", &l, &err), &err, "page_token");
}

/* Therapist 2 now treats client 2 too (the listing test): they read therapist 1's signed notes
 * of client 2, never therapist 1's draft. */
static void a_therapist_reads_signed_notes_of_clients_in_their_care_not_others_drafts(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    int64_t client = clinic.client_ids[1];
    int64_t by_t1 = signed_note(THERAPIST1, client, clinic.therapist_ids[0]);
    Clinic__V1__Note *d = draft_ok(
        THERAPIST1, session(client, clinic.therapist_ids[0], "completed", NULL, 0), full_content());
    int64_t t1_draft = d->id;
    harness_free_message(d);
    harness_free_message(draft_ok(
        THERAPIST2, session(client, clinic.therapist_ids[1], "booked", NULL, 0), empty_content()));

    assert_int_equal(on_note(THERAPIST2, "Notes/GetNote", by_t1, &n, &err), STATUS_OK);
    assert_string_equal(n->author_name, "Therapist 1");
    harness_free_message(n);
    assert_code(on_note(THERAPIST2, "Notes/GetNote", t1_draft, &n, &err), &err, STATUS_NOT_FOUND,
                NULL);
    Clinic__V1__ListNotesResponse *l = NULL;
    assert_int_equal(list_notes(THERAPIST2, client, PAGE_ALL, NULL, &l, &err), STATUS_OK);
    bool saw_signed = false;
    for (size_t i = 0; i < l->n_notes; i++) {
        assert_true(l->notes[i]->id != t1_draft);
        saw_signed = saw_signed || l->notes[i]->id == by_t1;
        assert_true(l->notes[i]->status == CLINIC__V1__NOTE_STATUS__NOTE_STATUS_SIGNED ||
                    l->notes[i]->author_therapist_id == clinic.therapist_ids[1]);
    }
    assert_true(saw_signed);
    harness_free_message(l);
}

/* A DraftNote whose reply was lost and is sent again with the same key gets the first answer,
 * not ALREADY_EXISTS: one draft, as the first call made it. */
static void a_retried_draft_returns_the_first_answer(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *first = NULL, *again = NULL;
    Clinic__V1__DraftNoteRequest req = CLINIC__V1__DRAFT_NOTE_REQUEST__INIT;
    Clinic__V1__NoteContent c = full_content();
    req.appointment_id =
        session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0);
    req.content = &c;
    assert_int_equal(harness_call(as[THERAPIST1], "Notes/DraftNote", &req,
                                  &clinic__v1__note__descriptor, &first, true, "draft-retry-1",
                                  &err),
                     STATUS_OK);
    assert_int_equal(harness_call(as[THERAPIST1], "Notes/DraftNote", &req,
                                  &clinic__v1__note__descriptor, &again, true, "draft-retry-1",
                                  &err),
                     STATUS_OK);
    assert_int_equal(again->id, first->id);
    harness_free_message(first);
    harness_free_message(again);
    assert_code(draft(THERAPIST1, req.appointment_id, &c, &again, &err), &err,
                STATUS_ALREADY_EXISTS, NULL);
}

/* ------------------------------------------------------------------ accountability */

static void every_note_read_and_change_is_audited(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Note *n = NULL;
    char target[64], client_target[64];
    int64_t appt = session(clinic.client_ids[0], clinic.therapist_ids[0], "completed", NULL, 0);
    n = draft_ok(THERAPIST1, appt, full_content());
    int64_t id = n->id;
    harness_free_message(n);
    snprintf(target, sizeof target, "note:%lld", (long long)id);
    snprintf(client_target, sizeof client_target, "client:%lld", (long long)clinic.client_ids[0]);
    assert_int_equal(audit_count("Notes/DraftNote", target, "OK"), 1);

    Clinic__V1__NoteContent c = full_content();
    char *mask[] = {"plan"};
    assert_int_equal(edit(THERAPIST1, id, &c, mask, 1, &n, &err), STATUS_OK);
    harness_free_message(n);
    assert_int_equal(audit_count("Notes/EditNote", target, "OK"), 1);
    assert_int_equal(on_note(THERAPIST1, "Notes/SignNote", id, &n, &err), STATUS_OK);
    harness_free_message(n);
    assert_int_equal(audit_count("Notes/SignNote", target, "OK"), 1);
    assert_int_equal(amend(THERAPIST1, id, "r", "t", &n, &err), STATUS_OK);
    harness_free_message(n);
    assert_int_equal(audit_count("Notes/AmendNote", target, "OK"), 1);
    /* a refused change is audited with its outcome */
    assert_int_equal(edit(THERAPIST1, id, &c, mask, 1, &n, &err), STATUS_FAILED_PRECONDITION);
    assert_int_equal(audit_count("Notes/EditNote", target, "FAILED_PRECONDITION"), 1);

    /* every read, by whoever reads */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(on_note(i == 0   ? THERAPIST1
                                 : i == 1 ? CLIENT1
                                          : ADMIN,
                                 "Notes/GetNote", id, &n, &err),
                         STATUS_OK);
        harness_free_message(n);
    }
    assert_int_equal(audit_count("Notes/GetNote", target, "OK"), 3);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT role) FROM audit WHERE method = "
             "'/clinic.v1.Notes/GetNote'"
             " AND target = '%s' AND user_id IS NOT NULL AND request_id <> ''",
             target);
    assert_int_equal(sql_number(sql), 3);

    int64_t lists = audit_count("Notes/ListNotes", client_target, "OK");
    Clinic__V1__ListNotesResponse *l = NULL;
    assert_int_equal(list_notes(CLIENT1, clinic.client_ids[0], 0, NULL, &l, &err), STATUS_OK);
    harness_free_message(l);
    assert_int_equal(audit_count("Notes/ListNotes", client_target, "OK"), lists + 1);
    int64_t reads = audit_count("Progress/ClientProgress", client_target, "OK");
    Clinic__V1__ClientProgressResponse *p = NULL;
    assert_int_equal(progress(THERAPIST1, clinic.client_ids[0], &p, &err), STATUS_OK);
    harness_free_message(p);
    assert_int_equal(audit_count("Progress/ClientProgress", client_target, "OK"), reads + 1);
}

/* Runs last: by now every kind of note has passed through the daemon. */
static void no_note_text_reaches_the_log(void **state)
{
    (void)state;
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    assert_null(strstr(log, SECRET_PHRASE));
    assert_null(strstr(log, "myofascial low back pain"));
    assert_null(strstr(log, "the right hip"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_note_is_drafted_edited_signed_and_amended),
        cmocka_unit_test(a_session_has_one_note_and_a_cancelled_one_none),
        cmocka_unit_test(a_signed_note_cannot_be_edited_and_stays_unchanged),
        cmocka_unit_test(a_note_is_signed_only_for_a_session_that_happened),
        cmocka_unit_test(signing_an_incomplete_note_names_what_is_missing),
        cmocka_unit_test(bad_fields_are_each_named),
        cmocka_unit_test(odi_is_scored_by_the_database_without_unanswered_sections),
        cmocka_unit_test(a_course_of_six_sessions_shows_clinically_important_change),
        cmocka_unit_test(a_client_reads_own_signed_notes_only),
        cmocka_unit_test(the_front_desk_reads_and_writes_no_note),
        cmocka_unit_test(notes_are_listed_in_session_order_page_by_page),
        cmocka_unit_test(a_therapist_reads_signed_notes_of_clients_in_their_care_not_others_drafts),
        cmocka_unit_test(a_retried_draft_returns_the_first_answer),
        cmocka_unit_test(every_note_read_and_change_is_audited),
        cmocka_unit_test(no_note_text_reaches_the_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
