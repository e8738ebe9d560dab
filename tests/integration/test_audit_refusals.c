/* The audit trail keeps what was refused and what failed while the database was away:
 *  - every call an authenticated caller is refused (PERMISSION_DENIED) leaves a row naming the
 *    method and the target the request named, reads and lists included, so enumerating other
 *    people's records leaves a trace; a caller whose token did not prove itself leaves none;
 *  - calls that fail because PostgreSQL stops under them leave their rows in the daemon's memory,
 *    and the rows reach the table once PostgreSQL is back, with the time the calls failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clinic/v1/rpc.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "db.h"
#include "harness.h"
#include "rpc.h"
#include "handlers.h"
#include "status.h"

#define CALL_TIMEOUT_MS   30000
#define IN_FLIGHT_WAIT_MS 10000
#define LATE_ROWS_WAIT_MS 30000
#define PG_DOWN_MS        1500

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
        !rpc_table_build(&table, handler_table, false, err, sizeof err))
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

static bool log_contains(const char *text)
{
    char *log = harness_daemon_log(&daemon_);
    bool found = log && strstr(log, text);
    free(log);
    return found;
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
    struct clinic_call_options opts = {.mutating = (m->rule->flags & METHOD_MUTATES) != 0,
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
        {"Measures/ListMeasures", "client_id", clinic.client_ids[1], "client"},
        {"Measures/RecordMeasure", "client_id", clinic.client_ids[1], "client"},
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

/* --- PostgreSQL stops under calls in flight --- */

/* One Book call sent raw from its own thread (libclinic would retry an UNAVAILABLE answer). */
struct raw_call {
    pthread_t thread;
    uint8_t envelope[1024];
    size_t len;
    int code; /* the answer's status; -1: no answer */
    char message[512];
};

static void *raw_call_main(void *arg)
{
    struct raw_call *rc = arg;
    struct clinic_error err;
    clinic_client *c = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &err);
    void *reply = NULL;
    size_t reply_len = 0;
    if (c && clinic_call_raw(c, rc->envelope, rc->len, &reply, &reply_len, CALL_TIMEOUT_MS, &err) ==
                 STATUS_OK) {
        Clinic__V1__RpcResponse *resp = clinic__v1__rpc_response__unpack(NULL, reply_len, reply);
        if (resp && resp->status) {
            rc->code = resp->status->code;
            snprintf(rc->message, sizeof rc->message, "%s", resp->status->message);
        }
        if (resp)
            clinic__v1__rpc_response__free_unpacked(resp, NULL);
    } else {
        snprintf(rc->message, sizeof rc->message, "no answer: %.400s", err.message);
    }
    free(reply);
    if (c)
        clinic_close(c);
    return NULL;
}

/* Books client 0 with therapist 0 at hour:00 on a day of next year, as the client user. */
static void book_start(struct raw_call *rc, int hour, const char *request_id)
{
    char start[32];
    snprintf(start, sizeof start, "%04d-09-07 %02d:00", harness_next_year(), hour);
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.therapist_id = clinic.therapist_ids[0];
    req.start_time = start;
    uint8_t body[512];
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    env.method = "/clinic.v1.Scheduling/Book";
    env.payload.len = clinic__v1__book_request__pack(&req, body);
    env.payload.data = body;
    env.auth_token = client_token;
    env.deadline_ms = CALL_TIMEOUT_MS;
    env.request_id = (char *)request_id;
    *rc = (struct raw_call){.code = -1};
    assert_true(clinic__v1__rpc_request__get_packed_size(&env) <= sizeof rc->envelope);
    rc->len = clinic__v1__rpc_request__pack(&env, rc->envelope);
    assert_int_equal(pthread_create(&rc->thread, NULL, raw_call_main, rc), 0);
}

/* Waits (bounded) until n sessions wait for an advisory lock: the calls are in flight. */
static void wait_until_waiting_for_locks(int n)
{
    char want[16];
    snprintf(want, sizeof want, "%d", n);
    for (int waited = 0; waited < IN_FLIGHT_WAIT_MS; waited += 20) {
        char *count = harness_sql(db_url, "SELECT count(*) FROM pg_locks WHERE locktype = "
                                          "'advisory' AND NOT granted");
        bool there = count && strcmp(count, want) == 0;
        free(count);
        if (there)
            return;
        harness_sleep_ms(20);
    }
    fail_msg("the Book calls never waited for the therapist's lock");
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void calls_failing_while_postgresql_is_down_are_audited_once_it_is_back(void **state)
{
    (void)state;
    enum { N = 3 }; /* fewer than the harness's four workers: all in flight at once */
    /* another session holds therapist 0's lock, so the bookings wait inside their transactions */
    struct db *holder = db_new(db_url);
    char lock_sql[160];
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_lock(clinic_lock_key(1, %lld))",
             clinic.therapist_ids[0]);
    const struct db_stmt lock = {lock_sql, 0};
    assert_int_equal(db_query(holder, &lock, NULL, NULL), STATUS_OK);
    static struct raw_call calls[N]; /* static: a failed assertion must not strand a thread */
    static char ids[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "pg-down-%d", i);
        book_start(&calls[i], 10 + 2 * i, ids[i]);
    }
    wait_until_waiting_for_locks(N);

    assert_true(harness_pg_stop(&pg)); /* fast: every session, the holder's too, is ended */
    double stopped_at = wall_seconds();
    for (int i = 0; i < N; i++) {
        pthread_join(calls[i].thread, NULL);
        if (calls[i].code != STATUS_UNAVAILABLE)
            fail_msg("call %d: expected UNAVAILABLE, got %d: %s", i, calls[i].code,
                     calls[i].message);
    }
    double answered_at = wall_seconds(); /* each row was kept before its call was answered */
    db_free(holder);
    harness_sleep_ms(PG_DOWN_MS);
    assert_true(harness_pg_restart(&pg));
    double restarted_at = wall_seconds();

    char *written = NULL;
    for (int waited = 0; waited < LATE_ROWS_WAIT_MS; waited += 100) {
        free(written);
        written =
            harness_sql(db_url, "SELECT count(*) FROM audit WHERE request_id LIKE 'pg-down-%'");
        if (written && strcmp(written, "3") == 0)
            break;
        harness_sleep_ms(100);
    }
    double waited_s = wall_seconds() - restarted_at;
    assert_non_null(written);
    print_message("PostgreSQL down for %.1f s; %d calls failed; %s audit rows written %.1f s "
                  "after the restart\n",
                  restarted_at - stopped_at, N, written, waited_s);
    assert_string_equal(written, "3");
    free(written);
    for (int i = 0; i < N; i++) {
        char expected[256];
        snprintf(expected, sizeof expected,
                 "/clinic.v1.Scheduling/Book client:%lld UNAVAILABLE client %lld",
                 clinic.client_ids[0], client_user);
        char *row = audit_row(ids[i]);
        assert_string_equal(row, expected);
        free(row);
    }
    /* the rows carry the time the calls failed, not the time they were written (which is at
     * least PG_DOWN_MS later) */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit WHERE request_id LIKE 'pg-down-%%'"
             " AND at <= to_timestamp(%.6f)",
             answered_at);
    char *on_time = harness_sql(db_url, sql);
    assert_non_null(on_time);
    assert_string_equal(on_time, "3");
    free(on_time);
    assert_true(log_contains("3 audit rows kept in memory were written late"));
    assert_false(log_contains("could not write its audit row"));
    assert_false(log_contains(" lost: "));
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_refusal_of_a_known_caller_leaves_an_audit_row),
        cmocka_unit_test(a_caller_whose_token_fails_leaves_no_row),
        cmocka_unit_test(calls_failing_while_postgresql_is_down_are_audited_once_it_is_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
