/* clinicd's embedded default: with no --database it creates a private PostgreSQL cluster under
 * --data-dir with initdb, runs it as an unprivileged user when started as root, reaches it only
 * through a Unix socket in that folder, applies the migrations, serves, and stops the cluster on
 * SIGTERM. A second start reuses the cluster and its data; an unusable folder is refused at once
 * with a sentence naming --data-dir. The harness's own clusters are not used here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embedded_pg.h"
#include "harness.h"
#include "migrate.h"

#define TEMP_PREFIX     "/tmp/clinic-embedded-"
#define EXIT_TIMEOUT_MS 20000

static char temp_dir[64];    /* the test's folder, removed at the end */
static char data_dir[128];   /* temp_dir/data: clinicd's --data-dir */
static char socket_url[256]; /* the clinic database through data_dir/run */
static struct harness_daemon daemon_;
static char migrations_after_first_start[32];

/* Builds temp_dir/rest into out. */
static void path_in(char *out, size_t len, const char *rest)
{
    snprintf(out, len, "%s/%s", temp_dir, rest);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Creates temp_dir/name (for a daemon's log) and returns it in out. */
static bool make_log_dir(const char *name, char *out, size_t len)
{
    path_in(out, len, name);
    return mkdir(out, 0755) == 0;
}

static int migration_file_count(void)
{
    int n = 0;
    while (migration_files[n].name)
        n++;
    return n;
}

/* Starts clinicd on data_dir with no --database, logging into temp_dir/log_name. */
static bool start_embedded(const char *log_name, bool wait_serving)
{
    char log_dir[128];
    static const char *args[] = {"--data-dir", data_dir, NULL};
    args[1] = data_dir;
    return make_log_dir(log_name, log_dir, sizeof log_dir) &&
           harness_daemon_start(&daemon_, log_dir, NULL, args, wait_serving);
}

static bool log_contains(const char *text)
{
    char *log = harness_daemon_log(&daemon_);
    bool found = log && strstr(log, text);
    free(log);
    return found;
}

/* Stops a cluster left running on data_dir (the daemon was killed): a safety net for teardown. */
static void stop_stray_cluster(void)
{
    char pid_file[192], err[512];
    snprintf(pid_file, sizeof pid_file, "%s/pgdata/postmaster.pid", data_dir);
    if (!exists(pid_file))
        return;
    static struct embedded_pg pg; /* large: keep it off the stack */
    if (!embedded_pg_prepare(&pg, data_dir, "postgres", true, err, sizeof err))
        return;
    pg.started = true;
    embedded_pg_stop(&pg);
}

static int setup(void **state)
{
    (void)state;
    if (!harness_temp_dir(TEMP_PREFIX, temp_dir, sizeof temp_dir))
        return -1;
    path_in(data_dir, sizeof data_dir, "data");
    snprintf(socket_url, sizeof socket_url, "postgresql:///%s?host=%s/run&user=%s",
             EMBEDDED_PG_DATABASE, data_dir, EMBEDDED_PG_SUPERUSER);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (daemon_.pid > 0)
        harness_daemon_stop(&daemon_);
    stop_stray_cluster();
    harness_remove_tree(temp_dir);
    return 0;
}

static void first_start_creates_the_cluster_and_serves(void **state)
{
    (void)state;
    assert_true(start_embedded("log-first", true));
    char path[192];
    snprintf(path, sizeof path, "%s/pgdata/PG_VERSION", data_dir);
    assert_true(exists(path));
    /* logged before serving starts, so surely in the log by now (unlike "ready") */
    assert_true(log_contains("creating a PostgreSQL cluster"));
    assert_true(log_contains("PostgreSQL started"));
}

static void cluster_is_reached_only_through_its_unix_socket(void **state)
{
    (void)state;
    char path[192];
    snprintf(path, sizeof path, "%s/run/.s.PGSQL.5432", data_dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    char *listen = harness_sql(socket_url, "SHOW listen_addresses");
    assert_non_null(listen);
    assert_string_equal(listen, "");
    free(listen);
}

static void every_embedded_migration_is_applied_once(void **state)
{
    (void)state;
    char *count = harness_sql(socket_url, "SELECT count(*) FROM schema_migrations");
    assert_non_null(count);
    char expected[32];
    snprintf(expected, sizeof expected, "%d", migration_file_count());
    assert_string_equal(count, expected);
    snprintf(migrations_after_first_start, sizeof migrations_after_first_start, "%s", count);
    free(count);
    /* a row of the test's own, to see it again after a restart */
    char *ok = harness_sql(socket_url, "CREATE TABLE persistence_probe AS SELECT 7450 AS answer");
    assert_non_null(ok);
    free(ok);
}

static void cluster_belongs_to_the_unprivileged_user_when_root(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct passwd *pw = getpwnam("postgres");
    assert_non_null(pw);
    char path[192];
    snprintf(path, sizeof path, "%s/pgdata", data_dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, pw->pw_uid);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* and the server runs as that user, not as root: postmaster.pid's first line is its pid */
    snprintf(path, sizeof path, "%s/pgdata/postmaster.pid", data_dir);
    char *pid_file = harness_read_file(path);
    assert_non_null(pid_file);
    long pid = strtol(pid_file, NULL, 10);
    free(pid_file);
    assert_true(pid > 0);
    snprintf(path, sizeof path, "/proc/%ld", pid);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, pw->pw_uid);
}

static void sigterm_exits_zero_and_stops_the_cluster(void **state)
{
    (void)state;
    assert_int_equal(harness_daemon_stop(&daemon_), 0);
    char path[192];
    snprintf(path, sizeof path, "%s/pgdata/postmaster.pid", data_dir);
    assert_false(exists(path));
    assert_true(log_contains("PostgreSQL stopped"));
}

static void second_start_reuses_the_cluster_and_its_data(void **state)
{
    (void)state;
    assert_true(start_embedded("log-second", true));
    assert_false(log_contains("creating a PostgreSQL cluster"));
    assert_true(log_contains("PostgreSQL started"));
    char *count = harness_sql(socket_url, "SELECT count(*) FROM schema_migrations");
    assert_non_null(count);
    assert_string_equal(count, migrations_after_first_start);
    free(count);
    char *answer = harness_sql(socket_url, "SELECT answer FROM persistence_probe");
    assert_non_null(answer);
    assert_string_equal(answer, "7450");
    free(answer);
    assert_int_equal(harness_daemon_stop(&daemon_), 0);
    char path[192];
    snprintf(path, sizeof path, "%s/pgdata/postmaster.pid", data_dir);
    assert_false(exists(path));
}

/* Starts clinicd on an unusable data folder and expects a quick non-zero exit whose log names
 * --data-dir. */
static void assert_data_dir_refused(const char *log_name, const char *bad_dir)
{
    char log_dir[128];
    const char *args[] = {"--data-dir", bad_dir, NULL};
    assert_true(make_log_dir(log_name, log_dir, sizeof log_dir));
    assert_true(harness_daemon_start(&daemon_, log_dir, NULL, args, false));
    int status = harness_daemon_wait_exit(&daemon_, EXIT_TIMEOUT_MS);
    assert_true(status > 0);
    assert_true(log_contains("--data-dir"));
    assert_true(log_contains("cannot start"));
}

static void data_dir_with_a_space_is_refused_with_a_sentence(void **state)
{
    (void)state;
    char bad[160];
    path_in(bad, sizeof bad, "with space");
    assert_data_dir_refused("log-space", bad);
}

static void data_dir_with_a_quote_is_refused_with_a_sentence(void **state)
{
    (void)state;
    char bad[160];
    path_in(bad, sizeof bad, "it's");
    assert_data_dir_refused("log-quote", bad);
}

static void data_dir_path_too_long_for_a_socket_is_refused(void **state)
{
    (void)state;
    char bad[200];
    path_in(bad, sizeof bad,
            "a-folder-name-long-enough-that-the-socket-path-inside-it-passes-the-unix-limit");
    assert_data_dir_refused("log-long", bad);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    unsetenv("CLINIC_TOKEN");
    /* the daemon would read these instead of its embedded default */
    unsetenv("CLINIC_DATABASE_URL");
    unsetenv("CLINIC_DATA_DIR");
    const struct CMUnitTest tests[] = {
        /* in order: they follow one data folder through two lives of the daemon */
        cmocka_unit_test(first_start_creates_the_cluster_and_serves),
        cmocka_unit_test(cluster_is_reached_only_through_its_unix_socket),
        cmocka_unit_test(every_embedded_migration_is_applied_once),
        cmocka_unit_test(cluster_belongs_to_the_unprivileged_user_when_root),
        cmocka_unit_test(sigterm_exits_zero_and_stops_the_cluster),
        cmocka_unit_test(second_start_reuses_the_cluster_and_its_data),
        cmocka_unit_test(data_dir_with_a_space_is_refused_with_a_sentence),
        cmocka_unit_test(data_dir_with_a_quote_is_refused_with_a_sentence),
        cmocka_unit_test(data_dir_path_too_long_for_a_socket_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
