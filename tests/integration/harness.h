/* harness.h: what integration tests stand on: a private PostgreSQL cluster in a temporary folder
 * (the daemon's own embedded_pg module, run unprivileged when root), clinicd processes on free
 * ports, and the `clinic` tool run as a user would. Every wait is bounded. */
#ifndef CLINIC_HARNESS_H
#define CLINIC_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clinic.h"
#include "embedded_pg.h"

struct harness_pg {
    char dir[128];
    struct embedded_pg pg;
};

/* A new folder "<prefix>XXXXXX" (prefix under /tmp/clinic-), mode 0755 so that PostgreSQL's
 * unprivileged user reaches a cluster inside; its path into dir. */
bool harness_temp_dir(const char *prefix, char *dir, size_t len);
/* Removes a folder harness_temp_dir made, and everything in it (nothing outside /tmp/clinic-). */
void harness_remove_tree(const char *dir);

/* Creates a temporary folder and starts a fresh cluster in it (fsync off). */
bool harness_pg_start(struct harness_pg *h);
/* Stops the server, keeping the folder (to start it again with harness_pg_restart). */
bool harness_pg_stop(struct harness_pg *h);
bool harness_pg_restart(struct harness_pg *h);
/* Stops the server and removes the folder. */
void harness_pg_destroy(struct harness_pg *h);

/* Creates database `name` in the cluster and writes its URL into url. */
bool harness_pg_create_database(struct harness_pg *h, const char *name, char *url, size_t len);

/* Runs one SQL statement on url and returns the first column of the first row (malloc'd, "" when
 * no row), or NULL on error. */
char *harness_sql(const char *url, const char *sql);

/* Runs one statement built printf-style (at most 1023 bytes) and returns the first column of its
 * first row as an integer (an INSERT ... RETURNING id), or -1 on error or no row. */
long long harness_sql_id(const char *url, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A small clinic written straight into a database by SQL, for scheduling tests: one location
 * in `zone` (no minimum notice, 15-minute grid, bookable 10 years ahead), rooms A and B with a
 * table, a 60-minute service with 15 minutes of cleanup after, `therapists` therapists who
 * perform it and work 09:00-17:00 local every day, and `clients` clients, who gave general
 * consent and consent to gluteal work long ago, before any session a test may write in the past
 * (so they check in, and notes naming the glutes are signed, as in a clinic whose paperwork is
 * done; tests of consent make clients of their own). */
#define HARNESS_MAX_SEEDED 64
struct harness_clinic {
    long long location_id;
    long long room_ids[2];
    long long service_id;
    long long therapist_ids[HARNESS_MAX_SEEDED];
    long long client_ids[HARNESS_MAX_SEEDED];
};
bool harness_seed_clinic(const char *url, const char *zone, int therapists, int clients,
                         struct harness_clinic *out);

/* --- dates: tests compute theirs from today, so the suite passes on any day of any year --- */

/* The calendar year after the current one (UTC). Every day of it lies ahead of "now", within
 * the seeded clinic's 10-year horizon, whatever day the suite runs: tests book there. */
int harness_next_year(void);

/* Writes the date `days` after date ("YYYY-MM-DD", days may be negative) into out (11 bytes). */
void harness_date_add(const char *date, int days, char *out, size_t len);

/* A change of a zone's clocks, as PostgreSQL's zone database (the daemon's) knows it. */
struct harness_dst_change {
    char day[11];          /* the local date of the change, "YYYY-MM-DD" */
    char next_day[11];     /* the local date after it */
    char offset_before[7]; /* the UTC offset before the change, "+01:00" */
    char offset_after[7];  /* and after it, "+02:00" */
    char hour[3];          /* the local hour skipped (forward) or repeated (back), "02" */
};

/* The first change of zone's clocks in `year`, forward (spring: the offset grows) or back, read
 * through the database at db_url. False when the zone has none that year. */
bool harness_dst_change(const char *db_url, const char *zone, int year, bool forward,
                        struct harness_dst_change *out);

struct harness_daemon {
    pid_t pid;
    char url[64];
    char events_url[64];
    char log_path[192];
    char admin_token[64]; /* an admin's token, when started with a database (see below) */
};

/* The admin every harness database gets (created on the first daemon start with a database). */
#define HARNESS_ADMIN_EMAIL "harness-admin@clinic.test"
#define HARNESS_PASSWORD    "correct horse battery staple"

/* Creates a user straight in the database (role "admin", "front_desk", "therapist" or "client";
 * therapist_id / client_id 0 for none) with password (HARNESS_PASSWORD when NULL); an existing
 * user with that email is kept. Returns the user's id, or -1. */
long long harness_create_user(const char *db_url, const char *email, const char *role,
                              long long therapist_id, long long client_id, const char *password);

/* A person who logs in, for tests of who may do what: the user created in db_url as
 * harness_create_user does (HARNESS_PASSWORD), logged in through the daemon at url, the token in
 * token (64 bytes). False (after a line on stderr) when either step failed. */
bool harness_person(const char *db_url, const char *url, const char *email, const char *role,
                    long long therapist_id, long long client_id, char *token, size_t len);

/* Logs in through the daemon at url and writes the token into token (64 bytes); the status. */
int harness_login(const char *url, const char *email, const char *password, char *token,
                  size_t len);

/* A client connected to url that sends token with every call (NULL: none). */
clinic_client *harness_connect_as(const char *url, const char *token);

/* Starts clinicd with --database url (NULL: no --database) and extra arguments (NULL-terminated,
 * may be NULL; a later --listen or --events overrides the harness's), logging to a file in dir.
 * With a database and wait_serving, it also makes sure the harness admin exists, logs in as
 * them into d->admin_token and exports it as CLINIC_TOKEN, which clinic_connect and the clinic
 * tool read: tests that are not about accounts call as that admin without further ado.
 * Sockets listen on port 0: the system picks free ports and the harness reads the real URLs from
 * the daemon's log, so parallel tests never race for a port. When wait_serving, returns once
 * Health says SERVING (false if the process died or 60 s passed); otherwise at once, with
 * d->url unknown until harness_daemon_wait_url. */
bool harness_daemon_start(struct harness_daemon *d, const char *dir, const char *database_url,
                          const char *const *extra_args, bool wait_serving);
/* Waits (bounded) until the daemon has logged where it listens and fills d->url and
 * d->events_url ("" for a daemon that publishes no events); false if it exited first or
 * timeout_ms passed. */
bool harness_daemon_wait_url(struct harness_daemon *d, int timeout_ms);

/* Sends SIGTERM and waits (bounded); returns the exit status, or -1 if it had to be killed. */
int harness_daemon_stop(struct harness_daemon *d);
/* Waits (bounded) for the daemon to exit by itself; returns its exit status or -1. */
int harness_daemon_wait_exit(struct harness_daemon *d, int timeout_ms);
/* The daemon's log so far (malloc'd). */
char *harness_daemon_log(const struct harness_daemon *d);

/* Health/Check through libclinic: 1 SERVING, 2 NOT_SERVING, 0 UNKNOWN, -status on failure. */
int harness_health(const char *url, unsigned timeout_ms);

/* Calls "/clinic.v1.<method>" (e.g. "Rooms/CreateRoom") through c with a 10 s timeout. On OK
 * *out (when out is not NULL) holds the reply, else NULL. Mutating calls carry an idempotency
 * key: `key`, or a fresh one when key is NULL. Returns the status. */
int harness_call(clinic_client *c, const char *method, const void *request,
                 const ProtobufCMessageDescriptor *type, void *out, bool mutating, const char *key,
                 struct clinic_error *err);
/* True when err is INVALID_ARGUMENT and one of its violations names field. */
bool harness_has_violation(const struct clinic_error *err, const char *field);
/* True when both messages pack to the same bytes. */
bool harness_same_bytes(const void *a, const void *b);
/* Frees a reply from harness_call (NULL is fine). */
void harness_free_message(void *m);

/* Runs the clinic tool with argv (NULL-terminated, without the program name) and env overrides
 * ("NAME=value", NULL-terminated, may be NULL); captures stdout and stderr (malloc'd, may be NULL
 * to discard). Returns the exit status, -1 if it did not exit within 60 s. */
int harness_run_cli(const char *const *argv, const char *const *env, char **out, char **err);

/* Runs clinicd itself with argv (e.g. --help) the same way. */
int harness_run_clinicd(const char *const *argv, char **out, char **err);

/* As harness_run_cli / harness_run_clinicd, with `input` on standard input (a pipe, not a
 * terminal). */
int harness_run_cli_input(const char *const *argv, const char *const *env, const char *input,
                          char **out, char **err);
int harness_run_clinicd_input(const char *const *argv, const char *input, char **out, char **err);

/* Runs any program (an absolute path) the same way: a test's oracle in another language. */
int harness_run_program(const char *program, const char *const *argv, const char *const *env,
                        char **out, char **err);

/* What a run of the clinic tool left: its exit status, stdout and stderr (malloc'd). */
struct harness_run {
    int status;
    char *out;
    char *err;
};
void harness_run_free(struct harness_run *r);

/* Runs `clinic --url url args...` (args NULL-terminated) as the person whose token is given
 * (CLINIC_TOKEN), as a test of who may do what does. */
struct harness_run harness_cli_as(const char *url, const char *token, const char *const *args);
/* The same, and fails the test (quoting both outputs) unless the tool exits with `status` and,
 * when says is not NULL, prints it on stdout or stderr. */
void harness_cli_expect(const char *url, const char *token, int status, const char *says,
                        const char *const *args);

/* Fails the test, quoting text, unless text contains part. */
void harness_assert_contains(const char *text, const char *part);

/* Copies the first "id":"N" of a JSON reply into out (fails the test when there is none). */
void harness_json_id(const char *json, char *out, size_t len);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int harness_free_port(void);

/* Reads a whole file (malloc'd, NUL-terminated) or NULL. */
char *harness_read_file(const char *path);

void harness_sleep_ms(long ms);

/* --- faults and hostile peers: what attack tests measure and how they load a daemon --- */

/* Milliseconds on a monotonic clock, for measuring waits. */
long long harness_now_ms(void);

/* Stops the server in pg_ctl's immediate mode: every server process quits at once, without a
 * checkpoint, as after a crash; harness_pg_restart then runs crash recovery. */
bool harness_pg_stop_immediate(struct harness_pg *h);

/* How long a new client (fresh connection, Health/Check) took to be told SERVING, in ms; -1 when
 * it was not within timeout_ms. */
long harness_served_ms(const char *url, unsigned timeout_ms);

/* A stream socket connected to a daemon's tcp://HOST:PORT or ipc:///PATH URL, speaking nothing
 * yet; -1 on failure. */
int harness_raw_connect(const char *url);

/* As harness_raw_connect, then the SP handshake as a REQ peer ("\0SP\0", protocol 0x30, two zero
 * bytes) with the daemon's REP header read back within timeout_ms; -1 on failure. */
int harness_sp_connect(const char *url, int timeout_ms);

/* Writes into out (9 bytes) the frame header of a message claiming `length` bytes as the URL's
 * transport sends it (TCP: 8-byte big-endian length; IPC: a 1 byte, then that); its size. */
size_t harness_frame_header(const char *url, uint64_t length, uint8_t out[9]);

/* The resident memory of pid in KiB (VmRSS), its peak (VmHWM), or -1. */
long harness_rss_kib(pid_t pid);
long harness_peak_rss_kib(pid_t pid);
/* Resets pid's peak (VmHWM) to its current resident size; false where the kernel refuses. */
bool harness_reset_peak_rss(pid_t pid);
/* The number of open file descriptors of pid, or -1. */
int harness_open_fds(pid_t pid);

/* A booking load: up to HARNESS_LOAD_MAX_CALLERS threads book through one daemon URL, each with
 * its own client and its own seeded clinic (location, rooms, service, therapist, client in
 * HARNESS_LOAD_ZONE), so callers never compete for a slot or a lock and every refusal is the
 * fault's doing. Caller k's n-th call books day n / 6 of the next year at the n % 6-th of
 * 09:00, 10:15, 11:30, 12:45, 14:00, 15:15, with the idempotency key "<tag>-<k>-<n>". */
#define HARNESS_LOAD_MAX_CALLERS 16
#define HARNESS_LOAD_MAX_CALLS   (365 * 6)
#define HARNESS_LOAD_ZONE        "Europe/Berlin"

/* One Book call of a load caller and its answer. */
struct harness_booking {
    char key[48];   /* the idempotency key it was sent with */
    char start[24]; /* local start, "YYYY-MM-DD HH:MM" */
    int code;       /* the answer's status; STATUS_OK: acknowledged */
    long long id;   /* the appointment, when acknowledged */
    char message[160];
};

struct harness_load;

struct harness_load_caller {
    struct harness_load *load;
    int index;
    pthread_t thread;
    bool started;
    bool connected;
    struct harness_clinic clinic;
    struct harness_booking *bookings; /* HARNESS_LOAD_MAX_CALLS of them */
    int n;                            /* calls made: bookings[0..n) */
};

struct harness_load {
    char tag[16];
    char url[64];
    unsigned call_timeout_ms;
    int callers;
    atomic_bool stop;
    atomic_int acked;
    struct harness_load_caller caller[HARNESS_LOAD_MAX_CALLERS];
};

/* Seeds one clinic per caller in db_url; keys will start with tag (at most 15 characters, one
 * tag per load in a database). False on failure. */
bool harness_load_seed(struct harness_load *l, const char *db_url, int callers, const char *tag);
/* Starts the callers against url; each call may take call_timeout_ms (libclinic retries an
 * unreachable or UNAVAILABLE daemon within it, with the same key). */
bool harness_load_start(struct harness_load *l, const char *url, unsigned call_timeout_ms);
/* Waits until at least n calls in all were acknowledged; false if timeout_ms passed first. */
bool harness_load_wait_acked(struct harness_load *l, int n, int timeout_ms);
/* Tells the callers to stop after their current call and joins them. */
void harness_load_stop(struct harness_load *l);
void harness_load_free(struct harness_load *l);

/* Calls made, and calls answered with `code`. */
int harness_load_calls(const struct harness_load *l);
int harness_load_count(const struct harness_load *l, int code);
/* Acknowledged bookings that the database at db_url does not hold as booked with the id,
 * therapist, client and start they were acknowledged with (0 expected); -1 on error. */
long long harness_load_missing(const struct harness_load *l, const char *db_url);
/* Booked appointments at the load's locations; -1 on error. */
long long harness_load_rows(const struct harness_load *l, const char *db_url);

/* --- a pg_auto_failover formation: scripts/ha.sh --- */

/* Runs `scripts/ha.sh COMMAND` (up, down, url, standby-url, kill-primary, ...) with its folder
 * CLINIC_HA_DIR=dir; the first line it prints goes into out (NULL: nowhere). Its exit status. */
int harness_ha(const char *dir, const char *command, char *out, size_t len);

/* What resending calls with their own idempotency keys found. */
struct harness_resend {
    int acknowledged;  /* acknowledged calls resent */
    int unanswered;    /* calls without an OK answer resent */
    int had_committed; /* of those, booked already: the call committed, its answer was lost */
    int same;          /* resends answered with the appointment their key had already booked */
    int booked_now;    /* unanswered calls that the resend booked */
    int failed;        /* resends not answered OK */
    int different;     /* resends answered with another appointment than their key's */
};

/* Resends through url every call not answered OK and the last `acknowledged_per_caller`
 * acknowledged calls of each caller, each with its own key and request, after looking up in
 * db_url whether its slot is already booked. Every resend should return the appointment the key
 * booked (failed and different 0). Fills *out; false on a database error. */
bool harness_load_resend(struct harness_load *l, const char *url, const char *db_url,
                         int acknowledged_per_caller, struct harness_resend *out);

#endif
