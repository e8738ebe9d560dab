/* test_config.c: config_load reads defaults, then CLINIC_* variables, then flags, and names the
 * culprit of every usage error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static const char *const env_vars[] = {
    "CLINIC_LISTEN",
    "CLINIC_EVENTS",
    "CLINIC_DATABASE_URL",
    "CLINIC_DATA_DIR",
    "CLINIC_PG_USER",
    "CLINIC_WORKERS",
    "CLINIC_LOG_LEVEL",
    "CLINIC_MAX_REQUEST_BYTES",
    "CLINIC_SOCKET_MODE",
    "CLINIC_MAX_CONNECTIONS",
    "CLINIC_DEFAULT_DEADLINE_MS",
    "CLINIC_SHUTDOWN_GRACE_MS",
    "CLINIC_ENABLE_DIAGNOSTICS",
    "CLINIC_SMTP_URL",
    "CLINIC_SMTP_USER",
    "CLINIC_SMTP_PASSWORD_FILE",
    "CLINIC_SMTP_STARTTLS",
    "CLINIC_MAIL_FROM",
    "CLINIC_WEBHOOK_URL",
    "CLINIC_WEBHOOK_SECRET_FILE",
};

static char err[256];

/* argv without argv[0]; config_load skips argv[0], so "clinicd" is prepended here. */
#define ARGS(...) ((char *[]){"clinicd", __VA_ARGS__, NULL})
#define NO_ARGS   ((char *[]){"clinicd", NULL})

static enum config_outcome load(struct config *cfg, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    err[0] = '\0';
    return config_load(cfg, argc, argv, err, sizeof err);
}

/* The tests own the environment: none of the variables may leak in from the caller's shell. */
static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++)
        unsetenv(env_vars[i]);
    return 0;
}

static void assert_usage_error_naming(char **argv, const char *culprit)
{
    struct config cfg;
    assert_int_equal(load(&cfg, argv), CONFIG_EXIT_USAGE);
    if (!strstr(err, culprit))
        fail_msg("\"%s\" does not name %s", err, culprit);
    config_free(&cfg);
}

static void defaults_apply_without_env_or_flags(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, NO_ARGS), CONFIG_RUN);
    assert_string_equal(cfg.listen_url, "tcp://127.0.0.1:7450");
    assert_string_equal(cfg.events_url, "tcp://127.0.0.1:7451");
    assert_string_equal(cfg.database_url, "");
    assert_string_equal(cfg.data_dir, "./var/clinicd");
    assert_string_equal(cfg.pg_user, "postgres");
    assert_int_equal(cfg.workers, 2 * config_cpu_count());
    assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
    assert_int_equal(cfg.max_request_bytes, 1048576);
    assert_int_equal(cfg.default_deadline_ms, 30000);
    assert_int_equal(cfg.shutdown_grace_ms, 10000);
    assert_int_equal(cfg.socket_mode, 0660);
    assert_int_equal(cfg.max_connections, 128);
    assert_false(cfg.enable_diagnostics);
    config_free(&cfg);
}

static void cpu_count_is_at_least_one(void **state)
{
    (void)state;
    assert_true(config_cpu_count() >= 1);
}

static void env_vars_replace_defaults(void **state)
{
    (void)state;
    struct config cfg;
    setenv("CLINIC_LISTEN", "ipc:///tmp/clinicd.sock", 1);
    setenv("CLINIC_EVENTS", "tcp://127.0.0.1:9451", 1);
    setenv("CLINIC_DATABASE_URL", "postgresql:///clinic", 1);
    setenv("CLINIC_DATA_DIR", "/srv/clinicd", 1);
    setenv("CLINIC_WORKERS", "3", 1);
    setenv("CLINIC_LOG_LEVEL", "debug", 1);
    setenv("CLINIC_ENABLE_DIAGNOSTICS", "yes", 1);
    assert_int_equal(load(&cfg, NO_ARGS), CONFIG_RUN);
    assert_string_equal(cfg.listen_url, "ipc:///tmp/clinicd.sock");
    assert_string_equal(cfg.events_url, "tcp://127.0.0.1:9451");
    assert_string_equal(cfg.database_url, "postgresql:///clinic");
    assert_string_equal(cfg.data_dir, "/srv/clinicd");
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
    assert_true(cfg.enable_diagnostics);
    config_free(&cfg);
}

static void flags_override_env_vars(void **state)
{
    (void)state;
    struct config cfg;
    setenv("CLINIC_LISTEN", "tcp://127.0.0.1:1111", 1);
    setenv("CLINIC_WORKERS", "3", 1);
    setenv("CLINIC_DATABASE_URL", "postgresql:///from_env", 1);
    assert_int_equal(load(&cfg, ARGS("--listen", "tcp://127.0.0.1:2222", "--workers", "5",
                                     "--database", "postgresql:///from_flag")),
                     CONFIG_RUN);
    assert_string_equal(cfg.listen_url, "tcp://127.0.0.1:2222");
    assert_int_equal(cfg.workers, 5);
    assert_string_equal(cfg.database_url, "postgresql:///from_flag");
    config_free(&cfg);
}

static void bad_env_value_is_usage_error_naming_the_variable(void **state)
{
    (void)state;
    setenv("CLINIC_WORKERS", "many", 1);
    assert_usage_error_naming(NO_ARGS, "CLINIC_WORKERS");
}

static void flag_overrides_a_malformed_env_value(void **state)
{
    (void)state;
    struct config cfg;
    setenv("CLINIC_WORKERS", "many", 1);
    assert_int_equal(load(&cfg, ARGS("--workers", "4")), CONFIG_RUN);
    assert_int_equal(cfg.workers, 4);
    config_free(&cfg);
}

static void flag_accepts_equals_and_separate_value_forms(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, ARGS("--workers=7", "--data-dir", "/d", "--log-level=warn",
                                     "--events", "tcp://127.0.0.1:9", "--max-request-bytes=2048")),
                     CONFIG_RUN);
    assert_int_equal(cfg.workers, 7);
    assert_string_equal(cfg.data_dir, "/d");
    assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
    assert_string_equal(cfg.events_url, "tcp://127.0.0.1:9");
    assert_int_equal(cfg.max_request_bytes, 2048);
    config_free(&cfg);
}

/* Only the first '=' separates: URLs carry their own. */
static void equals_form_keeps_equals_signs_in_the_value(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, ARGS("--database=postgresql:///c?host=/run&sslmode=disable")),
                     CONFIG_RUN);
    assert_string_equal(cfg.database_url, "postgresql:///c?host=/run&sslmode=disable");
    config_free(&cfg);
}

static void repeated_flag_keeps_the_last_value(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, ARGS("--listen", "tcp://a:1", "--listen=tcp://b:2", "--workers",
                                     "2", "--workers", "9")),
                     CONFIG_RUN);
    assert_string_equal(cfg.listen_url, "tcp://b:2");
    assert_int_equal(cfg.workers, 9);
    config_free(&cfg);
}

static void workers_zero_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--workers", "0"), "--workers");
}

static void workers_not_a_number_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--workers", "abc"), "--workers");
    assert_usage_error_naming(ARGS("--workers", "4x"), "--workers");
    assert_usage_error_naming(ARGS("--workers="), "--workers");
    assert_usage_error_naming(ARGS("--workers", "-1"), "--workers");
}

static void workers_above_limit_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--workers", "1025"), "--workers");
    assert_usage_error_naming(ARGS("--workers", "99999999999999999999999"), "--workers");
}

static void max_request_bytes_below_limit_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--max-request-bytes", "1023"), "--max-request-bytes");
}

static void socket_mode_is_octal(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, ARGS("--socket-mode", "600")), CONFIG_RUN);
    assert_int_equal(cfg.socket_mode, 0600);
    config_free(&cfg);
    assert_usage_error_naming(ARGS("--socket-mode", "0880"), "--socket-mode");
    assert_usage_error_naming(ARGS("--socket-mode", "4770"), "--socket-mode"); /* no set-id */
    assert_usage_error_naming(ARGS("--socket-mode", "rw"), "--socket-mode");
}

static void max_connections_is_at_least_one(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--max-connections", "0"), "--max-connections");
}

static void unknown_log_level_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--log-level", "loud"), "--log-level");
}

static void unknown_option_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--colour"), "--colour");
    assert_usage_error_naming(ARGS("--work", "3"), "--work");
    assert_usage_error_naming(ARGS("stray"), "stray");
}

static void missing_value_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--listen"), "--listen");
    assert_usage_error_naming(ARGS("--workers", "4", "--log-level"), "--log-level");
}

static void empty_listen_url_is_usage_error(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--listen="), "--listen");
}

static void enable_diagnostics_is_a_switch(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, ARGS("--enable-diagnostics", "--workers", "2")), CONFIG_RUN);
    assert_true(cfg.enable_diagnostics);
    assert_int_equal(cfg.workers, 2);
    config_free(&cfg);

    setenv("CLINIC_ENABLE_DIAGNOSTICS", "on", 1);
    assert_int_equal(load(&cfg, ARGS("--enable-diagnostics=false")), CONFIG_RUN);
    assert_false(cfg.enable_diagnostics);
    config_free(&cfg);
}

static void enable_diagnostics_refuses_other_words(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--enable-diagnostics=maybe"), "--enable-diagnostics");
}

static void help_and_version_exit_ok(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, ARGS("--help")), CONFIG_EXIT_OK);
    config_free(&cfg);
    assert_int_equal(load(&cfg, ARGS("--version")), CONFIG_EXIT_OK);
    config_free(&cfg);
}

static void config_free_clears_strings_and_is_repeatable(void **state)
{
    (void)state;
    struct config cfg;
    assert_int_equal(load(&cfg, NO_ARGS), CONFIG_RUN);
    config_free(&cfg);
    assert_null(cfg.listen_url);
    assert_null(cfg.events_url);
    assert_null(cfg.database_url);
    assert_null(cfg.data_dir);
    assert_null(cfg.pg_user);
    config_free(&cfg);
}

/* A file holding text, for the secrets' settings; its path in path (a static buffer). */
static char *secret_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/clinic-config-secret-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void mail_settings_are_checked_at_start_up(void **state)
{
    (void)state;
    assert_usage_error_naming(ARGS("--smtp-url", "http://mail.example"), "--smtp-url");
    assert_usage_error_naming(ARGS("--smtp-url", "smtp://127.0.0.1:25"), "--mail-from");
    assert_usage_error_naming(
        ARGS("--smtp-url", "smtp://127.0.0.1:25", "--mail-from", "not an address"), "--mail-from");
    assert_usage_error_naming(ARGS("--smtp-starttls", "maybe"), "--smtp-starttls");
    /* a password is never sent in clear: smtp:// with a user needs STARTTLS required */
    assert_usage_error_naming(ARGS("--smtp-url", "smtp://mail.example:587", "--mail-from",
                                   "a@clinic.example", "--smtp-user", "clinic"),
                              "--smtp-starttls required");
    assert_usage_error_naming(ARGS("--smtp-url", "smtp://mail.example:587", "--mail-from",
                                   "a@clinic.example", "--smtp-user", "clinic", "--smtp-starttls",
                                   "required"),
                              "--smtp-password-file");
    assert_usage_error_naming(ARGS("--smtp-password-file", "/nonexistent/clinic-password"),
                              "/nonexistent/clinic-password");
    assert_usage_error_naming(ARGS("--webhook-url", "ftp://hooks.example"), "--webhook-url");
    assert_usage_error_naming(ARGS("--webhook-url", "https://hooks.example/sms"),
                              "--webhook-secret-file");
    assert_usage_error_naming(ARGS("--webhook-url", "https://hooks.example/sms",
                                   "--webhook-secret-file", secret_file("short\n")),
                              "16 to 4096 bytes");
    assert_usage_error_naming(ARGS("--mail-retry-base-ms", "5000", "--mail-retry-max-ms", "1000"),
                              "--mail-retry-max-ms");
}

static void mail_secrets_are_read_from_their_files(void **state)
{
    (void)state;
    struct config cfg;
    char password_path[64];
    snprintf(password_path, sizeof password_path, "%s", secret_file("s3cret pass\n"));
    char *hook_path = secret_file("0123456789abcdef0123");
    assert_int_equal(
        load(&cfg,
             ARGS("--smtp-url", "smtps://mail.example:465", "--mail-from", "a@clinic.example",
                  "--smtp-user", "clinic", "--smtp-password-file", password_path, "--webhook-url",
                  "https://hooks.example/sms", "--webhook-secret-file", hook_path)),
        CONFIG_RUN);
    assert_string_equal(cfg.smtp_password, "s3cret pass"); /* the final line break is not in it */
    assert_int_equal(cfg.webhook_secret_len, 20);
    assert_memory_equal(cfg.webhook_secret, "0123456789abcdef0123", 20);
    assert_int_equal(cfg.smtp_starttls, 1); /* try, by default */
    config_free(&cfg);
    assert_null(cfg.smtp_password);
    unlink(password_path);
    unlink(hook_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_apply_without_env_or_flags, clear_env),
        cmocka_unit_test(cpu_count_is_at_least_one),
        cmocka_unit_test_setup(env_vars_replace_defaults, clear_env),
        cmocka_unit_test_setup(flags_override_env_vars, clear_env),
        cmocka_unit_test_setup(bad_env_value_is_usage_error_naming_the_variable, clear_env),
        cmocka_unit_test_setup(flag_overrides_a_malformed_env_value, clear_env),
        cmocka_unit_test_setup(flag_accepts_equals_and_separate_value_forms, clear_env),
        cmocka_unit_test_setup(equals_form_keeps_equals_signs_in_the_value, clear_env),
        cmocka_unit_test_setup(repeated_flag_keeps_the_last_value, clear_env),
        cmocka_unit_test_setup(workers_zero_is_usage_error, clear_env),
        cmocka_unit_test_setup(workers_not_a_number_is_usage_error, clear_env),
        cmocka_unit_test_setup(workers_above_limit_is_usage_error, clear_env),
        cmocka_unit_test_setup(max_request_bytes_below_limit_is_usage_error, clear_env),
        cmocka_unit_test_setup(socket_mode_is_octal, clear_env),
        cmocka_unit_test_setup(max_connections_is_at_least_one, clear_env),
        cmocka_unit_test_setup(unknown_log_level_is_usage_error, clear_env),
        cmocka_unit_test_setup(mail_settings_are_checked_at_start_up, clear_env),
        cmocka_unit_test_setup(mail_secrets_are_read_from_their_files, clear_env),
        cmocka_unit_test_setup(unknown_option_is_usage_error, clear_env),
        cmocka_unit_test_setup(missing_value_is_usage_error, clear_env),
        cmocka_unit_test_setup(empty_listen_url_is_usage_error, clear_env),
        cmocka_unit_test_setup(enable_diagnostics_is_a_switch, clear_env),
        cmocka_unit_test_setup(enable_diagnostics_refuses_other_words, clear_env),
        cmocka_unit_test_setup(help_and_version_exit_ok, clear_env),
        cmocka_unit_test_setup(config_free_clears_strings_and_is_repeatable, clear_env),
    };
    return cmocka_run_group_tests(tests, clear_env, clear_env);
}
