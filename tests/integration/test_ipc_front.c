/* The ipc:// front (daemon/ipc_front.c): peers that hang up in the middle of the SP handshake
 * never reach nng 1.5.2's IPC listener (upstream issue 1518 stops it for good), so a new client
 * is served at once after any number of them and nothing is left open behind them; the socket
 * file gets a private mode; a path left by a dead daemon is reused, anything else at the path is
 * refused; and each socket keeps at most --max-connections connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clinic/v1/health.pb-c.h"
#include "harness.h"
#include "status.h"

#define HANGUPS     1000
#define ROUNDS      10
#define SERVED_MS   1000 /* a new client after the hang-ups */
#define MAX_CLIENTS 4

static struct harness_pg pg;
static char database_url[512];
static char path[100], url[120];

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "ipc", database_url, sizeof database_url) ||
        strlen(pg.dir) >= 80) /* a Unix socket path holds 107 bytes */
        return -1;
    snprintf(path, sizeof path, "%.80s/rpc.sock", pg.dir);
    snprintf(url, sizeof url, "ipc://%s", path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_pg_destroy(&pg);
    return 0;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void start_daemon(struct harness_daemon *d, const char *const *more)
{
    const char *args[8] = {"--listen", url}; /* the later --listen wins */
    for (int i = 0; more && more[i]; i++)
        args[2 + i] = more[i];
    assert_true(harness_daemon_start(d, pg.dir, database_url, args, false));
    assert_true(harness_daemon_wait_url(d, 60000));
    for (int waited = 0; harness_health(url, 1000) != 1; waited += 100) {
        assert_true(waited < 60000);
        harness_sleep_ms(100);
    }
}

static int open_fds(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int connect_unix(void)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* Sends the first `bytes` of a REQ peer's SP header (0 to 8) and hangs up. */
static void hang_up_after(int bytes)
{
    static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    int fd = connect_unix();
    if (bytes > 0)
        assert_int_equal(write(fd, hello, (size_t)bytes), bytes);
    close(fd);
}

static void new_client_is_served_at_once_after_peers_hang_up_mid_handshake(void **state)
{
    (void)state;
    struct harness_daemon d;
    start_daemon(&d, NULL);
    int fds_before = open_fds(d.pid);
    long worst = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < HANGUPS / ROUNDS; i++)
            hang_up_after(i % 9);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(harness_health(url, SERVED_MS), 1);
        long took = elapsed_ms(&t0);
        worst = took > worst ? took : worst;
    }
    print_message("after %d hang-ups mid-handshake, the slowest new client was served in %ld ms\n",
                  HANGUPS, worst);
    assert_true(worst < SERVED_MS);
    /* Everything the hang-ups opened is closed again: at most the health clients' own
     * connections may linger a moment. */
    int fds_after = 0;
    for (int waited = 0; waited < 5000; waited += 100) {
        if ((fds_after = open_fds(d.pid)) <= fds_before + 2)
            break;
        harness_sleep_ms(100);
    }
    print_message("open files: %d before, %d after\n", fds_before, fds_after);
    assert_true(fds_after <= fds_before + 2);
    char *log = harness_daemon_log(&d);
    assert_null(strstr(log, "ERROR"));
    free(log);
    assert_int_equal(harness_daemon_stop(&d), 0);
    assert_int_equal(access(path, F_OK), -1); /* removed on the way out */
}

static void socket_file_is_private_and_its_mode_configurable(void **state)
{
    (void)state;
    struct harness_daemon d;
    struct stat st;
    start_daemon(&d, NULL);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(harness_daemon_stop(&d), 0);

    const char *const owner_only[] = {"--socket-mode", "0600", NULL};
    start_daemon(&d, owner_only);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(harness_daemon_stop(&d), 0);

    const char *const argv[] = {"--socket-mode", "0999", NULL};
    char *err = NULL;
    assert_int_equal(harness_run_clinicd(argv, NULL, &err), 2);
    harness_assert_contains(err, "--socket-mode must be an octal mode");
    free(err);
}

/* The private folders (daemon/ipc_front.c) in /tmp, as one string of names. */
static void private_folders(char *out, size_t len)
{
    DIR *d = opendir("/tmp");
    assert_non_null(d);
    out[0] = '\0';
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, "clinicd-ipc-", 12) == 0 && strlen(out) + 40 < len)
            strcat(strcat(out, e->d_name), " ");
    closedir(d);
}

static void path_of_a_dead_daemon_is_reused_and_others_refused(void **state)
{
    (void)state;
    struct harness_daemon d;
    char before[4096], after[4096], dead[64] = "";
    private_folders(before, sizeof before);
    start_daemon(&d, NULL);
    private_folders(after, sizeof after);
    for (char *name = strtok(after, " "); name; name = strtok(NULL, " "))
        if (!strstr(before, name))
            snprintf(dead, sizeof dead, "/tmp/%.40s", name);
    assert_true(dead[0]); /* the daemon's private folder */
    kill(d.pid, SIGKILL);
    assert_true(harness_daemon_wait_exit(&d, 10000) != 0);
    assert_int_equal(access(path, F_OK), 0); /* left behind by the killed daemon */
    /* A minute on, the next daemon removes the dead one's private folder too. */
    struct timespec old[2] = {{time(NULL) - 120, 0}, {time(NULL) - 120, 0}};
    assert_int_equal(utimensat(AT_FDCWD, dead, old, 0), 0);
    start_daemon(&d, NULL); /* takes the path over */
    assert_int_equal(access(dead, F_OK), -1);

    /* A second daemon on the same path is refused while the first one listens there. */
    struct harness_daemon second;
    const char *const args[] = {"--listen", url, NULL};
    assert_true(harness_daemon_start(&second, pg.dir, database_url, args, false));
    assert_true(harness_daemon_wait_exit(&second, 30000) != 0);
    char *log = harness_daemon_log(&second);
    harness_assert_contains(log, "another program already listens on");
    free(log);
    assert_int_equal(harness_health(url, 2000), 1);
    assert_int_equal(harness_daemon_stop(&d), 0);

    FILE *f = fopen(path, "w"); /* a plain file in the way */
    assert_non_null(f);
    fclose(f);
    assert_true(harness_daemon_start(&second, pg.dir, database_url, args, false));
    assert_true(harness_daemon_wait_exit(&second, 30000) != 0);
    log = harness_daemon_log(&second);
    harness_assert_contains(log, "exists and is not a socket");
    free(log);
    unlink(path);
}

/* Holds MAX_CLIENTS connections with completed handshakes; one more is closed as it arrives,
 * and a place frees up when one of them leaves. */
static void connections_beyond_the_cap_are_closed(const char *listen)
{
    struct harness_daemon d;
    char cap[16];
    snprintf(cap, sizeof cap, "%d", MAX_CLIENTS);
    const char *const args[] = {"--listen", listen, "--max-connections", cap, NULL};
    assert_true(harness_daemon_start(&d, pg.dir, database_url, args, true));
    clinic_client *held[MAX_CLIENTS];
    for (int i = 0; i < MAX_CLIENTS; i++) {
        held[i] = harness_connect_as(d.url, NULL);
        assert_non_null(held[i]);
        Clinic__V1__HealthCheckRequest req = CLINIC__V1__HEALTH_CHECK_REQUEST__INIT;
        struct clinic_error err;
        assert_int_equal(harness_call(held[i], "Health/Check", &req,
                                      &clinic__v1__health_check_response__descriptor, NULL, false,
                                      NULL, &err),
                         STATUS_OK);
    }
    assert_true(harness_health(d.url, 1500) < 0); /* one more: refused */
    char *log = harness_daemon_log(&d);
    harness_assert_contains(log, "(--max-connections)");
    free(log);
    clinic_close(held[0]);
    int health = 0;
    for (int waited = 0; waited < 10000 && (health = harness_health(d.url, 1000)) != 1;
         waited += 100)
        harness_sleep_ms(100);
    assert_int_equal(health, 1);
    for (int i = 1; i < MAX_CLIENTS; i++)
        clinic_close(held[i]);
    assert_int_equal(harness_daemon_stop(&d), 0);
}

static void ipc_connections_beyond_the_cap_are_closed(void **state)
{
    (void)state;
    connections_beyond_the_cap_are_closed(url);
}

static void tcp_connections_beyond_the_cap_are_closed(void **state)
{
    (void)state;
    connections_beyond_the_cap_are_closed("tcp://127.0.0.1:0");
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_client_is_served_at_once_after_peers_hang_up_mid_handshake),
        cmocka_unit_test(socket_file_is_private_and_its_mode_configurable),
        cmocka_unit_test(path_of_a_dead_daemon_is_reused_and_others_refused),
        cmocka_unit_test(ipc_connections_beyond_the_cap_are_closed),
        cmocka_unit_test(tcp_connections_beyond_the_cap_are_closed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
