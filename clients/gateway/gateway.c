/* gateway.c: clinic-gateway's HTTP side (gateway.h), on libmicrohttpd. A request's body is
 * gathered (up to the configured limit), its path names the method (common/services.c), its
 * Content-Type the codec; the call goes to clinicd through libclinic, which retries a daemon
 * that went away with the same idempotency key; the reply or Connect's error goes back. Each
 * connection has its own thread (the call blocks it until clinicd answers or the deadline
 * passes), and how many there may be at once, in all and per address, is bounded. */
#include "gateway.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "address_limit.h"
#include "calendar.h"
#include "connect.h"
#include "methods.h"
#include "services.h"
#include "status.h"
#include "web.h"

/* Idle keep-alive connections are closed after this long. */
#define CONNECTION_TIMEOUT_S 30
/* Addresses whose login tries are counted at once (past that the oldest minute is forgotten). */
#define LOGIN_ADDRESSES 4096

struct gateway {
    struct MHD_Daemon *daemon;
    clinic_client *client;
    struct gateway_config config;
    struct address_limit *logins; /* NULL: no limit per address */
    struct web_files *page;       /* the booking page, or NULL */
    uint16_t port;
};

/* One request's body, gathered as it arrives. */
struct request {
    char *body;
    size_t len;
    bool too_large;
};

/* ------------------------------------------------------------------ responses */

/* Headers every answer carries: an API reply is personal data, never cached, never framed,
 * never sniffed into something else. */
static void add_security_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
}

/* The request's Origin when it is one the configuration allows, else NULL (CORS stays closed). */
static const char *allowed_origin(const struct gateway *g, struct MHD_Connection *conn)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    for (size_t i = 0; origin && i < g->config.n_origins; i++)
        if (strcmp(origin, g->config.origins[i]) == 0)
            return origin;
    return NULL;
}

static void add_cors_headers(const struct gateway *g, struct MHD_Connection *conn,
                             struct MHD_Response *r)
{
    const char *origin = allowed_origin(g, conn);
    if (!origin)
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Vary", "Origin");
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Connect-Protocol-Version");
}

/* A header only some answers carry (Retry-After). */
struct extra_header {
    const char *name, *value;
};

/* Queues body (malloc'd, taken over; NULL sends none) with status, content type and, when extra
 * is not NULL, one more header. */
static enum MHD_Result send_body(const struct gateway *g, struct MHD_Connection *conn,
                                 unsigned status, const char *content_type, char *body, size_t len,
                                 const struct extra_header *extra)
{
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(r, "Content-Type", content_type);
    add_security_headers(r);
    add_cors_headers(g, conn, r);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && !(extra && strcmp(extra->name, "Allow") == 0))
        MHD_add_response_header(r, "Allow", "POST, OPTIONS");
    if (status == MHD_HTTP_UNSUPPORTED_MEDIA_TYPE)
        MHD_add_response_header(r, "Accept-Post", "application/json, application/proto");
    if (extra)
        MHD_add_response_header(r, extra->name, extra->value);
    enum MHD_Result queued = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return queued;
}

/* Connect's error for err, with the HTTP status of Connect's table unless http_status says
 * otherwise (0: the table's). */
static enum MHD_Result send_error(const struct gateway *g, struct MHD_Connection *conn,
                                  unsigned http_status, const struct clinic_error *err,
                                  const struct extra_header *extra)
{
    char *body = connect_error_json(err);
    if (!body)
        body = strdup("{\"code\":\"internal\",\"message\":\"the gateway is out of memory\"}");
    return send_body(g, conn, http_status ? http_status : connect_http_status(err->code),
                     "application/json", body, body ? strlen(body) : 0, extra);
}

static enum MHD_Result refuse(const struct gateway *g, struct MHD_Connection *conn,
                              unsigned http_status, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A refusal by the gateway itself, in the caller's words. */
static enum MHD_Result refuse(const struct gateway *g, struct MHD_Connection *conn,
                              unsigned http_status, int code, const char *fmt, ...)
{
    struct clinic_error err = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.message, sizeof err.message, fmt, ap);
    va_end(ap);
    return send_error(g, conn, http_status, &err, NULL);
}

/* ------------------------------------------------------------------ the call */

/* The token of "Authorization: Bearer TOKEN", or "" (the call goes without one). */
static const char *bearer_token(struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return "";
    auth += 7;
    while (*auth == ' ')
        auth++;
    return auth;
}

/* The request's message, from the body in codec; NULL after a sentence in why. An empty body is
 * the empty message, as Connect clients send for a request with nothing set. */
static ProtobufCMessage *decode_request(const ProtobufCMessageDescriptor *type,
                                        enum connect_codec codec, const struct request *r,
                                        char *why, size_t why_len)
{
    static const char empty_json[] = "{}";
    if (codec == CONNECT_CODEC_JSON)
        return r->len ? clinic_message_from_json(type, r->body, r->len, why, why_len)
                      : clinic_message_from_json(type, empty_json, 2, why, why_len);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(type, NULL, r->len, (const uint8_t *)(r->len ? r->body : ""));
    if (!m)
        snprintf(why, why_len, "the body is not a valid %s in binary protobuf", type->name);
    return m;
}

/* The reply in codec (malloc'd, *len bytes); NULL when out of memory. */
static char *encode_reply(const ProtobufCMessage *m, enum connect_codec codec, size_t *len)
{
    if (codec == CONNECT_CODEC_JSON) {
        char *json = clinic_message_to_json_named(m, CLINIC_JSON_CAMEL_NAMES);
        *len = json ? strlen(json) : 0;
        return json;
    }
    *len = protobuf_c_message_get_packed_size(m);
    char *buf = malloc(*len ? *len : 1);
    if (buf)
        protobuf_c_message_pack(m, (uint8_t *)buf);
    return buf;
}

/* The call's options from its headers: deadline, token, idempotency key. False after a refusal
 * was queued into *queued. */
static bool call_options(const struct gateway *g, struct MHD_Connection *conn, const char *path,
                         struct clinic_call_options *opts, enum MHD_Result *queued)
{
    const char *timeout = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connect-Timeout-Ms");
    const char *version =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connect-Protocol-Version");
    *opts = (struct clinic_call_options){.timeout_ms = GATEWAY_DEFAULT_TIMEOUT_MS};
    if (version && strcmp(version, "1") != 0) {
        *queued = refuse(
            g, conn, 0, STATUS_INVALID_ARGUMENT,
            "Connect-Protocol-Version \"%.20s\" is not one this gateway speaks; send 1", version);
        return false;
    }
    if (timeout && !connect_parse_timeout(timeout, &opts->timeout_ms)) {
        *queued = refuse(g, conn, 0, STATUS_INVALID_ARGUMENT,
                         "Connect-Timeout-Ms must be a whole number of milliseconds from 1, "
                         "at most 10 digits");
        return false;
    }
    if (opts->timeout_ms > GATEWAY_MAX_TIMEOUT_MS)
        opts->timeout_ms = GATEWAY_MAX_TIMEOUT_MS;
    opts->token = bearer_token(conn);
    opts->mutating = method_takes_idempotency_key(method_rule_for(path));
    if (opts->mutating)
        opts->idempotency_key =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    return true;
}

/* The caller's network address as text ("192.0.2.7", "2001:db8::1"), or "" when unknown. */
static void client_address(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

/* For a call that carries a password: false, with a 429 queued into *queued, when the caller's
 * address has used its tries of this minute. */
static bool within_login_limit(struct gateway *g, struct MHD_Connection *conn, const char *path,
                               enum MHD_Result *queued)
{
    const struct method_rule *rule = method_rule_for(path);
    if (!g->logins || !rule || !(rule->flags & METHOD_SECRET_INPUT))
        return true;
    char address[64];
    client_address(conn, address, sizeof address);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned retry_after = 0;
    if (address_limit_allow(g->logins, address, (int64_t)now.tv_sec, &retry_after))
        return true;
    struct clinic_error err = {.code = STATUS_RESOURCE_EXHAUSTED};
    snprintf(err.message, sizeof err.message,
             "too many login attempts from your address; try again in %u seconds", retry_after);
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%u", retry_after);
    const struct extra_header header = {"Retry-After", seconds};
    *queued = send_error(g, conn, 0, &err, &header);
    return false;
}

/* Decodes, forwards and answers a POST to a method's path. */
static enum MHD_Result forward(struct gateway *g, struct MHD_Connection *conn, const char *path,
                               const ProtobufCMethodDescriptor *method, const struct request *r)
{
    enum connect_codec codec = connect_codec_for(
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE));
    if (codec == CONNECT_CODEC_UNKNOWN)
        return refuse(g, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, STATUS_INVALID_ARGUMENT,
                      "send the request as application/json or application/proto");
    if (r->too_large)
        return refuse(g, conn, MHD_HTTP_CONTENT_TOO_LARGE, STATUS_RESOURCE_EXHAUSTED,
                      "the request body is over %zu bytes; send less per call",
                      g->config.max_body_bytes);
    struct clinic_call_options opts;
    enum MHD_Result queued;
    if (!call_options(g, conn, path, &opts, &queued) || !within_login_limit(g, conn, path, &queued))
        return queued;
    struct clinic_error err = {0};
    ProtobufCMessage *input =
        decode_request(method->input, codec, r, err.message, sizeof err.message);
    if (!input)
        return refuse(g, conn, 0, STATUS_INVALID_ARGUMENT, "%s", err.message);
    ProtobufCMessage *output = NULL;
    int code = clinic_call(g->client, path, input, method->output, &output, &opts, &err);
    protobuf_c_message_free_unpacked(input, NULL);
    if (code != STATUS_OK)
        return send_error(g, conn, 0, &err, NULL);
    size_t len;
    char *body = encode_reply(output, codec, &len);
    protobuf_c_message_free_unpacked(output, NULL);
    if (!body)
        return refuse(g, conn, 0, STATUS_RESOURCE_EXHAUSTED, "the gateway is out of memory");
    return send_body(g, conn, MHD_HTTP_OK, connect_content_type(codec), body, len, NULL);
}

/* The page's own rules for the browser: its scripts, styles and calls come from here only. */
#define PAGE_POLICY                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

/* A file of the booking page (GET or HEAD). */
static enum MHD_Result send_page_file(struct MHD_Connection *conn, const struct web_file *f)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", f->content_type);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", PAGE_POLICY);
    enum MHD_Result queued = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return queued;
}

/* A calendar feed (GET /calendar/KIND/ID.ics?key=KEY), forwarded with no token: the key opens
 * it. Calendar apps show a refusal's status line at best, so its sentence is plain text. */
static enum MHD_Result send_feed(struct gateway *g, struct MHD_Connection *conn,
                                 Clinic__V1__FeedKind kind, int64_t owner_id)
{
    const char *key = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "key");
    Clinic__V1__FeedRequest req = CLINIC__V1__FEED_REQUEST__INIT;
    req.kind = kind;
    req.owner_id = owner_id;
    req.key = (char *)(key ? key : "");
    struct clinic_call_options opts = {.timeout_ms = GATEWAY_DEFAULT_TIMEOUT_MS, .token = ""};
    ProtobufCMessage *feed = NULL;
    struct clinic_error err = {0};
    int code = clinic_call(g->client, "/clinic.v1.Calendar/Feed", &req.base,
                           &clinic__v1__calendar_feed__descriptor, &feed, &opts, &err);
    char *body;
    size_t len = 0;
    if (code != STATUS_OK) {
        size_t size = strlen(err.message) + 2;
        if ((body = malloc(size)))
            len = (size_t)snprintf(body, size, "%s\n", err.message);
        return send_body(g, conn, connect_http_status(code), "text/plain; charset=utf-8", body, len,
                         NULL);
    }
    body = calendar_render((const Clinic__V1__CalendarFeed *)feed, &len);
    protobuf_c_message_free_unpacked(feed, NULL);
    if (!body)
        return refuse(g, conn, 0, STATUS_RESOURCE_EXHAUSTED, "the gateway is out of memory");
    return send_body(g, conn, MHD_HTTP_OK, "text/calendar; charset=utf-8", body, len, NULL);
}

static enum MHD_Result refuse_feed_method(struct gateway *g, struct MHD_Connection *conn)
{
    const struct clinic_error err = {.code = STATUS_UNIMPLEMENTED,
                                     .message = "a calendar feed is read with GET"};
    const struct extra_header allow = {"Allow", "GET, HEAD"};
    return send_error(g, conn, MHD_HTTP_METHOD_NOT_ALLOWED, &err, &allow);
}

/* A CORS preflight: allowed for a configured origin only. */
static enum MHD_Result preflight(struct gateway *g, struct MHD_Connection *conn)
{
    if (!allowed_origin(g, conn))
        return send_body(g, conn, MHD_HTTP_FORBIDDEN, NULL, NULL, 0, NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_security_headers(r);
    add_cors_headers(g, conn, r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Content-Type, Authorization, Connect-Protocol-Version, "
                            "Connect-Timeout-Ms, Idempotency-Key");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    enum MHD_Result queued = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return queued;
}

/* ------------------------------------------------------------------ libmicrohttpd's callbacks */

/* Appends a piece of the body, or marks the request too large (and drops what it held). */
static void gather(const struct gateway *g, struct request *r, const char *data, size_t n)
{
    if (r->too_large)
        return;
    if (r->len + n > g->config.max_body_bytes) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->len = 0;
        return;
    }
    char *grown = realloc(r->body, r->len + n);
    if (!grown) {
        r->too_large = true; /* refused as too large: nothing more useful to say */
        return;
    }
    memcpy(grown + r->len, data, n);
    r->body = grown;
    r->len += n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *http_method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)version;
    struct gateway *g = cls;
    struct request *r = *state;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *state = r;
        return MHD_YES;
    }
    if (*upload_size) {
        gather(g, r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(http_method, "OPTIONS") == 0)
        return preflight(g, conn);
    bool reading = strcmp(http_method, "GET") == 0 || strcmp(http_method, "HEAD") == 0;
    Clinic__V1__FeedKind kind;
    int64_t owner_id;
    if (calendar_feed_path(url, &kind, &owner_id))
        return reading ? send_feed(g, conn, kind, owner_id) : refuse_feed_method(g, conn);
    const struct web_file *file = web_find(g->page, url);
    if (file && reading)
        return send_page_file(conn, file);
    const ProtobufCMethodDescriptor *method = clinic_method_by_path(url);
    if (!method)
        return refuse(g, conn, MHD_HTTP_NOT_FOUND, STATUS_UNIMPLEMENTED,
                      "no method at %.100s; /clinic.v1.Reflection/ListMethods lists them", url);
    if (strcmp(http_method, "POST") != 0)
        return refuse(g, conn, MHD_HTTP_METHOD_NOT_ALLOWED, STATUS_UNIMPLEMENTED,
                      "call %.100s with POST", url);
    return forward(g, conn, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    struct request *r = *state;
    if (r) {
        free(r->body);
        free(r);
        *state = NULL;
    }
}

/* ------------------------------------------------------------------ start and stop */

/* "HOST:PORT" or "[HOST]:PORT" into a numeric socket address. */
static bool parse_listen(const char *listen, struct sockaddr_storage *addr, char *why,
                         size_t why_len)
{
    char host[128];
    const char *port;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(end - listen - 1), listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host)
            goto bad;
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;
    if (getaddrinfo(host, port, &hints, &found) != 0 || !found)
        goto bad;
    memcpy(addr, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    return true;
bad:
    snprintf(why, why_len,
             "--listen \"%.100s\" is not an address and port such as 127.0.0.1:7480 or [::1]:7480",
             listen);
    return false;
}

struct gateway *gateway_start(const struct gateway_config *config, clinic_client *client, char *why,
                              size_t why_len)
{
    struct sockaddr_storage addr = {0};
    if (!parse_listen(config->listen, &addr, why, why_len))
        return NULL;
    struct gateway *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    g->client = client;
    g->config = *config;
    calendar_init();
    if (config->web_root && !(g->page = web_load(config->web_root, why, why_len))) {
        free(g);
        return NULL;
    }
    if (config->logins_per_minute &&
        !(g->logins = address_limit_new(config->logins_per_minute, LOGIN_ADDRESSES))) {
        snprintf(why, why_len, "out of memory");
        web_free(g->page);
        free(g);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    g->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, g, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, config->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        config->per_address_max, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, g, MHD_OPTION_END);
    if (!g->daemon) {
        snprintf(why, why_len, "cannot listen on %s (in use, or not an address of this machine)",
                 config->listen);
        address_limit_free(g->logins);
        web_free(g->page);
        free(g);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(g->daemon, MHD_DAEMON_INFO_BIND_PORT);
    g->port = info ? info->port : 0;
    return g;
}

uint16_t gateway_port(const struct gateway *g)
{
    return g->port;
}

void gateway_stop(struct gateway *g)
{
    if (!g)
        return;
    MHD_stop_daemon(g->daemon);
    address_limit_free(g->logins);
    web_free(g->page);
    free(g);
}
