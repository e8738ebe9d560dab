/* clinicd under systemd's readiness protocol, with systemd played by this test: a datagram socket
 * named by NOTIFY_SOCKET and WATCHDOG_USEC set. On its embedded default clinicd sends STATUS lines
 * while it starts, READY=1 once it serves, WATCHDOG=1 at half the interval while its workers make
 * progress, and STOPPING=1 on SIGTERM; every message comes from clinicd itself, never from the
 * PostgreSQL server it runs (which speaks sd_notify too, and must not hear the socket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embedded_pg.h"
#include "harness.h"

#define TEMP_PREFIX     "/tmp/clinic-notify-"
#define WATCHDOG_USEC   "600000" /* pings every 300 ms */
#define STARTUP_WAIT_MS 120000

static char temp_dir[64];
static char data_dir[128];
static int notify_fd = -1;
static struct harness_daemon daemon_;

/* What the daemon said, in order, and who said it. */
struct heard {
    int ready, watchdog_after_ready, stopping, status, from_others;
    bool serving_status; /* a STATUS line names where it serves */
};

static int setup(void **state)
{
    (void)state;
    if (!harness_temp_dir(TEMP_PREFIX, temp_dir, sizeof temp_dir))
        return -1;
    snprintf(data_dir, sizeof data_dir, "%s/data", temp_dir);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/notify", temp_dir);
    int on = 1;
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        setsockopt(notify_fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (daemon_.pid > 0)
        harness_daemon_stop(&daemon_);
    if (notify_fd >= 0)
        close(notify_fd);
    char pid_file[192], err[512];
    snprintf(pid_file, sizeof pid_file, "%s/pgdata/postmaster.pid", data_dir);
    static struct embedded_pg pg;
    if (access(pid_file, F_OK) == 0 &&
        embedded_pg_prepare(&pg, data_dir, "postgres", true, err, sizeof err)) {
        pg.started = true;
        embedded_pg_stop(&pg);
    }
    harness_remove_tree(temp_dir);
    return 0;
}

/* Reads one message (waiting at most timeout_ms) into text with its sender's pid; false when
 * none came. */
static bool receive(char *text, size_t len, pid_t *sender, int timeout_ms)
{
    struct pollfd p = {.fd = notify_fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {.iov_base = text, .iov_len = len - 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(notify_fd, &msg, 0);
    if (n < 0)
        return false;
    text[n] = '\0';
    *sender = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *sender = cred.pid;
        }
    return true;
}

static void note(struct heard *h, const char *text, pid_t sender)
{
    if (sender != daemon_.pid) {
        print_message("from pid %d, not clinicd (%d): %s\n", (int)sender, (int)daemon_.pid, text);
        h->from_others++;
        return;
    }
    if (strstr(text, "READY=1"))
        h->ready++;
    if (strstr(text, "WATCHDOG=1") && h->ready)
        h->watchdog_after_ready++;
    if (strstr(text, "STOPPING=1"))
        h->stopping++;
    if (strstr(text, "STATUS=")) {
        h->status++;
        if (strstr(text, "STATUS=serving on tcp://"))
            h->serving_status = true;
    }
}

static void readiness_watchdog_and_stopping_reach_systemd_from_clinicd_only(void **state)
{
    (void)state;
    char log_dir[128], addr[192];
    snprintf(log_dir, sizeof log_dir, "%s/log", temp_dir);
    assert_int_equal(mkdir(log_dir, 0755), 0);
    snprintf(addr, sizeof addr, "%s/notify", temp_dir);
    setenv("NOTIFY_SOCKET", addr, 1);
    setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
    static const char *args[] = {"--data-dir", NULL, "--workers", "2", NULL};
    args[1] = data_dir;
    bool started = harness_daemon_start(&daemon_, log_dir, NULL, args, false);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    assert_true(started);

    struct heard h = {0};
    char text[1024];
    pid_t sender;
    long long until = harness_now_ms() + STARTUP_WAIT_MS;
    while (h.watchdog_after_ready < 3 && harness_now_ms() < until)
        if (receive(text, sizeof text, &sender, 1000))
            note(&h, text, sender);
    if (h.ready != 1) {
        char *log = harness_daemon_log(&daemon_);
        print_message("clinicd's log:\n%s\n", log ? log : "");
        free(log);
    }
    assert_int_equal(h.ready, 1);
    assert_true(h.serving_status);
    assert_true(h.status >= 3); /* the embedded cluster, migrations, workers, serving */
    assert_true(h.watchdog_after_ready >= 3);
    assert_int_equal(h.stopping, 0);
    assert_true(harness_daemon_wait_url(&daemon_, 10000));
    assert_int_equal(harness_health(daemon_.url, 5000), 1);

    pid_t pid = daemon_.pid;
    assert_int_equal(harness_daemon_stop(&daemon_), 0);
    daemon_.pid = pid; /* messages already queued still name it */
    while (receive(text, sizeof text, &sender, 200))
        note(&h, text, sender);
    daemon_.pid = 0;
    assert_int_equal(h.stopping, 1);
    assert_int_equal(h.from_others, 0);
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    assert_non_null(strstr(log, "systemd watchdog: pinging every 300 ms"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readiness_watchdog_and_stopping_reach_systemd_from_clinicd_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
