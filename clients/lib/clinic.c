/* clinic.c: libclinic's connection and call path over an nng REQ socket. */
#include "clinic.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clinic/v1/rpc.pb-c.h"
#include "clinic_internal.h"
#include "message_unpack.h"

/* Replies may reach the daemon's own limit plus the envelope; refuse absurd frames. */
#define MAX_REPLY_BYTES (64u * 1024 * 1024)
/* Our timeout bounds the whole call; nng's timer-driven resend would only duplicate work. The
 * resend nng does when a connection drops (to another daemon) stays: it needs a positive value. */
#define RESEND_MS (24 * 3600 * 1000)
/* The transport gets this much beyond the deadline sent to the daemon, so that the daemon's
 * DEADLINE_EXCEEDED (with its sentence) arrives before our own timer fires. */
#define TRANSPORT_SLACK_MS 1000
#define RETRY_FIRST_MS     50
#define RETRY_MAX_MS       1000

struct clinic_client {
    nng_socket sock;
    uint32_t default_timeout_ms;
    char *token;
    atomic_int pipes; /* connections up right now */
    char urls[1024];
    char tls_ca[512]; /* for the events socket a subscription dials (events.c) */
};

static void vset_error(struct clinic_error *err, int code, const char *request_id, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

static void vset_error(struct clinic_error *err, int code, const char *request_id, const char *fmt,
                       va_list ap)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->code = code;
    snprintf(err->request_id, sizeof err->request_id, "%s", request_id ? request_id : "");
    vsnprintf(err->message, sizeof err->message, fmt, ap);
}

static void set_error(struct clinic_error *err, int code, const char *request_id, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct clinic_error *err, int code, const char *request_id, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_error(err, code, request_id, fmt, ap);
    va_end(ap);
}

void clinic_set_error(struct clinic_error *err, int code, const char *request_id, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_error(err, code, request_id, fmt, ap);
    va_end(ap);
}

void clinic_random_id(char out[33])
{
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        /* getrandom only fails before the kernel's pool is ready; a clock-seeded id still works */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(raw, &ts, sizeof raw < sizeof ts ? sizeof raw : sizeof ts);
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static void pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    (void)pipe;
    struct clinic_client *c = arg;
    atomic_fetch_add(&c->pipes, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

/* The host part of "tls+tcp://HOST:PORT" (or "[v6]:PORT") into out: the name the daemon's
 * certificate must carry. */
static void url_host(const char *url, char *out, size_t len)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t n;
    if (*host == '[') {
        host++;
        n = strcspn(host, "]");
    } else {
        n = strcspn(host, ":/");
    }
    snprintf(out, len, "%.*s", (int)n, host);
}

/* A dialer for url; for TLS, with the CA and the server name to verify. 0 or an nng error. */
static int make_dialer(nng_socket sock, const char *url, const char *ca_file, nng_dialer *d,
                       struct clinic_error *err)
{
    int rv = nng_dialer_create(d, sock, url);
    if (rv != 0 || strncmp(url, "tls+tcp", 7) != 0)
        return rv;
    if (!ca_file || !*ca_file) {
        set_error(err, STATUS_INVALID_ARGUMENT, NULL,
                  "%s is a TLS URL: set CLINIC_TLS_CA to the CA certificate (PEM) that signed the "
                  "daemon's certificate",
                  url);
        nng_dialer_close(*d);
        return NNG_EINVAL;
    }
    nng_tls_config *cfg;
    char host[256];
    url_host(url, host, sizeof host);
    if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0)
        return rv;
    if ((rv = nng_tls_config_ca_file(cfg, ca_file)) != 0)
        set_error(err, STATUS_INVALID_ARGUMENT, NULL, "cannot read the CA certificate %s: %s",
                  ca_file, nng_strerror(rv));
    if (rv == 0)
        rv = nng_tls_config_server_name(cfg, host);
    if (rv == 0)
        rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
    if (rv == 0)
        rv = nng_dialer_set_ptr(*d, NNG_OPT_TLS_CONFIG, cfg);
    nng_tls_config_free(cfg); /* the dialer holds its own reference */
    if (rv != 0)
        nng_dialer_close(*d);
    return rv;
}

int clinic_dialer_create(nng_socket sock, const char *url, const char *ca_file, nng_dialer *d,
                         struct clinic_error *err)
{
    return make_dialer(sock, url, ca_file, d, err);
}

/* Dials every URL in the comma-separated list; true when at least one answered now. URLs that
 * did not are left dialling in the background, so a daemon that starts later is picked up. */
static bool dial_all(struct clinic_client *c, const char *urls, const char *ca_file,
                     struct clinic_error *err)
{
    char list[1024];
    snprintf(list, sizeof list, "%s", urls);
    bool any = false;
    int last_rv = 0;
    const char *last_url = "";
    char *save = NULL;
    for (char *url = strtok_r(list, ",", &save); url; url = strtok_r(NULL, ",", &save)) {
        while (*url == ' ')
            url++;
        nng_dialer d;
        if (err)
            err->code = STATUS_OK;
        int rv = make_dialer(c->sock, url, ca_file, &d, err);
        if (rv != 0 && err && err->code != STATUS_OK)
            return false; /* make_dialer said what is wrong */
        if (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP || rv == NNG_EINVAL) {
            set_error(err, STATUS_INVALID_ARGUMENT, NULL,
                      "\"%s\" is not a daemon URL; use tcp://HOST:PORT, ipc:///PATH or "
                      "tls+tcp://HOST:PORT",
                      url);
            return false;
        }
        if (rv == 0 && (rv = nng_dialer_start(d, 0)) == 0) {
            any = true;
            continue;
        }
        if (rv != 0 && rv != NNG_EINVAL)
            nng_dialer_close(d);
        last_rv = rv;
        last_url = urls + (url - list);
        /* keep trying in the background: a daemon started later is picked up */
        if (make_dialer(c->sock, url, ca_file, &d, NULL) == 0)
            nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    }
    if (!any)
        set_error(err, STATUS_UNAVAILABLE, NULL,
                  "cannot reach clinicd at %.200s: %s; is the daemon running, and is the URL "
                  "right (--url or CLINIC_URL)?",
                  last_url[0] ? last_url : urls, last_rv ? nng_strerror(last_rv) : "no URL given");
    return any;
}

clinic_client *clinic_connect(const char *urls, uint32_t default_timeout_ms,
                              struct clinic_error *err)
{
    struct clinic_connect_options opts = {.default_timeout_ms = default_timeout_ms,
                                          .tls_ca_file = getenv("CLINIC_TLS_CA")};
    clinic_client *c = clinic_connect_with(urls, &opts, err);
    if (c)
        clinic_set_token(c, getenv("CLINIC_TOKEN"));
    return c;
}

clinic_client *clinic_connect_with(const char *urls, const struct clinic_connect_options *opts,
                                   struct clinic_error *err)
{
    struct clinic_client *c = calloc(1, sizeof *c);
    if (!c) {
        set_error(err, STATUS_RESOURCE_EXHAUSTED, NULL, "out of memory");
        return NULL;
    }
    if (!urls || !*urls)
        urls = CLINIC_DEFAULT_URL;
    snprintf(c->urls, sizeof c->urls, "%s", urls);
    snprintf(c->tls_ca, sizeof c->tls_ca, "%s", opts->tls_ca_file ? opts->tls_ca_file : "");
    c->default_timeout_ms =
        opts->default_timeout_ms ? opts->default_timeout_ms : CLINIC_DEFAULT_TIMEOUT_MS;
    int rv = nng_req0_open(&c->sock);
    if (rv != 0) {
        set_error(err, STATUS_INTERNAL, NULL, "cannot open a socket: %s", nng_strerror(rv));
        free(c);
        return NULL;
    }
    nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, RESEND_MS);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, MAX_REPLY_BYTES);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_event, c);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_event, c);
    if (!dial_all(c, urls, opts->tls_ca_file, err)) {
        clinic_close(c);
        return NULL;
    }
    return c;
}

void clinic_close(clinic_client *c)
{
    if (!c)
        return;
    nng_close(c->sock);
    free(c->token);
    free(c);
}

const char *clinic_client_urls(const clinic_client *c)
{
    return c->urls;
}

const char *clinic_client_tls_ca(const clinic_client *c)
{
    return c->tls_ca;
}

uint32_t clinic_client_default_timeout_ms(const clinic_client *c)
{
    return c->default_timeout_ms;
}

void clinic_set_token(clinic_client *c, const char *token)
{
    free(c->token);
    c->token = token && *token ? strdup(token) : NULL;
}

/* One request/reply exchange on a fresh context; NNG error code or 0. */
static int exchange(clinic_client *c, const void *request, size_t len, nng_msg **reply,
                    uint32_t timeout_ms)
{
    nng_ctx ctx;
    nng_aio *aio = NULL;
    nng_msg *msg = NULL;
    int rv;
    *reply = NULL;
    if ((rv = nng_ctx_open(&ctx, c->sock)) != 0)
        return rv;
    if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0 || (rv = nng_msg_alloc(&msg, 0)) != 0 ||
        (rv = nng_msg_append(msg, request, len)) != 0)
        goto done;
    nng_aio_set_timeout(aio, (nng_duration)timeout_ms);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0)
        goto done; /* the message is still ours */
    msg = NULL;
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) == 0)
        *reply = nng_aio_get_msg(aio);
done:
    if (msg)
        nng_msg_free(msg);
    if (aio)
        nng_aio_free(aio);
    nng_ctx_close(ctx);
    return rv;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clinic_now_ms(void)
{
    return now_ms();
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A transport failure as a status: UNAVAILABLE when no daemon is connected, else a timeout. */
static int transport_error(clinic_client *c, int rv, uint32_t timeout_ms, const char *request_id,
                           struct clinic_error *err)
{
    if (atomic_load(&c->pipes) <= 0) {
        set_error(err, STATUS_UNAVAILABLE, request_id,
                  "lost the connection to clinicd at %.200s; is the daemon running?", c->urls);
        return STATUS_UNAVAILABLE;
    }
    if (rv == NNG_ETIMEDOUT) {
        set_error(err, STATUS_DEADLINE_EXCEEDED, request_id,
                  "clinicd did not answer within %u ms; try again or raise --timeout", timeout_ms);
        return STATUS_DEADLINE_EXCEEDED;
    }
    set_error(err, STATUS_UNAVAILABLE, request_id, "the call to clinicd failed: %s",
              nng_strerror(rv));
    return STATUS_UNAVAILABLE;
}

static int refuse_oversize(size_t len, const char *request_id, struct clinic_error *err)
{
    set_error(err, STATUS_RESOURCE_EXHAUSTED, request_id,
              "the request is %zu bytes, over the %u bytes a call may carry; send less per call",
              len, CLINIC_MAX_REQUEST_BYTES);
    return STATUS_RESOURCE_EXHAUSTED;
}

int clinic_call_raw(clinic_client *c, const void *request, size_t request_len, void **reply,
                    size_t *reply_len, uint32_t timeout_ms, struct clinic_error *err)
{
    nng_msg *msg;
    *reply = NULL;
    *reply_len = 0;
    if (!timeout_ms)
        timeout_ms = c->default_timeout_ms;
    if (request_len > CLINIC_MAX_REQUEST_BYTES)
        return refuse_oversize(request_len, NULL, err);
    int rv = exchange(c, request, request_len, &msg, timeout_ms);
    if (rv != 0)
        return transport_error(c, rv, timeout_ms, NULL, err);
    *reply_len = nng_msg_len(msg);
    *reply = malloc(*reply_len ? *reply_len : 1);
    if (*reply)
        memcpy(*reply, nng_msg_body(msg), *reply_len);
    nng_msg_free(msg);
    if (!*reply) {
        set_error(err, STATUS_RESOURCE_EXHAUSTED, NULL, "out of memory");
        return STATUS_RESOURCE_EXHAUSTED;
    }
    return STATUS_OK;
}

/* Fills err from a non-OK RpcStatus. */
static void error_from_status(const Clinic__V1__RpcStatus *st, const char *request_id,
                              struct clinic_error *err)
{
    set_error(err, st->code, request_id, "%s", st->message[0] ? st->message : "(no message)");
    if (!err)
        return;
    for (size_t i = 0; i < st->n_violations && i < CLINIC_MAX_VIOLATIONS; i++) {
        snprintf(err->violations[i].field, sizeof err->violations[i].field, "%s",
                 st->violations[i]->field);
        snprintf(err->violations[i].description, sizeof err->violations[i].description, "%s",
                 st->violations[i]->description);
        err->n_violations++;
    }
}

/* Decodes the reply envelope and its payload. */
static int decode_reply(nng_msg *msg, const ProtobufCMessageDescriptor *response_type,
                        ProtobufCMessage **response, const char *request_id,
                        struct clinic_error *err)
{
    Clinic__V1__RpcResponse *resp =
        clinic__v1__rpc_response__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    if (!resp || !resp->status) {
        set_error(err, STATUS_INTERNAL, request_id, "clinicd's reply could not be decoded");
        if (resp)
            clinic__v1__rpc_response__free_unpacked(resp, NULL);
        return STATUS_INTERNAL;
    }
    int code = resp->status->code;
    if (code != STATUS_OK) {
        error_from_status(resp->status, request_id, err);
    } else {
        *response = message_unpack(response_type, resp->payload.len, resp->payload.data);
        if (!*response) {
            set_error(err, STATUS_INTERNAL, request_id,
                      "clinicd's reply is not a valid %s; are client and daemon the same version?",
                      response_type->name);
            code = STATUS_INTERNAL;
        }
    }
    clinic__v1__rpc_response__free_unpacked(resp, NULL);
    return code;
}

/* Packs the envelope; NULL when out of memory. */
static uint8_t *pack_envelope(const char *token, const char *method,
                              const ProtobufCMessage *request, const char *request_id,
                              const char *key, uint32_t timeout_ms, size_t *len)
{
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    size_t payload_len = protobuf_c_message_get_packed_size(request);
    uint8_t *payload = malloc(payload_len ? payload_len : 1);
    if (!payload)
        return NULL;
    protobuf_c_message_pack(request, payload);
    env.method = (char *)method;
    env.payload.data = payload;
    env.payload.len = payload_len;
    env.request_id = (char *)request_id;
    env.auth_token = (char *)token;
    env.deadline_ms = timeout_ms;
    env.idempotency_key = (char *)key;
    *len = clinic__v1__rpc_request__get_packed_size(&env);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        clinic__v1__rpc_request__pack(&env, buf);
    free(payload);
    return buf;
}

int clinic_call(clinic_client *c, const char *method, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                const struct clinic_call_options *opts, struct clinic_error *err)
{
    return clinic_call_within(c, method, request, response_type, response, opts, INT64_MAX, err);
}

/* The transport's time for one exchange: the budget left plus the slack, but never past the
 * caller's hard deadline; 0 when that has passed. */
static uint32_t exchange_ms(int64_t give_up, int64_t deadline_ms)
{
    int64_t now = now_ms(), left = give_up - now;
    int64_t ms = (left > 0 ? left : 1) + TRANSPORT_SLACK_MS;
    if (deadline_ms != INT64_MAX && ms > deadline_ms - now)
        ms = deadline_ms - now;
    return ms > 0 ? (uint32_t)ms : 0;
}

int clinic_call_within(clinic_client *c, const char *method, const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                       const struct clinic_call_options *opts, int64_t deadline_ms,
                       struct clinic_error *err)
{
    static const struct clinic_call_options defaults = {0};
    char request_id[65], generated_key[65] = "";
    if (!opts)
        opts = &defaults;
    ProtobufCMessage *ignored = NULL;
    if (!response)
        response = &ignored; /* the caller wants the status only */
    *response = NULL;
    uint32_t timeout_ms = opts->timeout_ms ? opts->timeout_ms : c->default_timeout_ms;
    if (opts->request_id)
        snprintf(request_id, sizeof request_id, "%s", opts->request_id);
    else
        clinic_random_id(request_id);
    /* The caller's key goes out as it is: cut short, two keys with one beginning would be one
     * key to the daemon (which refuses keys over 128 characters, naming the field). */
    const char *key = opts->idempotency_key ? opts->idempotency_key : generated_key;
    if (!opts->idempotency_key && opts->mutating)
        clinic_random_id(generated_key);

    size_t len;
    const char *token = opts->token ? opts->token : c->token ? c->token : "";
    uint8_t *envelope = pack_envelope(token, method, request, request_id, key, timeout_ms, &len);
    if (!envelope) {
        set_error(err, STATUS_RESOURCE_EXHAUSTED, request_id, "out of memory");
        return STATUS_RESOURCE_EXHAUSTED;
    }
    if (len > CLINIC_MAX_REQUEST_BYTES) {
        free(envelope);
        return refuse_oversize(len, request_id, err);
    }
    /* Retry while the daemon is unreachable or says UNAVAILABLE, within the time budget. The
     * same envelope goes out each time: same request id, same idempotency key. */
    int64_t give_up = now_ms() + timeout_ms;
    long pause_ms = RETRY_FIRST_MS;
    int code;
    for (;;) {
        nng_msg *msg = NULL;
        uint32_t transport_ms = exchange_ms(give_up, deadline_ms);
        int rv = transport_ms ? exchange(c, envelope, len, &msg, transport_ms) : NNG_ETIMEDOUT;
        if (rv != 0)
            code = transport_error(c, rv, timeout_ms, request_id, err);
        else
            code = decode_reply(msg, response_type, response, request_id, err);
        if (msg)
            nng_msg_free(msg);
        int64_t retry_at = now_ms() + pause_ms;
        if (code != STATUS_UNAVAILABLE || retry_at >= give_up || retry_at >= deadline_ms)
            break;
        sleep_ms(pause_ms);
        pause_ms = pause_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pause_ms * 2;
    }
    free(envelope);
    if (ignored)
        protobuf_c_message_free_unpacked(ignored, NULL);
    return code;
}
