/* Hostile peers cost the daemon little and never keep it from serving others: 1,000 peers that
 * break off the SP handshake (0 to 8 bytes of it, then FIN or RST, four at a time) and the next
 * client is served within a second; a frame header claiming 2^40 bytes makes the daemon hang up
 * at once and grow by less than a mebibyte; 300 connections that never send a byte and a new
 * client is still served at once; and request ids made of control characters and ANSI escapes
 * leave one clean line per call in the daemon's log. Over TCP here; test_hostile_ipc.c includes
 * this file to run the same attacks on an ipc:// listener. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clinic/v1/rpc.pb-c.h"
#include "harness.h"
#include "status.h"

#define SERVED_MS          1000 /* the promise: a new client is served within this */
#define ATTACK_DEADLINE_MS 60000
#define ABORTED_HANDSHAKES 1000
#define ABORTING_PEERS     4
#define CLAIMS             16
#define CLAIMED_BYTES      (UINT64_C(1) << 40)
#define CLAIM_COST_KIB     1024 /* what all CLAIMS together may cost, peak */
#define SILENT_PEERS       300
#define SILENT_PROBES      5
#define FD_SLACK           4 /* the probes' own connections may linger a moment */
#define SETTLE_MS          5000
#define RECOVERY_MS        10000 /* how long a refusing daemon is watched for, to report it */
#define SILENT_SETTLE_MS   300

#ifndef HOSTILE_IPC
#define HOSTILE_IPC 0 /* 1: the daemon listens on ipc:// (test_hostile_ipc.c) */
#endif

static struct harness_pg pg;
static char db_url[512];
static struct harness_daemon daemon_;

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "hostile", db_url, sizeof db_url))
        return -1;
    char ipc_url[128];
    if (strlen(pg.dir) > 80) /* a Unix socket path holds 107 bytes */
        return -1;
    snprintf(ipc_url, sizeof ipc_url, "ipc://%s/rpc.sock", pg.dir);
    const char *const ipc_args[] = {"--listen", ipc_url, NULL}; /* the later --listen wins */
    bool started =
        harness_daemon_start(&daemon_, pg.dir, db_url, HOSTILE_IPC ? ipc_args : NULL, true);
    return started ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

static const char *transport(const struct harness_daemon *d)
{
    return strncmp(d->url, "ipc://", 6) == 0 ? "IPC" : "TCP";
}

/* Waits (bounded) until the daemon holds at most `fds` open files; the number it holds. */
static int settle_fds(const struct harness_daemon *d, int fds)
{
    int now = harness_open_fds(d->pid);
    for (long long t0 = harness_now_ms(); now > fds && harness_now_ms() - t0 < SETTLE_MS;
         now = harness_open_fds(d->pid))
        harness_sleep_ms(50);
    return now;
}

/* New clients (each a fresh connection asking Health/Check) sent while an attack goes on. */
struct probes {
    int sent, served; /* served: told SERVING within SERVED_MS */
    long slowest_served_ms;
    long slowest_ms; /* of all, served or not (a refusal can be quick or slow) */
};

static void probe(const struct harness_daemon *d, struct probes *p)
{
    long long t0 = harness_now_ms();
    int health = harness_health(d->url, SERVED_MS);
    long took = (long)(harness_now_ms() - t0);
    p->sent++;
    if (health == 1 && took <= SERVED_MS) {
        p->served++;
        p->slowest_served_ms = took > p->slowest_served_ms ? took : p->slowest_served_ms;
    }
    p->slowest_ms = took > p->slowest_ms ? took : p->slowest_ms;
}

/* "5 new clients: 5 served (slowest 4 ms), 0 not within 1000 ms (slowest answer 4 ms)" */
static void print_probes(const struct probes *p)
{
    print_message("%d new clients: %d served (slowest %ld ms), %d not within %d ms (slowest answer "
                  "%ld ms)",
                  p->sent, p->served, p->slowest_served_ms, p->sent - p->served, SERVED_MS,
                  p->slowest_ms);
}

/* --- aborted handshakes --- */

struct aborter {
    pthread_t thread;
    const char *url;
    int first, count;     /* handshakes first .. first + count - 1 */
    int aborted;          /* made */
    int failed;           /* connects that failed (not counted as made) */
    atomic_bool finished; /* the counts above are read once this is set */
};

/* Thread body: connects `count` times, sends handshake i's first i % 9 bytes of a REQ peer's
 * header and hangs up, every other time with a reset instead of a FIN. Asserts nothing. */
static void *aborter_run(void *arg)
{
    static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    struct aborter *a = arg;
    long long give_up = harness_now_ms() + ATTACK_DEADLINE_MS;
    for (int i = a->first; a->aborted < a->count && harness_now_ms() < give_up; i++) {
        int fd = harness_raw_connect(a->url);
        if (fd < 0) {
            a->failed++;
            harness_sleep_ms(1);
            continue;
        }
        size_t bytes = (size_t)(i % 9);
        if (bytes && write(fd, hello, bytes) != (ssize_t)bytes)
            bytes = 0; /* the daemon hung up first: still a handshake broken off */
        if (i % 2) {
            struct linger reset = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        }
        close(fd);
        a->aborted++;
    }
    atomic_store(&a->finished, true);
    return NULL;
}

static void aborted_handshakes_then_a_client_is_served_within_a_second(struct harness_daemon *d)
{
    assert_true(harness_served_ms(d->url, SERVED_MS) >= 0);
    int fds_before = harness_open_fds(d->pid);
    static struct aborter peers[ABORTING_PEERS];
    long long t0 = harness_now_ms();
    for (int i = 0; i < ABORTING_PEERS; i++) {
        peers[i] = (struct aborter){.url = d->url,
                                    .first = i * (ABORTED_HANDSHAKES / ABORTING_PEERS),
                                    .count = ABORTED_HANDSHAKES / ABORTING_PEERS};
        atomic_init(&peers[i].finished, false);
        assert_int_equal(pthread_create(&peers[i].thread, NULL, aborter_run, &peers[i]), 0);
    }
    /* new clients meanwhile, for the report: the promise is for the client after the attack */
    struct probes meanwhile = {0};
    bool done = false;
    while (!done && harness_now_ms() - t0 < ATTACK_DEADLINE_MS) {
        probe(d, &meanwhile);
        done = true;
        for (int i = 0; i < ABORTING_PEERS; i++)
            done = done && atomic_load(&peers[i].finished);
        harness_sleep_ms(20);
    }
    int aborted = 0, failed = 0;
    for (int i = 0; i < ABORTING_PEERS; i++) {
        pthread_join(peers[i].thread, NULL);
        aborted += peers[i].aborted;
        failed += peers[i].failed;
    }
    long attack_ms = (long)(harness_now_ms() - t0);
    long next = harness_served_ms(d->url, SERVED_MS);
    int fds_after = settle_fds(d, fds_before + FD_SLACK);
    print_message("%s: %d aborted handshakes (0-8 bytes of the SP header, then FIN or RST, %d "
                  "peers at once, %d connects failed) in %ld ms; meanwhile ",
                  transport(d), aborted, ABORTING_PEERS, failed, attack_ms);
    print_probes(&meanwhile);
    print_message("; the next client served in %ld ms; daemon files open: %d before, %d after\n",
                  next, fds_before, fds_after);
    assert_int_equal(aborted, ABORTED_HANDSHAKES);
    assert_true(next >= 0);
    assert_true(fds_after <= fds_before + FD_SLACK);
}

static void thousand_aborted_handshakes_then_a_client_is_served_within_a_second(void **state)
{
    (void)state;
    aborted_handshakes_then_a_client_is_served_within_a_second(&daemon_);
}

/* --- a frame claiming 2^40 bytes --- */

/* Sends, after a valid handshake, the header of a frame claiming CLAIMED_BYTES; the socket. */
static int claim_huge_frame(const char *url)
{
    int fd = harness_sp_connect(url, 5000);
    assert_true(fd >= 0);
    uint8_t header[9];
    size_t n = harness_frame_header(url, CLAIMED_BYTES, header);
    assert_int_equal(write(fd, header, n), (ssize_t)n);
    return fd;
}

/* True when the daemon hangs up on fd within 5 s (sends nothing, closes or resets). */
static bool hung_up(int fd)
{
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t byte;
    return recv(fd, &byte, 1, 0) == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

static void huge_frame_claim_costs_under_a_mebibyte(struct harness_daemon *d)
{
    /* one claim first, so that what any first connection allocates once is not counted */
    int fd = claim_huge_frame(d->url);
    assert_true(hung_up(fd));
    close(fd);
    assert_true(harness_served_ms(d->url, SERVED_MS) >= 0);

    bool peak_reset = harness_reset_peak_rss(d->pid);
    long before = harness_rss_kib(d->pid);
    assert_true(before > 0);
    int fds[CLAIMS], hung = 0;
    for (int i = 0; i < CLAIMS; i++)
        fds[i] = claim_huge_frame(d->url);
    for (int i = 0; i < CLAIMS; i++)
        hung += hung_up(fds[i]);
    long after = harness_rss_kib(d->pid);
    long peak = peak_reset ? harness_peak_rss_kib(d->pid) : after;
    for (int i = 0; i < CLAIMS; i++)
        close(fds[i]);
    long next = harness_served_ms(d->url, SERVED_MS);
    long cost = (peak > after ? peak : after) - before;
    print_message("%s: %d frames claiming 2^40 bytes each: %d hung up at once; resident memory "
                  "%ld KiB before, %ld KiB after, peak %ld KiB%s: %ld KiB for all (limit %d); "
                  "the next client served in %ld ms\n",
                  transport(d), CLAIMS, hung, before, after, peak,
                  peak_reset ? "" : " (the peak could not be reset: after)", cost, CLAIM_COST_KIB,
                  next);
    assert_int_equal(hung, CLAIMS);
    assert_true(cost < CLAIM_COST_KIB);
    assert_true(next >= 0);
}

static void frame_claiming_2_pow_40_bytes_costs_under_a_mebibyte(void **state)
{
    (void)state;
    huge_frame_claim_costs_under_a_mebibyte(&daemon_);
}

/* --- silent peers --- */

static void silent_peers_do_not_delay_a_new_client(struct harness_daemon *d)
{
    int fds_before = harness_open_fds(d->pid);
    static int fds[SILENT_PEERS];
    for (int i = 0; i < SILENT_PEERS; i++) {
        fds[i] = harness_raw_connect(d->url);
        assert_true(fds[i] >= 0);
    }
    /* Wait (bounded) until the daemon has taken in all it will take, so that the probes come
     * after the silent peers: its open files stop growing for a while. */
    int held = harness_open_fds(d->pid);
    for (long long t0 = harness_now_ms(), still_since = t0;
         held < fds_before + SILENT_PEERS && harness_now_ms() - still_since < SILENT_SETTLE_MS &&
         harness_now_ms() - t0 < SETTLE_MS;) {
        harness_sleep_ms(20);
        int now = harness_open_fds(d->pid);
        if (now != held)
            still_since = harness_now_ms();
        held = now;
    }
    long long settled = harness_now_ms();
    struct probes with_them = {0};
    for (int i = 0; i < SILENT_PROBES; i++)
        probe(d, &with_them);
    /* when clients were turned away, for how long (for the report) */
    long refused_ms = 0;
    if (with_them.served < with_them.sent) {
        while (harness_served_ms(d->url, SERVED_MS) < 0 && harness_now_ms() - settled < RECOVERY_MS)
            harness_sleep_ms(100);
        refused_ms = (long)(harness_now_ms() - settled);
    }
    for (int i = 0; i < SILENT_PEERS; i++)
        close(fds[i]);
    int fds_after = settle_fds(d, fds_before + FD_SLACK);
    print_message("%s: %d connections that never send, %d daemon files open with them (%d "
                  "before); ",
                  transport(d), SILENT_PEERS, held, fds_before);
    print_probes(&with_them);
    if (refused_ms)
        print_message("; new clients were turned away for %ld ms%s", refused_ms,
                      refused_ms >= RECOVERY_MS ? " and more" : "");
    print_message("; files open after they left: %d\n", fds_after);
    assert_int_equal(with_them.served, SILENT_PROBES);
    assert_true(fds_after <= fds_before + FD_SLACK);
}

static void three_hundred_silent_connections_do_not_delay_a_new_client(void **state)
{
    (void)state;
    silent_peers_do_not_delay_a_new_client(&daemon_);
}

/* --- request ids that try to forge or colour log lines --- */

static const char *const hostile_ids[] = {
    "\x1b[31mred\x1b[0m",
    "line\n0000-01-01T00:00:00.000Z info  call request_id=forged method=/forged code=0",
    "\r\x1b[2Kerased",
    "tab\there",
    "bell\a\b\b\bbackspaces",
    "\x1b]0;window title\x07",
    "\x1b[1A\x1b[Kup a line",
    "del\x7f",
    "vertical\v\fform",
    "\302\23331mC1 CSI", /* U+009B, the one-character CSI, then "31m" */
    "\xe2\x80\xa8line separator",
    "\xff\xfe not UTF-8",
    "a-very-long-id-of-plain-characters-that-runs-on-past-sixty-four-bytes-of-log",
};
#define HOSTILE_IDS (sizeof hostile_ids / sizeof hostile_ids[0])

/* The calls each hostile id is sent with: each takes another path through the daemon. */
static const char *const hostile_methods[] = {
    "/clinic.v1.Health/Check",         /* answered OK */
    "/clinic.v1.Rooms/ListRooms",      /* no token: UNAUTHENTICATED */
    "/clinic.v1.Nope/\x1b[31mNothing", /* unknown, and a hostile name too */
};
#define HOSTILE_METHODS (sizeof hostile_methods / sizeof hostile_methods[0])

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = strchr(text, '\n'); p; p = strchr(p + 1, '\n'))
        n++;
    return n;
}

static void hostile_request_ids_leave_one_clean_log_line_per_call(void **state)
{
    (void)state;
    char *log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    size_t from = strlen(log);
    free(log);
    clinic_client *c = harness_connect_as(daemon_.url, NULL);
    assert_non_null(c);
    int calls = 0, echoed = 0;
    for (size_t i = 0; i < HOSTILE_IDS; i++) {
        for (size_t m = 0; m < HOSTILE_METHODS; m++) {
            Clinic__V1__RpcRequest env = CLINIC__V1__RPC_REQUEST__INIT;
            env.method = (char *)hostile_methods[m];
            env.request_id = (char *)hostile_ids[i];
            env.idempotency_key = (char *)hostile_ids[i];
            uint8_t buf[512];
            assert_true(clinic__v1__rpc_request__get_packed_size(&env) <= sizeof buf);
            size_t len = clinic__v1__rpc_request__pack(&env, buf);
            void *reply = NULL;
            size_t reply_len = 0;
            struct clinic_error err;
            assert_int_equal(clinic_call_raw(c, buf, len, &reply, &reply_len, 5000, &err),
                             STATUS_OK);
            Clinic__V1__RpcResponse *resp =
                clinic__v1__rpc_response__unpack(NULL, reply_len, reply);
            assert_non_null(resp);
            assert_non_null(resp->status);
            echoed += strcmp(resp->request_id, hostile_ids[i]) == 0;
            clinic__v1__rpc_response__free_unpacked(resp, NULL);
            free(reply);
            calls++;
        }
    }
    clinic_close(c);
    log = harness_daemon_log(&daemon_);
    assert_non_null(log);
    const char *added = log + from;
    int lines = count_lines(added), call_lines = 0, unclean = 0;
    for (const char *line = added; *line; line += strcspn(line, "\n") + 1) {
        size_t n = strcspn(line, "\n");
        const char *call = strstr(line, " call request_id=");
        call_lines += call && call < line + n;
        for (size_t k = 0; k < n; k++)
            unclean += (unsigned char)line[k] < 0x20 || (unsigned char)line[k] >= 0x7f;
        if (!line[n])
            break;
    }
    print_message("%d calls with %zu hostile request ids over %zu paths: %d log lines added, %d "
                  "of them call lines, %d bytes outside printable ASCII; %d ids echoed intact\n",
                  calls, HOSTILE_IDS, HOSTILE_METHODS, lines, call_lines, unclean, echoed);
    if (unclean || lines != calls)
        fail_msg("the log did not get one clean line per call:\n%s", added);
    assert_int_equal(call_lines, calls);
    assert_null(strstr(added, "forged"));
    free(log);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousand_aborted_handshakes_then_a_client_is_served_within_a_second),
        cmocka_unit_test(frame_claiming_2_pow_40_bytes_costs_under_a_mebibyte),
        cmocka_unit_test(three_hundred_silent_connections_do_not_delay_a_new_client),
        cmocka_unit_test(hostile_request_ids_leave_one_clean_log_line_per_call),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
