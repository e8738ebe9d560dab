/* bench_common.h: what the benchmark programs share: the clock, command-line parsing, the
 * machine header, latency percentiles, a runner that drives N caller threads through a gate to
 * a common deadline, a first Health/Check, and the few libpq calls the programs make to set up
 * their data.
 *
 * Every bench/NAME.c is its own executable, so this is a header of static inline functions (inline
 * only so that a program that uses part of it compiles without unused-function warnings).
 * Define BENCH_PROG (the program's name, for messages) before including it.
 *
 * DESIGN of the runner (bench_measure): N threads, each with its own state and connection.
 * Every thread opens its connection and makes its warm-up calls first (first connections,
 * lazily prepared statements and cold caches are not measured), then all wait at one gate; the
 * clock starts when the gate opens. Each thread then calls in a loop until the common deadline,
 * timing each call with CLOCK_MONOTONIC into its own array (nothing shared while measuring).
 * The arrays are merged afterwards for p50/p99 (nearest rank); calls/s is successful calls over
 * the time from the gate to the last thread's last reply. Every loop is bounded by the deadline
 * and by a ceiling on samples; every thread is joined and everything allocated is freed. */
#ifndef CLINIC_BENCH_COMMON_H
#define CLINIC_BENCH_COMMON_H

#ifndef BENCH_PROG
#error "define BENCH_PROG (the program's name) before including bench_common.h"
#endif

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "clinic.h"
#include "clinic/v1/health.pb-c.h"
#include "status.h"

#define BENCH_EXIT_FAILED 1
#define BENCH_EXIT_USAGE  2
#define BENCH_MAX_SECONDS 3600
#define BENCH_MAX_LIST    16
#define BENCH_ERROR_LEN   320
/* A ceiling on one thread's samples (8 bytes each) far above what a deadline allows, so that a
 * surprisingly fast path cannot grow memory without bound. */
#define BENCH_MAX_SAMPLES_PER_CALLER ((size_t)1 << 24)

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double bench_seconds_since(int64_t start_ns)
{
    return (double)(bench_now_ns() - start_ns) / 1e9;
}

/* ------------------------------------------------------------------ command line */

static inline bool bench_parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* "1,4,16" into out[0..*n) (at most BENCH_MAX_LIST items, each min..max); false on anything
 * else, leaving *n unspecified. */
static inline bool bench_parse_list(const char *text, long min, long max, long out[BENCH_MAX_LIST],
                                    int *n)
{
    char list[256];
    if (snprintf(list, sizeof list, "%s", text) >= (int)sizeof list)
        return false;
    *n = 0;
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (*n == BENCH_MAX_LIST || !bench_parse_long(item, min, max, &out[*n]))
            return false;
        (*n)++;
    }
    return *n > 0;
}

static inline int bench_usage_error(void (*print_usage)(FILE *), const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "PROG: <sentence>" and the usage to stderr; returns BENCH_EXIT_USAGE. */
static inline int bench_usage_error(void (*print_usage)(FILE *), const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(BENCH_PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    print_usage(stderr);
    return BENCH_EXIT_USAGE;
}

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; advances *i past what it used and sets
 * *value (NULL when the value is missing). */
static inline bool bench_take_option(int argc, char **argv, int *i, const char *name,
                                     const char **value)
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

#define BENCH_OPTION_NOT_MINE -1 /* not a shared option: the program's own parser goes on */
#define BENCH_OPTION_TAKEN    -2 /* a shared option, stored */

/* The options every benchmark shares, at argv[*i]: --help, --url, --seconds and, when database
 * is not NULL, --database. Returns BENCH_OPTION_TAKEN, BENCH_OPTION_NOT_MINE, or the exit status
 * to end with (0 after --help, BENCH_EXIT_USAGE after a bad value). */
static inline int bench_take_common(int argc, char **argv, int *i, const char **url,
                                    const char **database, long *seconds,
                                    void (*print_usage)(FILE *))
{
    const char *v;
    if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (bench_take_option(argc, argv, i, "--url", &v)) {
        if (!v || !*v)
            return bench_usage_error(print_usage, "--url needs a value");
        *url = v;
        return BENCH_OPTION_TAKEN;
    }
    if (database && bench_take_option(argc, argv, i, "--database", &v)) {
        if (!v || !*v)
            return bench_usage_error(print_usage, "--database needs a value");
        *database = v;
        return BENCH_OPTION_TAKEN;
    }
    if (bench_take_option(argc, argv, i, "--seconds", &v)) {
        if (!v || !bench_parse_long(v, 1, BENCH_MAX_SECONDS, seconds))
            return bench_usage_error(print_usage, "--seconds must be a whole number from 1 to %d",
                                     BENCH_MAX_SECONDS);
        return BENCH_OPTION_TAKEN;
    }
    return BENCH_OPTION_NOT_MINE;
}

/* ------------------------------------------------------------------ the machine, for the header */

static inline long bench_cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* The first "model name" of /proc/cpuinfo, or "unknown CPU" (some architectures have none). */
static inline void bench_cpu_model(char *out, size_t len)
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

/* "# machine: …" and "# command: …", the first lines of every benchmark's output. */
static inline void bench_print_machine(int argc, char **argv)
{
    char model[256];
    struct utsname uts;
    bench_cpu_model(model, sizeof model);
    bool have_uts = uname(&uts) == 0;
    double load[3] = {0, 0, 0};
    bool have_load = getloadavg(load, 3) == 3;
    printf("# machine: %ld CPUs, %s, %s %s", bench_cpus_available(), model,
           have_uts ? uts.sysname : "?", have_uts ? uts.release : "?");
    if (have_load)
        printf(", load average %.2f", load[0]);
    printf("\n# command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
}

/* ------------------------------------------------------------------ percentiles */

static inline int bench_compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted[0..n), n > 0; permille 500 is the median. */
static inline double bench_percentile_us(const uint64_t *sorted, size_t n, unsigned permille)
{
    size_t rank = (n * permille + 999) / 1000;
    if (rank < 1)
        rank = 1;
    return (double)sorted[rank - 1] / 1000.0;
}

/* ------------------------------------------------------------------ the runner */

struct bench_caller;

/* What a program plugs into the runner. open and close run on the caller's own thread. */
struct bench_ops {
    /* Prepares caller c (its connection, its state in c->own). False, after
     * bench_caller_note_error, when it cannot: the measurement is then cancelled. */
    bool (*open)(struct bench_caller *c);
    /* One call, timed by the runner; true when it succeeded. When this caller has no more work
     * it sets c->done instead of calling: it then stops early, and that is not a failure. */
    bool (*call)(struct bench_caller *c);
    /* Frees what open made; also called after a failed open. May be NULL. */
    void (*close)(struct bench_caller *c);
    int warmup_calls;
};

enum bench_gate_state { BENCH_GATE_WAITING, BENCH_GATE_OPEN, BENCH_GATE_CANCELLED };

struct bench_gate {
    const struct bench_ops *ops;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    enum bench_gate_state state;
    int64_t start_ns;
    int64_t deadline_ns;
};

struct bench_caller {
    int index;    /* 0 .. callers - 1 */
    void *shared; /* what the program passed to bench_measure */
    void *own;    /* the program's per-caller state, set by open */
    bool done;    /* set by call: no more work */
    /* the runner's bookkeeping */
    struct bench_gate *gate;
    pthread_t thread;
    bool ready;
    uint64_t *latency_ns;
    size_t n_latency, cap_latency;
    uint64_t failures;
    int64_t end_ns;
    char error[BENCH_ERROR_LEN]; /* the first failure, as a sentence */
};

struct bench_result {
    uint64_t calls; /* successful ones */
    uint64_t failures;
    double seconds;
    double calls_per_s;
    double p50_us, p99_us, max_us;
    char error[BENCH_ERROR_LEN]; /* the first caller's first failure */
};

static inline void bench_caller_note_error(struct bench_caller *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first failure's sentence; later ones are only counted. */
static inline void bench_caller_note_error(struct bench_caller *c, const char *fmt, ...)
{
    if (c->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

/* Appends one sample; false when out of memory or at the per-caller ceiling. */
static inline bool bench_caller_record(struct bench_caller *c, uint64_t ns)
{
    if (c->n_latency == c->cap_latency) {
        size_t cap = c->cap_latency ? c->cap_latency * 2 : 4096;
        if (cap > BENCH_MAX_SAMPLES_PER_CALLER)
            cap = BENCH_MAX_SAMPLES_PER_CALLER;
        uint64_t *grown = cap > c->cap_latency ? realloc(c->latency_ns, cap * sizeof *grown) : NULL;
        if (!grown) {
            bench_caller_note_error(c, "stopped early: no room for more than %zu samples",
                                    c->n_latency);
            return false;
        }
        c->latency_ns = grown;
        c->cap_latency = cap;
    }
    c->latency_ns[c->n_latency++] = ns;
    return true;
}

/* Marks this caller arrived and waits for the main thread's verdict; true when the gate opened. */
static inline bool bench_gate_arrive(struct bench_gate *g, struct bench_caller *c, bool ready)
{
    pthread_mutex_lock(&g->mu);
    c->ready = ready;
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    while (g->state == BENCH_GATE_WAITING)
        pthread_cond_wait(&g->cv, &g->mu);
    bool open = g->state == BENCH_GATE_OPEN;
    pthread_mutex_unlock(&g->mu);
    return open;
}

static inline void *bench_caller_main(void *arg)
{
    struct bench_caller *c = arg;
    struct bench_gate *g = c->gate;
    const struct bench_ops *ops = g->ops;
    bool ready = ops->open(c);
    /* Warm-up failures are not counted; a dead peer shows up in the measurement that follows. */
    for (int i = 0; ready && !c->done && i < ops->warmup_calls; i++)
        (void)ops->call(c);
    if (ready)
        c->error[0] = '\0';
    if (bench_gate_arrive(g, c, ready)) {
        while (!c->done && bench_now_ns() < g->deadline_ns) {
            int64_t t0 = bench_now_ns();
            bool ok = ops->call(c);
            int64_t t1 = bench_now_ns();
            if (c->done)
                break;
            if (!ok)
                c->failures++;
            else if (!bench_caller_record(c, (uint64_t)(t1 - t0)))
                break;
        }
    }
    c->end_ns = bench_now_ns();
    if (ops->close)
        ops->close(c);
    return NULL;
}

/* Merges the callers' samples into r. False when out of memory. */
static inline bool bench_summarise(const struct bench_gate *g, struct bench_caller *callers, int n,
                                   struct bench_result *r)
{
    size_t total = 0;
    int64_t end = g->start_ns;
    for (int i = 0; i < n; i++) {
        total += callers[i].n_latency;
        r->failures += callers[i].failures;
        if (callers[i].end_ns > end)
            end = callers[i].end_ns;
        if (!r->error[0] && callers[i].error[0])
            snprintf(r->error, sizeof r->error, "%s", callers[i].error);
    }
    r->calls = total;
    r->seconds = (double)(end - g->start_ns) / 1e9;
    r->calls_per_s = r->seconds > 0 ? (double)total / r->seconds : 0;
    if (total == 0)
        return true;
    uint64_t *all = malloc(total * sizeof *all);
    if (!all)
        return false;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (callers[i].n_latency)
            memcpy(all + at, callers[i].latency_ns, callers[i].n_latency * sizeof *all);
        at += callers[i].n_latency;
    }
    qsort(all, total, sizeof *all, bench_compare_u64);
    r->p50_us = bench_percentile_us(all, total, 500);
    r->p99_us = bench_percentile_us(all, total, 990);
    r->max_us = (double)all[total - 1] / 1000.0;
    free(all);
    return true;
}

/* Runs n callers of ops for `seconds` and fills r; shared is handed to every caller. False
 * (after a sentence on stderr) when the measurement could not run at all: a thread could not
 * start, or a caller could not open. */
static inline bool bench_measure(const struct bench_ops *ops, void *shared, int n, long seconds,
                                 struct bench_result *r)
{
    memset(r, 0, sizeof *r);
    struct bench_caller *callers = calloc((size_t)n, sizeof *callers);
    if (!callers) {
        fprintf(stderr, "%s: out of memory for %d callers\n", BENCH_PROG, n);
        return false;
    }
    struct bench_gate g = {.ops = ops, .state = BENCH_GATE_WAITING};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    int started = 0;
    for (; started < n; started++) {
        callers[started].index = started;
        callers[started].shared = shared;
        callers[started].gate = &g;
        if (pthread_create(&callers[started].thread, NULL, bench_caller_main, &callers[started]) !=
            0)
            break;
    }

    /* Open the gate once every caller has arrived ready; otherwise cancel it. */
    pthread_mutex_lock(&g.mu);
    while (g.arrived < started)
        pthread_cond_wait(&g.cv, &g.mu);
    const struct bench_caller *unready = NULL;
    for (int i = 0; i < started && !unready; i++)
        if (!callers[i].ready)
            unready = &callers[i];
    bool go = started == n && !unready;
    g.start_ns = bench_now_ns();
    g.deadline_ns = g.start_ns + (int64_t)seconds * 1000000000;
    g.state = go ? BENCH_GATE_OPEN : BENCH_GATE_CANCELLED;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);

    for (int i = 0; i < started; i++)
        pthread_join(callers[i].thread, NULL);

    bool ok = go;
    if (started < n)
        fprintf(stderr, "%s: cannot start caller thread %d of %d\n", BENCH_PROG, started + 1, n);
    else if (unready)
        fprintf(stderr, "%s: caller %d could not start: %s\n", BENCH_PROG, unready->index + 1,
                unready->error);
    else if (!bench_summarise(&g, callers, n, r)) {
        fprintf(stderr, "%s: out of memory merging the samples\n", BENCH_PROG);
        ok = false;
    }
    for (int i = 0; i < n; i++)
        free(callers[i].latency_ns);
    free(callers);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
    return ok;
}

/* A latency in microseconds, or "-" when there was no successful call to take it from. */
static inline void bench_format_us(char *out, size_t len, uint64_t calls, double us)
{
    if (calls)
        snprintf(out, len, "%.1f", us);
    else
        snprintf(out, len, "-");
}

/* ------------------------------------------------------------------ the daemon */

/* One Health/Check before anything is set up or measured: true when clinicd at url answers OK
 * and SERVING; otherwise a sentence on stderr that says what to check. */
static inline bool bench_probe_daemon(const char *url, uint32_t timeout_ms)
{
    struct clinic_error err;
    clinic_client *client = clinic_connect(url, timeout_ms, &err);
    if (!client) {
        fprintf(stderr, "%s: %s\n", BENCH_PROG, err.message); /* names the URL, what to check */
        return false;
    }
    Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    const struct clinic_call_options opts = {.timeout_ms = timeout_ms};
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, "/clinic.v1.Health/Check", &req.base,
                           &clinic__v1__health_check_response__descriptor, &resp, &opts, &err);
    bool serving =
        code == STATUS_OK && ((Clinic__V1__HealthCheckResponse *)resp)->status ==
                                 CLINIC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    if (code != STATUS_OK)
        fprintf(stderr, "%s: clinicd at %s did not answer a Health/Check: %s: %s\n", BENCH_PROG,
                url, status_code_name(code), err.message);
    else if (!serving)
        fprintf(stderr, "%s: clinicd at %s is up but not SERVING: is its database up?\n",
                BENCH_PROG, url);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    clinic_close(client);
    return serving;
}

/* ------------------------------------------------------------------ the database, for set-up */

/* Connects to a libpq URL. NULL after a sentence on stderr that names the URL and what to check.
 * JIT is off as in clinicd: the set-up statements are short or one-off bulk inserts. */
static inline PGconn *bench_db_connect(const char *url)
{
    static const char *const keys[] = {"connect_timeout", "fallback_application_name", "options",
                                       "dbname", NULL};
    const char *values[] = {"10", BENCH_PROG "-bench", "-c jit=off", url, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn) {
        fprintf(stderr, "%s: out of memory connecting to the database\n", BENCH_PROG);
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        fprintf(stderr,
                "%s: cannot reach the database at %s: %.*s\n"
                "%s: pass the daemon's own database with --database (with the embedded default "
                "that is postgresql:///clinic?host=DATA_DIR/run&user=clinicd)\n",
                BENCH_PROG, url, (int)strcspn(msg, "\n"), msg, BENCH_PROG);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Runs one parameterised statement (params as text, NULL for SQL NULL). On success returns the
 * result (PQclear it); otherwise prints `what` and the server's message and returns NULL. */
static inline PGresult *bench_db_query(PGconn *conn, const char *what, const char *sql,
                                       int n_params, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    fprintf(stderr, "%s: %s failed: %.*s\n", BENCH_PROG, what, (int)strcspn(msg, "\n"), msg);
    PQclear(res);
    return NULL;
}

/* bench_db_query for statements whose result is not needed. */
static inline bool bench_db_exec(PGconn *conn, const char *what, const char *sql, int n_params,
                                 const char *const *params)
{
    PGresult *res = bench_db_query(conn, what, sql, n_params, params);
    PQclear(res);
    return res != NULL;
}

/* The first column of the first row as a malloc'd string (free it); NULL after a sentence on
 * stderr when the statement failed or returned no row or a NULL. */
static inline char *bench_db_value(PGconn *conn, const char *what, const char *sql, int n_params,
                                   const char *const *params)
{
    PGresult *res = bench_db_query(conn, what, sql, n_params, params);
    if (!res)
        return NULL;
    char *value = NULL;
    if (PQntuples(res) < 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
        fprintf(stderr, "%s: %s returned nothing\n", BENCH_PROG, what);
    else if (!(value = strdup(PQgetvalue(res, 0, 0))))
        fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
    PQclear(res);
    return value;
}

/* bench_db_value as a whole number; false after a sentence on stderr. */
static inline bool bench_db_i64(PGconn *conn, const char *what, const char *sql, int n_params,
                                const char *const *params, long long *out)
{
    char *text = bench_db_value(conn, what, sql, n_params, params);
    if (!text)
        return false;
    char *end;
    errno = 0;
    *out = strtoll(text, &end, 10);
    bool ok = errno == 0 && end != text && *end == '\0';
    if (!ok)
        fprintf(stderr, "%s: %s returned \"%s\", not a whole number\n", BENCH_PROG, what, text);
    free(text);
    return ok;
}

#endif
