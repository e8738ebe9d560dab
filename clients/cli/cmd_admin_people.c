/* cmd_admin_people.c: `clinic admin` for people: therapists, their weekly hours and time off,
 * and clients. The shared machinery is in cmd_admin.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/admin.pb-c.h"
#include "cmd_admin.h"
#include "times.h"

/* ------------------------------------------------------------------ therapists */

/* "1, 4, 7" of a list of ids into out ("-" when empty). */
static const char *join_ids(const int64_t *ids, size_t n, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used +=
            (size_t)snprintf(out + used, len - used, "%s%lld", i ? ", " : "", (long long)ids[i]);
    if (n == 0)
        snprintf(out, len, "-");
    return out;
}

static void print_therapist(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Therapist *t = (const Clinic__V1__Therapist *)m;
    char services[512];
    admin_heading(done, "therapist", t->id, t->name);
    admin_line("email", "%s", t->email[0] ? t->email : "-");
    admin_line("services", "%s",
               join_ids(t->service_ids, t->n_service_ids, services, sizeof services));
    if (t->archived)
        admin_line("archived", "yes");
}

static void therapist_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Therapist *th = (const Clinic__V1__Therapist *)m;
    char id[24], name[256], services[512];
    snprintf(id, sizeof id, "%lld", (long long)th->id);
    snprintf(name, sizeof name, "%s%s", th->name, th->archived ? " (archived)" : "");
    const char *row[] = {id, name, th->email,
                         join_ids(th->service_ids, th->n_service_ids, services, sizeof services)};
    table_add_row(t, row);
}

#define THERAPIST_FIELDS(r, required)                                                              \
    OPT("name", OPTION_STRING, &(r)->name, "the therapist's name", .flags = (required),            \
        .field = "name"),                                                                          \
        OPT("email", OPTION_STRING, &(r)->email, "their email address (unique)",                   \
            .flags = (required), .field = "email"),                                                \
        OPT("services", OPTION_ID_LIST, &(r)->service_ids,                                         \
            "the services they perform (their ids)", .field = "service_ids",                       \
            .count = &(r)->n_service_ids)

static int therapist_create(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateTherapistRequest u = CLINIC__V1__UPDATE_THERAPIST_REQUEST__INIT;
    struct option opts[] = {THERAPIST_FIELDS(&u, OPTION_REQUIRED), OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__CreateTherapistRequest req = CLINIC__V1__CREATE_THERAPIST_REQUEST__INIT;
    req.name = u.name;
    req.email = u.email;
    req.service_ids = u.service_ids;
    req.n_service_ids = u.n_service_ids;
    return admin_call(cli, opts, "/clinic.v1.Therapists/CreateTherapist", &req.base,
                      &clinic__v1__therapist__descriptor, print_therapist, "Created");
}

static int therapist_get(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_therapist_request__descriptor,
                       "/clinic.v1.Therapists/GetTherapist", &clinic__v1__therapist__descriptor,
                       print_therapist, NULL, "the therapist");
}

static int therapist_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "NAME", "EMAIL", "SERVICES"};
    Clinic__V1__ListTherapistsRequest req = CLINIC__V1__LIST_THERAPISTS_REQUEST__INIT;
    bool all = false, archived = false;
    struct option opts[] = {
        OPT("service", OPTION_ID, &req.service_id, "only those who perform this service"),
        OPT("archived", OPTION_FLAG, &archived, "include archived therapists"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.include_archived = archived;
    return admin_list(cli, opts, "/clinic.v1.Therapists/ListTherapists", &req.base,
                      &clinic__v1__list_therapists_response__descriptor, all, 4, headers,
                      therapist_row);
}

static int therapist_update(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateTherapistRequest req = CLINIC__V1__UPDATE_THERAPIST_REQUEST__INIT;
    char *mask[MAX_MASK];
    struct option opts[] = {ID_ARG(&req.id, "the therapist"), THERAPIST_FIELDS(&req, 0),
                            OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code) ||
        (code = admin_mask(cli, opts, mask, MAX_MASK, &req.n_update_mask)) != 0)
        return code;
    req.update_mask = mask;
    return admin_call(cli, opts, "/clinic.v1.Therapists/UpdateTherapist", &req.base,
                      &clinic__v1__therapist__descriptor, print_therapist, "Updated");
}

static int therapist_archive(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__archive_therapist_request__descriptor,
                       "/clinic.v1.Therapists/ArchiveTherapist", &clinic__v1__therapist__descriptor,
                       print_therapist, "Archived", "the therapist");
}

const struct command admin_therapist_verbs[] = {
    VERB("create", therapist_create, "add a therapist and the services they perform"),
    VERB("get", therapist_get, "show a therapist"),
    VERB("list", therapist_list, "list therapists"),
    VERB("update", therapist_update, "change the fields given (--services replaces the list)"),
    VERB("archive", therapist_archive, "take a therapist off new bookings"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ working hours */

static void hours_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__WorkingHours *h = (const Clinic__V1__WorkingHours *)m;
    char id[24], location[24], valid[64];
    snprintf(id, sizeof id, "%lld", (long long)h->id);
    snprintf(location, sizeof location, "%lld", (long long)h->location_id);
    if (h->valid_from[0] && h->valid_until[0])
        snprintf(valid, sizeof valid, "%s to %s", h->valid_from, h->valid_until);
    else if (h->valid_from[0] || h->valid_until[0])
        snprintf(valid, sizeof valid, "%s %s", h->valid_from[0] ? "from" : "until",
                 h->valid_from[0] ? h->valid_from : h->valid_until);
    else
        snprintf(valid, sizeof valid, "always");
    const char *row[] = {
        id, times_weekday_name((int)h->weekday), h->start_local, h->end_local, location, valid};
    table_add_row(t, row);
}

static const char *const hours_headers[] = {"ID", "DAY", "FROM", "TO", "LOCATION", "VALID"};

/* One rule per weekday given ("--weekday mon-fri" adds five); --json prints the rules added
 * as one ListWorkingHoursResponse, whatever their number. A failure stops at that weekday and
 * keeps the rules added before it (they are shown). */
static int hours_add(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__AddWorkingHoursRequest req = CLINIC__V1__ADD_WORKING_HOURS_REQUEST__INIT;
    uint32_t days = 0;
    struct option opts[] = {
        OPT("therapist", OPTION_ID, &req.therapist_id, "whose hours", .flags = OPTION_REQUIRED,
            .field = "therapist_id"),
        OPT("location", OPTION_ID, &req.location_id, "where they work", .flags = OPTION_REQUIRED,
            .field = "location_id"),
        OPT("weekday", OPTION_WEEKDAYS, &days,
            "which days: mon, mon-fri, sat,sun or 1-7 (1 = Monday); one rule each",
            .flags = OPTION_REQUIRED, .field = "weekday"),
        OPT("from", OPTION_CLOCK, &req.start_local, "starting time, the location's clock",
            .flags = OPTION_REQUIRED, .field = "start_local"),
        OPT("to", OPTION_CLOCK, &req.end_local, "ending time", .flags = OPTION_REQUIRED,
            .field = "end_local"),
        OPT("valid-from", OPTION_DATE, &req.valid_from,
            "first day the rule holds (default: always)", .field = "valid_from"),
        OPT("valid-until", OPTION_DATE, &req.valid_until, "last day it holds (default: always)",
            .field = "valid_until"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__WorkingHours *added[7];
    Clinic__V1__ListWorkingHoursResponse out = CLINIC__V1__LIST_WORKING_HOURS_RESPONSE__INIT;
    out.hours = added;
    for (uint32_t d = 1; d <= 7 && code == 0; d++) {
        if (!(days & (1u << d)))
            continue;
        req.weekday = d;
        ProtobufCMessage *resp;
        code = cli_call(cli, "/clinic.v1.Therapists/AddWorkingHours", &req.base,
                        &clinic__v1__working_hours__descriptor, &resp);
        if (code == 0)
            added[out.n_hours++] = (Clinic__V1__WorkingHours *)resp;
    }
    if (cli->json && (out.n_hours || code == 0)) {
        cli_print_json(&out.base);
    } else if (out.n_hours) {
        printf("Added working hours of therapist %lld:\n", (long long)req.therapist_id);
        struct table *t = table_new(6, hours_headers);
        for (size_t i = 0; i < out.n_hours; i++)
            hours_row(t, &added[i]->base);
        table_print_free(t, stdout);
    }
    for (size_t i = 0; i < out.n_hours; i++)
        protobuf_c_message_free_unpacked(&added[i]->base, NULL);
    options_free(opts);
    return code;
}

static int hours_list(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__ListWorkingHoursRequest req = CLINIC__V1__LIST_WORKING_HOURS_REQUEST__INIT;
    struct option opts[] = {
        OPT("therapist", OPTION_ID, &req.therapist_id, "whose hours", .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Therapists/ListWorkingHours", &req.base,
                           &clinic__v1__list_working_hours_response__descriptor, 6, hours_headers,
                           hours_row);
}

static int hours_delete(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__delete_working_hours_request__descriptor,
                       "/clinic.v1.Therapists/DeleteWorkingHours",
                       &clinic__v1__delete_working_hours_response__descriptor, NULL,
                       "Deleted working hours", "the rule (its id in `hours list`)");
}

const struct command admin_hours_verbs[] = {
    VERB("add", hours_add, "add weekly working hours (one rule per weekday)"),
    VERB("list", hours_list, "list a therapist's weekly hours"),
    VERB("delete", hours_delete, "delete a rule (booked appointments stay)"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ time off */

static void print_time_off(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__TimeOff *t = (const Clinic__V1__TimeOff *)m;
    char from[32], to[32];
    admin_heading(done, "time off", t->id, t->reason);
    admin_line("therapist", "%lld", (long long)t->therapist_id);
    admin_line("away", "from %s to %s", times_local(t->start_time, from, sizeof from),
               times_local(t->end_time, to, sizeof to));
}

static void time_off_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__TimeOff *o = (const Clinic__V1__TimeOff *)m;
    char id[24], from[32], to[32];
    snprintf(id, sizeof id, "%lld", (long long)o->id);
    const char *row[] = {id, times_local(o->start_time, from, sizeof from),
                         times_local(o->end_time, to, sizeof to), o->reason};
    table_add_row(t, row);
}

static int time_off_add(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__AddTimeOffRequest req = CLINIC__V1__ADD_TIME_OFF_REQUEST__INIT;
    char *from = NULL, *to = NULL;
    struct option opts[] = {
        OPT("therapist", OPTION_ID, &req.therapist_id, "who is away", .flags = OPTION_REQUIRED,
            .field = "therapist_id"),
        OPT("from", OPTION_INSTANT, &from, "away from this time, or from the start of this day",
            .flags = OPTION_REQUIRED | OPTION_DAY_OK, .field = "start_time"),
        OPT("to", OPTION_INSTANT, &to, "back at this time, or after the end of this day",
            .flags = OPTION_REQUIRED | OPTION_DAY_OK, .field = "end_time"),
        OPT("reason", OPTION_STRING, &req.reason, "why, e.g. holiday", .field = "reason"),
        OPT("time-zone", OPTION_STRING, &req.time_zone,
            "the zone of times without an offset (default: that of the therapist's location)",
            .arg = "ZONE", .field = "time_zone"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    char start[64], end[64];
    times_bound(from, false, start, sizeof start);
    times_bound(to, true, end, sizeof end);
    req.start_time = start;
    req.end_time = end;
    return admin_call(cli, opts, "/clinic.v1.Therapists/AddTimeOff", &req.base,
                      &clinic__v1__time_off__descriptor, print_time_off, "Added");
}

static int time_off_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "FROM", "TO", "REASON"};
    Clinic__V1__ListTimeOffRequest req = CLINIC__V1__LIST_TIME_OFF_REQUEST__INIT;
    struct option opts[] = {
        OPT("therapist", OPTION_ID, &req.therapist_id, "whose time off", .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Therapists/ListTimeOff", &req.base,
                           &clinic__v1__list_time_off_response__descriptor, 4, headers,
                           time_off_row);
}

static int time_off_delete(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__delete_time_off_request__descriptor,
                       "/clinic.v1.Therapists/DeleteTimeOff",
                       &clinic__v1__delete_time_off_response__descriptor, NULL, "Deleted time off",
                       "the time off (its id in `time-off list`)");
}

const struct command admin_time_off_verbs[] = {
    VERB("add", time_off_add, "record time a therapist is away"),
    VERB("list", time_off_list, "list a therapist's time off"),
    VERB("delete", time_off_delete, "delete time off"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ clients */

static void print_client(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Client *c = (const Clinic__V1__Client *)m;
    admin_heading(done, "client", c->id, c->name);
    admin_line("email", "%s", c->email[0] ? c->email : "-");
    admin_line("phone", "%s", c->phone[0] ? c->phone : "-");
    admin_line("date of birth", "%s", c->date_of_birth[0] ? c->date_of_birth : "-");
    admin_line("messages", "%s", c->messages_opt_out ? "off (opted out)" : "on");
    if (c->archived)
        admin_line("archived", "yes");
}

static void client_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Client *c = (const Clinic__V1__Client *)m;
    char id[24], name[256];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    snprintf(name, sizeof name, "%s%s", c->name, c->archived ? " (archived)" : "");
    const char *row[] = {id, name, c->email, c->phone, c->date_of_birth};
    table_add_row(t, row);
}

#define CLIENT_FIELDS(r, required)                                                                 \
    OPT("name", OPTION_STRING, &(r)->name, "the client's name", .flags = (required),               \
        .field = "name"),                                                                          \
        OPT("email", OPTION_STRING, &(r)->email, "email address (\"\" clears it)",                 \
            .field = "email"),                                                                     \
        OPT("phone", OPTION_STRING, &(r)->phone, "phone number", .field = "phone"),                \
        OPT("date-of-birth", OPTION_DATE, &(r)->date_of_birth, "e.g. 1980-05-17",                  \
            .field = "date_of_birth")

static int client_create(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateClientRequest u = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    struct option opts[] = {CLIENT_FIELDS(&u, OPTION_REQUIRED), OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__CreateClientRequest req = CLINIC__V1__CREATE_CLIENT_REQUEST__INIT;
    req.name = u.name;
    req.email = u.email;
    req.phone = u.phone;
    req.date_of_birth = u.date_of_birth;
    return admin_call(cli, opts, "/clinic.v1.Clients/CreateClient", &req.base,
                      &clinic__v1__client__descriptor, print_client, "Created");
}

static int client_get(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_client_request__descriptor,
                       "/clinic.v1.Clients/GetClient", &clinic__v1__client__descriptor,
                       print_client, NULL, "the client");
}

static int client_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "NAME", "EMAIL", "PHONE", "BORN"};
    Clinic__V1__ListClientsRequest req = CLINIC__V1__LIST_CLIENTS_REQUEST__INIT;
    bool all = false, archived = false;
    struct option opts[] = {
        OPT("query", OPTION_STRING, &req.query, "only names or emails containing this"),
        OPT("archived", OPTION_FLAG, &archived, "include archived clients"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.include_archived = archived;
    return admin_list(cli, opts, "/clinic.v1.Clients/ListClients", &req.base,
                      &clinic__v1__list_clients_response__descriptor, all, 5, headers, client_row);
}

static int client_update(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateClientRequest req = CLINIC__V1__UPDATE_CLIENT_REQUEST__INIT;
    char *mask[MAX_MASK];
    int messages = -1;
    struct option opts[] = {
        ID_ARG(&req.id, "the client"),
        CLIENT_FIELDS(&req, 0),
        OPT("messages", OPTION_CHOICE, &messages,
            "off: no confirmations or reminders (email or SMS), queued ones withdrawn",
            .field = "messages_opt_out", .choices = "on|off"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code) ||
        (code = admin_mask(cli, opts, mask, MAX_MASK, &req.n_update_mask)) != 0)
        return code;
    req.update_mask = mask;
    req.messages_opt_out = messages == 1;
    return admin_call(cli, opts, "/clinic.v1.Clients/UpdateClient", &req.base,
                      &clinic__v1__client__descriptor, print_client, "Updated");
}

static int client_archive(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__archive_client_request__descriptor,
                       "/clinic.v1.Clients/ArchiveClient", &clinic__v1__client__descriptor,
                       print_client, "Archived", "the client");
}

/* Erasure on request: the daemon redacts the contact details and archives the client; the
 * clinical record (appointments, notes, audit) stays, as health-record law requires. */
static int client_erase(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__EraseClientRequest req = CLINIC__V1__ERASE_CLIENT_REQUEST__INIT;
    struct option opts[] = {
        ID_ARG(&req.id, "the client"),
        OPT("reason", OPTION_STRING, &req.reason,
            "why, e.g. \"written request of 2026-11-20\" (kept in the audit trail)",
            .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if (!req.reason[0])
        return cli_usage_error(cli, "--reason must not be empty");
    return admin_call(cli, opts, "/clinic.v1.Clients/EraseClient", &req.base,
                      &clinic__v1__client__descriptor, print_client, "Erased");
}

int cmd_client_export(struct cli *cli, int argc, char **argv); /* cmd_client_export.c */

const struct command admin_client_verbs[] = {
    VERB("create", client_create, "add a client"),
    VERB("get", client_get, "show a client"),
    VERB("list", client_list, "list or search clients"),
    VERB("update", client_update, "change the fields given, and only those"),
    VERB("archive", client_archive, "archive a client (their clinical record stays)"),
    VERB("erase", client_erase,
         "redact a client's contact details on request (appointments, notes and audit stay)"),
    {.name = "export",
     .run = cmd_client_export,
     .summary = "everything held about a client, as one JSON document (GDPR articles 15, 20)",
     .details = "Contact data, accounts, appointments, courses, notes with their amendments,\n"
                "health histories, consents, questionnaires, waitlist, packages, charges,\n"
                "receipts, messages sent, and the audit rows about them. Each export is itself\n"
                "audited. Example:\n"
                "  clinic admin client export 7 --output client-7.json"},
    COMMANDS_END,
};
