/* harness.c: private clusters, daemons on free ports, and the CLI, for integration tests. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/health.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"
#include "db.h"
#include "status.h"

#define DAEMON_START_TIMEOUT_MS 60000
#define DAEMON_STOP_TIMEOUT_MS  30000
#define CLI_TIMEOUT_MS          60000

void harness_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *harness_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* --- temporary folders --- */

bool harness_temp_dir(const char *prefix, char *dir, size_t len)
{
    if ((size_t)snprintf(dir, len, "%sXXXXXX", prefix) >= len || !mkdtemp(dir))
        return false;
    chmod(dir, 0755); /* the unprivileged server user must reach a cluster inside */
    return true;
}

void harness_remove_tree(const char *dir)
{
    if (strncmp(dir, "/tmp/clinic-", 12) != 0 || strstr(dir, "/.."))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* --- PostgreSQL --- */

bool harness_pg_start(struct harness_pg *h)
{
    char err[512];
    if (!harness_temp_dir("/tmp/clinic-test-", h->dir, sizeof h->dir))
        return false;
    if (!embedded_pg_prepare(&h->pg, h->dir, "postgres", true, err, sizeof err) ||
        !embedded_pg_start(&h->pg, err, sizeof err)) {
        fprintf(stderr, "harness: %s\n", err);
        return false;
    }
    return true;
}

bool harness_pg_stop(struct harness_pg *h)
{
    return embedded_pg_stop(&h->pg);
}

bool harness_pg_restart(struct harness_pg *h)
{
    char err[512];
    if (!embedded_pg_start(&h->pg, err, sizeof err)) {
        fprintf(stderr, "harness: %s\n", err);
        return false;
    }
    return true;
}

void harness_pg_destroy(struct harness_pg *h)
{
    embedded_pg_stop(&h->pg);
    if (h->dir[0])
        harness_remove_tree(h->dir);
}

char *harness_sql(const char *url, const char *sql)
{
    const struct db_stmt stmt = {sql, 0};
    struct db *db = db_new(url);
    struct db_result *r = NULL;
    char *out = NULL;
    if (db && db_query(db, &stmt, NULL, &r) == STATUS_OK)
        out = strdup(db_rows(r) > 0 ? db_value(r, 0, 0) : "");
    else if (db)
        fprintf(stderr, "harness: SQL failed: %s\n", db_error_detail(db));
    if (r)
        db_result_free(r);
    db_free(db);
    return out;
}

bool harness_pg_create_database(struct harness_pg *h, const char *name, char *url, size_t len)
{
    char admin[PATH_MAX + 128], sql[128];
    snprintf(admin, sizeof admin, "postgresql:///postgres?host=%s&user=%s", h->pg.socket_dir,
             EMBEDDED_PG_SUPERUSER);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    char *ok = harness_sql(admin, sql);
    if (!ok)
        return false;
    free(ok);
    snprintf(url, len, "postgresql:///%s?host=%s&user=%s", name, h->pg.socket_dir,
             EMBEDDED_PG_SUPERUSER);
    return true;
}

/* --- dates --- */

int harness_next_year(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return tm.tm_year + 1900 + 1;
}

void harness_date_add(const char *date, int days, char *out, size_t len)
{
    struct tm tm = {.tm_hour = 12};
    if (sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        fail_msg("\"%s\" is not a date (YYYY-MM-DD)", date);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t at = timegm(&tm) + (time_t)days * 86400;
    gmtime_r(&at, &tm);
    snprintf(out, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* "+01:00" for an offset of minutes east of UTC. */
static void format_offset(int minutes, char *out, size_t len)
{
    int a = minutes < 0 ? -minutes : minutes;
    snprintf(out, len, "%c%02d:%02d", minutes < 0 ? '-' : '+', a / 60 % 100, a % 60);
}

bool harness_dst_change(const char *db_url, const char *zone, int year, bool forward,
                        struct harness_dst_change *out)
{
    /* Every hour of the year with its offset; the change is the first hour whose offset differs
     * from the hour before. The skipped or repeated local hour is that instant read at the
     * smaller of the two offsets. */
    char sql[1536];
    snprintf(sql, sizeof sql,
             "WITH h AS (SELECT t, (extract(epoch FROM (t AT TIME ZONE '%s')"
             "  - (t AT TIME ZONE 'UTC')) / 60)::int AS off"
             "  FROM generate_series(timestamptz '%d-01-01 00:00Z', timestamptz '%d-01-01 00:00Z',"
             "  interval '1 hour') t),"
             " c AS (SELECT t, lag(off) OVER (ORDER BY t) AS before, off AS after FROM h)"
             " SELECT to_char(t AT TIME ZONE '%s', 'YYYY-MM-DD') || ' ' || before || ' ' || after"
             " || ' ' || to_char((t AT TIME ZONE 'UTC') + make_interval(mins => least(before,"
             " after)), 'HH24') FROM c WHERE after %c before ORDER BY t LIMIT 1",
             zone, year, year + 1, zone, forward ? '>' : '<');
    char *row = harness_sql(db_url, sql);
    int before, after;
    bool ok = row && sscanf(row, "%10s %d %d %2s", out->day, &before, &after, out->hour) == 4;
    free(row);
    if (!ok)
        return false;
    format_offset(before, out->offset_before, sizeof out->offset_before);
    format_offset(after, out->offset_after, sizeof out->offset_after);
    harness_date_add(out->day, 1, out->next_day, sizeof out->next_day);
    return true;
}

/* --- processes --- */

/* Waits for pid up to timeout_ms; exit status, or -1 when it is still running. */
static int wait_pid(pid_t pid, int timeout_ms)
{
    long long give_up = monotonic_ms() + timeout_ms;
    int ws;
    for (;;) {
        pid_t r = waitpid(pid, &ws, WNOHANG);
        if (r == pid)
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        if (r < 0 || monotonic_ms() > give_up)
            return -1;
        harness_sleep_ms(20);
    }
}

int harness_health(const char *url, unsigned timeout_ms)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(url, timeout_ms, &err);
    if (!c)
        return -err.code;
    Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(c, "/clinic.v1.Health/Check", &req.base,
                           &clinic__v1__health_check_response__descriptor, &resp, NULL, &err);
    int result = code == STATUS_OK ? (int)((Clinic__V1__HealthCheckResponse *)resp)->status : -code;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    clinic_close(c);
    return result;
}

/* Copies the URL logged after `marker` (the last such line) into out; false if none yet. */
static bool url_from_log(const char *log, const char *marker, char *out, size_t len)
{
    const char *found = NULL;
    for (const char *p = strstr(log, marker); p; p = strstr(p + 1, marker))
        found = p;
    if (!found)
        return false;
    found += strlen(marker);
    size_t n = strcspn(found, " \n;");
    if (n == 0 || n >= len)
        return false;
    snprintf(out, len, "%.*s", (int)n, found);
    return true;
}

bool harness_daemon_wait_url(struct harness_daemon *d, int timeout_ms)
{
    long long give_up = monotonic_ms() + timeout_ms;
    while (monotonic_ms() < give_up) {
        char *log = harness_daemon_log(d);
        /* a daemon started with --events "" says so instead of naming a URL */
        bool ok =
            log && url_from_log(log, "serving RPC on ", d->url, sizeof d->url) &&
            (url_from_log(log, "publishing events on ", d->events_url, sizeof d->events_url) ||
             strstr(log, "publishing no events"));
        free(log);
        if (ok)
            return true;
        if (d->pid <= 0 || waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            d->pid = 0;
            return false;
        }
        harness_sleep_ms(20);
    }
    return false;
}

static bool log_in_admin(struct harness_daemon *d, const char *database_url);

bool harness_daemon_start(struct harness_daemon *d, const char *dir, const char *database_url,
                          const char *const *extra_args, bool wait_serving)
{
    static int started;
    d->url[0] = d->events_url[0] = d->admin_token[0] = '\0';
    snprintf(d->log_path, sizeof d->log_path, "%s/clinicd-%d-%d.log", dir, (int)getpid(),
             ++started);
    const char *argv[32] = {CLINICD_PATH, "--listen",          "tcp://127.0.0.1:0",
                            "--events",   "tcp://127.0.0.1:0", "--workers",
                            "4"};
    int n = 7;
    if (database_url) {
        argv[n++] = "--database";
        argv[n++] = database_url;
    }
    for (int i = 0; extra_args && extra_args[i] && n < 31; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    d->pid = fork();
    if (d->pid < 0)
        return false;
    if (d->pid == 0) {
        int fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(CLINICD_PATH, (char *const *)argv);
        _exit(127);
    }
    if (!wait_serving)
        return true;
    if (!harness_daemon_wait_url(d, DAEMON_START_TIMEOUT_MS))
        return false;
    long long give_up = monotonic_ms() + DAEMON_START_TIMEOUT_MS;
    while (monotonic_ms() < give_up) {
        if (harness_health(d->url, 1000) == 1)
            return !database_url || log_in_admin(d, database_url);
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            d->pid = 0;
            return false;
        }
        harness_sleep_ms(50);
    }
    return false;
}

int harness_daemon_wait_exit(struct harness_daemon *d, int timeout_ms)
{
    if (d->pid <= 0)
        return -1;
    int status = wait_pid(d->pid, timeout_ms);
    if (status >= 0)
        d->pid = 0;
    return status;
}

/* Prints the end of the daemon's log (sanitizer reports land there) to explain a failure. */
static void print_log_tail(const struct harness_daemon *d, int status)
{
    char *log = harness_daemon_log(d);
    if (!log)
        return;
    size_t len = strlen(log), keep = 6000;
    fprintf(stderr, "harness: clinicd exited with %d; the end of %s:\n%s\n", status, d->log_path,
            len > keep ? log + len - keep : log);
    free(log);
}

int harness_daemon_stop(struct harness_daemon *d)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    int status = harness_daemon_wait_exit(d, DAEMON_STOP_TIMEOUT_MS);
    if (status < 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    if (status != 0)
        print_log_tail(d, status);
    return status;
}

char *harness_daemon_log(const struct harness_daemon *d)
{
    return harness_read_file(d->log_path);
}

/* Reads everything from fd into a malloc'd string. */
static char *slurp(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                break;
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Runs program with argv, env overrides, capturing output through temporary files (no pipe can
 * fill up and block the child). */
static int run_program(const char *program, const char *const *argv, const char *const *env,
                       const char *input, char **out, char **err)
{
    char out_path[] = "/tmp/clinic-cli-out-XXXXXX", err_path[] = "/tmp/clinic-cli-err-XXXXXX";
    char in_path[] = "/tmp/clinic-cli-in-XXXXXX";
    int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
    int in_fd = input ? mkstemp(in_path) : open("/dev/null", O_RDONLY);
    if (input) {
        if (write(in_fd, input, strlen(input)) != (ssize_t)strlen(input))
            fprintf(stderr, "harness: cannot write the program's input\n");
        lseek(in_fd, 0, SEEK_SET);
        unlink(in_path);
    }
    const char *full[64] = {program};
    int n = 1;
    for (int i = 0; argv && argv[i] && n < 63; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(program, (char *const *)full);
        _exit(127);
    }
    int status = pid > 0 ? wait_pid(pid, CLI_TIMEOUT_MS) : -1;
    if (status < 0 && pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    lseek(out_fd, 0, SEEK_SET);
    lseek(err_fd, 0, SEEK_SET);
    if (out)
        *out = slurp(out_fd);
    if (err)
        *err = slurp(err_fd);
    close(out_fd);
    close(err_fd);
    close(in_fd);
    unlink(out_path);
    unlink(err_path);
    return status;
}

int harness_run_cli(const char *const *argv, const char *const *env, char **out, char **err)
{
    return run_program(CLINIC_CLI_PATH, argv, env, NULL, out, err);
}

int harness_run_program(const char *program, const char *const *argv, const char *const *env,
                        char **out, char **err)
{
    return run_program(program, argv, env, NULL, out, err);
}

int harness_run_clinicd(const char *const *argv, char **out, char **err)
{
    return run_program(CLINICD_PATH, argv, NULL, NULL, out, err);
}

int harness_run_cli_input(const char *const *argv, const char *const *env, const char *input,
                          char **out, char **err)
{
    return run_program(CLINIC_CLI_PATH, argv, env, input, out, err);
}

int harness_run_clinicd_input(const char *const *argv, const char *input, char **out, char **err)
{
    return run_program(CLINICD_PATH, argv, NULL, input, out, err);
}

/* --- accounts --- */

long long harness_create_user(const char *db_url, const char *email, const char *role,
                              long long therapist_id, long long client_id, const char *password)
{
    /* Argon2id takes a while (more under sanitizers): hash the usual password once. */
    static char usual[AUTH_HASH_BYTES];
    char own[AUTH_HASH_BYTES], sql[768];
    const char *hash = usual;
    long long far = 1000LL * 1000 * 1000 * 120;
    if (password && strcmp(password, HARNESS_PASSWORD) != 0) {
        if (auth_hash_password(password, own, now_us() + far) != STATUS_OK)
            return -1;
        hash = own;
    } else if (!usual[0] &&
               auth_hash_password(HARNESS_PASSWORD, usual, now_us() + far) != STATUS_OK) {
        return -1;
    }
    char therapist[24] = "NULL", client[24] = "NULL";
    if (therapist_id)
        snprintf(therapist, sizeof therapist, "%lld", therapist_id);
    if (client_id)
        snprintf(client, sizeof client, "%lld", client_id);
    snprintf(
        sql, sizeof sql,
        "WITH i AS (INSERT INTO users (email, name, role, therapist_id, client_id, password_hash)"
        " VALUES ('%s', 'Test %s', '%s', %s, %s, '%s') ON CONFLICT (lower(email)) DO NOTHING"
        " RETURNING id) SELECT id FROM i UNION ALL"
        " SELECT id FROM users WHERE lower(email) = lower('%s') LIMIT 1",
        email, role, role, therapist, client, hash, email);
    return harness_sql_id(db_url, "%s", sql);
}

bool harness_person(const char *db_url, const char *url, const char *email, const char *role,
                    long long therapist_id, long long client_id, char *token, size_t len)
{
    if (harness_create_user(db_url, email, role, therapist_id, client_id, NULL) < 0) {
        fprintf(stderr, "harness: cannot create the %s %s\n", role, email);
        return false;
    }
    int status = harness_login(url, email, HARNESS_PASSWORD, token, len);
    if (status != STATUS_OK)
        fprintf(stderr, "harness: %s cannot log in (status %d)\n", email, status);
    return status == STATUS_OK;
}

int harness_login(const char *url, const char *email, const char *password, char *token, size_t len)
{
    struct clinic_error err;
    clinic_client *c = harness_connect_as(url, NULL);
    if (!c)
        return STATUS_UNAVAILABLE;
    Clinic__V1__LoginRequest req = CLINIC__V1__LOGIN_REQUEST__INIT;
    req.email = (char *)email;
    req.password = (char *)(password ? password : HARNESS_PASSWORD);
    Clinic__V1__LoginResponse *resp = NULL;
    int code = harness_call(c, "Auth/Login", &req, &clinic__v1__login_response__descriptor, &resp,
                            false, NULL, &err);
    if (code == STATUS_OK)
        snprintf(token, len, "%s", resp->token);
    else
        fprintf(stderr, "harness: login of %s failed: %s\n", email, err.message);
    harness_free_message(resp);
    clinic_close(c);
    return code;
}

clinic_client *harness_connect_as(const char *url, const char *token)
{
    struct clinic_error err;
    clinic_client *c = clinic_connect(url, 10000, &err);
    if (c)
        clinic_set_token(c, token);
    return c;
}

/* The harness admin: created once per database, logged in once per daemon. */
static bool log_in_admin(struct harness_daemon *d, const char *database_url)
{
    if (harness_create_user(database_url, HARNESS_ADMIN_EMAIL, "admin", 0, 0, NULL) < 0 ||
        harness_login(d->url, HARNESS_ADMIN_EMAIL, NULL, d->admin_token, sizeof d->admin_token) !=
            STATUS_OK)
        return false;
    setenv("CLINIC_TOKEN", d->admin_token, 1);
    return true;
}

long long harness_sql_id(const char *url, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof sql)
        return -1;
    char *text = harness_sql(url, sql);
    long long id = text && *text ? strtoll(text, NULL, 10) : -1;
    free(text);
    return id;
}

bool harness_seed_clinic(const char *url, const char *zone, int therapists, int clients,
                         struct harness_clinic *out)
{
    char sql[512];
    if (therapists > HARNESS_MAX_SEEDED || clients > HARNESS_MAX_SEEDED)
        return false;
    memset(out, 0, sizeof *out);
    snprintf(sql, sizeof sql,
             "INSERT INTO locations (name, time_zone, min_notice_minutes, slot_step_minutes,"
             " max_advance_days, cancellation_window_hours) VALUES ('Clinic %s', '%s', 0, 15,"
             " 3650, 24) RETURNING id",
             zone, zone);
    out->location_id = harness_sql_id(url, "%s", sql);
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO rooms (location_id, name, features) VALUES (%lld, 'Room %c',"
                 " '{table}') RETURNING id",
                 out->location_id, 'A' + i);
        out->room_ids[i] = harness_sql_id(url, "%s", sql);
    }
    snprintf(
        sql, sizeof sql,
        "INSERT INTO services (name, duration_minutes, buffer_after_minutes, required_features)"
        " VALUES ('Massage %lld', 60, 15, '{table}') RETURNING id",
        out->location_id);
    out->service_id = harness_sql_id(url, "%s", sql);
    for (int i = 0; i < therapists; i++) {
        snprintf(sql, sizeof sql,
                 "WITH t AS (INSERT INTO therapists (name, email) VALUES ('Therapist %d',"
                 " 't%d.%lld@example.org') RETURNING id),"
                 " s AS (INSERT INTO therapist_services SELECT id, %lld FROM t),"
                 " h AS (INSERT INTO working_hours (therapist_id, location_id, weekday,"
                 " start_local, end_local) SELECT id, %lld, d, '09:00', '17:00' FROM t,"
                 " generate_series(1, 7) AS d) SELECT id FROM t",
                 i + 1, i + 1, out->location_id, out->service_id, out->location_id);
        out->therapist_ids[i] = harness_sql_id(url, "%s", sql);
    }
    for (int i = 0; i < clients; i++) {
        snprintf(sql, sizeof sql,
                 "WITH c AS (INSERT INTO clients (name, email) VALUES ('Client %d',"
                 " 'c%d.%lld@example.org') RETURNING id),"
                 " k AS (INSERT INTO client_consents (client_id, kind, how, given_at)"
                 " SELECT id, k::consent_kind, 'signed form', now() - interval '20 years'"
                 " FROM c, unnest('{general,gluteal}'::text[]) AS k) SELECT id FROM c",
                 i + 1, i + 1, out->location_id);
        out->client_ids[i] = harness_sql_id(url, "%s", sql);
    }
    bool ok = out->location_id > 0 && out->service_id > 0 && out->room_ids[1] > 0;
    for (int i = 0; i < therapists; i++)
        ok = ok && out->therapist_ids[i] > 0;
    for (int i = 0; i < clients; i++)
        ok = ok && out->client_ids[i] > 0;
    return ok;
}

int harness_call(clinic_client *c, const char *method, const void *request,
                 const ProtobufCMessageDescriptor *type, void *out, bool mutating, const char *key,
                 struct clinic_error *err)
{
    char full[128];
    snprintf(full, sizeof full, "/clinic.v1.%s", method);
    struct clinic_call_options opts = {
        .timeout_ms = 10000, .mutating = mutating, .idempotency_key = key};
    ProtobufCMessage *response = NULL;
    int code = clinic_call(c, full, request, type, &response, &opts, err);
    if (out)
        *(ProtobufCMessage **)out = response;
    else if (response)
        protobuf_c_message_free_unpacked(response, NULL);
    return code;
}

bool harness_has_violation(const struct clinic_error *err, const char *field)
{
    if (err->code != STATUS_INVALID_ARGUMENT)
        return false;
    for (size_t i = 0; i < err->n_violations; i++)
        if (strcmp(err->violations[i].field, field) == 0)
            return true;
    return false;
}

bool harness_same_bytes(const void *a, const void *b)
{
    size_t la = protobuf_c_message_get_packed_size(a), lb = protobuf_c_message_get_packed_size(b);
    if (la != lb)
        return false;
    uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    bool same = memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return same;
}

void harness_free_message(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

void harness_run_free(struct harness_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

struct harness_run harness_cli_as(const char *url, const char *token, const char *const *args)
{
    const char *argv[48] = {"--url", url};
    int n = 2;
    for (int i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char env_token[128];
    snprintf(env_token, sizeof env_token, "CLINIC_TOKEN=%s", token);
    const char *env[] = {env_token, NULL};
    struct harness_run r = {0};
    r.status = harness_run_cli(argv, env, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

void harness_cli_expect(const char *url, const char *token, int status, const char *says,
                        const char *const *args)
{
    struct harness_run r = harness_cli_as(url, token, args);
    if (r.status != status)
        fail_msg("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", r.status, status, r.out, r.err);
    if (says && !strstr(r.out, says) && !strstr(r.err, says))
        fail_msg("expected \"%s\" in\nstdout:\n%s\nstderr:\n%s", says, r.out, r.err);
    harness_run_free(&r);
}

void harness_assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in:\n%s", part, text);
}

void harness_json_id(const char *json, char *out, size_t len)
{
    const char *p = strstr(json, "\"id\":\"");
    if (!p)
        fail_msg("no \"id\" in:\n%s", json);
    p += 6;
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n >= len)
        fail_msg("no usable \"id\" in:\n%s", json);
    snprintf(out, len, "%.*s", (int)n, p);
}

/* --- faults and hostile peers --- */

long long harness_now_ms(void)
{
    return monotonic_ms();
}

bool harness_pg_stop_immediate(struct harness_pg *h)
{
    const struct embedded_pg *pg = &h->pg;
    char prog[PATH_MAX + 16];
    snprintf(prog, sizeof prog, "%s/pg_ctl", pg->bindir);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        if (null_fd >= 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
            dup2(null_fd, 2);
        }
        /* PostgreSQL's programs refuse to run as root: as the server's user, like embedded_pg */
        if (pg->drop_privileges &&
            (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0))
            _exit(126);
        execl(prog, prog, "-D", pg->pgdata, "-m", "immediate", "-w", "-t", "60", "stop",
              (char *)NULL);
        _exit(127);
    }
    if (wait_pid(pid, 90000) != 0)
        return false;
    h->pg.started = false;
    return true;
}

long harness_served_ms(const char *url, unsigned timeout_ms)
{
    long long t0 = monotonic_ms();
    int health = harness_health(url, timeout_ms);
    long took = (long)(monotonic_ms() - t0);
    return health == 1 && took <= (long)timeout_ms ? took : -1;
}

int harness_raw_connect(const char *url)
{
    int fd = -1;
    if (strncmp(url, "ipc://", 6) == 0) {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(url + 6) >= sizeof addr.sun_path)
            return -1;
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s", url + 6);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            return fd;
    } else if (strncmp(url, "tcp://", 6) == 0) {
        char host[64];
        const char *colon = strrchr(url + 6, ':');
        if (!colon || colon - (url + 6) >= (long)sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(colon - (url + 6)), url + 6);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        char *h = host[0] == '[' ? host + 1 : host;
        h[strcspn(h, "]")] = '\0';
        if (getaddrinfo(h, colon + 1, &hints, &ai) != 0)
            return -1;
        fd = socket(ai->ai_family, SOCK_STREAM, 0);
        bool ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        freeaddrinfo(ai);
        if (ok)
            return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

int harness_sp_connect(const char *url, int timeout_ms)
{
    static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    int fd = harness_raw_connect(url);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t theirs[8];
    if (write(fd, hello, sizeof hello) != (ssize_t)sizeof hello ||
        recv(fd, theirs, sizeof theirs, MSG_WAITALL) != (ssize_t)sizeof theirs ||
        memcmp(theirs, "\0SP\0", 4) != 0 || theirs[5] != 0x31 /* REP */) {
        close(fd);
        return -1;
    }
    return fd;
}

size_t harness_frame_header(const char *url, uint64_t length, uint8_t out[9])
{
    size_t n = 0;
    if (strncmp(url, "ipc://", 6) == 0)
        out[n++] = 1; /* nng's IPC frames open with a message-type byte */
    for (int i = 0; i < 8; i++)
        out[n++] = (uint8_t)(length >> (56 - 8 * i));
    return n;
}

/* The value in KiB of `field` ("VmRSS:") in /proc/pid/status, or -1. */
static long status_kib(pid_t pid, const char *field)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *status = harness_read_file(path);
    const char *p = status ? strstr(status, field) : NULL;
    long kib = -1;
    if (p) {
        char *end;
        kib = strtol(p + strlen(field), &end, 10);
        if (end == p + strlen(field))
            kib = -1;
    }
    free(status);
    return kib;
}

long harness_rss_kib(pid_t pid)
{
    return status_kib(pid, "VmRSS:");
}

long harness_peak_rss_kib(pid_t pid)
{
    return status_kib(pid, "VmHWM:");
}

bool harness_reset_peak_rss(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return false;
    bool ok = write(fd, "5", 1) == 1; /* 5: reset the peak resident set size */
    close(fd);
    return ok;
}

int harness_open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* --- booking load --- */

static const char *const load_times[] = {"09:00", "10:15", "11:30", "12:45", "14:00", "15:15"};
#define LOAD_TIMES (int)(sizeof load_times / sizeof load_times[0])

/* A clinic of its own for caller `index` of the load tagged tag, as harness_seed_clinic makes
 * one but with one therapist and one client, under names of its own (harness_seed_clinic's are
 * one per zone), in one statement: the callers' clinics are made at the pace of connections. */
static bool seed_caller_clinic(const char *db_url, const char *tag, int index,
                               struct harness_clinic *out)
{
    char sql[2048];
    snprintf(
        sql, sizeof sql,
        "WITH l AS (INSERT INTO locations (name, time_zone, min_notice_minutes, slot_step_minutes,"
        " max_advance_days, cancellation_window_hours) VALUES ('Load %s %d', '" HARNESS_LOAD_ZONE
        "', 0, 15, 3650, 24) RETURNING id),"
        " r AS (INSERT INTO rooms (location_id, name, features) SELECT l.id, n, '{table}' FROM l,"
        " unnest(ARRAY['Room A', 'Room B']) AS n RETURNING id),"
        " s AS (INSERT INTO services (name, duration_minutes, buffer_after_minutes,"
        " required_features) SELECT 'Massage ' || id, 60, 15, '{table}' FROM l RETURNING id),"
        " t AS (INSERT INTO therapists (name, email) SELECT 'Therapist ' || id, 't.' || id ||"
        " '@example.org' FROM l RETURNING id),"
        " ts AS (INSERT INTO therapist_services SELECT t.id, s.id FROM t, s),"
        " h AS (INSERT INTO working_hours (therapist_id, location_id, weekday, start_local,"
        " end_local) SELECT t.id, l.id, d, '09:00', '17:00' FROM t, l, generate_series(1, 7) AS d),"
        " c AS (INSERT INTO clients (name, email) SELECT 'Client ' || id, 'c.' || id ||"
        " '@example.org' FROM l RETURNING id)"
        " SELECT concat_ws(' ', (SELECT id FROM l), (SELECT min(id) FROM r), (SELECT max(id) FROM"
        " r), (SELECT id FROM s), (SELECT id FROM t), (SELECT id FROM c))",
        tag, index);
    memset(out, 0, sizeof *out);
    char *ids = harness_sql(db_url, sql);
    bool ok = ids && sscanf(ids, "%lld %lld %lld %lld %lld %lld", &out->location_id,
                            &out->room_ids[0], &out->room_ids[1], &out->service_id,
                            &out->therapist_ids[0], &out->client_ids[0]) == 6;
    free(ids);
    return ok;
}

bool harness_load_seed(struct harness_load *l, const char *db_url, int callers, const char *tag)
{
    memset(l, 0, sizeof *l);
    if (callers < 1 || callers > HARNESS_LOAD_MAX_CALLERS || strlen(tag) >= sizeof l->tag)
        return false;
    snprintf(l->tag, sizeof l->tag, "%s", tag);
    l->callers = callers;
    atomic_init(&l->stop, false);
    atomic_init(&l->acked, 0);
    for (int i = 0; i < callers; i++) {
        struct harness_load_caller *c = &l->caller[i];
        c->load = l;
        c->index = i;
        c->bookings = calloc(HARNESS_LOAD_MAX_CALLS, sizeof *c->bookings);
        if (!c->bookings || !seed_caller_clinic(db_url, l->tag, i, &c->clinic))
            return false;
    }
    return true;
}

/* Fills b's key and start for caller c's n-th call. */
static void load_slot(const struct harness_load_caller *c, int n, struct harness_booking *b)
{
    char first[16], day[11];
    snprintf(first, sizeof first, "%04d-01-01", harness_next_year() % 10000);
    harness_date_add(first, n / LOAD_TIMES, day, sizeof day);
    snprintf(b->start, sizeof b->start, "%s %s", day, load_times[n % LOAD_TIMES]);
    snprintf(b->key, sizeof b->key, "%s-%d-%d", c->load->tag, c->index, n);
}

/* Books b's slot for caller c under b's key; the status, with *id or message filled. */
static int load_book(clinic_client *client, const struct harness_load_caller *c,
                     const struct harness_booking *b, unsigned timeout_ms, long long *id,
                     char *message, size_t message_len)
{
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    req.client_id = c->clinic.client_ids[0];
    req.service_id = c->clinic.service_id;
    req.location_id = c->clinic.location_id;
    req.therapist_id = c->clinic.therapist_ids[0];
    req.start_time = (char *)b->start;
    struct clinic_call_options opts = {
        .timeout_ms = timeout_ms, .mutating = true, .idempotency_key = b->key};
    struct clinic_error err;
    ProtobufCMessage *resp = NULL;
    int code = clinic_call(client, "/clinic.v1.Scheduling/Book", &req.base,
                           &clinic__v1__appointment__descriptor, &resp, &opts, &err);
    if (code == STATUS_OK)
        *id = ((const Clinic__V1__Appointment *)resp)->id;
    else
        snprintf(message, message_len, "%.*s", (int)message_len - 1, err.message);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* Thread body: books the caller's slots one after another until told to stop. Asserts nothing
 * (cmocka's assertions belong to the main thread). */
static void *load_caller_run(void *arg)
{
    struct harness_load_caller *c = arg;
    struct harness_load *l = c->load;
    struct clinic_error err;
    clinic_client *client = clinic_connect(l->url, l->call_timeout_ms, &err);
    c->connected = client != NULL;
    for (int n = 0; client && n < HARNESS_LOAD_MAX_CALLS && !atomic_load(&l->stop); n++) {
        struct harness_booking *b = &c->bookings[n];
        load_slot(c, n, b);
        b->code =
            load_book(client, c, b, l->call_timeout_ms, &b->id, b->message, sizeof b->message);
        c->n = n + 1;
        if (b->code == STATUS_OK)
            atomic_fetch_add(&l->acked, 1);
    }
    if (client)
        clinic_close(client);
    return NULL;
}

bool harness_load_start(struct harness_load *l, const char *url, unsigned call_timeout_ms)
{
    snprintf(l->url, sizeof l->url, "%s", url);
    l->call_timeout_ms = call_timeout_ms;
    for (int i = 0; i < l->callers; i++) {
        struct harness_load_caller *c = &l->caller[i];
        c->started = pthread_create(&c->thread, NULL, load_caller_run, c) == 0;
        if (!c->started) {
            harness_load_stop(l);
            return false;
        }
    }
    return true;
}

bool harness_load_wait_acked(struct harness_load *l, int n, int timeout_ms)
{
    long long give_up = monotonic_ms() + timeout_ms;
    while (atomic_load(&l->acked) < n) {
        if (monotonic_ms() > give_up)
            return false;
        harness_sleep_ms(5);
    }
    return true;
}

void harness_load_stop(struct harness_load *l)
{
    atomic_store(&l->stop, true);
    for (int i = 0; i < l->callers; i++) {
        if (l->caller[i].started)
            pthread_join(l->caller[i].thread, NULL);
        l->caller[i].started = false;
    }
}

void harness_load_free(struct harness_load *l)
{
    harness_load_stop(l);
    for (int i = 0; i < l->callers; i++) {
        free(l->caller[i].bookings);
        l->caller[i].bookings = NULL;
    }
}

int harness_load_calls(const struct harness_load *l)
{
    int n = 0;
    for (int i = 0; i < l->callers; i++)
        n += l->caller[i].n;
    return n;
}

int harness_load_count(const struct harness_load *l, int code)
{
    int n = 0;
    for (int i = 0; i < l->callers; i++)
        for (int k = 0; k < l->caller[i].n; k++)
            n += l->caller[i].bookings[k].code == code;
    return n;
}

/* A growing SQL text. */
struct sql_text {
    char *s;
    size_t len, cap;
    bool failed;
};

static void sql_append(struct sql_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sql_append(struct sql_text *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->s ? vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap : 4096) * 2 + (n > 0 ? (size_t)n : 0);
        char *bigger = realloc(t->s, cap);
        if (!bigger) {
            t->failed = true;
            return;
        }
        t->s = bigger;
        t->cap = cap;
    }
}

long long harness_load_missing(const struct harness_load *l, const char *db_url)
{
    struct sql_text t = {0};
    int acked = 0;
    sql_append(&t, "SELECT count(*) FROM (VALUES ");
    for (int i = 0; i < l->callers; i++) {
        const struct harness_load_caller *c = &l->caller[i];
        for (int k = 0; k < c->n; k++) {
            const struct harness_booking *b = &c->bookings[k];
            if (b->code != STATUS_OK)
                continue;
            sql_append(&t, "%s(%lld::bigint, %lld::bigint, %lld::bigint, '%s')",
                       acked++ ? ", " : "", b->id, c->clinic.therapist_ids[0],
                       c->clinic.client_ids[0], b->start);
        }
    }
    sql_append(&t, ") AS v(id, therapist, client, start) WHERE NOT EXISTS (SELECT 1 FROM"
                   " appointments a WHERE a.id = v.id AND a.therapist_id = v.therapist AND"
                   " a.client_id = v.client AND a.status = 'booked' AND a.start_at ="
                   " v.start::timestamp AT TIME ZONE '" HARNESS_LOAD_ZONE "')");
    char *missing = acked && !t.failed ? harness_sql(db_url, t.s) : NULL;
    free(t.s);
    long long n = missing ? strtoll(missing, NULL, 10) : acked ? -1 : 0;
    free(missing);
    return n;
}

long long harness_load_rows(const struct harness_load *l, const char *db_url)
{
    struct sql_text t = {0};
    sql_append(&t,
               "SELECT count(*) FROM appointments WHERE status = 'booked' AND location_id IN (");
    for (int i = 0; i < l->callers; i++)
        sql_append(&t, "%s%lld", i ? ", " : "", l->caller[i].clinic.location_id);
    sql_append(&t, ")");
    char *rows = t.failed ? NULL : harness_sql(db_url, t.s);
    free(t.s);
    long long n = rows ? strtoll(rows, NULL, 10) : -1;
    free(rows);
    return n;
}

/* Resends b of caller c through client and counts what came back into out; `known` is the
 * appointment the key booked (0: none yet). */
static void resend_one(clinic_client *client, const struct harness_load *l,
                       const struct harness_load_caller *c, const struct harness_booking *b,
                       long long known, struct harness_resend *out)
{
    long long id = 0;
    char message[160];
    int code = load_book(client, c, b, l->call_timeout_ms, &id, message, sizeof message);
    if (code != STATUS_OK) {
        out->failed++;
        fprintf(stderr, "harness: resend of %s (%s) got %d: %s\n", b->key, b->start, code, message);
    } else if (!known) {
        out->booked_now++;
    } else if (id == known) {
        out->same++;
    } else {
        out->different++;
        fprintf(stderr, "harness: resend of %s got appointment %lld, not %lld\n", b->key, id,
                known);
    }
}

bool harness_load_resend(struct harness_load *l, const char *url, const char *db_url,
                         int acknowledged_per_caller, struct harness_resend *out)
{
    memset(out, 0, sizeof *out);
    clinic_client *client = harness_connect_as(url, getenv("CLINIC_TOKEN"));
    if (!client)
        return false;
    bool ok = true;
    for (int i = 0; i < l->callers && ok; i++) {
        const struct harness_load_caller *c = &l->caller[i];
        int acked_left = acknowledged_per_caller;
        for (int k = c->n - 1; k >= 0 && ok; k--) {
            const struct harness_booking *b = &c->bookings[k];
            if (b->code == STATUS_OK) {
                if (acked_left-- <= 0)
                    continue;
                out->acknowledged++;
                resend_one(client, l, c, b, b->id, out);
                continue;
            }
            long long known = harness_sql_id(
                db_url,
                "SELECT coalesce(max(id), 0) FROM appointments WHERE status = 'booked' AND"
                " therapist_id = %lld AND start_at = '%s'::timestamp AT TIME ZONE "
                "'" HARNESS_LOAD_ZONE "'",
                c->clinic.therapist_ids[0], b->start);
            if (known < 0) {
                ok = false;
                break;
            }
            out->unanswered++;
            out->had_committed += known > 0;
            resend_one(client, l, c, b, known, out);
        }
    }
    clinic_close(client);
    return ok;
}

int harness_ha(const char *dir, const char *command, char *out, size_t len)
{
    char line[512];
    snprintf(line, sizeof line, "CLINIC_HA_DIR=%s /bin/bash %s/scripts/ha.sh %s", dir,
             CLINIC_SOURCE_DIR, command);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    char first[512] = "";
    if (!fgets(first, sizeof first, p))
        first[0] = '\0';
    while (fgetc(p) != EOF) {
    } /* the rest, so that the script never blocks on a full pipe */
    int status = pclose(p);
    first[strcspn(first, "\n")] = '\0';
    if (out)
        snprintf(out, len, "%s", first);
    return status;
}
