/* cmd_day.c: the front desk's views: `clinic day` (a location's day sheet), `clinic agenda` (a
 * therapist's appointments) and `clinic client-appointments`.
 *
 * "Today" is the location's today, not this machine's: the desk may run the tool on a server
 * in UTC or on a laptop abroad. The daemon wants the date in the request, so the tool reads the
 * location's zone first (GetLocation, or the one location there is) and takes today's date in
 * that zone from the C library (times_today). Asking the day sheet for its own zone would cost a
 * second day sheet whenever the guess was wrong; GetLocation is one small read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "schedule.h"
#include "table.h"
#include "times.h"

#define AGENDA_DAYS_DEFAULT 7

/* One row of a therapist's day: an appointment, a free gap or time off. */
struct entry {
    int64_t start;
    const Clinic__V1__Appointment *appointment;
    const Clinic__V1__Gap *gap;
    const Clinic__V1__Absence *absence;
};

static int by_start(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->appointment == NULL) - (y->appointment == NULL); /* appointments first */
}

static int64_t epoch_or_zero(const char *instant)
{
    int64_t t = 0;
    return times_epoch(instant, &t) ? t : 0;
}

/* The day sheet's columns. On a wide terminal (or into a file) client and service have their
 * own columns; on a narrow one they share one, so that names keep most of an 80-column line.
 * The phone column is there when the daemon sent phones (to the front desk and admins). */
enum { COL_TIME, COL_ID, COL_CLIENT, COL_PHONE, COL_SERVICE, COL_ROOM, COL_STATUS, COLS };
#define WIDE_TERMINAL 100

struct sheet {
    struct table *t;
    const char *zone;
    bool wide, phones, marked;
    size_t map[COLS]; /* the table column of each COL_, or COLS when not shown */
};

static void sheet_row(struct sheet *s, const char *const cells[COLS])
{
    const char *row[COLS];
    size_t n = 0;
    for (size_t c = 0; c < COLS; c++)
        if (s->map[c] != COLS)
            row[n++] = cells[c];
    table_add_row(s->t, row);
}

static bool sheet_open(struct sheet *s, const Clinic__V1__DaySheetResponse *d)
{
    static const char *const names[COLS] = {"  TIME",  "ID",   "CLIENT", "PHONE",
                                            "SERVICE", "ROOM", "STATUS"};
    s->zone = d->time_zone;
    s->wide = table_terminal_width() >= WIDE_TERMINAL;
    s->phones = false;
    s->marked = false;
    for (size_t i = 0; i < d->n_therapists; i++)
        for (size_t j = 0; j < d->therapists[i]->n_appointments; j++)
            s->phones = s->phones || d->therapists[i]->appointments[j]->client_phone[0];
    const char *headers[COLS];
    size_t n = 0;
    for (size_t c = 0; c < COLS; c++) {
        bool shown = (c != COL_PHONE || s->phones) && (c != COL_SERVICE || s->wide);
        s->map[c] = shown ? n : COLS;
        if (shown)
            headers[n++] = c == COL_CLIENT && !s->wide ? "CLIENT: SERVICE" : names[c];
    }
    if (!(s->t = table_new(n, headers)))
        return false;
    for (size_t c = 0; c < COLS; c++) /* times, ids, phones and statuses are never cut */
        if (s->map[c] != COLS &&
            (c == COL_TIME || c == COL_ID || c == COL_PHONE || c == COL_STATUS))
            table_keep_column(s->t, s->map[c]);
    return true;
}

/* One appointment's row; `extra` follows the client's name (who a cancelled one was with). */
static void appointment_row(struct sheet *s, const Clinic__V1__Appointment *a, const char *extra)
{
    char span[80], time[88], id[24], client[1024];
    times_span_in(a->start_time, a->end_time, s->zone, span, sizeof span, &s->marked);
    snprintf(time, sizeof time, "  %s", span);
    snprintf(id, sizeof id, "%lld", (long long)a->id);
    char alerts[128];
    int used = snprintf(client, sizeof client, "%s", a->client_name);
    if (extra[0] && used > 0 && (size_t)used < sizeof client)
        used += snprintf(client + used, sizeof client - (size_t)used, " (%s)", extra);
    if (*schedule_care_alerts(a, alerts, sizeof alerts) && used > 0 && (size_t)used < sizeof client)
        used += snprintf(client + used, sizeof client - (size_t)used, " [%s]", alerts);
    if (!s->wide && used > 0 && (size_t)used < sizeof client)
        snprintf(client + used, sizeof client - (size_t)used, ": %s", a->service_name);
    const char *cells[COLS] = {
        time, id, client, a->client_phone, a->service_name, a->room_name, schedule_status(a)};
    sheet_row(s, cells);
}

/* A row that is not an appointment: free time or time off, said in the client column. */
static void span_row(struct sheet *s, const char *start, const char *end, const char *what)
{
    char span[80], time[88];
    times_span_in(start, end, s->zone, span, sizeof span, &s->marked);
    snprintf(time, sizeof time, "  %s", span);
    const char *cells[COLS] = {time, "", what, "", "", "", ""};
    sheet_row(s, cells);
}

/* The therapist's heading: name, id and working windows. */
static void therapist_line(struct sheet *s, const Clinic__V1__TherapistDay *day)
{
    char line[512];
    size_t used = (size_t)snprintf(line, sizeof line, "%s (%lld)", day->therapist_name,
                                   (long long)day->therapist_id);
    for (size_t i = 0; i < day->n_working && used < sizeof line; i++) {
        char span[80];
        used +=
            (size_t)snprintf(line + used, sizeof line - used, "%s%s", i ? ", " : ", works ",
                             times_span_in(day->working[i]->start_time, day->working[i]->end_time,
                                           s->zone, span, sizeof span, &s->marked));
    }
    if (day->n_working == 0 && used < sizeof line)
        snprintf(line + used, sizeof line - used, ", not working");
    table_add_line(s->t, line);
}

/* One therapist's block: the heading, then appointments, free gaps and time off in time order. */
static void add_therapist(struct sheet *s, const Clinic__V1__TherapistDay *day)
{
    therapist_line(s, day);
    size_t n = day->n_appointments + day->n_gaps + day->n_absences, k = 0;
    struct entry *entries = calloc(n ? n : 1, sizeof *entries);
    if (!entries)
        return;
    for (size_t i = 0; i < day->n_appointments; i++)
        entries[k++] = (struct entry){.start = epoch_or_zero(day->appointments[i]->start_time),
                                      .appointment = day->appointments[i]};
    for (size_t i = 0; i < day->n_gaps; i++)
        entries[k++] =
            (struct entry){.start = epoch_or_zero(day->gaps[i]->start_time), .gap = day->gaps[i]};
    for (size_t i = 0; i < day->n_absences; i++)
        entries[k++] = (struct entry){.start = epoch_or_zero(day->absences[i]->start_time),
                                      .absence = day->absences[i]};
    qsort(entries, n, sizeof *entries, by_start);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &entries[i];
        if (e->appointment) {
            appointment_row(s, e->appointment, "");
        } else if (e->gap) {
            span_row(s, e->gap->start_time, e->gap->end_time, "free");
        } else {
            char what[600];
            snprintf(what, sizeof what, "%s%s%s", e->absence->kind,
                     e->absence->reason[0] ? ": " : "", e->absence->reason);
            span_row(s, e->absence->start_time, e->absence->end_time, what);
        }
    }
    free(entries);
}

/* Cancelled appointments, after the timeline: the desk may call these clients back. */
static void add_cancelled(struct sheet *s, const Clinic__V1__DaySheetResponse *d)
{
    if (d->n_cancelled == 0)
        return;
    table_add_line(s->t, "Cancelled");
    for (size_t i = 0; i < d->n_cancelled; i++) {
        char by[320];
        snprintf(by, sizeof by, "with %s%s%s", d->cancelled[i]->therapist_name,
                 d->cancelled[i]->cancel_reason[0] ? ": " : "", d->cancelled[i]->cancel_reason);
        appointment_row(s, d->cancelled[i], by);
    }
}

/* The day as one table, one block per therapist, so that the columns line up across blocks. */
static void print_day(const Clinic__V1__DaySheetResponse *d)
{
    printf("%s: %s %s (%s)%s%s%s\n", d->location_name, times_weekday_name(times_weekday(d->date)),
           d->date, d->time_zone, d->closed ? ", closed" : "", d->closed_reason[0] ? ": " : "",
           d->closed_reason);
    if (d->n_therapists == 0 && d->n_cancelled == 0) {
        if (!d->closed)
            printf("Nobody works here that day.\n");
        return;
    }
    struct sheet s;
    if (!sheet_open(&s, d))
        return;
    for (size_t i = 0; i < d->n_therapists; i++)
        add_therapist(&s, d->therapists[i]);
    add_cancelled(&s, d);
    table_print_free(s.t, stdout);
    if (s.marked)
        printf("%s\n", TIMES_SECOND_PASS_NOTE);
}

int cmd_day(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__DaySheetRequest req = CLINIC__V1__DAY_SHEET_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "which location (default: the only one)",
            .field = "location_id"),
        OPT("date", OPTION_DATE, &req.date, "which day (default: today at the location)",
            .field = "date"),
        OPT("therapist", OPTION_ID, &req.therapist_id,
            "one therapist's day (default: everyone's; a therapist sees their own)",
            .field = "therapist_id"),
        OPTIONS_END,
    };
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    char today[11];
    Clinic__V1__Location *location = NULL;
    if ((code = schedule_location(cli, &req.location_id, req.date[0] ? NULL : &location)) != 0)
        return code;
    if (location) {
        if (!times_today(location->time_zone, today))
            fprintf(stderr,
                    "clinic day: this machine has no time zone data for %s; showing "
                    "today in UTC (give --date)\n",
                    location->time_zone);
        req.date = today;
        protobuf_c_message_free_unpacked(&location->base, NULL);
    }
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Scheduling/DaySheet", &req.base,
                    &clinic__v1__day_sheet_response__descriptor, &resp);
    if (code != 0)
        return code;
    if (cli->json)
        cli_print_json(resp);
    else
        print_day((const Clinic__V1__DaySheetResponse *)resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* Prints a list of appointments as a table; `who` is the therapist's or the client's column. */
static void print_list(const Clinic__V1__AppointmentList *l, bool therapist_column)
{
    static const char *const agenda[] = {"ID",      "DAY",  "TIME",  "CLIENT",
                                         "SERVICE", "ROOM", "STATUS"};
    static const char *const client[] = {"ID",      "DAY",  "TIME",  "THERAPIST",
                                         "SERVICE", "ROOM", "STATUS"};
    struct table *t = table_new(7, therapist_column ? client : agenda);
    bool marked = false;
    for (size_t col = 0; col < 7; col += col == 2 ? 4 : 1) /* ID, DAY, TIME and STATUS */
        table_keep_column(t, col);
    for (size_t i = 0; i < l->n_appointments; i++) {
        const Clinic__V1__Appointment *a = l->appointments[i];
        char id[24], day[24], span[64], alerts[128], who[1024];
        snprintf(id, sizeof id, "%lld", (long long)a->id);
        snprintf(day, sizeof day, "%s %.10s", times_weekday_name(times_weekday(a->start_time)),
                 a->start_time);
        times_span_in(a->start_time, a->end_time, a->time_zone, span, sizeof span, &marked);
        snprintf(who, sizeof who, "%s", therapist_column ? a->therapist_name : a->client_name);
        if (schedule_ahead(a) && *schedule_care_alerts(a, alerts, sizeof alerts))
            snprintf(who + strlen(who), sizeof who - strlen(who), " [%s]", alerts);
        const char *row[] = {id, day, span, who, a->service_name, a->room_name, schedule_status(a)};
        table_add_row(t, row);
    }
    table_print_free(t, stdout);
    if (marked)
        printf("%s\n", TIMES_SECOND_PASS_NOTE);
}

/* The clinic's home zone: the daemon reads offset-less range bounds in its first location's. */
static int home_today(struct cli *cli, char today[11])
{
    Clinic__V1__ListLocationsRequest req = CLINIC__V1__LIST_LOCATIONS_REQUEST__INIT;
    req.page_size = 1;
    req.include_archived = true;
    ProtobufCMessage *resp;
    int code = cli_call(cli, "/clinic.v1.Locations/ListLocations", &req.base,
                        &clinic__v1__list_locations_response__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__ListLocationsResponse *l = (const Clinic__V1__ListLocationsResponse *)resp;
    times_today(l->n_locations ? l->locations[0]->time_zone : "UTC", today);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* agenda and client-appointments: one person's appointments between two bounds, paged. */
static int range_command(struct cli *cli, int argc, char **argv, bool agenda)
{
    Clinic__V1__TherapistAgendaRequest therapist = CLINIC__V1__THERAPIST_AGENDA_REQUEST__INIT;
    Clinic__V1__ClientAppointmentsRequest client = CLINIC__V1__CLIENT_APPOINTMENTS_REQUEST__INIT;
    char *from = NULL, *to = NULL, *token = NULL;
    int64_t who = 0, who_named = 0;
    uint32_t size = 0;
    bool all = false;
    int code;
    /* The person may be given by position ("agenda 3") or by name ("agenda --therapist 3"),
     * as `book` and `slots` name a therapist; both spellings are documented. */
    const char *label = agenda ? "THERAPIST" : "CLIENT", *flag = agenda ? "therapist" : "client";
    struct option opts[] = {
        OPT(label, OPTION_ID, &who, agenda ? "the therapist's id" : "the client's id",
            .flags = OPTION_POSITIONAL),
        OPT(flag, OPTION_ID, &who_named,
            agenda ? "the therapist's id (or give it as THERAPIST; default: you, a therapist)"
                   : "the client's id (or give it as CLIENT; default: you, a client)",
            .field = agenda ? "therapist_id" : "client_id"),
        OPT("from", OPTION_INSTANT, &from,
            agenda ? "from this time or day (default: today)" : "from this time or day",
            .flags = OPTION_DAY_OK, .field = "from"),
        OPT("to", OPTION_INSTANT, &to,
            agenda ? "until this time, or to the end of this day (default: 7 days after --from)"
                   : "until this time, or to the end of this day",
            .flags = OPTION_DAY_OK, .field = "to"),
        OPTIONS_PAGING(&all, &size, &token),
        OPTIONS_END,
    };
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    if (who && who_named && who != who_named)
        return cli_usage_error(cli, "%s and --%s name different %ss; give one", label, flag, flag);
    /* no one named: 0, which the daemon reads as the caller's own record (a therapist's
     * agenda, a client's appointments) and refuses, naming --therapist or --client, for the desk */
    if (!who)
        who = who_named;
    char from_text[64] = "", to_text[64] = "", today[11];
    if (from) {
        times_bound(from, false, from_text, sizeof from_text);
    } else if (agenda) {
        if ((code = home_today(cli, today)) != 0)
            return code;
        times_bound(today, false, from_text, sizeof from_text);
    }
    if (to)
        times_bound(to, true, to_text, sizeof to_text);
    else if (agenda)
        times_add_days(from_text, AGENDA_DAYS_DEFAULT, to_text, sizeof to_text);
    ProtobufCMessage *req;
    if (agenda) {
        therapist.therapist_id = who;
        therapist.from = from_text;
        therapist.to = to_text;
        therapist.page_size = size;
        therapist.page_token = token ? token : "";
        req = &therapist.base;
    } else {
        client.client_id = who;
        client.from = from_text;
        client.to = to_text;
        client.page_size = size;
        client.page_token = token ? token : "";
        req = &client.base;
    }
    ProtobufCMessage *resp;
    code = cli_call_pages(cli,
                          agenda ? "/clinic.v1.Scheduling/TherapistAgenda"
                                 : "/clinic.v1.Scheduling/ClientAppointments",
                          req, &clinic__v1__appointment_list__descriptor, &resp, all);
    if (code != 0)
        return code;
    const Clinic__V1__AppointmentList *l = (const Clinic__V1__AppointmentList *)resp;
    if (cli->json)
        cli_print_json(resp);
    else if (l->n_appointments == 0)
        printf("No appointments%s%s%s%s.\n", from_text[0] ? " from " : "", from_text,
               to_text[0] ? " until " : "", to_text);
    else
        print_list(l, !agenda);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

int cmd_agenda(struct cli *cli, int argc, char **argv)
{
    return range_command(cli, argc, argv, true);
}

int cmd_client_appointments(struct cli *cli, int argc, char **argv)
{
    return range_command(cli, argc, argv, false);
}
