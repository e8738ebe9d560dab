/* clinic.v1.Services through libclinic, as an admin sets up the treatments: length, buffers,
 * price and the room features they need, each held to its range; names unique whatever their
 * case; paging; changes limited to the update mask; archiving as deactivation, hidden from
 * lists unless asked; every refused field named in the reply; idempotent creation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/admin.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 10000

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];

static int setup(void **state)
{
    (void)state;
    struct clinic_error err;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "admin_services", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true))
        return -1;
    client = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &err);
    return client ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(client);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* harness_call on this file's client. */
static int call(const char *method, const void *request, const ProtobufCMessageDescriptor *type,
                void *out, bool mutating, const char *key, struct clinic_error *err)
{
    return harness_call(client, method, request, type, out, mutating, key, err);
}

/* A CreateServiceRequest that is accepted: 60 minutes, 10 after, 80.00. */
static Clinic__V1__CreateServiceRequest good_service(const char *name)
{
    Clinic__V1__CreateServiceRequest req = CLINIC__V1__CREATE_SERVICE_REQUEST__INIT;
    req.name = (char *)name;
    req.duration_minutes = 60;
    req.buffer_after_minutes = 10;
    req.price_cents = 8000;
    return req;
}

static int create_service_call(const Clinic__V1__CreateServiceRequest *req, const char *key,
                               Clinic__V1__Service **out, struct clinic_error *err)
{
    return call("Services/CreateService", req, &clinic__v1__service__descriptor, out, true, key,
                err);
}

static int64_t create_service(const char *name)
{
    Clinic__V1__CreateServiceRequest req = good_service(name);
    Clinic__V1__Service *s;
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, NULL, &s, &err), STATUS_OK);
    int64_t id = s->id;
    harness_free_message(s);
    return id;
}

static int get_service(int64_t id, Clinic__V1__Service **out, struct clinic_error *err)
{
    Clinic__V1__GetServiceRequest req = CLINIC__V1__GET_SERVICE_REQUEST__INIT;
    req.id = id;
    return call("Services/GetService", &req, &clinic__v1__service__descriptor, out, false, NULL,
                err);
}

static int list_services(uint32_t page_size, const char *token, bool inactive,
                         Clinic__V1__ListServicesResponse **out, struct clinic_error *err)
{
    Clinic__V1__ListServicesRequest req = CLINIC__V1__LIST_SERVICES_REQUEST__INIT;
    req.page_size = page_size;
    req.page_token = (char *)token;
    req.include_inactive = inactive;
    return call("Services/ListServices", &req, &clinic__v1__list_services_response__descriptor, out,
                false, NULL, err);
}

static int update_service(Clinic__V1__UpdateServiceRequest *req, Clinic__V1__Service **out,
                          struct clinic_error *err)
{
    return call("Services/UpdateService", req, &clinic__v1__service__descriptor, out, true, NULL,
                err);
}

static int archive_service(int64_t id, Clinic__V1__Service **out, struct clinic_error *err)
{
    Clinic__V1__ArchiveServiceRequest req = CLINIC__V1__ARCHIVE_SERVICE_REQUEST__INIT;
    req.id = id;
    return call("Services/ArchiveService", &req, &clinic__v1__service__descriptor, out, true, NULL,
                err);
}

static long count_services_named(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM services WHERE name = '%s'", name);
    char *text = harness_sql(db_url, sql);
    assert_non_null(text);
    long n = strtol(text, NULL, 10);
    free(text);
    return n;
}

/* Every service a listing shows, following next_page_token (bounded): ids in *ids (malloc'd). */
static size_t list_all_services(uint32_t page_size, bool inactive, int64_t **ids)
{
    size_t n = 0, cap = 16;
    *ids = malloc(cap * sizeof **ids);
    char token[64] = "";
    for (int page = 0; page < 1000; page++) {
        Clinic__V1__ListServicesResponse *resp;
        struct clinic_error err;
        assert_int_equal(list_services(page_size, token, inactive, &resp, &err), STATUS_OK);
        assert_true(resp->n_services <= page_size);
        /* only the last page may be short */
        if (resp->next_page_token[0])
            assert_int_equal(resp->n_services, page_size);
        for (size_t i = 0; i < resp->n_services; i++) {
            if (n == cap)
                *ids = realloc(*ids, (cap *= 2) * sizeof **ids);
            (*ids)[n++] = resp->services[i]->id;
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        harness_free_message(resp);
        if (!token[0])
            return n;
    }
    fail_msg("ListServices never ended");
    return n;
}

static bool contains(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void create_service_returns_the_stored_service(void **state)
{
    (void)state;
    Clinic__V1__CreateServiceRequest req = good_service("Deep Tissue 60");
    char *features[] = {"heated_table", "table"};
    req.buffer_before_minutes = 5;
    req.required_features = features;
    req.n_required_features = 2;
    Clinic__V1__Service *s, *again;
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, NULL, &s, &err), STATUS_OK);
    assert_true(s->id > 0);
    assert_string_equal(s->name, "Deep Tissue 60");
    assert_int_equal(s->duration_minutes, 60);
    assert_int_equal(s->buffer_before_minutes, 5);
    assert_int_equal(s->buffer_after_minutes, 10);
    assert_int_equal(s->price_cents, 8000);
    assert_int_equal(s->n_required_features, 2);
    assert_string_equal(s->required_features[0], "heated_table");
    assert_string_equal(s->required_features[1], "table");
    assert_true(s->active);

    assert_int_equal(get_service(s->id, &again, &err), STATUS_OK);
    assert_true(harness_same_bytes(s, again));
    harness_free_message(s);
    harness_free_message(again);
}

static void get_service_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(get_service(777777, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "service 777777 does not exist");
    assert_int_equal(get_service(-1, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "id"));
}

static void service_names_are_unique_whatever_their_case(void **state)
{
    (void)state;
    create_service("Hot Stone");
    Clinic__V1__CreateServiceRequest req = good_service("HOT STONE");
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, NULL, NULL, &err), STATUS_ALREADY_EXISTS);
    assert_string_equal(err.message, "a service named \"HOT STONE\" already exists");
}

static void create_service_names_every_bad_field(void **state)
{
    (void)state;
    Clinic__V1__CreateServiceRequest req = CLINIC__V1__CREATE_SERVICE_REQUEST__INIT;
    char *features[] = {"Heated-Table"};
    req.name = "";
    req.duration_minutes = 0;
    req.buffer_before_minutes = 241;
    req.buffer_after_minutes = UINT32_MAX;
    req.price_cents = -1;
    req.required_features = features;
    req.n_required_features = 1;
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, NULL, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 6);
    assert_true(harness_has_violation(&err, "name"));
    assert_true(harness_has_violation(&err, "duration_minutes"));
    assert_true(harness_has_violation(&err, "buffer_before_minutes"));
    assert_true(harness_has_violation(&err, "buffer_after_minutes"));
    assert_true(harness_has_violation(&err, "price_cents"));
    assert_true(harness_has_violation(&err, "required_features"));
}

static void create_service_holds_each_number_to_its_range(void **state)
{
    (void)state;
    struct clinic_error err;
    /* the edges are accepted */
    Clinic__V1__CreateServiceRequest req = good_service("Shortest");
    req.duration_minutes = 5;
    req.buffer_before_minutes = 240;
    req.buffer_after_minutes = 0;
    req.price_cents = 0;
    assert_int_equal(create_service_call(&req, NULL, NULL, &err), STATUS_OK);
    req = good_service("Longest");
    req.duration_minutes = 720;
    req.buffer_after_minutes = 240;
    req.price_cents = 100000000;
    assert_int_equal(create_service_call(&req, NULL, NULL, &err), STATUS_OK);

    /* one past each edge is not; a uint32 past INT_MAX is refused by name, not by the database */
    const struct {
        uint32_t duration, before, after;
        int64_t price;
        const char *field;
    } cases[] = {
        {4, 0, 0, 0, "duration_minutes"},          {721, 0, 0, 0, "duration_minutes"},
        {UINT32_MAX, 0, 0, 0, "duration_minutes"}, {60, 2147483648u, 0, 0, "buffer_before_minutes"},
        {60, 0, 241, 0, "buffer_after_minutes"},   {60, 0, 0, 100000001, "price_cents"},
        {60, 0, 0, INT64_MIN, "price_cents"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        req = good_service("Out Of Range");
        req.duration_minutes = cases[i].duration;
        req.buffer_before_minutes = cases[i].before;
        req.buffer_after_minutes = cases[i].after;
        req.price_cents = cases[i].price;
        assert_int_equal(create_service_call(&req, NULL, NULL, &err), STATUS_INVALID_ARGUMENT);
        assert_int_equal(err.n_violations, 1);
        assert_true(harness_has_violation(&err, cases[i].field));
    }
    assert_int_equal(count_services_named("Out Of Range"), 0);
}

static void create_service_refuses_a_feature_listed_twice(void **state)
{
    (void)state;
    Clinic__V1__CreateServiceRequest req = good_service("Twice");
    char *features[] = {"table", "shower", "table"};
    req.required_features = features;
    req.n_required_features = 3;
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, NULL, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "required_features"));
}

static void list_services_pages_two_at_a_time(void **state)
{
    (void)state;
    int64_t created[5];
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "Paged Service %d", i);
        created[i] = create_service(name);
    }
    int64_t *ids;
    size_t n = list_all_services(2, false, &ids);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i - 1] < ids[i]); /* id order, no repeats */
    for (int i = 0; i < 5; i++)
        assert_true(contains(ids, n, created[i]));
    char *active = harness_sql(db_url, "SELECT count(*) FROM services WHERE active");
    assert_non_null(active);
    assert_int_equal(n, strtol(active, NULL, 10));
    free(active);
    free(ids);

    /* a token from one reply continues exactly after it */
    Clinic__V1__ListServicesResponse *first, *second;
    struct clinic_error err;
    assert_int_equal(list_services(2, "", false, &first, &err), STATUS_OK);
    assert_int_equal(first->n_services, 2);
    assert_true(first->next_page_token[0] != '\0');
    assert_int_equal(list_services(1, first->next_page_token, false, &second, &err), STATUS_OK);
    assert_int_equal(second->n_services, 1);
    assert_true(second->services[0]->id > first->services[1]->id);
    harness_free_message(first);
    harness_free_message(second);
}

static void list_services_hides_archived_ones_unless_asked(void **state)
{
    (void)state;
    int64_t kept = create_service("Kept Service"), retired = create_service("Retired Service");
    struct clinic_error err;
    Clinic__V1__Service *s;
    assert_int_equal(archive_service(retired, &s, &err), STATUS_OK);
    assert_false(s->active);
    harness_free_message(s);

    int64_t *ids;
    size_t n = list_all_services(50, false, &ids);
    assert_true(contains(ids, n, kept));
    assert_false(contains(ids, n, retired));
    free(ids);
    n = list_all_services(50, true, &ids);
    assert_true(contains(ids, n, kept));
    assert_true(contains(ids, n, retired));
    free(ids);

    /* still readable by id, as past appointments refer to it */
    assert_int_equal(get_service(retired, &s, &err), STATUS_OK);
    assert_false(s->active);
    harness_free_message(s);
}

static void list_services_refuses_bad_paging(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(list_services(501, "", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "page_size"));
    assert_int_equal(list_services(0, "p-1", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "page_token"));
}

static void update_service_changes_only_the_fields_in_the_mask(void **state)
{
    (void)state;
    int64_t id = create_service("Update Me");
    Clinic__V1__UpdateServiceRequest req = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    char *mask[] = {"price_cents", "buffer_after_minutes"};
    req.id = id;
    req.price_cents = 9500;
    req.buffer_after_minutes = 15;
    req.duration_minutes = 0; /* not in the mask: neither checked nor stored */
    req.name = "";
    req.update_mask = mask;
    req.n_update_mask = 2;
    Clinic__V1__Service *s;
    struct clinic_error err;
    assert_int_equal(update_service(&req, &s, &err), STATUS_OK);
    assert_int_equal(s->price_cents, 9500);
    assert_int_equal(s->buffer_after_minutes, 15);
    assert_int_equal(s->duration_minutes, 60);
    assert_string_equal(s->name, "Update Me");
    harness_free_message(s);

    char *all[] = {
        "name",        "duration_minutes", "buffer_before_minutes", "buffer_after_minutes",
        "price_cents", "required_features"};
    char *features[] = {"shower"};
    req.name = "Updated";
    req.duration_minutes = 90;
    req.buffer_before_minutes = 3;
    req.buffer_after_minutes = 0;
    req.price_cents = 12000;
    req.required_features = features;
    req.n_required_features = 1;
    req.update_mask = all;
    req.n_update_mask = 6;
    assert_int_equal(update_service(&req, &s, &err), STATUS_OK);
    assert_string_equal(s->name, "Updated");
    assert_int_equal(s->duration_minutes, 90);
    assert_int_equal(s->buffer_before_minutes, 3);
    assert_int_equal(s->buffer_after_minutes, 0);
    assert_int_equal(s->price_cents, 12000);
    assert_int_equal(s->n_required_features, 1);
    assert_string_equal(s->required_features[0], "shower");
    harness_free_message(s);
}

static void update_service_checks_the_masked_fields(void **state)
{
    (void)state;
    int64_t id = create_service("Check Me");
    Clinic__V1__UpdateServiceRequest req = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    char *mask[] = {"duration_minutes", "price_cents", "name"};
    req.id = id;
    req.duration_minutes = 721;
    req.price_cents = -5;
    req.name = "";
    req.update_mask = mask;
    req.n_update_mask = 3;
    struct clinic_error err;
    assert_int_equal(update_service(&req, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 3);
    assert_true(harness_has_violation(&err, "duration_minutes"));
    assert_true(harness_has_violation(&err, "price_cents"));
    assert_true(harness_has_violation(&err, "name"));
}

static void update_service_with_an_empty_or_unknown_mask_is_invalid(void **state)
{
    (void)state;
    int64_t id = create_service("Mask Me");
    Clinic__V1__UpdateServiceRequest req = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    req.id = id;
    req.name = "Whatever";
    struct clinic_error err;
    assert_int_equal(update_service(&req, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "update_mask"));
    char *unknown[] = {"active"};
    req.update_mask = unknown;
    req.n_update_mask = 1;
    assert_int_equal(update_service(&req, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "update_mask"));
}

static void update_service_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    Clinic__V1__UpdateServiceRequest req = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    char *mask[] = {"price_cents"};
    req.id = 666666;
    req.price_cents = 100;
    req.update_mask = mask;
    req.n_update_mask = 1;
    struct clinic_error err;
    assert_int_equal(update_service(&req, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "service 666666 does not exist");
}

static void update_service_to_a_taken_name_already_exists(void **state)
{
    (void)state;
    create_service("Lymph Drainage");
    int64_t id = create_service("Other Name");
    Clinic__V1__UpdateServiceRequest req = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    char *mask[] = {"name"};
    req.id = id;
    req.name = "lymph drainage";
    req.update_mask = mask;
    req.n_update_mask = 1;
    struct clinic_error err;
    assert_int_equal(update_service(&req, NULL, &err), STATUS_ALREADY_EXISTS);
    assert_string_equal(err.message, "a service named \"lymph drainage\" already exists");
}

static void archive_service_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(archive_service(555555, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "service 555555 does not exist");
    assert_int_equal(archive_service(0, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "id"));
}

static void create_service_twice_with_one_idempotency_key_creates_it_once(void **state)
{
    (void)state;
    Clinic__V1__CreateServiceRequest req = good_service("Retried Service");
    Clinic__V1__Service *first, *second;
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, "services-key-1", &first, &err), STATUS_OK);
    assert_int_equal(create_service_call(&req, "services-key-1", &second, &err), STATUS_OK);
    assert_true(harness_same_bytes(first, second));
    assert_int_equal(count_services_named("Retried Service"), 1);
    harness_free_message(first);
    harness_free_message(second);
}

static void idempotency_key_reused_for_another_service_is_invalid(void **state)
{
    (void)state;
    Clinic__V1__CreateServiceRequest req = good_service("Keyed Once");
    struct clinic_error err;
    assert_int_equal(create_service_call(&req, "services-key-2", NULL, &err), STATUS_OK);
    req.price_cents = 9000;
    assert_int_equal(create_service_call(&req, "services-key-2", NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "idempotency_key"));
    Clinic__V1__Service *s;
    char *id_text = harness_sql(db_url, "SELECT id FROM services WHERE name = 'Keyed Once'");
    assert_non_null(id_text);
    assert_int_equal(get_service(strtoll(id_text, NULL, 10), &s, &err), STATUS_OK);
    assert_int_equal(s->price_cents, 8000); /* the first request's, untouched */
    harness_free_message(s);
    free(id_text);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_service_returns_the_stored_service),
        cmocka_unit_test(get_service_of_an_unknown_id_is_not_found),
        cmocka_unit_test(service_names_are_unique_whatever_their_case),
        cmocka_unit_test(create_service_names_every_bad_field),
        cmocka_unit_test(create_service_holds_each_number_to_its_range),
        cmocka_unit_test(create_service_refuses_a_feature_listed_twice),
        cmocka_unit_test(list_services_pages_two_at_a_time),
        cmocka_unit_test(list_services_hides_archived_ones_unless_asked),
        cmocka_unit_test(list_services_refuses_bad_paging),
        cmocka_unit_test(update_service_changes_only_the_fields_in_the_mask),
        cmocka_unit_test(update_service_checks_the_masked_fields),
        cmocka_unit_test(update_service_with_an_empty_or_unknown_mask_is_invalid),
        cmocka_unit_test(update_service_of_an_unknown_id_is_not_found),
        cmocka_unit_test(update_service_to_a_taken_name_already_exists),
        cmocka_unit_test(archive_service_of_an_unknown_id_is_not_found),
        cmocka_unit_test(create_service_twice_with_one_idempotency_key_creates_it_once),
        cmocka_unit_test(idempotency_key_reused_for_another_service_is_invalid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
