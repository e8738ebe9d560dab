/* booking.c: what a booking costs through clinicd. Scheduling/Book calls per second and p50/p99
 * latency at 1, 4 and 16 concurrent callers against a running clinicd, and in the same run
 * pgbench inserting rows of the same shape straight into the same table of the same database:
 * the ratio of the two prices everything the daemon adds to the bare INSERT (libclinic, the
 * envelope, dispatch, the booking rules in clinic_book, the locks, the idempotency row and the
 * appointment read back for the reply).
 *
 * DESIGN:
 *   - Bookings must not collide, or the figure measures contention instead of cost. Each caller
 *     owns a lane created here by SQL: its own location (UTC, no minimum notice, 15-minute
 *     grid, 3650 days ahead) with 4 rooms, 4 therapists who perform the one 60-minute service
 *     (no buffers) 00:00-24:00 every day, and 64 clients. Caller k books lane k only, naming the
 *     therapist, at consecutive hours from 00:00 UTC the day after tomorrow: slot s is hour s/4
 *     with therapist s%4 and client s%64, and the daemon picks the room (the first free one, so
 *     room s%4 + 1). Lanes share no therapist, room, client or advisory lock, so concurrent
 *     callers never wait for each other in the database; what they share is what every booking
 *     shares (the table, its indexes, WAL, the event relay). A lane's next slot carries over from
 *     one caller count to the next, so no slot is booked twice.
 *   - Every Book goes through libclinic as the clinic tool sends it: mutating, so with an
 *     idempotency key that the daemon stores in the booking transaction. One libclinic client
 *     per caller, as in rpc_overhead.
 *   - pgbench runs `INSERT INTO appointments (...) VALUES (...)` with its own lanes (its own
 *     location, one therapist, room and 64 clients per pgbench client, consecutive hours per
 *     client counted in a pgbench variable), so its rows never collide either, while the
 *     exclusion constraints, indexes and the event trigger still run for each of them. It is
 *     started as `pgbench -n -c 16 -j 2 -T S -D n=0 -f script URL` (pgbench's default simple
 *     query protocol), found through `pg_config --bindir` or /usr/lib/postgresql/(version)/bin.
 *   - pgbench runs each round three times: with a NOTIFY in every transaction as well (what every
 *     booking paid while the event trigger notified), with the event trigger (as bookings write
 *     now) and on the table alone, the trigger disabled: the baseline.
 *   - The database's CPU per transaction is read from /proc around each measurement (the server's
 *     processes, when it runs on this machine): what a booking costs the one shared resource
 *     that more daemons cannot multiply.
 *   - The ratio is clinicd's calls/s at 16 callers over bare pgbench's tps at 16 clients (at the
 *     largest caller count measured when 16 is not among them), taken in --rounds rounds of
 *     "clinicd, then pgbench", and the median is the figure. On a shared 2-core machine one pair
 *     of 5-second runs moves by 20 % or more (a checkpoint, another tenant, the table growing
 *     under the later run); pairs taken back to back and a median keep one unlucky run from
 *     deciding it. Each round's pgbench starts at its own hour (-D n=...), so rounds never
 *     collide.
 * Every loop is bounded (by a deadline, a slot count, or a wait limit on pgbench, which is
 * stopped by its process id past it); everything allocated is freed. The rows stay in the
 * database: run it against a daemon started for benchmarking (scripts/bench.sh does). */
#define BENCH_PROG "booking"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <nng/nng.h>

#include "bench_common.h"
#include "clinic.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "pg_programs.h"
#include "status.h"

extern char **environ;

#define BOOK_METHOD             "/clinic.v1.Scheduling/Book"
#define DEFAULT_SECONDS         5
#define DEFAULT_CALLERS         "1,4,16"
#define MAX_CALLERS             64
#define DEFAULT_PGBENCH_CLIENTS 16
#define MAX_PGBENCH_CLIENTS     256
#define PGBENCH_THREADS         2
/* pgbench ends itself after -T seconds; past this much more it is stopped. */
#define PGBENCH_GRACE_S  60
#define PGBENCH_POLL_MS  50
#define CALL_TIMEOUT_MS  10000
#define WARMUP_CALLS     10
#define LANE_THERAPISTS  4
#define LANE_ROOMS       4
#define LANE_CLIENTS     64
#define HORIZON_DAYS     3650
#define FIRST_DAY        2 /* bookings start at 00:00 UTC the day after tomorrow */
#define TARGET_RATIO     0.5
#define TARGET_CALLERS   16
#define DEFAULT_ROUNDS   3
#define MAX_ROUNDS       9
#define SECONDS_PER_HOUR 3600
/* Two daemons on one database book at least this share of one's rate: on shared cores no more
 * can be expected; coordination between daemons must cost nothing. */
#define TARGET_TWO_DAEMONS 0.95
/* Book through clinic-gateway (JSON over HTTP/1.1 keep-alive, driven by wrk) against Book through
 * libclinic, both at 16 callers: the HTTP side may cost at most a fifth. */
#define TARGET_GATEWAY 0.8
#define DEFAULT_WRK    "/usr/bin/wrk"
/* Slots a lane keeps for one wrk round: far more than a lane books in a round (about a hundred
 * a second), so a round never reaches the next round's. */
#define WRK_ROUND_SLOTS 20000

struct options {
    const char *url;
    const char *database;
    const char *pgbench;
    long seconds;
    long callers[BENCH_MAX_LIST];
    int n_callers;
    long pgbench_clients;
    long rounds;
    const char *second_url; /* a second daemon on the same database, or NULL */
    const char *gateway; /* clinic-gateway in front of the daemon ("http://HOST:PORT"), or NULL */
    const char *wrk;     /* the wrk program */
};

/* One caller's share of the clinic; see DESIGN. */
struct lane {
    long long location_id;
    long long therapist_ids[LANE_THERAPISTS];
    long long client_ids[LANE_CLIENTS];
    uint64_t next_slot;
};

/* What every caller shares. */
struct run {
    const char *url;
    long long service_id;
    struct lane *lanes;
    int n_lanes;
    int64_t first_epoch; /* 00:00 UTC of the first booked day */
    uint64_t slots_per_lane;
    pid_t db_server; /* the database's postmaster when it runs on this machine, else 0 */
};

/* pgbench's lanes: ids are contiguous (checked), so :client_id finds its own by offset. */
struct pgbench_set {
    long long location_id;
    long long first_therapist, first_room, first_client;
};

/* The three ways pgbench inserts a round's rows, from the dearest: as bookings wrote them while
 * every appointment change NOTIFYed in its transaction (the event trigger and a NOTIFY in the
 * same statement: PostgreSQL lets one notifying commit through at a time), as bookings write them
 * now (the row and its event), and the table alone (constraints, indexes, commit), the baseline
 * of the ratio. */
enum pgbench_kind { PGBENCH_NOTIFY, PGBENCH_EVENTS, PGBENCH_BARE, PGBENCH_KINDS };

/* One pgbench run's figures: transactions per second, and the database server's CPU time per
 * transaction (NAN when it could not be read). */
struct pgbench_figures {
    double tps;
    double db_cpu_ms;
};

/* ------------------------------------------------------------------ command line */

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: booking --database URL [--url URL] [--seconds S] [--callers LIST]\n"
            "               [--pgbench-clients N] [--pgbench PATH] [--rounds R]\n"
            "               [--second-url URL]\n\n"
            "Measures Scheduling/Book calls per second and p50/p99 latency against a running\n"
            "clinicd at each caller count, then pgbench inserting appointments of the same shape\n"
            "straight into the same database, and prints the ratio (the median of R rounds of\n"
            "clinicd at 16 callers followed by pgbench), with the database server's CPU time\n"
            "per booking and per insert when it runs on this machine. It creates its own\n"
            "locations, rooms, therapists and clients there and leaves its rows behind: use a\n"
            "database set up for benchmarking.\n\n"
            "  --database URL      the daemon's database, a libpq URL (required)\n"
            "  --url URL           the daemon (default %s)\n"
            "  --seconds S         length of each measurement and of the pgbench run, 1 to %d\n"
            "                      (default %d)\n"
            "  --callers LIST      comma-separated concurrent caller counts, each 1 to %d\n"
            "                      (default %s)\n"
            "  --pgbench-clients N pgbench's -c, 1 to %d (default %d); 0 skips pgbench\n"
            "  --pgbench PATH      the pgbench program (default: from pg_config --bindir or\n"
            "                      /usr/lib/postgresql/VERSION/bin)\n"
            "  --rounds R          rounds of the ratio, 1 to %d (default %d)\n"
            "  --second-url URL    a second daemon on the same database: R rounds of 16 callers\n"
            "                      through the first alone, then spread over both (libclinic),\n"
            "                      and the ratio two / one\n"
            "  --gateway URL       clinic-gateway in front of the daemon (http://HOST:PORT): R\n"
            "                      rounds of 16 callers through libclinic, then wrk -t 16 -c 16\n"
            "                      booking the same lanes as JSON over HTTP, and the ratio\n"
            "  --wrk PATH          the wrk program (default %s)\n",
            CLINIC_DEFAULT_URL, BENCH_MAX_SECONDS, DEFAULT_SECONDS, MAX_CALLERS, DEFAULT_CALLERS,
            MAX_PGBENCH_CLIENTS, DEFAULT_PGBENCH_CLIENTS, MAX_ROUNDS, DEFAULT_ROUNDS, DEFAULT_WRK);
}

/* Fills opt from argv. Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->url = CLINIC_DEFAULT_URL;
    opt->seconds = DEFAULT_SECONDS;
    opt->pgbench_clients = DEFAULT_PGBENCH_CLIENTS;
    opt->rounds = DEFAULT_ROUNDS;
    opt->wrk = DEFAULT_WRK;
    if (!bench_parse_list(DEFAULT_CALLERS, 1, MAX_CALLERS, opt->callers, &opt->n_callers))
        abort();
    for (int i = 1; i < argc; i++) {
        const char *v;
        int taken = bench_take_common(argc, argv, &i, &opt->url, &opt->database, &opt->seconds,
                                      print_usage);
        if (taken != BENCH_OPTION_NOT_MINE) {
            if (taken != BENCH_OPTION_TAKEN)
                return taken;
        } else if (bench_take_option(argc, argv, &i, "--pgbench", &v)) {
            if (!v || !*v)
                return bench_usage_error(print_usage, "--pgbench needs a value");
            opt->pgbench = v;
        } else if (bench_take_option(argc, argv, &i, "--callers", &v)) {
            if (!v || !bench_parse_list(v, 1, MAX_CALLERS, opt->callers, &opt->n_callers))
                return bench_usage_error(print_usage,
                                         "--callers must be up to %d comma-separated whole numbers "
                                         "from 1 to %d, e.g. %s",
                                         BENCH_MAX_LIST, MAX_CALLERS, DEFAULT_CALLERS);
        } else if (bench_take_option(argc, argv, &i, "--pgbench-clients", &v)) {
            if (!v || !bench_parse_long(v, 0, MAX_PGBENCH_CLIENTS, &opt->pgbench_clients))
                return bench_usage_error(print_usage,
                                         "--pgbench-clients must be a whole number from 0 to %d",
                                         MAX_PGBENCH_CLIENTS);
        } else if (bench_take_option(argc, argv, &i, "--second-url", &v)) {
            if (!v || !*v)
                return bench_usage_error(print_usage, "--second-url needs a daemon's URL");
            opt->second_url = v;
        } else if (bench_take_option(argc, argv, &i, "--gateway", &v)) {
            if (!v || strncmp(v, "http://", 7) != 0)
                return bench_usage_error(print_usage,
                                         "--gateway needs the gateway's http://HOST:PORT");
            opt->gateway = v;
        } else if (bench_take_option(argc, argv, &i, "--wrk", &v)) {
            if (!v || !*v)
                return bench_usage_error(print_usage, "--wrk needs a value");
            opt->wrk = v;
        } else if (bench_take_option(argc, argv, &i, "--rounds", &v)) {
            if (!v || !bench_parse_long(v, 1, MAX_ROUNDS, &opt->rounds))
                return bench_usage_error(
                    print_usage, "--rounds must be a whole number from 1 to %d", MAX_ROUNDS);
        } else {
            return bench_usage_error(print_usage, "unknown argument \"%s\"", argv[i]);
        }
    }
    if (!opt->database)
        return bench_usage_error(print_usage,
                                 "--database is required: the daemon's database, where the bench "
                                 "creates its clinic and pgbench inserts");
    return -1;
}

/* ------------------------------------------------------------------ set-up by SQL */

/* Statements of the set-up, run in one transaction. The tag is unique to this run, so that names
 * and e-mail addresses never clash with an earlier run's. */
static const char service_sql[] =
    "INSERT INTO services (name, duration_minutes) VALUES ('Bench booking ' || $1, 60)"
    " RETURNING id";
static const char location_sql[] =
    "INSERT INTO locations (name, time_zone, min_notice_minutes, max_advance_days,"
    " slot_step_minutes) VALUES (format('Bench %s %s', $2::text, $1::text), 'UTC', 0, $3, 15)"
    " RETURNING id";
static const char rooms_sql[] =
    "WITH r AS (INSERT INTO rooms (location_id, name)"
    "           SELECT $1, 'Room ' || k FROM generate_series(1, $2::int) AS k RETURNING id)"
    " SELECT id FROM r ORDER BY id";
/* Therapists who perform the service and work 00:00-24:00 every day at the location. */
static const char therapists_sql[] =
    "WITH t AS (INSERT INTO therapists (name, email)"
    "           SELECT format('%s therapist %s', $2::text, j),"
    "                  format('bench.%s.%s.%s@example.org', $1::text, replace($2::text, ' ', '-'), "
    "j)"
    "           FROM generate_series(1, $3::int) AS j RETURNING id),"
    " s AS (INSERT INTO therapist_services (therapist_id, service_id) SELECT id, $4 FROM t),"
    " h AS (INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)"
    "       SELECT t.id, $5, d, '00:00', '24:00' FROM t, generate_series(1, 7) AS d)"
    " SELECT id FROM t ORDER BY id";
static const char clients_sql[] =
    "WITH c AS (INSERT INTO clients (name)"
    "           SELECT format('Bench %s %s client %s', $1::text, $2::text, j)"
    "           FROM generate_series(1, $3::int) AS j RETURNING id)"
    " SELECT id FROM c ORDER BY id";

/* Runs sql (a statement returning one id per row) and stores exactly n ids; false after a
 * sentence on stderr. */
static bool query_ids(PGconn *db, const char *what, const char *sql, int n_params,
                      const char *const *params, long long *ids, int n)
{
    PGresult *res = bench_db_query(db, what, sql, n_params, params);
    if (!res)
        return false;
    bool ok = PQntuples(res) == n;
    for (int i = 0; ok && i < n; i++) {
        char *end;
        errno = 0;
        ids[i] = strtoll(PQgetvalue(res, i, 0), &end, 10);
        ok = errno == 0 && *end == '\0';
    }
    if (!ok)
        fprintf(stderr, "%s: %s returned %d rows, not %d ids\n", BENCH_PROG, what, PQntuples(res),
                n);
    PQclear(res);
    return ok;
}

/* Creates a location named "Bench <label> <tag>" with n_rooms rooms and n_therapists therapists
 * who perform the service there all day, every day, and n_clients clients; stores the ids. */
static bool create_site(PGconn *db, const char *tag, const char *label, const char *service,
                        int n_rooms, int n_therapists, int n_clients, long long *location,
                        long long *rooms, long long *therapists, long long *clients)
{
    char horizon[16], n_r[16], n_t[16], n_c[16], loc[24];
    snprintf(horizon, sizeof horizon, "%d", HORIZON_DAYS);
    snprintf(n_r, sizeof n_r, "%d", n_rooms);
    snprintf(n_t, sizeof n_t, "%d", n_therapists);
    snprintf(n_c, sizeof n_c, "%d", n_clients);
    if (!bench_db_i64(db, "creating a location", location_sql, 3,
                      (const char *[]){tag, label, horizon}, location))
        return false;
    snprintf(loc, sizeof loc, "%lld", *location);
    return query_ids(db, "creating rooms", rooms_sql, 2, (const char *[]){loc, n_r}, rooms,
                     n_rooms) &&
           query_ids(db, "creating therapists", therapists_sql, 5,
                     (const char *[]){tag, label, n_t, service, loc}, therapists, n_therapists) &&
           query_ids(db, "creating clients", clients_sql, 3, (const char *[]){tag, label, n_c},
                     clients, n_clients);
}

/* True when ids[0..n) are first, first+1, …: pgbench finds its rows by offset. */
static bool contiguous(const long long *ids, int n)
{
    for (int i = 1; i < n; i++)
        if (ids[i] != ids[0] + i)
            return false;
    return true;
}

/* pgbench's set: a location with one room and one therapist per pgbench client, and
 * LANE_CLIENTS clients each; their ids must be consecutive. */
static bool setup_pgbench(PGconn *db, const char *tag, const char *service, int n,
                          struct pgbench_set *pg)
{
    long long *rooms = calloc((size_t)n, sizeof *rooms);
    long long *therapists = calloc((size_t)n, sizeof *therapists);
    long long *clients = calloc((size_t)n * LANE_CLIENTS, sizeof *clients);
    bool ok = rooms && therapists && clients;
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
    ok = ok && create_site(db, tag, "pgbench", service, n, n, n * LANE_CLIENTS, &pg->location_id,
                           rooms, therapists, clients);
    if (ok && !(contiguous(rooms, n) && contiguous(therapists, n) &&
                contiguous(clients, n * LANE_CLIENTS))) {
        fprintf(stderr,
                "%s: the ids of pgbench's rooms, therapists or clients are not "
                "consecutive (another session inserted at the same time?); run again\n",
                BENCH_PROG);
        ok = false;
    }
    if (ok) {
        pg->first_room = rooms[0];
        pg->first_therapist = therapists[0];
        pg->first_client = clients[0];
    }
    free(rooms);
    free(therapists);
    free(clients);
    return ok;
}

/* A cluster whose appointments were never analyzed (a fresh one, before autoanalyze) gives
 * figures that move round after round: each worker plans its booking statements on its first
 * call as if the tables were empty, until autoanalyze makes it plan again. Says so; the
 * figures are still printed, and the ratio's rounds follow an ANALYZE (analyze_before_rounds). */
static void warn_if_never_analyzed(PGconn *db)
{
    long long never = 0;
    if (bench_db_i64(db, "asking whether appointments was analyzed",
                     "SELECT (last_analyze IS NULL AND last_autoanalyze IS NULL)::int"
                     " FROM pg_stat_user_tables WHERE relname = 'appointments'",
                     0, NULL, &never) &&
        never)
        printf("# warning: appointments has never been analyzed; the daemon's plans assume "
               "empty tables until autoanalyze runs, so the first figures may differ (run after "
               "bench/slots, as scripts/bench.sh does, or after ANALYZE)\n");
}

/* The rows booked so far are analyzed before the ratio's rounds, so that every round runs on
 * plans made with statistics, as in a clinic with history: on a fresh cluster the first round
 * otherwise ran on plans for empty tables until autoanalyze came by (a third fewer bookings). */
static bool analyze_before_rounds(PGconn *db)
{
    return bench_db_exec(db, "analyzing the booked rows", "ANALYZE appointments, events", 0, NULL);
}

/* Creates the service, one lane per caller and pgbench's set, in one transaction. */
static bool setup_clinic(PGconn *db, const char *tag, struct run *run, int pgbench_clients,
                         struct pgbench_set *pg)
{
    if (!bench_db_exec(db, "BEGIN", "BEGIN", 0, NULL))
        return false;
    bool ok = bench_db_i64(db, "creating the service", service_sql, 1, (const char *[]){tag},
                           &run->service_id);
    char service[24];
    snprintf(service, sizeof service, "%lld", run->service_id);
    for (int k = 0; ok && k < run->n_lanes; k++) {
        struct lane *lane = &run->lanes[k];
        long long rooms[LANE_ROOMS];
        char label[32];
        snprintf(label, sizeof label, "booking lane %d", k + 1);
        ok = create_site(db, tag, label, service, LANE_ROOMS, LANE_THERAPISTS, LANE_CLIENTS,
                         &lane->location_id, rooms, lane->therapist_ids, lane->client_ids);
    }
    if (ok && pgbench_clients > 0)
        ok = setup_pgbench(db, tag, service, pgbench_clients, pg);
    if (ok)
        return bench_db_exec(db, "COMMIT", "COMMIT", 0, NULL);
    PQclear(PQexec(db, "ROLLBACK"));
    return false;
}

/* ------------------------------------------------------------------ the callers */

static bool caller_open(struct bench_caller *c)
{
    const struct run *run = c->shared;
    struct clinic_error err;
    c->own = clinic_connect(run->url, CALL_TIMEOUT_MS, &err);
    if (!c->own)
        bench_caller_note_error(c, "%s", err.message);
    return c->own != NULL;
}

static void caller_close(struct bench_caller *c)
{
    clinic_close(c->own);
    c->own = NULL;
}

/* Books the lane's next slot; true when clinicd answered OK with an appointment of the named
 * therapist. The slot is used up either way, so a failure is never retried into a collision. */
static bool caller_book(struct bench_caller *c)
{
    const struct run *run = c->shared;
    struct lane *lane = &run->lanes[c->index];
    if (lane->next_slot >= run->slots_per_lane) {
        bench_caller_note_error(c, "lane %d has no free hour left inside the booking horizon",
                                c->index + 1);
        c->done = true;
        return false;
    }
    uint64_t slot = lane->next_slot++;
    time_t start =
        (time_t)(run->first_epoch + (int64_t)(slot / LANE_THERAPISTS) * SECONDS_PER_HOUR);
    struct tm tm;
    char start_time[32];
    gmtime_r(&start, &tm);
    strftime(start_time, sizeof start_time, "%Y-%m-%dT%H:%M:%SZ", &tm);

    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = lane->client_ids[slot % LANE_CLIENTS];
    req.service_id = run->service_id;
    req.location_id = lane->location_id;
    req.start_time = start_time;
    req.therapist_id = lane->therapist_ids[slot % LANE_THERAPISTS];
    const struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS, .mutating = true};
    ProtobufCMessage *resp = NULL;
    struct clinic_error err;
    int code = clinic_call(c->own, BOOK_METHOD, &req.base, &clinic__v1__appointment__descriptor,
                           &resp, &opts, &err);
    if (code != STATUS_OK) {
        bench_caller_note_error(c, "Book at %s: %s: %s", start_time, status_code_name(code),
                                err.message);
        return false;
    }
    const Clinic__V1__Appointment *a = (const Clinic__V1__Appointment *)resp;
    bool ok = a->id > 0 && a->therapist_id == req.therapist_id;
    if (!ok)
        bench_caller_note_error(c,
                                "Book at %s answered appointment %lld of therapist %lld, not "
                                "of therapist %lld",
                                start_time, (long long)a->id, (long long)a->therapist_id,
                                (long long)req.therapist_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    return ok;
}

static const struct bench_ops book_ops = {
    .open = caller_open, .call = caller_book, .close = caller_close, .warmup_calls = WARMUP_CALLS};

/* ------------------------------------------------------------------ database CPU */

/* What the database server spends on a measurement, read from /proc: the postmaster's own CPU
 * time and that of its children it has reaped (pgbench's backends, gone by the end), plus every
 * live child's (clinicd's backends, the WAL writer, the checkpointer). Only for a server on this
 * machine, found as the parent of this connection's backend. */

/* Reads /proc/PID/stat: user + system CPU seconds (with `reaped`, its reaped children's too)
 * and the parent's pid. False when the process is gone or unreadable. */
static bool proc_cpu(pid_t pid, bool reaped, double *seconds, pid_t *parent)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command's name, in parentheses, may hold anything: the fields follow the last ')' */
    const char *fields = strrchr(buf, ')');
    int ppid;
    unsigned long long utime, stime;
    long long cutime, cstime;
    if (!fields ||
        sscanf(fields + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ppid,
               &utime, &stime, &cutime, &cstime) != 5)
        return false;
    double ticks = (double)utime + (double)stime;
    if (reaped)
        ticks += (double)cutime + (double)cstime;
    *seconds = ticks / (double)sysconf(_SC_CLK_TCK);
    *parent = (pid_t)ppid;
    return true;
}

static bool is_postgres(pid_t pid)
{
    char path[64], name[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(name, sizeof name, f) && strcmp(name, "postgres\n") == 0;
    fclose(f);
    return ok;
}

/* The postmaster of db's server when it runs on this machine, else 0 (a server elsewhere, or in
 * another process namespace, whose process ids mean nothing here). */
static pid_t find_db_server(PGconn *db)
{
    long long backend = 0;
    double unused;
    pid_t postmaster;
    if (!bench_db_i64(db, "asking for the backend's process id", "SELECT pg_backend_pid()", 0, NULL,
                      &backend) ||
        backend <= 0 || backend > INT_MAX || !is_postgres((pid_t)backend) ||
        !proc_cpu((pid_t)backend, false, &unused, &postmaster) || !is_postgres(postmaster))
        return 0;
    return postmaster;
}

/* The server's CPU seconds so far (see above); NAN without a server to read. */
static double db_server_cpu(pid_t postmaster)
{
    double total, own;
    pid_t parent;
    if (postmaster == 0 || !proc_cpu(postmaster, true, &total, &parent))
        return NAN;
    DIR *proc = opendir("/proc");
    if (!proc)
        return NAN;
    for (struct dirent *e; (e = readdir(proc));) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && pid <= INT_MAX &&
            proc_cpu((pid_t)pid, false, &own, &parent) && parent == postmaster)
            total += own;
    }
    closedir(proc);
    return total;
}

/* Milliseconds of server CPU per transaction between two readings; NAN when either is. */
static double cpu_ms_per(double before, double after, double transactions)
{
    return transactions > 0 ? (after - before) * 1000 / transactions : NAN;
}

/* ------------------------------------------------------------------ pgbench */

/* The pgbench program, by absolute path: --pgbench, else where pg_programs finds it. False after
 * a sentence on stderr. */
static bool find_pgbench(const char *given, char *out, size_t len)
{
    if (given) {
        snprintf(out, len, "%s", given);
        if (access(out, X_OK) == 0)
            return true;
        fprintf(stderr, "%s: --pgbench %s is not an executable program\n", BENCH_PROG, given);
        return false;
    }
    char dir[PATH_MAX];
    if (pg_programs_find_bindir("pgbench", dir, sizeof dir) &&
        snprintf(out, len, "%s/pgbench", dir) < (int)len)
        return true;
    fprintf(stderr,
            "%s: pgbench was not found (pg_config --bindir, /usr/lib/postgresql/*/bin); install "
            "the postgresql package, pass --pgbench PATH, or skip it with --pgbench-clients 0\n",
            BENCH_PROG);
    return false;
}

/* Writes pgbench's script into path: one INSERT per transaction, client :client_id in its own
 * lane (therapist, room, 64 clients) at its own next hour :n; for PGBENCH_NOTIFY the statement
 * also NOTIFYs, in the same round trip and transaction. */
static bool write_pgbench_script(const char *path, const struct run *run,
                                 const struct pgbench_set *pg, enum pgbench_kind kind)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", BENCH_PROG, path, strerror(errno));
        return false;
    }
    char first[32];
    time_t t = (time_t)run->first_epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(first, sizeof first, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bool notify = kind == PGBENCH_NOTIFY;
    fprintf(f,
            "\\set n :n + 1\n"
            "\\set c random(0, %d)\n"
            "%sINSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
            " start_at, end_at, blocked, booked_by)"
            " VALUES (%lld + :client_id * %d + :c, %lld + :client_id, %lld + :client_id, %lld,"
            " %lld, '%s'::timestamptz + :n * interval '1 hour',"
            " '%s'::timestamptz + (:n + 1) * interval '1 hour',"
            " tstzrange('%s'::timestamptz + :n * interval '1 hour',"
            " '%s'::timestamptz + (:n + 1) * interval '1 hour'), 'pgbench')%s;\n",
            LANE_CLIENTS - 1, notify ? "WITH written AS (" : "", pg->first_client, LANE_CLIENTS,
            pg->first_therapist, pg->first_room, run->service_id, pg->location_id, first, first,
            first, first,
            notify ? " RETURNING id) SELECT pg_notify('clinic_bench', id::text) FROM written" : "");
    return fclose(f) == 0;
}

/* Waits for pid at most limit_s seconds; past it, SIGTERM, then SIGKILL. Returns the wait
 * status, or -1 when it had to be killed. */
static int wait_bounded(pid_t pid, long limit_s)
{
    int status = 0;
    int64_t deadline = bench_now_ns() + (int64_t)limit_s * 1000000000;
    struct timespec pause = {0, PGBENCH_POLL_MS * 1000000L};
    while (bench_now_ns() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        nanosleep(&pause, NULL);
    }
    fprintf(stderr, "%s: pgbench did not end within %ld s; stopping it\n", BENCH_PROG, limit_s);
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Runs pgbench with the script of `kind` for `seconds`, each client booking its hours from
 * first_hour on, and stores its "tps = …" and the server's CPU per transaction. False after a
 * sentence on stderr (with pgbench's own output when it failed). */
static bool run_pgbench(const char *program, const char *database, const struct run *run,
                        const struct pgbench_set *pg, enum pgbench_kind kind, int clients,
                        long seconds, long first_hour, struct pgbench_figures *out)
{
    char dir[] = "/tmp/clinic-booking-bench.XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "%s: cannot create a temporary folder: %s\n", BENCH_PROG, strerror(errno));
        return false;
    }
    char script[64], output[64], n_clients[16], n_threads[16], n_seconds[16], n_first[24];
    snprintf(script, sizeof script, "%s/insert.sql", dir);
    snprintf(output, sizeof output, "%s/pgbench.out", dir);
    snprintf(n_clients, sizeof n_clients, "%d", clients);
    snprintf(n_threads, sizeof n_threads, "%d", clients < PGBENCH_THREADS ? 1 : PGBENCH_THREADS);
    snprintf(n_seconds, sizeof n_seconds, "%ld", seconds);
    snprintf(n_first, sizeof n_first, "n=%ld", first_hour);
    bool ok = false;
    if (!write_pgbench_script(script, run, pg, kind))
        goto done;

    char *argv[] = {(char *)program, "-n", "-c",    n_clients, "-j",   n_threads,        "-T",
                    n_seconds,       "-D", n_first, "-f",      script, (char *)database, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, STDIN_FILENO);
    pid_t pid;
    int rv = posix_spawn(&pid, program, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rv != 0) {
        fprintf(stderr, "%s: cannot start %s: %s\n", BENCH_PROG, program, strerror(rv));
        goto done;
    }
    double cpu_before = db_server_cpu(run->db_server);
    int status = wait_bounded(pid, seconds + PGBENCH_GRACE_S);
    double cpu_after = db_server_cpu(run->db_server);

    /* Its output: the tps line, and all of it when something went wrong. */
    FILE *f = fopen(output, "r");
    char line[512];
    bool have_tps = false;
    long long failed = 0, processed = 0;
    static const char processed_line[] = "number of transactions actually processed: ";
    while (f && fgets(line, sizeof line, f)) {
        if (!have_tps && strncmp(line, "tps = ", 6) == 0)
            have_tps = sscanf(line + 6, "%lf", &out->tps) == 1;
        else if (strncmp(line, "number of failed transactions: ", 31) == 0)
            failed = strtoll(line + 31, NULL, 10);
        else if (strncmp(line, processed_line, sizeof processed_line - 1) == 0)
            processed = strtoll(line + sizeof processed_line - 1, NULL, 10);
    }
    out->db_cpu_ms = cpu_ms_per(cpu_before, cpu_after, (double)processed);
    ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && have_tps && failed == 0;
    if (!ok) {
        fprintf(stderr, "%s: pgbench failed (%s); its output:\n", BENCH_PROG,
                status < 0                 ? "stopped"
                : !WIFEXITED(status)       ? "killed by a signal"
                : WEXITSTATUS(status) != 0 ? "non-zero exit"
                : !have_tps                ? "no tps line"
                                           : "failed transactions");
        if (f) {
            rewind(f);
            for (int i = 0; i < 200 && fgets(line, sizeof line, f); i++)
                fprintf(stderr, "  %s", line);
        }
    }
    if (f)
        fclose(f);
done:
    unlink(script);
    unlink(output);
    rmdir(dir);
    return ok;
}

/* ------------------------------------------------------------------ output */

#define ROW_FORMAT "%-8s %10s %10s %10s %10s %9s\n"

static void print_row(long callers, const struct bench_result *r)
{
    char n[16], rate[32], p50[32], p99[32], max[32], failures[32];
    snprintf(n, sizeof n, "%ld", callers);
    snprintf(rate, sizeof rate, "%.0f", r->calls_per_s);
    bench_format_us(p50, sizeof p50, r->calls, r->p50_us);
    bench_format_us(p99, sizeof p99, r->calls, r->p99_us);
    bench_format_us(max, sizeof max, r->calls, r->max_us);
    snprintf(failures, sizeof failures, "%llu", (unsigned long long)r->failures);
    printf(ROW_FORMAT, n, rate, p50, p99, max, failures);
    fflush(stdout);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The middle of n values (the mean of the middle two for an even n); sorts them. */
static double median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* Turns the appointments' event trigger on or off (the baseline measures the table alone). */
static bool set_event_trigger(PGconn *db, bool enabled)
{
    PGresult *r =
        PQexec(db, enabled ? "ALTER TABLE appointments ENABLE TRIGGER appointments_event"
                           : "ALTER TABLE appointments DISABLE TRIGGER appointments_event");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: cannot %s the event trigger: %s", BENCH_PROG,
                enabled ? "enable" : "disable", PQerrorMessage(db));
    PQclear(r);
    return ok;
}

/* One round of pgbench, each kind in its own share of the round's hours (the event trigger off
 * for the bare table only). */
static bool run_pgbench_round(const struct options *opt, const char *pgbench, PGconn *db,
                              struct run *run, const struct pgbench_set *pg, long first_hour,
                              long hours, struct pgbench_figures figures[PGBENCH_KINDS])
{
    long share = hours / PGBENCH_KINDS;
    for (int k = 0; k < PGBENCH_KINDS; k++) {
        bool bare = k == PGBENCH_BARE;
        if (bare && !set_event_trigger(db, false))
            return false;
        bool ok = run_pgbench(pgbench, opt->database, run, pg, (enum pgbench_kind)k,
                              (int)opt->pgbench_clients, opt->seconds, first_hour + k * share,
                              &figures[k]);
        if (bare && !set_event_trigger(db, true))
            return false;
        if (!ok)
            return false;
    }
    return true;
}

/* A figure of the table, or "-" when it could not be measured. */
static const char *format_ms(char *buf, size_t len, double ms)
{
    if (isnan(ms))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3f", ms);
    return buf;
}

/* opt->rounds rounds of clinicd at `callers` and then pgbench (each kind), each round a row;
 * stores the median of the rounds' ratios to pgbench on the bare table and of the server's CPU
 * per booking and per bare insert, and adds failed Book calls to *failures. Each round's pgbench
 * books from its own first hour, a share of the horizon apart. False after a sentence on stderr
 * when a measurement could not be taken. */
static bool measure_ratio(const struct options *opt, const char *pgbench, PGconn *db,
                          struct run *run, const struct pgbench_set *pg, long callers,
                          double *ratio, double *book_cpu_ms, double *bare_cpu_ms,
                          uint64_t *failures)
{
    double ratios[MAX_ROUNDS], book_cpu[MAX_ROUNDS], bare_cpu[MAX_ROUNDS];
    long hours_per_round = (long)(HORIZON_DAYS - FIRST_DAY - 1) * 24 / opt->rounds;
    printf("# ratio: %ld rounds of clinicd at %ld callers, then pgbench -n -c %ld -j %d -T %ld "
           "-f script (%s: one INSERT of the same appointment shape per transaction)\n",
           opt->rounds, callers, opt->pgbench_clients,
           opt->pgbench_clients < PGBENCH_THREADS ? 1 : PGBENCH_THREADS, opt->seconds, pgbench);
    printf("# pgbench runs three times a round: notify (the row, its event and a NOTIFY in its\n"
           "# transaction, as every booking did before events left the notify lock), events (the\n"
           "# row and its event, as a booking writes now) and bare (the table alone: constraints,\n"
           "# indexes, commit); the ratio is to bare. db_ms: the database server's CPU time per\n"
           "# Book call (warm-up calls included) and per bare insert, from /proc\n");
    printf("%-6s %10s %15s %15s %13s %7s %10s %10s\n", "round", "clinicd/s", "pgbench_notify",
           "pgbench_events", "pgbench_bare", "ratio", "db_ms_book", "db_ms_bare");
    for (int k = 0; k < opt->rounds; k++) {
        struct bench_result r;
        struct pgbench_figures figures[PGBENCH_KINDS];
        double cpu_before = db_server_cpu(run->db_server);
        if (!bench_measure(&book_ops, run, (int)callers, opt->seconds, &r))
            return false;
        double calls = (double)(r.calls + r.failures) + (double)callers * WARMUP_CALLS;
        book_cpu[k] = cpu_ms_per(cpu_before, db_server_cpu(run->db_server), calls);
        if (r.failures || r.error[0])
            fprintf(stderr, "%s: %llu Book calls of round %d failed; first: %s\n", BENCH_PROG,
                    (unsigned long long)r.failures, k + 1, r.error);
        *failures += r.failures;
        if (!run_pgbench_round(opt, pgbench, db, run, pg, (long)k * hours_per_round,
                               hours_per_round, figures))
            return false;
        double bare = figures[PGBENCH_BARE].tps;
        ratios[k] = bare > 0 ? r.calls_per_s / bare : 0;
        bare_cpu[k] = figures[PGBENCH_BARE].db_cpu_ms;
        char book_ms[16], bare_ms[16];
        printf("%-6d %10.0f %15.0f %15.0f %13.0f %7.2f %10s %10s\n", k + 1, r.calls_per_s,
               figures[PGBENCH_NOTIFY].tps, figures[PGBENCH_EVENTS].tps, bare, ratios[k],
               format_ms(book_ms, sizeof book_ms, book_cpu[k]),
               format_ms(bare_ms, sizeof bare_ms, bare_cpu[k]));
        fflush(stdout);
    }
    *ratio = median(ratios, (int)opt->rounds);
    *book_cpu_ms = median(book_cpu, (int)opt->rounds);
    *bare_cpu_ms = median(bare_cpu, (int)opt->rounds);
    return true;
}

/* ------------------------------------------------------------------ through the gateway */

/* wrk's Lua script: thread k books lane k (as caller k does through libclinic) from its next
 * slot on, each request a Book in JSON with the caller's token and an idempotency key of its
 * own. */
static bool write_wrk_script(const char *path, const struct run *run, int lanes, const char *tag)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", BENCH_PROG, path, strerror(errno));
        return false;
    }
    const char *token = getenv("CLINIC_TOKEN");
    fprintf(f, "-- written by bench/booking: Book through clinic-gateway, lane k on wrk thread k\n"
               "local lanes = {\n");
    for (int k = 0; k < lanes; k++) {
        const struct lane *l = &run->lanes[k];
        fprintf(f, "  {location = \"%lld\", slot = %llu, therapists = {", l->location_id,
                (unsigned long long)l->next_slot);
        for (int t = 0; t < LANE_THERAPISTS; t++)
            fprintf(f, "%s\"%lld\"", t ? ", " : "", l->therapist_ids[t]);
        fprintf(f, "}, clients = {");
        for (int c = 0; c < LANE_CLIENTS; c++)
            fprintf(f, "%s\"%lld\"", c ? ", " : "", l->client_ids[c]);
        fprintf(f, "}},\n");
    }
    fprintf(
        f,
        "}\n"
        "local service, first_epoch, token, tag = \"%lld\", %lld, \"%s\", \"%s\"\n"
        "local started = 0\n"
        "function setup(thread)\n"
        "  started = started + 1\n"
        "  thread:set(\"lane_index\", started)\n"
        "end\n"
        "function init(args)\n"
        "  lane = lanes[lane_index]\n"
        "  slot = lane.slot\n"
        "end\n"
        "function request()\n"
        "  local s = slot\n"
        "  slot = slot + 1\n"
        "  local start = os.date(\"!%%Y-%%m-%%dT%%H:%%M:%%SZ\", first_epoch + math.floor(s / %d) * "
        "3600)\n"
        "  local body = string.format('{\"clientId\":\"%%s\",\"serviceId\":\"%%s\","
        "\"locationId\":\"%%s\",\"startTime\":\"%%s\",\"therapistId\":\"%%s\"}',\n"
        "    lane.clients[s %% %d + 1], service, lane.location, start,"
        " lane.therapists[s %% %d + 1])\n"
        "  return wrk.format(\"POST\", \"%s\", {[\"Content-Type\"] = \"application/json\",\n"
        "    [\"Authorization\"] = \"Bearer \" .. token,\n"
        "    [\"Idempotency-Key\"] = string.format(\"wrk-%%s-%%d-%%d\", tag, lane_index, s)},"
        " body)\n"
        "end\n",
        run->service_id, (long long)run->first_epoch, token ? token : "", tag, LANE_THERAPISTS,
        LANE_CLIENTS, LANE_THERAPISTS, BOOK_METHOD);
    return fclose(f) == 0;
}

/* Runs wrk with one thread and one connection per lane for opt->seconds; stores its
 * Requests/sec and how many answers were not 2xx. False after a sentence on stderr. */
static bool run_wrk(const struct options *opt, const char *script, int lanes, double *rate,
                    long long *not_ok)
{
    char output[] = "/tmp/clinic-booking-wrk.XXXXXX";
    int fd = mkstemp(output);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create a temporary file: %s\n", BENCH_PROG, strerror(errno));
        return false;
    }
    close(fd);
    char n[16], duration[24];
    snprintf(n, sizeof n, "%d", lanes);
    snprintf(duration, sizeof duration, "%lds", opt->seconds);
    char *argv[] = {(char *)opt->wrk,     "-t", n, "-c", n, "-d", duration, "-s", (char *)script,
                    (char *)opt->gateway, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output, O_WRONLY | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, STDIN_FILENO);
    pid_t pid;
    int rv = posix_spawn(&pid, opt->wrk, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    bool ok = false;
    if (rv != 0) {
        fprintf(stderr, "%s: cannot start %s: %s (Debian: apt-get install wrk)\n", BENCH_PROG,
                opt->wrk, strerror(rv));
        unlink(output);
        return false;
    }
    int status = wait_bounded(pid, opt->seconds + PGBENCH_GRACE_S);
    FILE *f = fopen(output, "r");
    char line[512];
    bool have_rate = false;
    *not_ok = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Requests/sec:", 13) == 0)
            have_rate = sscanf(line + 13, "%lf", rate) == 1;
        else if (strstr(line, "Non-2xx or 3xx responses:"))
            *not_ok = strtoll(strstr(line, ":") + 1, NULL, 10);
    }
    ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && have_rate;
    if (!ok && f) {
        fprintf(stderr, "%s: wrk failed; its output:\n", BENCH_PROG);
        rewind(f);
        for (int i = 0; i < 60 && fgets(line, sizeof line, f); i++)
            fprintf(stderr, "  %s", line);
    }
    if (f)
        fclose(f);
    unlink(output);
    return ok;
}

/* opt->rounds rounds of `callers` Book callers through libclinic, then as many wrk connections
 * booking the same lanes through the gateway; stores the median ratio gateway / libclinic. */
static bool measure_gateway(const struct options *opt, struct run *run, long callers,
                            const char *tag, double *ratio, uint64_t *failures)
{
    char script[] = "/tmp/clinic-booking-wrk-script.XXXXXX";
    int fd = mkstemp(script);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create a temporary file: %s\n", BENCH_PROG, strerror(errno));
        return false;
    }
    close(fd);
    double ratios[MAX_ROUNDS];
    printf("# the gateway: %ld rounds of %ld callers through libclinic, then %s -t %ld -c %ld "
           "booking the same lanes as JSON through %s (HTTP/1.1 keep-alive)\n",
           opt->rounds, callers, opt->wrk, callers, callers, opt->gateway);
    printf("%-8s %12s %12s %10s %8s\n", "round", "libclinic/s", "gateway/s", "not_2xx", "ratio");
    bool ok = true;
    for (int k = 0; ok && k < opt->rounds; k++) {
        struct bench_result direct;
        double rate = 0;
        long long not_ok = 0;
        ok = bench_measure(&book_ops, run, (int)callers, opt->seconds, &direct) &&
             write_wrk_script(script, run, (int)callers, tag) &&
             run_wrk(opt, script, (int)callers, &rate, &not_ok);
        for (long l = 0; l < callers; l++)
            run->lanes[l].next_slot += WRK_ROUND_SLOTS;
        if (!ok)
            break;
        *failures += direct.failures + (uint64_t)not_ok;
        if (not_ok)
            fprintf(stderr, "%s: %lld Book calls through the gateway were not answered 2xx\n",
                    BENCH_PROG, not_ok);
        ratios[k] = direct.calls_per_s > 0 ? rate / direct.calls_per_s : 0;
        printf("%-8d %12.0f %12.0f %10lld %8.2f\n", k + 1, direct.calls_per_s, rate, not_ok,
               ratios[k]);
        fflush(stdout);
    }
    unlink(script);
    if (ok)
        *ratio = median(ratios, (int)opt->rounds);
    return ok;
}

/* opt->rounds rounds of `callers` Book callers through the first daemon alone, then spread over
 * both (libclinic spreads calls over the URLs it is given); stores the median ratio both / one.
 * Every caller keeps its own lane, so the two kinds of rounds book the same kind of rows. */
static bool measure_two_daemons(const struct options *opt, struct run *run, long callers,
                                double *ratio, uint64_t *failures)
{
    char both[512];
    snprintf(both, sizeof both, "%s,%s", opt->url, opt->second_url);
    double ratios[MAX_ROUNDS];
    printf("# two daemons: %ld rounds of %ld callers through %s alone, then spread over it and "
           "%s (one database)\n",
           opt->rounds, callers, opt->url, opt->second_url);
    printf("%-8s %12s %12s %8s\n", "round", "one/s", "two/s", "ratio");
    for (int k = 0; k < opt->rounds; k++) {
        struct bench_result one, two;
        run->url = opt->url;
        bool ok = bench_measure(&book_ops, run, (int)callers, opt->seconds, &one);
        run->url = both;
        ok = ok && bench_measure(&book_ops, run, (int)callers, opt->seconds, &two);
        run->url = opt->url;
        if (!ok)
            return false;
        *failures += one.failures + two.failures;
        ratios[k] = one.calls_per_s > 0 ? two.calls_per_s / one.calls_per_s : 0;
        printf("%-8d %12.0f %12.0f %8.2f\n", k + 1, one.calls_per_s, two.calls_per_s, ratios[k]);
        fflush(stdout);
    }
    *ratio = median(ratios, (int)opt->rounds);
    return true;
}

int main(int argc, char **argv)
{
    struct options opt;
    int status = parse_args(argc, argv, &opt);
    if (status >= 0)
        return status;

    char pgbench[512] = "";
    if (opt.pgbench_clients > 0 && !find_pgbench(opt.pgbench, pgbench, sizeof pgbench))
        return BENCH_EXIT_FAILED;
    if (!bench_probe_daemon(opt.url, CALL_TIMEOUT_MS)) {
        nng_fini();
        return BENCH_EXIT_FAILED;
    }
    PGconn *db = bench_db_connect(opt.database);
    if (!db) {
        nng_fini();
        return BENCH_EXIT_FAILED;
    }

    struct run run = {.url = opt.url};
    struct pgbench_set pg = {0};
    for (int i = 0; i < opt.n_callers; i++)
        if (opt.callers[i] > run.n_lanes)
            run.n_lanes = (int)opt.callers[i];
    run.lanes = calloc((size_t)run.n_lanes, sizeof *run.lanes);
    char id[33], tag[9];
    clinic_random_id(id);
    snprintf(tag, sizeof tag, "%.8s", id);
    time_t now = time(NULL);
    run.first_epoch = ((int64_t)now / 86400 + FIRST_DAY) * 86400;
    /* Hours from the first day to the horizon, less a day of margin, four slots each. */
    run.slots_per_lane = (uint64_t)(HORIZON_DAYS - FIRST_DAY - 1) * 24 * LANE_THERAPISTS;
    long long rows_before = 0;
    status = BENCH_EXIT_FAILED;
    if (!run.lanes) {
        fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
        goto done;
    }
    if (!bench_db_i64(db, "counting appointments (is --database the daemon's database?)",
                      "SELECT count(*) FROM appointments", 0, NULL, &rows_before))
        goto done;
    run.db_server = find_db_server(db);
    int64_t t0 = bench_now_ns();
    if (!setup_clinic(db, tag, &run, (int)opt.pgbench_clients, &pg))
        goto done;

    bench_print_machine(argc, argv);
    printf("# clinicd %s; database %s holding %lld appointments before this run\n", opt.url,
           opt.database, rows_before);
    warn_if_never_analyzed(db);
    printf("# set-up %.1f s: per caller a lane (own UTC location, %d rooms, %d therapists, %d "
           "clients; one 60-min service); Book names the therapist, the daemon picks the room; "
           "consecutive hours from 00:00 UTC in %d days; idempotency key on every call\n",
           (double)(bench_now_ns() - t0) / 1e9, LANE_ROOMS, LANE_THERAPISTS, LANE_CLIENTS,
           FIRST_DAY);
    printf("# %ld s per measurement after %d warm-up calls per caller; one connection per "
           "caller\n",
           opt.seconds, WARMUP_CALLS);
    printf(ROW_FORMAT, "callers", "calls/s", "p50_us", "p99_us", "max_us", "failures");
    fflush(stdout);

    uint64_t failures = 0;
    long target_callers = 0;
    bool measured = true;
    for (int i = 0; i < opt.n_callers && measured; i++) {
        struct bench_result r;
        measured = bench_measure(&book_ops, &run, (int)opt.callers[i], opt.seconds, &r);
        if (!measured)
            break;
        print_row(opt.callers[i], &r);
        if (r.failures || r.error[0])
            fprintf(stderr, "%s: %llu Book calls at %ld callers failed; first: %s\n", BENCH_PROG,
                    (unsigned long long)r.failures, opt.callers[i], r.error);
        failures += r.failures;
        /* the ratio is taken at 16 callers, or at the largest count when 16 is not measured */
        if (opt.callers[i] == TARGET_CALLERS ||
            (target_callers != TARGET_CALLERS && opt.callers[i] > target_callers)) {
            target_callers = opt.callers[i];
        }
    }
    if (!measured)
        goto done;
    long long connections = 0;
    if (bench_db_i64(db, "counting clinicd's database connections",
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'clinicd'"
                     " AND datname = current_database()",
                     0, NULL, &connections))
        printf("# clinicd holds %lld connections to this database: one per worker (at most that "
               "many Book calls run at once) and its own background ones\n",
               connections);

    status = failures ? BENCH_EXIT_FAILED : 0;
    if ((opt.pgbench_clients > 0 || opt.second_url || opt.gateway) && !analyze_before_rounds(db)) {
        status = BENCH_EXIT_FAILED;
        goto done;
    }
    if (opt.pgbench_clients > 0) {
        double ratio, book_cpu_ms, bare_cpu_ms;
        uint64_t round_failures = 0;
        if (!measure_ratio(&opt, pgbench, db, &run, &pg, target_callers, &ratio, &book_cpu_ms,
                           &bare_cpu_ms, &round_failures)) {
            status = BENCH_EXIT_FAILED;
            goto done;
        }
        failures += round_failures;
        if (failures)
            status = BENCH_EXIT_FAILED;
        printf("ratio daemon/pgbench at %ld: %.2f, the median of %ld rounds (target >= %.1f at %d "
               "callers: %s)\n",
               target_callers, ratio, opt.rounds, TARGET_RATIO, TARGET_CALLERS,
               target_callers != TARGET_CALLERS ? "not measured"
               : ratio >= TARGET_RATIO          ? "met"
                                                : "NOT met");
        char book_ms[16], bare_ms[16];
        printf("database CPU per booking at %ld callers: %s ms; per bare insert: %s ms (medians; "
               "'-' when the server is not on this machine)\n",
               target_callers, format_ms(book_ms, sizeof book_ms, book_cpu_ms),
               format_ms(bare_ms, sizeof bare_ms, bare_cpu_ms));
    }
    if (opt.second_url) {
        double ratio;
        uint64_t two_failures = 0;
        if (!measure_two_daemons(&opt, &run, target_callers, &ratio, &two_failures)) {
            status = BENCH_EXIT_FAILED;
            goto done;
        }
        failures += two_failures;
        if (failures)
            status = BENCH_EXIT_FAILED;
        printf("ratio two daemons / one at %ld: %.2f, the median of %ld rounds (target >= %.2f: "
               "%s)\n",
               target_callers, ratio, opt.rounds, TARGET_TWO_DAEMONS,
               ratio >= TARGET_TWO_DAEMONS ? "met" : "NOT met");
    }
    if (opt.gateway) {
        double ratio;
        uint64_t gateway_failures = 0;
        if (!measure_gateway(&opt, &run, target_callers, tag, &ratio, &gateway_failures)) {
            status = BENCH_EXIT_FAILED;
            goto done;
        }
        failures += gateway_failures;
        if (failures)
            status = BENCH_EXIT_FAILED;
        printf("ratio gateway / libclinic at %ld: %.2f, the median of %ld rounds (target >= %.1f: "
               "%s)\n",
               target_callers, ratio, opt.rounds, TARGET_GATEWAY,
               ratio >= TARGET_GATEWAY ? "met" : "NOT met");
    }
    if (failures)
        fprintf(stderr,
                "%s: %llu Book calls failed; the figures above count only those that "
                "succeeded\n",
                BENCH_PROG, (unsigned long long)failures);
done:
    free(run.lanes);
    PQfinish(db);
    nng_fini();
    return status;
}
