/* A client's data, exported (GDPR articles 15 and 20), against a live daemon: an admin exports a
 * client with an appointment, a signed note and its amendment, a health history, consents, a
 * questionnaire and a package with its receipt, and the document holds all of it (read back with
 * jansson), the audit rows about them, and nothing of another client and no secret (password hash,
 * calendar key). The export is itself audited. A client may export their own data and no one
 * else's; the front desk may not.
 * --output makes a new file of mode 0600 and never writes over one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clinic/v1/client_data.pb-c.h"
#include "harness.h"
#include "status.h"

#define ZONE "Europe/Berlin"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];
static char desk[64], own[64]; /* the front desk; client 0 as themself */
static char id0[24], id1[24];

/* A completed session of client `who` `days_ago` days ago at 10:00, and its id. */
static long long past_session(int who, int days_ago)
{
    return harness_sql_id(
        db_url,
        "WITH t AS (SELECT ((now() AT TIME ZONE '" ZONE "')::date - %d + time '10:00')"
        " AT TIME ZONE '" ZONE "' AS s)"
        " INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked, status) SELECT %lld, %lld, %lld, %lld, %lld, s,"
        " s + interval '60 minutes', tstzrange(s, s + interval '75 minutes'), 'completed' FROM t"
        " RETURNING id",
        days_ago, clinic.client_ids[who], clinic.therapist_ids[0], clinic.room_ids[0],
        clinic.service_id, clinic.location_id);
}

/* A signed note on the appointment whose subjective text is `text`, with one amendment. */
static void signed_note(long long appointment, const char *text, const char *amendment)
{
    long long note = harness_sql_id(
        db_url,
        "INSERT INTO treatment_notes (appointment_id, author_therapist_id, subjective, pain_before,"
        " pain_after, areas, techniques) VALUES (%lld, %lld, '%s', 6, 4, '{lower_back}',"
        " '{myofascial_release}') RETURNING id",
        appointment, clinic.therapist_ids[0], text);
    assert_true(note > 0);
    assert_true(harness_sql_id(db_url,
                               "UPDATE treatment_notes SET status = 'signed', signed_at = now()"
                               " WHERE id = %lld RETURNING id",
                               note) == note);
    assert_true(harness_sql_id(db_url,
                               "INSERT INTO note_amendments (note_id, author_therapist_id, reason,"
                               " text) VALUES (%lld, %lld, 'typo', '%s') RETURNING id",
                               note, clinic.therapist_ids[0], amendment) > 0);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "export", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 1, 2, &clinic))
        return -1;
    snprintf(id0, sizeof id0, "%lld", clinic.client_ids[0]);
    snprintf(id1, sizeof id1, "%lld", clinic.client_ids[1]);
    return harness_person(db_url, daemon_.url, "desk@export.test", "front_desk", 0, 0, desk,
                          sizeof desk) &&
                   harness_person(db_url, daemon_.url, "own@export.test", "client", 0,
                                  clinic.client_ids[0], own, sizeof own)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* The array `section` of doc; fails the test when it is not one. */
static json_t *section(json_t *doc, const char *name)
{
    json_t *s = json_object_get(doc, name);
    if (!json_is_array(s))
        fail_msg("the export has no array \"%s\"", name);
    return s;
}

static void test_everything_about_the_client_and_nothing_else(void **state)
{
    (void)state;
    signed_note(past_session(0, 3), "lower back stiff after gardening", "left side, not right");
    signed_note(past_session(1, 2), "someone else entirely", "another client amendment");
    harness_cli_expect(daemon_.url, daemon_.admin_token, 0, "Recorded version 1",
                       (const char *const[]){"intake", "record", id0, "--conditions",
                                             "chronic low back pain", NULL});
    harness_cli_expect(daemon_.url, daemon_.admin_token, 0, "Recorded",
                       (const char *const[]){"measure", "record", "--client", id0, "--rmdq",
                                             "1,1,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
                                             NULL});
    char service[24];
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    harness_cli_expect(daemon_.url, daemon_.admin_token, 0, NULL,
                       (const char *const[]){"package", "sell", "--client", id0, "--service",
                                             service, "--sessions", "10", "--price", "550",
                                             "--paid-by", "card", NULL});
    harness_cli_expect(daemon_.url, daemon_.admin_token, 0, "calendar",
                       (const char *const[]){"calendar-link", "--client", id0, NULL});

    char path[600];
    snprintf(path, sizeof path, "%s/client-export.json", pg.dir);
    harness_cli_expect(
        daemon_.url, daemon_.admin_token, 0, "Exported client",
        (const char *const[]){"admin", "client", "export", id0, "--output", path, NULL});
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    json_error_t error;
    json_t *doc = json_load_file(path, 0, &error);
    if (!doc)
        fail_msg("the export is not JSON: %s at line %d", error.text, error.line);
    assert_string_equal(json_string_value(json_object_get(doc, "format")),
                        "clinicd client export, version 1");
    json_t *client = json_object_get(doc, "client");
    assert_int_equal(json_integer_value(json_object_get(client, "id")), clinic.client_ids[0]);
    assert_int_equal(json_array_size(section(doc, "appointments")), 1);
    json_t *notes = section(doc, "treatment_notes");
    assert_int_equal(json_array_size(notes), 1);
    json_t *note = json_array_get(notes, 0);
    assert_string_equal(json_string_value(json_object_get(note, "subjective")),
                        "lower back stiff after gardening");
    json_t *amendments = json_object_get(note, "amendments");
    assert_int_equal(json_array_size(amendments), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(amendments, 0), "text")),
                        "left side, not right");
    assert_int_equal(json_array_size(section(doc, "intakes")), 1);
    assert_true(json_array_size(section(doc, "consents")) >= 1); /* the seed's, given long ago */
    assert_int_equal(json_array_size(section(doc, "outcome_measures")), 1);
    assert_true(json_is_object(json_object_get(doc, "calendar_feed")));
    json_t *packages = section(doc, "packages");
    assert_int_equal(json_array_size(packages), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(packages, 0), "sessions")),
                     10);
    json_t *receipts = section(doc, "receipts");
    assert_int_equal(json_array_size(receipts), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(receipts, 0), "gross_cents")), 55000);
    section(doc, "charges");
    /* the audit rows about them: the intake and the questionnaire recorded, the feed made */
    json_t *audit = section(doc, "audit");
    bool intake_audited = false;
    for (size_t i = 0; i < json_array_size(audit); i++) {
        const char *m = json_string_value(json_object_get(json_array_get(audit, i), "method"));
        intake_audited = intake_audited || (m && strstr(m, "Intakes/RecordIntake"));
    }
    assert_true(intake_audited);
    json_decref(doc);

    /* nothing of the other client, and no secret */
    char *text = harness_read_file(path);
    assert_non_null(text);
    assert_null(strstr(text, "someone else entirely"));
    assert_null(strstr(text, "another client amendment"));
    assert_null(strstr(text, "argon2id"));
    assert_null(strstr(text, "sha256"));
    free(text);

    /* the export itself is in the audit trail */
    assert_true(harness_sql_id(db_url,
                               "SELECT count(*) FROM audit WHERE method ="
                               " '/clinic.v1.ClientData/ExportClient' AND target = 'client:%lld'"
                               " AND outcome = 'OK'",
                               clinic.client_ids[0]) >= 1);

    /* never over an earlier export */
    harness_cli_expect(
        daemon_.url, daemon_.admin_token, 2, "exists already",
        (const char *const[]){"admin", "client", "export", id0, "--output", path, NULL});
    text = harness_read_file(path);
    harness_assert_contains(text, "lower back stiff after gardening");
    free(text);
}

static void test_who_may_export(void **state)
{
    (void)state;
    /* a client takes their own, on standard output */
    struct harness_run r = harness_cli_as(
        daemon_.url, own, (const char *const[]){"admin", "client", "export", id0, NULL});
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"format\": \"clinicd client export, version 1\"");
    harness_run_free(&r);
    harness_cli_expect(daemon_.url, own, STATUS_PERMISSION_DENIED, NULL,
                       (const char *const[]){"admin", "client", "export", id1, NULL});
    harness_cli_expect(daemon_.url, desk, STATUS_PERMISSION_DENIED, NULL,
                       (const char *const[]){"admin", "client", "export", id0, NULL});
    harness_cli_expect(daemon_.url, daemon_.admin_token, STATUS_NOT_FOUND,
                       "client 999999 does not exist",
                       (const char *const[]){"admin", "client", "export", "999999", NULL});

    Clinic__V1__ExportClientRequest req = CLINIC__V1__EXPORT_CLIENT_REQUEST__INIT;
    clinic_client *c = harness_connect_as(daemon_.url, daemon_.admin_token);
    struct clinic_error err;
    assert_int_equal(harness_call(c, "ClientData/ExportClient", &req,
                                  &clinic__v1__client_export__descriptor, NULL, false, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "client_id"));
    clinic_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_everything_about_the_client_and_nothing_else),
        cmocka_unit_test(test_who_may_export),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
