/* connect.h: the Connect protocol's unary calls over HTTP, as far as they are not HTTP itself:
 * which codec a Content-Type names, the deadline a Connect-Timeout-Ms header gives, and how a
 * status becomes Connect's error (its code's name, the HTTP status of Connect's table, the JSON
 * body with the field violations as a detail). See https://connectrpc.com/docs/protocol. */
#ifndef CLINIC_GATEWAY_CONNECT_H
#define CLINIC_GATEWAY_CONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include "clinic.h"

enum connect_codec {
    CONNECT_CODEC_UNKNOWN = 0,
    CONNECT_CODEC_JSON,  /* application/json: protobuf's canonical JSON mapping */
    CONNECT_CODEC_PROTO, /* application/proto: the binary encoding */
};

/* The codec a request's Content-Type names ("application/json; charset=utf-8" is JSON). */
enum connect_codec connect_codec_for(const char *content_type);

/* The Content-Type of a reply in codec. */
const char *connect_content_type(enum connect_codec codec);

/* Connect-Timeout-Ms: at most 10 digits, a positive number of milliseconds. False when the
 * header is malformed. */
bool connect_parse_timeout(const char *header, uint32_t *ms);

/* Connect's name of a status code ("invalid_argument", "canceled"); "unknown" for others. */
const char *connect_code_name(int code);

/* The HTTP status Connect gives a status code (400 for invalid_argument, 409 for aborted...). */
unsigned connect_http_status(int code);

/* The error's JSON body (malloc'd; NULL when out of memory): {"code", "message"} and, with field
 * violations, a detail of type clinic.v1.RpcStatus holding them (base64 "value", and "debug" in
 * JSON for people reading it). */
char *connect_error_json(const struct clinic_error *err);

#endif
