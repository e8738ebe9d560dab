/* clinic.v1.Measures against a real daemon, through libclinic and the `clinic` tool: the RMDQ,
 * PSFS and STarT Back questionnaires are recorded with when they were answered, scored by the
 * database (a score is never the caller's), listed oldest first with the change from the first of
 * their kind and whether it is clinically important; the course of care carries them beside the
 * sessions on one time scale in real days, with the current STarT Back risk group; a client
 * records and reads their own, a therapist those of clients in their care, the front desk
 * nothing; every read is audited; and bad answers are told in the questionnaire's words.
 *
 * Dates come from now: sessions and questionnaires lie whole days in the past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clinic/v1/measures.pb-c.h"
#include "clinic/v1/notes.pb-c.h"
#include "harness.h"
#include "status.h"

#define EXIT_USAGE 2

enum who { ADMIN, THERAPIST, CLIENT, DESK, N_WHO };

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];
static char tokens[N_WHO][64];
static clinic_client *as[N_WHO];
/* client 0 is in therapist 0's care (a session 30 days ago with a signed note); client 1 is in
 * therapist 1's; client 2 is the CLI's */
static long long client0, client1, client2;

/* ------------------------------------------------------------------ helpers */

/* The instant `days` days before now, RFC 3339 in UTC, into out (32 bytes). */
static const char *days_ago(int days, char *out, size_t len)
{
    time_t t = time(NULL) - (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

/* A completed session of the client with the therapist `days` days ago, with a signed note. */
static void past_session(long long client, long long therapist, int days, int pain, int room)
{
    long long a = harness_sql_id(
        db_url,
        "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked, status)"
        " SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '1 hour',"
        " tstzrange(s, s + interval '75 minutes'), 'completed'"
        " FROM (SELECT date_trunc('minute', now()) - interval '%d days' AS s) x RETURNING id",
        client, therapist, clinic.room_ids[room], clinic.service_id, clinic.location_id, days);
    assert_true(a > 0);
    assert_true(harness_sql_id(db_url,
                               "INSERT INTO treatment_notes (appointment_id, author_therapist_id,"
                               " status, pain_before, pain_after, areas, techniques, odi)"
                               " VALUES (%lld, %lld, 'signed', %d, 2, '{lower_back}',"
                               " '{swedish}', '{2,2,2,2,2,2,2,2,2,2}') RETURNING id",
                               a, therapist, pain) > 0);
}

static int record(enum who who, long long client, Clinic__V1__MeasureKind kind,
                  const int32_t *answers, size_t n, char **activities, size_t n_activities,
                  const char *at, Clinic__V1__Measure **out, struct clinic_error *err)
{
    Clinic__V1__RecordMeasureRequest req = CLINIC__V1__RECORD_MEASURE_REQUEST__INIT;
    req.client_id = client;
    req.kind = kind;
    req.answers = (int32_t *)answers;
    req.n_answers = n;
    req.activities = activities;
    req.n_activities = n_activities;
    req.recorded_at = (char *)(at ? at : "");
    return harness_call(as[who], "Measures/RecordMeasure", &req, &clinic__v1__measure__descriptor,
                        out, true, NULL, err);
}

static int list(enum who who, long long client, Clinic__V1__ListMeasuresResponse **out,
                struct clinic_error *err)
{
    Clinic__V1__ListMeasuresRequest req = CLINIC__V1__LIST_MEASURES_REQUEST__INIT;
    req.client_id = client;
    return harness_call(as[who], "Measures/ListMeasures", &req,
                        &clinic__v1__list_measures_response__descriptor, out, false, NULL, err);
}

static void rmdq_with(int yeses, int32_t out[24])
{
    for (int i = 0; i < 24; i++)
        out[i] = i < yeses;
}

static void assert_code(int code, const struct clinic_error *err, int want)
{
    if (code != want)
        fail_msg("expected status %d, got %d: %s", want, code, code ? err->message : "OK");
}

static void assert_violation(int code, const struct clinic_error *err, const char *field,
                             const char *phrase)
{
    assert_code(code, err, STATUS_INVALID_ARGUMENT);
    for (size_t i = 0; i < err->n_violations; i++)
        if (strcmp(err->violations[i].field, field) == 0 &&
            strstr(err->violations[i].description, phrase))
            return;
    fail_msg("no violation on %s saying \"%s\"; message: %s", field, phrase, err->message);
}

static long long audit_count(const char *method, long long client, const char *outcome)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE method = '/clinic.v1.%s' AND target = 'client:%lld'"
             " AND outcome = '%s'",
             method, client, outcome);
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Runs `clinic --url <daemon> args...` as `who`. */
static struct harness_run run_as(enum who who, const char *const *args)
{
    const char *argv[40] = {"--url", daemon_.url};
    int n = 2;
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char token[96];
    snprintf(token, sizeof token, "CLINIC_TOKEN=%s", tokens[who]);
    const char *env[] = {token, "XDG_CONFIG_HOME=/nonexistent", "LANG=C.UTF-8", "LC_ALL=", NULL};
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, env, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}
#define CLI(who, ...) run_as((who), (const char *const[]){__VA_ARGS__, NULL})

static void expect(struct harness_run *r, int status)
{
    if (r->status != status)
        fail_msg("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", r->status, status, r->out,
                 r->err);
}

/* ------------------------------------------------------------------ set-up */

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "measures", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "Europe/Berlin", 2, 3, &clinic))
        return -1;
    client0 = clinic.client_ids[0];
    client1 = clinic.client_ids[1];
    client2 = clinic.client_ids[2];
    past_session(client0, clinic.therapist_ids[0], 30, 7, 0);
    past_session(client0, clinic.therapist_ids[0], 16, 5, 0);
    past_session(client1, clinic.therapist_ids[1], 30, 6, 1);
    past_session(client2, clinic.therapist_ids[0], 20, 6, 1);
    snprintf(tokens[ADMIN], sizeof tokens[ADMIN], "%s", daemon_.admin_token);
    static const struct {
        enum who who;
        const char *email, *role;
    } users[] = {{THERAPIST, "t0@measures.test", "therapist"},
                 {CLIENT, "c0@measures.test", "client"},
                 {DESK, "desk@measures.test", "front_desk"}};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        long long t = users[i].who == THERAPIST ? clinic.therapist_ids[0] : 0;
        long long c = users[i].who == CLIENT ? client0 : 0;
        if (harness_create_user(db_url, users[i].email, users[i].role, t, c, NULL) <= 0 ||
            harness_login(daemon_.url, users[i].email, NULL, tokens[users[i].who],
                          sizeof tokens[users[i].who]) != STATUS_OK)
            return -1;
    }
    for (int w = 0; w < N_WHO; w++)
        if (!(as[w] = harness_connect_as(daemon_.url, tokens[w])))
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int w = 0; w < N_WHO; w++)
        clinic_close(as[w]);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ tests */

/* A therapist records each kind for a client in their care; the database scores each. */
static void each_kind_is_recorded_through_the_library_and_scored_by_the_database(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Measure *m = NULL;
    char at[32];
    int32_t a[24];
    rmdq_with(12, a);
    assert_code(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL,
                       0, days_ago(25, at, sizeof at), &m, &err),
                &err, STATUS_OK);
    assert_float_equal(m->score, 12, 0);
    assert_int_equal(m->number, 1);
    assert_false(m->mcid);
    assert_string_equal(m->recorded_by_role, "therapist");
    assert_int_equal(m->client_id, client0);
    /* answered 25 days ago; the course began with the session 30 days ago: day 5 */
    assert_float_equal(m->days, 5, 0.01);
    harness_free_message(m);

    static const int32_t psfs[] = {2, 3, 5};
    char *names[] = {"bending to tie shoes", "walking to work", "sitting, an hour"};
    assert_code(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, psfs, 3,
                       names, 3, days_ago(25, at, sizeof at), &m, &err),
                &err, STATUS_OK);
    assert_float_equal(m->score, 3.33, 0.001);
    assert_int_equal(m->n_activities, 3);
    assert_string_equal(m->activities[2], "sitting, an hour");
    harness_free_message(m);

    /* items 5-8 agree and item 9 "very much": psychosocial 5, total 6: high risk */
    static const int32_t sbt[] = {1, 0, 0, 0, 1, 1, 1, 1, 3};
    assert_code(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK, sbt, 9,
                       NULL, 0, days_ago(29, at, sizeof at), &m, &err),
                &err, STATUS_OK);
    assert_float_equal(m->score, 6, 0);
    assert_int_equal(m->startback_psychosocial, 5);
    assert_int_equal(m->startback_risk, CLINIC__V1__START_BACK_RISK__START_BACK_RISK_HIGH);
    assert_false(m->has_change);
    harness_free_message(m);

    /* a later RMDQ of 8 (a drop of 4 = 33 % of 12) is clinically important; PSFS up by 2 too */
    rmdq_with(8, a);
    assert_code(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL,
                       0, days_ago(10, at, sizeof at), &m, &err),
                &err, STATUS_OK);
    assert_float_equal(m->change, -4, 0);
    assert_true(m->mcid);
    harness_free_message(m);
    static const int32_t psfs2[] = {4, 5, 7};
    assert_code(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, psfs2, 3,
                       names, 3, days_ago(10, at, sizeof at), &m, &err),
                &err, STATUS_OK);
    assert_float_equal(m->change, 2, 0.001);
    assert_true(m->mcid);
    harness_free_message(m);
}

/* The same questionnaires typed at the command line, by an admin for client 2. */
static void each_kind_is_recorded_through_the_cli(void **state)
{
    (void)state;
    char client[24], at[32];
    snprintf(client, sizeof client, "%lld", client2);
    struct harness_run r =
        CLI(ADMIN, "measure", "record", "--client", client, "--rmdq",
            "1,1,1,1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0", "--at", days_ago(15, at, sizeof at));
    expect(&r, 0);
    harness_assert_contains(r.out, "Recorded RMDQ 1 of client");
    harness_assert_contains(r.out, "10 of 24");
    harness_run_free(&r);
    /* 10 -> 7 is exactly 30 %: important though under 5 points */
    r = CLI(ADMIN, "measure", "record", "--client", client, "--rmdq",
            "yes,y,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,no");
    expect(&r, 0);
    harness_assert_contains(r.out, "7 of 24, -3 from the first: a clinically important change");
    harness_run_free(&r);
    r = CLI(ADMIN, "measure", "record", "--client", client, "--psfs",
            "bending:3,walking:5,carrying shopping:4");
    expect(&r, 0);
    harness_assert_contains(r.out, "4.00 of 10");
    harness_run_free(&r);
    r = CLI(ADMIN, "--json", "measure", "record", "--client", client, "--startback",
            "1,1,1,1,0,0,0,0,slightly");
    expect(&r, 0);
    harness_assert_contains(r.out, "\"score\":4");
    harness_assert_contains(r.out, "\"startback_risk\":\"START_BACK_RISK_MEDIUM\"");
    harness_run_free(&r);
    r = CLI(ADMIN, "measure", "list", "--client", client);
    expect(&r, 0);
    harness_assert_contains(r.out, "Questionnaires of client");
    harness_assert_contains(r.out, "STarT Back risk group: medium");
    harness_assert_contains(r.out, "bending 3, walking 5, carrying shopping 4");
    harness_assert_contains(r.out, "medium risk (psychosocial 0 of 5)");
    harness_assert_contains(r.out, "Ostelo et al. 2008");
    harness_run_free(&r);
    r = CLI(ADMIN, "--json", "measure", "list", "--client", client);
    expect(&r, 0);
    harness_assert_contains(r.out, "\"measures\":[");
    harness_assert_contains(r.out, "\"mcid\":true");
    harness_run_free(&r);
    r = CLI(ADMIN, "measure", "record", "--help");
    expect(&r, 0);
    harness_assert_contains(r.out, "--startback");
    harness_assert_contains(r.out, "very-much");
    harness_run_free(&r);
}

/* Oldest first, numbered within their kind; the risk group is the latest screening's. */
static void list_is_oldest_first_with_change_and_flags(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__ListMeasuresResponse *l = NULL;
    assert_code(list(THERAPIST, client0, &l, &err), &err, STATUS_OK);
    assert_int_equal(l->n_measures, 5);
    assert_int_equal(l->measures[0]->kind, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK);
    for (size_t i = 1; i < l->n_measures; i++)
        assert_true(l->measures[i]->days >= l->measures[i - 1]->days);
    const Clinic__V1__Measure *last = l->measures[l->n_measures - 1];
    assert_int_equal(last->number, 2);
    assert_true(last->mcid);
    assert_int_equal(l->startback_risk, CLINIC__V1__START_BACK_RISK__START_BACK_RISK_HIGH);
    harness_free_message(l);
    /* a new screening, now low risk, becomes the client's risk group */
    static const int32_t low[] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
    Clinic__V1__Measure *m = NULL;
    assert_code(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK, low, 9,
                       NULL, 0, NULL, &m, &err),
                &err, STATUS_OK);
    assert_int_equal(m->startback_risk, CLINIC__V1__START_BACK_RISK__START_BACK_RISK_LOW);
    harness_free_message(m);
    assert_code(list(ADMIN, client0, &l, &err), &err, STATUS_OK);
    assert_int_equal(l->startback_risk, CLINIC__V1__START_BACK_RISK__START_BACK_RISK_LOW);
    harness_free_message(l);
}

/* ClientProgress carries sessions and measures on one scale: days from the course start. */
static void progress_carries_every_series_in_real_days(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__ClientProgressRequest req = CLINIC__V1__CLIENT_PROGRESS_REQUEST__INIT;
    req.client_id = client0;
    Clinic__V1__ClientProgressResponse *p = NULL;
    assert_code(harness_call(as[THERAPIST], "Progress/ClientProgress", &req,
                             &clinic__v1__client_progress_response__descriptor, &p, false, NULL,
                             &err),
                &err, STATUS_OK);
    assert_int_equal(p->n_sessions, 2);
    /* sessions 30 and 16 days ago: days 0 and 14 */
    assert_float_equal(p->sessions[0]->days, 0, 0.001);
    assert_float_equal(p->sessions[1]->days, 14, 0.001);
    assert_int_equal(p->n_measures, 6);
    assert_float_equal(p->measures[0]->days, 1, 0.01); /* the screening 29 days ago */
    size_t rmdq = 0, psfs = 0;
    for (size_t i = 0; i < p->n_measures; i++) {
        rmdq += p->measures[i]->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ;
        psfs += p->measures[i]->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS;
    }
    assert_int_equal(rmdq, 2);
    assert_int_equal(psfs, 2);
    assert_int_equal(p->startback_risk, CLINIC__V1__START_BACK_RISK__START_BACK_RISK_LOW);
    assert_non_null(strstr(p->course_start, "T"));
    harness_free_message(p);

    char client[24], svg_path[] = "/tmp/clinic-measures-XXXXXX";
    int fd = mkstemp(svg_path);
    assert_true(fd >= 0);
    snprintf(client, sizeof client, "%lld", client0);
    struct harness_run r = CLI(THERAPIST, "progress", client, "--svg", svg_path);
    expect(&r, 0);
    harness_assert_contains(r.out, "2 sessions, 6 questionnaires");
    harness_assert_contains(r.out, "STarT Back risk group: low");
    harness_assert_contains(r.out, "Questionnaires:");
    harness_assert_contains(r.out, "RMDQ         ");
    harness_assert_contains(r.out, "12/24 -> 8/24");
    harness_run_free(&r);
    char *svg = harness_read_file(svg_path);
    unlink(svg_path);
    assert_non_null(svg);
    harness_assert_contains(svg, "RMDQ (% of 24, right axis)");
    harness_assert_contains(svg, "PSFS mean (0-10, higher is better)");
    harness_assert_contains(svg, ">STarT Back: high</text>");
    harness_assert_contains(svg, ">STarT Back: low</text>");
    harness_assert_contains(svg, ">days since ");
    free(svg);
}

/* A client records and reads their own (client 0 for themselves), nobody else's; a therapist
 * only their clients'; the front desk none. */
static void who_may_record_and_read_whose(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Measure *m = NULL;
    Clinic__V1__ListMeasuresResponse *l = NULL;
    int32_t a[24];
    rmdq_with(6, a);
    assert_code(record(CLIENT, 0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL, 0, NULL,
                       &m, &err),
                &err, STATUS_OK);
    assert_int_equal(m->client_id, client0);
    assert_string_equal(m->recorded_by_role, "client");
    harness_free_message(m);
    assert_code(list(CLIENT, 0, &l, &err), &err, STATUS_OK);
    for (size_t i = 0; i < l->n_measures; i++)
        assert_int_equal(l->measures[i]->client_id, client0);
    harness_free_message(l);
    assert_code(record(CLIENT, client1, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL, 0,
                       NULL, &m, &err),
                &err, STATUS_PERMISSION_DENIED);
    assert_code(list(CLIENT, client1, &l, &err), &err, STATUS_PERMISSION_DENIED);
    /* therapist 0 does not treat client 1 */
    assert_code(record(THERAPIST, client1, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL,
                       0, NULL, &m, &err),
                &err, STATUS_PERMISSION_DENIED);
    assert_code(list(THERAPIST, client1, &l, &err), &err, STATUS_PERMISSION_DENIED);
    /* the front desk neither records nor reads clinical data */
    assert_code(record(DESK, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL, 0,
                       NULL, &m, &err),
                &err, STATUS_PERMISSION_DENIED);
    assert_code(list(DESK, client0, &l, &err), &err, STATUS_PERMISSION_DENIED);
    char client[24];
    snprintf(client, sizeof client, "%lld", client0);
    struct harness_run r = CLI(DESK, "measure", "list", "--client", client);
    expect(&r, STATUS_PERMISSION_DENIED);
    harness_run_free(&r);
    /* nothing the refused calls tried was stored */
    char *n = harness_sql(db_url, "SELECT count(*) FROM outcome_measures WHERE client_id = "
                                  "(SELECT client_id FROM users WHERE email = 'c0@measures.test')");
    assert_non_null(n);
    assert_string_equal(n, "7"); /* five by the therapist, the screening, and the client's own */
    free(n);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM outcome_measures WHERE client_id = %lld",
             client1);
    n = harness_sql(db_url, sql);
    assert_string_equal(n, "0");
    free(n);
}

/* Every ListMeasures read leaves an audit row naming the client and the outcome. */
static void every_list_read_is_audited(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__ListMeasuresResponse *l = NULL;
    long long ok = audit_count("Measures/ListMeasures", client0, "OK");
    long long refused = audit_count("Measures/ListMeasures", client0, "PERMISSION_DENIED");
    assert_code(list(THERAPIST, client0, &l, &err), &err, STATUS_OK);
    harness_free_message(l);
    assert_code(list(CLIENT, 0, &l, &err), &err, STATUS_OK);
    harness_free_message(l);
    assert_code(list(DESK, client0, &l, &err), &err, STATUS_PERMISSION_DENIED);
    assert_int_equal(audit_count("Measures/ListMeasures", client0, "OK"), ok + 2);
    assert_int_equal(audit_count("Measures/ListMeasures", client0, "PERMISSION_DENIED"),
                     refused + 1);
    /* and so is each recording, naming the measure it made */
    Clinic__V1__Measure *m = NULL;
    int32_t a[24];
    rmdq_with(5, a);
    assert_code(record(CLIENT, 0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24, NULL, 0, NULL,
                       &m, &err),
                &err, STATUS_OK);
    char sql[256], want[48];
    snprintf(sql, sizeof sql,
             "SELECT target || ' ' || outcome || ' ' || role FROM audit"
             " WHERE method = '/clinic.v1.Measures/RecordMeasure' ORDER BY id DESC LIMIT 1");
    snprintf(want, sizeof want, "measure:%lld OK client", (long long)m->id);
    harness_free_message(m);
    char *row = harness_sql(db_url, sql);
    assert_non_null(row);
    assert_string_equal(row, want);
    free(row);
}

/* Wrong answers are INVALID_ARGUMENT with a violation per field, in the questionnaire's words;
 * the command line refuses them before calling. */
static void bad_answers_are_told_in_the_questionnaires_words(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Measure *m = NULL;
    int32_t a[26];
    rmdq_with(3, a);
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 23,
                            NULL, 0, NULL, &m, &err),
                     &err, "answers", "the RMDQ has 24 statements");
    a[4] = 2;
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24,
                            NULL, 0, NULL, &m, &err),
                     &err, "answers", "item 5 must be 1 (yes) or 0 (no)");
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, a, 0,
                            NULL, 0, NULL, &m, &err),
                     &err, "activities", "at least one activity");
    static const int32_t six[] = {1, 2, 3, 4, 5, 6};
    char *names6[] = {"a", "b", "c", "d", "e", "f"};
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, six, 6,
                            names6, 6, NULL, &m, &err),
                     &err, "activities", "at most 5 activities");
    static const int32_t one[] = {11};
    char *blank[] = {"   "};
    int code = record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, one, 1,
                      blank, 1, NULL, &m, &err);
    assert_violation(code, &err, "activities", "has no name");
    assert_violation(code, &err, "answers", "rating must be 0 (unable to do it) to 10");
    static const int32_t sbt[] = {1, 0, 0, 0, 1, 1, 1, 1, 5};
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK,
                            sbt, 9, NULL, 0, NULL, &m, &err),
                     &err, "answers", "item 9 must be 0 (not at all)");
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_UNSPECIFIED,
                            sbt, 9, NULL, 0, NULL, &m, &err),
                     &err, "kind", "RMDQ, PSFS or STarT Back");
    char at[32];
    rmdq_with(3, a);
    assert_violation(record(THERAPIST, client0, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, a, 24,
                            NULL, 0, days_ago(-2, at, sizeof at), &m, &err),
                     &err, "recorded_at", "in the future");

    char client[24];
    snprintf(client, sizeof client, "%lld", client0);
    struct harness_run r = CLI(THERAPIST, "measure", "record", "--client", client, "--rmdq", "1,0");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "--rmdq takes exactly 24 answers");
    harness_run_free(&r);
    r = CLI(THERAPIST, "measure", "record", "--client", client, "--psfs", ":3");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "has no name");
    harness_run_free(&r);
    r = CLI(THERAPIST, "measure", "record", "--client", client);
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "exactly one of --rmdq, --psfs or --startback");
    harness_run_free(&r);
    /* what only the daemon knows is told by the option that set it */
    r = CLI(THERAPIST, "measure", "record", "--client", client, "--psfs", "bending:4", "--at",
            days_ago(-3, at, sizeof at));
    expect(&r, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--at");
    harness_assert_contains(r.err, "in the future");
    harness_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_kind_is_recorded_through_the_library_and_scored_by_the_database),
        cmocka_unit_test(each_kind_is_recorded_through_the_cli),
        cmocka_unit_test(list_is_oldest_first_with_change_and_flags),
        cmocka_unit_test(progress_carries_every_series_in_real_days),
        cmocka_unit_test(who_may_record_and_read_whose),
        cmocka_unit_test(every_list_read_is_audited),
        cmocka_unit_test(bad_answers_are_told_in_the_questionnaires_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
