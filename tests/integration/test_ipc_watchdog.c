/* nng 1.5.2's IPC listener stops handing connections to the socket after peers hang up in the
 * middle of the SP handshake (upstream issue 1518). clinicd's watchdog notices and re-creates
 * the listener: after such peers, a new client is served again within a bounded time. TCP
 * survives the same abuse without help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define HANGUPS             12
#define RECOVERY_TIMEOUT_MS 15000
/* The stall is a race inside nng: most rounds of hang-ups cause it, not every one. Rounds go on
 * until the watchdog has had to act once, so the test always exercises it. */
#define MAX_ROUNDS 8

static struct harness_pg pg;
static char database_url[512];

static int setup(void **state)
{
    (void)state;
    return harness_pg_start(&pg) &&
                   harness_pg_create_database(&pg, "ipc", database_url, sizeof database_url)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    harness_pg_destroy(&pg);
    return 0;
}

/* Connects to addr and hangs up, every other time after half of the 8-byte SP header. */
static void hang_up_mid_handshake(const struct sockaddr *addr, socklen_t len, int round)
{
    int fd = socket(addr->sa_family, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (connect(fd, addr, len) == 0 && round % 2)
        assert_int_equal(write(fd, "\0SP\0", 4), 4);
    close(fd);
}

static void start_daemon_on(struct harness_daemon *d, const char *url)
{
    const char *const args[] = {"--listen", url, NULL}; /* the later --listen wins */
    assert_true(harness_daemon_start(d, pg.dir, database_url, args, false));
    assert_true(harness_daemon_wait_url(d, 60000));
    for (int waited = 0; harness_health(d->url, 1000) != 1; waited += 100) {
        assert_true(waited < 60000);
        harness_sleep_ms(100);
    }
}

static void ipc_listener_recovers_after_peers_hang_up_mid_handshake(void **state)
{
    (void)state;
    char path[100], url[120];
    assert_true(strlen(pg.dir) < 80); /* a Unix socket path holds 107 bytes */
    snprintf(path, sizeof path, "%.80s/rpc.sock", pg.dir);
    snprintf(url, sizeof url, "ipc://%s", path);
    struct harness_daemon d;
    start_daemon_on(&d, url);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    bool recreated = false;
    for (int round = 0; round < MAX_ROUNDS && !recreated; round++) {
        for (int i = 0; i < HANGUPS; i++)
            hang_up_mid_handshake((struct sockaddr *)&addr, sizeof addr, i);
        assert_int_equal(harness_health(url, RECOVERY_TIMEOUT_MS), 1);
        char *log = harness_daemon_log(&d);
        recreated = log && strstr(log, "re-creating it");
        free(log);
    }
    assert_true(recreated);
    assert_int_equal(harness_daemon_stop(&d), 0);
}

static void tcp_listener_survives_the_same_hang_ups(void **state)
{
    (void)state;
    struct harness_daemon d;
    start_daemon_on(&d, "tcp://127.0.0.1:0");
    const char *url = d.url;
    int port = (int)strtol(strrchr(url, ':') + 1, NULL, 10);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < HANGUPS; i++)
        hang_up_mid_handshake((struct sockaddr *)&addr, sizeof addr, i);
    assert_int_equal(harness_health(url, 3000), 1);
    char *log = harness_daemon_log(&d);
    assert_null(strstr(log, "re-creating it")); /* no watchdog on TCP, and none needed */
    free(log);
    assert_int_equal(harness_daemon_stop(&d), 0);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipc_listener_recovers_after_peers_hang_up_mid_handshake),
        cmocka_unit_test(tcp_listener_survives_the_same_hang_ups),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
