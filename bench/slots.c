/* slots.c: what a free-slot search costs as the appointments table grows. Scheduling/FindSlots
 * for one service, all therapists who perform it, over 14 days, against a running clinicd whose
 * database holds 10 000 and then 1 000 000 appointments: p50/p99 latency and calls per second
 * at each size, and the ratio of the p99s. The search must cost what it searches (the 14 days
 * of 8 therapists and 8 rooms), not the size of the table.
 *
 * DESIGN:
 *   - The searched clinic is created here by SQL: a location in Europe/Berlin (no minimum
 *     notice, 15-minute grid, a year ahead) with 8 rooms, 8 therapists working 08:00-20:00
 *     every day, a 60-minute service with 15 minutes of buffer after, 224 clients. Its therapists
 *     have 4 appointments a day (08:00, 11:00, 14:00, 17:00 local) from 30 days back to 30 days
 *     ahead, so the searched 14 days hold the same 448 appointments at every size, and leave
 *     3 starts free in each of the 4 gaps a day: 1344 free slots, of which the first page
 *     (page_size 500) is returned.
 *   - The table grows to each size by INSERT ... SELECT over generate_series (one statement per
 *     part; constraints, indexes and the event trigger all run): first the searched therapists'
 *     own history, day by day backwards up to 4 years, then other locations of 8 therapists each
 *     (another service) with 4 appointments a day over 4 years up to 30 days ahead. Rows never
 *     overlap: a therapist and their room have one appointment per slot, and a client belongs to
 *     one (therapist, slot of the day, day of the week).
 *   - After loading, the bench waits until clinicd's event relay has numbered the new events and
 *     gone quiet (one event row per appointment, written by the trigger), then runs VACUUM
 *     ANALYZE on appointments and events, so that neither the relay nor autovacuum runs while
 *     the search is timed.
 *   - Then one caller calls FindSlots for a few seconds (bench_common.h's runner: warm-up,
 *     gate, nearest-rank percentiles). Each reply is checked: 500 slots and a next page.
 * The rows stay in the database: run it against a daemon started for benchmarking (scripts/
 * bench.sh does). Every loop is bounded; everything allocated is freed. */
#define BENCH_PROG "slots"

#include <nng/nng.h>

#include "bench_common.h"
#include "clinic.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "status.h"

#define FIND_METHOD     "/clinic.v1.Scheduling/FindSlots"
#define DEFAULT_SECONDS 5
#define DEFAULT_SIZES   "10000,1000000"
#define MAX_SIZE        20000000L
#define DEFAULT_DAYS    14
#define MAX_DAYS        93 /* clinicd's own limit on a search */
#define PAGE_SIZE       500
#define CALL_TIMEOUT_MS 30000
/* Enough calls to reach every worker of a 16-worker daemon a few times: a connection's first
 * slot searches are slower (catalog caches, plans), and the figure is for a daemon in service. */
#define WARMUP_CALLS    64
#define TIME_ZONE       "Europe/Berlin"
#define PER_LOCATION    8 /* therapists and rooms */
#define SLOTS_PER_DAY   4 /* appointments per therapist and day */
#define CLIENT_WEEKDAYS 7
/* The searched therapists' own grid: days [today - WINDOW_BACK, today + AHEAD_DAYS). */
#define WINDOW_BACK  30
#define AHEAD_DAYS   30
#define HISTORY_DAYS 1461 /* four years: how far back the rows reach */
/* Waiting for the event relay after a load; a second of quiet counts as done. */
#define QUIET_WAIT_S  1800
#define QUIET_POLLS   5
#define QUIET_POLL_MS 200
#define TARGET_P99_MS 20.0
#define TARGET_GROWTH 2.0

struct options {
    const char *url;
    const char *database;
    long seconds;
    long sizes[BENCH_MAX_LIST];
    int n_sizes;
    long days;
};

/* A set of locations with PER_LOCATION therapists and rooms each, as SQL array literals
 * ("{1,2,3}", malloc'd): therapist i works in location i / PER_LOCATION, in room i. */
struct site {
    char *locations, *rooms, *therapists, *clients;
    int n_therapists;
};

struct state {
    PGconn *db;
    char tag[9];
    char today[16]; /* the location's local date, "YYYY-MM-DD" */
    char service[24], filler_service[24];
    struct site searched;
    long long searched_location;
    int history_days; /* of the searched therapists, before their own grid */
    int filler_sites;
};

/* What the caller needs to search. */
struct search {
    const char *url;
    long long service_id, location_id;
    char from[24], to[24];
    size_t slots; /* in the first reply, for the header */
    bool more;
};

/* ------------------------------------------------------------------ command line */

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: slots --database URL [--url URL] [--seconds S] [--sizes LIST] [--days D]\n\n"
            "Grows the appointments table of clinicd's database to each size and measures\n"
            "Scheduling/FindSlots (one service, all its therapists, D days, page_size %d) against\n"
            "a running clinicd: p50/p99 latency and calls per second at each size, and the ratio.\n"
            "Its rows stay behind: use a database set up for benchmarking.\n\n"
            "  --database URL  the daemon's database, a libpq URL (required)\n"
            "  --url URL       the daemon (default %s)\n"
            "  --seconds S     length of each measurement, 1 to %d (default %d)\n"
            "  --sizes LIST    comma-separated table sizes in rows, increasing (default %s)\n"
            "  --days D        days searched, 1 to %d (default %d)\n",
            PAGE_SIZE, CLINIC_DEFAULT_URL, BENCH_MAX_SECONDS, DEFAULT_SECONDS, DEFAULT_SIZES,
            MAX_DAYS, DEFAULT_DAYS);
}

/* Fills opt from argv. Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->url = CLINIC_DEFAULT_URL;
    opt->seconds = DEFAULT_SECONDS;
    opt->days = DEFAULT_DAYS;
    if (!bench_parse_list(DEFAULT_SIZES, 1, MAX_SIZE, opt->sizes, &opt->n_sizes))
        abort();
    for (int i = 1; i < argc; i++) {
        const char *v;
        int taken = bench_take_common(argc, argv, &i, &opt->url, &opt->database, &opt->seconds,
                                      print_usage);
        if (taken != BENCH_OPTION_NOT_MINE) {
            if (taken != BENCH_OPTION_TAKEN)
                return taken;
        } else if (bench_take_option(argc, argv, &i, "--days", &v)) {
            if (!v || !bench_parse_long(v, 1, MAX_DAYS, &opt->days))
                return bench_usage_error(print_usage, "--days must be a whole number from 1 to %d",
                                         MAX_DAYS);
        } else if (bench_take_option(argc, argv, &i, "--sizes", &v)) {
            bool ok = v && bench_parse_list(v, 1, MAX_SIZE, opt->sizes, &opt->n_sizes);
            for (int k = 1; ok && k < opt->n_sizes; k++)
                ok = opt->sizes[k] > opt->sizes[k - 1];
            if (!ok)
                return bench_usage_error(
                    print_usage,
                    "--sizes must be up to %d increasing comma-separated whole "
                    "numbers from 1 to %ld, e.g. %s",
                    BENCH_MAX_LIST, MAX_SIZE, DEFAULT_SIZES);
        } else {
            return bench_usage_error(print_usage, "unknown argument \"%s\"", argv[i]);
        }
    }
    if (!opt->database)
        return bench_usage_error(print_usage,
                                 "--database is required: the daemon's database, where the bench "
                                 "loads its appointments");
    return -1;
}

/* ------------------------------------------------------------------ set-up by SQL */

static const char service_sql[] =
    "INSERT INTO services (name, duration_minutes, buffer_after_minutes, required_features)"
    " VALUES (format('Bench slots %s %s', $2::text, $1::text), 60, 15, '{table}') RETURNING id";
static const char locations_sql[] =
    "WITH l AS (INSERT INTO locations (name, time_zone, min_notice_minutes, max_advance_days,"
    "                                  slot_step_minutes)"
    "           SELECT format('Bench slots %s %s %s', $2::text, k, $1::text), '" TIME_ZONE "',"
    "                  0, 365, 15"
    "           FROM generate_series(1, $3::int) AS k ORDER BY k RETURNING id)"
    " SELECT array_agg(id ORDER BY id)::text FROM l";
/* Rooms in location order, so that room i is in location i / PER_LOCATION like therapist i. */
static const char rooms_sql[] =
    "WITH r AS (INSERT INTO rooms (location_id, name, features)"
    "           SELECT u.l, 'Room ' || k, '{table}'"
    "           FROM unnest($1::bigint[]) WITH ORDINALITY AS u(l, o), generate_series(1, $2::int) k"
    "           ORDER BY u.o, k RETURNING id)"
    " SELECT array_agg(id ORDER BY id)::text FROM r";
static const char therapists_sql[] =
    "WITH t AS (INSERT INTO therapists (name, email)"
    "           SELECT format('Bench %s therapist %s', $2::text, j),"
    "                  format('bench.%s.%s.%s@example.org', $1::text, replace($2::text, ' ', '-'), "
    "j)"
    "           FROM generate_series(1, $3::int) AS j ORDER BY j RETURNING id),"
    " o AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM t),"
    " s AS (INSERT INTO therapist_services (therapist_id, service_id) SELECT id, $4 FROM t),"
    " h AS (INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)"
    "       SELECT o.id, ($5::bigint[])[(o.rn - 1) / $6 + 1], d, '08:00', '20:00'"
    "       FROM o, generate_series(1, 7) AS d)"
    " SELECT array_agg(id ORDER BY id)::text FROM t";
static const char clients_sql[] =
    "WITH c AS (INSERT INTO clients (name)"
    "           SELECT format('Bench %s %s client %s', $1::text, $2::text, j)"
    "           FROM generate_series(1, $3::int) AS j ORDER BY j RETURNING id)"
    " SELECT array_agg(id ORDER BY id)::text FROM c";
/* $1 rows of a site's grid: row i is therapist i % n ($7), in location (i % n) / $10, slot
 * (i / n) % 4 of the day (08:00, 11:00, 14:00, 17:00 local), day $8 + $9 * (i / 4n). Client: one
 * per (therapist, slot, day of the week; 2000-01-03 was a Monday), so none is ever in two places
 * at once. Blocked time: the session and the service's 15 minutes after. The 4 and the 7 are
 * SLOTS_PER_DAY and CLIENT_WEEKDAYS; the 60 and 75 minutes are service_sql's. */
static const char grid_sql[] =
    "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
    "                          start_at, end_at, blocked, booked_by)"
    " SELECT ($4::bigint[])[(g.t * 4 + g.s) * 7 + (g.day - date '2000-01-03') % 7 + 1],"
    "        ($2::bigint[])[g.t + 1], ($3::bigint[])[g.t + 1], $5,"
    "        ($6::bigint[])[g.t / $10::int + 1],"
    "        x.st, x.st + interval '60 minutes', tstzrange(x.st, x.st + interval '75 minutes'),"
    "        'bench'"
    " FROM generate_series(0::bigint, $1::bigint - 1) AS i,"
    "      LATERAL (SELECT (i % $7::int)::int AS t, ((i / $7::int) % 4)::int AS s,"
    "                      $8::date + ($9::int * (i / (4 * $7::int)))::int AS day) AS g,"
    "      LATERAL (SELECT (g.day + make_interval(hours => 8 + 3 * g.s)) AT TIME ZONE '" TIME_ZONE
    "'"
    "               AS st) AS x";

static void site_free(struct site *s)
{
    free(s->locations);
    free(s->rooms);
    free(s->therapists);
    free(s->clients);
    memset(s, 0, sizeof *s);
}

/* Creates n_locations locations "Bench slots <label> k <tag>" with PER_LOCATION rooms and
 * therapists each (who perform service_id and work 08:00-20:00 every day) and the clients of
 * their grid. False after a sentence on stderr. */
static bool site_create(struct state *st, const char *label, const char *service_id,
                        int n_locations, struct site *s)
{
    char n_l[16], n_t[16], n_c[16], per[16];
    s->n_therapists = n_locations * PER_LOCATION;
    snprintf(n_l, sizeof n_l, "%d", n_locations);
    snprintf(n_t, sizeof n_t, "%d", s->n_therapists);
    snprintf(n_c, sizeof n_c, "%d", s->n_therapists * SLOTS_PER_DAY * CLIENT_WEEKDAYS);
    snprintf(per, sizeof per, "%d", PER_LOCATION);
    return (s->locations = bench_db_value(st->db, "creating locations", locations_sql, 3,
                                          (const char *[]){st->tag, label, n_l})) &&
           (s->rooms = bench_db_value(st->db, "creating rooms", rooms_sql, 2,
                                      (const char *[]){s->locations, per})) &&
           (s->therapists = bench_db_value(
                st->db, "creating therapists", therapists_sql, 6,
                (const char *[]){st->tag, label, n_t, service_id, s->locations, per})) &&
           (s->clients = bench_db_value(st->db, "creating clients", clients_sql, 3,
                                        (const char *[]){st->tag, label, n_c}));
}

/* Inserts `rows` rows of the site's grid from first_day on, forwards (+1) or backwards (-1). */
static bool grid_insert(struct state *st, const struct site *s, const char *service_id,
                        long long rows, const char *first_day, int direction)
{
    char n_rows[24], n_t[16], dir[8], per[16];
    snprintf(n_rows, sizeof n_rows, "%lld", rows);
    snprintf(n_t, sizeof n_t, "%d", s->n_therapists);
    snprintf(dir, sizeof dir, "%d", direction);
    snprintf(per, sizeof per, "%d", PER_LOCATION);
    const char *params[] = {n_rows,       s->therapists, s->rooms,  s->clients, service_id,
                            s->locations, n_t,           first_day, dir,        per};
    return bench_db_exec(st->db, "inserting appointments", grid_sql, 10, params);
}

/* "today + days" in the location's calendar, as "YYYY-MM-DD" into out. */
static bool day_from_today(struct state *st, int days, char *out, size_t len)
{
    char n[16];
    snprintf(n, sizeof n, "%d", days);
    char *v = bench_db_value(st->db, "computing a date", "SELECT ($1::date + $2::int)::text", 2,
                             (const char *[]){st->today, n});
    if (v)
        snprintf(out, len, "%s", v);
    free(v);
    return v != NULL;
}

/* The searched clinic and its own grid around today; see DESIGN. */
static bool setup_searched(struct state *st)
{
    char *today =
        bench_db_value(st->db, "reading today's date",
                       "SELECT (now() AT TIME ZONE '" TIME_ZONE "')::date::text", 0, NULL);
    if (!today)
        return false;
    snprintf(st->today, sizeof st->today, "%s", today);
    free(today);
    char *service = bench_db_value(st->db, "creating the service", service_sql, 2,
                                   (const char *[]){st->tag, "searched"});
    char *filler = bench_db_value(st->db, "creating the filler service", service_sql, 2,
                                  (const char *[]){st->tag, "filler"});
    bool ok = service && filler;
    if (ok) {
        snprintf(st->service, sizeof st->service, "%s", service);
        snprintf(st->filler_service, sizeof st->filler_service, "%s", filler);
    }
    free(service);
    free(filler);
    char first[16];
    ok = ok && site_create(st, "searched", st->service, 1, &st->searched) &&
         day_from_today(st, -WINDOW_BACK, first, sizeof first) &&
         grid_insert(st, &st->searched, st->service,
                     (long long)(WINDOW_BACK + AHEAD_DAYS) * SLOTS_PER_DAY * PER_LOCATION, first,
                     1) &&
         bench_db_i64(st->db, "reading the searched location", "SELECT (($1::text)::bigint[])[1]",
                      1, (const char *[]){st->searched.locations}, &st->searched_location);
    return ok;
}

/* Adds `rows` appointments: the searched therapists' history first (whole days backwards, up to
 * HISTORY_DAYS in all), then new filler locations over HISTORY_DAYS up to AHEAD_DAYS ahead. */
static bool grow(struct state *st, long long rows)
{
    const long long per_day = (long long)SLOTS_PER_DAY * PER_LOCATION;
    long long history_room = HISTORY_DAYS - WINDOW_BACK - AHEAD_DAYS - st->history_days;
    long long days = rows / per_day < history_room ? rows / per_day : history_room;
    if (days > 0) {
        char first[16];
        if (!day_from_today(st, -WINDOW_BACK - 1 - st->history_days, first, sizeof first) ||
            !grid_insert(st, &st->searched, st->service, days * per_day, first, -1))
            return false;
        st->history_days += (int)days;
        rows -= days * per_day;
    }
    if (rows <= 0)
        return true;
    const long long per_location = per_day * HISTORY_DAYS;
    int n_locations = (int)((rows + per_location - 1) / per_location);
    char label[32], first[16];
    snprintf(label, sizeof label, "filler %d", ++st->filler_sites);
    struct site filler = {0};
    bool ok = site_create(st, label, st->filler_service, n_locations, &filler) &&
              day_from_today(st, AHEAD_DAYS - HISTORY_DAYS, first, sizeof first) &&
              grid_insert(st, &filler, st->filler_service, rows, first, 1);
    site_free(&filler);
    return ok;
}

/* Waits until clinicd's event relay has numbered every event and its connections have been idle
 * for QUIET_POLLS polls in a row (it publishes what it numbered after numbering it). Returns the
 * seconds waited, or -1 when it did not settle within QUIET_WAIT_S (the figures are then taken
 * anyway, with a warning). */
static double wait_for_relay(struct state *st)
{
    static const char quiet_sql[] =
        "SELECT (SELECT count(*) FROM events WHERE seq IS NULL)"
        "     + (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'clinicd'"
        "        AND datname = current_database() AND state = 'active')";
    int64_t start = bench_now_ns();
    int64_t deadline = start + (int64_t)QUIET_WAIT_S * 1000000000;
    struct timespec pause = {0, QUIET_POLL_MS * 1000000L};
    int quiet = 0;
    while (bench_now_ns() < deadline) {
        long long busy;
        if (!bench_db_i64(st->db, "watching the event relay", quiet_sql, 0, NULL, &busy))
            return -1;
        quiet = busy == 0 ? quiet + 1 : 0;
        if (quiet >= QUIET_POLLS)
            return bench_seconds_since(start);
        nanosleep(&pause, NULL);
    }
    fprintf(stderr, "%s: clinicd's event relay was still busy after %d s; measuring anyway\n",
            BENCH_PROG, QUIET_WAIT_S);
    return -1;
}

/* ------------------------------------------------------------------ the caller */

static bool caller_open(struct bench_caller *c)
{
    const struct search *s = c->shared;
    struct clinic_error err;
    c->own = clinic_connect(s->url, CALL_TIMEOUT_MS, &err);
    if (!c->own)
        bench_caller_note_error(c, "%s", err.message);
    return c->own != NULL;
}

static void caller_close(struct bench_caller *c)
{
    clinic_close(c->own);
    c->own = NULL;
}

/* One FindSlots; true when clinicd answered OK with a full first page and a next page. */
static bool caller_find(struct bench_caller *c)
{
    const struct search *s = c->shared;
    Clinic__V1__FindSlotsRequest req = CLINIC__V1__FIND_SLOTS_REQUEST__INIT;
    req.service_id = s->service_id;
    req.location_id = s->location_id;
    req.from = (char *)s->from;
    req.to = (char *)s->to;
    req.page_size = PAGE_SIZE;
    const struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS};
    ProtobufCMessage *resp = NULL;
    struct clinic_error err;
    int code = clinic_call(c->own, FIND_METHOD, &req.base,
                           &clinic__v1__find_slots_response__descriptor, &resp, &opts, &err);
    if (code != STATUS_OK) {
        bench_caller_note_error(c, "FindSlots: %s: %s", status_code_name(code), err.message);
        return false;
    }
    const Clinic__V1__FindSlotsResponse *r = (const Clinic__V1__FindSlotsResponse *)resp;
    bool ok = r->n_slots == PAGE_SIZE && r->next_page_token && *r->next_page_token;
    if (!ok)
        bench_caller_note_error(
            c, "FindSlots answered %zu slots%s, not a full page of %d and more", r->n_slots,
            r->next_page_token && *r->next_page_token ? " and more" : "", PAGE_SIZE);
    protobuf_c_message_free_unpacked(resp, NULL);
    return ok;
}

static const struct bench_ops find_ops = {
    .open = caller_open, .call = caller_find, .close = caller_close, .warmup_calls = WARMUP_CALLS};

/* ------------------------------------------------------------------ one size */

#define ROW_FORMAT "%-10s %10s %8s %8s %10s %10s %10s %9s\n"

/* Grows the table to `size` rows (when it holds fewer), settles, and measures. */
static bool measure_size(struct state *st, const struct options *opt, struct search *search,
                         long size, struct bench_result *r, long long *rows_out)
{
    long long before, rows;
    if (!bench_db_i64(st->db, "counting appointments", "SELECT count(*) FROM appointments", 0, NULL,
                      &before))
        return false;
    rows = before;
    int64_t t0 = bench_now_ns();
    if (rows < size && !grow(st, size - rows))
        return false;
    double load_s = bench_seconds_since(t0);
    double relay_s = wait_for_relay(st);
    int64_t t1 = bench_now_ns();
    if (!bench_db_exec(st->db, "VACUUM ANALYZE appointments", "VACUUM (ANALYZE) appointments", 0,
                       NULL) ||
        !bench_db_exec(st->db, "VACUUM ANALYZE events", "VACUUM (ANALYZE) events", 0, NULL))
        return false;
    double vacuum_s = bench_seconds_since(t1);
    long long in_window;
    char location[24];
    snprintf(location, sizeof location, "%lld", search->location_id);
    if (!bench_db_i64(st->db, "counting appointments in the searched days",
                      "SELECT count(*) FROM appointments a JOIN locations l ON l.id = a.location_id"
                      " WHERE a.location_id = $1"
                      "   AND a.start_at >= ($2::timestamp AT TIME ZONE l.time_zone)"
                      "   AND a.start_at < ($3::timestamp AT TIME ZONE l.time_zone)",
                      3, (const char *[]){location, search->from, search->to}, &in_window) ||
        !bench_db_i64(st->db, "counting appointments", "SELECT count(*) FROM appointments", 0, NULL,
                      &rows))
        return false;
    printf("# %lld rows: loaded in %.1f s (%lld added), event relay settled after %s%.1f s, "
           "VACUUM ANALYZE %.1f s; %lld appointments in the searched days\n",
           rows, load_s, rows - before, relay_s < 0 ? "more than " : "",
           relay_s < 0 ? (double)QUIET_WAIT_S : relay_s, vacuum_s, in_window);
    fflush(stdout);
    *rows_out = rows;
    return bench_measure(&find_ops, search, 1, opt->seconds, r);
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
    struct state st = {0};
    struct search search = {.url = opt.url};
    struct bench_result *results = calloc((size_t)opt.n_sizes, sizeof *results);
    long long *rows = calloc((size_t)opt.n_sizes, sizeof *rows);
    status = BENCH_EXIT_FAILED;
    if (!results || !rows) {
        fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
        goto done;
    }
    if (!(st.db = bench_db_connect(opt.database)))
        goto done;
    long long before;
    if (!bench_db_i64(st.db, "counting appointments (is --database the daemon's database?)",
                      "SELECT count(*) FROM appointments", 0, NULL, &before))
        goto done;
    if (before >= opt.sizes[0])
        fprintf(stderr,
                "%s: the table already holds %lld appointments, not fewer than %ld: the "
                "smallest size is measured at %lld\n",
                BENCH_PROG, before, opt.sizes[0], before);
    char id[33];
    clinic_random_id(id);
    snprintf(st.tag, sizeof st.tag, "%.8s", id);
    int64_t t0 = bench_now_ns();
    if (!setup_searched(&st))
        goto done;
    search.service_id = strtoll(st.service, NULL, 10);
    search.location_id = st.searched_location;
    char from[16], to[16];
    if (!day_from_today(&st, 1, from, sizeof from) ||
        !day_from_today(&st, 1 + (int)opt.days, to, sizeof to))
        goto done;
    snprintf(search.from, sizeof search.from, "%s 00:00", from);
    snprintf(search.to, sizeof search.to, "%s 00:00", to);

    bench_print_machine(argc, argv);
    printf("# clinicd %s; database %s holding %lld appointments before this run; set-up %.1f s\n",
           opt.url, opt.database, before, bench_seconds_since(t0));
    printf("# FindSlots: service %lld at location %lld (%s, %d therapists, %d rooms, 60 min + 15 "
           "min buffer), from %s to %s local, page_size %d; one caller, %ld s per size after %d "
           "warm-up calls\n",
           search.service_id, search.location_id, TIME_ZONE, PER_LOCATION, PER_LOCATION,
           search.from, search.to, PAGE_SIZE, opt.seconds, WARMUP_CALLS);
    fflush(stdout);

    int measured = 0;
    for (; measured < opt.n_sizes; measured++) {
        if (!measure_size(&st, &opt, &search, opt.sizes[measured], &results[measured],
                          &rows[measured]))
            goto done;
        if (results[measured].failures || results[measured].error[0])
            fprintf(stderr, "%s: %llu FindSlots calls at %lld rows failed; first: %s\n", BENCH_PROG,
                    (unsigned long long)results[measured].failures, rows[measured],
                    results[measured].error);
    }

    printf(ROW_FORMAT, "rows", "calls/s", "p50_ms", "p99_ms", "max_ms", "calls", "failures", "");
    uint64_t failures = 0;
    for (int i = 0; i < measured; i++) {
        const struct bench_result *r = &results[i];
        char n[24], rate[32], p50[32], p99[32], max[32], calls[32], failed[32];
        snprintf(n, sizeof n, "%lld", rows[i]);
        snprintf(rate, sizeof rate, "%.1f", r->calls_per_s);
        bench_format_us(p50, sizeof p50, r->calls, r->p50_us / 1000.0);
        bench_format_us(p99, sizeof p99, r->calls, r->p99_us / 1000.0);
        bench_format_us(max, sizeof max, r->calls, r->max_us / 1000.0);
        snprintf(calls, sizeof calls, "%llu", (unsigned long long)r->calls);
        snprintf(failed, sizeof failed, "%llu", (unsigned long long)r->failures);
        printf(ROW_FORMAT, n, rate, p50, p99, max, calls, failed, "");
        failures += r->failures;
    }
    const struct bench_result *small = &results[0], *large = &results[measured - 1];
    if (measured > 1 && small->calls && large->calls) {
        double growth = large->p99_us / small->p99_us;
        printf("ratio p99(%lld rows)/p99(%lld rows): %.2f (target <= %.1f: %s)\n",
               rows[measured - 1], rows[0], growth, TARGET_GROWTH,
               growth <= TARGET_GROWTH ? "met" : "NOT met");
    }
    if (large->calls)
        printf("p99 at %lld rows: %.1f ms (target < %.0f ms at 1000000: %s)\n", rows[measured - 1],
               large->p99_us / 1000.0, TARGET_P99_MS,
               rows[measured - 1] < 1000000             ? "not measured"
               : large->p99_us / 1000.0 < TARGET_P99_MS ? "met"
                                                        : "NOT met");
    status = failures ? BENCH_EXIT_FAILED : 0;
done:
    site_free(&st.searched);
    PQfinish(st.db);
    free(results);
    free(rows);
    nng_fini();
    return status;
}
