/* cmd_waitlist.c: `clinic waitlist add|list|remove|accept|decline`: clients waiting for a time
 * that is taken, and their answers to an offer (a time held for them until a deadline). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/waitlist.pb-c.h"
#include "cmd_admin.h"
#include "options.h"
#include "schedule.h"
#include "times.h"

static const char *status_word(Clinic__V1__WaitlistStatus s)
{
    switch (s) {
    case CLINIC__V1__WAITLIST_STATUS__WAITLIST_STATUS_WAITING:
        return "waiting";
    case CLINIC__V1__WAITLIST_STATUS__WAITLIST_STATUS_OFFERED:
        return "offered";
    case CLINIC__V1__WAITLIST_STATUS__WAITLIST_STATUS_BOOKED:
        return "booked";
    case CLINIC__V1__WAITLIST_STATUS__WAITLIST_STATUS_REMOVED:
        return "removed";
    case CLINIC__V1__WAITLIST_STATUS__WAITLIST_STATUS_EXPIRED:
        return "expired";
    default:
        return "?";
    }
}

static void print_entry(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__WaitlistEntry *e = (const Clinic__V1__WaitlistEntry *)m;
    char when[48];
    printf("%s waitlist entry %lld: %s for %s\n", done ? done : "Waitlist", (long long)e->id,
           e->client_name, e->service_name);
    printf("  %-10s %s to %s, starting %s-%s\n", "days", e->first_day, e->last_day, e->earliest,
           e->latest);
    printf("  %-10s %s\n", "therapist", e->therapist_id ? e->therapist_name : "anyone");
    printf("  %-10s %s\n", "status", status_word(e->status));
    if (e->offered_appointment_id)
        printf("  %-10s appointment %lld at %s, held until %s: clinic waitlist accept %lld\n",
               "offer", (long long)e->offered_appointment_id,
               times_readable(e->offered_start, when, sizeof when), e->held_until,
               (long long)e->offered_appointment_id);
}

static void entry_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__WaitlistEntry *e = (const Clinic__V1__WaitlistEntry *)m;
    char id[24], days[32], times[16], offer[96], when[48];
    snprintf(id, sizeof id, "%lld", (long long)e->id);
    snprintf(days, sizeof days, "%s..%s", e->first_day, e->last_day);
    snprintf(times, sizeof times, "%s-%s", e->earliest, e->latest);
    if (e->offered_appointment_id)
        snprintf(offer, sizeof offer, "appt %lld %s", (long long)e->offered_appointment_id,
                 times_readable(e->offered_start, when, sizeof when));
    else
        snprintf(offer, sizeof offer, "-");
    const char *row[] = {id,
                         e->client_name,
                         e->service_name,
                         e->therapist_id ? e->therapist_name : "anyone",
                         days,
                         times,
                         status_word(e->status),
                         offer};
    table_add_row(t, row);
}

static int waitlist_add(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__AddWaitlistEntryRequest req = CLINIC__V1__ADD_WAITLIST_ENTRY_REQUEST__INIT;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "who waits (default: you, as a client)",
            .field = "client_id"),
        OPT("service", OPTION_ID, &req.service_id, "the treatment", .flags = OPTION_REQUIRED,
            .field = "service_id"),
        OPT("location", OPTION_ID, &req.location_id, "where (default: the only location)",
            .field = "location_id"),
        OPT("therapist", OPTION_ID, &req.therapist_id, "only with this therapist (default: anyone)",
            .field = "therapist_id"),
        OPT("from", OPTION_DATE, &req.first_day, "the first day that suits (default: today)",
            .field = "first_day"),
        OPT("to", OPTION_DATE, &req.last_day, "the last day that suits", .flags = OPTION_REQUIRED,
            .field = "last_day"),
        OPT("earliest", OPTION_CLOCK, &req.earliest, "start no earlier than (default 00:00)",
            .field = "earliest"),
        OPT("latest", OPTION_CLOCK, &req.latest, "start before (default 24:00)", .field = "latest"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = schedule_location(cli, &req.location_id, NULL)) != 0) {
        options_free(opts);
        return code;
    }
    return admin_call(cli, opts, "/clinic.v1.Waitlist/AddEntry", &req.base,
                      &clinic__v1__waitlist_entry__descriptor, print_entry, "Added");
}

static int waitlist_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",   "CLIENT", "SERVICE", "THERAPIST",
                                          "DAYS", "STARTS", "STATUS",  "OFFER"};
    Clinic__V1__ListWaitlistRequest req = CLINIC__V1__LIST_WAITLIST_REQUEST__INIT;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "one location's (default: every one)",
            .field = "location_id"),
        OPT("all", OPTION_FLAG, &req.include_closed, "booked, removed and expired entries too"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Waitlist/ListEntries", &req.base,
                           &clinic__v1__list_waitlist_response__descriptor, 8, headers, entry_row);
}

static int waitlist_remove(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__waitlist_entry_ref__descriptor,
                       "/clinic.v1.Waitlist/RemoveEntry", &clinic__v1__waitlist_entry__descriptor,
                       print_entry, "Removed", "the waitlist entry");
}

static void print_answered(const ProtobufCMessage *m, const char *done)
{
    schedule_print_appointment((const Clinic__V1__Appointment *)m, done);
}

/* accept and decline: one appointment id, by position. */
static int answer(struct cli *cli, int argc, char **argv, const char *method, const char *done)
{
    Clinic__V1__WaitlistOfferRef req = CLINIC__V1__WAITLIST_OFFER_REF__INIT;
    struct option opts[] = {
        OPT("APPOINTMENT", OPTION_ID, &req.appointment_id, "the appointment offered",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "appointment_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, method, &req.base, &clinic__v1__appointment__descriptor,
                      print_answered, done);
}

static int waitlist_accept(struct cli *cli, int argc, char **argv)
{
    return answer(cli, argc, argv, "/clinic.v1.Waitlist/AcceptOffer",
                  "Accepted: booked appointment");
}

static int waitlist_decline(struct cli *cli, int argc, char **argv)
{
    return answer(cli, argc, argv, "/clinic.v1.Waitlist/DeclineOffer",
                  "Declined: passed on appointment");
}

const struct command waitlist_commands[] = {
    {.name = "add",
     .run = waitlist_add,
     .summary = "wait for a time: a service, maybe a therapist, days and times of day",
     .details = "When a matching time frees (a cancellation, a move), the first client waiting\n"
                "is offered it by email: booked for them and held until a deadline (120 minutes\n"
                "unless `clinic admin location update --waitlist-hold` says otherwise); they\n"
                "accept or decline it, or it passes to the next client waiting. Example:\n"
                "  clinic waitlist add --client 7 --service 2 --to 2027-01-31 --earliest 16:00"},
    VERB("list", waitlist_list, "who waits for what, first come first (a client: their own)"),
    VERB("remove", waitlist_remove, "take an entry off the waitlist"),
    VERB("accept", waitlist_accept, "accept an offer: the held appointment is booked for good"),
    VERB("decline", waitlist_decline, "decline an offer: it passes to the next client waiting"),
    COMMANDS_END,
};
