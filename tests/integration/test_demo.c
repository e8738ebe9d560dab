/* clinic.v1.Demo/Load and `clinic demo load`: the demo clinic goes only into an empty clinic
 * (refused with FAILED_PRECONDITION, saying what is there and how to go on, unless forced), says
 * what it added (counts and ids, which match the database), is never loaded twice, and when
 * forced leaves out services, therapists and clients the clinic has already.
 *
 * The tests run in order on one database, as a clinic's life would: first not empty, then empty,
 * then loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/demo.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];

static long long sql_number(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Runs `clinic --url <daemon> args...`. */
static struct harness_run run(const char *const *args)
{
    const char *argv[16] = {"--url", daemon_.url};
    int n = 2;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, NULL, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

#define CLINIC(...) run((const char *const[]){__VA_ARGS__, NULL})

/* Demo/Load through libclinic as the harness admin; *out holds the reply on OK. */
static int load(bool force, Clinic__V1__LoadDemoResponse **out, struct clinic_error *err)
{
    clinic_client *c = harness_connect_as(daemon_.url, daemon_.admin_token);
    assert_non_null(c);
    Clinic__V1__LoadDemoRequest req = CLINIC__V1__LOAD_DEMO_REQUEST__INIT;
    req.force = force;
    int code = harness_call(c, "Demo/Load", &req, &clinic__v1__load_demo_response__descriptor, out,
                            true, NULL, err);
    clinic_close(c);
    return code;
}

/* How many rows of table hold one of ids (the reply's ids name what the load added). */
static long long rows_with_ids(const char *table, const int64_t *ids, size_t n)
{
    char list[512] = "0";
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, ",%lld", (long long)ids[i]);
    }
    char sql[640];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id IN (%s)", table, list);
    return sql_number(sql);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "demo", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static void demo_is_refused_in_a_clinic_that_is_not_empty(void **state)
{
    (void)state;
    long long location = sql_number("INSERT INTO locations (name, time_zone) VALUES ('Praxis Nord',"
                                    " 'Europe/Berlin') RETURNING id");
    struct harness_run r = CLINIC("demo", "load");
    assert_int_equal(r.status, STATUS_FAILED_PRECONDITION);
    /* what is there, and how to go on */
    harness_assert_contains(r.err, "1 location(s), 0 therapist(s), 0 client(s) and 0 service(s)");
    harness_assert_contains(r.err, "empty clinic");
    harness_assert_contains(r.err, "--force");
    harness_run_free(&r);

    struct clinic_error err;
    Clinic__V1__LoadDemoResponse *d;
    assert_int_equal(load(false, &d, &err), STATUS_FAILED_PRECONDITION);
    assert_non_null(strstr(err.message, "already holds 1 location(s)"));
    /* nothing was added */
    assert_int_equal(sql_number("SELECT count(*) FROM locations"), 1);
    assert_int_equal(sql_number("SELECT count(*) FROM rooms"), 0);

    /* a therapist, a client or a service alone makes the clinic not empty too */
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM locations WHERE id = %lld RETURNING id", location);
    assert_int_equal(sql_number(sql), location);
    sql_number("INSERT INTO services (name, duration_minutes) VALUES ('Cupping', 30) RETURNING id");
    assert_int_equal(load(false, &d, &err), STATUS_FAILED_PRECONDITION);
    assert_non_null(
        strstr(err.message, "0 location(s), 0 therapist(s), 0 client(s) and 1 service"));
    assert_int_equal(sql_number("DELETE FROM services RETURNING id") > 0, 1);
}

static void demo_in_an_empty_clinic_says_what_it_added(void **state)
{
    (void)state;
    /* users (the harness admin) do not count: a clinic that only has its admin is empty */
    assert_true(sql_number("SELECT count(*) FROM users") > 0);
    struct clinic_error err;
    Clinic__V1__LoadDemoResponse *d;
    assert_int_equal(load(false, &d, &err), STATUS_OK);
    assert_true(d->location_id > 0);
    assert_int_equal(d->rooms, 3);
    assert_int_equal(d->services, 4);
    assert_int_equal(d->therapists, 5);
    assert_int_equal(d->clients, 8);
    assert_int_equal(d->working_hours, 5 * 5 + 1);
    assert_int_equal(d->appointments, 0);
    assert_int_equal(d->n_room_ids, 3);
    assert_int_equal(d->n_service_ids, 4);
    assert_int_equal(d->n_therapist_ids, 5);
    assert_int_equal(d->n_client_ids, 8);
    /* the ids are the rows it made, and it made nothing else */
    assert_int_equal(rows_with_ids("rooms", d->room_ids, d->n_room_ids), 3);
    assert_int_equal(rows_with_ids("services", d->service_ids, d->n_service_ids), 4);
    assert_int_equal(rows_with_ids("therapists", d->therapist_ids, d->n_therapist_ids), 5);
    assert_int_equal(rows_with_ids("clients", d->client_ids, d->n_client_ids), 8);
    assert_int_equal(sql_number("SELECT count(*) FROM locations"), 1);
    assert_int_equal(sql_number("SELECT count(*) FROM clients"), 8);
    assert_int_equal(sql_number("SELECT count(*) FROM working_hours"), 26);
    assert_int_equal(sql_number("SELECT count(*) FROM appointments"), 0);
    harness_free_message(d);
}

static void demo_is_never_loaded_twice_even_forced(void **state)
{
    (void)state;
    /* the more precise answer first: it is the demo that is there */
    struct harness_run r = CLINIC("demo", "load");
    assert_int_equal(r.status, STATUS_ALREADY_EXISTS);
    harness_assert_contains(r.err, "already loaded");
    harness_run_free(&r);
    r = CLINIC("demo", "load", "--force");
    assert_int_equal(r.status, STATUS_ALREADY_EXISTS);
    harness_assert_contains(r.err, "already loaded");
    harness_run_free(&r);
    assert_int_equal(sql_number("SELECT count(*) FROM locations"), 1);
    assert_int_equal(sql_number("SELECT count(*) FROM clients"), 8);
}

static void forced_demo_adds_only_what_the_clinic_lacks_and_says_so(void **state)
{
    (void)state;
    /* the first demo renamed, as a clinic that grew out of it would */
    assert_true(sql_number("UPDATE locations SET name = 'Praxis Mitte' RETURNING id") > 0);
    sql_number("UPDATE clients SET email = 'maria@elsewhere.example' WHERE name = 'Maria Schmidt'"
               " RETURNING id");
    struct harness_run r = CLINIC("demo", "load", "--force");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "Loaded the demo clinic");
    /* a new location with its rooms; services, therapists and (but one) clients were there */
    harness_assert_contains(r.out, "rooms          3 (ids ");
    harness_assert_contains(r.out, "services       0\n");
    harness_assert_contains(r.out, "therapists     0\n");
    harness_assert_contains(r.out, "clients        1 (id ");
    harness_assert_contains(r.out, "appointments   0\n");
    harness_run_free(&r);
    assert_int_equal(sql_number("SELECT count(*) FROM locations"), 2);
    assert_int_equal(sql_number("SELECT count(*) FROM services"), 4);
    assert_int_equal(sql_number("SELECT count(*) FROM clients WHERE name = 'Maria Schmidt'"), 2);

    /* --json carries the same summary for scripts */
    assert_true(sql_number("UPDATE locations SET name = 'Praxis Ost' WHERE name = 'Demo Clinic'"
                           " RETURNING id") > 0);
    r = CLINIC("--json", "demo", "load", "--force");
    assert_int_equal(r.status, 0);
    harness_assert_contains(r.out, "\"rooms\":3");
    harness_assert_contains(r.out, "\"room_ids\":[");
    harness_run_free(&r);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_is_refused_in_a_clinic_that_is_not_empty),
        cmocka_unit_test(demo_in_an_empty_clinic_says_what_it_added),
        cmocka_unit_test(demo_is_never_loaded_twice_even_forced),
        cmocka_unit_test(forced_demo_adds_only_what_the_clinic_lacks_and_says_so),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
