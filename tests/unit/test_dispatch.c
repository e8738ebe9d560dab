/* test_dispatch.c: the method table built from protobuf-c service descriptors: what it serves,
 * how it is searched, and which mistakes in a service definition stop start-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clinic/v1/health.pb-c.h"
#include "authz.h"
#include "rpc.h"
#include "service.h"

static char err[256];

static void build_real(struct rpc_table *table, bool with_diagnostics)
{
    err[0] = '\0';
    if (!rpc_table_build(table, service_table, with_diagnostics, err, sizeof err))
        fail_msg("rpc_table_build: %s", err);
}

/* What the real table should hold: every method of every served service. */
static size_t methods_served(bool with_diagnostics)
{
    size_t n = 0;
    for (const struct service_entry *e = service_table; e->def; e++)
        if (with_diagnostics || !e->diagnostics)
            n += e->def->service->descriptor->n_methods;
    return n;
}

static void served_without_diagnostics(void **state)
{
    (void)state;
    struct rpc_table table;
    build_real(&table, false);
    assert_int_equal(table.n, methods_served(false));
    assert_non_null(rpc_table_find(&table, "/clinic.v1.Health/Check"));
    assert_non_null(rpc_table_find(&table, "/clinic.v1.Reflection/ListMethods"));
    assert_null(rpc_table_find(&table, "/clinic.v1.Diagnostics/Sleep"));
    rpc_table_free(&table);
}

static void diagnostics_adds_sleep(void **state)
{
    (void)state;
    struct rpc_table table;
    build_real(&table, true);
    assert_int_equal(table.n, methods_served(true));
    assert_int_equal(table.n, methods_served(false) + 1);
    assert_non_null(rpc_table_find(&table, "/clinic.v1.Health/Check"));
    assert_non_null(rpc_table_find(&table, "/clinic.v1.Reflection/ListMethods"));
    assert_non_null(rpc_table_find(&table, "/clinic.v1.Diagnostics/Sleep"));
    rpc_table_free(&table);
}

static void entries_bind_descriptor_and_policy(void **state)
{
    (void)state;
    struct rpc_table table;
    build_real(&table, true);
    const struct rpc_method *check = rpc_table_find(&table, "/clinic.v1.Health/Check");
    assert_non_null(check);
    assert_string_equal(check->desc->name, "Check");
    assert_ptr_equal(check->desc->input, &clinic__v1__health_check_request__descriptor);
    assert_ptr_equal(check->service->descriptor, &clinic__v1__health__descriptor);
    assert_int_equal(check->index, 0);
    assert_int_equal(check->flags, METHOD_NO_TX);
    assert_true(check->rule->public);
    const struct rpc_method *sleep_method = rpc_table_find(&table, "/clinic.v1.Diagnostics/Sleep");
    assert_non_null(sleep_method);
    assert_int_equal(sleep_method->flags & METHOD_NO_TX, 0);
    const struct rpc_method *book = rpc_table_find(&table, "/clinic.v1.Scheduling/Book");
    assert_non_null(book);
    assert_false(book->rule->public);
    assert_int_equal(book->rule->scope[ROLE_CLIENT], SCOPE_OWN);
    rpc_table_free(&table);
}

static void table_is_sorted_by_name(void **state)
{
    (void)state;
    struct rpc_table table;
    build_real(&table, true);
    for (size_t i = 1; i < table.n; i++)
        assert_true(strcmp(table.methods[i - 1].name, table.methods[i].name) < 0);
    rpc_table_free(&table);
}

static void unknown_names_are_not_found(void **state)
{
    (void)state;
    struct rpc_table table;
    build_real(&table, true);
    assert_null(rpc_table_find(&table, ""));
    assert_null(rpc_table_find(&table, "/clinic.v1.Health/check"));
    assert_null(rpc_table_find(&table, "/clinic.v1.Health/Chec"));
    assert_null(rpc_table_find(&table, "/clinic.v1.Health/Check/"));
    assert_null(rpc_table_find(&table, "clinic.v1.Health/Check"));
    assert_null(rpc_table_find(&table, "/clinic.v1.Nope/Check"));
    rpc_table_free(&table);
}

/* A name longer than the table's slots must not match the method it starts with once cut. */
static void overlong_names_are_not_found(void **state)
{
    (void)state;
    struct rpc_table table;
    build_real(&table, true);
    char name[4096];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memcpy(name, "/clinic.v1.Health/Check", 23);
    assert_null(rpc_table_find(&table, name));
    name[sizeof table.methods[0].name] = '\0';
    assert_null(rpc_table_find(&table, name));
    name[sizeof table.methods[0].name - 1] = '\0';
    assert_null(rpc_table_find(&table, name));
    rpc_table_free(&table);
}

/* --- service definitions with mistakes --- */

static void fake_check(Clinic__V1__Health_Service *service,
                       const Clinic__V1__HealthCheckRequest *input,
                       Clinic__V1__HealthCheckResponse_Closure closure, void *closure_data)
{
    (void)service;
    (void)input;
    (void)closure;
    (void)closure_data;
}

static Clinic__V1__Health_Service fake_health = CLINIC__V1__HEALTH__INIT(fake_);
static Clinic__V1__Health_Service handlerless_health = {CLINIC__V1__HEALTH__BASE_INIT, NULL};

static const struct method_policy check_policy[] = {{"Check", METHOD_MUTATES}, {NULL, 0}};

static void assert_build_fails_saying(const struct service_def *def, const char *words)
{
    const struct service_entry entries[] = {{def, false}, {NULL, false}};
    struct rpc_table table;
    err[0] = '\0';
    assert_false(rpc_table_build(&table, entries, false, err, sizeof err));
    if (!strstr(err, words))
        fail_msg("\"%s\" does not say \"%s\"", err, words);
    assert_null(table.methods);
    assert_int_equal(table.n, 0);
}

static void well_formed_fake_service_builds(void **state)
{
    (void)state;
    const struct service_def def = {&fake_health.base, check_policy};
    const struct service_entry entries[] = {{&def, false}, {NULL, false}};
    struct rpc_table table;
    assert_true(rpc_table_build(&table, entries, false, err, sizeof err));
    assert_int_equal(table.n, 1);
    assert_string_equal(table.methods[0].name, "/clinic.v1.Health/Check");
    assert_int_equal(table.methods[0].flags, METHOD_MUTATES);
    rpc_table_free(&table);
}

static void method_without_policy_fails_build(void **state)
{
    (void)state;
    static const struct method_policy none[] = {{NULL, 0}};
    const struct service_def def = {&fake_health.base, none};
    assert_build_fails_saying(&def, "no policy");
    assert_non_null(strstr(err, "/clinic.v1.Health/Check"));
}

static void policy_for_undefined_method_fails_build(void **state)
{
    (void)state;
    static const struct method_policy typo[] = {{"Check", 0}, {"Chek", 0}, {NULL, 0}};
    const struct service_def def = {&fake_health.base, typo};
    assert_build_fails_saying(&def, "Chek");
}

static void method_without_handler_fails_build(void **state)
{
    (void)state;
    const struct service_def def = {&handlerless_health.base, check_policy};
    assert_build_fails_saying(&def, "no handler");
}

static void method_served_twice_fails_build(void **state)
{
    (void)state;
    const struct service_def def = {&fake_health.base, check_policy};
    const struct service_entry entries[] = {{&def, false}, {&def, false}, {NULL, false}};
    struct rpc_table table;
    assert_false(rpc_table_build(&table, entries, false, err, sizeof err));
    assert_non_null(strstr(err, "twice"));
    assert_null(table.methods);
}

static void skipped_diagnostics_entry_is_not_checked(void **state)
{
    (void)state;
    const struct service_def bad = {&handlerless_health.base, check_policy};
    const struct service_entry entries[] = {{&bad, true}, {NULL, false}};
    struct rpc_table table;
    assert_true(rpc_table_build(&table, entries, false, err, sizeof err));
    assert_int_equal(table.n, 0);
    assert_null(rpc_table_find(&table, "/clinic.v1.Health/Check"));
    rpc_table_free(&table);
    assert_false(rpc_table_build(&table, entries, true, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(served_without_diagnostics),
        cmocka_unit_test(diagnostics_adds_sleep),
        cmocka_unit_test(entries_bind_descriptor_and_policy),
        cmocka_unit_test(table_is_sorted_by_name),
        cmocka_unit_test(unknown_names_are_not_found),
        cmocka_unit_test(overlong_names_are_not_found),
        cmocka_unit_test(well_formed_fake_service_builds),
        cmocka_unit_test(method_without_policy_fails_build),
        cmocka_unit_test(policy_for_undefined_method_fails_build),
        cmocka_unit_test(method_without_handler_fails_build),
        cmocka_unit_test(method_served_twice_fails_build),
        cmocka_unit_test(skipped_diagnostics_entry_is_not_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
