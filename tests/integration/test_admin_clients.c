/* clinic.v1.Clients through libclinic, as the front desk keeps its client file: contact details
 * that are optional but checked (email, phone, date of birth), stored as NULL when absent and
 * shown as ""; emails unique whatever their case; search on name or email that takes its query
 * literally; paging; changes limited to the update mask, clearing included; archiving; every
 * refused field named in the reply; idempotent creation; and no contact data in the daemon's
 * log, even at debug level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clinic/v1/admin.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 10000

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];

static int setup(void **state)
{
    (void)state;
    /* debug level: the level at which the database's own error text would be logged */
    static const char *const debug_log[] = {"--log-level", "debug", NULL};
    struct clinic_error err;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "admin_clients", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, debug_log, true))
        return -1;
    client = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &err);
    return client ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(client);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* harness_call on this file's client. */
static int call(const char *method, const void *request, const ProtobufCMessageDescriptor *type,
                void *out, bool mutating, const char *key, struct clinic_error *err)
{
    return harness_call(client, method, request, type, out, mutating, key, err);
}

/* Every name, email and phone number below carries one of these marks, so that the log check
 * at the end can tell whether any of them reached the daemon's log. */
#define NAME_MARK  "Tester"
#define EMAIL_MARK "@mail.test"
#define PHONE_MARK "777 12"

static int create_client_call(const char *name, const char *email, const char *phone,
                              const char *date_of_birth, const char *key, Clinic__V1__Client **out,
                              struct clinic_error *err)
{
    Clinic__V1__CreateClientRequest req = CLINIC__V1__CREATE_CLIENT_REQUEST__INIT;
    req.name = (char *)name;
    req.email = (char *)email;
    req.phone = (char *)phone;
    req.date_of_birth = (char *)date_of_birth;
    return call("Clients/CreateClient", &req, &clinic__v1__client__descriptor, out, true, key, err);
}

static int64_t create_client(const char *name, const char *email)
{
    Clinic__V1__Client *c;
    struct clinic_error err;
    if (create_client_call(name, email, "", "", NULL, &c, &err) != STATUS_OK)
        fail_msg("CreateClient failed: %s", err.message);
    int64_t id = c->id;
    harness_free_message(c);
    return id;
}

static int get_client(int64_t id, Clinic__V1__Client **out, struct clinic_error *err)
{
    Clinic__V1__GetClientRequest req = CLINIC__V1__GET_CLIENT_REQUEST__INIT;
    req.id = id;
    return call("Clients/GetClient", &req, &clinic__v1__client__descriptor, out, false, NULL, err);
}

static int list_clients(const char *query, uint32_t page_size, const char *token, bool archived,
                        Clinic__V1__ListClientsResponse **out, struct clinic_error *err)
{
    Clinic__V1__ListClientsRequest req = CLINIC__V1__LIST_CLIENTS_REQUEST__INIT;
    req.query = (char *)query;
    req.page_size = page_size;
    req.page_token = (char *)token;
    req.include_archived = archived;
    return call("Clients/ListClients", &req, &clinic__v1__list_clients_response__descriptor, out,
                false, NULL, err);
}

/* The ids a search finds on its first page (page size 500), in order, as "id,id,...". */
static void search(const char *query, bool archived, char *out, size_t len)
{
    Clinic__V1__ListClientsResponse *resp;
    struct clinic_error err;
    assert_int_equal(list_clients(query, 500, "", archived, &resp, &err), STATUS_OK);
    assert_string_equal(resp->next_page_token, "");
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < resp->n_clients && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", i ? "," : "",
                                 (long long)resp->clients[i]->id);
    harness_free_message(resp);
}

static int update_client(Clinic__V1__UpdateClientRequest *req, Clinic__V1__Client **out,
                         struct clinic_error *err)
{
    return call("Clients/UpdateClient", req, &clinic__v1__client__descriptor, out, true, NULL, err);
}

static int archive_client(int64_t id, Clinic__V1__Client **out, struct clinic_error *err)
{
    Clinic__V1__ArchiveClientRequest req = CLINIC__V1__ARCHIVE_CLIENT_REQUEST__INIT;
    req.id = id;
    return call("Clients/ArchiveClient", &req, &clinic__v1__client__descriptor, out, true, NULL,
                err);
}

/* True when the database holds NULL (not "") in every optional field of client id. */
static bool contact_details_are_null(int64_t id)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT (email IS NULL AND phone IS NULL AND date_of_birth IS NULL)::text"
             " FROM clients WHERE id = %lld",
             (long long)id);
    char *value = harness_sql(db_url, sql);
    assert_non_null(value);
    bool nulls = strcmp(value, "true") == 0;
    free(value);
    return nulls;
}

/* The UTC day `days` from now, "YYYY-MM-DD". */
static void day_from_now(int days, char out[16])
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static void create_client_returns_the_stored_client(void **state)
{
    (void)state;
    Clinic__V1__Client *c, *again;
    struct clinic_error err;
    assert_int_equal(create_client_call("Anna " NAME_MARK, "anna" EMAIL_MARK,
                                        "+49 30 " PHONE_MARK "34", "1980-05-17", NULL, &c, &err),
                     STATUS_OK);
    assert_true(c->id > 0);
    assert_string_equal(c->name, "Anna " NAME_MARK);
    assert_string_equal(c->email, "anna" EMAIL_MARK);
    assert_string_equal(c->phone, "+49 30 " PHONE_MARK "34");
    assert_string_equal(c->date_of_birth, "1980-05-17");
    assert_false(c->archived);
    assert_int_equal(get_client(c->id, &again, &err), STATUS_OK);
    assert_true(harness_same_bytes(c, again));
    harness_free_message(c);
    harness_free_message(again);
}

static void absent_contact_details_are_stored_as_null_and_shown_empty(void **state)
{
    (void)state;
    Clinic__V1__Client *c;
    struct clinic_error err;
    assert_int_equal(create_client_call("Bo " NAME_MARK, "", "", "", NULL, &c, &err), STATUS_OK);
    assert_string_equal(c->email, "");
    assert_string_equal(c->phone, "");
    assert_string_equal(c->date_of_birth, "");
    assert_true(contact_details_are_null(c->id));
    harness_free_message(c);
    /* NULL emails never collide with each other */
    assert_true(create_client("Cy " NAME_MARK, "") > 0);
}

static void get_client_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(get_client(333333, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "client 333333 does not exist");
    assert_int_equal(get_client(-5, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "id"));
}

static void client_emails_are_unique_whatever_their_case(void **state)
{
    (void)state;
    create_client("Dora " NAME_MARK, "dora" EMAIL_MARK);
    struct clinic_error err;
    assert_int_equal(
        create_client_call("Other " NAME_MARK, "DORA" EMAIL_MARK, "", "", NULL, NULL, &err),
        STATUS_ALREADY_EXISTS);
    assert_string_equal(err.message, "a client with email \"DORA" EMAIL_MARK "\" already exists");
}

static void create_client_names_every_bad_field(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(
        create_client_call("", "no-at-sign", "call me", "17.05.1980", NULL, NULL, &err),
        STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 4);
    assert_true(harness_has_violation(&err, "name"));
    assert_true(harness_has_violation(&err, "email"));
    assert_true(harness_has_violation(&err, "phone"));
    assert_true(harness_has_violation(&err, "date_of_birth"));
}

static void create_client_refuses_malformed_contact_details(void **state)
{
    (void)state;
    const struct {
        const char *email, *phone, *field;
    } cases[] = {
        {"two@@mail.test", "", "email"},
        {"@mail.test", "", "email"},
        {"sp ace" EMAIL_MARK, "", "email"},
        {"tab\tx" EMAIL_MARK, "", "email"},
        {"v\vx" EMAIL_MARK, "", "email"},
        {"", "12", "phone"},
        {"", "+49 30 abc", "phone"},
        {"", "49+30 1234", "phone"},
        {"", "+1 (555) 0100 0100 0100 0100 0100", "phone"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct clinic_error err;
        assert_int_equal(create_client_call("Malformed " NAME_MARK, cases[i].email, cases[i].phone,
                                            "", NULL, NULL, &err),
                         STATUS_INVALID_ARGUMENT);
        assert_int_equal(err.n_violations, 1);
        assert_true(harness_has_violation(&err, cases[i].field));
    }
    char long_name[202];
    memset(long_name, 'n', 201);
    long_name[201] = '\0';
    struct clinic_error err;
    assert_int_equal(create_client_call(long_name, "", "", "", NULL, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "name"));
    char *none = harness_sql(db_url, "SELECT count(*) FROM clients WHERE name LIKE 'Malformed%'");
    assert_string_equal(none, "0");
    free(none);
}

static void date_of_birth_must_be_a_real_day_from_1900_until_today(void **state)
{
    (void)state;
    char today[16], in_two_days[16];
    day_from_now(0, today);
    day_from_now(2, in_two_days);
    const char *refused[] = {"1980-02-30", "1900-02-29", "1980-13-01", "1980-04-31",
                             "1899-12-31", "0000-01-01", in_two_days,  "1980-5-17"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct clinic_error err;
        assert_int_equal(
            create_client_call("Born " NAME_MARK, "", "", refused[i], NULL, NULL, &err),
            STATUS_INVALID_ARGUMENT);
        assert_int_equal(err.n_violations, 1);
        assert_true(harness_has_violation(&err, "date_of_birth"));
    }
    const char *accepted[] = {"1900-01-01", "2000-02-29", "1996-02-29", today};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        Clinic__V1__Client *c;
        struct clinic_error err;
        assert_int_equal(create_client_call("Born " NAME_MARK, "", "", accepted[i], NULL, &c, &err),
                         STATUS_OK);
        assert_string_equal(c->date_of_birth, accepted[i]);
        harness_free_message(c);
    }
}

static void list_clients_pages_two_at_a_time_through_five(void **state)
{
    (void)state;
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "Pager %d " NAME_MARK, i);
        ids[i] = create_client(name, "");
    }
    char token[64] = "";
    size_t seen = 0;
    const size_t expected_sizes[] = {2, 2, 1};
    for (int page = 0; page < 3; page++) {
        Clinic__V1__ListClientsResponse *resp;
        struct clinic_error err;
        assert_int_equal(list_clients("pager", 2, token, false, &resp, &err), STATUS_OK);
        assert_int_equal(resp->n_clients, expected_sizes[page]);
        for (size_t i = 0; i < resp->n_clients; i++)
            assert_int_equal(resp->clients[i]->id, ids[seen++]);
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        harness_free_message(resp);
        if (page < 2)
            assert_true(token[0] != '\0');
    }
    assert_string_equal(token, "");
    assert_int_equal(seen, 5);
}

static void list_clients_finds_name_or_email_whatever_their_case(void **state)
{
    (void)state;
    int64_t zora = create_client("Zora Quill " NAME_MARK, "zq.QuillMail" EMAIL_MARK);
    int64_t quinn = create_client("Quinn " NAME_MARK, "quinn.quillmail" EMAIL_MARK);
    char found[256], expected[64];
    search("QUILL", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld,%lld", (long long)zora, (long long)quinn);
    assert_string_equal(found, expected);
    search("zora q", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld", (long long)zora);
    assert_string_equal(found, expected);
    search("QUINN.QUILLMAIL", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld", (long long)quinn);
    assert_string_equal(found, expected);
    search("no such person anywhere", false, found, sizeof found);
    assert_string_equal(found, "");
}

static void list_clients_takes_wildcards_and_backslashes_in_the_query_literally(void **state)
{
    (void)state;
    int64_t percent = create_client("Pct 100% " NAME_MARK, "");
    int64_t under = create_client("Under_Score " NAME_MARK, "");
    int64_t slash = create_client("Back\\slash " NAME_MARK, "");
    create_client("Plain " NAME_MARK, "plain" EMAIL_MARK);
    char found[256], expected[32];
    search("%", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld", (long long)percent);
    assert_string_equal(found, expected);
    search("_", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld", (long long)under);
    assert_string_equal(found, expected);
    search("\\", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld", (long long)slash);
    assert_string_equal(found, expected);
    search("k\\s", false, found, sizeof found);
    assert_string_equal(found, expected);
}

static void list_clients_hides_archived_clients_unless_asked(void **state)
{
    (void)state;
    int64_t stays = create_client("Stays Hidalgo " NAME_MARK, "");
    int64_t leaves = create_client("Leaves Hidalgo " NAME_MARK, "");
    struct clinic_error err;
    Clinic__V1__Client *c;
    assert_int_equal(archive_client(leaves, &c, &err), STATUS_OK);
    assert_true(c->archived);
    harness_free_message(c);
    char found[256], expected[64];
    search("hidalgo", false, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld", (long long)stays);
    assert_string_equal(found, expected);
    search("hidalgo", true, found, sizeof found);
    snprintf(expected, sizeof expected, "%lld,%lld", (long long)stays, (long long)leaves);
    assert_string_equal(found, expected);
    /* the clinical record stays reachable */
    assert_int_equal(get_client(leaves, &c, &err), STATUS_OK);
    assert_true(c->archived);
    harness_free_message(c);
    assert_int_equal(archive_client(222222, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "client 222222 does not exist");
}

static void list_clients_refuses_bad_queries_and_paging(void **state)
{
    (void)state;
    char long_query[256];
    memset(long_query, 'q', 255);
    long_query[255] = '\0';
    struct clinic_error err;
    assert_int_equal(list_clients(long_query, 0, "", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "query"));
    assert_int_equal(list_clients("a\nb", 0, "", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "query"));
    assert_int_equal(list_clients("", 501, "x", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "page_token"));
    assert_int_equal(list_clients("", 501, "", false, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "page_size"));
}

static void update_client_changes_only_the_fields_in_the_mask(void **state)
{
    (void)state;
    Clinic__V1__Client *c;
    struct clinic_error err;
    assert_int_equal(create_client_call("Eve " NAME_MARK, "eve" EMAIL_MARK, "030 " PHONE_MARK "99",
                                        "1975-01-31", NULL, &c, &err),
                     STATUS_OK);
    int64_t id = c->id;
    harness_free_message(c);

    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *phone_only[] = {"phone"};
    req.id = id;
    req.name = "";              /* not in the mask: ignored */
    req.email = "not an email"; /* likewise */
    req.date_of_birth = "garbage";
    req.phone = "+44 20 " PHONE_MARK "00";
    req.update_mask = phone_only;
    req.n_update_mask = 1;
    assert_int_equal(update_client(&req, &c, &err), STATUS_OK);
    assert_string_equal(c->name, "Eve " NAME_MARK);
    assert_string_equal(c->email, "eve" EMAIL_MARK);
    assert_string_equal(c->phone, "+44 20 " PHONE_MARK "00");
    assert_string_equal(c->date_of_birth, "1975-01-31");
    harness_free_message(c);

    char *name_dob[] = {"name", "date_of_birth"};
    req.name = "Eve Renamed " NAME_MARK;
    req.date_of_birth = "1976-02-29";
    req.update_mask = name_dob;
    req.n_update_mask = 2;
    assert_int_equal(update_client(&req, &c, &err), STATUS_OK);
    assert_string_equal(c->name, "Eve Renamed " NAME_MARK);
    assert_string_equal(c->date_of_birth, "1976-02-29");
    assert_string_equal(c->phone, "+44 20 " PHONE_MARK "00");
    harness_free_message(c);
}

static void update_client_with_empty_values_clears_contact_details(void **state)
{
    (void)state;
    Clinic__V1__Client *c;
    struct clinic_error err;
    assert_int_equal(create_client_call("Fay " NAME_MARK, "fay" EMAIL_MARK, "030 " PHONE_MARK "55",
                                        "1990-10-10", NULL, &c, &err),
                     STATUS_OK);
    int64_t id = c->id;
    harness_free_message(c);
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *mask[] = {"email", "phone", "date_of_birth"};
    req.id = id;
    req.update_mask = mask;
    req.n_update_mask = 3;
    assert_int_equal(update_client(&req, &c, &err), STATUS_OK);
    assert_string_equal(c->name, "Fay " NAME_MARK);
    assert_string_equal(c->email, "");
    assert_string_equal(c->phone, "");
    assert_string_equal(c->date_of_birth, "");
    harness_free_message(c);
    assert_true(contact_details_are_null(id));
    /* the freed email can be taken by someone else */
    assert_true(create_client("Fay Two " NAME_MARK, "fay" EMAIL_MARK) > 0);
}

static void update_client_checks_the_masked_fields(void **state)
{
    (void)state;
    int64_t id = create_client("Gus " NAME_MARK, "");
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *mask[] = {"name", "email", "phone", "date_of_birth"};
    req.id = id;
    req.name = "";
    req.email = "gus-at-mail.test";
    req.phone = "x";
    req.date_of_birth = "2999-01-01";
    req.update_mask = mask;
    req.n_update_mask = 4;
    struct clinic_error err;
    assert_int_equal(update_client(&req, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_int_equal(err.n_violations, 4);
    assert_true(harness_has_violation(&err, "name"));
    assert_true(harness_has_violation(&err, "email"));
    assert_true(harness_has_violation(&err, "phone"));
    assert_true(harness_has_violation(&err, "date_of_birth"));
}

static void update_client_with_an_empty_or_unknown_mask_is_invalid(void **state)
{
    (void)state;
    int64_t id = create_client("Hal " NAME_MARK, "");
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    req.id = id;
    req.name = "Hal Again " NAME_MARK;
    struct clinic_error err;
    assert_int_equal(update_client(&req, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "update_mask"));
    char *unknown[] = {"archived"};
    req.update_mask = unknown;
    req.n_update_mask = 1;
    assert_int_equal(update_client(&req, NULL, &err), STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "update_mask"));
}

static void update_client_to_a_taken_email_already_exists(void **state)
{
    (void)state;
    create_client("Ida " NAME_MARK, "ida" EMAIL_MARK);
    int64_t id = create_client("Jo " NAME_MARK, "jo" EMAIL_MARK);
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *mask[] = {"email"};
    req.id = id;
    req.email = "Ida" EMAIL_MARK;
    req.update_mask = mask;
    req.n_update_mask = 1;
    struct clinic_error err;
    assert_int_equal(update_client(&req, NULL, &err), STATUS_ALREADY_EXISTS);
    assert_string_equal(err.message, "a client with email \"Ida" EMAIL_MARK "\" already exists");
}

static void update_client_of_an_unknown_id_is_not_found(void **state)
{
    (void)state;
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *mask[] = {"name"};
    req.id = 111111;
    req.name = "Nobody " NAME_MARK;
    req.update_mask = mask;
    req.n_update_mask = 1;
    struct clinic_error err;
    assert_int_equal(update_client(&req, NULL, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.message, "client 111111 does not exist");
}

static void create_client_twice_with_one_idempotency_key_creates_one_client(void **state)
{
    (void)state;
    Clinic__V1__Client *first, *second;
    struct clinic_error err;
    assert_int_equal(create_client_call("Kim Retry " NAME_MARK, "kim" EMAIL_MARK, "", "1985-03-03",
                                        "clients-key-1", &first, &err),
                     STATUS_OK);
    assert_int_equal(create_client_call("Kim Retry " NAME_MARK, "kim" EMAIL_MARK, "", "1985-03-03",
                                        "clients-key-1", &second, &err),
                     STATUS_OK);
    assert_true(harness_same_bytes(first, second));
    char *count = harness_sql(db_url, "SELECT count(*) FROM clients WHERE name LIKE 'Kim Retry%'");
    assert_string_equal(count, "1");
    free(count);
    harness_free_message(first);
    harness_free_message(second);
}

static void idempotency_key_reused_for_another_client_is_invalid(void **state)
{
    (void)state;
    struct clinic_error err;
    assert_int_equal(
        create_client_call("Lou Key " NAME_MARK, "", "", "", "clients-key-2", NULL, &err),
        STATUS_OK);
    assert_int_equal(
        create_client_call("Lou Other " NAME_MARK, "", "", "", "clients-key-2", NULL, &err),
        STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "idempotency_key"));
    char *count = harness_sql(db_url, "SELECT count(*) FROM clients WHERE name LIKE 'Lou Other%'");
    assert_string_equal(count, "0");
    free(count);
}

/* Runs last: everything above, refusals and conflicts included, left no contact data behind. */
static void daemon_log_holds_no_client_contact_data(void **state)
{
    (void)state;
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    assert_non_null(strstr(log, "method=/clinic.v1.Clients/CreateClient code=6"));
    assert_null(strstr(log, NAME_MARK));
    assert_null(strstr(log, EMAIL_MARK));
    assert_null(strstr(log, PHONE_MARK));
    assert_null(strstr(log, "1980-05-17"));
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_client_returns_the_stored_client),
        cmocka_unit_test(absent_contact_details_are_stored_as_null_and_shown_empty),
        cmocka_unit_test(get_client_of_an_unknown_id_is_not_found),
        cmocka_unit_test(client_emails_are_unique_whatever_their_case),
        cmocka_unit_test(create_client_names_every_bad_field),
        cmocka_unit_test(create_client_refuses_malformed_contact_details),
        cmocka_unit_test(date_of_birth_must_be_a_real_day_from_1900_until_today),
        cmocka_unit_test(list_clients_pages_two_at_a_time_through_five),
        cmocka_unit_test(list_clients_finds_name_or_email_whatever_their_case),
        cmocka_unit_test(list_clients_takes_wildcards_and_backslashes_in_the_query_literally),
        cmocka_unit_test(list_clients_hides_archived_clients_unless_asked),
        cmocka_unit_test(list_clients_refuses_bad_queries_and_paging),
        cmocka_unit_test(update_client_changes_only_the_fields_in_the_mask),
        cmocka_unit_test(update_client_with_empty_values_clears_contact_details),
        cmocka_unit_test(update_client_checks_the_masked_fields),
        cmocka_unit_test(update_client_with_an_empty_or_unknown_mask_is_invalid),
        cmocka_unit_test(update_client_to_a_taken_email_already_exists),
        cmocka_unit_test(update_client_of_an_unknown_id_is_not_found),
        cmocka_unit_test(create_client_twice_with_one_idempotency_key_creates_one_client),
        cmocka_unit_test(idempotency_key_reused_for_another_client_is_invalid),
        cmocka_unit_test(daemon_log_holds_no_client_contact_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
