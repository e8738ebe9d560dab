/* test_connect.c: the Connect protocol's pieces in clinic-gateway (clients/gateway/connect.c):
 * codes and HTTP statuses as Connect's table has them, codecs from Content-Type, the
 * Connect-Timeout-Ms header, and the error body. Also that the gateway knows every service the
 * daemon serves (common/services.c against daemon/handlers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"
#include "handlers.h"
#include "services.h"
#include "status.h"

/* connectrpc.com/docs/protocol, "Error Codes". */
static void codes_map_as_connects_table_says(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
        unsigned http;
    } table[] = {{STATUS_CANCELLED, "canceled", 499},
                 {STATUS_UNKNOWN, "unknown", 500},
                 {STATUS_INVALID_ARGUMENT, "invalid_argument", 400},
                 {STATUS_DEADLINE_EXCEEDED, "deadline_exceeded", 504},
                 {STATUS_NOT_FOUND, "not_found", 404},
                 {STATUS_ALREADY_EXISTS, "already_exists", 409},
                 {STATUS_PERMISSION_DENIED, "permission_denied", 403},
                 {STATUS_RESOURCE_EXHAUSTED, "resource_exhausted", 429},
                 {STATUS_FAILED_PRECONDITION, "failed_precondition", 400},
                 {STATUS_ABORTED, "aborted", 409},
                 {STATUS_OUT_OF_RANGE, "out_of_range", 400},
                 {STATUS_UNIMPLEMENTED, "unimplemented", 501},
                 {STATUS_INTERNAL, "internal", 500},
                 {STATUS_UNAVAILABLE, "unavailable", 503},
                 {STATUS_DATA_LOSS, "data_loss", 500},
                 {STATUS_UNAUTHENTICATED, "unauthenticated", 401}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(connect_code_name(table[i].code), table[i].name);
        assert_int_equal(connect_http_status(table[i].code), table[i].http);
    }
    assert_string_equal(connect_code_name(99), "unknown");
    assert_int_equal(connect_http_status(-1), 500);
}

static void content_types_name_codecs(void **state)
{
    (void)state;
    assert_int_equal(connect_codec_for("application/json"), CONNECT_CODEC_JSON);
    assert_int_equal(connect_codec_for("Application/JSON; charset=utf-8"), CONNECT_CODEC_JSON);
    assert_int_equal(connect_codec_for("application/proto"), CONNECT_CODEC_PROTO);
    assert_int_equal(connect_codec_for("application/jsonx"), CONNECT_CODEC_UNKNOWN);
    assert_int_equal(connect_codec_for("application/grpc"), CONNECT_CODEC_UNKNOWN);
    assert_int_equal(connect_codec_for(NULL), CONNECT_CODEC_UNKNOWN);
}

static void timeouts_are_one_to_ten_digits(void **state)
{
    (void)state;
    uint32_t ms = 0;
    assert_true(connect_parse_timeout("1500", &ms));
    assert_int_equal(ms, 1500);
    assert_true(connect_parse_timeout("9999999999", &ms));
    assert_int_equal(ms, UINT32_MAX);
    const char *bad[] = {"", "0", "-5", "12a", "1.5", " 7", "12345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(connect_parse_timeout(bad[i], &ms));
}

static void error_body_carries_code_message_and_violations(void **state)
{
    (void)state;
    struct clinic_error err = {.code = STATUS_INVALID_ARGUMENT, .n_violations = 1};
    snprintf(err.message, sizeof err.message, "invalid start_time: \"soon\" is not a time");
    snprintf(err.violations[0].field, sizeof err.violations[0].field, "start_time");
    snprintf(err.violations[0].description, sizeof err.violations[0].description, "not a time");
    char *text = connect_error_json(&err);
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "code")), "invalid_argument");
    assert_string_equal(json_string_value(json_object_get(v, "message")), err.message);
    json_t *detail = json_array_get(json_object_get(v, "details"), 0);
    assert_string_equal(json_string_value(json_object_get(detail, "type")), "clinic.v1.RpcStatus");
    json_t *debug = json_object_get(detail, "debug");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(debug, "violations"), 0), "field")),
                        "start_time");
    json_decref(v);
    free(text);

    struct clinic_error plain = {.code = STATUS_NOT_FOUND};
    snprintf(plain.message, sizeof plain.message, "appointment 7 does not exist");
    text = connect_error_json(&plain);
    assert_string_equal(text,
                        "{\"code\":\"not_found\",\"message\":\"appointment 7 does not exist\"}");
    free(text);
}

/* The gateway finds a method by path in common/services.c; the daemon serves handlers.c's. */
static void gateway_knows_every_service_the_daemon_serves(void **state)
{
    (void)state;
    size_t served = 0, known = 0;
    for (const struct handler_entry *e = handler_table; e->set; e++, served++) {
        const ProtobufCServiceDescriptor *sd = e->set->service->descriptor;
        for (unsigned i = 0; i < sd->n_methods; i++) {
            char path[160];
            snprintf(path, sizeof path, "/%s/%s", sd->name, sd->methods[i].name);
            const ProtobufCMethodDescriptor *m = clinic_method_by_path(path);
            if (!m || m->input != sd->methods[i].input)
                fail_msg("the gateway does not know %s", path);
        }
    }
    for (const ProtobufCServiceDescriptor *const *s = clinic_services; *s; s++)
        known++;
    assert_int_equal(known, served);
    assert_null(clinic_method_by_path("/clinic.v1.Scheduling/Book/"));
    assert_null(clinic_method_by_path("clinic.v1.Scheduling/Book"));
    assert_null(clinic_method_by_path("/clinic.v1.Scheduling"));
    assert_null(clinic_method_by_path("/clinic.v1.Schedulin/Book"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codes_map_as_connects_table_says),
        cmocka_unit_test(content_types_name_codecs),
        cmocka_unit_test(timeouts_are_one_to_ten_digits),
        cmocka_unit_test(error_body_carries_code_message_and_violations),
        cmocka_unit_test(gateway_knows_every_service_the_daemon_serves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
