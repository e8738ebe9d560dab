/* The authorisation table, walked whole against a running daemon: every method it serves, called
 * by every role (admin, front desk, therapist, client), and without a token, with an expired one
 * and with a revoked one. Expected, from the table itself (daemon/authz.c):
 *  - no, expired or revoked token: UNAUTHENTICATED, for every method that is not public;
 *  - a role with no scope: PERMISSION_DENIED;
 *  - a role with scope "own" or "care", naming someone else's record: PERMISSION_DENIED, and
 *    naming its own: anything but PERMISSION_DENIED or UNAUTHENTICATED;
 *  - scope "all": anything but PERMISSION_DENIED or UNAUTHENTICATED (requests are mostly empty,
 *    so INVALID_ARGUMENT or NOT_FOUND are normal answers: what matters is who got past the door).
 * A client naming client 0, or a therapist naming therapist 0, means their own record: the walk
 * calls every such method with 0 and expects it admitted, and lists check that what comes back
 * is the caller's alone; an admin, the front desk or a therapist naming no client gets a
 * violation naming the field.
 * Public methods answer without a token. Auth/Logout is left out of the walk (it would end the
 * session walking it); the revoked-token pass covers it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "rpc.h"
#include "handlers.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static struct rpc_table table;

/* Who is who: client 0 is treated by therapist 0 (two appointments, one of them may get
 * cancelled by the walk); client 1 by therapist 1. */
static char tokens[ROLE_COUNT][64];
static long long own_appointment, other_appointment, own_note, other_note, own_course, other_course;

/* An appointment straight in the table (the walk is about the door, not the booking rules). */
static long long appointment(int client, int therapist, int day)
{
    return harness_sql_id(
        db_url,
        "INSERT INTO appointments (client_id, therapist_id, room_id, service_id,"
        " location_id, start_at, end_at, blocked)"
        " SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '1 hour',"
        " tstzrange(s, s + interval '75 minutes')"
        " FROM (SELECT date_trunc('day', now()) + interval '%d days 10 hours' AS s) x"
        " RETURNING id",
        clinic.client_ids[client], clinic.therapist_ids[therapist], clinic.room_ids[therapist],
        clinic.service_id, clinic.location_id, day);
}

static long long note(long long appointment_id, int therapist)
{
    return harness_sql_id(db_url,
                          "INSERT INTO treatment_notes (appointment_id, author_therapist_id)"
                          " VALUES (%lld, %lld) RETURNING id",
                          appointment_id, clinic.therapist_ids[therapist]);
}

/* A course of the client with the therapist, as a row (its sessions do not matter at the door). */
static long long course(int client, int therapist)
{
    return harness_sql_id(db_url,
                          "INSERT INTO courses (client_id, therapist_id, service_id, location_id)"
                          " VALUES (%lld, %lld, %lld, %lld) RETURNING id",
                          clinic.client_ids[client], clinic.therapist_ids[therapist],
                          clinic.service_id, clinic.location_id);
}

static bool log_in(enum caller_role role, const char *email, long long therapist, long long client)
{
    return harness_create_user(db_url, email, caller_role_name(role), therapist, client, NULL) >
               0 &&
           harness_login(daemon_.url, email, NULL, tokens[role], sizeof tokens[role]) == STATUS_OK;
}

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "authz_walk", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "Europe/Berlin", 2, 2, &clinic) ||
        !rpc_table_build(&table, handler_table, false, err, sizeof err))
        return -1;
    snprintf(tokens[ROLE_ADMIN], sizeof tokens[ROLE_ADMIN], "%s", daemon_.admin_token);
    own_appointment = appointment(0, 0, 3);
    appointment(0, 0, 4); /* keeps client 0 in therapist 0's care if the walk cancels the first */
    other_appointment = appointment(1, 1, 3);
    own_note = note(own_appointment, 0);
    other_note = note(other_appointment, 1);
    own_course = course(0, 0);
    other_course = course(1, 1);
    return log_in(ROLE_FRONT_DESK, "desk@clinic.test", 0, 0) &&
                   log_in(ROLE_THERAPIST, "therapist@clinic.test", clinic.therapist_ids[0], 0) &&
                   log_in(ROLE_CLIENT, "client@clinic.test", 0, clinic.client_ids[0]) &&
                   own_appointment > 0 && other_appointment > 0 && own_note > 0 && other_note > 0 &&
                   own_course > 0 && other_course > 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    rpc_table_free(&table);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* The id of a record of this kind that is the role's own (own = true) or someone else's. */
static long long target_for(enum method_target target, enum caller_role role, bool own)
{
    int who = own ? 0 : 1;
    switch (target) {
    case TARGET_CLIENT:
        return clinic.client_ids[who];
    case TARGET_THERAPIST:
        return clinic.therapist_ids[who];
    case TARGET_APPOINTMENT:
        return own ? own_appointment : other_appointment;
    case TARGET_NOTE:
        return own ? own_note : other_note;
    case TARGET_COURSE:
        return own ? own_course : other_course;
    case TARGET_USER:
        return own ? harness_sql_id(db_url, "SELECT id FROM users WHERE role = '%s' LIMIT 1",
                                    caller_role_name(role))
                   : harness_sql_id(db_url, "SELECT id FROM users WHERE role = 'admin' LIMIT 1");
    case TARGET_NONE:
        break;
    }
    return 0;
}

/* Calls m with an empty request whose target field (if any) is `target`; the status. */
static int call_with(const struct rpc_method *m, const char *token, long long target,
                     struct clinic_error *err)
{
    const ProtobufCMessageDescriptor *in = m->desc->input;
    ProtobufCMessage *req = calloc(1, in->sizeof_message);
    in->message_init(req);
    if (m->rule->field && target) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(in, m->rule->field);
        assert_non_null(f);
        *(int64_t *)((char *)req + f->offset) = target;
    }
    clinic_client *c = harness_connect_as(daemon_.url, token);
    assert_non_null(c);
    ProtobufCMessage *resp = NULL;
    struct clinic_call_options opts = {.mutating = (m->rule->flags & METHOD_MUTATES) != 0};
    int code = clinic_call(c, m->name, req, m->desc->output, &resp, &opts, err);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    clinic_close(c);
    free(req);
    return code;
}

static bool walked(const struct rpc_method *m)
{
    return strcmp(m->name, "/clinic.v1.Auth/Logout") != 0;
}

static void expect_refused(const struct rpc_method *m, const char *who, int code, int expected,
                           const struct clinic_error *err)
{
    if (code != expected)
        fail_msg("%s as %s: expected %s, got %s (%s)", m->name, who, status_code_name(expected),
                 status_code_name(code), err->message);
}

static void expect_admitted(const struct rpc_method *m, const char *who, int code,
                            const struct clinic_error *err)
{
    if (code == STATUS_PERMISSION_DENIED || code == STATUS_UNAUTHENTICATED)
        fail_msg("%s as %s: expected to get past authorisation, got %s (%s)", m->name, who,
                 status_code_name(code), err->message);
}

static void every_role_gets_what_the_table_says(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < table.n; i++) {
        const struct rpc_method *m = &table.methods[i];
        if (!walked(m))
            continue;
        for (int role = ROLE_ADMIN; role < ROLE_COUNT; role++) {
            struct clinic_error err;
            const char *who = caller_role_name((enum caller_role)role);
            enum method_scope scope =
                (m->rule->flags & METHOD_PUBLIC) ? SCOPE_ALL : m->rule->scope[role];
            long long other = target_for(m->rule->target, (enum caller_role)role, false);
            long long own = target_for(m->rule->target, (enum caller_role)role, true);
            int code = call_with(m, tokens[role], other, &err);
            if (scope == SCOPE_ALL) {
                expect_admitted(m, who, code, &err);
            } else {
                expect_refused(m, who, code, STATUS_PERMISSION_DENIED, &err);
                if (scope != SCOPE_NONE)
                    expect_admitted(m, who, call_with(m, tokens[role], own, &err), &err);
            }
            checked++;
        }
    }
    assert_true(checked >= 4 * 60);
}

/* The walk above called every mutating method and every audited read as every role: each of
 * them left audit rows, admitted or refused, with the caller's role. */
static void every_mutation_and_audited_read_left_audit_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < table.n; i++) {
        const struct rpc_method *m = &table.methods[i];
        if (!walked(m) || !(m->rule->flags & (METHOD_MUTATES | METHOD_AUDIT_READ)))
            continue;
        char sql[256];
        snprintf(
            sql, sizeof sql,
            "SELECT count(DISTINCT role) FROM audit WHERE method = '%s' AND user_id IS NOT NULL",
            m->name);
        char *roles = harness_sql(db_url, sql);
        if (!roles || strcmp(roles, "4") != 0)
            fail_msg("%s: audit rows from %s role(s), expected all 4", m->name,
                     roles ? roles : "?");
        free(roles);
    }
}

static void no_token_is_unauthenticated_except_for_public_methods(void **state)
{
    (void)state;
    for (size_t i = 0; i < table.n; i++) {
        const struct rpc_method *m = &table.methods[i];
        struct clinic_error err;
        int code = call_with(m, NULL, 0, &err);
        if ((m->rule->flags & METHOD_PUBLIC))
            expect_admitted(m, "nobody", code, &err);
        else
            expect_refused(m, "nobody", code, STATUS_UNAUTHENTICATED, &err);
    }
}

/* A fresh login for the front desk, then made useless in the database or by logging out. */
static void walk_with_dead_token(const char *how, bool expire)
{
    char token[64];
    assert_int_equal(harness_login(daemon_.url, "desk@clinic.test", NULL, token, sizeof token),
                     STATUS_OK);
    if (expire) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "UPDATE auth_tokens SET expires_at = now() - interval '1 second'"
                 " WHERE sha256 = sha256(convert_to('%s', 'UTF8'))",
                 token);
        free(harness_sql(db_url, sql));
    } else {
        struct clinic_error err;
        const struct rpc_method *logout = rpc_table_find(&table, "/clinic.v1.Auth/Logout");
        assert_int_equal(call_with(logout, token, 0, &err), STATUS_OK);
    }
    for (size_t i = 0; i < table.n; i++) {
        const struct rpc_method *m = &table.methods[i];
        struct clinic_error err;
        int code = call_with(m, token, 0, &err);
        if (!(m->rule->flags & METHOD_PUBLIC))
            expect_refused(m, how, code, STATUS_UNAUTHENTICATED, &err);
    }
}

static void expired_token_is_unauthenticated_everywhere(void **state)
{
    (void)state;
    walk_with_dead_token("an expired token", true);
}

static void revoked_token_is_unauthenticated_everywhere(void **state)
{
    (void)state;
    walk_with_dead_token("a revoked token", false);
}

static void forged_token_is_unauthenticated(void **state)
{
    (void)state;
    struct clinic_error err;
    char forged[64];
    snprintf(forged, sizeof forged, "%s", tokens[ROLE_CLIENT]);
    forged[10] = forged[10] == 'A' ? 'B' : 'A';
    const struct rpc_method *whoami = rpc_table_find(&table, "/clinic.v1.Auth/WhoAmI");
    assert_int_equal(call_with(whoami, forged, 0, &err), STATUS_UNAUTHENTICATED);
    assert_int_equal(call_with(whoami, "not a token at all", 0, &err), STATUS_UNAUTHENTICATED);
    assert_int_equal(call_with(whoami, tokens[ROLE_CLIENT], 0, &err), STATUS_OK);
}

/* Every method whose target a client (a therapist) may name as their own: naming 0 gets past
 * the door, as their own record does. */
static void naming_no_one_is_naming_oneself(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; i < table.n; i++) {
        const struct rpc_method *m = &table.methods[i];
        const struct method_rule *r = m->rule;
        enum caller_role role = r->target == TARGET_CLIENT      ? ROLE_CLIENT
                                : r->target == TARGET_THERAPIST ? ROLE_THERAPIST
                                                                : ROLE_NONE;
        if (!walked(m) || role == ROLE_NONE || r->scope[role] == SCOPE_NONE)
            continue;
        struct clinic_error err;
        expect_admitted(m, caller_role_name(role), call_with(m, tokens[role], 0, &err), &err);
        checked++;
    }
    assert_true(checked >= 6);
}

/* method (a ClientAppointments or TherapistAgenda request with every field empty) as role; the
 * list, to free. */
static Clinic__V1__AppointmentList *empty_range(const char *method, enum caller_role role)
{
    const struct rpc_method *m = rpc_table_find(&table, method);
    assert_non_null(m);
    ProtobufCMessage *req = calloc(1, m->desc->input->sizeof_message);
    m->desc->input->message_init(req);
    clinic_client *c = harness_connect_as(daemon_.url, tokens[role]);
    assert_non_null(c);
    ProtobufCMessage *resp = NULL;
    struct clinic_error err;
    int code = clinic_call(c, m->name, req, m->desc->output, &resp, NULL, &err);
    clinic_close(c);
    free(req);
    if (code != STATUS_OK)
        fail_msg("%s as %s: %s (%s)", method, caller_role_name(role), status_code_name(code),
                 err.message);
    return (Clinic__V1__AppointmentList *)resp;
}

static void a_client_naming_no_client_gets_their_own_and_no_one_elses(void **state)
{
    (void)state;
    Clinic__V1__AppointmentList *l =
        empty_range("/clinic.v1.Scheduling/ClientAppointments", ROLE_CLIENT);
    assert_true(l->n_appointments >= 1);
    for (size_t i = 0; i < l->n_appointments; i++)
        assert_int_equal(l->appointments[i]->client_id, clinic.client_ids[0]);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    /* the audit row of the clinical read names the record the client was given */
    struct clinic_error err;
    const struct rpc_method *notes = rpc_table_find(&table, "/clinic.v1.Notes/ListNotes");
    assert_int_equal(call_with(notes, tokens[ROLE_CLIENT], 0, &err), STATUS_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT target FROM audit WHERE method = '%s' AND role = 'client'"
             " ORDER BY id DESC LIMIT 1",
             notes->name);
    char *target = harness_sql(db_url, sql), expected[64];
    snprintf(expected, sizeof expected, "client:%lld", clinic.client_ids[0]);
    assert_non_null(target);
    assert_string_equal(target, expected);
    free(target);
}

static void a_therapist_naming_no_therapist_gets_their_own_agenda(void **state)
{
    (void)state;
    Clinic__V1__AppointmentList *l =
        empty_range("/clinic.v1.Scheduling/TherapistAgenda", ROLE_THERAPIST);
    assert_true(l->n_appointments >= 1);
    for (size_t i = 0; i < l->n_appointments; i++)
        assert_int_equal(l->appointments[i]->therapist_id, clinic.therapist_ids[0]);
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

/* Staff have no record of their own to default to, nor has a therapist a client of their own:
 * 0 stays 0, and the answer says which field is missing. */
static void others_naming_no_one_are_told_the_field(void **state)
{
    (void)state;
    static const char *const methods[][2] = {
        {"/clinic.v1.Scheduling/Book", "client_id"},
        {"/clinic.v1.Scheduling/BookCourse", "client_id"},
        {"/clinic.v1.Scheduling/ClientAppointments", "client_id"},
        {"/clinic.v1.Scheduling/TherapistAgenda", "therapist_id"},
        {"/clinic.v1.Progress/ClientProgress", "client_id"},
        {"/clinic.v1.Notes/ListNotes", "client_id"},
        {"/clinic.v1.Measures/ListMeasures", "client_id"},
        {"/clinic.v1.Measures/RecordMeasure", "client_id"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        const struct rpc_method *m = rpc_table_find(&table, methods[i][0]);
        assert_non_null(m);
        for (int role = ROLE_ADMIN; role <= ROLE_THERAPIST; role++) {
            if (m->rule->scope[role] == SCOPE_NONE ||
                (role == ROLE_THERAPIST && m->rule->target == TARGET_THERAPIST))
                continue;
            struct clinic_error err;
            int code = call_with(m, tokens[role], 0, &err);
            if (!harness_has_violation(&err, methods[i][1]))
                fail_msg("%s as %s with no %s: %s (%s)", m->name,
                         caller_role_name((enum caller_role)role), methods[i][1],
                         status_code_name(code), err.message);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_role_gets_what_the_table_says),
        cmocka_unit_test(every_mutation_and_audited_read_left_audit_rows),
        cmocka_unit_test(naming_no_one_is_naming_oneself),
        cmocka_unit_test(a_client_naming_no_client_gets_their_own_and_no_one_elses),
        cmocka_unit_test(a_therapist_naming_no_therapist_gets_their_own_agenda),
        cmocka_unit_test(others_naming_no_one_are_told_the_field),
        cmocka_unit_test(no_token_is_unauthenticated_except_for_public_methods),
        cmocka_unit_test(expired_token_is_unauthenticated_everywhere),
        cmocka_unit_test(revoked_token_is_unauthenticated_everywhere),
        cmocka_unit_test(forged_token_is_unauthenticated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
