/* connect.c: Connect's unary error model and headers (connect.h). */
#include "connect.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clinic/v1/rpc.pb-c.h"
#include "status.h"

/* Connect's names and HTTP statuses, by gRPC status code (connectrpc.com/docs/protocol, "Error
 * Codes"). */
static const struct {
    const char *name;
    unsigned http;
} codes[] = {
    [STATUS_CANCELLED] = {"canceled", 499},
    [STATUS_UNKNOWN] = {"unknown", 500},
    [STATUS_INVALID_ARGUMENT] = {"invalid_argument", 400},
    [STATUS_DEADLINE_EXCEEDED] = {"deadline_exceeded", 504},
    [STATUS_NOT_FOUND] = {"not_found", 404},
    [STATUS_ALREADY_EXISTS] = {"already_exists", 409},
    [STATUS_PERMISSION_DENIED] = {"permission_denied", 403},
    [STATUS_RESOURCE_EXHAUSTED] = {"resource_exhausted", 429},
    [STATUS_FAILED_PRECONDITION] = {"failed_precondition", 400},
    [STATUS_ABORTED] = {"aborted", 409},
    [STATUS_OUT_OF_RANGE] = {"out_of_range", 400},
    [STATUS_UNIMPLEMENTED] = {"unimplemented", 501},
    [STATUS_INTERNAL] = {"internal", 500},
    [STATUS_UNAVAILABLE] = {"unavailable", 503},
    [STATUS_DATA_LOSS] = {"data_loss", 500},
    [STATUS_UNAUTHENTICATED] = {"unauthenticated", 401},
};

const char *connect_code_name(int code)
{
    if (code > 0 && (size_t)code < sizeof codes / sizeof codes[0])
        return codes[code].name;
    return "unknown";
}

unsigned connect_http_status(int code)
{
    if (code > 0 && (size_t)code < sizeof codes / sizeof codes[0])
        return codes[code].http;
    return 500;
}

/* The media type before any parameters, compared without case. */
static bool media_type_is(const char *content_type, const char *type)
{
    size_t n = strlen(type);
    if (strncasecmp(content_type, type, n) != 0)
        return false;
    char next = content_type[n];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

enum connect_codec connect_codec_for(const char *content_type)
{
    if (!content_type)
        return CONNECT_CODEC_UNKNOWN;
    if (media_type_is(content_type, "application/json"))
        return CONNECT_CODEC_JSON;
    if (media_type_is(content_type, "application/proto"))
        return CONNECT_CODEC_PROTO;
    return CONNECT_CODEC_UNKNOWN;
}

const char *connect_content_type(enum connect_codec codec)
{
    return codec == CONNECT_CODEC_PROTO ? "application/proto" : "application/json";
}

bool connect_parse_timeout(const char *header, uint32_t *ms)
{
    size_t n = strlen(header);
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (header[i] < '0' || header[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(header[i] - '0');
    }
    if (v == 0)
        return false;
    *ms = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return true;
}

/* The violations as a google.protobuf.Any-shaped detail: the packed clinic.v1.RpcStatus. */
static json_t *violations_detail(const struct clinic_error *err)
{
    Clinic__V1__FieldViolation items[CLINIC_MAX_VIOLATIONS];
    Clinic__V1__FieldViolation *list[CLINIC_MAX_VIOLATIONS];
    Clinic__V1__RpcStatus status = CLINIC__V1__RPC_STATUS__INIT;
    status.code = err->code;
    status.message = (char *)err->message;
    status.n_violations = err->n_violations;
    status.violations = list;
    for (size_t i = 0; i < err->n_violations && i < CLINIC_MAX_VIOLATIONS; i++) {
        clinic__v1__field_violation__init(&items[i]);
        items[i].field = (char *)err->violations[i].field;
        items[i].description = (char *)err->violations[i].description;
        list[i] = &items[i];
    }
    size_t len = clinic__v1__rpc_status__get_packed_size(&status);
    uint8_t *packed = malloc(len ? len : 1);
    size_t b64_len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    char *b64 = malloc(b64_len);
    char *debug = clinic_message_to_json_named(&status.base, CLINIC_JSON_CAMEL_NAMES);
    json_t *detail = NULL;
    if (packed && b64 && debug) {
        clinic__v1__rpc_status__pack(&status, packed);
        sodium_bin2base64(b64, b64_len, packed, len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        detail = json_pack("{s:s, s:s, s:o?}", "type", "clinic.v1.RpcStatus", "value", b64, "debug",
                           json_loads(debug, 0, NULL));
    }
    free(packed);
    free(b64);
    free(debug);
    return detail;
}

char *connect_error_json(const struct clinic_error *err)
{
    json_t *body =
        json_pack("{s:s, s:s}", "code", connect_code_name(err->code), "message", err->message);
    if (!body)
        return NULL;
    if (err->n_violations > 0) {
        json_t *detail = violations_detail(err);
        if (detail)
            json_object_set_new(body, "details", json_pack("[o]", detail));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}
