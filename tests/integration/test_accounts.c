/* Accounts as the clinic lives with them: the first admin from `clinicd bootstrap-admin`, logins
 * that hand out tokens kept only as hashes, logout, WhoAmI, failed logins slowed then locked
 * out (per account and per address), deactivation and password changes that end sessions,
 * idempotency keys that belong to their user, the audit trail of mutations and refusals
 * (append-only even for the daemon's role), a client who sees only their own records, and erasure
 * that keeps the clinical record. */
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
#include "clinic/v1/audit.pb-c.h"
#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

static struct harness_pg pg;
static struct harness_daemon daemon_;
static char db_url[512];
static struct harness_clinic clinic;

static int setup(void **state)
{
    (void)state;
    /* These tests fail many logins from one address on purpose; the per-address limit has a
     * daemon of its own below. */
    static const char *const no_address_limit[] = {"--max-failed-logins-per-address", "0", NULL};
    return harness_pg_start(&pg) &&
                   harness_pg_create_database(&pg, "accounts", db_url, sizeof db_url) &&
                   harness_daemon_start(&daemon_, pg.dir, db_url, no_address_limit, true) &&
                   harness_seed_clinic(db_url, "Europe/Berlin", 2, 2, &clinic)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static char *sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sql(const char *fmt, ...)
{
    static char value[256];
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *v = harness_sql(db_url, text);
    snprintf(value, sizeof value, "%s", v ? v : "(error)");
    free(v);
    return value;
}

/* Calls method as the holder of token; the status. */
static int call_as(const char *token, const char *method, const void *req,
                   const ProtobufCMessageDescriptor *type, void *out, bool mutating,
                   const char *key, struct clinic_error *err)
{
    clinic_client *c = harness_connect_as(daemon_.url, token);
    assert_non_null(c);
    int code = harness_call(c, method, req, type, out, mutating, key, err);
    clinic_close(c);
    return code;
}

static int login(const char *email, const char *password, char *token)
{
    return harness_login(daemon_.url, email, password, token, 64);
}

static int whoami(const char *token, Clinic__V1__WhoAmIResponse **out)
{
    struct clinic_error err;
    Clinic__V1__WhoAmIRequest req = CLINIC__V1__WHO_AM_IREQUEST__INIT;
    return call_as(token, "Auth/WhoAmI", &req, &clinic__v1__who_am_iresponse__descriptor, out,
                   false, NULL, &err);
}

static void bootstrap_admin_creates_the_first_admin_only(void **state)
{
    (void)state;
    char url[512], *out = NULL, *err = NULL, token[64];
    assert_true(harness_pg_create_database(&pg, "bootstrap", url, sizeof url));
    const char *argv[] = {"bootstrap-admin",  "--database", url,        "--email",
                          "boss@clinic.test", "--name",     "The Boss", NULL};
    assert_int_equal(harness_run_clinicd_input(argv, "too short\n", &out, &err), 1);
    assert_non_null(strstr(err, "at least") ? err : strstr(err, "characters"));
    free(out);
    free(err);
    assert_int_equal(harness_run_clinicd_input(argv, "a long enough passphrase\n", &out, &err), 0);
    assert_non_null(strstr(out, "admin boss@clinic.test created"));
    free(out);
    free(err);
    assert_int_equal(harness_run_clinicd_input(argv, "a long enough passphrase\n", &out, &err), 1);
    assert_non_null(strstr(err, "an admin exists already"));
    free(out);
    free(err);
    const char *no_email[] = {"bootstrap-admin", "--database", url, NULL};
    assert_int_equal(harness_run_clinicd_input(no_email, "x\n", &out, &err), 2);
    free(out);
    free(err);

    /* that database's daemon lets the new admin in */
    struct harness_daemon other;
    assert_true(harness_daemon_start(&other, pg.dir, url, NULL, true));
    assert_int_equal(harness_login(other.url, "boss@clinic.test", "a long enough passphrase", token,
                                   sizeof token),
                     STATUS_OK);
    assert_int_equal(
        harness_login(other.url, "boss@clinic.test", "wrong passphrase!", token, sizeof token),
        STATUS_UNAUTHENTICATED);
    assert_int_equal(harness_daemon_stop(&other), 0);
    setenv("CLINIC_TOKEN", daemon_.admin_token, 1);
}

static void login_gives_a_token_kept_only_as_its_hash(void **state)
{
    (void)state;
    char token[64];
    Clinic__V1__WhoAmIResponse *me = NULL;
    assert_int_equal(login(HARNESS_ADMIN_EMAIL, NULL, token), STATUS_OK);
    assert_int_equal(strlen(token), 43);
    assert_int_equal(whoami(token, &me), STATUS_OK);
    assert_string_equal(me->user->email, HARNESS_ADMIN_EMAIL);
    assert_int_equal(me->user->role, CLINIC__V1__ROLE__ROLE_ADMIN);
    assert_true(me->token_expires_at[0] != '\0');
    harness_free_message(me);
    assert_string_equal(
        sql("SELECT count(*) FROM auth_tokens WHERE sha256 = sha256(convert_to('%s',"
            " 'UTF8'))",
            token),
        "1");
    /* nothing in the database holds the token itself */
    assert_string_equal(
        sql("SELECT count(*) FROM auth_tokens WHERE position(convert_to('%s', 'UTF8')"
            " IN sha256) > 0",
            token),
        "0");
}

static void logout_revokes_the_token(void **state)
{
    (void)state;
    char token[64];
    struct clinic_error err;
    assert_int_equal(login(HARNESS_ADMIN_EMAIL, NULL, token), STATUS_OK);
    Clinic__V1__LogoutRequest req = CLINIC__V1__LOGOUT_REQUEST__INIT;
    assert_int_equal(call_as(token, "Auth/Logout", &req, &clinic__v1__logout_response__descriptor,
                             NULL, true, NULL, &err),
                     STATUS_OK);
    assert_int_equal(whoami(token, NULL), STATUS_UNAUTHENTICATED);
    assert_int_equal(whoami(daemon_.admin_token, NULL), STATUS_OK); /* other sessions go on */
}

static void failed_logins_are_slowed_then_locked_out(void **state)
{
    (void)state;
    char token[64];
    assert_true(harness_create_user(db_url, "victim@clinic.test", "front_desk", 0, 0, NULL) > 0);
    /* an unknown email and a wrong password get the same answer */
    assert_int_equal(login("nobody@clinic.test", "whatever it is", token), STATUS_UNAUTHENTICATED);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login("victim@clinic.test", "not the password", token),
                         STATUS_UNAUTHENTICATED);
    assert_string_equal(sql("SELECT failed_logins FROM users WHERE email = 'victim@clinic.test'"),
                        "5");
    /* locked: even the right password is refused for a while */
    assert_int_equal(login("victim@clinic.test", NULL, token), STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(sql("SELECT count(*) FROM audit a JOIN users u ON u.id = a.user_id"
                            " WHERE u.email = 'victim@clinic.test' AND a.method = "
                            "'/clinic.v1.Auth/Login' AND a.outcome = 'UNAUTHENTICATED'"),
                        "5");
    /* an admin's new password unlocks the account */
    struct clinic_error err;
    Clinic__V1__SetPasswordRequest req = CLINIC__V1__SET_PASSWORD_REQUEST__INIT;
    req.id = strtoll(sql("SELECT id FROM users WHERE email = 'victim@clinic.test'"), NULL, 10);
    req.password = "a brand new passphrase";
    assert_int_equal(call_as(daemon_.admin_token, "Users/SetPassword", &req,
                             &clinic__v1__set_password_response__descriptor, NULL, true, NULL,
                             &err),
                     STATUS_OK);
    assert_int_equal(login("victim@clinic.test", "a brand new passphrase", token), STATUS_OK);
}

static long long create_user(const char *email, Clinic__V1__Role role, long long therapist,
                             long long client, int expected)
{
    struct clinic_error err;
    Clinic__V1__CreateUserRequest req = CLINIC__V1__CREATE_USER_REQUEST__INIT;
    req.email = (char *)email;
    req.name = "Someone";
    req.role = role;
    req.therapist_id = therapist;
    req.client_id = client;
    req.password = HARNESS_PASSWORD;
    Clinic__V1__User *u = NULL;
    int code = call_as(daemon_.admin_token, "Users/CreateUser", &req, &clinic__v1__user__descriptor,
                       &u, true, NULL, &err);
    if (code != expected)
        fail_msg("CreateUser %s: expected %s, got %s (%s)", email, status_code_name(expected),
                 status_code_name(code), err.message);
    long long id = u ? u->id : 0;
    harness_free_message(u);
    return id;
}

static void admins_create_users_with_their_links(void **state)
{
    (void)state;
    char token[64];
    long long id = create_user("Therapist.Two@clinic.test", CLINIC__V1__ROLE__ROLE_THERAPIST,
                               clinic.therapist_ids[1], 0, STATUS_OK);
    assert_true(id > 0);
    create_user("therapist.two@CLINIC.test", CLINIC__V1__ROLE__ROLE_FRONT_DESK, 0, 0,
                STATUS_ALREADY_EXISTS);
    create_user("loose@clinic.test", CLINIC__V1__ROLE__ROLE_THERAPIST, 0, 0,
                STATUS_INVALID_ARGUMENT);
    create_user("mixed@clinic.test", CLINIC__V1__ROLE__ROLE_FRONT_DESK, 0, clinic.client_ids[0],
                STATUS_INVALID_ARGUMENT);
    create_user("ghost@clinic.test", CLINIC__V1__ROLE__ROLE_CLIENT, 0, 999999, STATUS_NOT_FOUND);
    /* those calls carried idempotency keys, but a request holding a password is never stored
     * (its plain SHA-256 would let passwords be tried offline) */
    assert_string_equal(
        sql("SELECT count(*) FROM idempotency_keys WHERE method LIKE '%%/Users/%%'"), "0");
    assert_int_equal(login("therapist.two@clinic.test", NULL, token), STATUS_OK);
    Clinic__V1__WhoAmIResponse *me = NULL;
    assert_int_equal(whoami(token, &me), STATUS_OK);
    assert_int_equal(me->user->therapist_id, clinic.therapist_ids[1]);
    harness_free_message(me);

    /* deactivating the user ends their session at once */
    struct clinic_error err;
    Clinic__V1__UpdateUserRequest up = CLINIC__V1__UPDATE_USER_REQUEST__INIT;
    char *mask[] = {"active"};
    up.id = id;
    up.active = false;
    up.n_update_mask = 1;
    up.update_mask = mask;
    assert_int_equal(call_as(daemon_.admin_token, "Users/UpdateUser", &up,
                             &clinic__v1__user__descriptor, NULL, true, NULL, &err),
                     STATUS_OK);
    assert_int_equal(whoami(token, NULL), STATUS_UNAUTHENTICATED);
    assert_int_equal(login("therapist.two@clinic.test", NULL, token), STATUS_UNAUTHENTICATED);
}

/* Users/UpdateUser as the harness admin; the status. */
static int update_user(Clinic__V1__UpdateUserRequest *up, char **mask, size_t n_mask)
{
    struct clinic_error err;
    up->update_mask = mask;
    up->n_update_mask = n_mask;
    return call_as(daemon_.admin_token, "Users/UpdateUser", up, &clinic__v1__user__descriptor, NULL,
                   true, NULL, &err);
}

static const char *live_tokens(long long user_id)
{
    return sql("SELECT count(*) FROM auth_tokens WHERE user_id = %lld AND revoked_at IS NULL",
               user_id);
}

/* A new front-desk user, logged in: its id, and its token in token (64 bytes). */
static long long front_desk_logged_in(const char *email, char *token)
{
    long long id = harness_create_user(db_url, email, "front_desk", 0, 0, NULL);
    assert_true(id > 0);
    assert_int_equal(login(email, NULL, token), STATUS_OK);
    return id;
}

static void reactivating_a_user_does_not_revive_old_tokens(void **state)
{
    (void)state;
    char token[64];
    long long id = front_desk_logged_in("returner@clinic.test", token);
    Clinic__V1__UpdateUserRequest up = CLINIC__V1__UPDATE_USER_REQUEST__INIT;
    char *mask[] = {"active"};
    up.id = id;
    up.active = false;
    assert_int_equal(update_user(&up, mask, 1), STATUS_OK);
    assert_string_equal(live_tokens(id), "0");
    up.active = true;
    assert_int_equal(update_user(&up, mask, 1), STATUS_OK);
    assert_int_equal(whoami(token, NULL), STATUS_UNAUTHENTICATED);
    assert_int_equal(login("returner@clinic.test", NULL, token), STATUS_OK);
    assert_int_equal(whoami(token, NULL), STATUS_OK);
}

static void a_new_role_or_link_ends_the_session_and_a_new_name_does_not(void **state)
{
    (void)state;
    char desk[64], as_client[64];
    long long id = front_desk_logged_in("mover@clinic.test", desk);
    /* a new name changes nothing the user may do: the session stays */
    Clinic__V1__UpdateUserRequest up = CLINIC__V1__UPDATE_USER_REQUEST__INIT;
    char *name_mask[] = {"name"};
    up.id = id;
    up.name = "Mover Renamed";
    assert_int_equal(update_user(&up, name_mask, 1), STATUS_OK);
    assert_int_equal(whoami(desk, NULL), STATUS_OK);

    /* front desk -> client: the front desk's token must not act with the client's rights */
    Clinic__V1__UpdateUserRequest to_client = CLINIC__V1__UPDATE_USER_REQUEST__INIT;
    char *role_mask[] = {"role", "client_id"};
    to_client.id = id;
    to_client.role = CLINIC__V1__ROLE__ROLE_CLIENT;
    to_client.client_id = clinic.client_ids[1];
    assert_int_equal(update_user(&to_client, role_mask, 2), STATUS_OK);
    assert_int_equal(whoami(desk, NULL), STATUS_UNAUTHENTICATED);
    assert_int_equal(login("mover@clinic.test", NULL, as_client), STATUS_OK);
    Clinic__V1__WhoAmIResponse *me = NULL;
    assert_int_equal(whoami(as_client, &me), STATUS_OK);
    assert_int_equal(me->user->role, CLINIC__V1__ROLE__ROLE_CLIENT);
    harness_free_message(me);

    /* and back: neither token comes back to life with the front desk's rights */
    Clinic__V1__UpdateUserRequest back = CLINIC__V1__UPDATE_USER_REQUEST__INIT;
    back.id = id;
    back.role = CLINIC__V1__ROLE__ROLE_FRONT_DESK;
    assert_int_equal(update_user(&back, role_mask, 2), STATUS_OK);
    assert_int_equal(whoami(as_client, NULL), STATUS_UNAUTHENTICATED);
    assert_int_equal(whoami(desk, NULL), STATUS_UNAUTHENTICATED);
    assert_string_equal(live_tokens(id), "0");
}

/* A login flood: FLOOD callers at once, for emails nobody has. Each login is Argon2id work;
 * clinicd lets half its workers (the harness starts four) do such work and refuses the rest at
 * once, so the flood cannot hold every worker while others wait. */
enum { FLOOD = 16 };
struct flooder {
    pthread_t thread;
    pthread_barrier_t *start;
    int index;
    int code;
};

static void *flooder_main(void *arg)
{
    struct flooder *f = arg;
    char email[64], token[64];
    snprintf(email, sizeof email, "nobody-%d@flood.test", f->index);
    pthread_barrier_wait(f->start);
    f->code = login(email, "a wrong passphrase", token);
    return NULL;
}

static void a_login_flood_gets_half_the_workers_and_no_more(void **state)
{
    (void)state;
    static struct flooder f[FLOOD];
    static pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, FLOOD + 1);
    for (int i = 0; i < FLOOD; i++) {
        f[i] = (struct flooder){.start = &start, .index = i, .code = -1};
        assert_int_equal(pthread_create(&f[i].thread, NULL, flooder_main, &f[i]), 0);
    }
    pthread_barrier_wait(&start);
    int health = harness_health(daemon_.url, 10000); /* served meanwhile */
    int refused = 0;
    for (int i = 0; i < FLOOD; i++) {
        pthread_join(f[i].thread, NULL);
        if (f[i].code == STATUS_RESOURCE_EXHAUSTED)
            refused++;
        else
            assert_int_equal(f[i].code, STATUS_UNAUTHENTICATED);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(health, 1);
    print_message("%d of %d simultaneous logins refused at once\n", refused, FLOOD);
    assert_true(refused > 0);
}

static void an_address_past_its_failed_logins_is_refused_even_the_right_password(void **state)
{
    (void)state;
    struct harness_daemon other;
    const char *const limit[] = {"--max-failed-logins-per-address", "3", NULL};
    assert_true(harness_daemon_start(&other, pg.dir, db_url, limit, true));
    assert_true(harness_create_user(db_url, "sprayed@clinic.test", "front_desk", 0, 0, NULL) > 0);
    char token[64], email[64];
    for (int i = 0; i < 3; i++) { /* spraying: a different unknown email each time */
        snprintf(email, sizeof email, "sprayed-%d@nowhere.test", i);
        assert_int_equal(harness_login(other.url, email, "guess", token, sizeof token),
                         STATUS_UNAUTHENTICATED);
    }
    struct clinic_error err;
    clinic_client *c = harness_connect_as(other.url, NULL);
    Clinic__V1__LoginRequest req = CLINIC__V1__LOGIN_REQUEST__INIT;
    req.email = "sprayed@clinic.test";
    req.password = HARNESS_PASSWORD;
    assert_int_equal(harness_call(c, "Auth/Login", &req, &clinic__v1__login_response__descriptor,
                                  NULL, false, NULL, &err),
                     STATUS_RESOURCE_EXHAUSTED);
    harness_assert_contains(err.message, "too many failed logins from your address");
    clinic_close(c);
    char *log = harness_daemon_log(&other);
    harness_assert_contains(log, "too many failed logins from 127.0.0.1");
    free(log);
    assert_int_equal(harness_daemon_stop(&other), 0);
    /* the account itself is not locked: through another daemon (its own count) it logs in */
    assert_int_equal(login("sprayed@clinic.test", HARNESS_PASSWORD, token), STATUS_OK);
    setenv("CLINIC_TOKEN", daemon_.admin_token, 1);
}

static void change_password_ends_the_other_sessions(void **state)
{
    (void)state;
    char first[64], second[64];
    struct clinic_error err;
    assert_true(harness_create_user(db_url, "changer@clinic.test", "front_desk", 0, 0, NULL) > 0);
    assert_int_equal(login("changer@clinic.test", NULL, first), STATUS_OK);
    assert_int_equal(login("changer@clinic.test", NULL, second), STATUS_OK);
    Clinic__V1__ChangePasswordRequest req = CLINIC__V1__CHANGE_PASSWORD_REQUEST__INIT;
    req.current_password = "not it at all";
    req.new_password = "another long passphrase";
    assert_int_equal(call_as(second, "Auth/ChangePassword", &req,
                             &clinic__v1__change_password_response__descriptor, NULL, true, NULL,
                             &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "current_password"));
    req.current_password = HARNESS_PASSWORD;
    assert_int_equal(call_as(second, "Auth/ChangePassword", &req,
                             &clinic__v1__change_password_response__descriptor, NULL, true, NULL,
                             &err),
                     STATUS_OK);
    assert_int_equal(whoami(first, NULL), STATUS_UNAUTHENTICATED);
    assert_int_equal(whoami(second, NULL), STATUS_OK);
    assert_int_equal(login("changer@clinic.test", "another long passphrase", first), STATUS_OK);
}

static int create_client(const char *token, const char *name, const char *email, const char *key,
                         Clinic__V1__Client **out, struct clinic_error *err)
{
    Clinic__V1__CreateClientRequest req = CLINIC__V1__CREATE_CLIENT_REQUEST__INIT;
    req.name = (char *)name;
    req.email = (char *)email;
    return call_as(token, "Clients/CreateClient", &req, &clinic__v1__client__descriptor, out, true,
                   key, err);
}

static void idempotency_keys_belong_to_their_user(void **state)
{
    (void)state;
    char desk[64];
    struct clinic_error err;
    Clinic__V1__Client *a = NULL, *b = NULL, *again = NULL;
    assert_true(harness_create_user(db_url, "desk.keys@clinic.test", "front_desk", 0, 0, NULL) > 0);
    assert_int_equal(login("desk.keys@clinic.test", NULL, desk), STATUS_OK);
    assert_int_equal(create_client(daemon_.admin_token, "Key Holder", "", "shared-key", &a, &err),
                     STATUS_OK);
    /* the same key from another user is theirs: a new client, not the admin's answer */
    assert_int_equal(create_client(desk, "Key Holder", "", "shared-key", &b, &err), STATUS_OK);
    assert_true(a->id != b->id);
    assert_int_equal(create_client(desk, "Key Holder", "", "shared-key", &again, &err), STATUS_OK);
    assert_int_equal(again->id, b->id);
    harness_free_message(a);
    harness_free_message(b);
    harness_free_message(again);
}

static void audit_rows_record_mutations_and_refusals(void **state)
{
    (void)state;
    char desk[64];
    struct clinic_error err;
    Clinic__V1__Client *c = NULL;
    assert_true(harness_create_user(db_url, "desk.audit@clinic.test", "front_desk", 0, 0, NULL) >
                0);
    assert_int_equal(login("desk.audit@clinic.test", NULL, desk), STATUS_OK);
    clinic_client *conn = harness_connect_as(daemon_.url, desk);
    Clinic__V1__CreateClientRequest req = CLINIC__V1__CREATE_CLIENT_REQUEST__INIT;
    req.name = "Audited Person";
    struct clinic_call_options opts = {.mutating = true, .request_id = "audit-test-create"};
    assert_int_equal(clinic_call(conn, "/clinic.v1.Clients/CreateClient", &req.base,
                                 &clinic__v1__client__descriptor, (ProtobufCMessage **)&c, &opts,
                                 &err),
                     STATUS_OK);
    char expected[128];
    snprintf(expected, sizeof expected,
             "desk.audit@clinic.test|front_desk|/clinic.v1.Clients/CreateClient|OK|client:%lld",
             (long long)c->id);
    assert_string_equal(sql("SELECT concat_ws('|', u.email, a.role, a.method, a.outcome, a.target)"
                            " FROM audit a JOIN users u ON u.id = a.user_id"
                            " WHERE a.request_id = 'audit-test-create'"),
                        expected);
    /* refused: the row says so, with the target */
    Clinic__V1__EraseClientRequest erase = CLINIC__V1__ERASE_CLIENT_REQUEST__INIT;
    erase.id = c->id;
    erase.reason = "asked";
    opts.request_id = "audit-test-refused";
    assert_int_equal(clinic_call(conn, "/clinic.v1.Clients/EraseClient", &erase.base,
                                 &clinic__v1__client__descriptor, NULL, &opts, &err),
                     STATUS_PERMISSION_DENIED);
    snprintf(expected, sizeof expected, "PERMISSION_DENIED|client:%lld", (long long)c->id);
    assert_string_equal(sql("SELECT concat_ws('|', outcome, target) FROM audit"
                            " WHERE request_id = 'audit-test-refused'"),
                        expected);
    clinic_close(conn);
    harness_free_message(c);

    /* Audit/ListAudit, newest first, filtered by method prefix */
    Clinic__V1__ListAuditRequest list = CLINIC__V1__LIST_AUDIT_REQUEST__INIT;
    list.method = "/clinic.v1.Clients/";
    Clinic__V1__ListAuditResponse *page = NULL;
    assert_int_equal(call_as(daemon_.admin_token, "Audit/ListAudit", &list,
                             &clinic__v1__list_audit_response__descriptor, &page, false, NULL,
                             &err),
                     STATUS_OK);
    assert_true(page->n_entries >= 2);
    assert_string_equal(page->entries[0]->request_id, "audit-test-refused");
    assert_true(page->entries[0]->id > page->entries[1]->id);
    harness_free_message(page);
}

static void audit_rows_cannot_change_even_as_the_daemons_role(void **state)
{
    (void)state;
    assert_string_equal(sql("SELECT count(*) > 0 FROM audit"), "t");
    const char *attempts[] = {
        "SET ROLE clinic_app; UPDATE audit SET outcome = 'OK'; SELECT 'changed'",
        "SET ROLE clinic_app; DELETE FROM audit; SELECT 'deleted'",
        "SET ROLE clinic_app; TRUNCATE audit; SELECT 'truncated'",
        "UPDATE audit SET outcome = 'OK'; SELECT 'changed by the owner'",
        "DELETE FROM audit; SELECT 'deleted by the owner'",
        "TRUNCATE audit; SELECT 'truncated by the owner'",
    };
    char *before = strdup(sql("SELECT count(*) || ':' || max(id) FROM audit"));
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++)
        assert_string_equal(sql("%s", attempts[i]), "(error)");
    assert_string_equal(sql("SELECT count(*) || ':' || max(id) FROM audit"), before);
    free(before);
}

static void a_client_sees_only_their_own(void **state)
{
    (void)state;
    char token[64];
    struct clinic_error err;
    long long user = harness_create_user(db_url, "client.own@clinic.test", "client", 0,
                                         clinic.client_ids[0], NULL);
    assert_true(user > 0);
    assert_int_equal(login("client.own@clinic.test", NULL, token), STATUS_OK);

    /* they book for themselves; the appointment records who booked */
    char start[32], by[32];
    snprintf(start, sizeof start, "%s 11:00",
             sql("SELECT to_char(now() AT TIME ZONE 'Europe/Berlin' + interval '2 days',"
                 " 'YYYY-MM-DD')"));
    Clinic__V1__BookRequest book = CLINIC__V1__BOOK_REQUEST__INIT;
    book.client_id = clinic.client_ids[0];
    book.service_id = clinic.service_id;
    book.location_id = clinic.location_id;
    book.start_time = start;
    Clinic__V1__Appointment *mine = NULL;
    assert_int_equal(call_as(token, "Scheduling/Book", &book, &clinic__v1__appointment__descriptor,
                             &mine, true, NULL, &err),
                     STATUS_OK);
    snprintf(by, sizeof by, "user:%lld", user);
    assert_string_equal(mine->booked_by, by);
    harness_free_message(mine);
    book.client_id = clinic.client_ids[1]; /* not for someone else */
    assert_int_equal(call_as(token, "Scheduling/Book", &book, &clinic__v1__appointment__descriptor,
                             NULL, true, NULL, &err),
                     STATUS_PERMISSION_DENIED);
    long long theirs = strtoll(
        sql("INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
            " start_at, end_at, blocked) SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '1h',"
            " tstzrange(s, s + interval '75 min') FROM (SELECT date_trunc('day', now())"
            " + interval '5 days 9 hours' AS s) x RETURNING id",
            clinic.client_ids[1], clinic.therapist_ids[1], clinic.room_ids[1], clinic.service_id,
            clinic.location_id),
        NULL, 10);
    Clinic__V1__AppointmentRef ref = CLINIC__V1__APPOINTMENT_REF__INIT;
    ref.appointment_id = theirs;
    assert_int_equal(call_as(token, "Scheduling/GetAppointment", &ref,
                             &clinic__v1__appointment__descriptor, NULL, false, NULL, &err),
                     STATUS_PERMISSION_DENIED);
    ref.appointment_id = 999999; /* not there at all: the same answer, so ids cannot be probed */
    assert_int_equal(call_as(token, "Scheduling/GetAppointment", &ref,
                             &clinic__v1__appointment__descriptor, NULL, false, NULL, &err),
                     STATUS_PERMISSION_DENIED);
    Clinic__V1__GetClientRequest get = CLINIC__V1__GET_CLIENT_REQUEST__INIT;
    get.id = clinic.client_ids[1];
    assert_int_equal(call_as(token, "Clients/GetClient", &get, &clinic__v1__client__descriptor,
                             NULL, false, NULL, &err),
                     STATUS_PERMISSION_DENIED);
    get.id = clinic.client_ids[0];
    assert_int_equal(call_as(token, "Clients/GetClient", &get, &clinic__v1__client__descriptor,
                             NULL, false, NULL, &err),
                     STATUS_OK);
    Clinic__V1__ListClientsRequest list = CLINIC__V1__LIST_CLIENTS_REQUEST__INIT;
    assert_int_equal(call_as(token, "Clients/ListClients", &list,
                             &clinic__v1__list_clients_response__descriptor, NULL, false, NULL,
                             &err),
                     STATUS_PERMISSION_DENIED);
}

static void erase_redacts_contact_details_and_keeps_the_record(void **state)
{
    (void)state;
    struct clinic_error err;
    Clinic__V1__Client *c = NULL, *erased = NULL;
    assert_int_equal(
        create_client(daemon_.admin_token, "Erin Erase", "erin@erase.test", "erase-key", &c, &err),
        STATUS_OK);
    long long id = c->id;
    harness_free_message(c);
    free(harness_sql(
        db_url, "UPDATE clients SET phone = '+49 30 1234567' WHERE email = 'erin@erase.test'"));
    long long appt = strtoll(
        sql("INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,"
            " start_at, end_at, blocked) SELECT %lld, %lld, %lld, %lld, %lld, s, s + interval '1h',"
            " tstzrange(s, s + interval '75 min') FROM (SELECT date_trunc('day', now())"
            " - interval '5 days' + interval '9 hours' AS s) x RETURNING id",
            id, clinic.therapist_ids[0], clinic.room_ids[0], clinic.service_id, clinic.location_id),
        NULL, 10);
    assert_true(appt > 0);
    free(harness_sql(db_url, "INSERT INTO treatment_notes (appointment_id, author_therapist_id)"
                             " SELECT id, therapist_id FROM appointments WHERE client_id ="
                             " (SELECT id FROM clients WHERE email = 'erin@erase.test')"));
    assert_true(harness_create_user(db_url, "erin@erase.test", "client", 0, id, NULL) > 0);

    Clinic__V1__EraseClientRequest req = CLINIC__V1__ERASE_CLIENT_REQUEST__INIT;
    req.id = id;
    assert_int_equal(call_as(daemon_.admin_token, "Clients/EraseClient", &req,
                             &clinic__v1__client__descriptor, NULL, true, NULL, &err),
                     STATUS_INVALID_ARGUMENT);
    assert_true(harness_has_violation(&err, "reason"));
    req.reason = "written request of 2026-11-20";
    assert_int_equal(call_as(daemon_.admin_token, "Clients/EraseClient", &req,
                             &clinic__v1__client__descriptor, &erased, true, NULL, &err),
                     STATUS_OK);
    assert_string_equal(erased->email, "");
    assert_string_equal(erased->phone, "");
    assert_true(erased->archived);
    assert_string_equal(erased->name, "Erin Erase");
    harness_free_message(erased);
    /* the record stays; the contact details are nowhere, not even in stored replies */
    assert_string_equal(sql("SELECT count(*) FROM appointments WHERE client_id = %lld", id), "1");
    assert_string_equal(sql("SELECT count(*) FROM treatment_notes n JOIN appointments a"
                            " ON a.id = n.appointment_id WHERE a.client_id = %lld",
                            id),
                        "1");
    assert_string_equal(
        sql("SELECT count(*) FROM idempotency_keys"
            " WHERE position(convert_to('erin@erase.test', 'UTF8') IN response) > 0"),
        "0");
    assert_string_equal(sql("SELECT count(*) FROM users WHERE email ILIKE '%%erin%%'"), "0");
    assert_string_equal(
        sql("SELECT count(*) FROM audit WHERE method = '/clinic.v1.Clients/EraseClient'"
            " AND outcome = 'OK' AND target = 'client:%lld'",
            id),
        "1");
    char token[64];
    assert_int_equal(login("erin@erase.test", NULL, token), STATUS_UNAUTHENTICATED);
}

static void the_log_holds_no_passwords_tokens_or_contact_details(void **state)
{
    (void)state;
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    assert_null(strstr(log, HARNESS_PASSWORD));
    assert_null(strstr(log, "a brand new passphrase"));
    assert_null(strstr(log, daemon_.admin_token));
    assert_null(strstr(log, "erin@erase.test"));
    assert_null(strstr(log, "victim@clinic.test"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bootstrap_admin_creates_the_first_admin_only),
        cmocka_unit_test(login_gives_a_token_kept_only_as_its_hash),
        cmocka_unit_test(logout_revokes_the_token),
        cmocka_unit_test(failed_logins_are_slowed_then_locked_out),
        cmocka_unit_test(admins_create_users_with_their_links),
        cmocka_unit_test(reactivating_a_user_does_not_revive_old_tokens),
        cmocka_unit_test(a_new_role_or_link_ends_the_session_and_a_new_name_does_not),
        cmocka_unit_test(a_login_flood_gets_half_the_workers_and_no_more),
        cmocka_unit_test(an_address_past_its_failed_logins_is_refused_even_the_right_password),
        cmocka_unit_test(change_password_ends_the_other_sessions),
        cmocka_unit_test(idempotency_keys_belong_to_their_user),
        cmocka_unit_test(audit_rows_record_mutations_and_refusals),
        cmocka_unit_test(audit_rows_cannot_change_even_as_the_daemons_role),
        cmocka_unit_test(a_client_sees_only_their_own),
        cmocka_unit_test(erase_redacts_contact_details_and_keeps_the_record),
        cmocka_unit_test(the_log_holds_no_passwords_tokens_or_contact_details),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
