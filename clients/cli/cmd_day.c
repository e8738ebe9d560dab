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

/* One row of a therapist's day: an appointment or a free gap. */
struct entry {
    int64_t start;
    const Clinic__V1__Appointment *appointment;
    const Clinic__V1__Gap *gap;
};

static int by_start(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->gap != NULL) - (y->gap != NULL); /* an appointment before a gap at one time */
}

static int64_t epoch_or_zero(const char *instant)
{
    int64_t t = 0;
    return times_epoch(instant, &t) ? t : 0;
}

/* Adds one therapist's block to t: a line with their name and working windows, then their
 * appointments and free gaps in time order. */
static void add_therapist(struct table *t, const Clinic__V1__TherapistDay *day)
{
    char line[512];
    size_t used = (size_t)snprintf(line, sizeof line, "%s (%lld)", day->therapist_name,
                                   (long long)day->therapist_id);
    for (size_t i = 0; i < day->n_working && used < sizeof line; i++) {
        char span[64];
        used += (size_t)snprintf(
            line + used, sizeof line - used, "%s%s", i ? ", " : ", works ",
            times_span(day->working[i]->start_time, day->working[i]->end_time, span, sizeof span));
    }
    if (day->n_working == 0 && used < sizeof line)
        snprintf(line + used, sizeof line - used, ", not working");
    table_add_line(t, line);

    size_t n = day->n_appointments + day->n_gaps;
    struct entry *entries = calloc(n ? n : 1, sizeof *entries);
    if (!entries)
        return;
    for (size_t i = 0; i < day->n_appointments; i++)
        entries[i] = (struct entry){epoch_or_zero(day->appointments[i]->start_time),
                                    day->appointments[i], NULL};
    for (size_t i = 0; i < day->n_gaps; i++)
        entries[day->n_appointments + i] =
            (struct entry){epoch_or_zero(day->gaps[i]->start_time), NULL, day->gaps[i]};
    qsort(entries, n, sizeof *entries, by_start);
    for (size_t i = 0; i < n; i++) {
        const Clinic__V1__Appointment *a = entries[i].appointment;
        char span[64], time[72], id[24], what[512];
        if (a) {
            times_span(a->start_time, a->end_time, span, sizeof span);
            snprintf(id, sizeof id, "%lld", (long long)a->id);
            snprintf(what, sizeof what, "%s: %s", a->client_name, a->service_name);
        } else {
            times_span(entries[i].gap->start_time, entries[i].gap->end_time, span, sizeof span);
            snprintf(id, sizeof id, "%s", "");
            snprintf(what, sizeof what, "free");
        }
        snprintf(time, sizeof time, "  %s", span);
        const char *row[] = {time, id, what, a ? a->room_name : "", a ? schedule_status(a) : ""};
        table_add_row(t, row);
    }
    free(entries);
}

/* The day as one table, one block per therapist, so that the columns line up across blocks
 * and the client and service keep most of an 80-column line. */
static void print_day(const Clinic__V1__DaySheetResponse *d)
{
    printf("%s: %s %s (%s)%s\n", d->location_name, times_weekday_name(times_weekday(d->date)),
           d->date, d->time_zone, d->closed ? ", closed" : "");
    if (d->n_therapists == 0) {
        if (!d->closed)
            printf("Nobody works here that day.\n");
        return;
    }
    static const char *const headers[] = {"  TIME", "ID", "CLIENT: SERVICE", "ROOM", "STATUS"};
    struct table *t = table_new(5, headers);
    for (size_t col = 0; col < 5; col += col == 1 ? 3 : 1) /* TIME, ID and STATUS */
        table_keep_column(t, col);
    for (size_t i = 0; i < d->n_therapists; i++)
        add_therapist(t, d->therapists[i]);
    table_print_free(t, stdout);
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
    for (size_t col = 0; col < 7; col += col == 2 ? 4 : 1) /* ID, DAY, TIME and STATUS */
        table_keep_column(t, col);
    for (size_t i = 0; i < l->n_appointments; i++) {
        const Clinic__V1__Appointment *a = l->appointments[i];
        char id[24], day[24], span[64];
        snprintf(id, sizeof id, "%lld", (long long)a->id);
        snprintf(day, sizeof day, "%s %.10s", times_weekday_name(times_weekday(a->start_time)),
                 a->start_time);
        times_span(a->start_time, a->end_time, span, sizeof span);
        const char *row[] = {id,
                             day,
                             span,
                             therapist_column ? a->therapist_name : a->client_name,
                             a->service_name,
                             a->room_name,
                             schedule_status(a)};
        table_add_row(t, row);
    }
    table_print_free(t, stdout);
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
            agenda ? "the therapist's id (or give it as THERAPIST)"
                   : "the client's id (or give it as CLIENT)",
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
    if (!who && !who_named)
        return cli_usage_error(cli, "--%s is required: the %s's id (or give it as %s)", flag, flag,
                               label);
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
