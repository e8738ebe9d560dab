/* clinic.h: libclinic, the client library for clinicd. Connects to one or several daemons,
 * sends calls in the clinic.v1.RpcRequest envelope with a deadline, a request id, the bearer
 * token and (for mutating calls) an idempotency key that retries reuse, and turns the reply's
 * status into an error code and a sentence. Thread-safe: one client serves many threads. */
#ifndef CLINIC_CLIENT_H
#define CLINIC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define CLINIC_DEFAULT_URL        "tcp://127.0.0.1:7450"
#define CLINIC_DEFAULT_TIMEOUT_MS 10000
#define CLINIC_MAX_VIOLATIONS     16
/* Requests above this are refused locally: clinicd's transport drops connections whose frames
 * pass 4 x its 1 MiB default limit, and nng 1.5.2 handles such a drop badly on the client side
 * (the socket re-dials and resends, and closing another socket can then hang). */
#define CLINIC_MAX_REQUEST_BYTES (4u * 1024 * 1024)

typedef struct clinic_client clinic_client;

struct clinic_violation {
    char field[64];
    char description[192];
};

/* What went wrong. code is a status_code (status.h): the daemon's, or one libclinic chose for
 * a local failure (UNAVAILABLE when no daemon answers, DEADLINE_EXCEEDED on timeout). */
struct clinic_error {
    int code;
    char message[512];
    char request_id[65];
    size_t n_violations;
    struct clinic_violation violations[CLINIC_MAX_VIOLATIONS];
};

struct clinic_call_options {
    uint32_t timeout_ms;         /* 0: the client's default; also sent as deadline_ms */
    bool mutating;               /* attach an idempotency key (generated unless given below) */
    const char *idempotency_key; /* a caller-chosen key, e.g. to retry across processes */
    const char *request_id;      /* NULL: a random one */
};

/* Connects to a comma-separated list of daemon URLs ("tcp://a:7450,tcp://b:7450"); calls are
 * spread over those that are up, and a call whose daemon goes away is resent to another. NULL
 * (with err filled, code UNAVAILABLE or INVALID_ARGUMENT) when no URL can be dialled.
 * For tls+tcp:// URLs the daemon's certificate is verified against the CA certificate(s) in the
 * PEM file named by CLINIC_TLS_CA, and must name the URL's host. The bearer token sent with
 * every call is CLINIC_TOKEN's, when set (clinic_set_token changes it). */
clinic_client *clinic_connect(const char *urls, uint32_t default_timeout_ms,
                              struct clinic_error *err);

struct clinic_connect_options {
    uint32_t default_timeout_ms; /* 0: CLINIC_DEFAULT_TIMEOUT_MS */
    const char *tls_ca_file;     /* PEM CA certificate(s) that signed the daemons' certificates */
};

/* clinic_connect with explicit options (no environment lookup). */
clinic_client *clinic_connect_with(const char *urls, const struct clinic_connect_options *opts,
                                   struct clinic_error *err);
void clinic_close(clinic_client *client);

/* The bearer token sent with every later call (copied); NULL or "" sends none. */
void clinic_set_token(clinic_client *client, const char *token);

/* Calls `method` ("/clinic.v1.Health/Check") with `request`. On STATUS_OK, *response holds the
 * unpacked reply of type response_type: free it with protobuf_c_message_free_unpacked(r, NULL)
 * (response may be NULL when only the status matters).
 * Otherwise *response is NULL and err says why. Returns the status code. When the daemon is
 * unreachable or answers UNAVAILABLE the call is retried with the same envelope (so the same
 * idempotency key) until the timeout. */
int clinic_call(clinic_client *client, const char *method, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                const struct clinic_call_options *opts, struct clinic_error *err);

/* Sends raw bytes as the whole request message and returns the raw reply (malloc'd, *reply_len
 * bytes; free it). For tools and tests that speak the envelope themselves. Returns STATUS_OK when
 * a reply arrived, otherwise a local failure code with err filled. */
int clinic_call_raw(clinic_client *client, const void *request, size_t request_len, void **reply,
                    size_t *reply_len, uint32_t timeout_ms, struct clinic_error *err);

/* Writes 32 random hex digits and a NUL into out (request ids, idempotency keys). */
void clinic_random_id(char out[33]);

/* Writes message (any protobuf-c message) as JSON into a malloc'd string (free it), using the
 * .proto field names; NULL when out of memory. Enums print as their names, bytes as base64. */
char *clinic_message_to_json(const ProtobufCMessage *message);

#endif
