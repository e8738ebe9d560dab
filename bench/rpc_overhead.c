/* rpc_overhead.c: what clinicd's RPC path costs. Health/Check round trips per second and p50/p99
 * latency against a running clinicd, side by side with a plain nng REQ/REP echo of the same
 * request size served inside this process, at each caller count, and the ratio of the two.
 *
 * DESIGN: the two paths are measured the same way, one after the other, in the same run:
 *   - N caller threads, each with its own connection. On the clinicd path every thread owns its
 *     own libclinic client (clinic_connect) although libclinic is thread-safe, so that the daemon
 *     sees N peers the way it sees N command-line users or N front-desk processes, and so that
 *     the echo path (one REQ socket per thread) has exactly the same shape.
 *   - Every thread connects and warms up first, then all wait at one gate; the clock starts when
 *     the gate opens. Each thread then calls in a loop until the common deadline, timing each call
 *     with CLOCK_MONOTONIC into its own array (no sharing while measuring). The arrays are merged
 *     afterwards for p50/p99 (nearest rank); calls/s is successful calls over the time from the
 *     gate to the last thread's last reply.
 *   - The echo server is a REP socket on tcp://127.0.0.1:<port chosen by the kernel> served by N
 *     worker threads, each with an nng_ctx and an nng_aio without callback, like the daemon's
 *     pool. It runs only while its own figures are taken, so it steals no CPU from clinicd's.
 *   - The echo request has the byte size of the RpcRequest envelope libclinic sends for a
 *     Health/Check (same method, a 32-hex request id, an empty payload, the same deadline_ms),
 *     and the reply repeats it. The echo client uses plain nng_sendmsg/nng_recvmsg, so the ratio
 *     prices everything clinicd adds: libclinic (context per call, envelope, request id),
 *     decoding and dispatch in the daemon, its log call, and the PostgreSQL round trip
 *     (SELECT 1) that Health/Check makes to know whether the database answers.
 * Every loop is bounded by the deadline (and each call by CALL_TIMEOUT_MS); every thread is
 * joined and everything allocated is freed, so the program runs clean under AddressSanitizer. */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "clinic.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/rpc.pb-c.h"
#include "status.h"

#define HEALTH_METHOD     "/clinic.v1.Health/Check"
#define DEFAULT_SECONDS   3
#define DEFAULT_CALLERS   "1,16"
#define MAX_SECONDS       3600
#define MAX_CALLERS       1024
#define MAX_CALLER_COUNTS 16
/* Each call's time budget. libclinic sends it as deadline_ms, so the echo request carries the
 * same value to have the same size. */
#define CALL_TIMEOUT_MS 5000
#define WARMUP_CALLS    20
/* A ceiling on one thread's samples (8 bytes each) far above what the deadline allows, so that a
 * surprisingly fast path cannot grow memory without bound. */
#define MAX_SAMPLES_PER_CALLER ((size_t)1 << 24)
#define ECHO_RECV_POLL_MS      200
#define ECHO_RESEND_MS         (24 * 3600 * 1000)
#define ECHO_MAX_MESSAGE_BYTES (1024 * 1024)

#define EXIT_FAILED 1
#define EXIT_USAGE  2

enum path { PATH_CLINICD, PATH_ECHO };

static const char *const path_names[] = {"clinicd Health", "nng echo"};

struct options {
    const char *url;
    long seconds;
    int callers[MAX_CALLER_COUNTS];
    int n_callers;
};

/* The request bytes: the envelope libclinic would send for a Health/Check. */
struct request {
    uint8_t *bytes;
    size_t len;
};

enum gate_state { GATE_WAITING, GATE_OPEN, GATE_CANCELLED };

/* One measurement: one path at one caller count. Callers arrive at the gate when connected and
 * warmed up; the main thread opens it (or cancels it when a caller could not start). */
struct measurement {
    enum path path;
    const char *url;
    const struct request *request;
    long seconds;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    enum gate_state state;
    int64_t start_ns;
    int64_t deadline_ns;
};

struct caller {
    struct measurement *m;
    pthread_t thread;
    bool ready; /* connected and warmed up */
    clinic_client *client;
    nng_socket sock;
    bool sock_open;
    uint64_t *latency_ns;
    size_t n_latency, cap_latency;
    uint64_t failures;
    int64_t end_ns;
    char error[320]; /* the first failure, as a sentence */
};

struct result {
    uint64_t calls;
    uint64_t failures;
    double calls_per_s;
    double p50_us, p99_us;
    char error[320];
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

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
            CLINIC_DEFAULT_URL, MAX_SECONDS, DEFAULT_SECONDS, MAX_CALLERS, DEFAULT_CALLERS);
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* "1,16" into opt->callers; false on anything else. */
static bool parse_callers(const char *text, struct options *opt)
{
    char list[256];
    if (snprintf(list, sizeof list, "%s", text) >= (int)sizeof list)
        return false;
    opt->n_callers = 0;
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        long n;
        if (opt->n_callers == MAX_CALLER_COUNTS || !parse_long(item, 1, MAX_CALLERS, &n))
            return false;
        opt->callers[opt->n_callers++] = (int)n;
    }
    return opt->n_callers > 0;
}

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; advances *i past what it used and sets
 * *value (NULL when the value is missing). */
static bool take_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] != '\0')
        return false;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rpc_overhead: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    print_usage(stderr);
    return EXIT_USAGE;
}

/* Fills opt from argv. Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    opt->url = CLINIC_DEFAULT_URL;
    opt->seconds = DEFAULT_SECONDS;
    if (!parse_callers(DEFAULT_CALLERS, opt))
        abort();
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return 0;
        } else if (take_option(argc, argv, &i, "--url", &v)) {
            if (!v || !*v)
                return usage_error("--url needs a value");
            opt->url = v;
        } else if (take_option(argc, argv, &i, "--seconds", &v)) {
            if (!v || !parse_long(v, 1, MAX_SECONDS, &opt->seconds))
                return usage_error("--seconds must be a whole number from 1 to %d", MAX_SECONDS);
        } else if (take_option(argc, argv, &i, "--callers", &v)) {
            if (!v || !parse_callers(v, opt))
                return usage_error("--callers must be up to %d comma-separated whole numbers "
                                   "from 1 to %d, e.g. %s",
                                   MAX_CALLER_COUNTS, MAX_CALLERS, DEFAULT_CALLERS);
        } else {
            return usage_error("unknown argument \"%s\"", argv[i]);
        }
    }
    return -1;
}

/* --- the machine and the command line, for the header --- */

static long cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* The first "model name" of /proc/cpuinfo, or "unknown CPU" (some architectures have none). */
static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", strlen("model name")) != 0)
            continue;
        const char *colon = strchr(line, ':');
        if (colon) {
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            snprintf(out, len, "%.*s", (int)strcspn(colon, "\n"), colon);
        }
        break;
    }
    fclose(f);
}

static void print_header(int argc, char **argv, const struct options *opt,
                         const struct request *req, size_t reply_len)
{
    char model[256];
    struct utsname uts;
    cpu_model(model, sizeof model);
    bool have_uts = uname(&uts) == 0;
    printf("# machine: %ld CPUs, %s, %s %s\n", cpus_available(), model,
           have_uts ? uts.sysname : "?", have_uts ? uts.release : "?");
    printf("# command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n# %ld s per measurement after %d warm-up calls per caller; one connection per "
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

/* One worker: receive on its context, send the same message back, until the socket closes. */
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

/* Closes the socket (waking every worker with NNG_ECLOSED), joins the workers, frees all. */
static void echo_stop(struct echo_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, true);
    if (srv->sock_open)
        nng_close(srv->sock);
    for (int i = 0; i < srv->n_workers && srv->workers; i++) {
        struct echo_worker *w = &srv->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->aio)
            nng_aio_free(w->aio);
    }
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

/* --- callers --- */

static void caller_note_error(struct caller *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first failure's sentence; later ones are only counted. */
static void caller_note_error(struct caller *c, const char *fmt, ...)
{
    if (c->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

/* Opens this caller's connection: a libclinic client, or a REQ socket dialled to the echo. */
static bool caller_connect(struct caller *c)
{
    const struct measurement *m = c->m;
    if (m->path == PATH_CLINICD) {
        struct clinic_error err;
        c->client = clinic_connect(m->url, CALL_TIMEOUT_MS, &err);
        if (!c->client)
            caller_note_error(c, "%s", err.message);
        return c->client != NULL;
    }
    int rv = nng_req0_open(&c->sock);
    if (rv == 0) {
        c->sock_open = true;
        /* As libclinic does: no timer-driven resend, the timeouts bound each call instead. */
        nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, ECHO_RESEND_MS);
        nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, CALL_TIMEOUT_MS);
        nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, CALL_TIMEOUT_MS);
        nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, ECHO_MAX_MESSAGE_BYTES);
        rv = nng_dial(c->sock, m->url, NULL, 0);
    }
    if (rv != 0)
        caller_note_error(c, "cannot connect to the echo server at %s: %s", m->url,
                          nng_strerror(rv));
    return rv == 0;
}

static void caller_disconnect(struct caller *c)
{
    clinic_close(c->client);
    c->client = NULL;
    if (c->sock_open)
        nng_close(c->sock);
    c->sock_open = false;
}

/* One Health/Check through libclinic; true when the daemon answered OK and SERVING. */
static bool call_clinicd(struct caller *c)
{
    Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    const struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS};
    ProtobufCMessage *resp = NULL;
    struct clinic_error err;
    int code = clinic_call(c->client, HEALTH_METHOD, &req.base,
                           &clinic__v1__health_check_response__descriptor, &resp, &opts, &err);
    if (code != STATUS_OK) {
        caller_note_error(c, "%s: %s", status_code_name(code), err.message);
        return false;
    }
    bool serving = ((Clinic__V1__HealthCheckResponse *)resp)->status ==
                   CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (!serving)
        caller_note_error(c, "clinicd answered NOT_SERVING: its database did not answer");
    return serving;
}

/* One echo round trip; true when the same bytes came back. */
static bool call_echo(struct caller *c)
{
    const struct request *req = c->m->request;
    nng_msg *msg = NULL;
    int rv = nng_msg_alloc(&msg, 0);
    if (rv == 0 && (rv = nng_msg_append(msg, req->bytes, req->len)) == 0 &&
        (rv = nng_sendmsg(c->sock, msg, 0)) == 0) {
        msg = NULL; /* sent: nng owns it now */
        rv = nng_recvmsg(c->sock, &msg, 0);
    }
    if (rv != 0) {
        if (msg)
            nng_msg_free(msg);
        caller_note_error(c, "echo call failed: %s", nng_strerror(rv));
        return false;
    }
    bool same =
        nng_msg_len(msg) == req->len && memcmp(nng_msg_body(msg), req->bytes, req->len) == 0;
    nng_msg_free(msg);
    if (!same)
        caller_note_error(c, "the echo server answered different bytes");
    return same;
}

static bool caller_call(struct caller *c)
{
    return c->m->path == PATH_CLINICD ? call_clinicd(c) : call_echo(c);
}

/* Appends one sample; false when out of memory or at the per-caller ceiling. */
static bool caller_record(struct caller *c, uint64_t ns)
{
    if (c->n_latency == c->cap_latency) {
        size_t cap = c->cap_latency ? c->cap_latency * 2 : 4096;
        if (cap > MAX_SAMPLES_PER_CALLER)
            cap = MAX_SAMPLES_PER_CALLER;
        uint64_t *grown = cap > c->cap_latency ? realloc(c->latency_ns, cap * sizeof *grown) : NULL;
        if (!grown) {
            caller_note_error(c, "stopped early: no room for more than %zu samples", c->n_latency);
            return false;
        }
        c->latency_ns = grown;
        c->cap_latency = cap;
    }
    c->latency_ns[c->n_latency++] = ns;
    return true;
}

/* Marks this caller arrived and waits for the main thread's verdict; true when the gate opened. */
static bool gate_arrive(struct measurement *m, struct caller *c, bool ready)
{
    pthread_mutex_lock(&m->mu);
    c->ready = ready;
    m->arrived++;
    pthread_cond_broadcast(&m->cv);
    while (m->state == GATE_WAITING)
        pthread_cond_wait(&m->cv, &m->mu);
    bool open = m->state == GATE_OPEN;
    pthread_mutex_unlock(&m->mu);
    return open;
}

static void *caller_main(void *arg)
{
    struct caller *c = arg;
    struct measurement *m = c->m;
    bool ready = caller_connect(c);
    /* Warm-up: first connections, lazily prepared statements and cold caches are not measured.
     * Its failures are not counted; a dead peer shows up in the measurement that follows. */
    for (int i = 0; ready && i < WARMUP_CALLS; i++)
        (void)caller_call(c);
    if (ready)
        c->error[0] = '\0';
    if (gate_arrive(m, c, ready)) {
        while (now_ns() < m->deadline_ns) {
            int64_t t0 = now_ns();
            bool ok = caller_call(c);
            int64_t t1 = now_ns();
            if (!ok)
                c->failures++;
            else if (!caller_record(c, (uint64_t)(t1 - t0)))
                break;
        }
    }
    c->end_ns = now_ns();
    caller_disconnect(c);
    return NULL;
}

/* --- one measurement --- */

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted[0..n), n > 0; permille 500 is the median. */
static double percentile_us(const uint64_t *sorted, size_t n, unsigned permille)
{
    size_t rank = (n * permille + 999) / 1000;
    if (rank < 1)
        rank = 1;
    return (double)sorted[rank - 1] / 1000.0;
}

/* Merges the callers' samples into r. False when out of memory. */
static bool summarise(const struct measurement *m, struct caller *callers, int n, struct result *r)
{
    size_t total = 0;
    int64_t end = m->start_ns;
    for (int i = 0; i < n; i++) {
        total += callers[i].n_latency;
        r->failures += callers[i].failures;
        if (callers[i].end_ns > end)
            end = callers[i].end_ns;
        if (!r->error[0] && callers[i].error[0])
            snprintf(r->error, sizeof r->error, "%s", callers[i].error);
    }
    r->calls = total;
    double seconds = (double)(end - m->start_ns) / 1e9;
    r->calls_per_s = seconds > 0 ? (double)total / seconds : 0;
    if (total == 0)
        return true;
    uint64_t *all = malloc(total * sizeof *all);
    if (!all)
        return false;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(all + at, callers[i].latency_ns, callers[i].n_latency * sizeof *all);
        at += callers[i].n_latency;
    }
    qsort(all, total, sizeof *all, compare_u64);
    r->p50_us = percentile_us(all, total, 500);
    r->p99_us = percentile_us(all, total, 990);
    free(all);
    return true;
}

/* Runs n callers on one path for m->seconds and fills r. False (after a sentence on stderr) when
 * the measurement could not run at all. */
static bool measure(struct measurement *m, int n, struct result *r)
{
    memset(r, 0, sizeof *r);
    struct caller *callers = calloc((size_t)n, sizeof *callers);
    if (!callers) {
        fprintf(stderr, "rpc_overhead: out of memory for %d callers\n", n);
        return false;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->arrived = 0;
    m->state = GATE_WAITING;
    int started = 0;
    for (; started < n; started++) {
        callers[started].m = m;
        if (pthread_create(&callers[started].thread, NULL, caller_main, &callers[started]) != 0)
            break;
    }

    /* Open the gate once every caller has arrived ready; otherwise cancel it. */
    pthread_mutex_lock(&m->mu);
    while (m->arrived < started)
        pthread_cond_wait(&m->cv, &m->mu);
    const struct caller *unready = NULL;
    for (int i = 0; i < started && !unready; i++)
        if (!callers[i].ready)
            unready = &callers[i];
    bool go = started == n && !unready;
    m->start_ns = now_ns();
    m->deadline_ns = m->start_ns + m->seconds * 1000000000;
    m->state = go ? GATE_OPEN : GATE_CANCELLED;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);

    for (int i = 0; i < started; i++)
        pthread_join(callers[i].thread, NULL);

    bool ok = go;
    if (started < n)
        fprintf(stderr, "rpc_overhead: cannot start caller thread %d of %d\n", started + 1, n);
    else if (unready)
        fprintf(stderr, "rpc_overhead: a %s caller could not start: %s\n", path_names[m->path],
                unready->error);
    else if (!summarise(m, callers, n, r)) {
        fprintf(stderr, "rpc_overhead: out of memory merging the samples\n");
        ok = false;
    }
    for (int i = 0; i < n; i++)
        free(callers[i].latency_ns);
    free(callers);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    return ok;
}

/* --- output --- */

#define ROW_FORMAT "%-8s %-16s %10s %9s %9s %9s\n"

/* A latency in microseconds, or "-" when there was no successful call to take it from. */
static void format_us(char *out, size_t len, uint64_t calls, double us)
{
    if (calls)
        snprintf(out, len, "%.1f", us);
    else
        snprintf(out, len, "-");
}

static void print_row(int callers, const char *path, const struct result *r)
{
    char n[16], rate[32], p50[32], p99[32], failures[32];
    snprintf(n, sizeof n, "%d", callers);
    snprintf(rate, sizeof rate, "%.0f", r->calls_per_s);
    format_us(p50, sizeof p50, r->calls, r->p50_us);
    format_us(p99, sizeof p99, r->calls, r->p99_us);
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
static void print_ratio(int callers, const struct result *rpc, const struct result *echo)
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
    struct result rpc, echo;
    struct measurement m = {
        .path = PATH_CLINICD, .url = opt->url, .request = req, .seconds = opt->seconds};
    if (!measure(&m, n, &rpc))
        return false;

    struct echo_server *srv = echo_start(n);
    if (!srv)
        return false;
    m = (struct measurement){
        .path = PATH_ECHO, .url = srv->url, .request = req, .seconds = opt->seconds};
    bool ok = measure(&m, n, &echo);
    echo_stop(srv);
    if (!ok)
        return false;

    print_row(n, path_names[PATH_CLINICD], &rpc);
    print_row(n, path_names[PATH_ECHO], &echo);
    print_ratio(n, &rpc, &echo);
    fflush(stdout);
    const struct result *both[] = {&rpc, &echo};
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
        return EXIT_FAILED;
    }
    if (!probe_daemon(opt.url, &req, &reply_len)) {
        free(req.bytes);
        nng_fini();
        return EXIT_FAILED;
    }

    print_header(argc, argv, &opt, &req, reply_len);
    printf(ROW_FORMAT, "callers", "path", "calls/s", "p50_us", "p99_us", "failures");
    uint64_t failures = 0;
    status = 0;
    for (int i = 0; i < opt.n_callers && status == 0; i++)
        if (!compare_at(&opt, &req, opt.callers[i], &failures))
            status = EXIT_FAILED;
    printf("# ratio = clinicd / nng echo: calls/s below 1 and latencies above 1 are the cost of "
           "libclinic, the envelope, dispatch and Health/Check's PostgreSQL round trip\n");
    if (status == 0 && failures) {
        fprintf(stderr,
                "rpc_overhead: %llu calls failed; the figures above count only those "
                "that succeeded\n",
                (unsigned long long)failures);
        status = EXIT_FAILED;
    }
    free(req.bytes);
    nng_fini();
    return status;
}
