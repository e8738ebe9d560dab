/* config.h: clinicd's settings, from defaults, environment variables and flags (in that order). */
#ifndef CLINICD_CONFIG_H
#define CLINICD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct config {
    char *listen_url;        /* RPC REP socket */
    char *events_url;        /* event PUB socket */
    char *database_url;      /* empty: run the embedded cluster under data_dir */
    char *read_database_url; /* a hot standby for reads that may be a moment old; empty: none */
    long read_max_lag_ms;    /* a standby further behind than this is not read from */
    char *data_dir;          /* embedded cluster's home */
    char *tls_cert_key;      /* PEM certificate + key for tls+tcp:// listeners */
    char *pg_user;           /* unprivileged user that owns the embedded cluster when run as root */
    long socket_mode;        /* permissions of ipc:// socket files */
    long max_connections;    /* per socket; more are closed as they arrive */
    long workers; /* worker threads, each with one nng context and one PostgreSQL connection */
    enum log_level log_level;
    long max_request_bytes;             /* larger requests get RESOURCE_EXHAUSTED */
    long default_deadline_ms;           /* deadline for calls that send deadline_ms = 0 */
    long shutdown_grace_ms;             /* how long SIGTERM waits for in-flight calls */
    long janitor_period_ms;             /* how often expired idempotency keys are deleted */
    long session_hours;                 /* lifetime of a login's token */
    long password_hash_slots;           /* Argon2id hashes running at once (64 MiB each) */
    long max_failed_logins_per_address; /* within LOGIN_LIMIT_WINDOW_MINUTES; 0: no limit */
    bool enable_diagnostics;            /* serve clinic.v1.Diagnostics (tests, benchmarks) */
    /* messages to clients (daemon/mailer.c) */
    char *smtp_url;            /* smtp:// or smtps://; empty: email stays queued */
    char *smtp_user;           /* empty: no AUTH */
    char *smtp_password_file;  /* a file holding the password (not in the process list) */
    long smtp_starttls;        /* enum mailer_starttls: none, try, required */
    char *mail_from;           /* envelope sender and From address */
    char *webhook_url;         /* http:// or https://; empty: webhook rows stay queued */
    char *webhook_secret_file; /* a file holding the HMAC key */
    long mail_retry_base_ms;   /* first retry's delay, doubled each time ... */
    long mail_retry_max_ms;    /* ... up to this */
    long mail_max_attempts;    /* then a message is given up (failed) */
    long mail_timeout_ms;      /* one send */
    /* read from the files above by config_load; heap, wiped by config_free */
    char *smtp_password;
    unsigned char *webhook_secret;
    size_t webhook_secret_len;
};

enum config_outcome {
    CONFIG_RUN,        /* settings are valid: start the daemon */
    CONFIG_EXIT_OK,    /* --help or --version was printed */
    CONFIG_EXIT_USAGE, /* a bad flag or value; the sentence is in err */
};

/* Fills cfg from defaults, then CLINIC_* environment variables, then argv (argv[0] is skipped).
 * Strings in cfg are heap copies that config_free releases. On CONFIG_EXIT_USAGE, err holds one
 * sentence naming the flag or variable and what a valid value looks like. */
__attribute__((warn_unused_result)) enum config_outcome
config_load(struct config *cfg, int argc, char **argv, char *err, size_t errlen);

void config_free(struct config *cfg);

/* The number of online processors, at least 1. */
long config_cpu_count(void);

#endif
