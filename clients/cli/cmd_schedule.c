/* cmd_schedule.c: finding and booking time: `clinic slots`, `book`, `book-course`,
 * `reschedule`, `cancel`, `check-in`, `complete`, `no-show`, `undo` and `appointment`.
 *
 * Times typed by the user go to the daemon as typed: it reads "2026-03-29 09:00" in the
 * location's zone. Replies carry the location's offset, so what is shown is the location's
 * wall-clock time (times.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "schedule.h"
#include "table.h"
#include "times.h"

#define SEARCH_DAYS_DEFAULT 7

int schedule_location(struct cli *cli, int64_t *id, Clinic__V1__Location **location)
{
    ProtobufCMessage *resp;
    int code;
    if (*id) {
        if (!location)
            return 0;
        Clinic__V1__GetLocationRequest get = CLINIC__V1__GET_LOCATION_REQUEST__INIT;
        get.id = *id;
        code = cli_call(cli, "/clinic.v1.Locations/GetLocation", &get.base,
                        &clinic__v1__location__descriptor, &resp);
        *location = code == 0 ? (Clinic__V1__Location *)resp : NULL;
        return code;
    }
    Clinic__V1__ListLocationsRequest list = CLINIC__V1__LIST_LOCATIONS_REQUEST__INIT;
    list.page_size = 2;
    code = cli_call(cli, "/clinic.v1.Locations/ListLocations", &list.base,
                    &clinic__v1__list_locations_response__descriptor, &resp);
    if (code != 0)
        return code;
    Clinic__V1__ListLocationsResponse *l = (Clinic__V1__ListLocationsResponse *)resp;
    if (l->n_locations == 1) {
        *id = l->locations[0]->id;
        if (location) {
            *location = l->locations[0];
            l->n_locations = 0; /* the caller owns it now */
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
    }
    size_t n = l->n_locations;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (n == 0) {
        fprintf(stderr,
                "clinic %s: there is no location yet: create one with `clinic admin "
                "location create`, or try `clinic demo load`\n",
                cli->command_path);
        return STATUS_NOT_FOUND;
    }
    return cli_usage_error(cli, "--location is required when there are several "
                                "locations (`clinic admin location list`)");
}

const char *schedule_status(const Clinic__V1__Appointment *a)
{
    switch (a->status) {
    case CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_BOOKED:
        return "booked";
    case CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CHECKED_IN:
        return "checked in";
    case CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_COMPLETED:
        return "completed";
    case CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CANCELLED:
        return a->late_cancel ? "cancelled late" : "cancelled";
    case CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_NO_SHOW:
        return "no-show";
    default:
        return "unknown";
    }
}

const char *schedule_when(const Clinic__V1__Appointment *a, char *out, size_t len)
{
    char span[80];
    bool marked = false;
    times_span_in(a->start_time, a->end_time, a->time_zone, span, sizeof span, &marked);
    if (strlen(span) < 16) /* "09:00-10:00", maybe with marks: one day */
        snprintf(out, len, "%s %.10s %s", times_weekday_name(times_weekday(a->start_time)),
                 a->start_time, span);
    else
        snprintf(out, len, "%s", span);
    return out;
}

bool schedule_ahead(const Clinic__V1__Appointment *a)
{
    return a->status == CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_BOOKED ||
           a->status == CLINIC__V1__APPOINTMENT_STATUS__APPOINTMENT_STATUS_CHECKED_IN;
}

const char *schedule_care_alerts(const Clinic__V1__Appointment *a, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < a->n_care_alerts && used < len; i++) {
        const char *word = "?";
        switch (a->care_alerts[i]) {
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_HEALTH_FLAG:
            word = "red flag";
            break;
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_INTAKE_MISSING:
            word = "no intake";
            break;
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_INTAKE_OUT_OF_DATE:
            word = "intake over a year old";
            break;
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_CONSENT_MISSING:
            word = "no consent";
            break;
        default:
            break;
        }
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", word);
    }
    return out;
}

/* What to do about each care alert, one line each, under an appointment's block. */
static void print_care_alerts(const Clinic__V1__Appointment *a)
{
    for (size_t i = 0; i < a->n_care_alerts; i++) {
        const char *what = NULL;
        switch (a->care_alerts[i]) {
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_HEALTH_FLAG:
            what = "the health history has a red flag or contraindication: the therapist\n"
                   "             reads it and decides before treating";
            break;
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_INTAKE_MISSING:
            what = "no health history on file: ask the client to fill it in (clinic intake record)";
            break;
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_INTAKE_OUT_OF_DATE:
            what = "the health history is over a year old: ask the client to review it";
            break;
        case CLINIC__V1__CARE_ALERT__CARE_ALERT_CONSENT_MISSING:
            what = "no general consent on file: needed before check-in (clinic consent give)";
            break;
        default:
            break;
        }
        if (what)
            printf("  %-10s %s\n", i ? "" : "care", what);
    }
}

/* Prints an appointment as a block headed "<heading> <id>". */
static void print_appointment(const Clinic__V1__Appointment *a, const char *heading)
{
    char when[96];
    printf("%s %lld\n", heading, (long long)a->id);
    printf("  when       %s (%s)\n", schedule_when(a, when, sizeof when), a->time_zone);
    if (strstr(when, TIMES_SECOND_PASS_MARK))
        printf("  %s\n", TIMES_SECOND_PASS_NOTE);
    printf("  client     %s, id %lld\n", a->client_name, (long long)a->client_id);
    printf("  service    %s, id %lld\n", a->service_name, (long long)a->service_id);
    printf("  therapist  %s, id %lld\n", a->therapist_name, (long long)a->therapist_id);
    if (a->previous_therapist_id)
        printf("             (changed: therapist %lld had it before)\n",
               (long long)a->previous_therapist_id);
    printf("  room       %s, id %lld\n", a->room_name, (long long)a->room_id);
    printf("  location   %lld\n", (long long)a->location_id);
    printf("  status     %s\n", schedule_status(a));
    if (a->cancel_reason[0])
        printf("  reason     %s\n", a->cancel_reason);
    if (a->recorded_reason[0])
        printf("  recorded   after the session: %s\n", a->recorded_reason);
    if (a->held_until[0])
        printf(
            "  offer      held from the waitlist until %s; accept it with clinic waitlist accept "
            "%lld\n",
            a->held_until, (long long)a->id);
    if (schedule_ahead(a))
        print_care_alerts(a);
}

void schedule_print_appointment(const Clinic__V1__Appointment *a, const char *heading)
{
    print_appointment(a, heading);
}

/* Calls a method answering one Appointment and prints it (JSON with --json). */
static int call_appointment(struct cli *cli, const char *method, const ProtobufCMessage *req,
                            const char *heading)
{
    ProtobufCMessage *resp;
    int code = cli_call(cli, method, req, &clinic__v1__appointment__descriptor, &resp);
    if (code != 0)
        return code;
    if (cli->json)
        cli_print_json(resp);
    else
        print_appointment((const Clinic__V1__Appointment *)resp, heading);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* Parses opts; on false the command returns *code. */
static bool parse(struct cli *cli, struct option *opts, int argc, char **argv, int *code)
{
    if (options_parse(cli, opts, argc, argv, code))
        return true;
    options_free(opts);
    return false;
}

/* A slot's start or end as the wall clock shows it, marked when it is a second pass. */
static const char *slot_time(const char *instant, const char *zone, char *out, size_t len,
                             const char **second)
{
    char local[32];
    bool again = times_second_pass(instant, zone);
    snprintf(out, len, "%s%s", times_local(instant, local, sizeof local),
             again ? TIMES_SECOND_PASS_MARK : "");
    if (again && !*second)
        *second = instant;
    return out;
}

static void print_slots(const Clinic__V1__FindSlotsResponse *r)
{
    static const char *const headers[] = {"START", "END", "THERAPIST", "ROOM"};
    struct table *t = table_new(4, headers);
    table_keep_column(t, 0);
    table_keep_column(t, 1);
    const char *second = NULL, *second_end = NULL; /* the first start, end that is a second pass */
    for (size_t i = 0; i < r->n_slots; i++) {
        const Clinic__V1__Slot *s = r->slots[i];
        char start[32], end[32], therapist[160], room[160];
        slot_time(s->start_time, r->time_zone, start, sizeof start, &second);
        slot_time(s->end_time, r->time_zone, end, sizeof end, &second_end);
        snprintf(therapist, sizeof therapist, "%s (%lld)", s->therapist_name,
                 (long long)s->therapist_id);
        snprintf(room, sizeof room, "%s (%lld)", s->room_name, (long long)s->room_id);
        /* an end on the start's day shows as its clock time only */
        const char *row[] = {start, strncmp(start, end, 11) == 0 ? end + 11 : end, therapist, room};
        table_add_row(t, row);
    }
    table_print_free(t, stdout);
    /* a typed local time means its first pass: the second is booked with its offset */
    if (second)
        printf("%s;\nto book one, give the start with its offset, e.g. --start %s\n",
               TIMES_SECOND_PASS_NOTE, second);
    else if (second_end)
        printf("%s\n", TIMES_SECOND_PASS_NOTE);
}

int cmd_slots(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__FindSlotsRequest req = CLINIC__V1__FIND_SLOTS_REQUEST__INIT;
    char *from = NULL, *to = NULL;
    bool all = false;
    int code;
    struct option opts[] = {
        OPT("service", OPTION_ID, &req.service_id, "the service (treatment) to book",
            .flags = OPTION_REQUIRED, .field = "service_id"),
        OPT("location", OPTION_ID, &req.location_id, "where (default: the only location)",
            .field = "location_id"),
        OPT("from", OPTION_INSTANT, &from, "search from this time or day (default: now)",
            .flags = OPTION_DAY_OK, .field = "from"),
        OPT("to", OPTION_INSTANT, &to,
            "search until this time, or to the end of this day (default: 7 days after --from)",
            .flags = OPTION_DAY_OK, .field = "to"),
        OPT("therapist", OPTION_ID, &req.therapist_id,
            "only this therapist (default: anyone who performs the service)",
            .field = "therapist_id"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = schedule_location(cli, &req.location_id, NULL)) != 0)
        return code;
    char from_text[64], to_text[64];
    if (from)
        times_bound(from, false, from_text, sizeof from_text);
    else
        times_now(from_text, sizeof from_text);
    if (to)
        times_bound(to, true, to_text, sizeof to_text);
    else
        times_add_days(from_text, SEARCH_DAYS_DEFAULT, to_text, sizeof to_text);
    req.from = from_text;
    req.to = to_text;
    ProtobufCMessage *resp;
    code = cli_call_pages(cli, "/clinic.v1.Scheduling/FindSlots", &req.base,
                          &clinic__v1__find_slots_response__descriptor, &resp, all);
    if (code == 0 && cli->json) {
        cli_print_json(resp);
    } else if (code == 0) {
        const Clinic__V1__FindSlotsResponse *r = (const Clinic__V1__FindSlotsResponse *)resp;
        if (r->n_slots == 0 && to)
            printf("No free time from %s to %s.\n", from ? from : "now", to);
        else if (r->n_slots == 0)
            printf("No free time in the %d days from %s.\n", SEARCH_DAYS_DEFAULT,
                   from ? from : "now");
        else
            print_slots(r);
    }
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    options_free(opts);
    return code;
}

int cmd_book(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__BookRequest req = CLINIC__V1__BOOK_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "who comes (default: you, when you are a client)",
            .field = "client_id"),
        OPT("service", OPTION_ID, &req.service_id, "the service (treatment)",
            .flags = OPTION_REQUIRED, .field = "service_id"),
        OPT("start", OPTION_INSTANT, &req.start_time, "when it starts (the location's time)",
            .flags = OPTION_REQUIRED, .field = "start_time"),
        OPT("location", OPTION_ID, &req.location_id, "where (default: the only location)",
            .field = "location_id"),
        OPT("therapist", OPTION_ID, &req.therapist_id,
            "who (default: any free therapist who performs the service)", .field = "therapist_id"),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = schedule_location(cli, &req.location_id, NULL)) == 0)
        code = call_appointment(cli, "/clinic.v1.Scheduling/Book", &req.base, "Booked appointment");
    options_free(opts);
    return code;
}

int cmd_book_course(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__BookCourseRequest req = CLINIC__V1__BOOK_COURSE_REQUEST__INIT;
    int unit = 1; /* weeks */
    int code;
    req.every = 1;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "who comes (default: you, when you are a client)",
            .field = "client_id"),
        OPT("service", OPTION_ID, &req.service_id, "the service (treatment)",
            .flags = OPTION_REQUIRED, .field = "service_id"),
        OPT("start", OPTION_INSTANT, &req.first_start_time, "when the first session starts",
            .flags = OPTION_REQUIRED, .field = "first_start_time"),
        OPT("count", OPTION_UINT, &req.count, "how many sessions (1 to 52)",
            .flags = OPTION_REQUIRED, .field = "count"),
        OPT("every", OPTION_UINT, &req.every, "sessions are this many units apart (default 1)",
            .field = "every"),
        OPT("unit", OPTION_CHOICE, &unit, "the unit of --every (default weeks)",
            .choices = "days|weeks", .field = "unit"),
        OPT("location", OPTION_ID, &req.location_id, "where (default: the only location)",
            .field = "location_id"),
        OPT("therapist", OPTION_ID, &req.therapist_id,
            "who (default: one therapist free at every session, kept for the whole course)",
            .field = "therapist_id"),
        OPT("skip-blocked", OPTION_FLAG, &req.skip_blocked,
            "book the free sessions and list the blocked ones (default: all or none)",
            .field = "skip_blocked"),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    req.unit = unit == 0 ? CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_DAYS
                         : CLINIC__V1__REPEAT_UNIT__REPEAT_UNIT_WEEKS;
    ProtobufCMessage *resp = NULL;
    if ((code = schedule_location(cli, &req.location_id, NULL)) == 0)
        code = cli_call(cli, "/clinic.v1.Scheduling/BookCourse", &req.base,
                        &clinic__v1__book_course_response__descriptor, &resp);
    if (code == 0 && cli->json) {
        cli_print_json(resp);
    } else if (code == 0) {
        const Clinic__V1__BookCourseResponse *r = (const Clinic__V1__BookCourseResponse *)resp;
        if (r->n_appointments)
            printf("Booked course %lld: %zu sessions of %s for %s with %s%s:\n",
                   (long long)r->course_id, r->n_appointments, r->appointments[0]->service_name,
                   r->appointments[0]->client_name, r->appointments[0]->therapist_name,
                   r->n_skipped ? "" : " (all of them)");
        static const char *const headers[] = {"ID", "WHEN", "THERAPIST", "ROOM"};
        struct table *t = table_new(4, headers);
        table_keep_column(t, 0);
        table_keep_column(t, 1);
        for (size_t i = 0; i < r->n_appointments; i++) {
            const Clinic__V1__Appointment *a = r->appointments[i];
            char id[24], when[96];
            snprintf(id, sizeof id, "%lld", (long long)a->id);
            const char *row[] = {id, schedule_when(a, when, sizeof when), a->therapist_name,
                                 a->room_name};
            table_add_row(t, row);
        }
        table_print_free(t, stdout);
        if (r->n_skipped)
            printf("Skipped %zu session%s (blocked):\n", r->n_skipped,
                   r->n_skipped == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_skipped; i++) {
            char when[24]; /* "2027-05-17 09:00" of "2027-05-17T09:00:00+02:00" */
            snprintf(when, sizeof when, "%.16s", r->skipped[i]->start_time);
            if (strlen(when) > 10 && when[10] == 'T')
                when[10] = ' ';
            printf("  %s  %s\n", when, r->skipped[i]->reason);
        }
    }
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    options_free(opts);
    return code;
}

int cmd_reschedule(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__RescheduleRequest req = CLINIC__V1__RESCHEDULE_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.appointment_id, "the appointment to move",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "appointment_id"),
        OPT("start", OPTION_INSTANT, &req.start_time, "the new start (the location's time)",
            .flags = OPTION_REQUIRED, .field = "start_time"),
        OPT("therapist", OPTION_ID, &req.therapist_id,
            "another therapist (default: the appointment's own, refused if not free then)",
            .field = "therapist_id"),
        OPT("any-therapist", OPTION_FLAG, &req.any_therapist,
            "any free therapist will do (the answer says when the therapist changed)",
            .field = "any_therapist"),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    code =
        call_appointment(cli, "/clinic.v1.Scheduling/Reschedule", &req.base, "Moved appointment");
    options_free(opts);
    return code;
}

int cmd_cancel(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__CancelRequest req = CLINIC__V1__CANCEL_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.appointment_id, "the appointment to cancel",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "appointment_id"),
        OPT("reason", OPTION_STRING, &req.reason, "why (kept with the appointment)",
            .field = "reason"),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    code =
        call_appointment(cli, "/clinic.v1.Scheduling/Cancel", &req.base, "Cancelled appointment");
    options_free(opts);
    return code;
}

int cmd_undo(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UndoRequest req = CLINIC__V1__UNDO_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.appointment_id, "the appointment to book again",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "appointment_id"),
        OPT("reason", OPTION_STRING, &req.reason, "why (kept with the appointment's history)",
            .flags = OPTION_REQUIRED, .field = "reason"),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    code = call_appointment(cli, "/clinic.v1.Scheduling/Undo", &req.base,
                            "Booked again (undone) appointment");
    options_free(opts);
    return code;
}

/* check-in, complete, no-show and appointment: one appointment id, one call. */
static int by_id(struct cli *cli, int argc, char **argv, const char *method, const char *heading)
{
    Clinic__V1__AppointmentRef req = CLINIC__V1__APPOINTMENT_REF__INIT;
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.appointment_id, "the appointment",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "appointment_id"),
        OPTIONS_END,
    };
    if (!parse(cli, opts, argc, argv, &code))
        return code;
    code = call_appointment(cli, method, &req.base, heading);
    options_free(opts);
    return code;
}

int cmd_check_in(struct cli *cli, int argc, char **argv)
{
    return by_id(cli, argc, argv, "/clinic.v1.Scheduling/CheckIn", "Checked in appointment");
}

int cmd_complete(struct cli *cli, int argc, char **argv)
{
    return by_id(cli, argc, argv, "/clinic.v1.Scheduling/Complete", "Completed appointment");
}

int cmd_no_show(struct cli *cli, int argc, char **argv)
{
    return by_id(cli, argc, argv, "/clinic.v1.Scheduling/MarkNoShow",
                 "No-show recorded for appointment");
}

int cmd_appointment(struct cli *cli, int argc, char **argv)
{
    return by_id(cli, argc, argv, "/clinic.v1.Scheduling/GetAppointment", "Appointment");
}
