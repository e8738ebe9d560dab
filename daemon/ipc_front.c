/* ipc_front.c: one thread that accepts ipc:// clients and relays them to nng's listener.
 *
 * DESIGN: nng 1.5.2's IPC listener stops accepting for good when a peer hangs up before nng has
 * sent its half of the SP handshake: the send fails with EPIPE, which nng reports as NNG_ECLOSED,
 * and the listener takes that for its own closing (upstream issue 1518, fixed in 1.6.0). Closing
 * and re-creating such a listener does not help: it keeps its socket and every connection it had
 * negotiated. So no client reaches nng's listener directly. This thread accepts on the public
 * path, waits for the client's whole 8-byte SP header, and only then connects to nng's listener
 * on a private path (in a 0700 folder) and relays bytes both ways. It hangs up on nng only after
 * nng's own header has arrived, so nng never sees a handshake broken off, whatever clients do.
 *
 * Bounds: at most max_connections relayed clients (more are accepted and closed at once, so
 * they fail fast instead of waiting in the backlog), and at most HELLO_SLOTS clients that have
 * not finished their header, each for at most HELLO_MS; a newcomer beyond them pushes out the
 * one waited on longest, so silent peers cannot keep others out. A relay holds two RELAY_BYTES
 * buffers. */
#include "ipc_front.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SP_HEADER_BYTES 8
#define HELLO_SLOTS     256
#define LISTEN_BACKLOG  1024 /* the kernel caps it at net.core.somaxconn (4096) */
#define HELLO_MS        5000 /* a client's header must arrive within this */
#define NNG_HELLO_MS                                                                               \
    15000 /* a relay whose client left waits this long for nng's header (nng                       \
           * gives up negotiating after 10 s) */
#define RELAY_BYTES      16384
#define ACCEPTS_PER_TURN 64
#define PRIVATE_PARENT   "/tmp"
#define PRIVATE_PREFIX   "clinicd-ipc-"
#define STALE_AFTER_S    60 /* a private folder younger than this may be a daemon starting up */

/* Bytes read from one side and not yet written to the other. */
struct flow {
    uint8_t buf[RELAY_BYTES];
    size_t off, len;
};

struct relay {
    int client, nng;  /* -1 when closed or not yet connected */
    struct flow up;   /* client -> nng; before nng is connected, the client's SP header */
    struct flow down; /* nng -> client */
    size_t from_nng;  /* bytes nng has sent: its SP header is the first 8 */
    bool client_gone; /* hung up or failed: the relay ends once nng's header is in */
    int64_t deadline_ms;
};

struct ipc_front {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char inner_dir[64];
    char inner_path[96];
    char inner_url[104];
    unsigned mode;
    int max_connections;
    int protocol; /* nng's SP protocol number on this socket (REP, PUB) */
    int listen_fd;
    int wake[2]; /* a byte on wake[1] tells the thread to stop */
    pthread_t thread;
    bool thread_started;
    struct relay *relays; /* max_connections + HELLO_SLOTS slots */
    int n_slots;
    bool refusing; /* the last client was refused for lack of room: log once per episode */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool fill_sockaddr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return false;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return true;
}

/* True when something accepts connections on path. */
static bool someone_listens(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || !fill_sockaddr(path, &sa)) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    bool yes = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return yes;
}

/* Clears a socket left behind by a daemon that died; refuses anything else at path. */
static bool path_is_free(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return true;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; remove it or choose another path",
                 path);
        return false;
    }
    if (someone_listens(path)) {
        snprintf(err, errlen,
                 "another program already listens on %s; stop it or choose another "
                 "path",
                 path);
        return false;
    }
    unlink(path);
    return true;
}

/* Removes the private folders of daemons that died without cleaning up (kill -9): ours, old
 * enough, and with nobody listening on the socket inside. */
static void remove_stale_private_folders(void)
{
    DIR *d = opendir(PRIVATE_PARENT);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        char dir[128], sock[160];
        struct stat st;
        if (strncmp(e->d_name, PRIVATE_PREFIX, strlen(PRIVATE_PREFIX)) != 0)
            continue;
        snprintf(dir, sizeof dir, "%s/%.64s", PRIVATE_PARENT, e->d_name);
        snprintf(sock, sizeof sock, "%s/nng.sock", dir);
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
            time(NULL) - st.st_mtime < STALE_AFTER_S || someone_listens(sock))
            continue;
        unlink(sock);
        rmdir(dir);
    }
    closedir(d);
}

struct ipc_front *ipc_front_create(const char *path, unsigned mode, int max_connections,
                                   int protocol, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (!fill_sockaddr(path, &sa)) {
        snprintf(err, errlen, "the socket path %s is too long (at most %zu bytes)", path,
                 sizeof sa.sun_path - 1);
        return NULL;
    }
    if (!path_is_free(path, err, errlen))
        return NULL;
    struct ipc_front *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->listen_fd = f->wake[0] = f->wake[1] = -1;
    snprintf(f->path, sizeof f->path, "%s", path);
    f->mode = mode;
    f->max_connections = max_connections;
    f->protocol = protocol;
    remove_stale_private_folders();
    snprintf(f->inner_dir, sizeof f->inner_dir, PRIVATE_PARENT "/" PRIVATE_PREFIX "XXXXXX");
    if (!mkdtemp(f->inner_dir)) {
        snprintf(err, errlen, "cannot create a private folder in " PRIVATE_PARENT ": %s",
                 strerror(errno));
        free(f);
        return NULL;
    }
    snprintf(f->inner_path, sizeof f->inner_path, "%s/nng.sock", f->inner_dir);
    snprintf(f->inner_url, sizeof f->inner_url, "ipc://%s", f->inner_path);
    return f;
}

const char *ipc_front_inner_url(const struct ipc_front *f)
{
    return f->inner_url;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void relay_end(struct relay *r)
{
    close_fd(&r->client);
    close_fd(&r->nng);
}

static bool slot_free(const struct relay *r)
{
    return r->client < 0 && r->nng < 0;
}

static int relayed_count(const struct ipc_front *f)
{
    int n = 0;
    for (int i = 0; i < f->n_slots; i++)
        n += f->relays[i].nng >= 0;
    return n;
}

static bool valid_sp_header(const uint8_t *h)
{
    return h[0] == 0 && h[1] == 'S' && h[2] == 'P' && h[3] == 0 && h[6] == 0 && h[7] == 0;
}

/* The client's header is complete: connect to nng (a local listener answers at once or not at
 * all) and hand it the header. */
static void connect_to_nng(struct ipc_front *f, struct relay *r)
{
    if (!valid_sp_header(r->up.buf)) {
        relay_end(r);
        return;
    }
    if (relayed_count(f) >= f->max_connections) {
        /* Our header, as nng's would be, before the hang-up: a handshake nng's dialer sees broken
         * off leaks its pipe and dialer in the client (the dialing side of nng issue 1518). */
        uint8_t ours[SP_HEADER_BYTES] = {
            0, 'S', 'P', 0, (uint8_t)(f->protocol >> 8), (uint8_t)f->protocol, 0, 0};
        (void)!write(r->client, ours, sizeof ours);
        if (!f->refusing)
            log_msg(LOG_LEVEL_WARN,
                    "refusing IPC clients on %s: %d connections are open (--max-connections)",
                    f->path, f->max_connections);
        f->refusing = true;
        relay_end(r);
        return;
    }
    f->refusing = false;
    struct sockaddr_un sa;
    fill_sockaddr(f->inner_path, &sa);
    r->nng = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (r->nng < 0 || connect(r->nng, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        write(r->nng, r->up.buf, SP_HEADER_BYTES) != SP_HEADER_BYTES) {
        log_msg(LOG_LEVEL_WARN, "cannot relay an IPC client to nng: %s", strerror(errno));
        relay_end(r);
        return;
    }
    r->up.off = r->up.len = 0;
}

static void client_left(struct relay *r)
{
    if (r->client_gone)
        return;
    r->client_gone = true;
    close_fd(&r->client);
    r->deadline_ms = now_ms() + NNG_HELLO_MS;
}

/* Reads what src offers into fl (empty) ; false on end of stream or error. */
static bool flow_read(int src, struct flow *fl, size_t want)
{
    ssize_t n = read(src, fl->buf + fl->len, want);
    if (n > 0) {
        fl->len += (size_t)n;
        return true;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR);
}

static bool flow_write(int dst, struct flow *fl)
{
    ssize_t n = send(dst, fl->buf + fl->off, fl->len - fl->off, MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    fl->off += (size_t)n;
    if (fl->off == fl->len)
        fl->off = fl->len = 0;
    return true;
}

static void relay_step(struct ipc_front *f, struct relay *r, short client_ev, short nng_ev)
{
    if (r->nng < 0) { /* still reading the client's header */
        if ((client_ev & (POLLIN | POLLHUP | POLLERR)) &&
            !flow_read(r->client, &r->up, SP_HEADER_BYTES - r->up.len)) {
            relay_end(r);
            return;
        }
        if (r->up.len == SP_HEADER_BYTES)
            connect_to_nng(f, r);
        return;
    }
    if ((nng_ev & POLLOUT) && !flow_write(r->nng, &r->up)) {
        relay_end(r);
        return;
    }
    if (nng_ev & (POLLIN | POLLHUP | POLLERR)) {
        size_t before = r->down.len;
        if (!flow_read(r->nng, &r->down, sizeof r->down.buf - r->down.len)) {
            relay_end(r); /* nng hung up: its side of the handshake is not at risk */
            return;
        }
        r->from_nng += r->down.len - before;
    }
    if (r->client_gone) {
        r->down.off = r->down.len = 0; /* nobody to deliver to */
    } else {
        if ((client_ev & POLLOUT) && !flow_write(r->client, &r->down))
            client_left(r);
        else if ((client_ev & (POLLIN | POLLHUP | POLLERR)) &&
                 !flow_read(r->client, &r->up, sizeof r->up.buf - r->up.len))
            client_left(r);
    }
    if (r->client_gone && r->from_nng >= SP_HEADER_BYTES)
        relay_end(r);
}

/* A slot for a new client: a free one, or, when HELLO_SLOTS clients are still to send their
 * header, the slot of the one waited on longest. Peers that connect and stay silent so push
 * each other out, and a client that sends its header at once always gets in. */
static struct relay *slot_for_newcomer(struct ipc_front *f)
{
    struct relay *free_slot = NULL, *oldest = NULL;
    int waiting = 0;
    for (int i = 0; i < f->n_slots; i++) {
        struct relay *r = &f->relays[i];
        if (slot_free(r) && !free_slot)
            free_slot = r;
        if (r->client >= 0 && r->nng < 0) {
            waiting++;
            if (!oldest || r->deadline_ms < oldest->deadline_ms)
                oldest = r;
        }
    }
    if (free_slot && waiting < HELLO_SLOTS)
        return free_slot;
    relay_end(oldest); /* slots outnumber relays by HELLO_SLOTS: oldest is set here */
    return oldest;
}

static void accept_clients(struct ipc_front *f)
{
    for (int turn = 0; turn < ACCEPTS_PER_TURN; turn++) {
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        *slot_for_newcomer(f) =
            (struct relay){.client = fd, .nng = -1, .deadline_ms = now_ms() + HELLO_MS};
    }
}

/* Fills the poll set: [0] the wake pipe, [1] the listener, then two entries per slot. */
static int64_t poll_set(struct ipc_front *f, struct pollfd *fds)
{
    int64_t next = now_ms() + 1000;
    fds[0] = (struct pollfd){.fd = f->wake[0], .events = POLLIN};
    fds[1] = (struct pollfd){.fd = f->listen_fd, .events = POLLIN};
    for (int i = 0; i < f->n_slots; i++) {
        struct relay *r = &f->relays[i];
        struct pollfd *c = &fds[2 + 2 * i], *n = c + 1;
        *c = (struct pollfd){.fd = r->client};
        *n = (struct pollfd){.fd = r->nng};
        if (r->nng < 0) {
            c->events = POLLIN;
        } else {
            c->events = (short)((r->up.len == 0 ? POLLIN : 0) | (r->down.len ? POLLOUT : 0));
            n->events = (short)((r->down.len == 0 ? POLLIN : 0) | (r->up.len ? POLLOUT : 0));
        }
        if (!slot_free(r) && (r->nng < 0 || r->client_gone) && r->deadline_ms < next)
            next = r->deadline_ms;
    }
    return next;
}

static void end_overdue(struct ipc_front *f)
{
    int64_t now = now_ms();
    for (int i = 0; i < f->n_slots; i++) {
        struct relay *r = &f->relays[i];
        if (!slot_free(r) && (r->nng < 0 || r->client_gone) && r->deadline_ms <= now)
            relay_end(r);
    }
}

static void *front_main(void *arg)
{
    struct ipc_front *f = arg;
    size_t n_fds = 2 + 2 * (size_t)f->n_slots;
    struct pollfd *fds = calloc(n_fds, sizeof *fds);
    if (!fds) {
        log_msg(LOG_LEVEL_ERROR, "out of memory: IPC clients on %s are no longer served", f->path);
        return NULL;
    }
    for (;;) {
        int64_t next = poll_set(f, fds);
        int64_t wait = next - now_ms();
        if (poll(fds, n_fds, wait < 0 ? 0 : (int)wait) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        for (int i = 0; i < f->n_slots; i++)
            if (fds[2 + 2 * i].revents | fds[3 + 2 * i].revents)
                relay_step(f, &f->relays[i], fds[2 + 2 * i].revents, fds[3 + 2 * i].revents);
        end_overdue(f);
        if (fds[1].revents & POLLIN)
            accept_clients(f);
    }
    free(fds);
    return NULL;
}

static bool bind_public(struct ipc_front *f, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    fill_sockaddr(f->path, &sa);
    f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    /* No client can connect between bind and listen, so the mode is set before anyone can. */
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, errlen, "cannot listen on ipc://%s: %s", f->path, strerror(errno));
        return false;
    }
    if (chmod(f->path, f->mode) != 0 || listen(f->listen_fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "cannot listen on ipc://%s: %s", f->path, strerror(errno));
        unlink(f->path);
        return false;
    }
    return true;
}

bool ipc_front_open(struct ipc_front *f, char *err, size_t errlen)
{
    f->n_slots = f->max_connections + HELLO_SLOTS;
    f->relays = calloc((size_t)f->n_slots, sizeof *f->relays);
    if (!f->relays || pipe2(f->wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "out of memory for %d IPC connections", f->max_connections);
        return false;
    }
    for (int i = 0; i < f->n_slots; i++)
        f->relays[i].client = f->relays[i].nng = -1;
    if (!bind_public(f, err, errlen))
        return false;
    if (pthread_create(&f->thread, NULL, front_main, f) != 0) {
        snprintf(err, errlen, "cannot start the IPC thread for %s", f->path);
        return false;
    }
    f->thread_started = true;
    return true;
}

void ipc_front_close(struct ipc_front *f)
{
    if (!f)
        return;
    if (f->thread_started) {
        (void)!write(f->wake[1], "x", 1);
        pthread_join(f->thread, NULL);
    }
    for (int i = 0; f->relays && i < f->n_slots; i++)
        relay_end(&f->relays[i]);
    if (f->listen_fd >= 0) {
        close_fd(&f->listen_fd);
        unlink(f->path);
    }
    close_fd(&f->wake[0]);
    close_fd(&f->wake[1]);
    unlink(f->inner_path); /* nng removes it when its listener closes; this covers a failed start */
    rmdir(f->inner_dir);
    free(f->relays);
    free(f);
}
