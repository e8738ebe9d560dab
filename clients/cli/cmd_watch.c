/* cmd_watch.c: `clinic watch`: appointment changes as they happen.
 *
 * libclinic's subscription does the work (clinic.h): it resumes after --after (or from the
 * newest event), fills what PUB/SUB lost with Events/Since, re-dials a daemon that went away
 * and hands out every event once, in order. This file parses the options and prints. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clinic/v1/events.pb-c.h"

/* How long one wait for an event lasts: a Ctrl-C is noticed within it. Long enough for the
 * Events/Since call a wait may need to make. */
#define POLL_MS 1000
/* How often the watch asks Events/Since without a live event: the only way changes show up
 * while the events socket is out of reach. */
#define RESYNC_MS 3000
/* How long the events socket may take to connect before the watch says it only polls. A dial
 * that answers at all answers within milliseconds; a firewall that drops packets never does. */
#define LIVE_GRACE_MS 2000

struct watch {
    struct cli *cli;
    const char *topic;
    long long remaining; /* events still to print; -1: no limit */
    bool events_given;   /* --events or CLINIC_EVENTS named the socket */
    bool polling_said;   /* the "only polling" warning was printed */
    long long started_ms;
};

static atomic_bool interrupted;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&interrupted, true);
}

static void print_event(struct watch *w, const Clinic__V1__Event *e)
{
    if (w->cli->json) {
        cli_print_json(&e->base);
    } else {
        /* "2026-03-29T09:00:00+02:00" shown as "2026-03-29 09:00" */
        printf(
            "%-6llu %-26s appointment %-6lld %.10s %.5s  therapist %lld  room %lld  client %lld\n",
            (unsigned long long)e->seq, e->topic, (long long)e->appointment_id, e->start_time,
            strlen(e->start_time) > 11 ? e->start_time + 11 : "", (long long)e->therapist_id,
            (long long)e->room_id, (long long)e->client_id);
    }
    fflush(stdout);
    if (w->remaining > 0)
        w->remaining--;
}

/* The sequence number to watch after: --after, else CLINIC_AFTER_NOW (live from now). */
static bool starting_point(const char *after, uint64_t *seq)
{
    if (!after) {
        *seq = CLINIC_AFTER_NOW;
        return true;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(after, &end, 10);
    *seq = v;
    return !errno && end != after && !*end && *after != '-' && v != CLINIC_AFTER_NOW;
}

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Says on stderr, once, that the watch only polls and how to make it live; and once it goes
 * live after all, that too. A screen that shows changes seconds late without saying why is the
 * failure this exists for: a front desk on another machine cannot reach a daemon's events
 * socket on 127.0.0.1, and used to watch a stale screen in silence. */
static void watch_report_liveness(struct watch *w, const clinic_subscription *sub)
{
    struct clinic_subscription_stats st;
    clinic_subscription_stats(sub, &st);
    const char *url = clinic_subscription_events_url(sub);
    if (w->polling_said && st.connections > 0) {
        fprintf(stderr,
                "clinic watch: connected to the events socket at %s: changes now show up "
                "as they happen\n",
                url);
        w->polling_said = false;
        return;
    }
    if (w->polling_said || st.connections > 0)
        return;
    if (!url[0]) {
        fprintf(stderr,
                "clinic watch: the daemon publishes no events (it runs with --events \"\"), so "
                "changes show up only by asking it every %d s; start clinicd with --events "
                "tcp://0.0.0.0:7451 to see them as they happen\n",
                RESYNC_MS / 1000);
        w->polling_said = true;
    } else if (monotonic_ms() - w->started_ms >= LIVE_GRACE_MS) {
        fprintf(stderr,
                "clinic watch: cannot reach the events socket at %s (%s), so changes show up "
                "only by asking the daemon every %d s; open that port to this machine (clinicd "
                "--events tcp://0.0.0.0:PORT listens on every interface) or pass --events with a "
                "URL that reaches it\n",
                url,
                w->events_given ? "given by --events or CLINIC_EVENTS" : "reported by the daemon",
                RESYNC_MS / 1000);
        w->polling_said = true;
    }
}

/* Prints events until --count is reached or a signal comes. A daemon out of reach is reported
 * once per outage and waited for (the subscription re-dials and catches up); a refusal ends the
 * watch with its status. */
static int watch_loop(struct watch *w, clinic_subscription *sub)
{
    bool outage_reported = false;
    while (!atomic_load(&interrupted) && w->remaining != 0) {
        Clinic__V1__Event *e;
        struct clinic_error err;
        int code = clinic_subscription_next(sub, POLL_MS, &e, &err);
        /* a daemon out of reach gets its own message below: polling is then no help either */
        if (code != STATUS_UNAVAILABLE)
            watch_report_liveness(w, sub);
        if (code == STATUS_OK) {
            print_event(w, e);
            clinic__v1__event__free_unpacked(e, NULL);
            outage_reported = false;
        } else if (code == STATUS_UNAVAILABLE) {
            if (!outage_reported)
                cli_fail(w->cli, &err);
            outage_reported = true;
        } else if (code != STATUS_DEADLINE_EXCEEDED) {
            return cli_fail(w->cli, &err);
        }
    }
    return 0;
}

int cmd_watch(struct cli *cli, int argc, char **argv)
{
    const char *events_url = getenv("CLINIC_EVENTS"), *after = NULL;
    struct watch w = {.cli = cli, .topic = "appointment.", .remaining = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--events") == 0 && v)
            events_url = argv[++i];
        else if (strcmp(a, "--after") == 0 && v)
            after = argv[++i];
        else if (strcmp(a, "--topic") == 0 && v)
            w.topic = argv[++i];
        else if (strcmp(a, "--count") == 0 && v)
            w.remaining = strtoll(argv[++i], NULL, 10);
        else
            return cli_usage_error(cli, "unexpected argument \"%s\"", a);
    }
    if (w.remaining == 0 || w.remaining < -1)
        return cli_usage_error(cli, "--count must be a positive number");
    uint64_t after_seq;
    if (!starting_point(after, &after_seq))
        return cli_usage_error(cli, "--after must be a sequence number");
    struct clinic_error err;
    if (!cli_connect(cli, &err))
        return cli_fail(cli, &err);
    /* without --events or CLINIC_EVENTS the subscription asks the daemon where its events are */
    w.events_given = events_url && events_url[0];
    struct clinic_subscribe_options opts = {.events_url = w.events_given ? events_url : NULL,
                                            .topic = w.topic,
                                            .call_timeout_ms = cli->timeout_ms,
                                            .resync_ms = RESYNC_MS};
    clinic_subscription *sub;
    if (clinic_subscribe(cli->client, after_seq, &opts, &sub, &err) != STATUS_OK)
        return cli_fail(cli, &err);
    w.started_ms = monotonic_ms();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int code = watch_loop(&w, sub);
    clinic_subscription_close(sub);
    return code;
}
