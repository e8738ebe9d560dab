/* reports.c: what the reports cost on years of data. A clinic of 10 therapists and 10 rooms,
 * open 08:00-18:00 on weekdays, is written by SQL with `--years` years (default 3) of weekly
 * courses: 500 weekly hours, each kept by one client for a course of six sessions, then the
 * next client; about 26 000 appointments a year, with no-shows, late and timely cancellations,
 * the future still booked, and a receipt for every session given. Then every report
 * (Reports/Utilisation, Attendance, Clients, Courses, Revenue) is timed over the last year and
 * over all the years, two ways side by side:
 *   sql  the report's SQL function alone, through libpq (what PostgreSQL spends);
 *   rpc  the daemon's method through libclinic (the function, the rows made into protobuf, the
 *        call on the wire).
 * Each figure is the median and the slowest of --runs calls after 3 warm-up calls, and the
 * ratio of the median to the target: a year in under 200 ms.
 *
 * DESIGN: the rows are written with INSERT ... SELECT over generate_series, triggers off
 * (session_replication_role = replica: the event and outbox rows of 80 000 invented
 * appointments would only slow the load; the bench's database user is the embedded cluster's
 * superuser), then ANALYZE. The clinic's names carry the process id, so runs can share a
 * database. Every loop is bounded. */
#define BENCH_PROG "reports"

#include <nng/nng.h>

#include "bench_common.h"
#include "clinic.h"
#include "clinic/v1/reports.pb-c.h"
#include "status.h"

#define DEFAULT_YEARS   3
#define MAX_YEARS       10
#define DEFAULT_RUNS    20
#define MAX_RUNS        1000
#define WARMUP_RUNS     3
#define TARGET_MS       200.0
#define CALL_TIMEOUT_MS 60000

struct options {
    const char *url, *database;
    long seconds; /* taken for bench_take_common; unused */
    long years, runs;
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: reports --database URL [--url URL] [--years N] [--runs N]\n\n"
            "Writes N years of a 10-therapist clinic (about 26 000 appointments a year) into\n"
            "clinicd's database and times each report over the last year and over all N years:\n"
            "its SQL function alone and the daemon's method, median and slowest of the runs.\n"
            "Its rows stay behind: use a database set up for benchmarking.\n\n"
            "  --database URL  the daemon's database, a libpq URL (required)\n"
            "  --url URL       the daemon (default %s); calls carry CLINIC_TOKEN\n"
            "  --years N       years of appointments, 1 to %d (default %d)\n"
            "  --runs N        timed calls per figure, 1 to %d (default %d)\n",
            CLINIC_DEFAULT_URL, MAX_YEARS, DEFAULT_YEARS, MAX_RUNS, DEFAULT_RUNS);
}

static int parse_args(int argc, char **argv, struct options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->url = CLINIC_DEFAULT_URL;
    opt->years = DEFAULT_YEARS;
    opt->runs = DEFAULT_RUNS;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int taken = bench_take_common(argc, argv, &i, &opt->url, &opt->database, &opt->seconds,
                                      print_usage);
        if (taken != BENCH_OPTION_NOT_MINE) {
            if (taken != BENCH_OPTION_TAKEN)
                return taken;
        } else if (bench_take_option(argc, argv, &i, "--years", &v)) {
            if (!v || !bench_parse_long(v, 1, MAX_YEARS, &opt->years))
                return bench_usage_error(print_usage, "--years must be a whole number from 1 to %d",
                                         MAX_YEARS);
        } else if (bench_take_option(argc, argv, &i, "--runs", &v)) {
            if (!v || !bench_parse_long(v, 1, MAX_RUNS, &opt->runs))
                return bench_usage_error(print_usage, "--runs must be a whole number from 1 to %d",
                                         MAX_RUNS);
        } else {
            return bench_usage_error(print_usage, "unknown argument \"%s\"", argv[i]);
        }
    }
    if (!opt->database)
        return bench_usage_error(print_usage,
                                 "--database is required: the daemon's database, where the bench "
                                 "writes its clinic");
    return -1;
}

/* ------------------------------------------------------------------ the clinic, by SQL */

/* Each statement runs on its own; seed_args holds the run's tag and the number of weeks. */
static const char *const seed_sql[] = {
    "SET session_replication_role = replica",
    "CREATE TEMP TABLE seed_ids AS"
    " WITH loc AS (INSERT INTO locations (name, time_zone)"
    "              VALUES ('Bench reports ' || (SELECT tag FROM seed_args), 'Europe/Berlin') "
    "RETURNING id),"
    " svc AS (INSERT INTO services (name, duration_minutes, price_cents)"
    "         VALUES ('Bench reports massage ' || (SELECT tag FROM seed_args), 60, 8000) RETURNING "
    "id)"
    " SELECT loc.id AS location_id, svc.id AS service_id FROM loc, svc",
    "INSERT INTO rooms (location_id, name)"
    " SELECT location_id, 'Room ' || n FROM seed_ids, generate_series(1, 10) n",
    "INSERT INTO therapists (name, email)"
    " SELECT 'Therapist ' || n || ' ' || (SELECT tag FROM seed_args), 'bench-t' || n || '-' || "
    "(SELECT tag FROM seed_args) || '@clinic.invalid'"
    " FROM generate_series(1, 10) n",
    "CREATE TEMP TABLE seed_therapists AS SELECT row_number() OVER (ORDER BY t.id) AS n, t.id"
    " FROM therapists t WHERE t.email LIKE 'bench-t%-' || (SELECT tag FROM seed_args) || "
    "'@clinic.invalid'",
    "CREATE TEMP TABLE seed_rooms AS SELECT row_number() OVER (ORDER BY r.id) AS n, r.id"
    " FROM rooms r, seed_ids s WHERE r.location_id = s.location_id",
    "INSERT INTO therapist_services SELECT t.id, s.service_id FROM seed_therapists t, seed_ids s",
    "INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local,"
    " valid_from) SELECT t.id, s.location_id, d, '08:00', '18:00', current_date - 7 * (SELECT "
    "weeks FROM seed_args) - 7"
    " FROM seed_therapists t, seed_ids s, generate_series(1, 5) d",
    "INSERT INTO clients (name) SELECT 'Bench client ' || n || ' ' || (SELECT tag FROM seed_args)"
    " FROM generate_series(1, 3000) n",
    "CREATE TEMP TABLE seed_clients AS SELECT row_number() OVER (ORDER BY c.id) - 1 AS n, c.id"
    " FROM clients c WHERE c.name LIKE 'Bench client % ' || (SELECT tag FROM seed_args)",
    /* 500 weekly hours (therapist, weekday, hour) over the weeks up to this one; an hour is one
     * client's for six weeks (a course), then the next client's */
    "CREATE TEMP TABLE seed_sessions AS"
    " SELECT ((t.n - 1) * 50 + (d - 1) * 10 + (h - 8))::int AS slot, w / 6 AS run,"
    "        t.id AS therapist_id, r.id AS room_id,"
    "        clinic_local_instant((date_trunc('week', current_date)::date"
    "                              - 7 * ((SELECT weeks FROM seed_args) - 1 - w) + d - 1) + "
    "make_time(h, 0, 0),"
    "                             'Europe/Berlin') AS start_at"
    " FROM seed_therapists t JOIN seed_rooms r ON r.n = t.n, generate_series(1, 5) d,"
    "      generate_series(8, 17) h, generate_series(0, (SELECT weeks FROM seed_args) - 1) w",
    "INSERT INTO courses (client_id, therapist_id, service_id, location_id, created_by)"
    " SELECT DISTINCT ON (x.slot, x.run) c.id, x.therapist_id, s.service_id, s.location_id,"
    "        'bench:' || x.slot || ':' || x.run"
    " FROM seed_sessions x JOIN seed_clients c ON c.n = (x.slot + 500 * x.run) % 3000, seed_ids s",
    /* one in 25 a no-show, 3 in 100 cancelled late, 5 in 100 in time; the future booked */
    "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
    " start_at, end_at, blocked, status, late_cancel, course_id)"
    " SELECT c.id, x.therapist_id, x.room_id, s.service_id, s.location_id, x.start_at,"
    "        x.start_at + interval '1 hour', tstzrange(x.start_at, x.start_at + interval '1 hour'),"
    "        CASE WHEN x.start_at > now() THEN 'booked' WHEN h.v < 4 THEN 'no_show'"
    "             WHEN h.v < 12 THEN 'cancelled' ELSE 'completed' END::appointment_status,"
    "        x.start_at <= now() AND h.v BETWEEN 4 AND 6, co.id"
    " FROM seed_sessions x JOIN seed_clients c ON c.n = (x.slot + 500 * x.run) % 3000"
    " CROSS JOIN seed_ids s"
    " JOIN courses co ON co.created_by = 'bench:' || x.slot || ':' || x.run"
    "                AND co.location_id = s.location_id"
    " CROSS JOIN LATERAL (SELECT abs(hashtext(x.slot || ':' || x.start_at)) % 100 AS v) h",
    /* a receipt for every session given: 80.00 with 19 % tax in it, paid by card */
    "INSERT INTO receipts (location_id, number, kind, issued_at, location_name, location_address,"
    " time_zone, currency, client_id, client_name, therapist_id, therapist_name, service_id,"
    " service_name, appointment_id, session_start, description, price_cents, gross_cents,"
    " tax_rate_bp, net_cents, tax_cents, paid_by)"
    " SELECT a.location_id, row_number() OVER (ORDER BY a.start_at, a.id), 'session', a.end_at,"
    "        l.name, '', l.time_zone, 'EUR', a.client_id, c.name, a.therapist_id, t.name,"
    "        a.service_id, s.name, a.id, a.start_at, s.name, 8000, 8000, 1900, 6723, 1277, 'card'"
    " FROM appointments a JOIN locations l ON l.id = a.location_id"
    " JOIN clients c ON c.id = a.client_id JOIN therapists t ON t.id = a.therapist_id"
    " JOIN services s ON s.id = a.service_id"
    " WHERE a.location_id = (SELECT location_id FROM seed_ids) AND a.status = 'completed'",
    "SET session_replication_role = origin",
    "ANALYZE appointments",
    "ANALYZE courses",
    "ANALYZE receipts",
};

/* Writes the clinic; its location's id into *location. */
static bool seed(PGconn *db, long years, long long *location)
{
    char tag[32], weeks[16];
    snprintf(tag, sizeof tag, "%ld", (long)getpid());
    snprintf(weeks, sizeof weeks, "%ld", years * 52);
    int64_t t0 = bench_now_ns();
    if (!bench_db_exec(db, "writing the clinic",
                       "CREATE TEMP TABLE seed_args AS SELECT $1::text AS tag, $2::int AS weeks", 2,
                       (const char *[]){tag, weeks}))
        return false;
    for (size_t i = 0; i < sizeof seed_sql / sizeof seed_sql[0]; i++)
        if (!bench_db_exec(db, "writing the clinic", seed_sql[i], 0, NULL))
            return false;
    long long rows;
    if (!bench_db_i64(db, "reading the location", "SELECT location_id FROM seed_ids", 0, NULL,
                      location))
        return false;
    char loc[24];
    snprintf(loc, sizeof loc, "%lld", *location);
    if (!bench_db_i64(db, "counting",
                      "SELECT count(*) FROM appointments WHERE location_id = $1::bigint", 1,
                      (const char *[]){loc}, &rows))
        return false;
    printf("# the clinic: location %lld, 10 therapists, 10 rooms, %lld appointments over %ld "
           "weeks, written in %.1f s\n",
           *location, rows, years * 52, bench_seconds_since(t0));
    return true;
}

/* ------------------------------------------------------------------ timing */

struct report {
    const char *name, *function, *method;
    const ProtobufCMessageDescriptor *reply;
};

static const struct report reports[] = {
    {"utilisation", "clinic_report_utilisation", "/clinic.v1.Reports/Utilisation",
     &clinic__v1__utilisation_report__descriptor},
    {"attendance", "clinic_report_attendance", "/clinic.v1.Reports/Attendance",
     &clinic__v1__attendance_report__descriptor},
    {"clients", "clinic_report_clients", "/clinic.v1.Reports/Clients",
     &clinic__v1__clients_report__descriptor},
    {"courses", "clinic_report_courses", "/clinic.v1.Reports/Courses",
     &clinic__v1__courses_report__descriptor},
    {"revenue", "clinic_report_revenue", "/clinic.v1.Reports/Revenue",
     &clinic__v1__revenue_report__descriptor},
};

struct period {
    const char *label;
    char first[11], last[11];
};

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median and the largest of n milliseconds (sorted in place). */
static void summarise(double *ms, long n, double *median, double *max)
{
    qsort(ms, (size_t)n, sizeof *ms, compare_double);
    *median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    *max = ms[n - 1];
}

static bool time_sql(PGconn *db, const struct report *rep, const char *loc, const struct period *p,
                     long runs, double *ms)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s($1::bigint, $2::date, $3::date)",
             rep->function);
    const char *params[] = {loc, p->first, p->last};
    for (long i = -WARMUP_RUNS; i < runs; i++) {
        int64_t t0 = bench_now_ns();
        if (!bench_db_exec(db, rep->name, sql, 3, params))
            return false;
        if (i >= 0)
            ms[i] = (double)(bench_now_ns() - t0) / 1e6;
    }
    return true;
}

static bool time_rpc(clinic_client *c, const struct report *rep, long long location,
                     const struct period *p, long runs, double *ms)
{
    Clinic__V1__ReportRequest req = CLINIC__V1__REPORT_REQUEST__INIT;
    req.location_id = location;
    req.first_day = (char *)p->first;
    req.last_day = (char *)p->last;
    const struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS};
    for (long i = -WARMUP_RUNS; i < runs; i++) {
        ProtobufCMessage *resp = NULL;
        struct clinic_error err;
        int64_t t0 = bench_now_ns();
        int code = clinic_call(c, rep->method, &req.base, rep->reply, &resp, &opts, &err);
        double took = (double)(bench_now_ns() - t0) / 1e6;
        if (code != STATUS_OK) {
            fprintf(stderr, "%s: %s: %s: %s\n", BENCH_PROG, rep->method, status_code_name(code),
                    err.message);
            return false;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        if (i >= 0)
            ms[i] = took;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct options opt;
    int status = parse_args(argc, argv, &opt);
    if (status >= 0)
        return status;
    if (!bench_probe_daemon(opt.url, CALL_TIMEOUT_MS)) {
        nng_fini();
        return BENCH_EXIT_FAILED;
    }
    bench_print_machine(argc, argv);
    PGconn *db = bench_db_connect(opt.database);
    double *sql_ms = calloc((size_t)opt.runs, sizeof *sql_ms);
    double *rpc_ms = calloc((size_t)opt.runs, sizeof *rpc_ms);
    struct clinic_error err;
    clinic_client *c = db ? clinic_connect(opt.url, CALL_TIMEOUT_MS, &err) : NULL;
    long long location = 0;
    struct period periods[2] = {{.label = "last year"}, {.label = "all years"}};
    char *today = NULL;
    bool ok = db && sql_ms && rpc_ms && c && seed(db, opt.years, &location) &&
              (today = bench_db_value(db, "reading today", "SELECT current_date::text", 0, NULL));
    if (ok) {
        char *year_ago =
            bench_db_value(db, "a year ago", "SELECT (current_date - 364)::text", 0, NULL);
        char years_ago[24], *all = NULL;
        snprintf(years_ago, sizeof years_ago, "%ld", opt.years * 52 * 7 - 1);
        all = bench_db_value(db, "the first day", "SELECT (current_date - $1::int)::text", 1,
                             (const char *[]){years_ago});
        ok = year_ago && all;
        if (ok) {
            snprintf(periods[0].first, sizeof periods[0].first, "%s", year_ago);
            snprintf(periods[1].first, sizeof periods[1].first, "%s", all);
            snprintf(periods[0].last, sizeof periods[0].last, "%s", today);
            snprintf(periods[1].last, sizeof periods[1].last, "%s", today);
        }
        free(year_ago);
        free(all);
    } else if (db && !c) {
        fprintf(stderr, "%s: %s\n", BENCH_PROG, err.message);
    }
    char loc[24];
    snprintf(loc, sizeof loc, "%lld", location);
    if (ok)
        printf("%-12s %-10s %10s %10s %10s %10s %14s\n", "report", "period", "sql_p50_ms",
               "sql_max_ms", "rpc_p50_ms", "rpc_max_ms", "rpc_p50/200ms");
    for (size_t r = 0; ok && r < sizeof reports / sizeof reports[0]; r++) {
        for (int p = 0; ok && p < 2; p++) {
            double sql_med, sql_max, rpc_med, rpc_max;
            ok = time_sql(db, &reports[r], loc, &periods[p], opt.runs, sql_ms) &&
                 time_rpc(c, &reports[r], location, &periods[p], opt.runs, rpc_ms);
            if (!ok)
                break;
            summarise(sql_ms, opt.runs, &sql_med, &sql_max);
            summarise(rpc_ms, opt.runs, &rpc_med, &rpc_max);
            printf("%-12s %-10s %10.1f %10.1f %10.1f %10.1f %14.2f\n", reports[r].name,
                   periods[p].label, sql_med, sql_max, rpc_med, rpc_max, rpc_med / TARGET_MS);
            fflush(stdout);
        }
    }
    if (ok)
        printf("# a year: %s to %s; all years: from %s. Target: a year in under %.0f ms "
               "(ratio below 1).\n",
               periods[0].first, periods[0].last, periods[1].first, TARGET_MS);
    free(today);
    free(sql_ms);
    free(rpc_ms);
    clinic_close(c);
    PQfinish(db);
    nng_fini();
    return ok ? 0 : BENCH_EXIT_FAILED;
}
