/* Confirmations and reminders through real daemons to a real SMTP server (tests/integration/
 * smtp_sink.py, aiosmtpd) and a webhook receiver (webhook_sink.py): booking, moving and cancelling
 * each send one message, written in the location's local time on both sides of Berlin's clock
 * changes (checked against Python's zoneinfo and read with Python's email package, apart from
 * clinicd's code); a course booked at once is one message listing its sessions; a cancelled
 * appointment's reminder never goes; a reminder inside the lead goes
 * at once; opting out and having no address are honoured; a signed note's text never appears;
 * the webhook's HMAC verifies; a refusing server is retried with back-off and then given up;
 * two daemons on one database deliver every message once; a daemon killed in the middle of DATA
 * leaves a message that still arrives once. Days are computed from today. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clinic.h"
#include "clinic/v1/admin.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "db.h"
#include "harness.h"
#include "migrate.h"
#include "status.h"

#define ZONE        "Europe/Berlin"
#define SCRIPTS     CLINIC_SOURCE_DIR "/tests/integration/"
#define MAIL_FROM   "appointments@clinic.test"
#define SECRET      "a webhook secret that is long enough"
#define NOTE_SECRET "SECRET-NOTE-lumbar-disc-4711"
#define N_CLIENTS   20
#define WAIT_MS     20000

static struct harness_pg pg;
static struct harness_daemon main_daemon, extra_daemon; /* extra: one more, while a test runs */
static char db_url[512], smtp_dir[256], hook_dir[256], smtp_url[64], hook_url[64];
static char secret_path[256];
static pid_t smtp_pid, hook_pid;
static struct harness_clinic clinic;
static clinic_client *as_admin;
static char email_of[N_CLIENTS][64];

/* ------------------------------------------------------------------ sinks and daemons */

static pid_t spawn_sink(const char *script, int port, const char *dir)
{
    char port_text[16], log[300];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(log, sizeof log, "%s.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl("/usr/bin/python3", "/usr/bin/python3", script, port_text, dir, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static bool wait_file(const char *dir, const char *name, int timeout_ms)
{
    for (long long end = harness_now_ms() + timeout_ms; harness_now_ms() < end;) {
        if (file_exists(dir, name))
            return true;
        harness_sleep_ms(50);
    }
    return false;
}

static void write_control(const char *dir, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!text) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Starts a daemon on the test's database that mails through the sink (and posts to the webhook
 * when `webhook`). */
static bool start_mailing_daemon(struct harness_daemon *d, bool webhook)
{
    const char *with_hook[] = {"--smtp-url",
                               smtp_url,
                               "--mail-from",
                               MAIL_FROM,
                               "--mail-retry-base-ms",
                               "100",
                               "--mail-retry-max-ms",
                               "400",
                               "--mail-max-attempts",
                               "4",
                               "--webhook-url",
                               hook_url,
                               "--webhook-secret-file",
                               secret_path,
                               NULL};
    if (!webhook)
        with_hook[10] = NULL;
    return harness_daemon_start(d, pg.dir, db_url, with_hook, true);
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0 || !harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "mail_outbox", db_url, sizeof db_url))
        return -1;
    /* the schema first: the clinic is seeded before any daemon starts */
    char err[512];
    struct db *db = db_new(db_url);
    bool migrated = db && migrate_run(db, migration_files, err, sizeof err);
    db_free(db);
    if (!migrated || !harness_seed_clinic(db_url, ZONE, 2, N_CLIENTS, &clinic))
        return -1;
    snprintf(smtp_dir, sizeof smtp_dir, "%s/smtp", pg.dir);
    snprintf(hook_dir, sizeof hook_dir, "%s/hook", pg.dir);
    snprintf(secret_path, sizeof secret_path, "%s/hook.secret", pg.dir);
    if (mkdir(smtp_dir, 0755) != 0 || mkdir(hook_dir, 0755) != 0)
        return -1;
    FILE *f = fopen(secret_path, "w");
    if (!f)
        return -1;
    fputs(SECRET "\n", f);
    fclose(f);
    int smtp_port = harness_free_port(), hook_port = harness_free_port();
    snprintf(smtp_url, sizeof smtp_url, "smtp://127.0.0.1:%d", smtp_port);
    snprintf(hook_url, sizeof hook_url, "http://127.0.0.1:%d/sms", hook_port);
    smtp_pid = spawn_sink(SCRIPTS "smtp_sink.py", smtp_port, smtp_dir);
    hook_pid = spawn_sink(SCRIPTS "webhook_sink.py", hook_port, hook_dir);
    if (!wait_file(smtp_dir, "ready", 15000) || !wait_file(hook_dir, "ready", 15000))
        return -1;
    /* a name that is not ASCII (the From header's encoded words), an address, a way to cancel */
    if (harness_sql_id(db_url,
                       "UPDATE locations SET name = 'Praxis \xc3\x84skulap', address = "
                       "'Torstra\xc3\x9f"
                       "e 1, Berlin', cancel_contact = '+49 30 555 0100', language = 'en'"
                       " WHERE id = %lld RETURNING id",
                       clinic.location_id) != clinic.location_id)
        return -1;
    for (int i = 0; i < N_CLIENTS; i++) {
        snprintf(email_of[i], sizeof email_of[i], "client%d@mail.test", i);
        if (harness_sql_id(db_url,
                           "UPDATE clients SET email = '%s', phone = '+49 151 000 %04d'"
                           " WHERE id = %lld RETURNING id",
                           email_of[i], i, clinic.client_ids[i]) != clinic.client_ids[i])
            return -1;
    }
    /* client 2 has a phone number but no email address */
    if (harness_sql_id(db_url, "UPDATE clients SET email = NULL WHERE id = %lld RETURNING id",
                       clinic.client_ids[2]) != clinic.client_ids[2])
        return -1;
    if (!start_mailing_daemon(&main_daemon, true))
        return -1;
    as_admin = harness_connect_as(main_daemon.url, main_daemon.admin_token);
    return as_admin ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(as_admin);
    int status = harness_daemon_stop(&main_daemon); /* non-zero: a sanitizer report, a crash */
    if (extra_daemon.pid > 0)                       /* left by a failed test */
        harness_daemon_stop(&extra_daemon);
    if (smtp_pid > 0)
        kill(smtp_pid, SIGTERM);
    if (hook_pid > 0)
        kill(hook_pid, SIGTERM);
    waitpid(smtp_pid, NULL, 0);
    waitpid(hook_pid, NULL, 0);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ helpers */

/* Books client i with therapist t at local "DAY HH:MM" through c; the appointment. */
static Clinic__V1__Appointment *book(clinic_client *c, int i, int t, const char *day,
                                     const char *clock)
{
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    char start[24];
    snprintf(start, sizeof start, "%s %s", day, clock);
    req.client_id = clinic.client_ids[i];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.therapist_id = clinic.therapist_ids[t];
    req.start_time = start;
    Clinic__V1__Appointment *a = NULL;
    struct clinic_error err;
    int code = harness_call(c, "Scheduling/Book", &req, &clinic__v1__appointment__descriptor, &a,
                            true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("booking client %d at %s: %d %s", i, start, code, err.message);
    return a;
}

/* Every message the SMTP sink holds, as mail_read.py reads them. */
static json_t *all_messages(void)
{
    char *out = NULL, *err = NULL;
    const char *const argv[] = {SCRIPTS "mail_read.py", "messages", smtp_dir, NULL};
    int status = harness_run_program("/usr/bin/python3", argv, NULL, &out, &err);
    if (status != 0)
        fail_msg("mail_read.py: %s", err ? err : "");
    json_error_t e;
    json_t *list = json_loads(out, 0, &e);
    free(out);
    free(err);
    assert_non_null(list);
    return list;
}

/* The messages to address (a new array). */
static json_t *messages_to(const char *address)
{
    json_t *all = all_messages(), *mine = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "to")), address) == 0)
            json_array_append(mine, m);
    }
    json_decref(all);
    return mine;
}

/* Waits until address has at least n messages; then, so that a late duplicate would show,
 * waits `settle_ms` more. The messages. */
static json_t *wait_messages_to(const char *address, size_t n, int settle_ms)
{
    json_t *mine = NULL;
    for (long long end = harness_now_ms() + WAIT_MS;; harness_sleep_ms(200)) {
        json_decref(mine);
        mine = messages_to(address);
        if (json_array_size(mine) >= n)
            break;
        if (harness_now_ms() > end)
            fail_msg("%s got %zu message(s) within %d ms, expected %zu", address,
                     json_array_size(mine), WAIT_MS, n);
    }
    if (settle_ms > 0) {
        harness_sleep_ms(settle_ms);
        json_decref(mine);
        mine = messages_to(address);
    }
    return mine;
}

/* The messages of list whose subject starts with prefix. */
static size_t count_subject(json_t *list, const char *prefix, json_t **last)
{
    size_t i, n = 0;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        if (strncmp(json_string_value(json_object_get(m, "subject")), prefix, strlen(prefix)) ==
            0) {
            n++;
            if (last)
                *last = m;
        }
    }
    return n;
}

/* No two messages of list share a Message-ID. */
static void assert_unique_ids(json_t *list)
{
    size_t i, j;
    json_t *a, *b;
    json_array_foreach(list, i, a)
    {
        assert_true(strlen(json_string_value(json_object_get(a, "message_id"))) > 10);
        json_array_foreach(list, j, b)
        {
            if (i != j)
                assert_string_not_equal(json_string_value(json_object_get(a, "message_id")),
                                        json_string_value(json_object_get(b, "message_id")));
        }
    }
}

/* The English local time of an RFC 3339 instant in ZONE, by Python's zoneinfo. */
static void expected_when(const char *instant, char *out, size_t len)
{
    char *text = NULL;
    const char *const argv[] = {SCRIPTS "mail_read.py", "when", instant, ZONE, NULL};
    assert_int_equal(harness_run_program("/usr/bin/python3", argv, NULL, &text, NULL), 0);
    snprintf(out, len, "When:  %s", text);
    free(text);
}

static long long count_of(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    if (!v)
        fail_msg("%s failed", sql);
    long long n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

/* The number the query built printf-style answers. */
static long long sql_count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long sql_count(const char *fmt, ...)
{
    char sql[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return count_of(sql);
}

/* Waits until the query built printf-style answers want. */
static void wait_count(long long want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wait_count(long long want, const char *fmt, ...)
{
    char sql[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    for (long long end = harness_now_ms() + WAIT_MS; count_of(sql) != want; harness_sleep_ms(100))
        if (harness_now_ms() > end)
            fail_msg("%s: %lld, expected %lld", sql, count_of(sql), want);
}

/* Sets the location's reminder lead through Locations/UpdateLocation, as an admin would. */
static void set_reminder_lead(uint32_t minutes)
{
    Clinic__V1__UpdateLocationRequest req = CLINIC__V1__UPDATE_LOCATION_REQUEST__INIT;
    char *mask[] = {"reminder_lead_minutes"};
    req.id = clinic.location_id;
    req.reminder_lead_minutes = minutes;
    req.update_mask = mask;
    req.n_update_mask = 1;
    Clinic__V1__Location *l = NULL;
    struct clinic_error err;
    assert_int_equal(harness_call(as_admin, "Locations/UpdateLocation", &req,
                                  &clinic__v1__location__descriptor, &l, true, NULL, &err),
                     STATUS_OK);
    assert_int_equal(l->reminder_lead_minutes, minutes);
    harness_free_message(l);
}

/* A day of next year, n days after its first Monday: free of the other tests' days. */
static void next_year_day(int n, char *out, size_t len)
{
    char first[11];
    snprintf(first, sizeof first, "%d-01-05", harness_next_year());
    harness_date_add(first, n, out, len);
}

/* ------------------------------------------------------------------ tests */

/* Booked on the day after the spring change (09:00 summer time), moved to the day after the
 * autumn change (10:00 winter time), cancelled: three messages, each once, each in Berlin's time
 * as zoneinfo says it, and the reminders of both times withdrawn, never sent. */
static void book_move_cancel_arrive_once_in_local_time(void **state)
{
    (void)state;
    int year = harness_next_year();
    struct harness_dst_change spring, autumn;
    assert_true(harness_dst_change(db_url, ZONE, year, true, &spring));
    assert_true(harness_dst_change(db_url, ZONE, year, false, &autumn));
    Clinic__V1__Appointment *a = book(as_admin, 0, 0, spring.next_day, "09:00");
    char booked_when[160], moved_when[160];
    expected_when(a->start_time, booked_when, sizeof booked_when);
    assert_non_null(strstr(booked_when, " at 09:00"));
    long long id = a->id;
    harness_free_message(a);
    json_decref(wait_messages_to(email_of[0], 1, 0));

    Clinic__V1__RescheduleRequest move = CLINIC__V1__RESCHEDULE_REQUEST__INIT;
    char start[24];
    snprintf(start, sizeof start, "%s 10:00", autumn.next_day);
    move.appointment_id = id;
    move.start_time = start;
    struct clinic_error err;
    assert_int_equal(harness_call(as_admin, "Scheduling/Reschedule", &move,
                                  &clinic__v1__appointment__descriptor, &a, true, NULL, &err),
                     STATUS_OK);
    expected_when(a->start_time, moved_when, sizeof moved_when);
    assert_non_null(strstr(moved_when, " at 10:00"));
    harness_free_message(a);
    json_decref(wait_messages_to(email_of[0], 2, 0));

    Clinic__V1__CancelRequest cancel = CLINIC__V1__CANCEL_REQUEST__INIT;
    cancel.appointment_id = id;
    cancel.reason = "feeling better";
    assert_int_equal(harness_call(as_admin, "Scheduling/Cancel", &cancel,
                                  &clinic__v1__appointment__descriptor, &a, true, NULL, &err),
                     STATUS_OK);
    harness_free_message(a);

    json_t *mine = wait_messages_to(email_of[0], 3, 1500);
    assert_int_equal(json_array_size(mine), 3);
    assert_unique_ids(mine);
    json_t *m = NULL;
    assert_int_equal(count_subject(mine, "Appointment booked:", &m), 1);
    harness_assert_contains(json_string_value(json_object_get(m, "body")), booked_when);
    assert_int_equal(count_subject(mine, "Appointment moved:", &m), 1);
    harness_assert_contains(json_string_value(json_object_get(m, "body")), moved_when);
    harness_assert_contains(json_string_value(json_object_get(m, "body")), "+49 30 555 0100");
    assert_int_equal(count_subject(mine, "Appointment cancelled:", &m), 1);
    harness_assert_contains(json_string_value(json_object_get(m, "body")), moved_when);
    assert_int_equal(count_subject(mine, "Reminder:", NULL), 0);
    size_t i;
    json_array_foreach(mine, i, m)
    {
        assert_true(json_is_true(json_object_get(m, "crlf")));
        assert_string_equal(json_string_value(json_object_get(m, "charset")), "utf-8");
        harness_assert_contains(json_string_value(json_object_get(m, "from")),
                                "Praxis \xc3\x84skulap <" MAIL_FROM ">");
        harness_assert_contains(json_string_value(json_object_get(m, "body")), "Torstra\xc3\x9f"
                                                                               "e 1, Berlin");
    }
    json_decref(mine);
    assert_int_equal(sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld"
                               " AND kind = 'reminder' AND status = 'withdrawn'",
                               id),
                     4); /* two times, two channels */
    assert_int_equal(sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld"
                               " AND kind = 'reminder' AND status <> 'withdrawn'",
                               id),
                     0);
}

/* A course of three weekly sessions booked in one call is confirmed by one message listing the
 * three, in local time as zoneinfo says it, not by three; each session keeps its own reminder. */
static void a_course_is_confirmed_in_one_message(void **state)
{
    (void)state;
    char day[11], start[24];
    next_year_day(40, day, sizeof day);
    snprintf(start, sizeof start, "%s 15:00", day);
    Clinic__V1__BookCourseRequest req = CLINIC__V1__BOOK_COURSE_REQUEST__INIT;
    req.client_id = clinic.client_ids[18];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.therapist_id = clinic.therapist_ids[0];
    req.first_start_time = start;
    req.count = 3;
    req.every = 1;
    req.unit = CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_WEEKS;
    Clinic__V1__BookCourseResponse *course = NULL;
    struct clinic_error err;
    int code =
        harness_call(as_admin, "Scheduling/BookCourse", &req,
                     &clinic__v1__book_course_response__descriptor, &course, true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("BookCourse: %d %s", code, err.message);
    assert_int_equal(course->n_appointments, 3);
    char when[3][160];
    for (size_t i = 0; i < 3; i++)
        expected_when(course->appointments[i]->start_time, when[i], sizeof when[i]);

    json_t *mine = wait_messages_to(email_of[18], 1, 1500);
    assert_int_equal(json_array_size(mine), 1);
    json_t *m = NULL;
    assert_int_equal(count_subject(mine, "Course booked:", &m), 1);
    const char *body = json_string_value(json_object_get(m, "body"));
    harness_assert_contains(body, "Sessions:");
    for (size_t i = 0; i < 3; i++) /* "When:  Monday, ..." as zoneinfo writes it */
        harness_assert_contains(body, when[i] + strlen("When:  "));
    json_decref(mine);
    assert_int_equal(sql_count("SELECT count(*) FROM outbox o JOIN appointments a"
                               " ON a.id = o.appointment_id WHERE a.course_id = %lld"
                               " AND o.kind = 'booked' AND o.status <> 'withdrawn'",
                               (long long)course->course_id),
                     0);
    assert_int_equal(sql_count("SELECT count(DISTINCT o.appointment_id) FROM outbox o"
                               " JOIN appointments a ON a.id = o.appointment_id"
                               " WHERE a.course_id = %lld AND o.kind = 'reminder'"
                               " AND o.status = 'pending' AND o.channel = 'email'",
                               (long long)course->course_id),
                     3);
    harness_free_message(course);
}

/* With a reminder lead of 30 days (set through UpdateLocation), a booking two days ahead gets its
 * reminder at once; neither message, nor the webhook's body, holds a word of the client's signed
 * treatment note. */
static void reminder_inside_the_lead_goes_at_once_without_clinical_data(void **state)
{
    (void)state;
    /* a session last week with a signed note */
    long long past = harness_sql_id(
        db_url,
        "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
        " start_at, end_at, blocked, status) SELECT %lld, %lld, %lld, %lld, %lld, t, t + '1h',"
        " tstzrange(t, t + '1h'), 'completed' FROM (SELECT date_trunc('hour', now()) - interval"
        " '7 days' AS t) s RETURNING id",
        clinic.client_ids[3], clinic.therapist_ids[0], clinic.room_ids[0], clinic.service_id,
        clinic.location_id);
    assert_true(past > 0);
    assert_true(
        harness_sql_id(db_url,
                       "INSERT INTO treatment_notes (appointment_id, author_therapist_id,"
                       " pain_before, pain_after, areas, techniques, subjective, assessment)"
                       " VALUES (%lld, %lld, 8, 3, '{lower_back}', '{trigger_point}', '" NOTE_SECRET
                       "', '" NOTE_SECRET "') RETURNING id",
                       past, clinic.therapist_ids[0]) > 0);
    char *signed_ok = harness_sql(db_url, "UPDATE treatment_notes SET status = 'signed',"
                                          " signed_at = now() WHERE subjective = '" NOTE_SECRET
                                          "' RETURNING status");
    assert_non_null(signed_ok);
    assert_string_equal(signed_ok, "signed");
    free(signed_ok);

    set_reminder_lead(43200); /* 30 days */
    char *day = harness_sql(db_url, "SELECT to_char((now() AT TIME ZONE '" ZONE
                                    "')::date + 2, 'YYYY-MM-DD')");
    Clinic__V1__Appointment *a = book(as_admin, 3, 1, day, "10:00");
    char when[160];
    expected_when(a->start_time, when, sizeof when);
    long long id = a->id;
    harness_free_message(a);
    free(day);
    json_t *mine = wait_messages_to(email_of[3], 2, 1000);
    assert_int_equal(json_array_size(mine), 2);
    json_t *m = NULL;
    assert_int_equal(count_subject(mine, "Reminder:", &m), 1);
    harness_assert_contains(json_string_value(json_object_get(m, "body")), when);
    assert_int_equal(count_subject(mine, "Appointment booked:", NULL), 1);
    char *text = json_dumps(mine, 0);
    assert_null(strstr(text, NOTE_SECRET));
    assert_null(strstr(text, "lumbar"));
    free(text);
    json_decref(mine);
    /* the webhook's posts of it too */
    wait_count(2,
               "SELECT count(*) FROM outbox WHERE appointment_id = %lld AND channel = 'webhook'"
               " AND status = 'sent'",
               id);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "/bin/grep -rl -- '" NOTE_SECRET "' %s %s", smtp_dir, hook_dir);
    assert_int_not_equal(system(cmd), 0); /* grep finds nothing */
    set_reminder_lead(1440);
}

/* Client 1 opts out through UpdateClient, as themself: their booking queues nothing and sends
 * nothing. Client 2 has no email address: their booking goes to the webhook only. */
static void opt_out_and_missing_address_are_honoured(void **state)
{
    (void)state;
    char token[64];
    assert_true(harness_create_user(db_url, "client1@login.test", "client", 0, clinic.client_ids[1],
                                    NULL) > 0);
    assert_int_equal(
        harness_login(main_daemon.url, "client1@login.test", HARNESS_PASSWORD, token, sizeof token),
        STATUS_OK);
    clinic_client *as_client = harness_connect_as(main_daemon.url, token);
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *mask[] = {"messages_opt_out"};
    req.id = clinic.client_ids[1];
    req.messages_opt_out = true;
    req.update_mask = mask;
    req.n_update_mask = 1;
    Clinic__V1__Client *c = NULL;
    struct clinic_error err;
    assert_int_equal(harness_call(as_client, "Clients/UpdateClient", &req,
                                  &clinic__v1__client__descriptor, &c, true, NULL, &err),
                     STATUS_OK);
    assert_true(c->messages_opt_out);
    assert_string_equal(c->email, email_of[1]); /* nothing else changed */
    harness_free_message(c);
    clinic_close(as_client);

    char day[11];
    next_year_day(10, day, sizeof day);
    Clinic__V1__Appointment *opted = book(as_admin, 1, 0, day, "11:00");
    Clinic__V1__Appointment *no_email = book(as_admin, 2, 1, day, "11:00");
    Clinic__V1__Appointment *barrier = book(as_admin, 4, 0, day, "14:00");
    json_decref(wait_messages_to(email_of[4], 1, 0));
    wait_count(1, "SELECT count(*) FROM outbox WHERE appointment_id = %lld AND status = 'sent'",
               (long long)no_email->id);
    json_t *none = messages_to(email_of[1]);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    assert_int_equal(
        sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld", (long long)opted->id),
        0);
    assert_int_equal(sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld AND"
                               " channel = 'email'",
                               (long long)no_email->id),
                     0);
    assert_int_equal(sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld AND"
                               " channel = 'webhook' AND kind = 'booked'",
                               (long long)no_email->id),
                     1);
    harness_free_message(opted);
    harness_free_message(no_email);
    harness_free_message(barrier);
}

/* Every post the receiver got carries a valid HMAC-SHA256 over "TIMESTAMP.BODY" with the
 * configured key, a recent timestamp, the row's id, and the client's phone number; a post
 * answered 503 is sent again. */
static void webhook_posts_are_signed_and_retried(void **state)
{
    (void)state;
    write_control(hook_dir, "fail", "1");
    char day[11];
    next_year_day(12, day, sizeof day);
    Clinic__V1__Appointment *a = book(as_admin, 5, 0, day, "09:00");
    wait_count(1,
               "SELECT count(*) FROM outbox WHERE appointment_id = %lld AND channel = 'webhook'"
               " AND kind = 'booked' AND status = 'sent' AND attempts = 2",
               (long long)a->id);
    harness_free_message(a);
    int checked = 0;
    for (int n = 1; n < 1000; n++) {
        char head_path[400], body_path[400];
        snprintf(head_path, sizeof head_path, "%s/hook-%d.head", hook_dir, n);
        snprintf(body_path, sizeof body_path, "%s/hook-%d.body", hook_dir, n);
        char *head = harness_read_file(head_path), *body = harness_read_file(body_path);
        if (!head || !body) {
            free(head);
            free(body);
            break;
        }
        char stamp[32] = "", sig[100] = "", delivery[32] = "";
        assert_int_equal(sscanf(head, "%31[^\n]\n%99[^\n]\n%31[^\n]", stamp, sig, delivery), 3);
        long long t = strtoll(stamp, NULL, 10);
        assert_true(llabs((long long)time(NULL) - t) < 600);
        unsigned char mac[32];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)stamp, strlen(stamp));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
        crypto_auth_hmacsha256_final(&st, mac);
        char expect[80] = "sha256=";
        sodium_bin2hex(expect + 7, sizeof expect - 7, mac, sizeof mac);
        assert_string_equal(sig, expect);
        json_error_t e;
        json_t *o = json_loads(body, 0, &e);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "outbox_id")),
                         strtoll(delivery, NULL, 10));
        harness_assert_contains(json_string_value(json_object_get(o, "phone")), "+49 151 000 ");
        harness_assert_contains(json_string_value(json_object_get(o, "start")), "T");
        assert_non_null(json_string_value(json_object_get(o, "kind")));
        assert_null(strstr(body, NOTE_SECRET));
        json_decref(o);
        free(head);
        free(body);
        checked++;
    }
    assert_true(checked >= 3);
}

/* A server that answers 451 twice: the message goes on the third try, once. A server that
 * keeps refusing: given up after --mail-max-attempts, the error kept. */
static void smtp_refusals_are_retried_then_given_up(void **state)
{
    (void)state;
    char day[11];
    next_year_day(14, day, sizeof day);
    write_control(smtp_dir, "refuse", "2");
    Clinic__V1__Appointment *a = book(as_admin, 6, 0, day, "09:00");
    json_t *mine = wait_messages_to(email_of[6], 1, 1000);
    assert_int_equal(json_array_size(mine), 1);
    json_decref(mine);
    assert_int_equal(sql_count("SELECT attempts FROM outbox WHERE appointment_id = %lld AND"
                               " channel = 'email' AND kind = 'booked' AND status = 'sent'",
                               (long long)a->id),
                     3);
    harness_free_message(a);

    write_control(smtp_dir, "refuse", "1000");
    a = book(as_admin, 7, 0, day, "11:00");
    wait_count(1,
               "SELECT count(*) FROM outbox WHERE appointment_id = %lld AND channel = 'email'"
               " AND kind = 'booked' AND status = 'failed' AND attempts = 4"
               " AND last_error LIKE '%%451%%'",
               (long long)a->id);
    harness_free_message(a);
    write_control(smtp_dir, "refuse", NULL);
    json_t *none = messages_to(email_of[7]);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    char *log = harness_daemon_log(&main_daemon);
    harness_assert_contains(log, "given up");
    free(log);
}

/* Two daemons on one database, each booking half of twelve appointments: each confirmation
 * arrives once. */
static void two_daemons_deliver_each_message_once(void **state)
{
    (void)state;
    struct harness_daemon *second = &extra_daemon;
    assert_true(start_mailing_daemon(second, false));
    clinic_client *via_second = harness_connect_as(second->url, second->admin_token);
    assert_non_null(via_second);
    char day[11];
    static const char *const clocks[] = {"09:00", "10:15", "11:30", "12:45", "14:00", "15:15"};
    for (int k = 0; k < 12; k++) {
        next_year_day(20 + k / 6, day, sizeof day);
        Clinic__V1__Appointment *a =
            book(k % 2 ? via_second : as_admin, 8 + k % 6, k / 6, day, clocks[k % 6]);
        harness_free_message(a);
    }
    for (int i = 8; i < 14; i++) {
        json_t *mine = wait_messages_to(email_of[i], 2, 0);
        json_decref(mine);
    }
    harness_sleep_ms(1500);
    for (int i = 8; i < 14; i++) {
        json_t *mine = messages_to(email_of[i]);
        assert_int_equal(json_array_size(mine), 2);
        assert_unique_ids(mine);
        json_decref(mine);
    }
    clinic_close(via_second);
    assert_int_equal(harness_daemon_stop(second), 0);
}

/* A daemon killed (SIGKILL) while the server holds its DATA unanswered: the server discards it,
 * the row's lock goes with the dead connection, and a daemon started afterwards sends it: it
 * arrives once. */
static void message_of_a_daemon_killed_mid_send_arrives_once(void **state)
{
    (void)state;
    clinic_close(as_admin);
    as_admin = NULL;
    assert_int_equal(harness_daemon_stop(&main_daemon), 0);
    write_control(smtp_dir, "stall", "1");
    struct harness_daemon *doomed = &extra_daemon;
    assert_true(start_mailing_daemon(doomed, false));
    clinic_client *c = harness_connect_as(doomed->url, doomed->admin_token);
    char day[11];
    next_year_day(30, day, sizeof day);
    Clinic__V1__Appointment *a = book(c, 14, 0, day, "09:00");
    long long id = a->id;
    harness_free_message(a);
    clinic_close(c);
    assert_true(wait_file(smtp_dir, "stalled", WAIT_MS));
    kill(doomed->pid, SIGKILL);
    assert_true(harness_daemon_wait_exit(doomed, 10000) >= 0);
    write_control(smtp_dir, "stall", NULL);
    harness_sleep_ms(500);
    json_t *none = messages_to(email_of[14]);
    assert_int_equal(json_array_size(none), 0); /* the unfinished DATA left nothing */
    json_decref(none);
    assert_int_equal(sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld"
                               " AND status = 'pending' AND kind = 'booked' AND channel = 'email'",
                               id),
                     1);

    assert_true(start_mailing_daemon(&main_daemon, true));
    as_admin = harness_connect_as(main_daemon.url, main_daemon.admin_token);
    json_t *mine = wait_messages_to(email_of[14], 1, 1500);
    assert_int_equal(json_array_size(mine), 1);
    harness_assert_contains(json_string_value(json_object_get(json_array_get(mine, 0), "subject")),
                            "Appointment booked:");
    json_decref(mine);
    assert_int_equal(sql_count("SELECT count(*) FROM outbox WHERE appointment_id = %lld"
                               " AND status = 'sent' AND kind = 'booked' AND channel = 'email'",
                               id),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(book_move_cancel_arrive_once_in_local_time),
        cmocka_unit_test(reminder_inside_the_lead_goes_at_once_without_clinical_data),
        cmocka_unit_test(a_course_is_confirmed_in_one_message),
        cmocka_unit_test(opt_out_and_missing_address_are_honoured),
        cmocka_unit_test(webhook_posts_are_signed_and_retried),
        cmocka_unit_test(smtp_refusals_are_retried_then_given_up),
        cmocka_unit_test(two_daemons_deliver_each_message_once),
        cmocka_unit_test(message_of_a_daemon_killed_mid_send_arrives_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
