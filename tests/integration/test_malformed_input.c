/* Malformed input of every kind gets a reply with a clear status, and the daemon keeps serving:
 * random bytes, truncated protobuf, wrong wire types, empty messages, unknown methods, oversize
 * requests, and a deadline far shorter than the call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clinic/v1/diagnostics.pb-c.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;

static int setup(void **state)
{
    (void)state;
    char url[512], err[512];
    static const char *const args[] = {"--enable-diagnostics", NULL};
    if (!harness_pg_start(&pg) || !harness_pg_create_database(&pg, "malformed", url, sizeof url) ||
        !harness_daemon_start(&daemon_, pg.dir, url, args, true))
        return -1;
    struct clinic_error e;
    client = clinic_connect(daemon_.url, 5000, &e);
    (void)err;
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

/* Sends raw bytes and returns the reply's status code, or -1 when no reply came. */
static int raw_status(const void *bytes, size_t len, char *message, size_t message_len)
{
    struct clinic_error err;
    void *reply;
    size_t reply_len;
    if (clinic_call_raw(client, bytes, len, &reply, &reply_len, 5000, &err) != STATUS_OK)
        return -1;
    Clinic__V1__RpcResponse *resp = clinic__v1__rpc_response__unpack(NULL, reply_len, reply);
    free(reply);
    if (!resp || !resp->status) {
        if (resp)
            clinic__v1__rpc_response__free_unpacked(resp, NULL);
        return -1;
    }
    int code = resp->status->code;
    if (message)
        snprintf(message, message_len, "%s", resp->status->message);
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
    return code;
}

static uint8_t *pack_envelope(const char *method, const uint8_t *payload, size_t payload_len,
                              uint32_t deadline_ms, size_t *len)
{
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    env.method = (char *)method;
    env.payload.data = (uint8_t *)payload;
    env.payload.len = payload_len;
    env.request_id = "malformed-test";
    env.deadline_ms = deadline_ms;
    *len = clinic__v1__rpc_request__get_packed_size(&env);
    uint8_t *buf = malloc(*len);
    clinic__v1__rpc_request__pack(&env, buf);
    return buf;
}

static void assert_still_serving(void)
{
    assert_int_equal(harness_health(daemon_.url, 5000), 1);
}

static void empty_message_gets_invalid_argument(void **state)
{
    (void)state;
    char message[256];
    assert_int_equal(raw_status("", 0, message, sizeof message), STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "empty"));
    assert_still_serving();
}

static void random_bytes_never_crash_the_daemon(void **state)
{
    (void)state;
    srand(7450);
    for (int round = 0; round < 300; round++) {
        uint8_t buf[512];
        size_t len = (size_t)(rand() % (int)sizeof buf) + 1;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand();
        int code = raw_status(buf, len, NULL, 0);
        /* random bytes may by chance decode as an envelope naming no known method */
        assert_true(code == STATUS_INVALID_ARGUMENT || code == STATUS_UNIMPLEMENTED);
    }
    assert_still_serving();
}

static void truncated_envelope_gets_invalid_argument(void **state)
{
    (void)state;
    uint8_t payload[40];
    memset(payload, 'x', sizeof payload);
    size_t len;
    uint8_t *env = pack_envelope("/clinic.v1.Health/Check", payload, sizeof payload, 0, &len);
    /* every cut inside the method name or the payload bytes leaves a length pointing past the end
     */
    for (size_t cut = 1; cut < len; cut++) {
        int code = raw_status(env, cut, NULL, 0);
        assert_true(code == STATUS_INVALID_ARGUMENT || code == STATUS_UNIMPLEMENTED ||
                    code == STATUS_OK);
    }
    assert_int_equal(raw_status(env, 5, NULL, 0), STATUS_INVALID_ARGUMENT);
    assert_int_equal(raw_status(env, len - 3, NULL, 0), STATUS_INVALID_ARGUMENT);
    free(env);
    assert_still_serving();
}

static void wrong_wire_types_get_invalid_argument(void **state)
{
    (void)state;
    /* field 1 (method, a string) sent as a varint */
    static const uint8_t envelope_varint_method[] = {0x08, 0x96, 0x01};
    char message[256];
    assert_int_equal(
        raw_status(envelope_varint_method, sizeof envelope_varint_method, message, sizeof message),
        STATUS_INVALID_ARGUMENT);
    /* a HealthCheckRequest whose field 1 (service, a string) is a varint */
    static const uint8_t payload_varint_service[] = {0x08, 0x01};
    size_t len;
    uint8_t *env = pack_envelope("/clinic.v1.Health/Check", payload_varint_service,
                                 sizeof payload_varint_service, 0, &len);
    assert_int_equal(raw_status(env, len, message, sizeof message), STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "clinic.v1.HealthCheckRequest"));
    free(env);
    assert_still_serving();
}

static void invalid_utf8_in_payload_gets_invalid_argument(void **state)
{
    (void)state;
    static const uint8_t payload[] = {0x0a, 0x03, 'a', 0xff, 'b'};
    size_t len;
    char message[256];
    uint8_t *env = pack_envelope("/clinic.v1.Health/Check", payload, sizeof payload, 0, &len);
    assert_int_equal(raw_status(env, len, message, sizeof message), STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "service"));
    free(env);
    assert_still_serving();
}

static void unknown_method_gets_unimplemented(void **state)
{
    (void)state;
    size_t len;
    char message[256];
    uint8_t *env = pack_envelope("/clinic.v1.Nope/Nothing", NULL, 0, 0, &len);
    assert_int_equal(raw_status(env, len, message, sizeof message), STATUS_UNIMPLEMENTED);
    assert_non_null(strstr(message, "/clinic.v1.Nope/Nothing"));
    free(env);
    assert_still_serving();
}

static void two_mebibyte_request_gets_resource_exhausted(void **state)
{
    (void)state;
    size_t big = 2u * 1024 * 1024, len;
    uint8_t *payload = calloc(1, big);
    char message[256];
    uint8_t *env = pack_envelope("/clinic.v1.Health/Check", payload, big, 0, &len);
    assert_int_equal(raw_status(env, len, message, sizeof message), STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(message, "limit"));
    free(env);
    free(payload);
    assert_still_serving();
}

/* Connects to the daemon's TCP port and completes the SP handshake as a REQ peer (nng's
 * wire format: "\0SP\0", the protocol number 0x30 big-endian, two zero bytes). */
static int sp_connect(void)
{
    int port = (int)strtol(strrchr(daemon_.url, ':') + 1, NULL, 10);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    uint8_t theirs[8];
    assert_int_equal(write(fd, hello, sizeof hello), 8);
    assert_int_equal(recv(fd, theirs, sizeof theirs, MSG_WAITALL), 8);
    assert_int_equal(theirs[5], 0x31); /* REP */
    return fd;
}

static void request_beyond_transport_limit_is_dropped_without_harm(void **state)
{
    (void)state;
    /* A frame header claiming 5 MiB, past 4 x the application limit: nng drops the peer at the
     * header instead of allocating what it claims. Raw TCP here: nng's own client misbehaves
     * after such a drop (see libclinic's CLINIC_MAX_REQUEST_BYTES). */
    int fd = sp_connect();
    uint64_t claimed = 5u * 1024 * 1024;
    uint8_t header[8];
    for (int i = 0; i < 8; i++)
        header[i] = (uint8_t)(claimed >> (56 - 8 * i));
    assert_int_equal(write(fd, header, sizeof header), 8);
    uint8_t byte;
    assert_true(recv(fd, &byte, 1, 0) <= 0); /* the daemon hung up */
    close(fd);

    struct clinic_error err;
    void *out = NULL;
    size_t out_len;
    uint8_t *bytes = calloc(1, claimed);
    assert_int_equal(clinic_call_raw(client, bytes, claimed, &out, &out_len, 1500, &err),
                     STATUS_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(err.message, "send less"));
    free(bytes);
    assert_still_serving();
}

static void one_millisecond_deadline_on_slow_call_gets_deadline_exceeded(void **state)
{
    (void)state;
    Clinic__V1__SleepRequest req = CLINIC__V1__SLEEP_REQUEST__INIT;
    req.duration_ms = 2000;
    uint8_t payload[16];
    size_t payload_len = clinic__v1__sleep_request__pack(&req, payload), len;
    char message[256];
    uint8_t *env = pack_envelope("/clinic.v1.Diagnostics/Sleep", payload, payload_len, 1, &len);
    assert_int_equal(raw_status(env, len, message, sizeof message), STATUS_DEADLINE_EXCEEDED);
    assert_non_null(strstr(message, "deadline"));
    free(env);
    /* a deadline that expires mid-statement: statement_timeout cancels it in the database */
    env = pack_envelope("/clinic.v1.Diagnostics/Sleep", payload, payload_len, 300, &len);
    assert_int_equal(raw_status(env, len, NULL, 0), STATUS_DEADLINE_EXCEEDED);
    free(env);
    assert_still_serving();
}

static void daemon_log_names_every_call_without_payloads(void **state)
{
    (void)state;
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    assert_non_null(strstr(log, "request_id=malformed-test method=/clinic.v1.Health/Check code=3"));
    assert_non_null(strstr(log, "method=/clinic.v1.Diagnostics/Sleep code=4"));
    assert_null(strstr(log, "xxxxxxxx")); /* payload bytes of the truncation test */
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_message_gets_invalid_argument),
        cmocka_unit_test(random_bytes_never_crash_the_daemon),
        cmocka_unit_test(truncated_envelope_gets_invalid_argument),
        cmocka_unit_test(wrong_wire_types_get_invalid_argument),
        cmocka_unit_test(invalid_utf8_in_payload_gets_invalid_argument),
        cmocka_unit_test(unknown_method_gets_unimplemented),
        cmocka_unit_test(two_mebibyte_request_gets_resource_exhausted),
        cmocka_unit_test(request_beyond_transport_limit_is_dropped_without_harm),
        cmocka_unit_test(one_millisecond_deadline_on_slow_call_gets_deadline_exceeded),
        cmocka_unit_test(daemon_log_names_every_call_without_payloads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
