/* Concurrent bookings through two daemons on one database: 32 threads, each with its own
 * connection, half of them to each daemon, book the same few overlapping times at once. The
 * database must end with no overlap for any therapist, room or client; every OK reply must be a
 * row that is really there; every refusal must say the time was taken (taken_refusal), never
 * INTERNAL, UNAVAILABLE or another rule, and no deadlock may surface. Two rounds, on two days.
 * Then one keyed request sent by 16 callers at once through both daemons books once, and courses
 * race single bookings: each course booked whole or not at all, and still no deadlock. All of it
 * in September and October of the year after the current one, so that the test passes whatever
 * day it runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS  60000
#define ZONE             "Europe/Berlin"
#define THREADS          32
#define CALLS_PER_THREAD 4
#define CLIENTS          48
#define ROUNDS           2

static struct harness_pg pg;
static struct harness_daemon daemons[2];
static char db_url[512];
static struct harness_clinic clinic;
/* The days of the two rounds, and the start the same-key callers book, set in setup. */
static char days[ROUNDS][11], same_key_start[32];

/* What one Book call got back. */
struct reply {
    int code;
    int64_t id;
    int64_t therapist;
    char start[40];
    char message[sizeof((struct clinic_error *)0)->message];
};

/* A refusal because the time was taken: ABORTED when it was taken while the call waited for its
 * locks, FAILED_PRECONDITION naming who holds it when the winner had committed before the call
 * looked (a course's refusal lists its sessions' reasons). Any other rule refusing would be a bug
 * of this test's clinic or of the booking rule. */
static bool taken_refusal(const struct reply *r)
{
    if (r->code == STATUS_ABORTED)
        return true;
    return r->code == STATUS_FAILED_PRECONDITION &&
           (strstr(r->message, "busy") || strstr(r->message, "just taken") ||
            strstr(r->message, "already has appointment") || strstr(r->message, "is in use"));
}

struct worker {
    pthread_t thread;
    int index;
    const char *url;
    const char *day;
    pthread_barrier_t *barrier;
    bool connected;
    char connect_error[sizeof((struct clinic_error *)0)->message];
    struct reply replies[CALLS_PER_THREAD];
};

/* Overlapping for one therapist: each blocks 75 minutes (60 + 15 cleanup), so of 09:00, 09:15,
 * 09:30 and 10:00 one therapist can take only one; 10:15 and 11:30 allow a few more to succeed. */
static const char *const times[] = {"09:00", "09:15", "09:30", "10:00", "10:15", "11:30"};
#define N_TIMES (sizeof times / sizeof times[0])

/* --- helpers --- */

static int64_t sql_number(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    if (!v)
        fail_msg("SQL failed: %s", sql);
    int64_t n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* Thread body: connect, wait for everyone, then a bounded series of Book calls. Records
 * everything; asserts nothing (cmocka's assertions belong to the main thread). */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct clinic_error err;
    clinic_client *c = clinic_connect(w->url, CALL_TIMEOUT_MS, &err);
    w->connected = c != NULL;
    if (!c)
        snprintf(w->connect_error, sizeof w->connect_error, "%s", err.message);
    pthread_barrier_wait(w->barrier);
    for (int k = 0; c && k < CALLS_PER_THREAD; k++) {
        char start[32];
        snprintf(start, sizeof start, "%s %s", w->day, times[(size_t)(w->index + k) % N_TIMES]);
        Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
        /* clients shared between threads, so the per-client rule is raced too */
        req.client_id = clinic.client_ids[(w->index + 7 * k) % CLIENTS];
        req.service_id = clinic.service_id;
        req.location_id = clinic.location_id;
        req.start_time = start;
        /* a quarter name therapist 1, a quarter therapist 2, the rest take anyone */
        req.therapist_id = w->index % 4 < 2 ? clinic.therapist_ids[w->index % 4] : 0;
        struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS, .mutating = true};
        ProtobufCMessage *resp = NULL;
        struct reply *r = &w->replies[k];
        r->code = clinic_call(c, "/clinic.v1.Scheduling/Book", &req.base,
                              &clinic__v1__appointment__descriptor, &resp, &opts, &err);
        if (r->code == STATUS_OK) {
            const Clinic__V1__Appointment *a = (const Clinic__V1__Appointment *)resp;
            r->id = a->id;
            r->therapist = a->therapist_id;
            snprintf(r->start, sizeof r->start, "%s", a->start_time);
            protobuf_c_message_free_unpacked(resp, NULL);
        } else {
            snprintf(r->message, sizeof r->message, "%s", err.message);
        }
    }
    if (c)
        clinic_close(c);
    return NULL;
}

/* Pairs of active appointments a, b with the same `shared` column whose ranges overlap: 0
 * expected. */
static int64_t overlaps(const char *shared, const char *a_range, const char *b_range)
{
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id"
             " AND a.%s = b.%s AND %s && %s"
             " WHERE a.status NOT IN ('cancelled', 'no_show')"
             " AND b.status NOT IN ('cancelled', 'no_show')",
             shared, shared, a_range, b_range);
    return sql_number(sql);
}

/* One round on `day`: all threads at once, then every check. */
static void race_round(const char *day)
{
    pthread_barrier_t barrier;
    struct worker *workers = calloc(THREADS, sizeof *workers);
    assert_non_null(workers);
    assert_int_equal(pthread_barrier_init(&barrier, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        workers[i].index = i;
        workers[i].url = daemons[i % 2].url;
        workers[i].day = day;
        workers[i].barrier = &barrier;
        assert_int_equal(pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(workers[i].thread, NULL);
    pthread_barrier_destroy(&barrier);

    int ok = 0, aborted = 0, conflicted = 0;
    int per_daemon_ok[2] = {0, 0};
    for (int i = 0; i < THREADS; i++) {
        const struct worker *w = &workers[i];
        if (!w->connected)
            fail_msg("thread %d could not connect to %s: %s", i, w->url, w->connect_error);
        for (int k = 0; k < CALLS_PER_THREAD; k++) {
            const struct reply *r = &w->replies[k];
            if (r->code == STATUS_OK) {
                ok++;
                per_daemon_ok[i % 2]++;
                char sql[256], want[64];
                snprintf(sql, sizeof sql,
                         "SELECT count(*) FROM appointments WHERE id = %lld AND status = 'booked'"
                         " AND therapist_id = %lld AND clinic_format_instant(start_at, '" ZONE
                         "') = '%s'",
                         (long long)r->id, (long long)r->therapist, r->start);
                if (sql_number(sql) != 1)
                    fail_msg("OK reply %lld at %s (therapist %lld) is not in the table",
                             (long long)r->id, r->start, (long long)r->therapist);
                snprintf(want, sizeof want, "%sT", day);
                assert_true(strncmp(r->start, want, 11) == 0);
                continue;
            }
            if (!taken_refusal(r))
                fail_msg("thread %d call %d: status %d, not a taken time: %s", i, k, r->code,
                         r->message);
            if (strstr(r->message, "deadlock"))
                fail_msg("thread %d call %d: a deadlock surfaced: %s", i, k, r->message);
            aborted++;
            conflicted += strstr(r->message, "conflicted") != NULL;
        }
    }
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM appointments WHERE status NOT IN ('cancelled', 'no_show')"
             " AND start_at >= '%s 00:00'::timestamp AT TIME ZONE '" ZONE "'"
             " AND start_at < ('%s'::date + 1)::timestamp AT TIME ZONE '" ZONE "'",
             day, day);
    int64_t rows = sql_number(sql);
    print_message("round %s: %d OK (%d via daemon A, %d via B), %d taken (%d still conflicted "
                  "after re-runs)\n",
                  day, ok, per_daemon_ok[0], per_daemon_ok[1], aborted, conflicted);
    assert_int_equal(ok + aborted, THREADS * CALLS_PER_THREAD);
    assert_int_equal(ok, rows);
    assert_true(ok >= 1);
    /* each therapist can hold at most 09:00|09:15|09:30|10:00, 10:15 and 11:30 */
    assert_true(ok <= 2 * 3);
    assert_int_equal(overlaps("therapist_id", "a.blocked", "b.blocked"), 0);
    assert_int_equal(overlaps("room_id", "a.blocked", "b.blocked"), 0);
    assert_int_equal(
        overlaps("client_id", "tstzrange(a.start_at, a.end_at)", "tstzrange(b.start_at, b.end_at)"),
        0);
    free(workers);
}

/* --- one idempotency key, many callers at once --- */

#define SAME_KEY_THREADS 16
#define SAME_KEY         "booking-races-one-key"

/* What one caller of the same-key race got back. */
struct same_key_caller {
    pthread_t thread;
    const char *url;
    pthread_barrier_t *barrier;
    struct reply reply;
};

/* Thread body: one Book of same_key_start (the day after the rounds, 10:00) for client 0 with
 * therapist 1, under SAME_KEY, sent at the same moment as every other caller's identical
 * request. Asserts nothing. */
static void *same_key_run(void *arg)
{
    struct same_key_caller *w = arg;
    struct clinic_error err;
    clinic_client *c = clinic_connect(w->url, CALL_TIMEOUT_MS, &err);
    pthread_barrier_wait(w->barrier);
    w->reply.code = -1;
    if (!c) {
        snprintf(w->reply.message, sizeof w->reply.message, "%s", err.message);
        return NULL;
    }
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.start_time = same_key_start;
    req.therapist_id = clinic.therapist_ids[0];
    struct clinic_call_options opts = {
        .timeout_ms = CALL_TIMEOUT_MS, .mutating = true, .idempotency_key = SAME_KEY};
    ProtobufCMessage *resp = NULL;
    w->reply.code = clinic_call(c, "/clinic.v1.Scheduling/Book", &req.base,
                                &clinic__v1__appointment__descriptor, &resp, &opts, &err);
    if (w->reply.code == STATUS_OK) {
        w->reply.id = ((const Clinic__V1__Appointment *)resp)->id;
        protobuf_c_message_free_unpacked(resp, NULL);
    } else {
        snprintf(w->reply.message, sizeof w->reply.message, "%s", err.message);
    }
    clinic_close(c);
    return NULL;
}

/* nng's REQ resends a request whose connection dropped while the first may still be running:
 * every arrival of one keyed request, even at the same moment through two daemons, must get the
 * first call's answer (the same appointment), and the clinic must hold that one appointment. */
static void one_key_sent_by_many_callers_at_once_books_once(void **state)
{
    (void)state;
    pthread_barrier_t barrier;
    struct same_key_caller callers[SAME_KEY_THREADS];
    memset(callers, 0, sizeof callers);
    assert_int_equal(pthread_barrier_init(&barrier, NULL, SAME_KEY_THREADS), 0);
    for (int i = 0; i < SAME_KEY_THREADS; i++) {
        callers[i].url = daemons[i % 2].url;
        callers[i].barrier = &barrier;
        assert_int_equal(pthread_create(&callers[i].thread, NULL, same_key_run, &callers[i]), 0);
    }
    for (int i = 0; i < SAME_KEY_THREADS; i++)
        pthread_join(callers[i].thread, NULL);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < SAME_KEY_THREADS; i++) {
        if (callers[i].reply.code != STATUS_OK)
            fail_msg("caller %d: status %d: %s", i, callers[i].reply.code,
                     callers[i].reply.message);
        assert_int_equal(callers[i].reply.id, callers[0].reply.id);
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM appointments WHERE client_id = %lld"
             " AND start_at = '%s'::timestamp AT TIME ZONE '" ZONE "'",
             (long long)clinic.client_ids[0], same_key_start);
    assert_int_equal(sql_number(sql), 1);
    assert_int_equal(sql_number("SELECT count(*) FROM idempotency_keys WHERE key = '" SAME_KEY "'"),
                     1);
}

/* --- courses and single bookings at once --- */

/* A course takes the locks of several sessions in one transaction. Before sql/0015 it took them
 * session by session, so it could hold the room of its first date while waiting for the
 * therapist of its second, against a single booking holding that therapist and waiting for the
 * room: a deadlock. Now every call takes its locks in one global order. Course callers and
 * single bookers race over the same few days and times through both daemons; every reply must be
 * OK or a taken time (taken_refusal), a course must be booked whole or not at all, and nothing may
 * overlap. the_database_never_detected_a_deadlock then checks the server log for this race too. */
#define COURSE_THREADS   8
#define SINGLE_THREADS   8
#define COURSE_CALLS     3
#define COURSE_SESSIONS  3
#define COURSE_FIRST_DAY 5 /* of October of next year; sessions on the 5th to the 12th */

struct course_worker {
    pthread_t thread;
    int index;
    bool course; /* a course caller, else a single booker */
    const char *url;
    pthread_barrier_t *barrier;
    bool connected;
    char first[COURSE_CALLS][32]; /* what each call booked first (a course: its first session) */
    int64_t client;
    struct reply replies[COURSE_CALLS];
    size_t booked[COURSE_CALLS]; /* appointments an OK course reply holds */
};

static int course_year;

/* Thread body: COURSE_CALLS courses of COURSE_SESSIONS daily sessions (client `index`), or as many
 * single bookings (clients shared by the single bookers), all at the same few times. Records
 * everything; asserts nothing. */
static void *course_worker_run(void *arg)
{
    struct course_worker *w = arg;
    struct clinic_error err;
    clinic_client *c = clinic_connect(w->url, CALL_TIMEOUT_MS, &err);
    w->connected = c != NULL;
    pthread_barrier_wait(w->barrier);
    for (int k = 0; c && k < COURSE_CALLS; k++) {
        struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS, .mutating = true};
        ProtobufCMessage *resp = NULL;
        struct reply *r = &w->replies[k];
        /* a client's calls never share a start, so that each course can be found again */
        snprintf(w->first[k], sizeof w->first[k], "%04d-10-%02d %s", course_year,
                 COURSE_FIRST_DAY + (w->index + k) % 6,
                 times[(size_t)(w->index + 2 * k) % N_TIMES]);
        if (w->course) {
            Clinic__V1__BookCourseRequest req = CLINIC__V1__BOOK_COURSE_REQUEST__INIT;
            req.client_id = w->client;
            req.service_id = clinic.service_id;
            req.location_id = clinic.location_id;
            req.first_start_time = w->first[k];
            req.count = COURSE_SESSIONS;
            req.every = 1;
            req.unit = CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_DAYS;
            r->code =
                clinic_call(c, "/clinic.v1.Scheduling/BookCourse", &req.base,
                            &clinic__v1__book_course_response__descriptor, &resp, &opts, &err);
            if (r->code == STATUS_OK)
                w->booked[k] = ((const Clinic__V1__BookCourseResponse *)resp)->n_appointments;
        } else {
            Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
            req.client_id = clinic.client_ids[COURSE_THREADS + (w->index * 3 + k) % 16];
            req.service_id = clinic.service_id;
            req.location_id = clinic.location_id;
            req.start_time = w->first[k];
            r->code = clinic_call(c, "/clinic.v1.Scheduling/Book", &req.base,
                                  &clinic__v1__appointment__descriptor, &resp, &opts, &err);
        }
        if (r->code == STATUS_OK)
            protobuf_c_message_free_unpacked(resp, NULL);
        else
            snprintf(r->message, sizeof r->message, "%s", err.message);
    }
    if (c)
        clinic_close(c);
    return NULL;
}

/* Active appointments of client at the local starts first, first + 1 day, ... (n of them). */
static int64_t course_rows(int64_t client, const char *first, int n)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM appointments WHERE client_id = %lld"
             " AND status NOT IN ('cancelled', 'no_show') AND start_at IN (SELECT"
             " ('%s'::timestamp + make_interval(days => i)) AT TIME ZONE '" ZONE "'"
             " FROM generate_series(0, %d) AS i)",
             (long long)client, first, n - 1);
    return sql_number(sql);
}

static void courses_and_single_bookings_at_once_never_deadlock_and_stay_whole(void **state)
{
    (void)state;
    enum { N = COURSE_THREADS + SINGLE_THREADS };
    pthread_barrier_t barrier;
    struct course_worker *workers = calloc(N, sizeof *workers);
    assert_non_null(workers);
    course_year = harness_next_year();
    assert_int_equal(pthread_barrier_init(&barrier, NULL, N), 0);
    for (int i = 0; i < N; i++) {
        workers[i].index = i;
        workers[i].course = i % 2 == 0;
        workers[i].client = clinic.client_ids[i / 2];
        workers[i].url = daemons[i % 4 < 2 ? 0 : 1].url;
        workers[i].barrier = &barrier;
        assert_int_equal(pthread_create(&workers[i].thread, NULL, course_worker_run, &workers[i]),
                         0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(workers[i].thread, NULL);
    pthread_barrier_destroy(&barrier);

    int courses_ok = 0, courses_refused = 0, singles_ok = 0, singles_refused = 0, conflicted = 0;
    for (int i = 0; i < N; i++) {
        const struct course_worker *w = &workers[i];
        if (!w->connected)
            fail_msg("thread %d could not connect to %s", i, w->url);
        for (int k = 0; k < COURSE_CALLS; k++) {
            const struct reply *r = &w->replies[k];
            if (r->code != STATUS_OK && !taken_refusal(r))
                fail_msg("thread %d call %d (%s): status %d, neither OK nor a taken time: %s", i, k,
                         w->course ? "course" : "booking", r->code, r->message);
            if (strstr(r->message, "deadlock"))
                fail_msg("thread %d call %d: a deadlock surfaced: %s", i, k, r->message);
            conflicted += strstr(r->message, "conflicted") != NULL;
            if (!w->course) {
                singles_ok += r->code == STATUS_OK;
                singles_refused += r->code != STATUS_OK;
                continue;
            }
            int64_t rows = course_rows(w->client, w->first[k], COURSE_SESSIONS);
            if (r->code == STATUS_OK) {
                courses_ok++;
                assert_int_equal(w->booked[k], COURSE_SESSIONS);
                if (rows != COURSE_SESSIONS)
                    fail_msg("course %d/%d from %s was booked but %lld of %d sessions are there", i,
                             k, w->first[k], (long long)rows, COURSE_SESSIONS);
            } else {
                courses_refused++;
                if (rows != 0)
                    fail_msg("course %d/%d from %s was refused (%s) but %lld sessions are there", i,
                             k, w->first[k], r->message, (long long)rows);
            }
        }
    }
    print_message("courses: %d booked whole, %d refused whole; single bookings: %d OK, %d "
                  "taken; %d still conflicted after re-runs\n",
                  courses_ok, courses_refused, singles_ok, singles_refused, conflicted);
    assert_true(courses_ok + singles_ok >= 1);
    assert_int_equal(overlaps("therapist_id", "a.blocked", "b.blocked"), 0);
    assert_int_equal(overlaps("room_id", "a.blocked", "b.blocked"), 0);
    assert_int_equal(
        overlaps("client_id", "tstzrange(a.start_at, a.end_at)", "tstzrange(b.start_at, b.end_at)"),
        0);
    free(workers);
}

/* --- set-up --- */

static int setup(void **state)
{
    (void)state;
    int year = harness_next_year();
    for (int round = 0; round < ROUNDS; round++)
        snprintf(days[round], sizeof days[round], "%04d-09-%02d", year, 6 + round);
    snprintf(same_key_start, sizeof same_key_start, "%04d-09-%02d 10:00", year, 6 + ROUNDS);
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "booking_races", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemons[0], pg.dir, db_url, NULL, true) ||
        !harness_daemon_start(&daemons[1], pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 2, CLIENTS, &clinic))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int a = harness_daemon_stop(&daemons[0]);
    int b = harness_daemon_stop(&daemons[1]);
    harness_pg_destroy(&pg);
    return a == 0 && b == 0 ? 0 : -1;
}

/* --- tests --- */

static void concurrent_bookings_through_two_daemons_never_overlap(void **state)
{
    (void)state;
    for (int round = 0; round < ROUNDS; round++)
        race_round(days[round]);
}

static void no_daemon_logged_an_internal_error(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        char *log = harness_daemon_log(&daemons[i]);
        assert_non_null(log);
        if (strstr(log, " code=13"))
            fail_msg("daemon %d's log shows an INTERNAL reply:\n%s", i, log);
        free(log);
    }
}

/* Counts lines of the server log containing `what`. */
static int server_log_count(const char *what)
{
    char path[sizeof pg.pg.log_dir + 32];
    snprintf(path, sizeof path, "%s/postgresql.log", pg.pg.log_dir);
    char *log = harness_read_file(path);
    assert_non_null(log);
    int n = 0;
    for (const char *p = strstr(log, what); p; p = strstr(p + 1, what))
        n++;
    free(log);
    return n;
}

/* The advisory locks taken in one global order before the insert mean no deadlock even happens,
 * let alone reaches a caller, in the bookings' race nor in the courses': PostgreSQL itself never
 * detected one. */
static void the_database_never_detected_a_deadlock(void **state)
{
    (void)state;
    print_message("server log: %d deadlocks, %d exclusion-constraint refusals, %d re-runs after"
                  " a resource was taken while waiting for its lock\n",
                  server_log_count("deadlock detected"),
                  server_log_count("violates exclusion constraint"),
                  server_log_count("the chosen therapist or room was just taken"));
    assert_int_equal(server_log_count("deadlock detected"), 0);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_bookings_through_two_daemons_never_overlap),
        cmocka_unit_test(one_key_sent_by_many_callers_at_once_books_once),
        cmocka_unit_test(courses_and_single_bookings_at_once_never_deadlock_and_stay_whole),
        cmocka_unit_test(no_daemon_logged_an_internal_error),
        cmocka_unit_test(the_database_never_detected_a_deadlock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
