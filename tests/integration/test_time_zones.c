/* Clock changes checked against an independent implementation of the IANA rules: for zones with
 * one-hour, 30-minute (Lord Howe), two-hour (Troll), negative (Dublin), suspended (Casablanca's
 * Ramadan), odd-offset (Chatham, St John's, Kathmandu) and abolished (São Paulo, Apia) daylight
 * saving, at every change of the coming 15 months (found from today, so the test passes on any
 * day of any year), FindSlots must offer exactly the starts that tz_oracle.py works out with
 * Python's zoneinfo: on the local wall clock's grid on both sides of the change and in both
 * passes of a repeated hour, within working hours whose bounds follow the documented rule, and
 * around a booking that ends inside the first pass. A typed local time must mean the instant the
 * oracle says (the first pass of a repeated time), and a skipped one must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clinic/v1/scheduling.pb-c.h"
#include "harness.h"
#include "status.h"

#define CALL_TIMEOUT_MS 20000
#define ORACLE          CLINIC_SOURCE_DIR "/tests/integration/tz_oracle.py"
#define MONTHS_AHEAD    15
#define MAX_CHANGES     16
#define MAX_STARTS      500
#define HOUR            3600

static const char *const zones[] = {
    "Europe/Berlin",     "America/New_York", "Europe/Dublin",     "Australia/Lord_Howe",
    "Pacific/Chatham",   "America/St_Johns", "Africa/Casablanca", "Antarctica/Troll",
    "America/Sao_Paulo", "Asia/Kathmandu",   "Pacific/Apia",
};
#define N_ZONES (sizeof zones / sizeof *zones)

/* A clinic in the zone: `round` works 00:00-24:00 every day, `night` 01:00-03:30 (the hours
 * clocks change in), so that working-hour bounds fall inside skipped and repeated times. */
struct site {
    const char *zone;
    struct harness_clinic c;
    long long round, night;
    int n_changes;
    struct change {
        int64_t at;
        int before, after; /* UTC offsets, seconds */
    } changes[MAX_CHANGES];
};
static struct site sites[N_ZONES];

static struct harness_pg pg;
static struct harness_daemon daemon_;
static clinic_client *client;
static char db_url[512];

/* An instant and its UTC offset, as the oracle prints them and as FindSlots answers. */
struct start {
    int64_t at;
    int offset;
};

/* --- the oracle --- */

/* Runs tz_oracle.py with the arguments and returns its output (malloc'd); fails the test when it
 * does not run or exits non-zero. */
static char *oracle(const char *args)
{
    char command[1024];
    snprintf(command, sizeof command, "/usr/bin/python3 %s %s", ORACLE, args);
    FILE *p = popen(command, "r");
    if (!p)
        fail_msg("cannot run %s", command);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2) {
            out = realloc(out, cap *= 2);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    if (pclose(p) != 0)
        fail_msg("%s failed:\n%s", command, out);
    return out;
}

/* Reads "EPOCH OFFSET" lines; returns their count. */
static int parse_starts(const char *text, struct start *out, int max)
{
    int n = 0;
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        long long at;
        int offset;
        if (sscanf(line, "%lld %d", &at, &offset) != 2)
            fail_msg("the oracle printed \"%.40s\"", line);
        assert_true(n < max);
        out[n++] = (struct start){.at = at, .offset = offset};
        if (!strchr(line, '\n'))
            break;
    }
    return n;
}

/* --- the daemon --- */

static void free_msg(void *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* "2027-03-28T09:00:00+02:00" as an instant and its offset (fails the test on any other shape). */
static struct start start_of(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S%z", &tm);
    if (!end || *end)
        fail_msg("\"%s\" is not RFC 3339 with an offset", s);
    int offset = (int)tm.tm_gmtoff;
    return (struct start){.at = (int64_t)timegm(&tm) - offset, .offset = offset};
}

/* An instant as RFC 3339 in UTC. */
static void utc_text(int64_t at, char *out, size_t len)
{
    time_t t = (time_t)at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int find_slots(const struct site *s, int64_t therapist, const char *from, const char *to,
                      struct start *out, int max, struct clinic_error *err)
{
    Clinic__V1__FindSlotsRequest req = CLINIC__V1__FIND_SLOTS_REQUEST__INIT;
    req.service_id = s->c.service_id;
    req.location_id = s->c.location_id;
    req.from = (char *)from;
    req.to = (char *)to;
    req.therapist_id = therapist;
    req.page_size = MAX_STARTS;
    struct clinic_call_options opts = {.timeout_ms = CALL_TIMEOUT_MS};
    Clinic__V1__FindSlotsResponse *r = NULL;
    int code = clinic_call(client, "/clinic.v1.Scheduling/FindSlots", &req.base,
                           &clinic__v1__find_slots_response__descriptor, (ProtobufCMessage **)&r,
                           &opts, err);
    if (code != STATUS_OK)
        return code;
    assert_string_equal(r->next_page_token, "");
    assert_true((int)r->n_slots <= max);
    for (size_t i = 0; i < r->n_slots; i++)
        out[i] = start_of(r->slots[i]->start_time);
    code = -(int)r->n_slots; /* the count, told apart from a status by its sign */
    free_msg(r);
    return code;
}

/* The seeded service, 60 minutes with 15 of cleanup, for a therapist from..to: what the daemon
 * offers must be what the oracle works out, start for start and offset for offset. */
static void assert_slots_agree(const struct site *s, int64_t therapist, const char *hours,
                               int64_t from, int64_t to, int step, const char *busy)
{
    char from_text[32], to_text[32], args[512];
    utc_text(from, from_text, sizeof from_text);
    utc_text(to, to_text, sizeof to_text);
    snprintf(args, sizeof args, "slots %s %lld %lld %d 60 15 %s %s", s->zone, (long long)from,
             (long long)to, step, hours, busy);
    char *expected_text = oracle(args);
    static struct start expected[MAX_STARTS], got[MAX_STARTS];
    int n_expected = parse_starts(expected_text, expected, MAX_STARTS);
    free(expected_text);
    struct clinic_error err;
    int n = find_slots(s, therapist, from_text, to_text, got, MAX_STARTS, &err);
    if (n > 0)
        fail_msg("FindSlots %s %s..%s: %d %s", s->zone, from_text, to_text, n, err.message);
    n = -n;
    for (int i = 0; i < n || i < n_expected; i++) {
        if (i < n && i < n_expected && got[i].at == expected[i].at &&
            got[i].offset == expected[i].offset)
            continue;
        char g[32] = "(none)", e[32] = "(none)";
        if (i < n)
            utc_text(got[i].at, g, sizeof g);
        if (i < n_expected)
            utc_text(expected[i].at, e, sizeof e);
        fail_msg("%s, %s hours, %d-minute grid, %s..%s%s%s: start %d is %s (%+d s), the oracle "
                 "says %s (%+d s); %d starts against %d",
                 s->zone, hours, step, from_text, to_text, *busy ? ", busy " : "", busy, i, g,
                 i < n ? got[i].offset : 0, e, i < n_expected ? expected[i].offset : 0, n,
                 n_expected);
    }
}

static void set_step(const struct site *s, int step)
{
    assert_true(harness_sql_id(db_url,
                               "UPDATE locations SET slot_step_minutes = %d WHERE id = %lld"
                               " RETURNING id",
                               step, s->c.location_id) == s->c.location_id);
}

/* --- set-up --- */

static bool seed_site(struct site *s)
{
    if (!harness_seed_clinic(db_url, s->zone, 2, 1, &s->c))
        return false;
    s->round = s->c.therapist_ids[0];
    s->night = s->c.therapist_ids[1];
    if (harness_sql_id(db_url,
                       "WITH gone AS (DELETE FROM working_hours WHERE location_id = %lld"
                       " RETURNING 1) SELECT count(*) FROM gone",
                       s->c.location_id) != 14 ||
        harness_sql_id(db_url,
                       "WITH h AS (INSERT INTO working_hours (therapist_id, location_id, weekday,"
                       " start_local, end_local) SELECT t, %lld, d, h.s::time, h.e::time"
                       " FROM generate_series(1, 7) d,"
                       " (VALUES (%lld, '00:00', '24:00'), (%lld, '01:00', '03:30')) AS h(t, s, e)"
                       " RETURNING 1) SELECT count(*) FROM h",
                       s->c.location_id, s->round, s->night) != 14)
        return false;
    char args[128];
    snprintf(args, sizeof args, "changes %s %d", s->zone, MONTHS_AHEAD);
    char *text = oracle(args);
    for (const char *line = text; *line && s->n_changes < MAX_CHANGES;
         line = strchr(line, '\n') + 1) {
        struct change *c = &s->changes[s->n_changes];
        long long at;
        if (sscanf(line, "%lld %d %d", &at, &c->before, &c->after) != 3)
            break;
        c->at = at;
        s->n_changes++;
        if (!strchr(line, '\n'))
            break;
    }
    free(text);
    print_message("%s: %d clock changes in the next %d months\n", s->zone, s->n_changes,
                  MONTHS_AHEAD);
    return true;
}

static int setup(void **state)
{
    (void)state;
    if (!harness_pg_start(&pg) ||
        !harness_pg_create_database(&pg, "zones", db_url, sizeof db_url) ||
        !harness_daemon_start(&daemon_, pg.dir, db_url, NULL, true))
        return -1;
    for (size_t i = 0; i < N_ZONES; i++) {
        sites[i].zone = zones[i];
        if (!seed_site(&sites[i]))
            return -1;
    }
    struct clinic_error e;
    client = clinic_connect(daemon_.url, CALL_TIMEOUT_MS, &e);
    return client ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    clinic_close(client);
    int status = harness_daemon_stop(&daemon_);
    harness_pg_destroy(&pg);
    return status == 0 ? 0 : -1;
}

/* --- the tests --- */

/* The spans searched around a change at t: half a day, and one that opens 67 minutes before it
 * (inside the first pass of a repeated hour, off the grid). A zone without changes is searched
 * a week from now. */
static void search_around(const struct site *s, int64_t t, int step)
{
    assert_slots_agree(s, s->round, "00:00 24:00", t - 6 * HOUR, t + 6 * HOUR, step, "");
    assert_slots_agree(s, s->round, "00:00 24:00", t - 67 * 60, t + 3 * HOUR, step, "");
    assert_slots_agree(s, s->night, "01:00 03:30", t - 30 * HOUR, t + 30 * HOUR, step, "");
}

static void slots_agree_with_the_oracle_at_every_change(void **state)
{
    (void)state;
    static const int steps[] = {15, 60, 45};
    int changes = 0;
    for (size_t i = 0; i < N_ZONES; i++) {
        const struct site *s = &sites[i];
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            set_step(s, steps[k]);
            for (int c = 0; c < s->n_changes; c++)
                search_around(s, s->changes[c].at, steps[k]);
            if (s->n_changes == 0)
                search_around(s, (int64_t)time(NULL) / HOUR * HOUR + 7 * 24 * HOUR, steps[k]);
        }
        set_step(s, 15);
        changes += s->n_changes;
    }
    print_message("%d clock changes in %zu zones, each searched on three grids\n", changes,
                  N_ZONES);
    /* the zones above change their clocks at least this often */
    assert_true(changes >= 14);
}

/* A session that ends, cleanup included, inside the first pass of a repeated hour frees the rest
 * of that pass: New York's 00:15-01:15 on the night the clocks go back leaves 01:30 EDT free. */
static void a_booking_ending_in_the_first_pass_leaves_the_rest_free(void **state)
{
    (void)state;
    int tried = 0;
    for (size_t i = 0; i < N_ZONES; i++) {
        const struct site *s = &sites[i];
        for (int c = 0; c < s->n_changes; c++) {
            const struct change *ch = &s->changes[c];
            if (ch->after >= ch->before)
                continue;
            /* 60 minutes + 15 of cleanup ending 30 minutes before the clocks go back */
            int64_t start = ch->at - 105 * 60;
            char start_text[32];
            utc_text(start, start_text, sizeof start_text);
            long long id = harness_sql_id(
                db_url,
                "INSERT INTO appointments (client_id, therapist_id, room_id, service_id,"
                " location_id, start_at, end_at, blocked) VALUES (%lld, %lld, %lld, %lld, %lld,"
                " '%s', '%s'::timestamptz + interval '60 minutes', tstzrange('%s',"
                " '%s'::timestamptz + interval '75 minutes')) RETURNING id",
                s->c.client_ids[0], s->round, s->c.room_ids[0], s->c.service_id, s->c.location_id,
                start_text, start_text, start_text, start_text);
            assert_true(id > 0);
            char busy[64];
            snprintf(busy, sizeof busy, "%lld-%lld", (long long)start,
                     (long long)(start + 75 * 60));
            assert_slots_agree(s, s->round, "00:00 24:00", ch->at - 3 * HOUR, ch->at + 3 * HOUR, 15,
                               busy);
            assert_true(harness_sql_id(db_url,
                                       "DELETE FROM appointments WHERE id = %lld RETURNING id",
                                       id) == id);
            tried++;
        }
    }
    assert_true(tried >= 5);
}

/* Every quarter hour typed as local time from two hours before a change to two hours after it
 * (as the clock before and after it reads): a time the clocks pass twice is the first pass, one
 * they skip is refused with a sentence saying so. FindSlots from that time, on a round-the-clock
 * therapist, answers with that very instant first. */
#define MAX_TYPED 64
static void typed_times_mean_what_the_oracle_says(void **state)
{
    (void)state;
    int repeated = 0, skipped = 0;
    for (size_t i = 0; i < N_ZONES; i++) {
        const struct site *s = &sites[i];
        for (int c = 0; c < s->n_changes; c++) {
            const struct change *ch = &s->changes[c];
            /* the readings, as seconds of a clock that never changes */
            int64_t first = (ch->at + ch->before - 2 * HOUR) / 900 * 900;
            int64_t last = ch->at + ch->after + 2 * HOUR;
            char typed[MAX_TYPED][20], args[MAX_TYPED * 24 + 64];
            int n = 0;
            int used = snprintf(args, sizeof args, "local %s", s->zone);
            for (int64_t l = first; l <= last && n < MAX_TYPED; l += 900, n++) {
                time_t lt = (time_t)l;
                struct tm tm;
                gmtime_r(&lt, &tm);
                strftime(typed[n], sizeof typed[n], "%Y-%m-%d %H:%M", &tm);
                used += snprintf(args + used, sizeof args - (size_t)used, " \"%s\"", typed[n]);
            }
            char *said = oracle(args);
            const char *line = said;
            for (int k = 0; k < n; k++, line = strchr(line, '\n') + 1) {
                struct start want[1], got[MAX_STARTS];
                char to[32];
                struct clinic_error err = {0};
                if (strncmp(line, "skipped", 7) == 0) {
                    utc_text(ch->at + 6 * HOUR, to, sizeof to);
                    int code = find_slots(s, s->round, typed[k], to, got, MAX_STARTS, &err);
                    if (code != STATUS_INVALID_ARGUMENT || !strstr(err.message, "does not exist"))
                        fail_msg("%s: %s is skipped, but FindSlots from it answered %d %s", s->zone,
                                 typed[k], code, code > 0 ? err.message : "");
                    skipped++;
                    continue;
                }
                char one[64];
                snprintf(one, sizeof one, "%.*s", (int)strcspn(line, "\n"), line);
                parse_starts(one, want, 1);
                utc_text(want[0].at + HOUR, to, sizeof to);
                int found = find_slots(s, s->round, typed[k], to, got, MAX_STARTS, &err);
                if (found >= 0)
                    fail_msg("%s: FindSlots from %s: %d %s", s->zone, typed[k], found, err.message);
                if (got[0].at != want[0].at || got[0].offset != want[0].offset)
                    fail_msg("%s: %s was read as %lld (%+d s), the oracle says %lld (%+d s)",
                             s->zone, typed[k], (long long)got[0].at, got[0].offset,
                             (long long)want[0].at, want[0].offset);
                /* a reading the clocks pass again after the change */
                int64_t reading = first + 900 * k;
                repeated += reading < ch->at + ch->before && reading >= ch->at + ch->after;
            }
            free(said);
        }
    }
    print_message("%d typed times in a repeated span, %d in a skipped one\n", repeated, skipped);
    assert_true(repeated > 0);
    assert_true(skipped > 0);
}

int main(void)
{
    unsetenv("CLINIC_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_agree_with_the_oracle_at_every_change),
        cmocka_unit_test(a_booking_ending_in_the_first_pass_leaves_the_rest_free),
        cmocka_unit_test(typed_times_mean_what_the_oracle_says),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
