/* test_rpc_envelope.c: rpc_serve from request bytes to reply bytes, with no database running:
 * every input, however malformed, gets a decodable RpcResponse with the right status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clinic/v1/diagnostics.pb-c.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/reflection.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"
#include "db.h"
#include "log.h"
#include "rpc.h"
#include "handlers.h"
#include "status.h"
#include "wire.h"

#define MAX_REQUEST_BYTES (1024 * 1024)
#define UNREACHABLE_DB    "postgresql:///nodb?host=/nonexistent-dir&connect_timeout=1"

struct fixture {
    struct rpc_server server;
    struct db *db;
};

struct packed {
    uint8_t b[1024];
    size_t n;
};

static int setup(void **state)
{
    static struct fixture f = {
        .server = {.max_request_bytes = MAX_REQUEST_BYTES, .default_deadline_ms = 1000}};
    char err[256];
    log_set_level(LOG_LEVEL_ERROR);
    if (!rpc_table_build(&f.server.table, handler_table, true, err, sizeof err))
        return -1;
    f.db = db_new(UNREACHABLE_DB);
    *state = &f;
    return f.db ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    db_free(f->db);
    rpc_table_free(&f->server.table);
    return 0;
}

static void pack_message(const ProtobufCMessage *m, struct packed *out)
{
    out->n = protobuf_c_message_get_packed_size(m);
    assert_true(out->n <= sizeof out->b);
    protobuf_c_message_pack(m, out->b);
}

/* An envelope for method with payload bytes; request_id NULL sends none. */
static void pack_envelope(const char *method, const struct packed *payload, const char *request_id,
                          struct packed *out)
{
    Clinic__V1__RpcRequest req = CLINIC__V1__RPC_REQUEST__INIT;
    req.method = (char *)method;
    if (payload)
        req.payload = (ProtobufCBinaryData){payload->n, (uint8_t *)payload->b};
    if (request_id)
        req.request_id = (char *)request_id;
    pack_message(&req.base, out);
}

/* Serves the bytes and decodes the reply, which must always be a well-formed RpcResponse. */
static Clinic__V1__RpcResponse *serve(void **state, const uint8_t *request, size_t len)
{
    struct fixture *f = *state;
    uint8_t *reply = NULL;
    size_t n = rpc_serve(&f->server, f->db, NULL, 0, "192.0.2.1", request, len, &reply);
    assert_non_null(reply);
    Clinic__V1__RpcResponse *resp = clinic__v1__rpc_response__unpack(NULL, n, reply);
    free(reply);
    assert_non_null(resp);
    assert_non_null(resp->status);
    return resp;
}

static Clinic__V1__RpcResponse *call_method(void **state, const char *method,
                                            const struct packed *payload, const char *request_id)
{
    struct packed env;
    pack_envelope(method, payload, request_id, &env);
    return serve(state, env.b, env.n);
}

/* A failure carries its code, a readable sentence and no payload. Frees resp. */
static void assert_fails_with(Clinic__V1__RpcResponse *resp, int code)
{
    const char *msg = resp->status->message;
    if (resp->status->code != code)
        fail_msg("expected %s, got %s: %s", status_code_name(code),
                 status_code_name(resp->status->code), msg);
    assert_true(strlen(msg) >= 10);
    assert_non_null(strchr(msg, ' '));
    assert_true(wire_utf8_valid((const uint8_t *)msg, strlen(msg)));
    assert_int_equal(resp->payload.len, 0);
    assert_true(resp->request_id[0] != '\0');
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
}

static void assert_message_mentions(const Clinic__V1__RpcResponse *resp, const char *words)
{
    if (!strstr(resp->status->message, words))
        fail_msg("\"%s\" does not mention \"%s\"", resp->status->message, words);
}

/* --- malformed envelopes --- */

static void empty_request_gets_invalid_argument(void **state)
{
    assert_fails_with(serve(state, (const uint8_t *)"", 0), STATUS_INVALID_ARGUMENT);
}

static void garbage_bytes_get_invalid_argument(void **state)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zeros[16];
    assert_fails_with(serve(state, garbage, sizeof garbage), STATUS_INVALID_ARGUMENT);
    assert_fails_with(serve(state, zeros, sizeof zeros), STATUS_INVALID_ARGUMENT);
}

/* Random bytes may happen to parse (as unknown fields): then the empty method is unknown. */
static void random_bytes_always_get_a_reply(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint8_t buf[64];
    for (int round = 0; round < 500; round++) {
        size_t len = 1 + round % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        Clinic__V1__RpcResponse *resp = serve(state, buf, len);
        int code = resp->status->code;
        if (code != STATUS_INVALID_ARGUMENT && code != STATUS_UNIMPLEMENTED)
            fail_msg("round %d: %s", round, status_code_name(code));
        assert_fails_with(resp, code);
    }
}

static void truncated_envelope_gets_invalid_argument(void **state)
{
    const char *method = "/clinic.v1.Health/Check";
    size_t method_field_end = 2 + strlen(method); /* tag, length, text */
    struct packed env;
    pack_envelope(method, NULL, "req-1", &env);
    for (size_t cut = 1; cut < env.n; cut++) {
        if (cut == method_field_end) /* a shorter but valid envelope */
            continue;
        assert_fails_with(serve(state, env.b, cut), STATUS_INVALID_ARGUMENT);
    }
}

static void oversize_request_gets_resource_exhausted(void **state)
{
    uint8_t *big = calloc(MAX_REQUEST_BYTES + 1, 1);
    assert_non_null(big);
    Clinic__V1__RpcResponse *resp = serve(state, big, MAX_REQUEST_BYTES + 1);
    assert_message_mentions(resp, "limit");
    assert_fails_with(resp, STATUS_RESOURCE_EXHAUSTED);
    /* at the limit the size is fine and the (zero) bytes themselves are refused */
    assert_fails_with(serve(state, big, MAX_REQUEST_BYTES), STATUS_INVALID_ARGUMENT);
    free(big);
}

static void invalid_utf8_in_envelope_gets_invalid_argument(void **state)
{
    Clinic__V1__RpcResponse *resp =
        call_method(state, "/clinic.v1.Health/Check\xc3\x28", NULL, "req-utf8");
    assert_message_mentions(resp, "method");
    assert_fails_with(resp, STATUS_INVALID_ARGUMENT);
}

/* A NUL would cut the method short in C and alias a real method if it got through. */
static void method_with_nul_does_not_reach_a_method(void **state)
{
    static const uint8_t env[] = "\x0a\x1b/clinic.v1.Health/Check\0evil";
    Clinic__V1__RpcResponse *resp = serve(state, env, sizeof env - 1);
    assert_fails_with(resp, STATUS_INVALID_ARGUMENT);
}

/* --- methods and payloads --- */

static void unknown_method_gets_unimplemented(void **state)
{
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Booking/Make", NULL, "req-2");
    assert_message_mentions(resp, "/clinic.v1.Booking/Make");
    assert_string_equal(resp->request_id, "req-2");
    assert_fails_with(resp, STATUS_UNIMPLEMENTED);
    /* with no other field the envelope would pack to nothing: an empty request */
    assert_fails_with(call_method(state, "", NULL, "req-3"), STATUS_UNIMPLEMENTED);
}

static void unknown_method_message_stays_valid_utf8(void **state)
{
    /* the method name is quoted cut to 100 bytes: the cut must not split a character */
    char method[128];
    memset(method, 'a', 99);
    memcpy(method + 99, "\xc3\xa9", 3);
    assert_fails_with(call_method(state, method, NULL, "u"), STATUS_UNIMPLEMENTED);
}

static void unknown_method_message_echoes_no_control_characters(void **state)
{
    Clinic__V1__RpcResponse *resp =
        call_method(state, "/clinic.v1.Health/\x1b[31mCheck\r\nforged line", NULL, "u");
    for (const char *c = resp->status->message; *c; c++)
        assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
    assert_message_mentions(resp, "clinic methods");
    assert_fails_with(resp, STATUS_UNIMPLEMENTED);
}

static void payload_with_wrong_wire_type_gets_invalid_argument(void **state)
{
    struct packed payload = {.b = {0x08, 0x01}, .n = 2}; /* service = 1 as a varint */
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Health/Check", &payload, NULL);
    assert_message_mentions(resp, "clinic.v1.HealthCheckRequest");
    assert_fails_with(resp, STATUS_INVALID_ARGUMENT);
}

static void payload_with_invalid_utf8_gets_invalid_argument(void **state)
{
    struct packed payload = {.b = {0x0a, 0x03, 'a', 0xed, 0xa0}, .n = 5}; /* half a surrogate */
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Health/Check", &payload, NULL);
    assert_message_mentions(resp, "service");
    assert_fails_with(resp, STATUS_INVALID_ARGUMENT);
}

static void truncated_payload_gets_invalid_argument(void **state)
{
    struct packed payload = {.b = {0x0a, 0x05, 'a', 'b'}, .n = 4};
    assert_fails_with(call_method(state, "/clinic.v1.Health/Check", &payload, NULL),
                      STATUS_INVALID_ARGUMENT);
}

/* Every field at its default packs to nothing: `clinic health` sends exactly this. */
static void empty_payload_is_the_default_request(void **state)
{
    struct packed empty = {.n = 0};
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Health/Check", &empty, "e");
    assert_int_equal(resp->status->code, STATUS_OK);
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
}

/* --- request ids --- */

static void request_id_is_echoed(void **state)
{
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Health/Check", NULL, "req-42");
    assert_string_equal(resp->request_id, "req-42");
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
}

/* The log gets a generated id instead, but the caller still gets its own back. */
static void request_id_unfit_for_the_log_is_still_echoed(void **state)
{
    const char *id = "id with spaces; \xc3\xa9";
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Health/Check", NULL, id);
    assert_string_equal(resp->request_id, id);
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
}

static void missing_request_id_gets_a_generated_one(void **state)
{
    Clinic__V1__RpcResponse *a = call_method(state, "/clinic.v1.Health/Check", NULL, NULL);
    Clinic__V1__RpcResponse *b = call_method(state, "/clinic.v1.Health/Check", NULL, NULL);
    assert_true(strlen(a->request_id) >= 16);
    assert_string_not_equal(a->request_id, b->request_id);
    clinic__v1__rpc_response__free_unpacked(a, NULL);
    clinic__v1__rpc_response__free_unpacked(b, NULL);
}

static void undecodable_request_gets_a_generated_id(void **state)
{
    Clinic__V1__RpcResponse *resp = serve(state, (const uint8_t *)"\xff", 1);
    assert_true(strlen(resp->request_id) >= 16);
    assert_fails_with(resp, STATUS_INVALID_ARGUMENT);
}

/* The answer during shutdown checks the envelope as rpc_serve does: a request id that is not
 * UTF-8 never goes back in the reply's proto3 string. */
static void refusal_echoes_only_a_well_formed_request_id(void **state)
{
    (void)state;
    static const struct {
        const uint8_t *bytes;
        size_t len;
        const char *echoed; /* NULL: a generated one */
    } cases[] = {{(const uint8_t *)"\x1a\x01\xff", 3, NULL},
                 {(const uint8_t *)"\x1a\x02id", 4, "id"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *reply = NULL;
        size_t n = rpc_refuse(cases[i].bytes, cases[i].len, 0, STATUS_UNAVAILABLE,
                              "clinicd is shutting down", &reply);
        Clinic__V1__RpcResponse *resp = clinic__v1__rpc_response__unpack(NULL, n, reply);
        free(reply);
        assert_non_null(resp);
        if (cases[i].echoed)
            assert_string_equal(resp->request_id, cases[i].echoed);
        else
            assert_true(strlen(resp->request_id) >= 16 && (uint8_t)resp->request_id[0] < 0x80);
        assert_fails_with(resp, STATUS_UNAVAILABLE);
    }
}

/* --- served methods without a database --- */

static void health_check_without_database_is_not_serving(void **state)
{
    Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    struct packed payload;
    req.service = "clinic.v1.Booking";
    pack_message(&req.base, &payload);
    Clinic__V1__RpcResponse *resp = call_method(state, "/clinic.v1.Health/Check", &payload, "h");
    assert_int_equal(resp->status->code, STATUS_OK);
    assert_string_equal(resp->status->message, "");
    Clinic__V1__HealthCheckResponse *out =
        clinic__v1__health_check_response__unpack(NULL, resp->payload.len, resp->payload.data);
    assert_non_null(out);
    assert_int_equal(out->status, CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    clinic__v1__health_check_response__free_unpacked(out, NULL);
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
}

static void assert_method_info(const Clinic__V1__MethodInfo *m, const char *name,
                               const char *request_type, const char *response_type)
{
    assert_string_equal(m->name, name);
    assert_string_equal(m->request_type, request_type);
    assert_string_equal(m->response_type, response_type);
    assert_false(m->mutates);
}

static void list_methods_lists_the_served_methods(void **state)
{
    Clinic__V1__RpcResponse *resp =
        call_method(state, "/clinic.v1.Reflection/ListMethods", NULL, NULL);
    assert_int_equal(resp->status->code, STATUS_OK);
    Clinic__V1__ListMethodsResponse *out =
        clinic__v1__list_methods_response__unpack(NULL, resp->payload.len, resp->payload.data);
    assert_non_null(out);
    size_t served = 0;
    for (const struct handler_entry *e = handler_table; e->set; e++)
        served += e->set->service->descriptor->n_methods; /* diagnostics are on here */
    assert_int_equal(out->n_methods, served);
    const Clinic__V1__MethodInfo *sleep = NULL, *check = NULL, *list = NULL, *book = NULL;
    for (size_t i = 0; i < out->n_methods; i++) {
        const Clinic__V1__MethodInfo *m = out->methods[i];
        if (i > 0) /* sorted by name */
            assert_true(strcmp(out->methods[i - 1]->name, m->name) < 0);
        if (strcmp(m->name, "/clinic.v1.Diagnostics/Sleep") == 0)
            sleep = m;
        else if (strcmp(m->name, "/clinic.v1.Health/Check") == 0)
            check = m;
        else if (strcmp(m->name, "/clinic.v1.Reflection/ListMethods") == 0)
            list = m;
        else if (strcmp(m->name, "/clinic.v1.Scheduling/Book") == 0)
            book = m;
    }
    assert_non_null(sleep);
    assert_non_null(check);
    assert_non_null(list);
    assert_non_null(book);
    assert_method_info(sleep, "/clinic.v1.Diagnostics/Sleep", "clinic.v1.SleepRequest",
                       "clinic.v1.SleepResponse");
    assert_method_info(check, "/clinic.v1.Health/Check", "clinic.v1.HealthCheckRequest",
                       "clinic.v1.HealthCheckResponse");
    assert_method_info(list, "/clinic.v1.Reflection/ListMethods", "clinic.v1.ListMethodsRequest",
                       "clinic.v1.ListMethodsResponse");
    assert_true(book->mutates); /* a booking changes data, so it honours idempotency keys */
    clinic__v1__list_methods_response__free_unpacked(out, NULL);
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
}

static void sleep_without_database_is_unavailable(void **state)
{
    Clinic__V1__SleepRequest req = CLINIC__V1__SLEEP_REQUEST__INIT;
    struct packed payload;
    req.duration_ms = 10;
    pack_message(&req.base, &payload);
    Clinic__V1__RpcResponse *resp =
        call_method(state, "/clinic.v1.Diagnostics/Sleep", &payload, "s-1");
    assert_string_equal(resp->request_id, "s-1");
    assert_fails_with(resp, STATUS_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_request_gets_invalid_argument),
        cmocka_unit_test(garbage_bytes_get_invalid_argument),
        cmocka_unit_test(random_bytes_always_get_a_reply),
        cmocka_unit_test(truncated_envelope_gets_invalid_argument),
        cmocka_unit_test(oversize_request_gets_resource_exhausted),
        cmocka_unit_test(invalid_utf8_in_envelope_gets_invalid_argument),
        cmocka_unit_test(method_with_nul_does_not_reach_a_method),
        cmocka_unit_test(unknown_method_gets_unimplemented),
        cmocka_unit_test(unknown_method_message_stays_valid_utf8),
        cmocka_unit_test(unknown_method_message_echoes_no_control_characters),
        cmocka_unit_test(payload_with_wrong_wire_type_gets_invalid_argument),
        cmocka_unit_test(payload_with_invalid_utf8_gets_invalid_argument),
        cmocka_unit_test(truncated_payload_gets_invalid_argument),
        cmocka_unit_test(empty_payload_is_the_default_request),
        cmocka_unit_test(refusal_echoes_only_a_well_formed_request_id),
        cmocka_unit_test(request_id_is_echoed),
        cmocka_unit_test(request_id_unfit_for_the_log_is_still_echoed),
        cmocka_unit_test(missing_request_id_gets_a_generated_one),
        cmocka_unit_test(undecodable_request_gets_a_generated_id),
        cmocka_unit_test(health_check_without_database_is_not_serving),
        cmocka_unit_test(list_methods_lists_the_served_methods),
        cmocka_unit_test(sleep_without_database_is_unavailable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
