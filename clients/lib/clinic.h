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
#define CLINIC_DEFAULT_EVENTS_URL "tcp://127.0.0.1:7451"
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
    const char *token;           /* this call's bearer token; NULL: the client's (clinic_set_token),
                                  * "": none (a gateway calls for many people through one client) */
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

/* --- JSON (json.c): protobuf's canonical JSON mapping, for any message, from its descriptor:
 * 64-bit integers as strings, enums by name, bytes as base64, every field printed. */

enum clinic_json_names {
    CLINIC_JSON_PROTO_NAMES, /* "start_time", as in the .proto (what `clinic --json` prints) */
    CLINIC_JSON_CAMEL_NAMES  /* "startTime", the mapping's JSON names (Connect, browsers) */
};

/* Writes message as compact JSON into a malloc'd string (free it), with the .proto field
 * names; NULL when out of memory. */
char *clinic_message_to_json(const ProtobufCMessage *message);

/* The same with the names chosen. */
char *clinic_message_to_json_named(const ProtobufCMessage *message, enum clinic_json_names names);

/* Reads JSON text (len bytes) as a message of type descriptor: either name of a field, 64-bit
 * integers as strings or numbers, enums by name or number, null for a default. Returns the
 * message (free it with protobuf_c_message_free_unpacked(m, NULL)), or NULL with a sentence in
 * why naming the field ("booking.start_time: expected text"). */
ProtobufCMessage *clinic_message_from_json(const ProtobufCMessageDescriptor *descriptor,
                                           const char *text, size_t len, char *why, size_t why_len);

/* --- events: a subscription to the daemon's appointment events ---
 *
 * clinicd publishes every event once on its PUB socket ("<topic> <serialized Event>"), numbered
 * contiguously in commit order; PUB/SUB drops what a slow or disconnected subscriber misses, and
 * Events/Since replays it. A subscription hides both: it hands out each event after after_seq
 * exactly once, in sequence order. It asks Since first (page by page), then delivers live events;
 * a live event whose number is not the next one (a gap: a full queue, a reconnection, a daemon
 * restart) waits while Since fills the gap. The events socket re-dials on its own with bounded
 * back-off; after each (re)connection, and after resync_ms without a live event, Since is asked
 * again, so that nothing lost in between stays lost. Since goes through the client, with its
 * token (Events/Since needs one; the PUB socket needs none). */

struct Clinic__V1__Event; /* clinic/v1/events.pb-c.h */
typedef struct clinic_subscription clinic_subscription;

/* Subscribe from the newest event on: only what happens from now is delivered. */
#define CLINIC_AFTER_NOW UINT64_MAX

struct clinic_subscribe_options {
    /* NULL: CLINIC_EVENTS; when that is unset too, the URL the daemon reports (Server/Info),
     * near the host the client dialled (clinic_events_url_near) */
    const char *events_url;
    const char *topic;         /* deliver only topics starting with this; NULL: every event */
    uint32_t call_timeout_ms;  /* each Events/Since call at most; 0: the client's default */
    uint32_t resync_ms;        /* ask Since after this long without a live event; 0: 3000 */
    uint32_t reconnect_max_ms; /* longest pause between re-dials of the events socket; 0: 2000 */
    uint32_t page_limit;       /* events per Since call; 0: 1000, the most clinicd returns */
};

/* Subscribes to the events after after_seq (CLINIC_AFTER_NOW: after the newest one, which one
 * Since call learns). client makes the Since calls and must outlive the subscription; opts may
 * be NULL. The events socket is dialled in the background: a daemon not up yet is picked up when
 * it starts. Returns STATUS_OK with *sub set, else a status with err filled (INVALID_ARGUMENT for
 * a bad events URL; for CLINIC_AFTER_NOW, whatever Since answered). One thread at a time. */
int clinic_subscribe(clinic_client *client, uint64_t after_seq,
                     const struct clinic_subscribe_options *opts, clinic_subscription **sub,
                     struct clinic_error *err);

/* Waits at most timeout_ms for the next event (0: only what needs no waiting). STATUS_OK: *event
 * is the event numbered right after the last one handed out or passed over by the topic filter;
 * free it with protobuf_c_message_free_unpacked(&e->base, NULL). Otherwise *event is NULL and err
 * says why: DEADLINE_EXCEEDED when nothing came in time, UNAVAILABLE when Since could not reach
 * the daemon in time (both pass: call again, nothing is lost), or the status Since was refused
 * with (UNAUTHENTICATED, PERMISSION_DENIED: calling again will not help). */
int clinic_subscription_next(clinic_subscription *sub, uint32_t timeout_ms,
                             struct Clinic__V1__Event **event, struct clinic_error *err);

/* The sequence number to resume after: the last event handed out or passed over. */
uint64_t clinic_subscription_last_seq(const clinic_subscription *sub);

/* How events reached the caller, for tests and diagnostics. */
struct clinic_subscription_stats {
    uint64_t live;        /* events handed out as published */
    uint64_t replayed;    /* events handed out from Events/Since */
    uint64_t duplicates;  /* live events dropped: already handed out */
    uint64_t gaps;        /* live events that came after a gap, which Since then filled */
    uint64_t malformed;   /* live messages that were not "<topic> <Event>" */
    uint64_t since_calls; /* Events/Since calls answered */
    uint64_t connections; /* times the events socket connected: 1 + reconnections */
};
void clinic_subscription_stats(const clinic_subscription *sub,
                               struct clinic_subscription_stats *out);

/* The events URLs the subscription dials, comma-separated; "" when it has none (the daemon
 * publishes no events) and so learns of events only from Events/Since, every resync_ms. Whether
 * a dial got through shows in clinic_subscription_stats' connections. */
const char *clinic_subscription_events_url(const clinic_subscription *sub);

/* Writes into out (len bytes) the URL a client that reached clinicd at rpc_url dials for the
 * events the daemon reports publishing on (`reported`, Server/Info's events_url). A wildcard
 * ("0.0.0.0", "::", none) or loopback host in `reported` is the daemon's own view of itself and
 * becomes rpc_url's host, keeping the scheme and port: "tcp://10.0.0.5:7450" with
 * "tcp://0.0.0.0:7451" gives "tcp://10.0.0.5:7451". Any other host, and a URL without one
 * (ipc://), is kept; so is a loopback host when rpc_url has no host (a wildcard then becomes
 * the loopback address). An rpc_url that does not parse counts as one without a host. False, with
 * out empty, when reported is empty (the daemon publishes no events) or does not parse, or the
 * result does not fit. */
bool clinic_events_url_near(const char *rpc_url, const char *reported, char *out, size_t len);

/* Closes the events socket and frees what the subscription holds (NULL is fine). */
void clinic_subscription_close(clinic_subscription *sub);

#endif
