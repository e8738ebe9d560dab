/* The audit trail keeps what was refused: every call an authenticated caller is refused
 * (PERMISSION_DENIED) leaves a row naming the method and the target the request named, reads and
 * lists included, so enumerating other people's records leaves a trace; a caller whose token did
 * not prove itself leaves none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rpc.h"
#include "service.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static struct rpc_table table;

/* The caller: a client user acting as client 0. Client 1's records are someone else's. */
static char client_token[64];
static long long client_user, other_appointment, other_note, admin_user;

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "audit_refusals", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "Europe/Berlin", 2, 2, &clinic) ||
        !rpc_table_build(&table, service_table, false, err, sizeof err))
        return -1;
    other_appointment =
        harness_sql_id(db_url,
                       "INSERT INTO appointments (client_id, therapist_id, room_id, service_id,"
                       " location_id, start_at, end_at, blocked)"
                       " SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '1 hour',"
                       " tstzrange(s, s + interval '75 minutes')"
                       " FROM (SELECT date_trunc('day', now()) + interval '3 days 10 hours' AS s) x"
                       " RETURNING id",
                       clinic.client_ids[1], clinic.therapist_ids[1], clinic.room_ids[1],
                       clinic.service_id, clinic.location_id);
    other_note = harness_sql_id(db_url,
                                "INSERT INTO treatment_notes (appointment_id, author_therapist_id)"
                                " VALUES (%lld, %lld) RETURNING id",
                                other_appointment, clinic.therapist_ids[1]);
    admin_user =
        harness_sql_id(db_url, "SELECT id FROM users WHERE email = '%s'", HARNESS_ADMIN_EMAIL);
    client_user =
        harness_create_user(db_url, "prober@clinic.test", "client", 0, clinic.client_ids[0], NULL);
    return other_appointment > 0 && other_note > 0 && admin_user > 0 && client_user > 0 &&
                   harness_login(daemon_.url, "prober@clinic.test", NULL, client_token,
                                 sizeof client_token) == STATUS_OK
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    rpc_table_free(&table);
    int status = daemon_.pid > 0 ? harness_daemon_stop(&daemon_) : 0;
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* The audit row of request_id as "method target outcome role user", "" when there is none. */
static char *audit_row(const char *request_id)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(method || ' ' || coalesce(target, '-') || ' ' || outcome || ' '"
             " || coalesce(role, '-') || ' ' || coalesce(user_id, 0), ', ')"
             " FROM audit WHERE request_id = '%s'",
             request_id);
    char *row = harness_sql(db_url, sql);
    assert_non_null(row);
    return row;
}

/* Calls /clinic.v1.<method> with token and request id, the request empty but for `field` = id
 * (when field is not NULL); the status. */
static int call_as(const char *token, const char *method, const char *field, long long id,
                   const char *request_id)
{
    char name[128];
    snprintf(name, sizeof name, "/clinic.v1.%s", method);
    const struct rpc_method *m = rpc_table_find(&table, name);
    assert_non_null(m);
    const ProtobufCMessageDescriptor *in = m->desc->input;
    ProtobufCMessage *req = calloc(1, in->sizeof_message);
    assert_non_null(req);
    in->message_init(req);
    if (field) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(in, field);
        assert_non_null(f);
        *(int64_t *)((char *)req + f->offset) = id;
    }
    clinic_client *c = harness_connect_as(daemon_.url, token);
    assert_non_null(c);
    ProtobufCMessage *resp = NULL;
    struct clinic_error err;
    struct clinic_call_options opts = {.mutating = (m->flags & METHOD_MUTATES) != 0,
                                       .request_id = request_id};
    int code = clinic_call(c, m->name, req, m->desc->output, &resp, &opts, &err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    clinic_close(c);
    free(req);
    return code;
}

static void every_refusal_of_a_known_caller_leaves_an_audit_row(void **state)
{
    (void)state;
    /* someone else's records, one by one, and the lists no client may read */
    const struct {
        const char *method, *field;
        long long id;
        const char *kind; /* the target's kind; NULL: the method names no single record */
    } probes[] = {
        {"Scheduling/GetAppointment", "appointment_id", other_appointment, "appointment"},
        {"Scheduling/ClientAppointments", "client_id", clinic.client_ids[1], "client"},
        {"Scheduling/TherapistAgenda", "therapist_id", clinic.therapist_ids[1], "therapist"},
        {"Scheduling/Cancel", "appointment_id", other_appointment, "appointment"},
        {"Clients/GetClient", "id", clinic.client_ids[1], "client"},
        {"Notes/GetNote", "id", other_note, "note"},
        {"Progress/ClientProgress", "client_id", clinic.client_ids[1], "client"},
        {"Users/GetUser", "id", admin_user, "user"},
        {"Clients/ListClients", NULL, 0, NULL},
        {"Scheduling/DaySheet", "location_id", clinic.location_id, NULL},
        {"Users/ListUsers", NULL, 0, NULL},
        {"Audit/ListAudit", NULL, 0, NULL},
    };
    const size_t n = sizeof probes / sizeof probes[0];
    for (size_t i = 0; i < n; i++) {
        char request_id[32], expected[256], target[64];
        snprintf(request_id, sizeof request_id, "refused-%zu", i);
        int code =
            call_as(client_token, probes[i].method, probes[i].field, probes[i].id, request_id);
        if (code != STATUS_PERMISSION_DENIED)
            fail_msg("%s: expected PERMISSION_DENIED, got %s", probes[i].method,
                     status_code_name(code));
        if (probes[i].kind)
            snprintf(target, sizeof target, "%s:%lld", probes[i].kind, probes[i].id);
        else
            snprintf(target, sizeof target, "-");
        snprintf(expected, sizeof expected, "/clinic.v1.%s %s PERMISSION_DENIED client %lld",
                 probes[i].method, target, client_user);
        char *row = audit_row(request_id);
        if (strcmp(row, expected) != 0)
            fail_msg("%s: audit row \"%s\", expected \"%s\"", probes[i].method, row, expected);
        free(row);
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE user_id = %lld AND outcome = 'PERMISSION_DENIED'",
             client_user);
    char *count = harness_sql(db_url, sql);
    char want[16];
    snprintf(want, sizeof want, "%zu", n);
    assert_non_null(count);
    print_message("%zu refused calls, %s PERMISSION_DENIED audit rows\n", n, count);
    assert_string_equal(count, want);
    free(count);
}

static void a_caller_whose_token_fails_leaves_no_row(void **state)
{
    (void)state;
    assert_int_equal(call_as("not-a-token", "Clients/ListClients", NULL, 0, "unproven-1"),
                     STATUS_UNAUTHENTICATED);
    char *row = audit_row("unproven-1");
    assert_string_equal(row, "");
    free(row);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_refusal_of_a_known_caller_leaves_an_audit_row),
        cmocka_unit_test(a_caller_whose_token_fails_leaves_no_row),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
