/* clinic.v1.Therapists through libclinic: therapists and the services they perform (create, get,
 * list with a service filter and pages, update by mask, archive), weekly working hours (an
 * overlapping rule refused naming the one in its way, also when two arrive at once), and time
 * off read in a time zone (the spring-forward gap refused) and refused over booked appointments.
 * Every bad field comes back as a violation naming it. Locations, services, clients, rooms and
 * appointments are written by SQL, so these tests depend on no other service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/admin.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 10000
#define SVC             "/clinic.v1.Therapists/"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];

/* fixtures written by SQL in setup */
static int64_t massage, cupping, sports, berlin, lisbon, room, client_id;

/* --- helpers --- */

/* Runs SQL on the test database and returns its first value as a number (fails the test when
 * the statement fails). */
static int64_t sql_number(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    int64_t n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static void sql_exec(const char *sql)
{
    char *v = harness_sql(db_url, sql);
    assert_non_null(v);
    free(v);
}

/* Calls SVC method; *out receives the reply (free with protobuf_c_message_free_unpacked) on OK.
 * Mutating calls send an idempotency key: `key` when given, else a fresh one. */
static int call(const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *out_type, void *out, bool mutating,
                const char *key, struct clinic_error *err)
{
    char name[128];
    snprintf(name, sizeof name, SVC "%s", method);
    struct clinic_call_options opts = {
        .timeout_ms = CALL_TIMEOUT_MS, .mutating = mutating, .idempotency_key = key};
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, name, req, out_type, &resp, &opts, err);
    *(ProtobufCMessage **)out = resp;
    return code;
}

static void free_msg(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* Text built printf-style into one of a few static buffers used in turn: good for the arguments
 * of a call or two, not to keep. */
static const char *text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *text(const char *fmt, ...)
{
    static char buffers[8][96];
    static unsigned next;
    char *b = buffers[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof buffers[0], fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof buffers[0]);
    return b;
}

/* A date (and time) in the next year, every day of which lies ahead whenever the suite runs:
 * in_next_year("05-01 10:00") is "YYYY-05-01 10:00". */
static const char *in_next_year(const char *month_day)
{
    return text("%d-%s", harness_next_year(), month_day);
}

/* Asserts an INVALID_ARGUMENT whose violations name `field`, and returns that violation's
 * description. */
static const char *violation_on(const struct clinic_error *err, int code, const char *field)
{
    assert_int_equal(code, STATUS_INVALID_ARGUMENT);
    assert_int_equal(err->code, STATUS_INVALID_ARGUMENT);
    for (size_t i = 0; i < err->n_violations; i++)
        if (strcmp(err->violations[i].field, field) == 0)
            return err->violations[i].description;
    fail_msg("no violation on %s; message: %s", field, err->message);
    return NULL;
}

static Clinic__V1__Therapist *create(const char *name, const char *email, int64_t *ids, size_t n,
                                     int *code, struct clinic_error *err)
{
    Clinic__V1__CreateTherapistRequest req = CLINIC__V1__CREATE_THERAPIST_REQUEST__INIT;
    req.name = (char *)name;
    req.email = (char *)email;
    req.service_ids = ids;
    req.n_service_ids = n;
    Clinic__V1__Therapist *t;
    *code =
        call("CreateTherapist", &req.base, &clinic__v1__therapist__descriptor, &t, true, NULL, err);
    return t;
}

/* Creates a therapist that must succeed and returns its id. */
static int64_t create_ok(const char *name, const char *email, int64_t *ids, size_t n)
{
    struct clinic_error err;
    int code;
    Clinic__V1__Therapist *t = create(name, email, ids, n, &code, &err);
    if (code != STATUS_OK)
        fail_msg("CreateTherapist %s: %s", email, err.message);
    int64_t id = t->id;
    free_msg(t);
    return id;
}

static int add_hours(int64_t therapist, int64_t location, uint32_t weekday, const char *start,
                     const char *end, const char *from, const char *until,
                     Clinic__V1__WorkingHours **out, struct clinic_error *err)
{
    Clinic__V1__AddWorkingHoursRequest req = CLINIC__V1__ADD_WORKING_HOURS_REQUEST__INIT;
    req.therapist_id = therapist;
    req.location_id = location;
    req.weekday = weekday;
    req.start_local = (char *)start;
    req.end_local = (char *)end;
    req.valid_from = (char *)from;
    req.valid_until = (char *)until;
    return call("AddWorkingHours", &req.base, &clinic__v1__working_hours__descriptor, out, true,
                NULL, err);
}

static int add_time_off(int64_t therapist, const char *start, const char *end, const char *zone,
                        Clinic__V1__TimeOff **out, struct clinic_error *err)
{
    Clinic__V1__AddTimeOffRequest req = CLINIC__V1__ADD_TIME_OFF_REQUEST__INIT;
    req.therapist_id = therapist;
    req.start_time = (char *)start;
    req.end_time = (char *)end;
    req.time_zone = (char *)zone;
    req.reason = "holiday";
    return call("AddTimeOff", &req.base, &clinic__v1__time_off__descriptor, out, true, NULL, err);
}

static Clinic__V1__ListTherapistsResponse *list(uint32_t page_size, const char *token,
                                                int64_t service, bool archived)
{
    Clinic__V1__ListTherapistsRequest req = CLINIC__V1__LIST_THERAPISTS_REQUEST__INIT;
    req.page_size = page_size;
    req.page_token = (char *)token;
    req.service_id = service;
    req.include_archived = archived;
    struct clinic_error err;
    Clinic__V1__ListTherapistsResponse *resp;
    int code = call("ListTherapists", &req.base, &clinic__v1__list_therapists_response__descriptor,
                    &resp, false, NULL, &err);
    if (code != STATUS_OK)
        fail_msg("ListTherapists: %s", err.message);
    return resp;
}

/* Every therapist id the list shows, following page tokens (bounded). */
static size_t list_all_ids(uint32_t page_size, int64_t service, bool archived, int64_t *ids,
                           size_t max, int *pages)
{
    size_t n = 0;
    char token[64] = "";
    *pages = 0;
    for (int round = 0; round < 100; round++) {
        Clinic__V1__ListTherapistsResponse *r = list(page_size, token, service, archived);
        (*pages)++;
        assert_true(r->n_therapists <= page_size);
        for (size_t i = 0; i < r->n_therapists && n < max; i++)
            ids[n++] = r->therapists[i]->id;
        snprintf(token, sizeof token, "%s", r->next_page_token);
        free_msg(r);
        if (!token[0])
            return n;
    }
    fail_msg("the list did not end within 100 pages");
    return n;
}

static bool contains(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* --- set-up --- */

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "therapists", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true))
        return -1;
    struct clinic_error err;
    client = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &err);
    if (!client)
        return -1;
    /* the daemon applied the migrations before it served */
    massage = sql_number("INSERT INTO services (name, duration_minutes, buffer_before_minutes,"
                         " buffer_after_minutes) VALUES ('Massage', 50, 10, 10) RETURNING id");
    cupping = sql_number(
        "INSERT INTO services (name, duration_minutes) VALUES ('Cupping', 30) RETURNING id");
    sports = sql_number(
        "INSERT INTO services (name, duration_minutes) VALUES ('Sports', 60) RETURNING id");
    berlin = sql_number("INSERT INTO locations (name, time_zone) VALUES ('Mitte',"
                        " 'Europe/Berlin') RETURNING id");
    lisbon = sql_number("INSERT INTO locations (name, time_zone) VALUES ('Baixa',"
                        " 'Europe/Lisbon') RETURNING id");
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO rooms (location_id, name) VALUES (%lld, 'Room 1') RETURNING id",
             (long long)berlin);
    room = sql_number(sql);
    client_id = sql_number("INSERT INTO clients (name) VALUES ('Ben Back') RETURNING id");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(client);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* --- therapists --- */

static void create_returns_the_therapist_with_sorted_unique_services(void **state)
{
    (void)state;
    struct clinic_error err;
    int code;
    int64_t ids[] = {sports, massage, sports};
    Clinic__V1__Therapist *t = create("Anna Weber", "anna@example.org", ids, 3, &code, &err);
    assert_int_equal(code, STATUS_OK);
    assert_true(t->id > 0);
    assert_string_equal(t->name, "Anna Weber");
    assert_string_equal(t->email, "anna@example.org");
    assert_int_equal(t->n_service_ids, 2);
    assert_int_equal(t->service_ids[0], massage);
    assert_int_equal(t->service_ids[1], sports);
    assert_false(t->archived);
    int64_t id = t->id;
    free_msg(t);

    Clinic__V1__GetTherapistRequest get = CLINIC__V1__GET_THERAPIST_REQUEST__INIT;
    get.id = id;
    assert_int_equal(
        call("GetTherapist", &get.base, &clinic__v1__therapist__descriptor, &t, false, NULL, &err),
        STATUS_OK);
    assert_int_equal(t->id, id);
    assert_string_equal(t->email, "anna@example.org");
    assert_int_equal(t->n_service_ids, 2);
    assert_int_equal(t->service_ids[0], massage);
    assert_int_equal(t->service_ids[1], sports);
    free_msg(t);

    /* no services is fine: a new colleague still in training */
    t = create("Tom Neu", "tom@example.org", NULL, 0, &code, &err);
    assert_int_equal(code, STATUS_OK);
    assert_int_equal(t->n_service_ids, 0);
    free_msg(t);
}

static void create_names_every_bad_field(void **state)
{
    (void)state;
    struct clinic_error err;
    int code;
    Clinic__V1__Therapist *t = create("", "not-an-email", NULL, 0, &code, &err);
    assert_null(t);
    assert_non_null(violation_on(&err, code, "name"));
    assert_non_null(strstr(violation_on(&err, code, "email"), "email address"));

    t = create("Eve", "", NULL, 0, &code, &err);
    assert_non_null(strstr(violation_on(&err, code, "email"), "required"));
    t = create("Eve", "eve@@example.org", NULL, 0, &code, &err);
    violation_on(&err, code, "email");
    t = create("Eve", "eve example@example.org", NULL, 0, &code, &err);
    violation_on(&err, code, "email");

    int64_t unknown[] = {massage, 9001, 9000};
    t = create("Eve", "eve@example.org", unknown, 3, &code, &err);
    const char *d = violation_on(&err, code, "service_ids");
    assert_non_null(strstr(d, "9000, 9001"));
    assert_non_null(strstr(d, "do not exist"));
    int64_t one_unknown[] = {9002};
    t = create("Eve", "eve@example.org", one_unknown, 1, &code, &err);
    assert_non_null(strstr(violation_on(&err, code, "service_ids"), "service 9002 does not"));
    int64_t negative[] = {-3};
    t = create("Eve", "eve@example.org", negative, 1, &code, &err);
    violation_on(&err, code, "service_ids");

    /* nothing was written */
    assert_int_equal(sql_number("SELECT count(*) FROM therapists WHERE email LIKE 'eve%'"), 0);
}

static void create_with_a_taken_email_gets_already_exists(void **state)
{
    (void)state;
    struct clinic_error err;
    int code;
    create_ok("Clara Voss", "clara@example.org", NULL, 0);
    Clinic__V1__Therapist *t = create("Clara Zwei", "CLARA@Example.org", NULL, 0, &code, &err);
    assert_null(t);
    assert_int_equal(code, STATUS_ALREADY_EXISTS);
    assert_string_equal(err.message, "a therapist with email CLARA@Example.org already exists");
}

static void unknown_therapist_gets_not_found(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Therapist *t;
    Clinic__V1__GetTherapistRequest get = CLINIC__V1__GET_THERAPIST_REQUEST__INIT;
    get.id = 987654;
    assert_int_equal(
        call("GetTherapist", &get.base, &clinic__v1__therapist__descriptor, &t, false, NULL, &err),
        STATUS_NOT_FOUND);
    assert_string_equal(err.message, "therapist 987654 does not exist");
    get.id = 0;
    int code =
        call("GetTherapist", &get.base, &clinic__v1__therapist__descriptor, &t, false, NULL, &err);
    violation_on(&err, code, "id");

    Clinic__V1__ArchiveTherapistRequest archive = CLINIC__V1__ARCHIVE_THERAPIST_REQUEST__INIT;
    archive.id = 987654;
    assert_int_equal(call("ArchiveTherapist", &archive.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_NOT_FOUND);

    Clinic__V1__UpdateTherapistRequest upd = CLINIC__V1__UPDATE_THERAPIST_REQUEST__INIT;
    char *mask[] = {"name"};
    upd.id = 987654;
    upd.name = "Nobody";
    upd.update_mask = mask;
    upd.n_update_mask = 1;
    assert_int_equal(call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_NOT_FOUND);
    assert_string_equal(err.message, "therapist 987654 does not exist");
}

static void list_filters_by_service_and_pages_by_id(void **state)
{
    (void)state;
    int64_t only_cupping[] = {cupping};
    int64_t cupping_and_massage[] = {massage, cupping};
    int64_t a = create_ok("List A", "list.a@example.org", only_cupping, 1);
    int64_t b = create_ok("List B", "list.b@example.org", NULL, 0);
    int64_t c = create_ok("List C", "list.c@example.org", cupping_and_massage, 2);
    int64_t d = create_ok("List D", "list.d@example.org", only_cupping, 1);

    int64_t ids[64];
    int pages;
    size_t n = list_all_ids(2, cupping, false, ids, 64, &pages);
    assert_int_equal(n, 3);
    assert_int_equal(pages, 2);
    assert_int_equal(ids[0], a);
    assert_int_equal(ids[1], c);
    assert_int_equal(ids[2], d);

    size_t all = list_all_ids(1, 0, false, ids, 64, &pages);
    assert_true(all >= 4);
    assert_true(contains(ids, all, b));
    for (size_t i = 1; i < all; i++)
        assert_true(ids[i - 1] < ids[i]);
    assert_int_equal(all, (size_t)sql_number("SELECT count(*) FROM therapists WHERE NOT archived"));

    /* a full last page says there is no more only when there is none */
    Clinic__V1__ListTherapistsResponse *r = list(3, "", cupping, false);
    assert_int_equal(r->n_therapists, 3);
    assert_string_equal(r->next_page_token, "");
    assert_int_equal(r->therapists[1]->n_service_ids, 2);
    free_msg(r);

    struct clinic_error err;
    Clinic__V1__ListTherapistsRequest req = CLINIC__V1__LIST_THERAPISTS_REQUEST__INIT;
    req.page_token = "garbage";
    int code = call("ListTherapists", &req.base, &clinic__v1__list_therapists_response__descriptor,
                    &r, false, NULL, &err);
    violation_on(&err, code, "page_token");
    req.page_token = "";
    req.page_size = 501;
    code = call("ListTherapists", &req.base, &clinic__v1__list_therapists_response__descriptor, &r,
                false, NULL, &err);
    violation_on(&err, code, "page_size");
}

static void update_changes_only_masked_fields_and_replaces_services(void **state)
{
    (void)state;
    int64_t first[] = {massage, cupping};
    int64_t id = create_ok("Dora Alt", "dora@example.org", first, 2);
    create_ok("Emil", "emil@example.org", NULL, 0);
    struct clinic_error err;
    Clinic__V1__Therapist *t;
    Clinic__V1__UpdateTherapistRequest upd = CLINIC__V1__UPDATE_THERAPIST_REQUEST__INIT;
    upd.id = id;

    /* services only: name and email keep their values though the request carries others */
    char *services_mask[] = {"service_ids"};
    int64_t second[] = {sports, cupping};
    upd.name = "ignored";
    upd.email = "ignored@example.org";
    upd.service_ids = second;
    upd.n_service_ids = 2;
    upd.update_mask = services_mask;
    upd.n_update_mask = 1;
    assert_int_equal(call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_OK);
    assert_string_equal(t->name, "Dora Alt");
    assert_string_equal(t->email, "dora@example.org");
    assert_int_equal(t->n_service_ids, 2);
    assert_int_equal(t->service_ids[0], cupping);
    assert_int_equal(t->service_ids[1], sports);
    free_msg(t);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM therapist_services WHERE therapist_id = %lld",
             (long long)id);
    assert_int_equal(sql_number(sql), 2);

    /* name and email; services untouched */
    char *name_mask[] = {"name", "email"};
    upd.name = "Dora Neu";
    upd.email = "dora.neu@example.org";
    upd.n_service_ids = 0;
    upd.update_mask = name_mask;
    upd.n_update_mask = 2;
    assert_int_equal(call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_OK);
    assert_string_equal(t->name, "Dora Neu");
    assert_string_equal(t->email, "dora.neu@example.org");
    assert_int_equal(t->n_service_ids, 2);
    free_msg(t);

    /* an empty set in the mask clears the services */
    upd.update_mask = services_mask;
    upd.n_update_mask = 1;
    assert_int_equal(call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_OK);
    assert_int_equal(t->n_service_ids, 0);
    free_msg(t);

    /* refusals change nothing */
    int64_t unknown[] = {massage, 7777};
    upd.service_ids = unknown;
    upd.n_service_ids = 2;
    int code = call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t, true,
                    NULL, &err);
    assert_non_null(strstr(violation_on(&err, code, "service_ids"), "7777"));
    assert_int_equal(sql_number(sql), 0);

    char *email_mask[] = {"email"};
    upd.update_mask = email_mask;
    upd.email = "Emil@example.org";
    assert_int_equal(call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_ALREADY_EXISTS);
    assert_non_null(strstr(err.message, "Emil@example.org"));
    upd.email = "broken";
    code = call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t, true, NULL,
                &err);
    violation_on(&err, code, "email");

    char *bad_mask[] = {"archived"};
    upd.update_mask = bad_mask;
    code = call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t, true, NULL,
                &err);
    violation_on(&err, code, "update_mask");
    upd.n_update_mask = 0;
    code = call("UpdateTherapist", &upd.base, &clinic__v1__therapist__descriptor, &t, true, NULL,
                &err);
    violation_on(&err, code, "update_mask");
}

static void archive_hides_the_therapist_from_lists_but_not_from_get(void **state)
{
    (void)state;
    int64_t only_sports[] = {sports};
    int64_t id = create_ok("Fritz Fort", "fritz@example.org", only_sports, 1);
    struct clinic_error err;
    Clinic__V1__Therapist *t;
    Clinic__V1__ArchiveTherapistRequest archive = CLINIC__V1__ARCHIVE_THERAPIST_REQUEST__INIT;
    archive.id = id;
    assert_int_equal(call("ArchiveTherapist", &archive.base, &clinic__v1__therapist__descriptor, &t,
                          true, NULL, &err),
                     STATUS_OK);
    assert_true(t->archived);
    assert_int_equal(t->n_service_ids, 1);
    free_msg(t);

    int64_t ids[64];
    int pages;
    size_t n = list_all_ids(50, sports, false, ids, 64, &pages);
    assert_false(contains(ids, n, id));
    n = list_all_ids(50, sports, true, ids, 64, &pages);
    assert_true(contains(ids, n, id));

    Clinic__V1__GetTherapistRequest get = CLINIC__V1__GET_THERAPIST_REQUEST__INIT;
    get.id = id;
    assert_int_equal(
        call("GetTherapist", &get.base, &clinic__v1__therapist__descriptor, &t, false, NULL, &err),
        STATUS_OK);
    assert_true(t->archived);
    free_msg(t);
}

static void create_with_the_same_idempotency_key_returns_the_first_answer(void **state)
{
    (void)state;
    Clinic__V1__CreateTherapistRequest req = CLINIC__V1__CREATE_THERAPIST_REQUEST__INIT;
    int64_t ids[] = {massage};
    req.name = "Greta Once";
    req.email = "greta@example.org";
    req.service_ids = ids;
    req.n_service_ids = 1;
    struct clinic_error err;
    Clinic__V1__Therapist *first, *second;
    assert_int_equal(call("CreateTherapist", &req.base, &clinic__v1__therapist__descriptor, &first,
                          true, "create-greta-1", &err),
                     STATUS_OK);
    assert_int_equal(call("CreateTherapist", &req.base, &clinic__v1__therapist__descriptor, &second,
                          true, "create-greta-1", &err),
                     STATUS_OK);
    assert_int_equal(first->id, second->id);
    assert_string_equal(second->email, "greta@example.org");
    assert_int_equal(second->n_service_ids, 1);
    free_msg(first);
    free_msg(second);
    assert_int_equal(
        sql_number("SELECT count(*) FROM therapists WHERE email = 'greta@example.org'"), 1);
    /* a fresh key is a second create: the email is taken now */
    assert_int_equal(call("CreateTherapist", &req.base, &clinic__v1__therapist__descriptor, &second,
                          true, "create-greta-2", &err),
                     STATUS_ALREADY_EXISTS);
}

/* --- working hours --- */

static void working_hours_round_trip(void **state)
{
    (void)state;
    int64_t id = create_ok("Hanna Hours", "hanna@example.org", NULL, 0);
    struct clinic_error err;
    Clinic__V1__WorkingHours *h;
    assert_int_equal(add_hours(id, berlin, 1, "09:00", "17:00", "", "", &h, &err), STATUS_OK);
    assert_true(h->id > 0);
    assert_int_equal(h->therapist_id, id);
    assert_int_equal(h->location_id, berlin);
    assert_int_equal(h->weekday, 1);
    assert_string_equal(h->start_local, "09:00");
    assert_string_equal(h->end_local, "17:00");
    assert_string_equal(h->valid_from,
                        ""); /* no start given: shown as no limit, as admin.proto says */
    assert_string_equal(h->valid_until, "");
    int64_t monday = h->id;
    free_msg(h);
    /* a late shift to midnight, for one season */
    assert_int_equal(add_hours(id, lisbon, 5, "18:30", "24:00", in_next_year("04-01"),
                               in_next_year("09-30"), &h, &err),
                     STATUS_OK);
    assert_string_equal(h->start_local, "18:30");
    assert_string_equal(h->end_local, "24:00");
    assert_string_equal(h->valid_from, in_next_year("04-01"));
    assert_string_equal(h->valid_until, in_next_year("09-30"));
    free_msg(h);
    /* one day only: until equal to from */
    assert_int_equal(add_hours(id, berlin, 3, "00:00", "06:15", in_next_year("05-05"),
                               in_next_year("05-05"), &h, &err),
                     STATUS_OK);
    free_msg(h);

    Clinic__V1__ListWorkingHoursRequest lreq = CLINIC__V1__LIST_WORKING_HOURS_REQUEST__INIT;
    lreq.therapist_id = id;
    Clinic__V1__ListWorkingHoursResponse *l;
    assert_int_equal(call("ListWorkingHours", &lreq.base,
                          &clinic__v1__list_working_hours_response__descriptor, &l, false, NULL,
                          &err),
                     STATUS_OK);
    assert_int_equal(l->n_hours, 3);
    assert_int_equal(l->hours[0]->weekday, 1);
    assert_int_equal(l->hours[1]->weekday, 3);
    assert_string_equal(l->hours[1]->end_local, "06:15");
    assert_int_equal(l->hours[2]->weekday, 5);
    assert_int_equal(l->hours[2]->location_id, lisbon);
    free_msg(l);

    Clinic__V1__DeleteWorkingHoursRequest del = CLINIC__V1__DELETE_WORKING_HOURS_REQUEST__INIT;
    del.id = monday;
    Clinic__V1__DeleteWorkingHoursResponse *dr;
    assert_int_equal(call("DeleteWorkingHours", &del.base,
                          &clinic__v1__delete_working_hours_response__descriptor, &dr, true, NULL,
                          &err),
                     STATUS_OK);
    free_msg(dr);
    assert_int_equal(call("DeleteWorkingHours", &del.base,
                          &clinic__v1__delete_working_hours_response__descriptor, &dr, true, NULL,
                          &err),
                     STATUS_NOT_FOUND);
    assert_int_equal(call("ListWorkingHours", &lreq.base,
                          &clinic__v1__list_working_hours_response__descriptor, &l, false, NULL,
                          &err),
                     STATUS_OK);
    assert_int_equal(l->n_hours, 2);
    free_msg(l);

    lreq.therapist_id = 987654;
    assert_int_equal(call("ListWorkingHours", &lreq.base,
                          &clinic__v1__list_working_hours_response__descriptor, &l, false, NULL,
                          &err),
                     STATUS_NOT_FOUND);
}

static void working_hours_refuse_bad_values_naming_the_field(void **state)
{
    (void)state;
    int64_t id = create_ok("Ida Invalid", "ida@example.org", NULL, 0);
    struct clinic_error err;
    Clinic__V1__WorkingHours *h;
    int code = add_hours(id, berlin, 0, "09:00", "17:00", "", "", &h, &err);
    assert_non_null(strstr(violation_on(&err, code, "weekday"), "1 (Monday)"));
    code = add_hours(id, berlin, 8, "09:00", "17:00", "", "", &h, &err);
    violation_on(&err, code, "weekday");
    code = add_hours(id, berlin, 2, "9:00", "17:00", "", "", &h, &err);
    assert_non_null(strstr(violation_on(&err, code, "start_local"), "09:00"));
    code = add_hours(id, berlin, 2, "09:00", "24:30", "", "", &h, &err);
    violation_on(&err, code, "end_local");
    code = add_hours(id, berlin, 2, "17:00", "09:00", "", "", &h, &err);
    assert_non_null(strstr(violation_on(&err, code, "end_local"), "after start_local"));
    /* overnight hours: the sentence says how to write them */
    code = add_hours(id, berlin, 2, "22:00", "06:00", "", "", &h, &err);
    assert_non_null(strstr(violation_on(&err, code, "end_local"),
                           "22:00-24:00 on one day and 00:00-06:00 on the next"));
    code = add_hours(id, berlin, 2, "09:00", "09:00", "", "", &h, &err);
    violation_on(&err, code, "end_local");
    code = add_hours(id, berlin, 2, "24:00", "24:00", "", "", &h, &err);
    violation_on(&err, code, "end_local");
    code = add_hours(id, berlin, 2, "09:00", "17:00", in_next_year("06-01"), in_next_year("05-31"),
                     &h, &err);
    assert_non_null(strstr(violation_on(&err, code, "valid_until"), "valid_from"));
    code = add_hours(id, berlin, 2, "09:00", "17:00", "", "1999-12-31", &h, &err);
    violation_on(&err, code, "valid_until");
    code = add_hours(id, berlin, 2, "09:00", "17:00", text("1.6.%d", harness_next_year()), "", &h,
                     &err);
    violation_on(&err, code, "valid_from");
    /* the shape is right but the day does not exist (in any year): the database names the field */
    code = add_hours(id, berlin, 2, "09:00", "17:00", in_next_year("02-30"), "", &h, &err);
    violation_on(&err, code, "valid_from");
    /* several at once */
    code = add_hours(0, berlin, 9, "x", "17:00", "", "", &h, &err);
    violation_on(&err, code, "therapist_id");
    violation_on(&err, code, "weekday");
    violation_on(&err, code, "start_local");

    assert_int_equal(add_hours(987654, berlin, 2, "09:00", "17:00", "", "", &h, &err),
                     STATUS_NOT_FOUND);
    assert_string_equal(err.message, "therapist 987654 does not exist");
    assert_int_equal(add_hours(id, 987654, 2, "09:00", "17:00", "", "", &h, &err),
                     STATUS_NOT_FOUND);
    assert_string_equal(err.message, "location 987654 does not exist");
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM working_hours WHERE therapist_id = %lld",
             (long long)id);
    assert_int_equal(sql_number(sql), 0);
}

/* Asserts that adding hours was refused because of rule `in_the_way`, whose description (weekday,
 * times, validity) the sentence must carry. */
static void assert_overlap_names(int code, const struct clinic_error *err, int64_t in_the_way,
                                 const char *described)
{
    assert_int_equal(code, STATUS_FAILED_PRECONDITION);
    if (!strstr(err->message, text("(working hours %lld, ", (long long)in_the_way)) ||
        !strstr(err->message, described) ||
        !strstr(err->message, text("delete or change working hours %lld", (long long)in_the_way)))
        fail_msg("expected working hours %lld (%s) named in: %s", (long long)in_the_way, described,
                 err->message);
}

static void working_hours_refuse_an_overlap_naming_the_rule_in_the_way(void **state)
{
    (void)state;
    int64_t id = create_ok("Olga Overlap", "olga@example.org", NULL, 0);
    struct clinic_error err;
    Clinic__V1__WorkingHours *h;
    assert_int_equal(add_hours(id, berlin, 1, "09:00", "17:00", "", "", &h, &err), STATUS_OK);
    int64_t monday = h->id;
    free_msg(h);

    /* an early start over the day's rule, a duplicate, a rule inside it, one around it */
    int code = add_hours(id, berlin, 1, "08:00", "10:00", "", "", &h, &err);
    assert_overlap_names(code, &err, monday, "Monday 09:00-17:00 at location");
    assert_non_null(strstr(err.message, "valid always"));
    code = add_hours(id, berlin, 1, "09:00", "17:00", "", "", &h, &err);
    assert_overlap_names(code, &err, monday, "Monday 09:00-17:00");
    code = add_hours(id, berlin, 1, "12:00", "13:00", "", "", &h, &err);
    assert_overlap_names(code, &err, monday, "Monday 09:00-17:00");
    code = add_hours(id, berlin, 1, "07:00", "20:00", in_next_year("03-01"), "", &h, &err);
    assert_overlap_names(code, &err, monday, "Monday 09:00-17:00");
    /* nobody works in two places at once: another location is no way round it */
    code = add_hours(id, lisbon, 1, "16:00", "18:00", "", "", &h, &err);
    assert_overlap_names(code, &err, monday, "Monday 09:00-17:00");

    /* rules that only meet are fine, before and after */
    assert_int_equal(add_hours(id, berlin, 1, "17:00", "20:00", "", "", &h, &err), STATUS_OK);
    free_msg(h);
    assert_int_equal(add_hours(id, lisbon, 1, "06:00", "09:00", "", "", &h, &err), STATUS_OK);
    int64_t early = h->id;
    free_msg(h);
    /* another weekday, and another therapist on the same hours */
    assert_int_equal(add_hours(id, berlin, 2, "08:00", "10:00", "", "", &h, &err), STATUS_OK);
    free_msg(h);
    int64_t other = create_ok("Otto Other", "otto@example.org", NULL, 0);
    assert_int_equal(add_hours(other, berlin, 1, "09:00", "17:00", "", "", &h, &err), STATUS_OK);
    free_msg(h);

    /* validity counts: a summer rule and a winter rule that follows it do not overlap */
    assert_int_equal(add_hours(id, berlin, 4, "09:00", "17:00", in_next_year("04-01"),
                               in_next_year("09-30"), &h, &err),
                     STATUS_OK);
    int64_t summer = h->id;
    free_msg(h);
    assert_int_equal(
        add_hours(id, berlin, 4, "08:00", "16:00", in_next_year("10-01"), "", &h, &err), STATUS_OK);
    free_msg(h);
    assert_int_equal(
        add_hours(id, berlin, 4, "10:00", "18:00", "", in_next_year("03-31"), &h, &err), STATUS_OK);
    free_msg(h);
    /* ... but one that starts on the summer rule's last day does */
    code = add_hours(id, berlin, 4, "12:00", "13:00", in_next_year("09-30"), in_next_year("09-30"),
                     &h, &err);
    assert_overlap_names(code, &err, summer,
                         text("Thursday 09:00-17:00 at location %lld (working hours %lld, valid %s "
                              "to %s)",
                              (long long)berlin, (long long)summer, in_next_year("04-01"),
                              in_next_year("09-30")));

    /* deleting the rule in the way lets the new one in */
    Clinic__V1__DeleteWorkingHoursRequest del = CLINIC__V1__DELETE_WORKING_HOURS_REQUEST__INIT;
    del.id = monday;
    Clinic__V1__DeleteWorkingHoursResponse *dr;
    assert_int_equal(call("DeleteWorkingHours", &del.base,
                          &clinic__v1__delete_working_hours_response__descriptor, &dr, true, NULL,
                          &err),
                     STATUS_OK);
    free_msg(dr);
    assert_int_equal(add_hours(id, berlin, 1, "09:00", "12:00", "", "", &h, &err), STATUS_OK);
    free_msg(h);
    /* the early rule at the other location is still in the way of an earlier start */
    code = add_hours(id, berlin, 1, "08:00", "10:00", "", "", &h, &err);
    assert_overlap_names(code, &err, early, "Monday 06:00-09:00");
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM working_hours WHERE therapist_id = %lld AND weekday = 1",
             (long long)id);
    assert_int_equal(sql_number(sql), 3);
}

/* One of two callers adding overlapping hours at the same moment, on its own connection. */
struct hours_racer {
    pthread_barrier_t *start;
    int64_t therapist, location;
    uint32_t weekday;
    const char *from, *to;
    int code;
    char message[256];
};

static void *hours_racer_run(void *arg)
{
    struct hours_racer *r = arg;
    clinic_client *c = harness_connect_as(daemon_.url, daemon_.admin_token);
    r->code = -1;
    if (!c)
        return NULL;
    Clinic__V1__AddWorkingHoursRequest req = CLINIC__V1__ADD_WORKING_HOURS_REQUEST__INIT;
    req.therapist_id = r->therapist;
    req.location_id = r->location;
    req.weekday = r->weekday;
    req.start_local = (char *)r->from;
    req.end_local = (char *)r->to;
    req.valid_from = "";
    req.valid_until = "";
    struct clinic_error err;
    Clinic__V1__WorkingHours *h = NULL;
    pthread_barrier_wait(r->start);
    r->code = harness_call(c, "Therapists/AddWorkingHours", &req,
                           &clinic__v1__working_hours__descriptor, &h, true, NULL, &err);
    snprintf(r->message, sizeof r->message, "%.200s", r->code == STATUS_OK ? "" : err.message);
    harness_free_message(h);
    clinic_close(c);
    return NULL;
}

static void working_hours_added_at_once_overlapping_let_exactly_one_in(void **state)
{
    (void)state;
    /* a few rounds, each on a fresh therapist and weekday, so that the two calls meet in the
     * database more than once; every round must end with one rule. The two rules are at two
     * locations, whose rules locks do not serialise them: only the therapist's does. */
    enum { ROUNDS = 6 };
    for (int round = 0; round < ROUNDS; round++) {
        int64_t id =
            create_ok(text("Rita Race %d", round), text("rita%d@example.org", round), NULL, 0);
        pthread_barrier_t start;
        assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
        struct hours_racer racers[2] = {
            {.start = &start,
             .therapist = id,
             .location = berlin,
             .weekday = 1 + round % 7,
             .from = "09:00",
             .to = "17:00"},
            {.start = &start,
             .therapist = id,
             .location = lisbon,
             .weekday = 1 + round % 7,
             .from = "08:00",
             .to = "10:00"},
        };
        pthread_t threads[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&threads[i], NULL, hours_racer_run, &racers[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&start);
        int won = (racers[0].code == STATUS_OK) + (racers[1].code == STATUS_OK);
        if (won != 1)
            fail_msg("round %d: %d of 2 overlapping rules were added (%d \"%s\", %d \"%s\")", round,
                     won, racers[0].code, racers[0].message, racers[1].code, racers[1].message);
        struct hours_racer *lost = racers[0].code == STATUS_OK ? &racers[1] : &racers[0];
        assert_int_equal(lost->code, STATUS_FAILED_PRECONDITION);
        assert_non_null(strstr(lost->message, "delete or change working hours"));
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM working_hours WHERE therapist_id = %lld",
                 (long long)id);
        assert_int_equal(sql_number(sql), 1);
    }
}

/* --- time off --- */

/* On the day of clock change c, the local time `hours` from the start of the hour it skips or
 * repeats (02:00 in Berlin): at_change(c, -1, 0) is "YYYY-MM-DD 01:00". */
static const char *at_change(const struct harness_dst_change *c, int hours, int minutes)
{
    int hour = atoi(c->hour) + hours;
    assert_true(hour >= 0 && hour <= 23);
    return text("%s %02d:%02d", c->day, hour, minutes);
}

/* That local time, at a whole hour, as a reply shows it with its offset:
 * "YYYY-MM-DDT01:00:00+01:00". */
static const char *reply_at_change(const struct harness_dst_change *c, int hours,
                                   const char *offset)
{
    int hour = atoi(c->hour) + hours;
    assert_true(hour >= 0 && hour <= 23);
    return text("%sT%02d:00:00%s", c->day, hour, offset);
}

static void time_off_reads_local_times_in_the_zone_across_spring_forward(void **state)
{
    (void)state;
    int64_t id = create_ok("Jana Jet", "jana@example.org", NULL, 0);
    struct clinic_error err;
    Clinic__V1__TimeOff *o;
    /* next year's clock changes in Berlin, as the daemon's zone database has them */
    struct harness_dst_change forward, back;
    assert_true(harness_dst_change(db_url, "Europe/Berlin", harness_next_year(), true, &forward));
    assert_true(harness_dst_change(db_url, "Europe/Berlin", harness_next_year(), false, &back));

    /* 02:30 on the spring change's day does not happen in Berlin: the clocks go from 02:00 to
     * 03:00 */
    int code = add_time_off(id, at_change(&forward, 0, 30), at_change(&forward, 3, 0),
                            "Europe/Berlin", &o, &err);
    assert_null(o);
    const char *d = violation_on(&err, code, "start_time");
    assert_non_null(strstr(d, "does not exist in Europe/Berlin"));
    code = add_time_off(id, at_change(&forward, -1, 0), text("%sT%s:15", forward.day, forward.hour),
                        "Europe/Berlin", &o, &err);
    violation_on(&err, code, "end_time");

    /* across the change: 01:00 is +01:00, 04:00 is +02:00, two hours apart */
    assert_int_equal(add_time_off(id, at_change(&forward, -1, 0), at_change(&forward, 2, 0),
                                  "Europe/Berlin", &o, &err),
                     STATUS_OK);
    assert_string_equal(o->start_time, reply_at_change(&forward, -1, forward.offset_before));
    assert_string_equal(o->end_time, reply_at_change(&forward, 2, forward.offset_after));
    assert_string_equal(o->reason, "holiday");
    assert_int_equal(o->therapist_id, id);
    int64_t first = o->id;
    free_msg(o);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT extract(epoch FROM upper(during) - lower(during))::bigint FROM time_off"
             " WHERE id = %lld",
             (long long)first);
    assert_int_equal(sql_number(sql), 7200);

    /* with offsets the zone only shapes the reply */
    assert_int_equal(add_time_off(id, in_next_year("07-01T08:00:00Z"),
                                  in_next_year("07-01T12:00:00+02:00"), "Europe/Lisbon", &o, &err),
                     STATUS_OK);
    assert_string_equal(o->start_time, in_next_year("07-01T09:00:00+01:00"));
    assert_string_equal(o->end_time, in_next_year("07-01T11:00:00+01:00"));
    free_msg(o);
    /* no zone and no working hours: offsets are enough, the reply is in UTC */
    assert_int_equal(add_time_off(id, in_next_year("08-01T10:00:00+02:00"),
                                  in_next_year("08-01T12:00:00+02:00"), "", &o, &err),
                     STATUS_OK);
    assert_string_equal(o->start_time, in_next_year("08-01T08:00:00+00:00"));
    free_msg(o);
    /* ... but a local time then has no zone to be read in */
    code = add_time_off(id, in_next_year("08-02 10:00"), in_next_year("08-02T12:00:00+02:00"), "",
                        &o, &err);
    assert_non_null(strstr(violation_on(&err, code, "time_zone"), "working hours"));

    /* with working hours the location's zone is the default */
    Clinic__V1__WorkingHours *h;
    assert_int_equal(add_hours(id, berlin, 2, "09:00", "17:00", "", "", &h, &err), STATUS_OK);
    free_msg(h);
    assert_int_equal(
        add_time_off(id, at_change(&back, -1, 0), at_change(&back, 3, 0), "", &o, &err), STATUS_OK);
    /* 02:00-03:00 on the autumn change's day happens twice in Berlin; 4 + 1 hours */
    assert_string_equal(o->start_time, reply_at_change(&back, -1, back.offset_before));
    assert_string_equal(o->end_time, reply_at_change(&back, 3, back.offset_after));
    int64_t autumn = o->id;
    free_msg(o);

    Clinic__V1__ListTimeOffRequest lreq = CLINIC__V1__LIST_TIME_OFF_REQUEST__INIT;
    lreq.therapist_id = id;
    Clinic__V1__ListTimeOffResponse *l;
    assert_int_equal(call("ListTimeOff", &lreq.base,
                          &clinic__v1__list_time_off_response__descriptor, &l, false, NULL, &err),
                     STATUS_OK);
    assert_int_equal(l->n_time_off, 4);
    assert_int_equal(l->time_off[0]->id, first);
    assert_string_equal(l->time_off[0]->start_time,
                        reply_at_change(&forward, -1, forward.offset_before));
    assert_string_equal(l->time_off[1]->start_time, in_next_year("07-01T10:00:00+02:00"));
    assert_int_equal(l->time_off[3]->id, autumn);
    free_msg(l);

    Clinic__V1__DeleteTimeOffRequest del = CLINIC__V1__DELETE_TIME_OFF_REQUEST__INIT;
    del.id = autumn;
    Clinic__V1__DeleteTimeOffResponse *dr;
    assert_int_equal(call("DeleteTimeOff", &del.base,
                          &clinic__v1__delete_time_off_response__descriptor, &dr, true, NULL, &err),
                     STATUS_OK);
    free_msg(dr);
    assert_int_equal(call("DeleteTimeOff", &del.base,
                          &clinic__v1__delete_time_off_response__descriptor, &dr, true, NULL, &err),
                     STATUS_NOT_FOUND);
    char want[64];
    snprintf(want, sizeof want, "time off %lld does not exist", (long long)autumn);
    assert_string_equal(err.message, want);
}

static void time_off_refuses_bad_values_naming_the_field(void **state)
{
    (void)state;
    int64_t id = create_ok("Karl Kaputt", "karl@example.org", NULL, 0);
    struct clinic_error err;
    Clinic__V1__TimeOff *o;
    int code = add_time_off(id, in_next_year("05-01 10:00"), in_next_year("05-01 12:00"),
                            "Mars/Olympus", &o, &err);
    assert_non_null(strstr(violation_on(&err, code, "time_zone"), "IANA"));
    code = add_time_off(id, in_next_year("05-01 12:00"), in_next_year("05-01 10:00"),
                        "Europe/Berlin", &o, &err);
    assert_non_null(strstr(violation_on(&err, code, "end_time"), "after start_time"));
    code = add_time_off(id, in_next_year("05-01 12:00"), in_next_year("05-01 12:00"),
                        "Europe/Berlin", &o, &err);
    violation_on(&err, code, "end_time");
    code = add_time_off(id, "tomorrow", in_next_year("05-01 12:00"), "Europe/Berlin", &o, &err);
    violation_on(&err, code, "start_time");
    code = add_time_off(id, in_next_year("05-01 10:00"), "", "Europe/Berlin", &o, &err);
    violation_on(&err, code, "end_time");
    code = add_time_off(id, in_next_year("13-01 10:00"), in_next_year("05-01 12:00"),
                        "Europe/Berlin", &o, &err);
    violation_on(&err, code, "start_time");
    assert_int_equal(add_time_off(987654, in_next_year("05-01 10:00"), in_next_year("05-01 12:00"),
                                  "Europe/Berlin", &o, &err),
                     STATUS_NOT_FOUND);
    assert_string_equal(err.message, "therapist 987654 does not exist");
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM time_off WHERE therapist_id = %lld",
             (long long)id);
    assert_int_equal(sql_number(sql), 0);
}

static void time_off_over_a_booked_appointment_fails_precondition(void **state)
{
    (void)state;
    int64_t ids[] = {massage};
    int64_t id = create_ok("Lena Busy", "lena@example.org", ids, 1);
    /* 10:00-10:50 Berlin (summer time: +02) early in April, blocked 09:50-11:00 with the
     * massage's buffers */
    char day[16];
    snprintf(day, sizeof day, "%d-04-05", harness_next_year());
    char sql[640];
    snprintf(sql, sizeof sql,
             "INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
             " start_at, end_at, blocked) VALUES (%lld, %lld, %lld, %lld, %lld,"
             " '%s 10:00+02', '%s 10:50+02', tstzrange('%s 09:50+02', '%s 11:00+02'))"
             " RETURNING id",
             (long long)client_id, (long long)id, (long long)room, (long long)massage,
             (long long)berlin, day, day, day, day);
    int64_t appointment = sql_number(sql);
    struct clinic_error err;
    Clinic__V1__TimeOff *o;
    assert_int_equal(add_time_off(id, in_next_year("04-05 08:00"), in_next_year("04-05 18:00"),
                                  "Europe/Berlin", &o, &err),
                     STATUS_FAILED_PRECONDITION);
    char want[160];
    snprintf(want, sizeof want,
             "1 appointment(s) of therapist %lld fall in that time off; move or cancel them first",
             (long long)id);
    assert_string_equal(err.message, want);
    /* the buffer after the session is the therapist's time too */
    assert_int_equal(add_time_off(id, in_next_year("04-05 10:55"), in_next_year("04-05 12:00"),
                                  "Europe/Berlin", &o, &err),
                     STATUS_FAILED_PRECONDITION);
    /* touching is not overlapping */
    assert_int_equal(add_time_off(id, in_next_year("04-05 11:00"), in_next_year("04-05 12:00"),
                                  "Europe/Berlin", &o, &err),
                     STATUS_OK);
    free_msg(o);
    /* a checked-in appointment counts, a cancelled one does not */
    snprintf(sql, sizeof sql,
             "UPDATE appointments SET status = 'checked_in' WHERE id = %lld RETURNING id",
             (long long)appointment);
    sql_exec(sql);
    assert_int_equal(add_time_off(id, in_next_year("04-05 07:00"), in_next_year("04-05 09:55"),
                                  "Europe/Berlin", &o, &err),
                     STATUS_FAILED_PRECONDITION);
    snprintf(sql, sizeof sql,
             "UPDATE appointments SET status = 'cancelled' WHERE id = %lld RETURNING id",
             (long long)appointment);
    sql_exec(sql);
    assert_int_equal(add_time_off(id, in_next_year("04-05 07:00"), in_next_year("04-05 10:30"),
                                  "Europe/Berlin", &o, &err),
                     STATUS_OK);
    free_msg(o);
}

/* A client lists and reads therapists to book one, but their email addresses are the staff's:
 * empty for a client, there for the desk. */
static void a_client_sees_therapists_without_their_email(void **state)
{
    (void)state;
    int64_t id = create_ok("Clara Privat", "clara.privat@therapists.test", &massage, 1);
    char token[64];
    assert_true(harness_create_user(db_url, "ben.back@clients.test", "client", 0, client_id, NULL) >
                0);
    assert_int_equal(harness_login(daemon_.url, "ben.back@clients.test", NULL, token, sizeof token),
                     STATUS_OK);
    clinic_client *as_client = harness_connect_as(daemon_.url, token);
    assert_non_null(as_client);
    struct clinic_error err;
    Clinic__V1__GetTherapistRequest get = CLINIC__V1__GET_THERAPIST_REQUEST__INIT;
    get.id = id;
    Clinic__V1__Therapist *seen = NULL;
    assert_int_equal(harness_call(as_client, "Therapists/GetTherapist", &get,
                                  &clinic__v1__therapist__descriptor, &seen, false, NULL, &err),
                     STATUS_OK);
    assert_string_equal(seen->name, "Clara Privat");
    assert_string_equal(seen->email, "");
    harness_free_message(seen);
    Clinic__V1__ListTherapistsRequest list = CLINIC__V1__LIST_THERAPISTS_REQUEST__INIT;
    Clinic__V1__ListTherapistsResponse *all = NULL;
    assert_int_equal(harness_call(as_client, "Therapists/ListTherapists", &list,
                                  &clinic__v1__list_therapists_response__descriptor, &all, false,
                                  NULL, &err),
                     STATUS_OK);
    assert_true(all->n_therapists > 0);
    for (size_t i = 0; i < all->n_therapists; i++)
        assert_string_equal(all->therapists[i]->email, "");
    harness_free_message(all);
    clinic_close(as_client);
    /* the desk (here the admin) still sees it */
    assert_int_equal(call("GetTherapist", &get.base, &clinic__v1__therapist__descriptor, &seen,
                          false, NULL, &err),
                     STATUS_OK);
    assert_string_equal(seen->email, "clara.privat@therapists.test");
    free_msg(seen);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_returns_the_therapist_with_sorted_unique_services),
        cmocka_unit_test(create_names_every_bad_field),
        cmocka_unit_test(create_with_a_taken_email_gets_already_exists),
        cmocka_unit_test(unknown_therapist_gets_not_found),
        cmocka_unit_test(list_filters_by_service_and_pages_by_id),
        cmocka_unit_test(update_changes_only_masked_fields_and_replaces_services),
        cmocka_unit_test(archive_hides_the_therapist_from_lists_but_not_from_get),
        cmocka_unit_test(create_with_the_same_idempotency_key_returns_the_first_answer),
        cmocka_unit_test(working_hours_round_trip),
        cmocka_unit_test(working_hours_refuse_bad_values_naming_the_field),
        cmocka_unit_test(working_hours_refuse_an_overlap_naming_the_rule_in_the_way),
        cmocka_unit_test(working_hours_added_at_once_overlapping_let_exactly_one_in),
        cmocka_unit_test(time_off_reads_local_times_in_the_zone_across_spring_forward),
        cmocka_unit_test(time_off_refuses_bad_values_naming_the_field),
        cmocka_unit_test(time_off_over_a_booked_appointment_fails_precondition),
        cmocka_unit_test(a_client_sees_therapists_without_their_email),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
