/* config.c: the settings table (flag, environment variable, default, parser) and its reader. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "mail_render.h"
#include "mailer.h"

enum setting_kind { KIND_STRING, KIND_COUNT, KIND_LEVEL, KIND_SWITCH, KIND_MODE, KIND_STARTTLS };

struct setting {
    const char *flag;
    const char *env;
    const char *def; /* NULL: computed (see apply_computed_defaults) */
    enum setting_kind kind;
    size_t offset;
    long min, max; /* KIND_COUNT only */
    const char *help;
};

#define AT(field) offsetof(struct config, field)

static const struct setting settings[] = {
    {"--listen", "CLINIC_LISTEN", "tcp://127.0.0.1:7450", KIND_STRING, AT(listen_url), 0, 0,
     "URL the RPC socket listens on (tcp://, ipc://, tls+tcp://)"},
    {"--events", "CLINIC_EVENTS", "tcp://127.0.0.1:7451", KIND_STRING, AT(events_url), 0, 0,
     "URL the event PUB socket listens on"},
    {"--database", "CLINIC_DATABASE_URL", "", KIND_STRING, AT(database_url), 0, 0,
     "PostgreSQL URL; empty runs a private cluster under --data-dir"},
    {"--read-database", "CLINIC_READ_DATABASE_URL", "", KIND_STRING, AT(read_database_url), 0, 0,
     "a hot standby's URL: reads whose answers may be a moment old go there (Reflection lists "
     "them); empty: every call goes to --database"},
    {"--read-max-lag-ms", "CLINIC_READ_MAX_LAG_MS", "2000", KIND_COUNT, AT(read_max_lag_ms), 0,
     3600000, "a standby further behind than this (or unreachable) is not read from"},
    {"--data-dir", "CLINIC_DATA_DIR", "./var/clinicd", KIND_STRING, AT(data_dir), 0, 0,
     "folder of the embedded PostgreSQL cluster"},
    {"--tls-cert-key", "CLINIC_TLS_CERT_KEY", "", KIND_STRING, AT(tls_cert_key), 0, 0,
     "PEM file with the certificate and private key for tls+tcp:// URLs"},
    {"--socket-mode", "CLINIC_SOCKET_MODE", "0660", KIND_MODE, AT(socket_mode), 0, 0,
     "permissions of ipc:// socket files, in octal (0660: the daemon's user and group only)"},
    {"--max-connections", "CLINIC_MAX_CONNECTIONS", "128", KIND_COUNT, AT(max_connections), 1,
     65536,
     "connections each socket keeps at once; more are closed as they arrive (buffered requests "
     "take at most this x 4 x --max-request-bytes)"},
    {"--pg-user", "CLINIC_PG_USER", "postgres", KIND_STRING, AT(pg_user), 0, 0,
     "unprivileged user that runs the embedded cluster when clinicd runs as root"},
    {"--workers", "CLINIC_WORKERS", NULL, KIND_COUNT, AT(workers), 1, 1024,
     "worker threads, each with its own database connection (default 2 x cores)"},
    {"--log-level", "CLINIC_LOG_LEVEL", "info", KIND_LEVEL, AT(log_level), 0, 0,
     "debug, info, warn or error"},
    {"--max-request-bytes", "CLINIC_MAX_REQUEST_BYTES", "1048576", KIND_COUNT,
     AT(max_request_bytes), 1024, 64L * 1024 * 1024, "larger requests get RESOURCE_EXHAUSTED"},
    {"--default-deadline-ms", "CLINIC_DEFAULT_DEADLINE_MS", "30000", KIND_COUNT,
     AT(default_deadline_ms), 1, 600000, "time budget of calls that set none"},
    {"--shutdown-grace-ms", "CLINIC_SHUTDOWN_GRACE_MS", "10000", KIND_COUNT, AT(shutdown_grace_ms),
     0, 600000, "how long SIGTERM waits for calls in flight"},
    {"--janitor-period-ms", "CLINIC_JANITOR_PERIOD_MS", "60000", KIND_COUNT, AT(janitor_period_ms),
     100, 86400000, "how often idempotency keys older than a day are deleted"},
    {"--session-hours", "CLINIC_SESSION_HOURS", "12", KIND_COUNT, AT(session_hours), 1, 24 * 90,
     "how long a login's token works"},
    {"--password-hash-slots", "CLINIC_PASSWORD_HASH_SLOTS", "2", KIND_COUNT,
     AT(password_hash_slots), 1, 64,
     "password hashes run at once (each takes 64 MiB); more logins wait"},
    {"--max-failed-logins-per-address", "CLINIC_MAX_FAILED_LOGINS_PER_ADDRESS", "30", KIND_COUNT,
     AT(max_failed_logins_per_address), 0, 1000000,
     "failed logins one address may make within 15 minutes before its logins are refused (0: no "
     "limit; ipc:// clients share one address)"},
    {"--enable-diagnostics", "CLINIC_ENABLE_DIAGNOSTICS", "0", KIND_SWITCH, AT(enable_diagnostics),
     0, 0, "serve clinic.v1.Diagnostics (for tests and benchmarks)"},
    {"--smtp-url", "CLINIC_SMTP_URL", "", KIND_STRING, AT(smtp_url), 0, 0,
     "SMTP server for confirmations and reminders, smtp://HOST:PORT or smtps://HOST:PORT; "
     "empty: messages stay queued in the outbox until a daemon has one"},
    {"--smtp-user", "CLINIC_SMTP_USER", "", KIND_STRING, AT(smtp_user), 0, 0,
     "user name for SMTP AUTH; empty: none"},
    {"--smtp-password-file", "CLINIC_SMTP_PASSWORD_FILE", "", KIND_STRING, AT(smtp_password_file),
     0, 0, "file holding the SMTP password (a file, so that it is not in the process list)"},
    {"--smtp-starttls", "CLINIC_SMTP_STARTTLS", "try", KIND_STARTTLS, AT(smtp_starttls), 0, 0,
     "STARTTLS on smtp:// URLs: none, try or required (required with --smtp-user)"},
    {"--mail-from", "CLINIC_MAIL_FROM", "", KIND_STRING, AT(mail_from), 0, 0,
     "the sender's address (From and envelope), e.g. appointments@clinic.example; needed with "
     "--smtp-url"},
    {"--webhook-url", "CLINIC_WEBHOOK_URL", "", KIND_STRING, AT(webhook_url), 0, 0,
     "http(s) URL that gets each message as signed JSON (for SMS); empty: none"},
    {"--webhook-secret-file", "CLINIC_WEBHOOK_SECRET_FILE", "", KIND_STRING,
     AT(webhook_secret_file), 0, 0,
     "file holding the webhook's HMAC-SHA256 key (16 bytes or more); needed with --webhook-url"},
    {"--mail-retry-base-ms", "CLINIC_MAIL_RETRY_BASE_MS", "60000", KIND_COUNT,
     AT(mail_retry_base_ms), 10, 86400000,
     "delay before a failed message is tried again; doubled each time"},
    {"--mail-retry-max-ms", "CLINIC_MAIL_RETRY_MAX_MS", "3600000", KIND_COUNT,
     AT(mail_retry_max_ms), 10, 86400000, "the longest delay between tries"},
    {"--mail-max-attempts", "CLINIC_MAIL_MAX_ATTEMPTS", "10", KIND_COUNT, AT(mail_max_attempts), 1,
     1000, "tries before a message is given up (status failed, logged)"},
    {"--mail-timeout-ms", "CLINIC_MAIL_TIMEOUT_MS", "60000", KIND_COUNT, AT(mail_timeout_ms), 1000,
     600000, "time one message may take to send"},
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

long config_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

static bool parse_count(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_switch(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (strcmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* An octal permission mode such as 0660 or 660, without set-id or sticky bits. */
static bool parse_mode(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 8);
    if (errno != 0 || end == text || *end != '\0' || v < 0 || v > 0777)
        return false;
    *out = v;
    return true;
}

/* STARTTLS levels, in the order of enum mailer_starttls. */
static const char *const starttls_levels[] = {"none", "try", "required"};

/* Stores text into the setting's field; on a bad value writes a sentence naming `source`. */
static bool apply(struct config *cfg, const struct setting *s, const char *text, const char *source,
                  char *err, size_t errlen)
{
    void *field = (char *)cfg + s->offset;
    switch (s->kind) {
    case KIND_STRING: {
        char *copy = strdup(text);
        if (!copy) {
            snprintf(err, errlen, "out of memory reading %s", source);
            return false;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return true;
    }
    case KIND_COUNT:
        if (parse_count(text, s->min, s->max, (long *)field))
            return true;
        snprintf(err, errlen, "%s must be a whole number from %ld to %ld, not \"%s\"", source,
                 s->min, s->max, text);
        return false;
    case KIND_LEVEL:
        if (log_level_parse(text, (enum log_level *)field))
            return true;
        snprintf(err, errlen, "%s must be debug, info, warn or error, not \"%s\"", source, text);
        return false;
    case KIND_SWITCH:
        if (parse_switch(text, (bool *)field))
            return true;
        snprintf(err, errlen, "%s must be true or false, not \"%s\"", source, text);
        return false;
    case KIND_MODE:
        if (parse_mode(text, (long *)field))
            return true;
        snprintf(err, errlen, "%s must be an octal mode from 0000 to 0777 such as 0660, not \"%s\"",
                 source, text);
        return false;
    case KIND_STARTTLS:
        for (long i = 0; i < 3; i++)
            if (strcmp(text, starttls_levels[i]) == 0) {
                *(long *)field = i;
                return true;
            }
        snprintf(err, errlen, "%s must be none, try or required, not \"%s\"", source, text);
        return false;
    }
    return false;
}

static void print_help(void)
{
    printf("usage: clinicd [OPTION]...\n"
           "       clinicd bootstrap-admin --email EMAIL   (see README)\n\n"
           "Scheduling daemon for a massage-therapy clinic: protobuf RPC over nng, data in "
           "PostgreSQL.\n"
           "With no --database it runs a private PostgreSQL cluster under --data-dir.\n\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *arg = s->kind == KIND_SWITCH ? "" : " VALUE";
        printf("  %s%s\n      %s\n      env %s", s->flag, arg, s->help, s->env);
        if (s->def && s->def[0] && s->kind != KIND_SWITCH)
            printf(", default %s", s->def);
        printf("\n");
    }
    printf("  --help     show this help and exit\n  --version  show the version and exit\n\n"
           "Confirmations and reminders go by email only with --smtp-url (and --mail-from), and\n"
           "to a webhook only with --webhook-url; without them they stay queued in the database\n"
           "until a daemon that has them delivers them.\n");
}

static const struct setting *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strlen(settings[i].flag) == len && strncmp(settings[i].flag, arg, len) == 0)
            return &settings[i];
    return NULL;
}

/* Reads argv into one value per setting (the last occurrence wins). Handles --help and --version.
 */
static enum config_outcome collect_flags(int argc, char **argv, const char **values, char *err,
                                         size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help();
            return CONFIG_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("clinicd %s\n", CLINIC_VERSION);
            return CONFIG_EXIT_OK;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct setting *s = find_flag(arg, name_len);
        if (!s) {
            snprintf(err, errlen, "unknown option \"%s\"; clinicd --help lists the options", arg);
            return CONFIG_EXIT_USAGE;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && s->kind == KIND_SWITCH)
            value = "true";
        if (!value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option %s needs a value", s->flag);
                return CONFIG_EXIT_USAGE;
            }
            value = argv[++i];
        }
        values[s - settings] = value;
    }
    return CONFIG_RUN;
}

/* Default, then environment, then flag: a flag overrides a variable, even a malformed one. */
static bool apply_layers(struct config *cfg, const char **flags, char *err, size_t errlen)
{
    char buf[32];
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &settings[i];
        const char *def = s->def;
        if (!def) { /* --workers: 2 x cores keeps both CPU and database waits busy */
            snprintf(buf, sizeof buf, "%ld", 2 * config_cpu_count());
            def = buf;
        }
        if (!apply(cfg, s, def, s->flag, err, errlen))
            return false;
        const char *env = getenv(s->env);
        if (!flags[i] && env && !apply(cfg, s, env, s->env, err, errlen))
            return false;
        if (flags[i] && !apply(cfg, s, flags[i], s->flag, err, errlen))
            return false;
    }
    return true;
}

/* Reads a secret from path: the whole file, without a final line break; at most 4 KiB, at
 * least min bytes. */
static bool read_secret(const char *path, const char *source, size_t min, char **out,
                        size_t *out_len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s: %s", source, path, strerror(errno));
        return false;
    }
    char *buf = malloc(4097);
    size_t n = buf ? fread(buf, 1, 4097, f) : 0;
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", source);
        return false;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n > 4096 || n < min) {
        sodium_memzero(buf, 4097);
        free(buf);
        snprintf(err, errlen, "%s: %s must hold %zu to 4096 bytes", source, path, min);
        return false;
    }
    buf[n] = '\0';
    *out = buf;
    if (out_len)
        *out_len = n;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The mailer's settings agree with one another, and its secrets are read. */
static bool check_messaging(struct config *cfg, char *err, size_t errlen)
{
    if (cfg->smtp_url[0]) {
        if (!starts_with(cfg->smtp_url, "smtp://") && !starts_with(cfg->smtp_url, "smtps://")) {
            snprintf(err, errlen, "--smtp-url must start with smtp:// or smtps://, not \"%s\"",
                     cfg->smtp_url);
            return false;
        }
        if (!mail_address_ok(cfg->mail_from)) {
            snprintf(err, errlen,
                     "--mail-from (CLINIC_MAIL_FROM) must be an address such as "
                     "appointments@clinic.example when --smtp-url is set, not \"%s\"",
                     cfg->mail_from);
            return false;
        }
        if (cfg->smtp_user[0] && starts_with(cfg->smtp_url, "smtp://") &&
            cfg->smtp_starttls != MAILER_STARTTLS_REQUIRED) {
            snprintf(err, errlen,
                     "--smtp-user with an smtp:// URL needs --smtp-starttls required (or an "
                     "smtps:// URL), so that the password never crosses the network in clear");
            return false;
        }
        if (cfg->smtp_user[0] && !cfg->smtp_password_file[0]) {
            snprintf(err, errlen,
                     "--smtp-user needs --smtp-password-file "
                     "(CLINIC_SMTP_PASSWORD_FILE), a file holding the password");
            return false;
        }
    }
    if (cfg->smtp_password_file[0] && !read_secret(cfg->smtp_password_file, "--smtp-password-file",
                                                   1, &cfg->smtp_password, NULL, err, errlen))
        return false;
    if (cfg->webhook_url[0]) {
        if (!starts_with(cfg->webhook_url, "http://") &&
            !starts_with(cfg->webhook_url, "https://")) {
            snprintf(err, errlen, "--webhook-url must start with http:// or https://, not \"%s\"",
                     cfg->webhook_url);
            return false;
        }
        if (!cfg->webhook_secret_file[0]) {
            snprintf(err, errlen,
                     "--webhook-url needs --webhook-secret-file "
                     "(CLINIC_WEBHOOK_SECRET_FILE), a file holding the signing key");
            return false;
        }
        char *secret;
        if (!read_secret(cfg->webhook_secret_file, "--webhook-secret-file", 16, &secret,
                         &cfg->webhook_secret_len, err, errlen))
            return false;
        cfg->webhook_secret = (unsigned char *)secret;
    }
    if (cfg->mail_retry_max_ms < cfg->mail_retry_base_ms) {
        snprintf(err, errlen,
                 "--mail-retry-max-ms (%ld) must not be below --mail-retry-base-ms (%ld)",
                 cfg->mail_retry_max_ms, cfg->mail_retry_base_ms);
        return false;
    }
    return true;
}

enum config_outcome config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    const char *flags[N_SETTINGS] = {0};
    memset(cfg, 0, sizeof *cfg);
    enum config_outcome outcome = collect_flags(argc, argv, flags, err, errlen);
    if (outcome != CONFIG_RUN)
        return outcome;
    if (!apply_layers(cfg, flags, err, errlen))
        return CONFIG_EXIT_USAGE;
    if (cfg->listen_url[0] == '\0') {
        snprintf(err, errlen, "--listen must not be empty");
        return CONFIG_EXIT_USAGE;
    }
    if (!check_messaging(cfg, err, errlen))
        return CONFIG_EXIT_USAGE;
    return CONFIG_RUN;
}

void config_free(struct config *cfg)
{
    if (cfg->smtp_password) {
        sodium_memzero(cfg->smtp_password, strlen(cfg->smtp_password));
        free(cfg->smtp_password);
        cfg->smtp_password = NULL;
    }
    if (cfg->webhook_secret) {
        sodium_memzero(cfg->webhook_secret, cfg->webhook_secret_len);
        free(cfg->webhook_secret);
        cfg->webhook_secret = NULL;
    }
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].kind == KIND_STRING) {
            char **field = (char **)((char *)cfg + settings[i].offset);
            free(*field);
            *field = NULL;
        }
}
