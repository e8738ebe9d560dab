/* rpc_overhead.c: what clinicd's RPC path costs. Health/Check round trips per second and p50/p99
 * latency against a running clinicd, side by side with a plain nng REQ/REP echo of the same
 * request size served inside this process, at each caller count, and the ratio of the two.
 *
 * DESIGN: the two paths are measured the same way, one after the other, in the same run, by
 * bench_common.h's runner (connect and warm up, a gate, a common deadline, nearest-rank p50/p99):
 *   - N caller threads, each with its own connection. On the clinicd path every thread owns its
 *     own libclinic client (clinic_connect) although libclinic is thread-safe, so that the daemon
 *     sees N peers the way it sees N command-line users or N front-desk processes, and so that
 *     the echo path (one REQ socket per thread) has exactly the same shape.
 *   - The echo server is a REP socket on tcp://127.0.0.1:<port chosen by the kernel> served by N
 *     worker threads, each with an nng_ctx and an nng_aio without callback, like the daemon's
 *     pool. It runs only while its own figures are taken, so it steals no CPU from clinicd's.
 *   - The echo request has the byte size of the RpcRequest envelope libclinic sends for a
 *     Health/Check (same method, a 32-hex request id, an empty payload, the same deadline_ms),
 *     and the reply repeats it. The echo client uses plain nng_sendmsg/nng_recvmsg, so the ratio
 *     prices everything clinicd adds: libclinic (context per call, envelope, request id),
 *     decoding and dispatch in the daemon and its log call. Health/Check answers from what the
 *     daemon's connections last heard from PostgreSQL, asking it (SELECT 1) only when that news
 *     is over a second old: about once a second here.
 * Every loop is bounded by the deadline (and each call by CALL_TIMEOUT_MS); every thread is
 * joined and everything allocated is freed, so the program runs clean under AddressSanitizer. */
#define BENCH_PROG "rpc_overhead"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdatomic.h>

#include "bench_common.h"
#include "clinic.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"
#include "status.h"

#define HEALTH_METHOD   "/clinic.v1.Health/Check"
#define DEFAULT_SECONDS 3
#define DEFAULT_CALLERS "1,16"
#define MAX_CALLERS     1024
/* Each call's time budget. libclinic sends it as deadline_ms, so the echo request carries the
 * same value to have the same size. */
#define CALL_TIMEOUT_MS        5000
#define WARMUP_CALLS           20
#define ECHO_RECV_POLL_MS      200
#define ECHO_RESEND_MS         (24 * 3600 * 1000)
#define ECHO_MAX_MESSAGE_BYTES (1024 * 1024)

enum path { PATH_CLINICD, PATH_ECHO };

static const char *const path_names[] = {"clinicd Health", "nng echo"};

struct options {
    const char *url;
    long seconds;
    long callers[BENCH_MAX_LIST];
    int n_callers;
};

/* The request bytes: the envelope libclinic would send for a Health/Check. */
struct request {
    uint8_t *bytes;
    size_t len;
};

/* What every caller of one measurement shares: one path at one caller count. */
struct measurement {
    enum path path;
    const char *url;
    const struct request *request;
};

/* One caller's connection: a libclinic client, or a REQ socket dialled to the echo. */
struct connection {
    clinic_client *client;
    nng_socket sock;
    bool sock_open;
};

struct echo_worker {
    struct echo_server *server;
    pthread_t thread;
    bool started;
    nng_ctx ctx;
    nng_aio *aio;
};

struct echo_server {
    nng_socket sock;
    bool sock_open;
    struct echo_worker *workers;
    int n_workers;
    atomic_bool stopping;
    char url[64];
};

/* --- command line --- */

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: rpc_overhead [--url URL] [--seconds S] [--callers LIST]\n\n"
            "Measures Health/Check round trips per second and p50/p99 latency against a running\n"
            "clinicd, next to a plain nng REQ/REP echo of the same message size served in this\n"
            "process, and prints the ratio.\n\n"
            "  --url URL       the daemon (default %s)\n"
            "  --seconds S     length of each measurement, 1 to %d (default %d)\n"
            "  --callers LIST  comma-separated concurrent caller counts, each 1 to %d\n"
            "                  (default %s)\n",
            CLINIC_DEFAULT_URL, BENCH_MAX_SECONDS, DEFAULT_SECONDS, MAX_CALLERS, DEFAULT_CALLERS);
}

/* Fills opt from argv. Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    opt->url = CLINIC_DEFAULT_URL;
    opt->seconds = DEFAULT_SECONDS;
    if (!bench_parse_list(DEFAULT_CALLERS, 1, MAX_CALLERS, opt->callers, &opt->n_callers))
        abort();
    for (int i = 1; i < argc; i++) {
        const char *v;
        int taken = bench_take_common(argc, argv, &i, &opt->url, NULL, &opt->seconds, print_usage);
        if (taken != BENCH_OPTION_NOT_MINE) {
            if (taken != BENCH_OPTION_TAKEN)
                return taken;
        } else if (bench_take_option(argc, argv, &i, "--callers", &v)) {
            if (!v || !bench_parse_list(v, 1, MAX_CALLERS, opt->callers, &opt->n_callers))
                return bench_usage_error(print_usage,
                                         "--callers must be up to %d comma-separated whole numbers "
                                         "from 1 to %d, e.g. %s",
                                         BENCH_MAX_LIST, MAX_CALLERS, DEFAULT_CALLERS);
        } else {
            return bench_usage_error(print_usage, "unknown argument \"%s\"", argv[i]);
        }
    }
    return -1;
}

/* --- the machine and the command line, for the header --- */

static void print_header(int argc, char **argv, const struct options *opt,
                         const struct request *req, size_t reply_len)
{
    bench_print_machine(argc, argv);
    printf("# %ld s per measurement after %d warm-up calls per caller; one connection per "
           "caller; request %zu bytes (RpcRequest for %s), clinicd reply %zu bytes, echo reply "
           "%zu bytes\n",
           opt->seconds, WARMUP_CALLS, req->len, HEALTH_METHOD, reply_len, req->len);
}

/* --- the request envelope --- */

/* Packs the RpcRequest libclinic sends for a Health/Check with CALL_TIMEOUT_MS: method, an empty
 * HealthCheckRequest as payload, a 32-hex request id, no token, deadline_ms, no idempotency key
 * (Health/Check is not mutating). False when out of memory. */
static bool request_build(struct request *req)
{
    Clinic__V1__HealthCheckRequest check = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    uint8_t payload[16];
    size_t payload_len = clinic__v1__health_check_request__get_packed_size(&check);
    if (payload_len > sizeof payload)
        abort();
    clinic__v1__health_check_request__pack(&check, payload);

    char request_id[33];
    clinic_random_id(request_id);
    Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
    env.method = HEALTH_METHOD;
    env.payload.data = payload;
    env.payload.len = payload_len;
    env.request_id = request_id;
    env.deadline_ms = CALL_TIMEOUT_MS;
    req->len = clinic__v1__rpc_request__get_packed_size(&env);
    req->bytes = malloc(req->len);
    if (!req->bytes)
        return false;
    clinic__v1__rpc_request__pack(&env, req->bytes);
    return true;
}

/* --- the daemon must be there before anything is measured --- */

/* Sends the envelope once and checks that clinicd answers OK and SERVING; on success stores the
 * reply's size. Otherwise prints why to stderr and returns false. */
static bool probe_daemon(const char *url, const struct request *req, size_t *reply_len)
{
    struct clinic_error err;
    clinic_client *client = clinic_connect(url, CALL_TIMEOUT_MS, &err);
    if (!client) {
        fprintf(stderr, "rpc_overhead: %s\n", err.message); /* names the URL and what to check */
        return false;
    }
    bool ok = false;
    void *reply = NULL;
    size_t len = 0;
    Clinic__V1__RpcResponse *resp = NULL;
    Clinic__V1__HealthCheckResponse *health = NULL;
    int code = clinic_call_raw(client, req->bytes, req->len, &reply, &len, CALL_TIMEOUT_MS, &err);
    if (code != STATUS_OK) {
        fprintf(stderr, "rpc_overhead: clinicd at %s did not answer a Health/Check: %s\n", url,
                err.message);
        goto done;
    }
    resp = clinic__v1__rpc_response__unpack(NULL, len, reply);
    if (!resp || !resp->status) {
        fprintf(stderr, "rpc_overhead: the peer at %s is not clinicd: no RpcResponse came back\n",
                url);
        goto done;
    }
    if (resp->status->code != STATUS_OK) {
        fprintf(stderr, "rpc_overhead: clinicd at %s answered %s with %s: %s\n", url, HEALTH_METHOD,
                status_code_name(resp->status->code), resp->status->message);
        goto done;
    }
    health = clinic__v1__health_check_response__unpack(NULL, resp->payload.len, resp->payload.data);
    if (!health || health->status != CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
        fprintf(stderr, "rpc_overhead: clinicd at %s is up but not SERVING: is its database up?\n",
                url);
        goto done;
    }
    *reply_len = len;
    ok = true;
done:
    if (health)
        clinic__v1__health_check_response__free_unpacked(health, NULL);
    if (resp)
        clinic__v1__rpc_response__free_unpacked(resp, NULL);
    free(reply);
    clinic_close(client);
    return ok;
}

/* --- the in-process echo server --- */

/* One worker: receive on its context, send the same message back, until the server stops. */
static void *echo_worker_main(void *arg)
{
    struct echo_worker *w = arg;
    while (!atomic_load(&w->server->stopping)) {
        nng_aio_set_timeout(w->aio, ECHO_RECV_POLL_MS);
        nng_ctx_recv(w->ctx, w->aio);
        nng_aio_wait(w->aio);
        int rv = nng_aio_result(w->aio);
        if (rv == NNG_ECLOSED)
            break;
        if (rv != 0)
            continue; /* a poll timeout, or a peer that went away */
        nng_msg *msg = nng_aio_get_msg(w->aio);
        nng_aio_set_msg(w->aio, msg);
        nng_aio_set_timeout(w->aio, CALL_TIMEOUT_MS);
        nng_ctx_send(w->ctx, w->aio);
        nng_aio_wait(w->aio);
        if (nng_aio_result(w->aio) != 0)
            nng_msg_free(msg); /* a failed send leaves the message ours */
    }
    return NULL;
}

/* Joins the workers (each returns after its current receive), frees their aios and only then
 * closes the socket: the order daemon/pool.c keeps, for the nng 1.5.2 reason given there. */
static void echo_stop(struct echo_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, true);
    for (int i = 0; i < srv->n_workers && srv->workers; i++) {
        struct echo_worker *w = &srv->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->aio)
            nng_aio_free(w->aio);
    }
    if (srv->sock_open)
        nng_close(srv->sock);
    free(srv->workers);
    free(srv);
}

/* Starts a REP echo server with n_workers workers on a loopback port the kernel picks; its URL
 * is in ->url. NULL (after a sentence on stderr) on failure. */
static struct echo_server *echo_start(int n_workers)
{
    struct echo_server *srv = calloc(1, sizeof *srv);
    nng_listener listener;
    int port = 0;
    int rv;
    if (!srv || !(srv->workers = calloc((size_t)n_workers, sizeof *srv->workers))) {
        fprintf(stderr, "rpc_overhead: out of memory starting the echo server\n");
        goto fail;
    }
    srv->n_workers = n_workers;
    if ((rv = nng_rep0_open(&srv->sock)) != 0)
        goto nng_fail;
    srv->sock_open = true;
    if ((rv = nng_listener_create(&listener, srv->sock, "tcp://127.0.0.1:0")) != 0)
        goto nng_fail;
    /* nng 1.5.2 allocates whatever a peer's frame header claims unless a limit is set. */
    nng_listener_set_size(listener, NNG_OPT_RECVMAXSZ, ECHO_MAX_MESSAGE_BYTES);
    if ((rv = nng_listener_start(listener, 0)) != 0 ||
        (rv = nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port)) != 0)
        goto nng_fail;
    snprintf(srv->url, sizeof srv->url, "tcp://127.0.0.1:%d", port);
    for (int i = 0; i < n_workers; i++) {
        struct echo_worker *w = &srv->workers[i];
        w->server = srv;
        if ((rv = nng_ctx_open(&w->ctx, srv->sock)) != 0 ||
            (rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0)
            goto nng_fail;
        if (pthread_create(&w->thread, NULL, echo_worker_main, w) != 0) {
            fprintf(stderr, "rpc_overhead: cannot start echo worker thread %d\n", i + 1);
            goto fail;
        }
        w->started = true;
    }
    return srv;
nng_fail:
    fprintf(stderr, "rpc_overhead: cannot start the echo server: %s\n", nng_strerror(rv));
fail:
    echo_stop(srv);
    return NULL;
}

/* --- callers (plugged into bench_common.h's runner) --- */

/* Opens this caller's connection: a libclinic client, or a REQ socket dialled to the echo. */
static bool caller_open(struct bench_caller *c)
{
    const struct measurement *m = c->shared;
    struct connection *conn = calloc(1, sizeof *conn);
    if (!conn) {
        bench_caller_note_error(c, "out of memory");
        return false;
    }
    c->own = conn;
    if (m->path == PATH_CLINICD) {
        struct clinic_error err;
        conn->client = clinic_connect(m->url, CALL_TIMEOUT_MS, &err);
        if (!conn->client)
            bench_caller_note_error(c, "%s", err.message);
        return conn->client != NULL;
    }
    int rv = nng_req0_open(&conn->sock);
    if (rv == 0) {
        conn->sock_open = true;
        /* As libclinic does: no timer-driven resend, the timeouts bound each call instead. */
        nng_socket_set_ms(conn->sock, NNG_OPT_REQ_RESENDTIME, ECHO_RESEND_MS);
        nng_socket_set_ms(conn->sock, NNG_OPT_SENDTIMEO, CALL_TIMEOUT_MS);
        nng_socket_set_ms(conn->sock, NNG_OPT_RECVTIMEO, CALL_TIMEOUT_MS);
        nng_socket_set_size(conn->sock, NNG_OPT_RECVMAXSZ, ECHO_MAX_MESSAGE_BYTES);
        rv = nng_dial(conn->sock, m->url, NULL, 0);
    }
    if (rv != 0)
        bench_caller_note_error(c, "cannot connect to the echo server at %s: %s", m->url,
                                nng_strerror(rv));
    return rv == 0;
}

static void caller_close(struct bench_caller *c)
{
    struct connection *conn = c->own;
    if (!conn)
        return;
    clinic_close(conn->client);
    if (conn->sock_open)
        nng_close(conn->sock);
    free(conn);
    c->own = NULL;
}

/* One Health/Check through libclinic; true when the daemon answered OK and SERVING. */
static bool call_clinicd(struct bench_caller *c, struct connection *conn)
{
    Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    const struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS};
    ProtobufCMessage *resp = NULL;
    struct clinic_error err;
    int code = clinic_call(conn->client, HEALTH_METHOD, &req.base,
                           &clinic__v1__health_check_response__descriptor, &resp, &opts, &err);
    if (code != STATUS_OK) {
        bench_caller_note_error(c, "%s: %s", status_code_name(code), err.message);
        return false;
    }
    bool serving = ((Clinic__V1__HealthCheckResponse *)resp)->status ==
                   CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (!serving)
        bench_caller_note_error(c, "clinicd answered NOT_SERVING: its database did not answer");
    return serving;
}

/* One echo round trip; true when the same bytes came back. */
static bool call_echo(struct bench_caller *c, struct connection *conn)
{
    const struct request *req = ((const struct measurement *)c->shared)->request;
    nng_msg *msg = NULL;
    int rv = nng_msg_alloc(&msg, 0);
    if (rv == 0 && (rv = nng_msg_append(msg, req->bytes, req->len)) == 0 &&
        (rv = nng_sendmsg(conn->sock, msg, 0)) == 0) {
        msg = NULL; /* sent: nng owns it now */
        rv = nng_recvmsg(conn->sock, &msg, 0);
    }
    if (rv != 0) {
        if (msg)
            nng_msg_free(msg);
        bench_caller_note_error(c, "echo call failed: %s", nng_strerror(rv));
        return false;
    }
    bool same =
        nng_msg_len(msg) == req->len && memcmp(nng_msg_body(msg), req->bytes, req->len) == 0;
    nng_msg_free(msg);
    if (!same)
        bench_caller_note_error(c, "the echo server answered different bytes");
    return same;
}

static bool caller_call(struct bench_caller *c)
{
    const struct measurement *m = c->shared;
    return m->path == PATH_CLINICD ? call_clinicd(c, c->own) : call_echo(c, c->own);
}

static const struct bench_ops caller_ops = {
    .open = caller_open, .call = caller_call, .close = caller_close, .warmup_calls = WARMUP_CALLS};

/* --- output --- */

#define ROW_FORMAT "%-8s %-16s %10s %9s %9s %9s\n"

static void print_row(int callers, const char *path, const struct bench_result *r)
{
    char n[16], rate[32], p50[32], p99[32], failures[32];
    snprintf(n, sizeof n, "%d", callers);
    snprintf(rate, sizeof rate, "%.0f", r->calls_per_s);
    bench_format_us(p50, sizeof p50, r->calls, r->p50_us);
    bench_format_us(p99, sizeof p99, r->calls, r->p99_us);
    snprintf(failures, sizeof failures, "%llu", (unsigned long long)r->failures);
    printf(ROW_FORMAT, n, path, rate, p50, p99, failures);
}

static void format_ratio(char *out, size_t len, double a, double b)
{
    if (b > 0)
        snprintf(out, len, "%.2f", a / b);
    else
        snprintf(out, len, "-");
}

/* clinicd's figure over the echo's, column by column. */
static void print_ratio(int callers, const struct bench_result *rpc,
                        const struct bench_result *echo)
{
    char n[16], rate[32], p50[32], p99[32];
    snprintf(n, sizeof n, "%d", callers);
    format_ratio(rate, sizeof rate, rpc->calls_per_s, echo->calls_per_s);
    format_ratio(p50, sizeof p50, rpc->p50_us, echo->p50_us);
    format_ratio(p99, sizeof p99, rpc->p99_us, echo->p99_us);
    printf(ROW_FORMAT, n, "ratio", rate, p50, p99, "");
}

/* Measures both paths at n callers and prints their rows; false when either could not run. */
static bool compare_at(const struct options *opt, const struct request *req, int n,
                       uint64_t *failures)
{
    struct bench_result rpc, echo;
    struct measurement m = {.path = PATH_CLINICD, .url = opt->url, .request = req};
    if (!bench_measure(&caller_ops, &m, n, opt->seconds, &rpc))
        return false;

    struct echo_server *srv = echo_start(n);
    if (!srv)
        return false;
    m = (struct measurement){.path = PATH_ECHO, .url = srv->url, .request = req};
    bool ok = bench_measure(&caller_ops, &m, n, opt->seconds, &echo);
    echo_stop(srv);
    if (!ok)
        return false;

    print_row(n, path_names[PATH_CLINICD], &rpc);
    print_row(n, path_names[PATH_ECHO], &echo);
    print_ratio(n, &rpc, &echo);
    fflush(stdout);
    const struct bench_result *both[] = {&rpc, &echo};
    for (size_t i = 0; i < 2; i++) {
        if (both[i]->failures)
            fprintf(stderr, "rpc_overhead: %llu %s calls at %d callers failed; first: %s\n",
                    (unsigned long long)both[i]->failures, path_names[i], n, both[i]->error);
        else if (both[i]->error[0])
            fprintf(stderr, "rpc_overhead: %s at %d callers: %s\n", path_names[i], n,
                    both[i]->error);
        *failures += both[i]->failures;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct options opt;
    int status = parse_args(argc, argv, &opt);
    if (status >= 0)
        return status;

    struct request req = {0};
    size_t reply_len = 0;
    if (!request_build(&req)) {
        fprintf(stderr, "rpc_overhead: out of memory\n");
        return BENCH_EXIT_FAILED;
    }
    if (!probe_daemon(opt.url, &req, &reply_len)) {
        free(req.bytes);
        nng_fini();
        return BENCH_EXIT_FAILED;
    }

    print_header(argc, argv, &opt, &req, reply_len);
    printf(ROW_FORMAT, "callers", "path", "calls/s", "p50_us", "p99_us", "failures");
    uint64_t failures = 0;
    status = 0;
    for (int i = 0; i < opt.n_callers && status == 0; i++)
        if (!compare_at(&opt, &req, (int)opt.callers[i], &failures))
            status = BENCH_EXIT_FAILED;
    printf("# ratio = clinicd / nng echo: calls/s below 1 and latencies above 1 are the cost of "
           "libclinic, the envelope and dispatch (Health/Check asks PostgreSQL about once a "
           "second)\n");
    if (status == 0 && failures) {
        fprintf(stderr,
                "rpc_overhead: %llu calls failed; the figures above count only those "
                "that succeeded\n",
                (unsigned long long)failures);
        status = BENCH_EXIT_FAILED;
    }
    free(req.bytes);
    nng_fini();
    return status;
}
