/* test_json.c: clinic_message_to_json, the descriptor-driven JSON behind every `--json`, and
 * clinic_message_from_json, its reader. Expected strings are exact: scripts parse this output. */
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
#include "clinic/v1/scheduling.pb-c.h"

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
    assert_json(&req.base, "{\"method\":\"say \\\"hi\\\"\\\\\\n\","
                           "\"payload\":\"AP8Qfg==\","
                           "\"request_id\":\"tab\\there\","
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

/* A peer that sends text that is not UTF-8 still gets its reply printed: the bad bytes are left
 * out, the rest kept, and the JSON is valid UTF-8. */
static void text_that_is_not_utf8_loses_only_the_bad_bytes(void **state)
{
    (void)state;
    Clinic__V1__FieldViolation fv = CLINIC__V1__FIELD_VIOLATION__INIT;
    fv.field = "Ann\x9a M\xc3\xbcller";
    fv.description = "ok";
    assert_json(&fv.base, "{\"field\":\"Ann M\xc3\xbcller\",\"description\":\"ok\"}");
}

/* --- reading --- */

static ProtobufCMessage *read_ok(const ProtobufCMessageDescriptor *d, const char *json)
{
    char why[256] = "";
    ProtobufCMessage *m = clinic_message_from_json(d, json, strlen(json), why, sizeof why);
    if (!m)
        fail_msg("%s refused: %s", json, why);
    return m;
}

static void assert_refused(const ProtobufCMessageDescriptor *d, const char *json,
                           const char *expected_why)
{
    char why[256] = "";
    ProtobufCMessage *m = clinic_message_from_json(d, json, strlen(json), why, sizeof why);
    if (m) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("%s was read; expected a refusal", json);
    }
    if (!strstr(why, expected_why))
        fail_msg("for %s: \"%s\" does not say \"%s\"", json, why, expected_why);
}

/* Connect clients send lowerCamelCase, `clinic --json` users the .proto names: both read,
 * 64-bit integers as strings or numbers. */
static void both_names_and_both_forms_of_int64_read(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        read_ok(&clinic__v1__book_request__descriptor,
                "{\"clientId\":\"12\",\"service_id\":3,\"locationId\":\"9007199254740993\","
                "\"startTime\":\"2027-01-01T09:00:00+01:00\",\"therapist_id\":null}");
    const Clinic__V1__BookRequest *req = (const Clinic__V1__BookRequest *)m;
    assert_int_equal(req->client_id, 12);
    assert_int_equal(req->service_id, 3);
    assert_int_equal(req->location_id, 9007199254740993LL);
    assert_string_equal(req->start_time, "2027-01-01T09:00:00+01:00");
    assert_int_equal(req->therapist_id, 0);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* What is printed with either kind of names reads back as the same message, byte for byte. */
static void printed_json_reads_back_as_the_same_message(void **state)
{
    (void)state;
    Clinic__V1__FieldViolation a = CLINIC__V1__FIELD_VIOLATION__INIT, b = a;
    a.field = "start_time";
    a.description = "must be \"before\" end_time\n";
    b.field = "client_id";
    b.description = "Jos\xc3\xa9 has no such record";
    Clinic__V1__FieldViolation *list[] = {&a, &b};
    Clinic__V1__RpcStatus status = CLINIC__V1__RPC_STATUS__INIT;
    status.code = -3;
    status.message = "bad";
    status.n_violations = 2;
    status.violations = list;
    uint8_t payload[] = {0x00, 0xff, 0x10, 0x7e, 0xfb};
    Clinic__V1__RpcResponse resp = CLINIC__V1__RPC_RESPONSE__INIT;
    resp.status = &status;
    resp.payload = (ProtobufCBinaryData){sizeof payload, payload};
    resp.request_id = "r1";
    uint8_t want[256], got[256];
    size_t want_len = protobuf_c_message_pack(&resp.base, want);
    enum clinic_json_names kinds[] = {CLINIC_JSON_PROTO_NAMES, CLINIC_JSON_CAMEL_NAMES};
    for (size_t k = 0; k < 2; k++) {
        char *json = clinic_message_to_json_named(&resp.base, kinds[k]);
        assert_non_null(json);
        if (kinds[k] == CLINIC_JSON_CAMEL_NAMES && !strstr(json, "\"requestId\":\"r1\""))
            fail_msg("no lowerCamelCase name in %s", json);
        ProtobufCMessage *m = read_ok(&clinic__v1__rpc_response__descriptor, json);
        assert_int_equal(protobuf_c_message_get_packed_size(m), want_len);
        size_t got_len = protobuf_c_message_pack(m, got);
        assert_memory_equal(got, want, want_len);
        assert_int_equal(got_len, want_len);
        protobuf_c_message_free_unpacked(m, NULL);
        free(json);
    }
}

static void enums_read_by_name_or_number_and_bytes_in_either_alphabet(void **state)
{
    (void)state;
    ProtobufCMessage *m =
        read_ok(&clinic__v1__health_check_response__descriptor, "{\"status\":\"NOT_SERVING\"}");
    assert_int_equal(((Clinic__V1__HealthCheckResponse *)m)->status,
                     CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    protobuf_c_message_free_unpacked(m, NULL);
    m = read_ok(&clinic__v1__health_check_response__descriptor, "{\"status\":1}");
    assert_int_equal(((Clinic__V1__HealthCheckResponse *)m)->status,
                     CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    protobuf_c_message_free_unpacked(m, NULL);
    /* 0x00 0xff 0xfb: "AP/7" in the standard alphabet, "AP_7" URL-safe */
    const char *forms[] = {"{\"payload\":\"AP/7\"}", "{\"payload\":\"AP_7\"}",
                           "{\"payload\":\"Zg\"}"};
    size_t lengths[] = {3, 3, 1};
    for (size_t i = 0; i < 3; i++) {
        m = read_ok(&clinic__v1__rpc_response__descriptor, forms[i]);
        assert_int_equal(((Clinic__V1__RpcResponse *)m)->payload.len, lengths[i]);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* Each refusal names the field as the caller wrote it and says what was wrong. */
static void refusals_name_the_field_and_the_problem(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *book = &clinic__v1__book_request__descriptor;
    const ProtobufCMessageDescriptor *resp = &clinic__v1__rpc_response__descriptor;
    assert_refused(book, "{\"clientId\":", "not valid JSON");
    assert_refused(book, "[1]", "expected an object (a BookRequest)");
    assert_refused(book, "{\"client\":1}", "client: no such field in BookRequest");
    assert_refused(book, "{\"clientId\":\"twelve\"}", "clientId: \"twelve\" is not a whole number");
    assert_refused(book, "{\"clientId\":1.5}", "clientId: expected a whole number");
    assert_refused(book, "{\"startTime\":9}", "startTime: expected text");
    assert_refused(book, "{\"client_id\":1,\"clientId\":1}", "given twice");
    assert_refused(book, "{\"clientId\":1,\"clientId\":2}", "duplicate");
    assert_refused(&clinic__v1__health_check_response__descriptor, "{\"status\":\"UP\"}",
                   "status: \"UP\" is not one of ServingStatus's values");
    assert_refused(resp, "{\"status\":{\"code\":4294967296}}",
                   "status.code: 4294967296 is out of range");
    assert_refused(resp, "{\"status\":{\"violations\":[{\"field\":\"a\"},{\"field\":[]}]}}",
                   "status.violations[1].field: expected text");
    assert_refused(resp, "{\"payload\":\"not base64!\"}", "payload: not base64 text");
    assert_refused(resp, "{\"status\":{\"violations\":{}}}", "status.violations: expected a list");
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
        cmocka_unit_test(text_that_is_not_utf8_loses_only_the_bad_bytes),
        cmocka_unit_test(both_names_and_both_forms_of_int64_read),
        cmocka_unit_test(printed_json_reads_back_as_the_same_message),
        cmocka_unit_test(enums_read_by_name_or_number_and_bytes_in_either_alphabet),
        cmocka_unit_test(refusals_name_the_field_and_the_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
