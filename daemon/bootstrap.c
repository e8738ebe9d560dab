/* bootstrap.c: `clinicd bootstrap-admin --email E [--name N] [settings]`: creates the first
 * admin, with a password read from the terminal (twice, without echo) or from standard input's
 * first line. There is no default password anywhere: until this runs, nobody can log in.
 * Refused once an admin exists; admins create everyone else with Users/CreateUser. */
#include "bootstrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "embedded_pg.h"
#include "migrate.h"
#include "status.h"

#define EXIT_FAILED         1
#define EXIT_USAGE          2
#define DB_WAIT_US          (30 * 1000000LL)
#define STATEMENT_BUDGET_US (30 * 1000000LL)
#define MAX_ARGS            64

static const char usage[] =
    "usage: clinicd bootstrap-admin --email EMAIL [--name NAME] [--database URL | --data-dir DIR]\n"
    "\n"
    "Creates the first admin account. The password is read from the terminal (asked twice,\n"
    "not shown) or, when standard input is not a terminal, from its first line; at least %d\n"
    "characters. Refused when an admin exists already: admins create the other accounts\n"
    "(`clinic admin user create`). Takes clinicd's settings (--database, --data-dir, ...) to find\n"
    "the database; with none it uses the embedded cluster under --data-dir, starting it if "
    "needed.\n";

/* Only one bootstrap at a time, so that two racing ones cannot both find "no admin yet". */
static const struct db_stmt lock_stmt = {"SELECT pg_advisory_xact_lock(7450, 1)", 0};
static const struct db_stmt insert_stmt = {
    "INSERT INTO users (email, name, role, password_hash)"
    " SELECT $1, $2, 'admin', $3 WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin')"
    " RETURNING id",
    3};

struct bootstrap_args {
    const char *email;
    const char *name;
    char *rest[MAX_ARGS]; /* clinicd's own settings, for config_load */
    int n_rest;
};

/* Takes --email and --name out of argv; the rest are clinicd's settings. */
static int split_args(int argc, char **argv, struct bootstrap_args *a)
{
    a->name = "";
    a->rest[a->n_rest++] = "clinicd";
    for (int i = 1; i < argc; i++) {
        const char **own = strcmp(argv[i], "--email") == 0  ? &a->email
                           : strcmp(argv[i], "--name") == 0 ? &a->name
                                                            : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(usage, AUTH_PASSWORD_MIN);
            return 0;
        }
        if (own && i + 1 < argc) {
            *own = argv[++i];
        } else if (own || a->n_rest == MAX_ARGS) {
            fprintf(stderr, "clinicd bootstrap-admin: %s needs a value\n", argv[i]);
            return EXIT_USAGE;
        } else {
            a->rest[a->n_rest++] = argv[i];
        }
    }
    if (!a->email || !a->email[0]) {
        fprintf(stderr, "clinicd bootstrap-admin: --email is required (the admin's login)\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* Reads one line without its newline; with echo off when from a terminal. */
static bool read_line(const char *prompt, char *out, size_t len)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios saved, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &saved);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(out, (int)len, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf(stderr, "\n");
    }
    out[ok ? strcspn(out, "\r\n") : 0] = '\0';
    return ok;
}

static bool read_password(char *out, size_t len)
{
    char again[AUTH_PASSWORD_MAX + 2];
    if (!read_line("New admin password: ", out, len)) {
        fprintf(stderr, "clinicd bootstrap-admin: no password given on standard input\n");
        return false;
    }
    size_t n = strlen(out);
    if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX) {
        fprintf(stderr, "clinicd bootstrap-admin: the password must be %d to %d characters long\n",
                AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        return false;
    }
    if (isatty(STDIN_FILENO)) {
        bool same = read_line("Again: ", again, sizeof again) && strcmp(again, out) == 0;
        sodium_memzero(again, sizeof again);
        if (!same) {
            fprintf(stderr, "clinicd bootstrap-admin: the passwords differ; nothing was created\n");
            return false;
        }
    }
    return true;
}

/* Inserts the admin unless one exists; prints what happened. */
static int create_admin(const char *url, const struct bootstrap_args *a, const char *hash)
{
    struct db *db = db_new(url);
    struct db_result *r = NULL;
    int code = db ? db_begin(db, now_us() + STATEMENT_BUDGET_US) : STATUS_INTERNAL;
    const char *params[] = {a->email, a->name, hash};
    if (code == STATUS_OK && (code = db_query(db, &lock_stmt, NULL, NULL)) == STATUS_OK &&
        (code = db_query(db, &insert_stmt, params, &r)) == STATUS_OK)
        code = db_commit(db);
    else if (db)
        db_rollback(db);
    int exit_code = EXIT_FAILED;
    if (code == STATUS_OK && db_rows(r) == 1) {
        printf("admin %s created (user %s); log in with: clinic login --email %s\n", a->email,
               db_value(r, 0, 0), a->email);
        exit_code = 0;
    } else if (code == STATUS_OK) {
        fprintf(stderr, "clinicd bootstrap-admin: an admin exists already; log in as them and "
                        "create accounts with `clinic admin user create`\n");
    } else if (code == STATUS_ALREADY_EXISTS) {
        fprintf(stderr, "clinicd bootstrap-admin: a user with this email exists already\n");
    } else {
        fprintf(stderr, "clinicd bootstrap-admin: the database refused: %s\n",
                db ? db_error_public(db) : "out of memory");
    }
    db_result_free(r);
    db_free(db);
    return exit_code;
}

static int bootstrap(const struct config *cfg, const struct bootstrap_args *a, const char *hash)
{
    char err[1024];
    static struct embedded_pg pg; /* large (paths): keep it off the stack */
    const char *url = cfg->database_url;
    bool embedded = !url[0];
    if (embedded) {
        if (!embedded_pg_prepare(&pg, cfg->data_dir, cfg->pg_user, false, err, sizeof err) ||
            !embedded_pg_start(&pg, err, sizeof err)) {
            fprintf(stderr, "clinicd bootstrap-admin: %s\n", err);
            return EXIT_FAILED;
        }
        url = pg.url;
    }
    int exit_code = EXIT_FAILED;
    if (!migrate_database(url, DB_WAIT_US, err, sizeof err))
        fprintf(stderr, "clinicd bootstrap-admin: %s\n", err);
    else
        exit_code = create_admin(url, a, hash);
    if (embedded)
        embedded_pg_stop(&pg);
    return exit_code;
}

int bootstrap_admin_main(int argc, char **argv)
{
    struct bootstrap_args a = {0};
    int early = split_args(argc, argv, &a);
    if (early >= 0)
        return early;
    struct config cfg;
    char err[1024], password[AUTH_PASSWORD_MAX + 2], hash[AUTH_HASH_BYTES];
    switch (config_load(&cfg, a.n_rest, a.rest, err, sizeof err)) {
    case CONFIG_RUN:
        break;
    case CONFIG_EXIT_OK:
        config_free(&cfg);
        return 0;
    case CONFIG_EXIT_USAGE:
        fprintf(stderr, "clinicd bootstrap-admin: %s\n", err);
        config_free(&cfg);
        return EXIT_USAGE;
    }
    log_set_level(cfg.log_level);
    int exit_code = EXIT_FAILED;
    if (!auth_init(1, (int)cfg.session_hours))
        fprintf(stderr, "clinicd bootstrap-admin: libsodium cannot start\n");
    else if (read_password(password, sizeof password) &&
             auth_hash_password(password, hash, now_us() + STATEMENT_BUDGET_US) == STATUS_OK)
        exit_code = bootstrap(&cfg, &a, hash);
    sodium_memzero(password, sizeof password);
    config_free(&cfg);
    return exit_code;
}
