/* test_wire.c: wire_utf8_valid and wire_check, on bytes built by hand so that each test shows
 * exactly what reaches the walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"
#include "message_unpack.h"
#include "wire.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_GROUP = 3, WT_I32 = 5, WT_BAD = 7 };

struct buf {
    uint8_t b[512];
    size_t n;
};

static void put_byte(struct buf *b, uint8_t v)
{
    assert_true(b->n < sizeof b->b);
    b->b[b->n++] = v;
}

static void put_varint(struct buf *b, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(b, (uint8_t)v);
}

static void put_tag(struct buf *b, uint32_t field, unsigned wire_type)
{
    put_varint(b, (uint64_t)field << 3 | wire_type);
}

static void put_len_field(struct buf *b, uint32_t field, const void *data, size_t len)
{
    put_tag(b, field, WT_LEN);
    put_varint(b, len);
    for (size_t i = 0; i < len; i++)
        put_byte(b, ((const uint8_t *)data)[i]);
}

#define UTF8_OK(lit)  assert_true(wire_utf8_valid((const uint8_t *)(lit), sizeof(lit) - 1))
#define UTF8_BAD(lit) assert_false(wire_utf8_valid((const uint8_t *)(lit), sizeof(lit) - 1))

static char why[200];

static bool check_request(const struct buf *b)
{
    why[0] = '\0';
    return wire_check(&clinic__v1__rpc_request__descriptor, b->b, b->n, why, sizeof why);
}

static void assert_refused_naming(bool ok, const char *field)
{
    assert_false(ok);
    if (!strstr(why, field))
        fail_msg("\"%s\" does not name %s", why, field);
}

/* --- wire_utf8_valid --- */

static void utf8_accepts_ascii_and_empty(void **state)
{
    (void)state;
    UTF8_OK("");
    UTF8_OK("Back pain, lower left; 45 min.");
    UTF8_OK("\x01\x7f");
}

static void utf8_accepts_multibyte_sequences(void **state)
{
    (void)state;
    UTF8_OK("Jos\xc3\xa9");              /* é, 2 bytes */
    UTF8_OK("\xe2\x82\xac 40");          /* €, 3 bytes */
    UTF8_OK("\xf0\x9f\x98\x80");         /* U+1F600, 4 bytes */
    UTF8_OK("\xc2\x80\xdf\xbf");         /* both ends of the 2-byte range */
    UTF8_OK("\xed\x9f\xbf\xee\x80\x80"); /* U+D7FF and U+E000, either side of the surrogates */
    UTF8_OK("\xf4\x8f\xbf\xbf");         /* U+10FFFF, the last code point */
}

static void utf8_refuses_overlong_encodings(void **state)
{
    (void)state;
    UTF8_BAD("\xc0\xaf"); /* '/' in 2 bytes */
    UTF8_BAD("\xc1\xbf");
    UTF8_BAD("\xe0\x80\xaf");     /* '/' in 3 bytes */
    UTF8_BAD("\xe0\x9f\xbf");     /* U+07FF in 3 bytes */
    UTF8_BAD("\xf0\x80\x80\xaf"); /* '/' in 4 bytes */
    UTF8_BAD("\xf0\x8f\xbf\xbf"); /* U+FFFF in 4 bytes */
    UTF8_BAD("\xc0\x80");         /* "modified UTF-8" NUL */
}

static void utf8_refuses_surrogates(void **state)
{
    (void)state;
    UTF8_BAD("\xed\xa0\x80");             /* U+D800 */
    UTF8_BAD("\xed\xbf\xbf");             /* U+DFFF */
    UTF8_BAD("\xed\xa0\xbd\xed\xb8\x80"); /* a CESU-8 pair */
}

static void utf8_refuses_truncated_sequences(void **state)
{
    (void)state;
    UTF8_BAD("\xc3");
    UTF8_BAD("ab\xe2\x82");
    UTF8_BAD("\xf0\x9f\x98");
    UTF8_BAD("\xe2\x82"
             "a");
}

static void utf8_refuses_stray_and_bad_lead_bytes(void **state)
{
    (void)state;
    UTF8_BAD("\x80");
    UTF8_BAD("a\xbf");
    UTF8_BAD("\xc3\x28");
    UTF8_BAD("\xfe");
    UTF8_BAD("\xff");
    UTF8_BAD("\xf8\x88\x80\x80\x80");
}

static void utf8_refuses_nul_byte(void **state)
{
    (void)state;
    UTF8_BAD("a\0b");
    UTF8_BAD("\0");
}

static void utf8_refuses_code_points_above_10ffff(void **state)
{
    (void)state;
    UTF8_BAD("\xf4\x90\x80\x80"); /* U+110000 */
    UTF8_BAD("\xf5\x80\x80\x80");
    UTF8_BAD("\xf7\xbf\xbf\xbf");
}

/* --- wire_check on clinic.v1.RpcRequest --- */

static void packed_request_passes(void **state)
{
    (void)state;
    Clinic__V1__RpcRequest req = CLINIC__V1__RPC_REQUEST__INIT;
    uint8_t payload[] = {0x00, 0xff, 0xc3}; /* bytes, not text: anything goes */
    req.method = "/clinic.v1.Health/Check";
    req.payload = (ProtobufCBinaryData){sizeof payload, payload};
    req.request_id = "r-\xc3\xa9";
    req.auth_token = "token";
    req.deadline_ms = 5000;
    req.idempotency_key = "k1";
    struct buf b = {.n = clinic__v1__rpc_request__get_packed_size(&req)};
    assert_true(b.n <= sizeof b.b);
    clinic__v1__rpc_request__pack(&req, b.b);
    assert_true(check_request(&b));
}

static void empty_message_passes(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    assert_true(check_request(&b));
}

/* protobuf-c unpacks an absent bytes field as {0, NULL}: an empty payload arrives like this. */
static void null_empty_buffer_passes(void **state)
{
    (void)state;
    assert_true(wire_check(&clinic__v1__rpc_request__descriptor, NULL, 0, why, sizeof why));
}

static void invalid_utf8_in_method_is_refused_naming_method(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_len_field(&b, 1, "/clinic\xc3\x28", 9);
    assert_refused_naming(check_request(&b), "method");
}

static void nul_in_request_id_is_refused_naming_request_id(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_len_field(&b, 1, "/clinic.v1.Health/Check", 23);
    put_len_field(&b, 3, "ab\0cd", 5);
    assert_refused_naming(check_request(&b), "request_id");
}

static void truncated_bytes_are_refused(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_len_field(&b, 1, "/clinic.v1.Health/Check", 23);
    b.n--; /* the length now claims one byte more than there is */
    assert_false(check_request(&b));
    assert_true(why[0] != '\0');
}

static void truncated_varints_are_refused(void **state)
{
    (void)state;
    struct buf tag = {.n = 0};
    put_byte(&tag, 0x88); /* a tag whose continuation bit promises more */
    assert_false(check_request(&tag));

    struct buf value = {.n = 0};
    put_tag(&value, 5, WT_VARINT);
    put_byte(&value, 0xff);
    assert_false(check_request(&value));

    struct buf fixed = {.n = 0};
    put_tag(&fixed, 9, WT_I64);
    put_byte(&fixed, 1);
    assert_false(check_request(&fixed));
}

static void field_number_zero_is_refused(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_tag(&b, 0, WT_VARINT);
    put_byte(&b, 1);
    assert_false(check_request(&b));
}

static void groups_and_undefined_wire_types_are_refused(void **state)
{
    (void)state;
    struct buf group = {.n = 0};
    put_tag(&group, 7, WT_GROUP);
    assert_false(check_request(&group));

    struct buf undefined = {.n = 0};
    put_tag(&undefined, 7, WT_BAD);
    put_byte(&undefined, 0);
    assert_false(check_request(&undefined));
}

/* protobuf-c keeps unknown fields as opaque bytes: they never reach a handler as text. */
static void unknown_fields_are_skipped(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_len_field(&b, 99, "\xff\x00\xc0", 3);
    put_tag(&b, 100, WT_VARINT);
    put_varint(&b, UINT64_MAX);
    put_tag(&b, 101, WT_I64);
    for (int i = 0; i < 8; i++)
        put_byte(&b, 0xff);
    put_tag(&b, 102, WT_I32);
    for (int i = 0; i < 4; i++)
        put_byte(&b, 0xff);
    put_len_field(&b, 1, "/clinic.v1.Health/Check", 23);
    assert_true(check_request(&b));
}

static void invalid_bytes_in_payload_field_pass(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_len_field(&b, 2, "\x00\xff\xc0\x80", 4);
    assert_true(check_request(&b));
}

/* The walk leaves a mismatched wire type to protobuf-c's unpack, which must then refuse it. */
static void wrong_wire_type_on_string_passes_check_and_fails_unpack(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    put_tag(&b, 1, WT_VARINT);
    put_varint(&b, 5);
    assert_true(check_request(&b));
    Clinic__V1__RpcRequest *req = clinic__v1__rpc_request__unpack(NULL, b.n, b.b);
    assert_null(req);
}

/* --- nesting --- */

static void invalid_utf8_in_nested_string_names_the_path(void **state)
{
    (void)state;
    struct buf violation = {.n = 0}, status = {.n = 0}, response = {.n = 0};
    put_len_field(&violation, 1, "start_time", 10);
    put_len_field(&violation, 2, "bad\xed\xa0\x80", 6);
    put_tag(&status, 1, WT_VARINT);
    put_varint(&status, 3);
    put_len_field(&status, 3, violation.b, violation.n);
    put_len_field(&response, 1, status.b, status.n);
    why[0] = '\0';
    assert_false(
        wire_check(&clinic__v1__rpc_response__descriptor, response.b, response.n, why, sizeof why));
    assert_non_null(strstr(why, "status.violations.description"));
}

static void nested_length_overrunning_its_parent_is_refused(void **state)
{
    (void)state;
    struct buf status = {.n = 0}, response = {.n = 0};
    put_tag(&status, 2, WT_LEN);
    put_varint(&status, 40); /* more than the 2 bytes the parent holds */
    put_len_field(&response, 1, status.b, status.n);
    put_len_field(&response, 3, "padding that follows the parent", 31);
    assert_false(
        wire_check(&clinic__v1__rpc_response__descriptor, response.b, response.n, why, sizeof why));
}

/* A self-referencing message type (message Node { Node child = 1; }) lets nesting grow at will. */
static const ProtobufCMessageDescriptor node_descriptor;
static const ProtobufCFieldDescriptor node_fields[] = {
    {.name = "child",
     .id = 1,
     .label = PROTOBUF_C_LABEL_NONE,
     .type = PROTOBUF_C_TYPE_MESSAGE,
     .descriptor = &node_descriptor},
};
static const unsigned node_fields_by_name[] = {0};
static const ProtobufCIntRange node_ranges[] = {{1, 0}, {0, 1}};
static const ProtobufCMessageDescriptor node_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.Node",
    .short_name = "Node",
    .c_name = "Test__Node",
    .package_name = "test",
    .sizeof_message = sizeof(ProtobufCMessage) + sizeof(void *),
    .n_fields = 1,
    .fields = node_fields,
    .fields_sorted_by_name = node_fields_by_name,
    .n_field_ranges = 1,
    .field_ranges = node_ranges,
};

/* A message holding `levels` nested children (so levels + 1 messages deep). */
static void build_nested(struct buf *out, int levels)
{
    struct buf inner = {.n = 0};
    for (int i = 0; i < levels; i++) {
        out->n = 0;
        put_len_field(out, 1, inner.b, inner.n);
        inner = *out;
    }
    *out = inner;
}

static void nesting_up_to_the_limit_passes(void **state)
{
    (void)state;
    struct buf b;
    build_nested(&b, WIRE_MAX_DEPTH - 1);
    assert_true(wire_check(&node_descriptor, b.b, b.n, why, sizeof why));
}

static void nesting_past_the_limit_is_refused(void **state)
{
    (void)state;
    struct buf b;
    build_nested(&b, WIRE_MAX_DEPTH);
    why[0] = '\0';
    assert_false(wire_check(&node_descriptor, b.b, b.n, why, sizeof why));
    assert_non_null(strstr(why, "nested"));
}

/* A message type without fields comes out empty, bytes or none, and never reaches
 * protobuf-c's unpack (undefined behaviour for such types in 1.4.1). */
static void message_without_fields_unpacks_empty(void **state)
{
    (void)state;
    static const uint8_t unknown_field[] = {0x08, 0x01}; /* field 1 = 1: unknown to it */
    const ProtobufCMessageDescriptor *d = &clinic__v1__logout_request__descriptor;
    assert_int_equal(d->n_fields, 0);
    ProtobufCMessage *m = message_unpack(d, 0, NULL);
    assert_non_null(m);
    assert_ptr_equal(m->descriptor, d);
    protobuf_c_message_free_unpacked(m, NULL);
    m = message_unpack(d, sizeof unknown_field, unknown_field);
    assert_non_null(m);
    assert_int_equal(m->n_unknown_fields, 0);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* A message type with fields goes through protobuf-c: valid bytes decode, broken ones do not. */
static void message_with_fields_unpacks_as_protobuf_c_does(void **state)
{
    (void)state;
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    env.method = "/clinic.v1.Health/Check";
    uint8_t buf[64];
    size_t len = clinic__v1__rpc_request__pack(&env, buf);
    ProtobufCMessage *m = message_unpack(&clinic__v1__rpc_request__descriptor, len, buf);
    assert_non_null(m);
    assert_string_equal(((Clinic__V1__RpcRequest *)m)->method, env.method);
    protobuf_c_message_free_unpacked(m, NULL);
    assert_null(message_unpack(&clinic__v1__rpc_request__descriptor, len - 1, buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_accepts_ascii_and_empty),
        cmocka_unit_test(utf8_accepts_multibyte_sequences),
        cmocka_unit_test(utf8_refuses_overlong_encodings),
        cmocka_unit_test(utf8_refuses_surrogates),
        cmocka_unit_test(utf8_refuses_truncated_sequences),
        cmocka_unit_test(utf8_refuses_stray_and_bad_lead_bytes),
        cmocka_unit_test(utf8_refuses_nul_byte),
        cmocka_unit_test(utf8_refuses_code_points_above_10ffff),
        cmocka_unit_test(packed_request_passes),
        cmocka_unit_test(message_without_fields_unpacks_empty),
        cmocka_unit_test(message_with_fields_unpacks_as_protobuf_c_does),
        cmocka_unit_test(empty_message_passes),
        cmocka_unit_test(null_empty_buffer_passes),
        cmocka_unit_test(invalid_utf8_in_method_is_refused_naming_method),
        cmocka_unit_test(nul_in_request_id_is_refused_naming_request_id),
        cmocka_unit_test(truncated_bytes_are_refused),
        cmocka_unit_test(truncated_varints_are_refused),
        cmocka_unit_test(field_number_zero_is_refused),
        cmocka_unit_test(groups_and_undefined_wire_types_are_refused),
        cmocka_unit_test(unknown_fields_are_skipped),
        cmocka_unit_test(invalid_bytes_in_payload_field_pass),
        cmocka_unit_test(wrong_wire_type_on_string_passes_check_and_fails_unpack),
        cmocka_unit_test(invalid_utf8_in_nested_string_names_the_path),
        cmocka_unit_test(nested_length_overrunning_its_parent_is_refused),
        cmocka_unit_test(nesting_up_to_the_limit_passes),
        cmocka_unit_test(nesting_past_the_limit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
