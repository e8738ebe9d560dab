/* The `clinic` tool's accounts commands against a live daemon, as a user meets them: login
 * writes the token to a 0600 file in a 0700 folder under a private XDG_CONFIG_HOME and prints who
 * logged in and until when; whoami; which token wins (--token, then CLINIC_TOKEN, then the file);
 * a token file others may read is ignored with a warning; admin user create with the password
 * on stdin, never argv; the audit trail; client erasure; and logout, after which the old token
 * is refused with UNAUTHENTICATED (exit 16).
 *
 * The tests run in order and build on each other, as one admin's session would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "status.h"

#define EXIT_NEGATIVE 1
#define EXIT_USAGE    2

static struct harness_pg pg;
static struct harness_daemon daemon_;
static struct harness_clinic clinic;
static char db_url[512];

/* A private home for the tool: $XDG_CONFIG_HOME and the password files live in it. */
static char home[64], xdg[96], token_path[128], admin_password_file[128], new_password_file[128];
static char env_home[128], env_xdg[128];
static char old_token[128]; /* the admin's token, kept to try it after logout */

#define ADMIN_EMAIL    "admin@clinic.example"
#define ADMIN_PASSWORD "correct horse battery"

struct run {
    int status;
    char *out;
    char *err;
};

/* Runs `clinic --url <daemon> args...` in the private home with `input` on stdin (NULL: none),
 * without the harness admin's CLINIC_TOKEN (empty counts as unset), plus env overrides (may be
 * NULL; later ones win). */
static struct run run_input(const char *input, const char *const *extra_env,
                            const char *const *args)
{
    const char *argv[48] = {"--url", daemon_.url};
    int n = 2;
    for (int i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *env[16] = {env_home, env_xdg, "CLINIC_TOKEN="};
    int e = 3;
    for (int i = 0; extra_env && extra_env[i] && e < 15; i++)
        env[e++] = extra_env[i];
    env[e] = NULL;
    struct run r = {0};
    r.status = input ? harness_run_cli_input(argv, env, input, &r.out, &r.err)
                     : harness_run_cli(argv, env, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

#define CLINIC(...)              run_input(NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CLINIC_ENV(env, ...)     run_input(NULL, (env), (const char *const[]){__VA_ARGS__, NULL})
#define CLINIC_INPUT(input, ...) run_input((input), NULL, (const char *const[]){__VA_ARGS__, NULL})

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in:\n%s", part, text);
}

static void expect(struct run *r, int status)
{
    if (r->status != status)
        fail_msg("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", r->status, status, r->out,
                 r->err);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0 && chmod(path, 0600) == 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof home, "/tmp/clinic-cli-home-XXXXXX");
    if (!mkdtemp(home))
        return -1;
    snprintf(xdg, sizeof xdg, "%s/config", home);
    snprintf(token_path, sizeof token_path, "%s/clinic/token", xdg);
    snprintf(admin_password_file, sizeof admin_password_file, "%s/admin-password", home);
    snprintf(new_password_file, sizeof new_password_file, "%s/new-password", home);
    snprintf(env_home, sizeof env_home, "HOME=%s", home);
    snprintf(env_xdg, sizeof env_xdg, "XDG_CONFIG_HOME=%s", xdg);
    if (!write_file(admin_password_file, ADMIN_PASSWORD "\n") ||
        !write_file(new_password_file, "a therapist's password\n"))
        return -1;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "cli_clinical", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true) ||
        !harness_seed_clinic(db_url, "Europe/Berlin", 1, 2, &clinic))
        return -1;
    return harness_create_user(db_url, ADMIN_EMAIL, "admin", 0, 0, ADMIN_PASSWORD) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0)
        return -1;
    return status == 0 ? 0 : -1;
}

static void login_writes_a_0600_token_file_in_a_0700_folder(void **state)
{
    (void)state;
    struct run r = CLINIC("login", "--email", ADMIN_EMAIL, "--password-file", admin_password_file);
    expect(&r, 0);
    assert_contains(r.out, "Logged in as");
    assert_contains(r.out, ADMIN_EMAIL);
    assert_contains(r.out, "admin");
    assert_contains(r.out, "Token valid until 20");
    assert_contains(r.out, token_path);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/clinic", xdg);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(token_path), 0600);
    char *token = harness_read_file(token_path);
    assert_non_null(token);
    size_t len = strcspn(token, "\n");
    assert_true(len >= 40 && len < sizeof old_token);
    snprintf(old_token, sizeof old_token, "%.*s", (int)len, token);
    assert_null(strstr(r.out, old_token)); /* the token itself is never printed */
    free(token);
    run_free(&r);
}

static void login_with_a_wrong_password_is_refused_and_writes_nothing(void **state)
{
    (void)state;
    char other_xdg[128];
    snprintf(other_xdg, sizeof other_xdg, "XDG_CONFIG_HOME=%s/elsewhere", home);
    const char *env[] = {other_xdg, NULL};
    struct run r =
        CLINIC_ENV(env, "login", "--email", ADMIN_EMAIL, "--password-file", new_password_file);
    expect(&r, STATUS_UNAUTHENTICATED);
    char path[160];
    snprintf(path, sizeof path, "%s/elsewhere/clinic/token", home);
    assert_int_equal(access(path, F_OK), -1);
    run_free(&r);
}

static void login_without_a_terminal_needs_email_and_a_password_line(void **state)
{
    (void)state;
    struct run r = CLINIC("login");
    expect(&r, EXIT_USAGE);
    assert_contains(r.err, "--email is required when stdin is not a terminal");
    run_free(&r);
    r = CLINIC("login", "--email", ADMIN_EMAIL); /* stdin is /dev/null: no password */
    expect(&r, EXIT_USAGE);
    assert_contains(r.err, "no password was given");
    run_free(&r);
}

static void whoami_names_the_user_of_the_token_file(void **state)
{
    (void)state;
    struct run r = CLINIC("whoami");
    expect(&r, 0);
    assert_contains(r.out, "You are");
    assert_contains(r.out, ADMIN_EMAIL);
    assert_contains(r.out, ", admin (user ");
    run_free(&r);
    r = CLINIC("--json", "whoami");
    expect(&r, 0);
    assert_contains(r.out, "\"email\":\"" ADMIN_EMAIL "\"");
    assert_contains(r.out, "\"role\":\"ROLE_ADMIN\"");
    assert_contains(r.out, "\"token_expires_at\":\"20");
    run_free(&r);
}

static void token_flag_beats_variable_beats_file(void **state)
{
    (void)state;
    const char *bad_env[] = {"CLINIC_TOKEN=not-a-token", NULL};
    struct run r = CLINIC_ENV(bad_env, "whoami"); /* the variable beats the good file */
    expect(&r, STATUS_UNAUTHENTICATED);
    run_free(&r);
    r = CLINIC_ENV(bad_env, "--token", old_token, "whoami"); /* the flag beats the variable */
    expect(&r, 0);
    run_free(&r);
    r = CLINIC("--token", "not-a-token", "whoami"); /* the flag beats the file */
    expect(&r, STATUS_UNAUTHENTICATED);
    run_free(&r);
}

static void a_token_file_others_may_read_is_ignored_with_a_warning(void **state)
{
    (void)state;
    assert_int_equal(chmod(token_path, 0644), 0);
    struct run r = CLINIC("whoami");
    expect(&r, STATUS_UNAUTHENTICATED);
    assert_contains(r.err, "clinic: warning: the token file");
    assert_contains(r.err, "chmod 600");
    run_free(&r);
    assert_int_equal(chmod(token_path, 0600), 0);
    r = CLINIC("whoami");
    expect(&r, 0);
    run_free(&r);
}

static void admin_user_create_reads_the_password_from_stdin_or_a_file(void **state)
{
    (void)state;
    char therapist[24];
    snprintf(therapist, sizeof therapist, "%lld", clinic.therapist_ids[0]);
    struct run r = CLINIC_INPUT("a therapist's password\n", "admin", "user", "create", "--email",
                                "anna@clinic.example", "--name", "Anna Berg", "--role", "therapist",
                                "--therapist", therapist);
    expect(&r, 0);
    assert_contains(r.out, "Created user");
    assert_contains(r.out, "Anna Berg");
    assert_contains(r.out, "therapist");
    run_free(&r);
    r = CLINIC("admin", "user", "create", "--email", "desk@clinic.example", "--name", "Desk",
               "--role", "front_desk", "--password-file", new_password_file);
    expect(&r, 0);
    assert_contains(r.out, "front_desk");
    run_free(&r);
    /* no password on the command line, ever */
    r = CLINIC("admin", "user", "create", "--email", "x@clinic.example", "--name", "X", "--role",
               "admin", "--password", "secret12345");
    expect(&r, EXIT_USAGE);
    assert_contains(r.err, "unknown option \"--password\"");
    run_free(&r);
    r = CLINIC("admin", "user", "create", "--email", "x@clinic.example", "--name", "X", "--role",
               "boss");
    expect(&r, EXIT_USAGE);
    assert_contains(r.err, "--role must be one of admin, front_desk, therapist, client");
    run_free(&r);
}

static void admin_user_list_and_get_show_the_accounts(void **state)
{
    (void)state;
    struct run r = CLINIC("admin", "user", "list");
    expect(&r, 0);
    assert_contains(r.out, "ID");
    assert_contains(r.out, ADMIN_EMAIL);
    assert_contains(r.out, "anna@clinic.example");
    assert_contains(r.out, "therapist ");
    run_free(&r);
    r = CLINIC("admin", "user", "list", "--role", "therapist");
    expect(&r, 0);
    assert_contains(r.out, "anna@clinic.example");
    assert_null(strstr(r.out, ADMIN_EMAIL));
    run_free(&r);
    r = CLINIC("admin", "user", "get", "999999");
    expect(&r, STATUS_NOT_FOUND);
    run_free(&r);
}

static void the_new_user_logs_in_in_another_home(void **state)
{
    (void)state;
    char other_xdg[128];
    snprintf(other_xdg, sizeof other_xdg, "XDG_CONFIG_HOME=%s/anna", home);
    const char *env[] = {other_xdg, NULL};
    struct run r =
        run_input("a therapist's password\n", env,
                  (const char *const[]){"login", "--email", "anna@clinic.example", NULL});
    expect(&r, 0);
    assert_contains(r.out, "Anna Berg");
    run_free(&r);
    r = CLINIC_ENV(env, "audit"); /* admins only */
    expect(&r, STATUS_PERMISSION_DENIED);
    run_free(&r);
}

static void admin_client_erase_redacts_the_contact_details(void **state)
{
    (void)state;
    char id[24];
    snprintf(id, sizeof id, "%lld", clinic.client_ids[1]);
    struct run r = CLINIC("admin", "client", "erase", id);
    expect(&r, EXIT_USAGE);
    assert_contains(r.err, "--reason is required");
    run_free(&r);
    r = CLINIC("admin", "client", "erase", id, "--reason", "written request of 2026-11-20");
    expect(&r, 0);
    assert_contains(r.out, "Erased client");
    run_free(&r);
    r = CLINIC("admin", "client", "get", id);
    expect(&r, 0);
    assert_contains(r.out, "email              -");
    assert_contains(r.out, "archived           yes");
    run_free(&r);
}

static void audit_lists_the_calls_newest_first(void **state)
{
    (void)state;
    struct run r = CLINIC("audit", "--method", "Users/");
    expect(&r, 0);
    assert_contains(r.out, "METHOD");
    assert_contains(r.out, "Users/CreateUser");
    assert_contains(r.out, "OK");
    assert_null(strstr(r.out, "Clients/EraseClient"));
    run_free(&r);
    r = CLINIC("--json", "audit", "--method", "/clinic.v1.Clients/EraseClient", "--since",
               "2020-01-01");
    expect(&r, 0);
    assert_contains(r.out, "\"method\":\"/clinic.v1.Clients/EraseClient\"");
    run_free(&r);
    r = CLINIC("audit", "--until", "2020-01-01");
    expect(&r, 0);
    assert_contains(r.out, "(none)");
    run_free(&r);
    r = CLINIC("audit", "--since", "yesterday");
    expect(&r, EXIT_USAGE);
    assert_contains(r.err, "--since must be a time like");
    run_free(&r);
}

static void logout_revokes_the_token_and_removes_the_file(void **state)
{
    (void)state;
    struct run r = CLINIC("logout");
    expect(&r, 0);
    assert_contains(r.out, "Logged out");
    assert_int_equal(access(token_path, F_OK), -1);
    run_free(&r);
    r = CLINIC("--token", old_token, "whoami");
    expect(&r, STATUS_UNAUTHENTICATED);
    assert_contains(r.err, "UNAUTHENTICATED");
    run_free(&r);
    r = CLINIC("whoami"); /* no token at all */
    expect(&r, STATUS_UNAUTHENTICATED);
    run_free(&r);
    r = CLINIC("logout");
    expect(&r, EXIT_NEGATIVE);
    assert_contains(r.err, "not logged in");
    run_free(&r);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    unsetenv("COLUMNS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(login_writes_a_0600_token_file_in_a_0700_folder),
        cmocka_unit_test(login_with_a_wrong_password_is_refused_and_writes_nothing),
        cmocka_unit_test(login_without_a_terminal_needs_email_and_a_password_line),
        cmocka_unit_test(whoami_names_the_user_of_the_token_file),
        cmocka_unit_test(token_flag_beats_variable_beats_file),
        cmocka_unit_test(a_token_file_others_may_read_is_ignored_with_a_warning),
        cmocka_unit_test(admin_user_create_reads_the_password_from_stdin_or_a_file),
        cmocka_unit_test(admin_user_list_and_get_show_the_accounts),
        cmocka_unit_test(the_new_user_logs_in_in_another_home),
        cmocka_unit_test(admin_client_erase_redacts_the_contact_details),
        cmocka_unit_test(audit_lists_the_calls_newest_first),
        cmocka_unit_test(logout_revokes_the_token_and_removes_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
