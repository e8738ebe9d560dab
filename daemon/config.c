/* config.c: the settings table (flag, environment variable, default, parser) and its reader. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum setting_kind { KIND_STRING, KIND_COUNT, KIND_LEVEL, KIND_SWITCH, KIND_MODE };

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
    printf("  --help     show this help and exit\n  --version  show the version and exit\n");
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
    return CONFIG_RUN;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].kind == KIND_STRING) {
            char **field = (char **)((char *)cfg + settings[i].offset);
            free(*field);
            *field = NULL;
        }
}
