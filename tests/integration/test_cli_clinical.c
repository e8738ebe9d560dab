/* The `clinic` tool's accounts commands against a live daemon, as a user meets them: login
 * writes the token to a 0600 file in a 0700 folder under a private XDG_CONFIG_HOME and prints who
 * logged in and until when; whoami; which token wins (--token, then CLINIC_TOKEN, then the file);
 * a token file others may read is ignored with a warning; admin user create with the password
 * on stdin, never argv; the audit trail; client erasure; the therapist's note commands and the
 * course of care in the terminal and as SVG; and
 * logout, after which the old token is refused with UNAUTHENTICATED (exit 16).
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

/* Runs `clinic --url <daemon> args...` in the private home with `input` on stdin (NULL: none),
 * without the harness admin's CLINIC_TOKEN (empty counts as unset), plus env overrides (may be
 * NULL; later ones win). */
static struct harness_run run_input(const char *input, const char *const *extra_env,
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
    struct harness_run r = {0};
    r.status = input ? harness_run_cli_input(argv, env, input, &r.out, &r.err)
                     : harness_run_cli(argv, env, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

#define CLINIC(...)              run_input(NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CLINIC_ENV(env, ...)     run_input(NULL, (env), (const char *const[]){__VA_ARGS__, NULL})
#define CLINIC_INPUT(input, ...) run_input((input), NULL, (const char *const[]){__VA_ARGS__, NULL})

static void expect(struct harness_run *r, int status)
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

static void a_command_without_a_token_says_to_log_in(void **state)
{
    (void)state;
    char other_xdg[128];
    snprintf(other_xdg, sizeof other_xdg, "XDG_CONFIG_HOME=%s/nobody", home);
    const char *env[] = {other_xdg, NULL};
    struct harness_run r = CLINIC_ENV(env, "slots", "--service", "1");
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_assert_contains(r.err, "clinic slots needs you to be logged in");
    harness_assert_contains(r.err, "`clinic login`");
    assert_null(strstr(r.err, "/clinic.v1.")); /* the method is not what the user typed */
    harness_run_free(&r);
    r = CLINIC_ENV(env, "--json", "slots", "--service", "1");
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_assert_contains(r.err, "\"status\":\"UNAUTHENTICATED\"");
    harness_assert_contains(r.err, "clinic slots needs you to be logged in");
    harness_run_free(&r);
}

static void login_writes_a_0600_token_file_in_a_0700_folder(void **state)
{
    (void)state;
    struct harness_run r =
        CLINIC("login", "--email", ADMIN_EMAIL, "--password-file", admin_password_file);
    expect(&r, 0);
    harness_assert_contains(r.out, "Logged in as");
    harness_assert_contains(r.out, ADMIN_EMAIL);
    harness_assert_contains(r.out, "admin");
    harness_assert_contains(r.out, "Token valid until 20");
    harness_assert_contains(r.out, token_path);
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
    harness_run_free(&r);
}

static void login_with_a_wrong_password_is_refused_and_writes_nothing(void **state)
{
    (void)state;
    char other_xdg[128];
    snprintf(other_xdg, sizeof other_xdg, "XDG_CONFIG_HOME=%s/elsewhere", home);
    const char *env[] = {other_xdg, NULL};
    struct harness_run r =
        CLINIC_ENV(env, "login", "--email", ADMIN_EMAIL, "--password-file", new_password_file);
    expect(&r, STATUS_UNAUTHENTICATED);
    char path[160];
    snprintf(path, sizeof path, "%s/elsewhere/clinic/token", home);
    assert_int_equal(access(path, F_OK), -1);
    harness_run_free(&r);
}

static void login_without_a_terminal_needs_email_and_a_password_line(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("login");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "--email is required when stdin is not a terminal");
    harness_run_free(&r);
    r = CLINIC("login", "--email", ADMIN_EMAIL); /* stdin is /dev/null: no password */
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "no password was given");
    harness_run_free(&r);
}

static void whoami_names_the_user_of_the_token_file(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("whoami");
    expect(&r, 0);
    harness_assert_contains(r.out, "You are");
    harness_assert_contains(r.out, ADMIN_EMAIL);
    harness_assert_contains(r.out, ", admin (user ");
    harness_run_free(&r);
    r = CLINIC("--json", "whoami");
    expect(&r, 0);
    harness_assert_contains(r.out, "\"email\":\"" ADMIN_EMAIL "\"");
    harness_assert_contains(r.out, "\"role\":\"ROLE_ADMIN\"");
    harness_assert_contains(r.out, "\"token_expires_at\":\"20");
    harness_run_free(&r);
}

static void token_flag_beats_variable_beats_file(void **state)
{
    (void)state;
    const char *bad_env[] = {"CLINIC_TOKEN=not-a-token", NULL};
    struct harness_run r = CLINIC_ENV(bad_env, "whoami"); /* the variable beats the good file */
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_run_free(&r);
    r = CLINIC_ENV(bad_env, "--token", old_token, "whoami"); /* the flag beats the variable */
    expect(&r, 0);
    harness_run_free(&r);
    r = CLINIC("--token", "not-a-token", "whoami"); /* the flag beats the file */
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_run_free(&r);
}

static void a_token_file_others_may_read_is_ignored_with_a_warning(void **state)
{
    (void)state;
    assert_int_equal(chmod(token_path, 0644), 0);
    struct harness_run r = CLINIC("whoami");
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_assert_contains(r.err, "clinic: warning: the token file");
    harness_assert_contains(r.err, "chmod 600");
    harness_run_free(&r);
    assert_int_equal(chmod(token_path, 0600), 0);
    r = CLINIC("whoami");
    expect(&r, 0);
    harness_run_free(&r);
}

static void admin_user_create_reads_the_password_from_stdin_or_a_file(void **state)
{
    (void)state;
    char therapist[24];
    snprintf(therapist, sizeof therapist, "%lld", clinic.therapist_ids[0]);
    struct harness_run r = CLINIC_INPUT("a therapist's password\n", "admin", "user", "create",
                                        "--email", "anna@clinic.example", "--name", "Anna Berg",
                                        "--role", "therapist", "--therapist", therapist);
    expect(&r, 0);
    harness_assert_contains(r.out, "Created user");
    harness_assert_contains(r.out, "Anna Berg");
    harness_assert_contains(r.out, "therapist");
    harness_run_free(&r);
    r = CLINIC("admin", "user", "create", "--email", "desk@clinic.example", "--name", "Desk",
               "--role", "front_desk", "--password-file", new_password_file);
    expect(&r, 0);
    harness_assert_contains(r.out, "front_desk");
    harness_run_free(&r);
    /* no password on the command line, ever */
    r = CLINIC("admin", "user", "create", "--email", "x@clinic.example", "--name", "X", "--role",
               "admin", "--password", "secret12345");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "unknown option \"--password\"");
    harness_run_free(&r);
    r = CLINIC("admin", "user", "create", "--email", "x@clinic.example", "--name", "X", "--role",
               "boss");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "--role must be one of admin, front_desk, therapist, client");
    harness_run_free(&r);
    /* the daemon's refusal in the words of the command line, each said once */
    r = CLINIC("admin", "user", "create", "--email", "c@clinic.example", "--name", "C", "--role",
               "client", "--password-file", new_password_file);
    expect(&r, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "--client is required for a client account");
    assert_null(strstr(r.err, "ROLE_CLIENT"));
    assert_null(strstr(r.err, "client_id"));
    assert_null(strstr(strstr(r.err, "is required") + 1, "is required"));
    harness_run_free(&r);
    r = CLINIC("--json", "admin", "user", "create", "--email", "c@clinic.example", "--name", "C",
               "--role", "client", "--password-file", new_password_file);
    expect(&r, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "{\"field\":\"client_id\",\"option\":\"--client\"");
    harness_run_free(&r);
}

static void admin_user_list_and_get_show_the_accounts(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("admin", "user", "list");
    expect(&r, 0);
    harness_assert_contains(r.out, "ID");
    harness_assert_contains(r.out, ADMIN_EMAIL);
    harness_assert_contains(r.out, "anna@clinic.example");
    harness_assert_contains(r.out, "therapist ");
    harness_run_free(&r);
    r = CLINIC("admin", "user", "list", "--role", "therapist");
    expect(&r, 0);
    harness_assert_contains(r.out, "anna@clinic.example");
    assert_null(strstr(r.out, ADMIN_EMAIL));
    harness_run_free(&r);
    r = CLINIC("admin", "user", "get", "999999");
    expect(&r, STATUS_NOT_FOUND);
    harness_run_free(&r);
}

static void the_new_user_logs_in_in_another_home(void **state)
{
    (void)state;
    char other_xdg[128];
    snprintf(other_xdg, sizeof other_xdg, "XDG_CONFIG_HOME=%s/anna", home);
    const char *env[] = {other_xdg, NULL};
    struct harness_run r =
        run_input("a therapist's password\n", env,
                  (const char *const[]){"login", "--email", "anna@clinic.example", NULL});
    expect(&r, 0);
    harness_assert_contains(r.out, "Anna Berg");
    harness_run_free(&r);
    r = CLINIC_ENV(env, "audit"); /* admins only */
    expect(&r, STATUS_PERMISSION_DENIED);
    harness_run_free(&r);
}

static void a_password_set_by_an_admin_ends_the_old_session_and_says_so(void **state)
{
    (void)state;
    char other_xdg[128], id[24];
    snprintf(other_xdg, sizeof other_xdg, "XDG_CONFIG_HOME=%s/anna", home);
    const char *env[] = {other_xdg, NULL};
    struct harness_run r = CLINIC_ENV(env, "--json", "whoami");
    expect(&r, 0);
    harness_json_id(r.out, id, sizeof id);
    harness_run_free(&r);
    r = CLINIC("admin", "user", "set-password", id, "--password-file", new_password_file);
    expect(&r, 0);
    harness_run_free(&r);
    r = CLINIC_ENV(env, "whoami"); /* anna's token from before the new password */
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_assert_contains(r.err, "your password was changed");
    harness_assert_contains(r.err, "log in again with `clinic login`");
    assert_null(strstr(r.err, "logged out"));
    harness_run_free(&r);
    /* anna logs in again, as told, for the tests that follow */
    r = run_input("a therapist's password\n", env,
                  (const char *const[]){"login", "--email", "anna@clinic.example", NULL});
    expect(&r, 0);
    harness_run_free(&r);
}

static void admin_client_erase_redacts_the_contact_details(void **state)
{
    (void)state;
    char id[24];
    snprintf(id, sizeof id, "%lld", clinic.client_ids[1]);
    struct harness_run r = CLINIC("admin", "client", "erase", id);
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "--reason is required");
    harness_run_free(&r);
    r = CLINIC("admin", "client", "erase", id, "--reason", "written request of 2026-11-20");
    expect(&r, 0);
    harness_assert_contains(r.out, "Erased client");
    harness_run_free(&r);
    r = CLINIC("admin", "client", "get", id);
    expect(&r, 0);
    harness_assert_contains(r.out, "email              -");
    harness_assert_contains(r.out, "archived           yes");
    harness_run_free(&r);
}

static void audit_lists_the_calls_newest_first(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("audit", "--method", "Users/");
    expect(&r, 0);
    harness_assert_contains(r.out, "METHOD");
    harness_assert_contains(r.out, "Users/CreateUser");
    harness_assert_contains(r.out, "OK");
    assert_null(strstr(r.out, "Clients/EraseClient"));
    harness_run_free(&r);
    r = CLINIC("--json", "audit", "--method", "/clinic.v1.Clients/EraseClient", "--since",
               "2020-01-01");
    expect(&r, 0);
    harness_assert_contains(r.out, "\"method\":\"/clinic.v1.Clients/EraseClient\"");
    harness_run_free(&r);
    r = CLINIC("audit", "--until", "2020-01-01");
    expect(&r, 0);
    harness_assert_contains(r.out, "(none)");
    harness_run_free(&r);
    r = CLINIC("audit", "--since", "yesterday");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "--since must be a time like");
    harness_run_free(&r);
}

/* ------------------------------------------------------------------ notes and progress */

static char note_ids[3][24];
/* The days of the three weekly sessions the notes are about: 21, 14 and 7 days before today
 * (Berlin), recorded after the fact (`clinic record`), so they are completed and within the 31
 * days a session may be recorded, whatever day the test runs. Set by the test that records them. */
static char session_days[3][11];

/* Anna's token file, for the therapist's own commands. */
static const char *const *as_anna(void)
{
    static char anna_xdg[128];
    static const char *env[2];
    snprintf(anna_xdg, sizeof anna_xdg, "XDG_CONFIG_HOME=%s/anna", home);
    env[0] = anna_xdg;
    env[1] = NULL;
    return env;
}

static void note_commands_draft_edit_sign_amend_and_show(void **state)
{
    (void)state;
    char client[24], service[24], therapist[24], appointment[3][24];
    snprintf(client, sizeof client, "%lld", clinic.client_ids[0]);
    snprintf(service, sizeof service, "%lld", clinic.service_id);
    snprintf(therapist, sizeof therapist, "%lld", clinic.therapist_ids[0]);
    const char *const *anna = as_anna();
    /* a session ahead, booked: its note can be drafted, not signed */
    char ahead[48], booked[24], early_note[24], sentence[128];
    snprintf(ahead, sizeof ahead, "%04d-01-07 09:00", harness_next_year());
    struct harness_run r = CLINIC("--json", "book", "--client", client, "--service", service,
                                  "--therapist", therapist, "--start", ahead);
    expect(&r, 0);
    harness_json_id(r.out, booked, sizeof booked);
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "--json", "note", "draft", booked, "--pain-before", "5", "--pain-after",
                   "3", "--areas", "neck", "--techniques", "swedish");
    expect(&r, 0);
    harness_json_id(r.out, early_note, sizeof early_note);
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "sign", early_note);
    expect(&r, STATUS_FAILED_PRECONDITION);
    snprintf(sentence, sizeof sentence,
             "appointment %s is booked: check the client in or record the session before signing",
             booked);
    harness_assert_contains(r.err, sentence);
    harness_run_free(&r);
    /* three weekly sessions that happened unbooked, recorded by the admin */
    char *today = harness_sql(db_url, "SELECT to_char(now() AT TIME ZONE 'Europe/Berlin',"
                                      " 'YYYY-MM-DD')");
    assert_non_null(today);
    for (int i = 0; i < 3; i++) {
        char start[48];
        harness_date_add(today, -21 + 7 * i, session_days[i], sizeof session_days[i]);
        snprintf(start, sizeof start, "%s 09:00", session_days[i]);
        r = CLINIC("--json", "record", "--client", client, "--service", service, "--therapist",
                   therapist, "--start", start, "--reason", "paper diary typed in");
        expect(&r, 0);
        harness_assert_contains(r.out, "\"recorded_reason\":\"paper diary typed in\"");
        harness_json_id(r.out, appointment[i], sizeof appointment[i]);
        harness_run_free(&r);
    }
    free(today);
    r = CLINIC_ENV(anna, "note", "draft", appointment[0], "--areas", "lower_back,elbow");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "unknown \"elbow\"; choose from head_face, neck");
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "--json", "note", "draft", appointment[0], "--pain-before", "7",
                   "--pain-after", "4", "--areas", "lower_back,glutes", "--techniques",
                   "deep_tissue", "--pressure", "firm", "--subjective", "Stiff after gardening",
                   "--odi", "3,2,-,1,0,4,2,-,1,3");
    expect(&r, 0);
    harness_json_id(r.out, note_ids[0], sizeof note_ids[0]);
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "edit", note_ids[0]);
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "name at least one field to change");
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "edit", note_ids[0], "--pain-after", "3", "--objective",
                   "Hypertonic erectors", "--assessment", "Improving", "--plan", "Weekly");
    expect(&r, 0);
    harness_assert_contains(r.out, "Edited note");
    harness_assert_contains(r.out, "7 -> 3 (before -> after, 0-10)");
    harness_assert_contains(r.out, "areas        lower back, glutes"); /* kept: not in the mask */
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "sign", note_ids[0]);
    expect(&r, 0);
    harness_assert_contains(r.out, "Signed note");
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "edit", note_ids[0], "--pain-after", "2");
    expect(&r, STATUS_FAILED_PRECONDITION);
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "amend", note_ids[0], "--reason", "wrong side", "--text",
                   "Left glute, not right.");
    expect(&r, 0);
    harness_run_free(&r);
    r = CLINIC_ENV(anna, "note", "show", note_ids[0]);
    expect(&r, 0);
    harness_assert_contains(r.out, "signed");
    harness_assert_contains(r.out, "by Therapist 1 (therapist ");
    harness_assert_contains(r.out, "techniques   deep tissue\n");
    harness_assert_contains(r.out, "pressure     firm\n");
    harness_assert_contains(r.out, "\nSubjective\n  Stiff after gardening\n");
    harness_assert_contains(r.out, "\nPlan\n  Weekly\n");
    harness_assert_contains(r.out, "Oswestry Disability Index: 40 % (8 of 10 sections answered)");
    harness_assert_contains(r.out, "\nAmendments\n");
    harness_assert_contains(r.out, "by Therapist 1: wrong side\n    Left glute, not right.\n");
    harness_run_free(&r);
    /* two more sessions, signed, for the course of care */
    static const char *const pains[2][3] = {{"5", "3", "2,2,1,1,0,3,2,-,1,2"},
                                            {"4", "2", "1,1,1,0,0,2,1,-,0,1"}};
    for (int i = 1; i < 3; i++) {
        r = CLINIC_ENV(anna, "--json", "note", "draft", appointment[i], "--pain-before",
                       pains[i - 1][0], "--pain-after", pains[i - 1][1], "--odi", pains[i - 1][2],
                       "--areas", "lower_back", "--techniques", "swedish", "--pressure", "moderate",
                       "--subjective", "s", "--objective", "o", "--assessment", "a", "--plan", "p");
        expect(&r, 0);
        harness_json_id(r.out, note_ids[i], sizeof note_ids[i]);
        harness_run_free(&r);
        r = CLINIC_ENV(anna, "note", "sign", note_ids[i]);
        expect(&r, 0);
        harness_run_free(&r);
    }
    char first_start[32];
    snprintf(first_start, sizeof first_start, "%s 09:00", session_days[0]);
    r = CLINIC_ENV(anna, "note", "list", client);
    expect(&r, 0);
    harness_assert_contains(r.out, "NOTE");
    harness_assert_contains(r.out, first_start);
    harness_assert_contains(r.out, "4 -> 2");
    harness_run_free(&r);
}

static void progress_draws_the_course_in_the_terminal_and_as_svg(void **state)
{
    (void)state;
    assert_true(note_ids[2][0] != '\0'); /* the notes of the test before */
    char client[24], svg_path[160], last_label[32], utf8[] = "LANG=C.UTF-8", ascii[] = "LANG=C";
    snprintf(client, sizeof client, "%lld", clinic.client_ids[0]);
    snprintf(svg_path, sizeof svg_path, "%s/course.svg", home);
    const char *const env_utf8[] = {as_anna()[0], utf8, "LC_ALL=", "LC_CTYPE=", NULL};
    struct harness_run r = CLINIC_ENV(env_utf8, "progress", client, "--svg", svg_path);
    expect(&r, 0);
    harness_assert_contains(r.out, "Course of care of Client 1");
    harness_assert_contains(r.out, "3 sessions");
    harness_assert_contains(r.out, "SESSION");
    harness_assert_contains(r.out, "pain, ODI"); /* session 3: pain 7 -> 4 and ODI 40 -> 16 */
    harness_assert_contains(r.out, "pain before  ");
    harness_assert_contains(r.out, "▆");
    harness_assert_contains(r.out, "Chart written to");
    harness_run_free(&r);
    char *svg = harness_read_file(svg_path);
    assert_non_null(svg);
    assert_int_equal(strncmp(svg, "<?xml", 5), 0);
    harness_assert_contains(svg, "<title>Course of care: Client 1</title>");
    snprintf(last_label, sizeof last_label, ">%s</text>", session_days[2]);
    harness_assert_contains(svg, last_label);
    harness_assert_contains(svg, "</svg>\n");
    free(svg);
    const char *const env_ascii[] = {as_anna()[0], ascii, "LC_ALL=", "LC_CTYPE=", NULL};
    r = CLINIC_ENV(env_ascii, "progress", client);
    expect(&r, 0);
    assert_null(strstr(r.out, "▆"));
    harness_run_free(&r);
    r = CLINIC_ENV(as_anna(), "--json", "progress", client);
    expect(&r, 0);
    harness_assert_contains(r.out, "\"sessions\":[");
    harness_assert_contains(r.out, "\"pain_mcid\":true");
    harness_run_free(&r);
    r = CLINIC_ENV(as_anna(), "progress", client, "--svg", "/nonexistent-dir/x.svg");
    expect(&r, EXIT_USAGE);
    harness_assert_contains(r.err, "cannot write /nonexistent-dir/x.svg");
    harness_run_free(&r);
}

/* A client reads their own course of care and notes without typing their client id; staff who
 * leave it out are told CLIENT. */
static void a_client_reads_their_own_record_without_naming_themselves(void **state)
{
    (void)state;
    assert_true(note_ids[2][0] != '\0'); /* the notes of the tests before */
    char token[64], env_token[128];
    assert_true(harness_create_user(db_url, "client1@clinic.test", "client", 0,
                                    clinic.client_ids[0], NULL) > 0);
    assert_int_equal(harness_login(daemon_.url, "client1@clinic.test", NULL, token, sizeof token),
                     STATUS_OK);
    snprintf(env_token, sizeof env_token, "CLINIC_TOKEN=%s", token);
    const char *const as_client[] = {env_token, NULL};
    struct harness_run r = CLINIC_ENV(as_client, "progress");
    expect(&r, 0);
    harness_assert_contains(r.out, "Course of care of Client 1");
    harness_assert_contains(r.out, "3 sessions");
    harness_run_free(&r);
    r = CLINIC_ENV(as_client, "note", "list");
    expect(&r, 0);
    harness_assert_contains(r.out, "4 -> 2");
    harness_run_free(&r);
    r = CLINIC_ENV(as_anna(), "progress");
    expect(&r, STATUS_INVALID_ARGUMENT);
    harness_assert_contains(r.err, "CLIENT");
    assert_null(strstr(r.err, "client_id"));
    harness_run_free(&r);
}

static void logout_revokes_the_token_and_removes_the_file(void **state)
{
    (void)state;
    struct harness_run r = CLINIC("logout");
    expect(&r, 0);
    harness_assert_contains(r.out, "Logged out");
    assert_int_equal(access(token_path, F_OK), -1);
    harness_run_free(&r);
    r = CLINIC("--token", old_token, "whoami");
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_assert_contains(r.err, "UNAUTHENTICATED");
    harness_run_free(&r);
    r = CLINIC("whoami"); /* no token at all */
    expect(&r, STATUS_UNAUTHENTICATED);
    harness_run_free(&r);
    r = CLINIC("logout");
    expect(&r, EXIT_NEGATIVE);
    harness_assert_contains(r.err, "not logged in");
    harness_run_free(&r);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    unsetenv("COLUMNS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_command_without_a_token_says_to_log_in),
        cmocka_unit_test(login_writes_a_0600_token_file_in_a_0700_folder),
        cmocka_unit_test(login_with_a_wrong_password_is_refused_and_writes_nothing),
        cmocka_unit_test(login_without_a_terminal_needs_email_and_a_password_line),
        cmocka_unit_test(whoami_names_the_user_of_the_token_file),
        cmocka_unit_test(token_flag_beats_variable_beats_file),
        cmocka_unit_test(a_token_file_others_may_read_is_ignored_with_a_warning),
        cmocka_unit_test(admin_user_create_reads_the_password_from_stdin_or_a_file),
        cmocka_unit_test(admin_user_list_and_get_show_the_accounts),
        cmocka_unit_test(the_new_user_logs_in_in_another_home),
        cmocka_unit_test(a_password_set_by_an_admin_ends_the_old_session_and_says_so),
        cmocka_unit_test(admin_client_erase_redacts_the_contact_details),
        cmocka_unit_test(audit_lists_the_calls_newest_first),
        cmocka_unit_test(note_commands_draft_edit_sign_amend_and_show),
        cmocka_unit_test(progress_draws_the_course_in_the_terminal_and_as_svg),
        cmocka_unit_test(a_client_reads_their_own_record_without_naming_themselves),
        cmocka_unit_test(logout_revokes_the_token_and_removes_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
