/* test_dispatch.c: the table of served methods, built from the handler sets' protobuf-c service
 * descriptors and the method table's rows: what it serves, how it is searched, and which
 * disagreements between the two stop start-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clinic/v1/diagnostics.pb-c.h"
#include "clinic/v1/health.pb-c.h"
#include "handlers.h"
#include "methods.h"
#include "rpc.h"

static char err[256];

static void build_real(struct rpc_table *table, bool with_diagnostics)
{
    err[0] = '\0';
    if (!rpc_table_build(table, handler_table, with_diagnostics, err, sizeof err))
        fail_msg("rpc_table_build: %s", err);
}

/* What the real table should hold: every method of every served service. */
static size_t methods_served(bool with_diagnostics)
{
    size_t n = 0;
    for (const struct handler_entry *e = handler_table; e->set; e++)
        if (with_diagnostics || !e->diagnostics)
            n += e->set->service->descriptor->n_methods;
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

static void entries_bind_descriptor_and_rule(void **state)
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
    assert_int_equal(check->rule->flags, METHOD_PUBLIC | METHOD_NO_TX);
    const struct rpc_method *sleep_method = rpc_table_find(&table, "/clinic.v1.Diagnostics/Sleep");
    assert_non_null(sleep_method);
    assert_int_equal(sleep_method->rule->flags & METHOD_NO_TX, 0);
    const struct rpc_method *book = rpc_table_find(&table, "/clinic.v1.Scheduling/Book");
    assert_non_null(book);
    assert_int_equal(book->rule->flags, METHOD_MUTATES);
    assert_int_equal(book->rule->target, TARGET_CLIENT);
    assert_string_equal(book->rule->field, "client_id");
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

/* --- handler sets and rows that disagree --- */

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
static const struct handler_set fake_health_set = {&fake_health.base};
static const struct handler_set handlerless_health_set = {&handlerless_health.base};

/* A one-method service, named as the test needs, whose request is HealthCheckRequest. */
struct one_method_service {
    ProtobufCService base;
    void (*handler)(void); /* where protobuf-c's invoke finds handler 0 */
};

static void fake_handler(void)
{
}

static ProtobufCMethodDescriptor fake_method = {"", &clinic__v1__health_check_request__descriptor,
                                                &clinic__v1__health_check_response__descriptor};
static const unsigned fake_method_index = 0;
static ProtobufCServiceDescriptor fake_descriptor = {PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC,
                                                     "",
                                                     "",
                                                     "",
                                                     "clinic.v1",
                                                     1,
                                                     &fake_method,
                                                     &fake_method_index};
static struct one_method_service fake_service = {{&fake_descriptor, NULL, NULL}, fake_handler};
static const struct handler_set fake_set = {&fake_service.base};

static const struct handler_set *service_named(const char *service, const char *method)
{
    fake_descriptor.name = service;
    fake_method.name = method;
    return &fake_set;
}

/* The real handler table with the set serving `service` replaced by `with` (removed when NULL),
 * and `added` appended when not NULL. */
static struct handler_entry entries[64];

static const struct handler_entry *real_table_with(const char *service,
                                                   const struct handler_set *with,
                                                   const struct handler_set *added)
{
    size_t n = 0;
    for (const struct handler_entry *e = handler_table; e->set; e++) {
        bool replaced = service && strcmp(e->set->service->descriptor->name, service) == 0;
        if (!replaced)
            entries[n++] = *e;
        else if (with)
            entries[n++] = (struct handler_entry){with, e->diagnostics};
    }
    if (added)
        entries[n++] = (struct handler_entry){added, false};
    entries[n] = (struct handler_entry){NULL, false};
    return entries;
}

static void assert_build_fails_saying(const struct handler_entry *table_entries,
                                      bool with_diagnostics, const char *words)
{
    struct rpc_table table;
    err[0] = '\0';
    assert_false(rpc_table_build(&table, table_entries, with_diagnostics, err, sizeof err));
    if (!strstr(err, words))
        fail_msg("\"%s\" does not say \"%s\"", err, words);
    assert_null(table.methods);
    assert_int_equal(table.n, 0);
}

static void another_handler_for_a_method_builds(void **state)
{
    (void)state;
    struct rpc_table table;
    assert_true(rpc_table_build(&table, real_table_with("clinic.v1.Health", &fake_health_set, NULL),
                                false, err, sizeof err));
    const struct rpc_method *check = rpc_table_find(&table, "/clinic.v1.Health/Check");
    assert_non_null(check);
    assert_ptr_equal(check->service, &fake_health.base);
    rpc_table_free(&table);
}

static void method_without_row_fails_build(void **state)
{
    (void)state;
    const struct handler_set *extra = service_named("clinic.v1.Extra", "Ping");
    assert_build_fails_saying(real_table_with(NULL, NULL, extra), false, "no row");
    assert_non_null(strstr(err, "/clinic.v1.Extra/Ping"));
}

static void row_for_undefined_method_fails_build(void **state)
{
    (void)state;
    assert_build_fails_saying(real_table_with("clinic.v1.Audit", NULL, NULL), false,
                              "no service defines");
    assert_non_null(strstr(err, "/clinic.v1.Audit/ListAudit"));
}

static void row_for_unserved_diagnostics_is_not_undefined(void **state)
{
    (void)state;
    struct rpc_table table;
    assert_true(rpc_table_build(&table, handler_table, false, err, sizeof err));
    assert_non_null(method_rule_for("/clinic.v1.Diagnostics/Sleep"));
    assert_null(rpc_table_find(&table, "/clinic.v1.Diagnostics/Sleep"));
    rpc_table_free(&table);
}

static void target_field_missing_fails_build(void **state)
{
    (void)state;
    /* GetClient's row names the request's "id"; a HealthCheckRequest has none (the real Clients
     * set stays, so no other row loses its method; the check comes before the one for twice) */
    const struct handler_set *clients = service_named("clinic.v1.Clients", "GetClient");
    const struct handler_entry *t = real_table_with(NULL, NULL, clients);
    assert_build_fails_saying(t, false, "target field \"id\"");
    assert_non_null(strstr(err, "/clinic.v1.Clients/GetClient"));
}

static void method_without_handler_fails_build(void **state)
{
    (void)state;
    assert_build_fails_saying(real_table_with("clinic.v1.Health", &handlerless_health_set, NULL),
                              false, "no handler");
}

static void method_served_twice_fails_build(void **state)
{
    (void)state;
    assert_build_fails_saying(real_table_with(NULL, NULL, &fake_health_set), false, "twice");
}

static void skipped_diagnostics_entry_is_not_checked(void **state)
{
    (void)state;
    /* a Diagnostics set without handlers: only a daemon serving diagnostics minds */
    static Clinic__V1__Diagnostics_Service handlerless = {CLINIC__V1__DIAGNOSTICS__BASE_INIT, NULL};
    static const struct handler_set bad = {&handlerless.base};
    const struct handler_entry *t = real_table_with("clinic.v1.Diagnostics", &bad, NULL);
    struct rpc_table table;
    assert_true(rpc_table_build(&table, t, false, err, sizeof err));
    assert_null(rpc_table_find(&table, "/clinic.v1.Diagnostics/Sleep"));
    rpc_table_free(&table);
    assert_build_fails_saying(t, true, "no handler");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(served_without_diagnostics),
        cmocka_unit_test(diagnostics_adds_sleep),
        cmocka_unit_test(entries_bind_descriptor_and_rule),
        cmocka_unit_test(table_is_sorted_by_name),
        cmocka_unit_test(unknown_names_are_not_found),
        cmocka_unit_test(overlong_names_are_not_found),
        cmocka_unit_test(another_handler_for_a_method_builds),
        cmocka_unit_test(method_without_row_fails_build),
        cmocka_unit_test(row_for_undefined_method_fails_build),
        cmocka_unit_test(row_for_unserved_diagnostics_is_not_undefined),
        cmocka_unit_test(target_field_missing_fails_build),
        cmocka_unit_test(method_without_handler_fails_build),
        cmocka_unit_test(method_served_twice_fails_build),
        cmocka_unit_test(skipped_diagnostics_entry_is_not_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
