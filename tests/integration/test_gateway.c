/* clinic-gateway: Connect's unary protocol over HTTP/1.1 to a real clinicd. A gateway runs in
 * this process on a free port (gateway_start, what clinic-gateway's main runs) and libcurl
 * calls it as a browser or `buf curl` would: JSON and binary protobuf, the bearer token, the
 * idempotency key and the deadline passed on, errors as Connect's JSON with the HTTP status of
 * its table, the body limit, CORS closed unless an origin is configured, security headers, login
 * tries limited per address.
 * Bookings go to 1 June of next year, so the tests pass on any day of any year. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "gateway.h"
#include "connect.h"
#include "harness.h"
#include "methods.h"
#include "services.h"
#include "status.h"
#include "web_harness.h"

#define MAX_BODY       2048
#define ALLOWED_ORIGIN "https://book.clinic.test"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static struct web_gateway web;
static const char *base; /* the gateway called: web's, or one of a test's own */
static int year;

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "gateway", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "UTC", 1, 2, &clinic))
        return -1;
    year = harness_next_year();
    struct gateway_config config = {.max_body_bytes = MAX_BODY,
                                    .max_connections = 32,
                                    .per_address_max = 32,
                                    .origins = {ALLOWED_ORIGIN},
                                    .n_origins = 1};
    if (!web_gateway_start(&web, daemon_.url, &config))
        return -1;
    base = web.base;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    web_gateway_stop(&web);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ an HTTP exchange */

/* Sends `method` to base+path with the headers (NULL-terminated, may be NULL) and body. */
static struct web_reply exchange(const char *method, const char *path, const char *const *headers,
                                 const void *body, size_t len)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    return web_exchange(method, url, headers, body, len);
}

/* POSTs JSON text to a method's path with the given extra headers (NULL-terminated, may be
 * NULL); the reply's JSON (decref it) and its status. */
static json_t *post_json(const char *path, const char *json, const char *const *extra, long *status)
{
    const char *headers[8] = {"Content-Type: application/json"};
    for (size_t i = 0; extra && extra[i] && i < 6; i++)
        headers[i + 1] = extra[i];
    struct web_reply r = exchange("POST", path, headers, json, strlen(json));
    *status = r.status;
    json_error_t e;
    json_t *v = json_loads(r.body ? r.body : "", 0, &e);
    if (!v)
        fail_msg("POST %s answered %ld with no JSON: %s", path, r.status, r.body);
    free(r.body);
    return v;
}

static const char *text_of(json_t *v, const char *key)
{
    const char *s = json_string_value(json_object_get(v, key));
    if (!s)
        fail_msg("no \"%s\" in %s", key, json_dumps(v, 0));
    return s;
}

/* Expects a Connect error with code and HTTP status; returns its message. */
static void expect_error(json_t *v, long status, long want_status, const char *want_code)
{
    if (status != want_status || strcmp(text_of(v, "code"), want_code) != 0)
        fail_msg("expected HTTP %ld \"%s\", got %ld: %s", want_status, want_code, status,
                 json_dumps(v, 0));
    assert_non_null(json_object_get(v, "message"));
}

static const char *bearer(const char *token, char *out, size_t len)
{
    snprintf(out, len, "Authorization: Bearer %s", token);
    return out;
}

/* POSTs JSON and expects Connect's error with code and HTTP status; returns the message
 * (malloc'd). */
static char *post_expecting_error(const char *path, const char *json, const char *const *extra,
                                  long want_status, const char *want_code)
{
    long status;
    json_t *v = post_json(path, json, extra, &status);
    expect_error(v, status, want_status, want_code);
    char *message = strdup(text_of(v, "message"));
    json_decref(v);
    return message;
}

/* Logs in as the harness admin through the gateway; "Authorization: Bearer ..." into out. */
static const char *admin_authorization(char *out, size_t len)
{
    long status;
    char login[256];
    snprintf(login, sizeof login, "{\"email\":\"%s\",\"password\":\"%s\"}", HARNESS_ADMIN_EMAIL,
             HARNESS_PASSWORD);
    json_t *v = post_json("/clinic.v1.Auth/Login", login, NULL, &status);
    assert_int_equal(status, 200);
    bearer(text_of(v, "token"), out, len);
    json_decref(v);
    return out;
}

/* ------------------------------------------------------------------ tests */

static void health_answers_json_and_protobuf_with_safe_headers(void **state)
{
    (void)state;
    long status;
    json_t *v = post_json("/clinic.v1.Health/Check", "{}", NULL, &status);
    assert_int_equal(status, 200);
    assert_string_equal(text_of(v, "status"), "SERVING");
    json_decref(v);

    const char *headers[] = {"Content-Type: application/proto", NULL};
    struct web_reply r = exchange("POST", "/clinic.v1.Health/Check", headers, "", 0);
    assert_int_equal(r.status, 200);
    harness_assert_contains(r.headers, "Content-Type: application/proto");
    harness_assert_contains(r.headers, "X-Content-Type-Options: nosniff");
    harness_assert_contains(r.headers, "Cache-Control: no-store");
    Clinic__V1__HealthCheckResponse *h =
        clinic__v1__health_check_response__unpack(NULL, r.len, (const uint8_t *)r.body);
    assert_non_null(h);
    assert_int_equal(h->status, CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    clinic__v1__health_check_response__free_unpacked(h, NULL);
    free(r.body);
}

/* A person logs in through the gateway and books with the token it gave them; the same
 * Idempotency-Key sent again answers the same appointment, which clinicd holds once. */
static void login_then_book_once_per_idempotency_key(void **state)
{
    (void)state;
    long status;
    char auth[160], start[40], book[512];
    admin_authorization(auth, sizeof auth);

    snprintf(start, sizeof start, "%d-06-01T10:00:00Z", year);
    snprintf(book, sizeof book,
             "{\"clientId\":\"%lld\",\"serviceId\":\"%lld\",\"locationId\":%lld,"
             "\"startTime\":\"%s\",\"therapistId\":\"%lld\"}",
             clinic.client_ids[0], clinic.service_id, clinic.location_id, start,
             clinic.therapist_ids[0]);
    const char *headers[] = {auth, "Idempotency-Key: gateway-test-book-1",
                             "Connect-Timeout-Ms: 15000", "Connect-Protocol-Version: 1", NULL};
    json_t *first = post_json("/clinic.v1.Scheduling/Book", book, headers, &status);
    assert_int_equal(status, 200);
    json_t *again = post_json("/clinic.v1.Scheduling/Book", book, headers, &status);
    assert_int_equal(status, 200);
    assert_string_equal(text_of(first, "id"), text_of(again, "id"));
    assert_string_equal(text_of(first, "status"), "APPOINTMENT_STATUS_BOOKED");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM appointments WHERE start_at = '%s'", start);
    char *count = harness_sql(db_url, sql);
    assert_string_equal(count, "1");
    free(count);
    json_decref(first);
    json_decref(again);

    /* the same time once more, with another key: the slot is taken (failed_precondition, 400) */
    const char *other[] = {auth, "Idempotency-Key: gateway-test-book-2", NULL};
    free(post_expecting_error("/clinic.v1.Scheduling/Book", book, other, 400,
                              "failed_precondition"));
}

/* Each refusal is Connect's JSON error with the HTTP status of Connect's table. */
static void errors_follow_connects_table(void **state)
{
    (void)state;
    const char *wrong[] = {"Authorization: Bearer not-a-token", NULL};
    const char *timeout[] = {"Connect-Timeout-Ms: soon", NULL};
    free(post_expecting_error("/clinic.v1.Locations/ListLocations", "{}", NULL, 401,
                              "unauthenticated"));
    free(post_expecting_error("/clinic.v1.Locations/ListLocations", "{}", wrong, 401,
                              "unauthenticated"));
    free(post_expecting_error("/clinic.v1.Nothing/Here", "{}", NULL, 404, "unimplemented"));
    char *m = post_expecting_error("/clinic.v1.Health/Check", "{\"status\":", NULL, 400,
                                   "invalid_argument");
    harness_assert_contains(m, "not valid JSON");
    free(m);
    free(post_expecting_error("/clinic.v1.Health/Check", "{\"serviceName\":1}", NULL, 400,
                              "invalid_argument"));
    m = post_expecting_error("/clinic.v1.Health/Check", "{}", timeout, 400, "invalid_argument");
    harness_assert_contains(m, "Connect-Timeout-Ms");
    free(m);

    const char *text[] = {"Content-Type: text/plain", NULL};
    struct web_reply r = exchange("POST", "/clinic.v1.Health/Check", text, "{}", 2);
    assert_int_equal(r.status, 415);
    harness_assert_contains(r.headers, "Accept-Post: application/json, application/proto");
    free(r.body);

    r = exchange("GET", "/clinic.v1.Health/Check", NULL, NULL, 0);
    assert_int_equal(r.status, 405);
    harness_assert_contains(r.headers, "Allow: POST, OPTIONS");
    free(r.body);

    char big[MAX_BODY + 64];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    free(post_expecting_error("/clinic.v1.Health/Check", big, NULL, 413, "resource_exhausted"));
}

/* A field the daemon refuses comes back named, in a clinic.v1.RpcStatus detail. */
static void field_violations_travel_as_a_detail(void **state)
{
    (void)state;
    long status;
    char auth[160], book[256];
    admin_authorization(auth, sizeof auth);
    snprintf(book, sizeof book,
             "{\"clientId\":\"%lld\",\"serviceId\":\"%lld\",\"locationId\":\"%lld\","
             "\"startTime\":\"next tuesday\"}",
             clinic.client_ids[1], clinic.service_id, clinic.location_id);
    const char *headers[] = {auth, NULL};
    json_t *v = post_json("/clinic.v1.Scheduling/Book", book, headers, &status);
    expect_error(v, status, 400, "invalid_argument");
    json_t *detail = json_array_get(json_object_get(v, "details"), 0);
    assert_string_equal(text_of(detail, "type"), "clinic.v1.RpcStatus");
    assert_true(strlen(text_of(detail, "value")) > 0);
    json_t *violation =
        json_array_get(json_object_get(json_object_get(detail, "debug"), "violations"), 0);
    assert_string_equal(text_of(violation, "field"), "start_time");
    json_decref(v);
}

/* Browsers' cross-origin calls: allowed for the configured origin only. */
static void cors_is_closed_but_for_the_configured_origin(void **state)
{
    (void)state;
    const char *ours[] = {"Origin: " ALLOWED_ORIGIN, "Access-Control-Request-Method: POST", NULL};
    struct web_reply r = exchange("OPTIONS", "/clinic.v1.Scheduling/Book", ours, NULL, 0);
    assert_int_equal(r.status, 204);
    harness_assert_contains(r.headers, "Access-Control-Allow-Origin: " ALLOWED_ORIGIN);
    harness_assert_contains(r.headers, "Idempotency-Key");
    free(r.body);

    const char *theirs[] = {"Origin: https://elsewhere.test", "Access-Control-Request-Method: POST",
                            NULL};
    r = exchange("OPTIONS", "/clinic.v1.Scheduling/Book", theirs, NULL, 0);
    assert_int_equal(r.status, 403);
    assert_null(strstr(r.headers, "Access-Control-Allow-Origin"));
    free(r.body);

    const char *post[] = {"Content-Type: application/json", "Origin: https://elsewhere.test", NULL};
    r = exchange("POST", "/clinic.v1.Health/Check", post, "{}", 2);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.headers, "Access-Control-Allow-Origin"));
    free(r.body);
}

/* Login tries are counted per address: past the limit, 429 with Retry-After, before clinicd is
 * asked (an unknown email, so that no account's own limit is involved). */
static void logins_are_limited_per_address(void **state)
{
    (void)state;
    struct gateway_config config = {.max_body_bytes = MAX_BODY,
                                    .max_connections = 8,
                                    .per_address_max = 8,
                                    .logins_per_minute = 2};
    struct web_gateway limited;
    assert_true(web_gateway_start(&limited, daemon_.url, &config));
    base = limited.base;
    const char *login = "{\"email\":\"nobody@gateway.test\",\"password\":\"wrong guess\"}";
    long status;
    for (int i = 0; i < 2; i++)
        free(post_expecting_error("/clinic.v1.Auth/Login", login, NULL, 401, "unauthenticated"));
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct web_reply r = exchange("POST", "/clinic.v1.Auth/Login", headers, login, strlen(login));
    assert_int_equal(r.status, 429);
    harness_assert_contains(r.headers, "Retry-After: ");
    harness_assert_contains(r.body, "too many login attempts from your address");
    free(r.body);
    /* other calls from the same address are not counted */
    json_t *v = post_json("/clinic.v1.Health/Check", "{}", NULL, &status);
    assert_int_equal(status, 200);
    json_decref(v);
    base = web.base;
    web_gateway_stop(&limited);
}

/* The status code Connect's name stands for, or -1. */
static int code_named(const char *name)
{
    for (int code = 1; code <= STATUS_UNAUTHENTICATED; code++)
        if (strcmp(connect_code_name(code), name) == 0)
            return code;
    return -1;
}

/* One call's answer as Connect promises it: 200 with the method's response in the codec asked
 * for, or an error in JSON whose code has the HTTP status of Connect's table. */
static void check_answer(const char *path, const ProtobufCMethodDescriptor *m, bool json,
                         const struct web_reply *r)
{
    char why[256] = "";
    if (r->status == 200) {
        ProtobufCMessage *out =
            json ? clinic_message_from_json(m->output, r->body ? r->body : "", r->len, why,
                                            sizeof why)
                 : protobuf_c_message_unpack(m->output, NULL, r->len, (const uint8_t *)r->body);
        if (!out)
            fail_msg("%s (%s): 200 without a %s: %s", path, json ? "JSON" : "proto",
                     m->output->name, why);
        protobuf_c_message_free_unpacked(out, NULL);
        return;
    }
    json_t *v = json_loads(r->body ? r->body : "", 0, NULL);
    const char *name = v ? json_string_value(json_object_get(v, "code")) : NULL;
    int code = name ? code_named(name) : -1;
    if (code < 0 || connect_http_status(code) != (unsigned)r->status ||
        !json_is_string(json_object_get(v, "message")))
        fail_msg("%s (%s): HTTP %ld with %s", path, json ? "JSON" : "proto", r->status, r->body);
    json_decref(v);
}

/* Connect conformance, method by method: every method the daemon serves, with an empty request
 * in JSON and in binary protobuf, without a token (public methods answer, the others refuse
 * with unauthenticated); the methods that change nothing also as an admin. */
static void every_method_answers_in_both_codecs(void **state)
{
    (void)state;
    char auth[160];
    bearer(daemon_.admin_token, auth, sizeof auth);
    const char *json_anonymous[] = {"Content-Type: application/json", NULL};
    const char *proto_anonymous[] = {"Content-Type: application/proto", NULL};
    const char *json_admin[] = {"Content-Type: application/json", auth, NULL};
    const char *proto_admin[] = {"Content-Type: application/proto", auth, NULL};
    int methods = 0;
    for (const ProtobufCServiceDescriptor *const *s = clinic_services; *s; s++) {
        for (unsigned i = 0; i < (*s)->n_methods; i++, methods++) {
            const ProtobufCMethodDescriptor *m = &(*s)->methods[i];
            char path[160];
            snprintf(path, sizeof path, "/%s/%s", (*s)->name, m->name);
            const struct method_rule *rule = method_rule_for(path);
            assert_non_null(rule);
            struct web_reply r = exchange("POST", path, json_anonymous, "{}", 2);
            check_answer(path, m, true, &r);
            if (!(rule->flags & METHOD_PUBLIC))
                assert_int_equal(r.status, 401);
            free(r.body);
            r = exchange("POST", path, proto_anonymous, "", 0);
            check_answer(path, m, false, &r);
            free(r.body);
            if (rule->flags & (METHOD_MUTATES | METHOD_PUBLIC))
                continue;
            r = exchange("POST", path, json_admin, "{}", 2);
            check_answer(path, m, true, &r);
            free(r.body);
            r = exchange("POST", path, proto_admin, "", 0);
            check_answer(path, m, false, &r);
            free(r.body);
        }
    }
    assert_true(methods > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_answers_json_and_protobuf_with_safe_headers),
        cmocka_unit_test(login_then_book_once_per_idempotency_key),
        cmocka_unit_test(errors_follow_connects_table),
        cmocka_unit_test(field_violations_travel_as_a_detail),
        cmocka_unit_test(cors_is_closed_but_for_the_configured_origin),
        cmocka_unit_test(logins_are_limited_per_address),
        cmocka_unit_test(every_method_answers_in_both_codecs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
