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

#include "cli.h"
#include "clinic/v1/events.pb-c.h"

/* How long one wait for an event lasts: a Ctrl-C is noticed within it. Long enough for the
 * Events/Since call a wait may need to make. */
#define POLL_MS 1000

struct watch {
    struct cli *cli;
    const char *topic;
    long long remaining; /* events still to print; -1: no limit */
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
            return cli_usage_error("watch", "unexpected argument \"%s\"", a);
    }
    if (w.remaining == 0 || w.remaining < -1)
        return cli_usage_error("watch", "--count must be a positive number");
    uint64_t after_seq;
    if (!starting_point(after, &after_seq))
        return cli_usage_error("watch", "--after must be a sequence number");
    struct clinic_error err;
    if (!cli_connect(cli, &err))
        return cli_fail(cli, &err);
    struct clinic_subscribe_options opts = {
        .events_url = events_url, .topic = w.topic, .call_timeout_ms = cli->timeout_ms};
    clinic_subscription *sub;
    if (clinic_subscribe(cli->client, after_seq, &opts, &sub, &err) != STATUS_OK)
        return cli_fail(cli, &err);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int code = watch_loop(&w, sub);
    clinic_subscription_close(sub);
    return code;
}
