/* harness.c: private clusters, daemons on free ports, and the CLI, for integration tests. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/health.pb-c.h"
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

/* --- PostgreSQL --- */

bool harness_pg_start(struct harness_pg *h)
{
    char err[512];
    snprintf(h->dir, sizeof h->dir, "/tmp/clinic-test-XXXXXX");
    if (!mkdtemp(h->dir))
        return false;
    chmod(h->dir, 0755); /* the unprivileged server user must reach its cluster inside */
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
    if (!h->dir[0] || strncmp(h->dir, "/tmp/clinic-test-", 17) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", h->dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
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
        bool ok = log && url_from_log(log, "serving RPC on ", d->url, sizeof d->url) &&
                  url_from_log(log, "publishing events on ", d->events_url, sizeof d->events_url);
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
                 "INSERT INTO clients (name, email) VALUES ('Client %d',"
                 " 'c%d.%lld@example.org') RETURNING id",
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
