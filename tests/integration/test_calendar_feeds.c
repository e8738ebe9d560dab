/* Calendar feeds through a real clinicd and a gateway in this process: a client and a therapist
 * each make a link (Calendar/Rotate...Feed), book, move and cancel around the next two changes of
 * Berlin's clocks, and fetch their feed over HTTP as a calendar app does. tests/integration/
 * ics_check.py then reads each feed with python3-icalendar and checks it against what was booked:
 * every appointment once, with a stable UID, its instants in UTC and 09:00 in Berlin on both sides
 * of each change (converted by Python's zoneinfo, apart from PostgreSQL's zone database), the
 * SEQUENCE of its changes, STATUS:CANCELLED once cancelled, and nothing of the client but their
 * initials in the therapist's feed. Then: a new link ends the old one, a wrong key and the wrong
 * method are refused, who may make whose link, and `clinic calendar-link`. The days are the
 * next clock changes from today, so the test passes on any day of any year. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clinic.h"
#include "clinic/v1/admin.pb-c.h"
#include "clinic/v1/calendar.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"
#include "web_harness.h"

#define ZONE         "Europe/Berlin"
#define CHECKER      CLINIC_SOURCE_DIR "/tests/integration/ics_check.py"
#define CLIENT_NAME  "Jane Quinn Smith"
#define CLIENT_EMAIL "jane.smith@feeds.test"
#define CLIENT_PHONE "+49 30 1234567"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;
static struct web_gateway web;
static clinic_client *as_admin, *as_client, *as_therapist, *as_desk;
static char client_token[64];
static char service_name[64];

/* What was booked, as the feeds must show it. */
struct booked {
    int64_t id;
    char start[40], end[40]; /* as the daemon answered: "2027-03-28T09:00:00+02:00" */
    char local_start[24];    /* "2027-03-28 09:00" */
    int sequence;
    bool cancelled;
};
static struct booked booked[4];

static clinic_client *login_as(const char *email, const char *role, long long therapist,
                               long long client, char *token_out)
{
    char token[64];
    if (harness_create_user(db_url, email, role, therapist, client, NULL) <= 0 ||
        harness_login(daemon_.url, email, HARNESS_PASSWORD, token, sizeof token) != STATUS_OK)
        return NULL;
    if (token_out)
        snprintf(token_out, 64, "%s", token);
    return harness_connect_as(daemon_.url, token);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "calendar_feeds", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, ZONE, 2, 2, &clinic))
        return -1;
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE clients SET name = '%s', email = '%s', phone = '%s' WHERE id = %lld"
             " RETURNING id",
             CLIENT_NAME, CLIENT_EMAIL, CLIENT_PHONE, clinic.client_ids[0]);
    if (harness_sql_id(db_url, "%s", sql) != clinic.client_ids[0] ||
        harness_sql_id(db_url,
                       "UPDATE therapists SET name = 'Anna Berg' WHERE id = %lld"
                       " RETURNING id",
                       clinic.therapist_ids[0]) != clinic.therapist_ids[0])
        return -1;
    char *name = harness_sql(db_url, "SELECT name FROM services ORDER BY id LIMIT 1");
    snprintf(service_name, sizeof service_name, "%s", name ? name : "?");
    free(name);
    as_admin = harness_connect_as(daemon_.url, daemon_.admin_token);
    as_client = login_as("jane@feeds.test", "client", 0, clinic.client_ids[0], client_token);
    as_therapist = login_as("anna@feeds.test", "therapist", clinic.therapist_ids[0], 0, NULL);
    as_desk = login_as("desk@feeds.test", "front_desk", 0, 0, NULL);
    struct gateway_config config = {
        .max_body_bytes = GATEWAY_DEFAULT_MAX_BODY, .max_connections = 16, .per_address_max = 16};
    if (!as_admin || !as_client || !as_therapist || !as_desk ||
        !web_gateway_start(&web, daemon_.url, &config))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    web_gateway_stop(&web);
    clinic_close(as_admin);
    clinic_close(as_client);
    clinic_close(as_therapist);
    clinic_close(as_desk);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ helpers */

/* The next change of Berlin's clocks (forward or back) after tomorrow. */
static struct harness_dst_change next_change(bool forward)
{
    char today[11], tomorrow[11];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    harness_date_add(today, 1, tomorrow, sizeof tomorrow);
    struct harness_dst_change c;
    int year = tm.tm_year + 1900;
    if (!harness_dst_change(db_url, ZONE, year, forward, &c) || strcmp(c.day, tomorrow) <= 0)
        assert_true(harness_dst_change(db_url, ZONE, year + 1, forward, &c));
    return c;
}

/* A new link to a feed, made by `who`; the caller frees it. */
static Clinic__V1__FeedLink *rotate(clinic_client *who, bool therapist, int64_t owner, int *code)
{
    Clinic__V1__RotateClientFeedRequest for_client = CLINIC__V1__ROTATE_CLIENT_FEED_REQUEST__INIT;
    Clinic__V1__RotateTherapistFeedRequest for_therapist =
        CLINIC__V1__ROTATE_THERAPIST_FEED_REQUEST__INIT;
    for_client.client_id = owner;
    for_therapist.therapist_id = owner;
    Clinic__V1__FeedLink *link = NULL;
    struct clinic_error err;
    *code = therapist ? harness_call(who, "Calendar/RotateTherapistFeed", &for_therapist,
                                     &clinic__v1__feed_link__descriptor, &link, true, NULL, &err)
                      : harness_call(who, "Calendar/RotateClientFeed", &for_client,
                                     &clinic__v1__feed_link__descriptor, &link, true, NULL, &err);
    return link;
}

static struct web_reply get(const char *method, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", web.base, path);
    return web_exchange(method, url, NULL, NULL, 0);
}

static void book_at(struct booked *b, const char *day, const char *clock)
{
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    char start[20];
    snprintf(start, sizeof start, "%s %s", day, clock);
    req.client_id = clinic.client_ids[0];
    req.service_id = clinic.service_id;
    req.location_id = clinic.location_id;
    req.therapist_id = clinic.therapist_ids[0];
    req.start_time = start;
    Clinic__V1__Appointment *a = NULL;
    struct clinic_error err;
    int code = harness_call(as_admin, "Scheduling/Book", &req, &clinic__v1__appointment__descriptor,
                            &a, true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("booking %s: %d %s", start, code, err.message);
    *b = (struct booked){.id = a->id};
    snprintf(b->start, sizeof b->start, "%s", a->start_time);
    snprintf(b->end, sizeof b->end, "%s", a->end_time);
    snprintf(b->local_start, sizeof b->local_start, "%s", start);
    harness_free_message(a);
}

static void move_to(struct booked *b, const char *day, const char *clock)
{
    Clinic__V1__RescheduleRequest req = CLINIC__V1__RESCHEDULE_REQUEST__INIT;
    char start[20];
    snprintf(start, sizeof start, "%s %s", day, clock);
    req.appointment_id = b->id;
    req.start_time = start;
    Clinic__V1__Appointment *a = NULL;
    struct clinic_error err;
    int code = harness_call(as_admin, "Scheduling/Reschedule", &req,
                            &clinic__v1__appointment__descriptor, &a, true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("moving %lld to %s: %d %s", (long long)b->id, start, code, err.message);
    snprintf(b->start, sizeof b->start, "%s", a->start_time);
    snprintf(b->end, sizeof b->end, "%s", a->end_time);
    snprintf(b->local_start, sizeof b->local_start, "%s", start);
    b->sequence++;
    harness_free_message(a);
}

static void cancel(struct booked *b)
{
    Clinic__V1__CancelRequest req = CLINIC__V1__CANCEL_REQUEST__INIT;
    req.appointment_id = b->id;
    req.reason = "feeling better";
    Clinic__V1__Appointment *a = NULL;
    struct clinic_error err;
    int code = harness_call(as_admin, "Scheduling/Cancel", &req,
                            &clinic__v1__appointment__descriptor, &a, true, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("cancelling %lld: %d %s", (long long)b->id, code, err.message);
    b->sequence++;
    b->cancelled = true;
    harness_free_message(a);
}

/* Fetches the feed at path and has ics_check.py compare it with what was booked: every event's
 * summary must hold `summary_has`, and the feed none of `forbid` (NULL-terminated). */
static void check_feed(const char *path, const char *name, const char *summary_has,
                       const char *const *forbid)
{
    struct web_reply r = get("GET", path);
    if (r.status != 200)
        fail_msg("GET %s: %ld %s", path, r.status, r.body ? r.body : "");
    harness_assert_contains(r.headers, "Content-Type: text/calendar; charset=utf-8");
    harness_assert_contains(r.headers, "Cache-Control: no-store");
    char feed_path[] = "/tmp/clinic-feed-XXXXXX", expect_path[] = "/tmp/clinic-expect-XXXXXX";
    int feed_fd = mkstemp(feed_path), expect_fd = mkstemp(expect_path);
    assert_true(feed_fd >= 0 && expect_fd >= 0);
    assert_int_equal(write(feed_fd, r.body, r.len), (ssize_t)r.len);
    close(feed_fd);
    free(r.body);

    json_t *events = json_array(), *forbidden = json_array();
    for (size_t i = 0; i < sizeof booked / sizeof booked[0]; i++) {
        const struct booked *b = &booked[i];
        json_array_append_new(events,
                              json_pack("{sI ss ss ss si sb s[ss]}", "id", (json_int_t)b->id,
                                        "start", b->start, "end", b->end, "local_start",
                                        b->local_start, "sequence", b->sequence, "cancelled",
                                        b->cancelled, "summary_has", service_name, summary_has));
    }
    for (size_t i = 0; forbid && forbid[i]; i++)
        json_array_append_new(forbidden, json_string(forbid[i]));
    json_t *expect = json_pack("{ss ss so so}", "zone", ZONE, "name", name, "events", events,
                               "forbid", forbidden);
    FILE *f = fdopen(expect_fd, "w");
    assert_int_equal(json_dumpf(expect, f, 0), 0);
    fclose(f);
    json_decref(expect);

    char *out = NULL, *err = NULL;
    const char *const argv[] = {CHECKER, feed_path, expect_path, NULL};
    int status = harness_run_program("/usr/bin/python3", argv, NULL, &out, &err);
    unlink(feed_path);
    unlink(expect_path);
    if (status != 0)
        fail_msg("ics_check.py said (%d):\n%s%s", status, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

/* ------------------------------------------------------------------ tests */

/* Book at 09:00 on the days before and after the next two clock changes, move one (twice),
 * cancel one: both feeds show all four as they now are. */
static void feeds_follow_the_appointments_across_clock_changes(void **state)
{
    (void)state;
    int code;
    Clinic__V1__FeedLink *mine = rotate(as_client, false, 0, &code);
    assert_int_equal(code, STATUS_OK);
    assert_int_equal(mine->kind, CLINIC__V1__FEED_KIND__FEED_KIND_CLIENT);
    assert_int_equal(mine->owner_id, clinic.client_ids[0]);
    assert_int_equal(strlen(mine->key), 43);
    char want[96];
    snprintf(want, sizeof want, "/calendar/client/%lld.ics?key=%s", clinic.client_ids[0],
             mine->key);
    assert_string_equal(mine->path, want);
    /* only the key's SHA-256 is kept */
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM calendar_feeds WHERE client_id = %lld"
                                    " AND sha256 = sha256(convert_to('%s', 'UTF8'))",
                                    clinic.client_ids[0], mine->key),
                     1);
    Clinic__V1__FeedLink *anna = rotate(as_therapist, true, 0, &code);
    assert_int_equal(code, STATUS_OK);
    assert_int_equal(anna->owner_id, clinic.therapist_ids[0]);

    struct harness_dst_change spring = next_change(true), autumn = next_change(false);
    char before_spring[11], before_autumn[11];
    harness_date_add(spring.day, -1, before_spring, sizeof before_spring);
    harness_date_add(autumn.day, -1, before_autumn, sizeof before_autumn);
    book_at(&booked[0], before_spring, "09:00");
    book_at(&booked[1], spring.next_day, "09:00");
    book_at(&booked[2], before_autumn, "09:00");
    book_at(&booked[3], autumn.next_day, "09:00");
    move_to(&booked[1], spring.next_day, "11:00");
    move_to(&booked[1], spring.next_day, "09:00");
    cancel(&booked[2]);

    const char *const client_forbids[] = {"feeling better", CLIENT_PHONE, NULL};
    check_feed(mine->path, "Massage appointments", "Anna Berg", client_forbids);
    const char *const therapist_forbids[] = {"Jane",       "Quinn",          "Smith", CLIENT_EMAIL,
                                             CLIENT_PHONE, "feeling better", NULL};
    check_feed(anna->path, "Sessions of Anna Berg", "J. S.", therapist_forbids);
    harness_free_message(mine);
    harness_free_message(anna);
}

/* A new link ends the old one; a wrong or missing key, an unknown owner and a method other
 * than GET are refused, the key's feed in plain words. */
static void a_new_link_ends_the_old_one(void **state)
{
    (void)state;
    int code;
    Clinic__V1__FeedLink *old = rotate(as_client, false, 0, &code);
    Clinic__V1__FeedLink *now = rotate(as_client, false, 0, &code);
    assert_int_equal(code, STATUS_OK);
    assert_string_not_equal(old->key, now->key);
    struct web_reply r = get("GET", old->path);
    assert_int_equal(r.status, 404);
    harness_assert_contains(r.headers, "Content-Type: text/plain");
    harness_assert_contains(r.body, "this calendar link is not valid");
    free(r.body);
    r = get("GET", now->path);
    assert_int_equal(r.status, 200);
    harness_assert_contains(r.body, "BEGIN:VCALENDAR");
    free(r.body);
    r = get("HEAD", now->path);
    assert_int_equal(r.status, 200);
    free(r.body);

    char path[160];
    snprintf(path, sizeof path, "/calendar/client/%lld.ics?key=%s", clinic.client_ids[1],
             now->key); /* the right key for someone else's feed */
    r = get("GET", path);
    assert_int_equal(r.status, 404);
    free(r.body);
    snprintf(path, sizeof path, "/calendar/client/%lld.ics", clinic.client_ids[0]);
    r = get("GET", path);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = get("GET", "/calendar/client/seven.ics?key=x");
    assert_int_equal(r.status, 404);
    free(r.body);
    r = get("POST", now->path);
    assert_int_equal(r.status, 405);
    harness_assert_contains(r.headers, "Allow: GET, HEAD");
    free(r.body);
    harness_free_message(old);
    harness_free_message(now);
}

/* A client makes their own link, the desk any client's, a therapist their own, an admin any
 * therapist's; nobody else. A feed stops with its client's erasure or its therapist's archiving. */
static void who_may_make_whose_link(void **state)
{
    (void)state;
    int code;
    long long other_client = clinic.client_ids[1], other_therapist = clinic.therapist_ids[1];
    harness_free_message(rotate(as_client, false, other_client, &code));
    assert_int_equal(code, STATUS_PERMISSION_DENIED);
    harness_free_message(rotate(as_therapist, true, other_therapist, &code));
    assert_int_equal(code, STATUS_PERMISSION_DENIED);
    harness_free_message(rotate(as_therapist, false, clinic.client_ids[0], &code));
    assert_int_equal(code, STATUS_PERMISSION_DENIED);
    harness_free_message(rotate(as_desk, true, other_therapist, &code));
    assert_int_equal(code, STATUS_PERMISSION_DENIED);
    harness_free_message(rotate(as_admin, false, 999999, &code));
    assert_int_equal(code, STATUS_NOT_FOUND);

    Clinic__V1__FeedLink *theirs = rotate(as_desk, false, other_client, &code);
    assert_int_equal(code, STATUS_OK);
    Clinic__V1__FeedLink *bens = rotate(as_admin, true, other_therapist, &code);
    assert_int_equal(code, STATUS_OK);
    struct web_reply r = get("GET", theirs->path);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = get("GET", bens->path);
    assert_int_equal(r.status, 200);
    free(r.body);

    Clinic__V1__EraseClientRequest erase = CLINIC__V1__ERASE_CLIENT_REQUEST__INIT;
    erase.id = other_client;
    erase.reason = "written request of the client";
    struct clinic_error err;
    Clinic__V1__Client *erased = NULL;
    assert_int_equal(harness_call(as_admin, "Clients/EraseClient", &erase,
                                  &clinic__v1__client__descriptor, &erased, true, NULL, &err),
                     STATUS_OK);
    harness_free_message(erased);
    r = get("GET", theirs->path);
    assert_int_equal(r.status, 404);
    free(r.body);
    assert_int_equal(harness_sql_id(db_url,
                                    "SELECT count(*) FROM calendar_feeds WHERE client_id = %lld",
                                    other_client),
                     0);
    assert_int_equal(harness_sql_id(db_url,
                                    "UPDATE therapists SET archived = true WHERE id = %lld"
                                    " RETURNING id",
                                    other_therapist),
                     other_therapist);
    r = get("GET", bens->path);
    assert_int_equal(r.status, 404);
    free(r.body);
    harness_free_message(theirs);
    harness_free_message(bens);
}

/* `clinic calendar-link` prints a link that works, with the gateway's address before it. */
static void the_cli_prints_a_working_link(void **state)
{
    (void)state;
    char token_env[96], url_env[96];
    snprintf(token_env, sizeof token_env, "CLINIC_TOKEN=%s", client_token);
    snprintf(url_env, sizeof url_env, "CLINIC_URL=%s", daemon_.url);
    const char *const env[] = {token_env, url_env, NULL};
    const char *const argv[] = {"calendar-link", "--gateway", web.base, NULL};
    char *out = NULL, *err = NULL;
    int status = harness_run_cli(argv, env, &out, &err);
    if (status != 0)
        fail_msg("clinic calendar-link: %d %s", status, err);
    char want[128];
    snprintf(want, sizeof want, "  %s/calendar/client/%lld.ics?key=", web.base,
             clinic.client_ids[0]);
    const char *at = strstr(out, want);
    if (!at)
        fail_msg("no link in:\n%s", out);
    char path[160];
    assert_int_equal(sscanf(at + 2 + strlen(web.base), "%159s", path), 1);
    struct web_reply r = get("GET", path);
    assert_int_equal(r.status, 200);
    free(r.body);
    free(out);
    free(err);

    const char *const both[] = {"calendar-link", "--client", "1", "--therapist", "1", NULL};
    assert_int_equal(harness_run_cli(both, env, NULL, &err), 2);
    harness_assert_contains(err, "not both");
    free(err);
    /* an admin has no feed of their own: they say whose */
    const char *const admin_env[] = {url_env, NULL};
    const char *const mine[] = {"calendar-link", NULL};
    assert_int_equal(harness_run_cli(mine, admin_env, NULL, &err), STATUS_INVALID_ARGUMENT);
    harness_assert_contains(err, "--client");
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feeds_follow_the_appointments_across_clock_changes),
        cmocka_unit_test(a_new_link_ends_the_old_one),
        cmocka_unit_test(who_may_make_whose_link),
        cmocka_unit_test(the_cli_prints_a_working_link),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
