/* test_json.c: clinic_message_to_json, the descriptor-driven JSON behind every `--json`. Expected
 * strings are exact: scripts parse this output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clinic.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/notes.pb-c.h"
#include "clinic/v1/reflection.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"

static void assert_json(const ProtobufCMessage *m, const char *expected)
{
    char *json = clinic_message_to_json(m);
    assert_non_null(json);
    assert_string_equal(json, expected);
    free(json);
}

static void enum_prints_as_its_name(void **state)
{
    (void)state;
    Clinic__V1__HealthCheckResponse resp = CLINIC__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    assert_json(&resp.base, "{\"status\":\"SERVING\"}");
    resp.status = CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__UNKNOWN;
    assert_json(&resp.base, "{\"status\":\"UNKNOWN\"}");
}

/* A value from a newer daemon than this client's .proto still prints, as its number. */
static void unknown_enum_value_prints_as_number(void **state)
{
    (void)state;
    Clinic__V1__HealthCheckResponse resp = CLINIC__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Clinic__V1__HealthCheckResponse__ServingStatus)7;
    assert_json(&resp.base, "{\"status\":7}");
}

static void repeated_messages_print_as_array(void **state)
{
    (void)state;
    Clinic__V1__MethodInfo check = CLINIC__V1__METHOD_INFO__INIT;
    Clinic__V1__MethodInfo book = CLINIC__V1__METHOD_INFO__INIT;
    check.name = "/clinic.v1.Health/Check";
    check.request_type = "clinic.v1.HealthCheckRequest";
    check.response_type = "clinic.v1.HealthCheckResponse";
    book.name = "/clinic.v1.Booking/Book";
    book.request_type = "clinic.v1.BookRequest";
    book.response_type = "clinic.v1.BookResponse";
    book.mutates = 1;
    Clinic__V1__MethodInfo *list[] = {&check, &book};
    Clinic__V1__ListMethodsResponse resp = CLINIC__V1__LIST_METHODS_RESPONSE__INIT;
    resp.n_methods = 2;
    resp.methods = list;
    assert_json(&resp.base, "{\"methods\":["
                            "{\"name\":\"/clinic.v1.Health/Check\","
                            "\"request_type\":\"clinic.v1.HealthCheckRequest\","
                            "\"response_type\":\"clinic.v1.HealthCheckResponse\",\"mutates\":false,"
                            "\"may_read_standby\":false},"
                            "{\"name\":\"/clinic.v1.Booking/Book\","
                            "\"request_type\":\"clinic.v1.BookRequest\","
                            "\"response_type\":\"clinic.v1.BookResponse\",\"mutates\":true,\"may_"
                            "read_standby\":false}]}");
}

static void empty_repeated_field_prints_empty_array(void **state)
{
    (void)state;
    Clinic__V1__ListMethodsResponse resp = CLINIC__V1__LIST_METHODS_RESPONSE__INIT;
    assert_json(&resp.base, "{\"methods\":[]}");
}

static void request_prints_bytes_as_base64_and_escapes_strings(void **state)
{
    (void)state;
    uint8_t payload[] = {0x00, 0xff, 0x10, 0x7e};
    Clinic__V1__RpcRequest req = CLINIC__V1__RPC_REQUEST__INIT;
    req.method = "say \"hi\"\\\n";
    req.payload = (ProtobufCBinaryData){sizeof payload, payload};
    req.request_id = "tab\there";
    req.deadline_ms = 4294967295u;
    req.idempotency_key = "Jos\xc3\xa9";
    assert_json(&req.base, "{\"method\":\"say \\\"hi\\\"\\\\\\u000a\","
                           "\"payload\":\"AP8Qfg==\","
                           "\"request_id\":\"tab\\u0009here\","
                           "\"auth_token\":\"\","
                           "\"deadline_ms\":4294967295,"
                           "\"idempotency_key\":\"Jos\xc3\xa9\"}");
}

static void bytes_use_standard_base64_padding(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *base64;
    } vectors[] = {/* RFC 4648, section 10 */
                   {"", "\"\""},
                   {"f", "\"Zg==\""},
                   {"fo", "\"Zm8=\""},
                   {"foo", "\"Zm9v\""},
                   {"foob", "\"Zm9vYg==\""},
                   {"fooba", "\"Zm9vYmE=\""},
                   {"foobar", "\"Zm9vYmFy\""}};
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        Clinic__V1__RpcResponse resp = CLINIC__V1__RPC_RESPONSE__INIT;
        resp.payload = (ProtobufCBinaryData){strlen(vectors[i].raw), (uint8_t *)vectors[i].raw};
        char expected[64];
        snprintf(expected, sizeof expected, "{\"status\":null,\"payload\":%s,\"request_id\":\"\"}",
                 vectors[i].base64);
        assert_json(&resp.base, expected);
    }
}

static void nested_message_and_signed_numbers(void **state)
{
    (void)state;
    Clinic__V1__FieldViolation fv = CLINIC__V1__FIELD_VIOLATION__INIT;
    fv.field = "start_time";
    fv.description = "must be before end_time";
    Clinic__V1__FieldViolation *fvs[] = {&fv};
    Clinic__V1__RpcStatus status = CLINIC__V1__RPC_STATUS__INIT;
    status.code = -3;
    status.message = "bad";
    status.n_violations = 1;
    status.violations = fvs;
    Clinic__V1__RpcResponse resp = CLINIC__V1__RPC_RESPONSE__INIT;
    resp.status = &status;
    resp.request_id = "r1";
    assert_json(&resp.base, "{\"status\":{\"code\":-3,\"message\":\"bad\",\"violations\":["
                            "{\"field\":\"start_time\",\"description\":\"must be before end_time\"}"
                            "]},\"payload\":\"\",\"request_id\":\"r1\"}");
}

/* JSON has no number for them: proto3's JSON mapping writes the strings instead. */
static void non_finite_doubles_print_as_proto3_strings(void **state)
{
    (void)state;
    static const struct {
        double value;
        const char *json;
    } cases[] = {{NAN, "\"odi_score\":\"NaN\""},
                 {INFINITY, "\"odi_score\":\"Infinity\""},
                 {-INFINITY, "\"odi_score\":\"-Infinity\""},
                 {42.5, "\"odi_score\":42.5"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Clinic__V1__Note note = CLINIC__V1__NOTE__INIT;
        note.odi_score = cases[i].value;
        char *json = clinic_message_to_json(&note.base);
        assert_non_null(json);
        if (!strstr(json, cases[i].json))
            fail_msg("%s not in %s", cases[i].json, json);
        free(json);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enum_prints_as_its_name),
        cmocka_unit_test(unknown_enum_value_prints_as_number),
        cmocka_unit_test(repeated_messages_print_as_array),
        cmocka_unit_test(empty_repeated_field_prints_empty_array),
        cmocka_unit_test(request_prints_bytes_as_base64_and_escapes_strings),
        cmocka_unit_test(bytes_use_standard_base64_padding),
        cmocka_unit_test(nested_message_and_signed_numbers),
        cmocka_unit_test(non_finite_doubles_print_as_proto3_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
