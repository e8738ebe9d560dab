/* embedded_pg.c: creates, starts and stops clinicd's private PostgreSQL cluster.
 *
 * PostgreSQL refuses to run as root, so when clinicd is root the server programs run in a child
 * that has dropped to an unprivileged user (--pg-user, default "postgres"). Folder layout:
 *   DATA/pgdata  the cluster (0700, that user)
 *   DATA/run     Unix socket and lock (0700, that user): the only way in, listen_addresses = ''
 *   DATA/log     postgresql.log and setup.log */
#include "embedded_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "notify.h"
#include "pg_programs.h"
#include "status.h"

/* --- helpers --- */

static bool file_executable(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, X_OK) == 0;
}

bool embedded_pg_find_bindir(char *out, size_t len)
{
    return pg_programs_find_bindir("initdb", out, len) && file_executable(out, "pg_ctl");
}

/* pg_ctl passes server options through a shell, and the socket path goes into a URL: keep the
 * folder's name to characters that need no quoting anywhere. */
static bool path_is_plain(const char *p)
{
    for (; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '/' || c == '.' || c == '_' || c == '-' || c == '+';
        if (!ok)
            return false;
    }
    return true;
}

static bool make_dirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(buf, mode) == 0 || errno == EEXIST;
}

/* Creates dir (if missing) for the server's user, mode 0700. */
static bool make_private_dir(const struct embedded_pg *pg, const char *dir, char *err,
                             size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return false;
    }
    if (pg->drop_privileges && chown(dir, pg->uid, pg->gid) != 0) {
        snprintf(err, errlen, "cannot hand %s to the PostgreSQL user: %s", dir, strerror(errno));
        return false;
    }
    return true;
}

/* In a forked child: become the server's user. Returns only on success. */
static void child_drop_privileges(const struct embedded_pg *pg)
{
    if (!pg->drop_privileges)
        return;
    if (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0)
        _exit(126);
}

/* Runs argv (argv[0] a program in bindir) as the server's user with output appended to
 * log_dir/setup.log; true when it exits 0. *status gets the exit code (-1 if it did not exit). */
static bool run_pg_program(const struct embedded_pg *pg, char *const argv[], int *status)
{
    char prog[PATH_MAX + 64], logpath[PATH_MAX + 16];
    snprintf(prog, sizeof prog, "%s/%s", pg->bindir, argv[0]);
    /* initdb and pg_ctl find postgres next to their own argv[0]; a bare name would send them
     * searching PATH, where a fresh Debian has none of PostgreSQL's programs. */
    char *args[16];
    size_t n = 0;
    args[n++] = prog;
    for (size_t i = 1; argv[i] && n + 1 < sizeof args / sizeof args[0]; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    snprintf(logpath, sizeof logpath, "%s/setup.log", pg->log_dir);
    /* without systemd's notify socket: the server would report READY as if it were clinicd */
    char **envp = notify_child_environ();
    if (!envp)
        return false;
    pid_t pid = fork();
    if (pid < 0) {
        free(envp);
        return false;
    }
    if (pid == 0) {
        int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (logfd < 0 || nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 ||
            dup2(logfd, 2) < 0)
            _exit(126);
        child_drop_privileges(pg);
        if (chdir(pg->root) != 0)
            _exit(126);
        execve(prog, args, envp);
        _exit(127);
    }
    free(envp);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return false;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    return *status == 0;
}

/* True when the server's user can create files in pgdata (every parent must be searchable). */
static bool reachable_by_server_user(const struct embedded_pg *pg)
{
    if (!pg->drop_privileges)
        return true;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        child_drop_privileges(pg);
        _exit(access(pg->pgdata, R_OK | W_OK | X_OK) == 0 ? 0 : 1);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

/* --- set-up --- */

static bool resolve_user(struct embedded_pg *pg, const char *pg_user, char *err, size_t errlen)
{
    pg->drop_privileges = geteuid() == 0;
    if (!pg->drop_privileges)
        return true;
    struct passwd *pw = getpwnam(pg_user);
    if (!pw || pw->pw_uid == 0) {
        snprintf(err, errlen,
                 "PostgreSQL refuses to run as root and the user \"%s\" %s; create an "
                 "unprivileged user and pass it with --pg-user",
                 pg_user, pw ? "is root too" : "does not exist");
        return false;
    }
    pg->uid = pw->pw_uid;
    pg->gid = pw->pw_gid;
    return true;
}

static bool resolve_dirs(struct embedded_pg *pg, const char *data_dir, char *err, size_t errlen)
{
    char real[PATH_MAX];
    /* refuse a bad name before creating anything on disk */
    if (!path_is_plain(data_dir)) {
        snprintf(err, errlen,
                 "the data folder \"%s\" may only use letters, digits and / . _ - +; choose "
                 "another --data-dir",
                 data_dir);
        return false;
    }
    if (!make_dirs(data_dir, 0755) || !realpath(data_dir, real)) {
        snprintf(err, errlen, "cannot create the data folder %s: %s", data_dir, strerror(errno));
        return false;
    }
    /* A Unix socket path holds at most 107 bytes: DATA/run/.s.PGSQL.5432 must fit. */
    if (strlen(real) > 80 || !path_is_plain(real)) {
        snprintf(err, errlen,
                 "the data folder %s must be an absolute path of at most 80 characters made of "
                 "letters, digits and / . _ - +; choose another --data-dir",
                 real);
        return false;
    }
    /* real is at most 80 bytes (checked above); the precision tells the compiler so */
    snprintf(pg->root, sizeof pg->root, "%.80s", real);
    snprintf(pg->pgdata, sizeof pg->pgdata, "%.80s/pgdata", real);
    snprintf(pg->socket_dir, sizeof pg->socket_dir, "%.80s/run", real);
    snprintf(pg->log_dir, sizeof pg->log_dir, "%.80s/log", real);
    return make_private_dir(pg, pg->pgdata, err, errlen) &&
           make_private_dir(pg, pg->socket_dir, err, errlen) &&
           make_private_dir(pg, pg->log_dir, err, errlen);
}

static bool append_settings(const struct embedded_pg *pg, char *err, size_t errlen)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/postgresql.conf", pg->pgdata);
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    fprintf(f, "\n# clinicd: a private cluster, reached only through the socket in DATA/run\n"
               "listen_addresses = ''\n"
               "unix_socket_permissions = 0700\n"
               "max_connections = 200\n"
               "log_line_prefix = '%%m [%%p] '\n");
    if (pg->fast)
        fprintf(f, "# tests: durability traded for speed\n"
                   "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
    return fclose(f) == 0;
}

static bool run_initdb(struct embedded_pg *pg, char *err, size_t errlen)
{
    char *argv[] = {"initdb",
                    "-D",
                    pg->pgdata,
                    "-U",
                    EMBEDDED_PG_SUPERUSER,
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=reject",
                    pg->fast ? "--no-sync" : NULL,
                    NULL};
    int status;
    log_msg(LOG_LEVEL_INFO, "creating a PostgreSQL cluster in %s", pg->pgdata);
    if (!run_pg_program(pg, argv, &status)) {
        snprintf(err, errlen, "initdb failed (exit %d); see %s/setup.log", status, pg->log_dir);
        return false;
    }
    return append_settings(pg, err, errlen);
}

bool embedded_pg_prepare(struct embedded_pg *pg, const char *data_dir, const char *pg_user,
                         bool fast, char *err, size_t errlen)
{
    memset(pg, 0, sizeof *pg);
    pg->fast = fast;
    if (!embedded_pg_find_bindir(pg->bindir, sizeof pg->bindir)) {
        snprintf(err, errlen,
                 "PostgreSQL's server programs were not found (pg_config --bindir, "
                 "/usr/lib/postgresql/*/bin); install the postgresql package");
        return false;
    }
    if (!resolve_user(pg, pg_user, err, errlen) || !resolve_dirs(pg, data_dir, err, errlen))
        return false;
    if (!reachable_by_server_user(pg)) {
        snprintf(err, errlen,
                 "PostgreSQL runs as \"%s\", which cannot reach %s (a parent folder is not "
                 "searchable by it); choose a --data-dir such as /var/lib/clinicd",
                 pg_user, pg->pgdata);
        return false;
    }
    snprintf(pg->url, sizeof pg->url, "postgresql:///%s?host=%s&user=%s", EMBEDDED_PG_DATABASE,
             pg->socket_dir, EMBEDDED_PG_SUPERUSER);
    char version[PATH_MAX + 16];
    snprintf(version, sizeof version, "%s/PG_VERSION", pg->pgdata);
    if (access(version, F_OK) == 0)
        return true;
    return run_initdb(pg, err, errlen);
}

/* --- start and stop --- */

static bool server_running(const struct embedded_pg *pg)
{
    char *argv[] = {"pg_ctl", "-D", (char *)pg->pgdata, "status", NULL};
    int status;
    return run_pg_program(pg, argv, &status);
}

static bool create_database(const struct embedded_pg *pg, char *err, size_t errlen)
{
    static const struct db_stmt exists = {"SELECT 1 FROM pg_database WHERE datname = $1", 1};
    char url[PATH_MAX + 128];
    snprintf(url, sizeof url, "postgresql:///postgres?host=%s&user=%s", pg->socket_dir,
             EMBEDDED_PG_SUPERUSER);
    struct db *db = db_new(url);
    struct db_result *r = NULL;
    const char *params[] = {EMBEDDED_PG_DATABASE};
    bool ok = db && db_query(db, &exists, params, &r) == STATUS_OK;
    if (ok && db_rows(r) == 0)
        ok = db_exec_script(db, "CREATE DATABASE " EMBEDDED_PG_DATABASE) == STATUS_OK ||
             strcmp(db_error_sqlstate(db), "42P04") == 0; /* another daemon created it first */
    if (!ok)
        snprintf(err, errlen, "cannot create the %s database: %s", EMBEDDED_PG_DATABASE,
                 db ? db_error_detail(db) : "out of memory");
    if (r)
        db_result_free(r);
    db_free(db);
    return ok;
}

bool embedded_pg_start(struct embedded_pg *pg, char *err, size_t errlen)
{
    if (server_running(pg)) {
        log_msg(LOG_LEVEL_INFO, "reusing the PostgreSQL server already running on %s", pg->pgdata);
    } else {
        char logfile[PATH_MAX + 32], opts[PATH_MAX + 16];
        snprintf(logfile, sizeof logfile, "%s/postgresql.log", pg->log_dir);
        snprintf(opts, sizeof opts, "-k %s", pg->socket_dir);
        char *argv[] = {"pg_ctl", "-D", pg->pgdata, "-l",  logfile, "-o",
                        opts,     "-w", "-t",       "120", "start", NULL};
        int status;
        if (!run_pg_program(pg, argv, &status)) {
            snprintf(err, errlen, "PostgreSQL did not start (pg_ctl exit %d); see %s", status,
                     logfile);
            return false;
        }
        pg->started = true;
        log_msg(LOG_LEVEL_INFO, "PostgreSQL started on %s (socket in %s)", pg->pgdata,
                pg->socket_dir);
    }
    return create_database(pg, err, errlen);
}

bool embedded_pg_stop(struct embedded_pg *pg)
{
    if (!pg->started)
        return true;
    char *argv[] = {"pg_ctl", "-D", pg->pgdata, "-m", "fast", "-w", "-t", "120", "stop", NULL};
    int status;
    bool ok = run_pg_program(pg, argv, &status);
    if (ok) {
        pg->started = false;
        log_msg(LOG_LEVEL_INFO, "PostgreSQL stopped");
    } else {
        log_msg(LOG_LEVEL_ERROR, "pg_ctl stop failed (exit %d); see %s/setup.log", status,
                pg->log_dir);
    }
    return ok;
}
