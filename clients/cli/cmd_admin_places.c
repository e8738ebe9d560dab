/* cmd_admin_places.c: `clinic admin` for the places: locations with their booking rules and
 * closures, rooms, and the services (treatments) given in them. The shared machinery is in
 * cmd_admin.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/admin.pb-c.h"
#include "cmd_admin.h"

/* ------------------------------------------------------------------ locations */

/* "20.00", "50 % of the price" or "none", and whether a package pays instead. */
static void print_fee(const char *label, int64_t cents, uint32_t percent, bool package_draws)
{
    char fee[64];
    if (cents > 0)
        snprintf(fee, sizeof fee, "%lld.%02lld", (long long)(cents / 100),
                 (long long)(cents % 100));
    else if (percent > 0)
        snprintf(fee, sizeof fee, "%u %% of the price", percent);
    else
        snprintf(fee, sizeof fee, "none");
    admin_line(label, "%s%s", fee,
               package_draws ? "; a client's package pays it with a session when it can" : "");
}

static void print_location(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Location *l = (const Clinic__V1__Location *)m;
    admin_heading(done, "location", l->id, l->name);
    admin_line("time zone", "%s", l->time_zone);
    admin_line("minimum notice", "%u minutes", l->min_notice_minutes);
    admin_line("books ahead", "up to %u days", l->max_advance_days);
    admin_line("slot step", "%u minutes", l->slot_step_minutes);
    admin_line("late cancellation", "within %u hours of the start", l->cancellation_window_hours);
    admin_line("check-in opens", "%u minutes before the start, on its day",
               l->check_in_opens_minutes);
    admin_line("messages", "in %s, reminder %u minutes ahead", l->language,
               l->reminder_lead_minutes);
    admin_line("address", "%s", l->address[0] ? l->address : "-");
    admin_line("to cancel", "%s", l->cancel_contact[0] ? l->cancel_contact : "-");
    admin_line("waitlist offers", "held %u minutes", l->waitlist_hold_minutes);
    admin_line("currency", "%s", l->currency);
    print_fee("late-cancel fee", l->late_cancel_fee_cents, l->late_cancel_fee_percent,
              l->package_draw_late_cancel);
    print_fee("no-show fee", l->no_show_fee_cents, l->no_show_fee_percent, l->package_draw_no_show);
    if (l->archived)
        admin_line("archived", "yes");
}

static void location_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Location *l = (const Clinic__V1__Location *)m;
    char id[24], name[256], notice[24], ahead[24], step[24], window[24];
    snprintf(id, sizeof id, "%lld", (long long)l->id);
    snprintf(name, sizeof name, "%s%s", l->name, l->archived ? " (archived)" : "");
    snprintf(notice, sizeof notice, "%u min", l->min_notice_minutes);
    snprintf(ahead, sizeof ahead, "%u days", l->max_advance_days);
    snprintf(step, sizeof step, "%u min", l->slot_step_minutes);
    snprintf(window, sizeof window, "%u h", l->cancellation_window_hours);
    const char *row[] = {id, name, l->time_zone, notice, ahead, step, window};
    table_add_row(t, row);
}

#define LOCATION_FIELDS(r, required)                                                               \
    OPT("name", OPTION_STRING, &(r)->name, "the location's name", .flags = (required),             \
        .field = "name"),                                                                          \
        OPT("time-zone", OPTION_STRING, &(r)->time_zone,                                           \
            "its IANA time zone, e.g. Europe/Berlin: hours and times are read in it",              \
            .flags = (required), .field = "time_zone", .arg = "ZONE"),                             \
        OPT("min-notice", OPTION_UINT, &(r)->min_notice_minutes,                                   \
            "bookings start at least this long from now", .field = "min_notice_minutes",           \
            .arg = "MINUTES"),                                                                     \
        OPT("max-advance", OPTION_UINT, &(r)->max_advance_days,                                    \
            "bookings at most this far ahead (at creation, 0 means 90)",                           \
            .field = "max_advance_days", .arg = "DAYS"),                                           \
        OPT("slot-step", OPTION_UINT, &(r)->slot_step_minutes,                                     \
            "appointments start on this grid from midnight (at creation, 0 means 15)",             \
            .field = "slot_step_minutes", .arg = "MINUTES"),                                       \
        OPT("cancellation-window", OPTION_UINT, &(r)->cancellation_window_hours,                   \
            "a cancellation later than this before the start is recorded as late",                 \
            .field = "cancellation_window_hours", .arg = "HOURS"),                                 \
        OPT("check-in-opens", OPTION_UINT, &(r)->check_in_opens_minutes,                           \
            "check-in opens this long before the start, on its day (at creation, 0 means 120)",    \
            .field = "check_in_opens_minutes", .arg = "MINUTES")

static int location_create(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateLocationRequest u = CLINIC__V1__UPDATE_LOCATION_REQUEST__INIT;
    struct option opts[] = {LOCATION_FIELDS(&u, OPTION_REQUIRED), OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__CreateLocationRequest req = CLINIC__V1__CREATE_LOCATION_REQUEST__INIT;
    req.name = u.name;
    req.time_zone = u.time_zone;
    req.min_notice_minutes = u.min_notice_minutes;
    req.max_advance_days = u.max_advance_days;
    req.slot_step_minutes = u.slot_step_minutes;
    req.cancellation_window_hours = u.cancellation_window_hours;
    req.check_in_opens_minutes = u.check_in_opens_minutes;
    return admin_call(cli, opts, "/clinic.v1.Locations/CreateLocation", &req.base,
                      &clinic__v1__location__descriptor, print_location, "Created");
}

static int location_get(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_location_request__descriptor,
                       "/clinic.v1.Locations/GetLocation", &clinic__v1__location__descriptor,
                       print_location, NULL, "the location");
}

static int location_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",    "NAME", "TIME ZONE",  "NOTICE",
                                          "AHEAD", "STEP", "LATE CANCEL"};
    Clinic__V1__ListLocationsRequest req = CLINIC__V1__LIST_LOCATIONS_REQUEST__INIT;
    bool all = false, archived = false;
    struct option opts[] = {
        OPT("archived", OPTION_FLAG, &archived, "include archived locations"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.include_archived = archived;
    return admin_list(cli, opts, "/clinic.v1.Locations/ListLocations", &req.base,
                      &clinic__v1__list_locations_response__descriptor, all, 7, headers,
                      location_row);
}

/* A fee as the command line gives it: "20" or "20.50" (an amount), "50%" (a percent of the
 * service's price), "0" or "none". Sets both forms (the other 0); false when it is neither. */
static bool parse_fee(const char *s, int64_t *cents, uint32_t *percent)
{
    char *end;
    *cents = 0;
    *percent = 0;
    if (strcmp(s, "none") == 0)
        return true;
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '%') {
        long v = strtol(s, &end, 10);
        if (end != s + n - 1 || v < 0 || v > 100 || s[0] < '0' || s[0] > '9')
            return false;
        *percent = (uint32_t)v;
        return true;
    }
    long long whole = strtoll(s, &end, 10);
    if (end == s || s[0] < '0' || s[0] > '9' || whole > 1000000)
        return false;
    long long frac = 0;
    if (*end == '.') {
        const char *f = end + 1;
        if (f[0] < '0' || f[0] > '9' || (f[1] && (f[1] < '0' || f[1] > '9' || f[2])))
            return false;
        frac = (f[0] - '0') * 10 + (f[1] ? f[1] - '0' : 0);
    } else if (*end) {
        return false;
    }
    *cents = whole * 100 + frac;
    return true;
}

/* Sets the fee option `name` (its value in *text) into cents and percent, and names both fields
 * in the mask (a fee given as an amount clears a percent, and the other way round). Returns 0 or
 * a usage error's exit status. */
static int fee_option(struct cli *cli, const struct option *opts, const char *name,
                      const char *text, int64_t *cents, uint32_t *percent, char **mask, size_t *n,
                      const char *percent_field)
{
    if (!options_given(opts, name))
        return 0;
    if (!parse_fee(text, cents, percent))
        return cli_usage_error(cli,
                               "--%s must be an amount such as 20 or 20.50, a percent of the "
                               "service's price such as 50%%, or none",
                               name);
    if (*n < MAX_MASK)
        mask[(*n)++] = (char *)percent_field;
    return 0;
}

static int location_update(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateLocationRequest req = CLINIC__V1__UPDATE_LOCATION_REQUEST__INIT;
    char *mask[MAX_MASK];
    char *late_fee = NULL, *no_show_fee = NULL;
    int draw_late = 0, draw_no_show = 0;
    struct option opts[] = {
        ID_ARG(&req.id, "the location"),
        LOCATION_FIELDS(&req, 0),
        OPT("address", OPTION_STRING, &req.address, "its address, as messages to clients give it",
            .field = "address"),
        OPT("language", OPTION_STRING, &req.language,
            "language of messages to clients: en, fr or de (others are written in English)",
            .field = "language", .arg = "TAG"),
        OPT("reminder-lead", OPTION_UINT, &req.reminder_lead_minutes,
            "a reminder goes this long before an appointment (0 to 43200)",
            .field = "reminder_lead_minutes", .arg = "MINUTES"),
        OPT("cancel-contact", OPTION_STRING, &req.cancel_contact,
            "how to cancel, as messages say it: a phone number or web address",
            .field = "cancel_contact"),
        OPT("waitlist-hold", OPTION_UINT, &req.waitlist_hold_minutes,
            "how long a waitlist offer is held for its client (5 to 2880)",
            .field = "waitlist_hold_minutes", .arg = "MINUTES"),
        OPT("currency", OPTION_STRING, &req.currency,
            "the currency of its prices, fees and receipts (ISO 4217, e.g. EUR)",
            .field = "currency", .arg = "CODE"),
        OPT("late-cancel-fee", OPTION_STRING, &late_fee,
            "charged for a late cancellation: an amount (20.00), a percent of the price (50%) "
            "or none",
            .field = "late_cancel_fee_cents", .arg = "FEE"),
        OPT("no-show-fee", OPTION_STRING, &no_show_fee,
            "charged for a no-show: an amount (20.00), a percent of the price (50%) or none",
            .field = "no_show_fee_cents", .arg = "FEE"),
        OPT("package-draw-late-cancel", OPTION_CHOICE, &draw_late,
            "on: a late cancellation uses up a session of the client's package instead of the fee",
            .field = "package_draw_late_cancel", .choices = "off|on"),
        OPT("package-draw-no-show", OPTION_CHOICE, &draw_no_show,
            "on: a no-show uses up a session of the client's package instead of the fee",
            .field = "package_draw_no_show", .choices = "off|on"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code) ||
        (code = admin_mask(cli, opts, mask, MAX_MASK, &req.n_update_mask)) != 0)
        return code;
    if ((code = fee_option(cli, opts, "late-cancel-fee", late_fee, &req.late_cancel_fee_cents,
                           &req.late_cancel_fee_percent, mask, &req.n_update_mask,
                           "late_cancel_fee_percent")) != 0 ||
        (code = fee_option(cli, opts, "no-show-fee", no_show_fee, &req.no_show_fee_cents,
                           &req.no_show_fee_percent, mask, &req.n_update_mask,
                           "no_show_fee_percent")) != 0) {
        options_free(opts);
        return code;
    }
    req.package_draw_late_cancel = draw_late == 1;
    req.package_draw_no_show = draw_no_show == 1;
    req.update_mask = mask;
    return admin_call(cli, opts, "/clinic.v1.Locations/UpdateLocation", &req.base,
                      &clinic__v1__location__descriptor, print_location, "Updated");
}

static int location_archive(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__archive_location_request__descriptor,
                       "/clinic.v1.Locations/ArchiveLocation", &clinic__v1__location__descriptor,
                       print_location, "Archived", "the location");
}

const struct command admin_location_verbs[] = {
    VERB("create", location_create, "create a location with its booking rules"),
    VERB("get", location_get, "show a location"),
    VERB("list", location_list, "list the locations"),
    VERB("update", location_update, "change the fields given, and only those"),
    VERB("archive", location_archive, "hide a location from searches and new bookings"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ closures */

static void print_closure(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Closure *c = (const Clinic__V1__Closure *)m;
    admin_heading(done, "closure", c->id, c->reason);
    admin_line("location", "%lld", (long long)c->location_id);
    admin_line("closed", "%s to %s (both included)", c->first_day, c->last_day);
}

static void closure_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Closure *c = (const Clinic__V1__Closure *)m;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    const char *row[] = {id, c->first_day, c->last_day, c->reason};
    table_add_row(t, row);
}

static int closure_add(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__AddClosureRequest req = CLINIC__V1__ADD_CLOSURE_REQUEST__INIT;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "the location that closes",
            .flags = OPTION_REQUIRED, .field = "location_id"),
        OPT("from", OPTION_DATE, &req.first_day, "the first closed day", .flags = OPTION_REQUIRED,
            .field = "first_day"),
        OPT("to", OPTION_DATE, &req.last_day, "the last closed day (default: --from)",
            .field = "last_day"),
        OPT("reason", OPTION_STRING, &req.reason, "why, e.g. \"Easter Monday\"", .field = "reason"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, "/clinic.v1.Locations/AddClosure", &req.base,
                      &clinic__v1__closure__descriptor, print_closure, "Added");
}

static int closure_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "FROM", "TO", "REASON"};
    Clinic__V1__ListClosuresRequest req = CLINIC__V1__LIST_CLOSURES_REQUEST__INIT;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "the location", .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Locations/ListClosures", &req.base,
                           &clinic__v1__list_closures_response__descriptor, 4, headers,
                           closure_row);
}

static int closure_delete(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__delete_closure_request__descriptor,
                       "/clinic.v1.Locations/DeleteClosure",
                       &clinic__v1__delete_closure_response__descriptor, NULL, "Deleted closure",
                       "the closure");
}

const struct command admin_closure_verbs[] = {
    VERB("add", closure_add, "close a location for a day or a run of days"),
    VERB("list", closure_list, "list a location's closures"),
    VERB("delete", closure_delete, "open again: delete a closure"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ rooms */

static void print_room(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Room *r = (const Clinic__V1__Room *)m;
    char features[512];
    admin_heading(done, "room", r->id, r->name);
    admin_line("location", "%lld", (long long)r->location_id);
    admin_line("features", "%s", admin_join(r->features, r->n_features, features, sizeof features));
    if (r->archived)
        admin_line("archived", "yes");
}

static void room_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Room *r = (const Clinic__V1__Room *)m;
    char id[24], location[24], name[256], features[512];
    snprintf(id, sizeof id, "%lld", (long long)r->id);
    snprintf(location, sizeof location, "%lld", (long long)r->location_id);
    snprintf(name, sizeof name, "%s%s", r->name, r->archived ? " (archived)" : "");
    const char *row[] = {id, location, name,
                         admin_join(r->features, r->n_features, features, sizeof features)};
    table_add_row(t, row);
}

#define ROOM_FIELDS(r, required)                                                                   \
    OPT("name", OPTION_STRING, &(r)->name, "the room's name, unique at its location",              \
        .flags = (required), .field = "name"),                                                     \
        OPT("features", OPTION_LIST, &(r)->features,                                               \
            "what it has, lower-case words: table, heated_table, shower", .field = "features",     \
            .count = &(r)->n_features)

static int room_create(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateRoomRequest u = CLINIC__V1__UPDATE_ROOM_REQUEST__INIT;
    Clinic__V1__CreateRoomRequest req = CLINIC__V1__CREATE_ROOM_REQUEST__INIT;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "where the room is", .flags = OPTION_REQUIRED,
            .field = "location_id"),
        ROOM_FIELDS(&u, OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.name = u.name;
    req.features = u.features;
    req.n_features = u.n_features;
    return admin_call(cli, opts, "/clinic.v1.Rooms/CreateRoom", &req.base,
                      &clinic__v1__room__descriptor, print_room, "Created");
}

static int room_get(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_room_request__descriptor,
                       "/clinic.v1.Rooms/GetRoom", &clinic__v1__room__descriptor, print_room, NULL,
                       "the room");
}

static int room_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "LOCATION", "NAME", "FEATURES"};
    Clinic__V1__ListRoomsRequest req = CLINIC__V1__LIST_ROOMS_REQUEST__INIT;
    bool all = false, archived = false;
    struct option opts[] = {
        OPT("location", OPTION_ID, &req.location_id, "only this location's rooms"),
        OPT("archived", OPTION_FLAG, &archived, "include archived rooms"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.include_archived = archived;
    return admin_list(cli, opts, "/clinic.v1.Rooms/ListRooms", &req.base,
                      &clinic__v1__list_rooms_response__descriptor, all, 4, headers, room_row);
}

static int room_update(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateRoomRequest req = CLINIC__V1__UPDATE_ROOM_REQUEST__INIT;
    char *mask[MAX_MASK];
    struct option opts[] = {ID_ARG(&req.id, "the room"), ROOM_FIELDS(&req, 0), OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code) ||
        (code = admin_mask(cli, opts, mask, MAX_MASK, &req.n_update_mask)) != 0)
        return code;
    req.update_mask = mask;
    return admin_call(cli, opts, "/clinic.v1.Rooms/UpdateRoom", &req.base,
                      &clinic__v1__room__descriptor, print_room, "Updated");
}

static int room_archive(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__archive_room_request__descriptor,
                       "/clinic.v1.Rooms/ArchiveRoom", &clinic__v1__room__descriptor, print_room,
                       "Archived", "the room");
}

const struct command admin_room_verbs[] = {
    VERB("create", room_create, "add a room to a location"),
    VERB("get", room_get, "show a room"),
    VERB("list", room_list, "list rooms"),
    VERB("update", room_update, "change the fields given (--features \"\" clears them)"),
    VERB("archive", room_archive, "take a room out of use"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ services */

static void print_service(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Service *s = (const Clinic__V1__Service *)m;
    char features[512];
    admin_heading(done, "service", s->id, s->name);
    admin_line("duration", "%u minutes", s->duration_minutes);
    admin_line("buffers", "%u minutes before, %u after", s->buffer_before_minutes,
               s->buffer_after_minutes);
    admin_line("price", "%lld.%02lld, tax included: %u.%02u %%", (long long)(s->price_cents / 100),
               (long long)(s->price_cents % 100), s->tax_rate_bp / 100, s->tax_rate_bp % 100);
    admin_line("room needs", "%s",
               admin_join(s->required_features, s->n_required_features, features, sizeof features));
    if (!s->active)
        admin_line("offered", "no (archived)");
}

static void service_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Service *s = (const Clinic__V1__Service *)m;
    char id[24], name[256], minutes[16], buffers[32], price[32], features[512];
    snprintf(id, sizeof id, "%lld", (long long)s->id);
    snprintf(name, sizeof name, "%s%s", s->name, s->active ? "" : " (archived)");
    snprintf(minutes, sizeof minutes, "%u", s->duration_minutes);
    snprintf(buffers, sizeof buffers, "%u/%u", s->buffer_before_minutes, s->buffer_after_minutes);
    snprintf(price, sizeof price, "%lld.%02lld", (long long)(s->price_cents / 100),
             (long long)(s->price_cents % 100));
    const char *row[] = {
        id,
        name,
        minutes,
        buffers,
        price,
        admin_join(s->required_features, s->n_required_features, features, sizeof features)};
    table_add_row(t, row);
}

#define SERVICE_FIELDS(r, required, tax)                                                           \
    OPT("name", OPTION_STRING, &(r)->name, "the service's name, e.g. \"Back massage 60\"",         \
        .flags = (required), .field = "name"),                                                     \
        OPT("duration", OPTION_UINT, &(r)->duration_minutes, "how long a session is",              \
            .flags = (required), .field = "duration_minutes", .arg = "MINUTES"),                   \
        OPT("buffer-before", OPTION_UINT, &(r)->buffer_before_minutes,                             \
            "preparation before, blocking therapist and room", .field = "buffer_before_minutes",   \
            .arg = "MINUTES"),                                                                     \
        OPT("buffer-after", OPTION_UINT, &(r)->buffer_after_minutes,                               \
            "cleanup after, blocking therapist and room", .field = "buffer_after_minutes",         \
            .arg = "MINUTES"),                                                                     \
        OPT("price", OPTION_MONEY, &(r)->price_cents, "the price, e.g. 65 or 65.50",               \
            .field = "price_cents"),                                                               \
        OPT("tax-rate", OPTION_MONEY, (tax),                                                       \
            "percent of tax included in the price, e.g. 19 or 7.7 (default 0: exempt)",            \
            .field = "tax_rate_bp", .arg = "PERCENT"),                                             \
        OPT("features", OPTION_LIST, &(r)->required_features,                                      \
            "what its room must have, e.g. heated_table", .field = "required_features",            \
            .count = &(r)->n_required_features)

/* --tax-rate, read as money ("19" or "7.7": hundredths of a percent, basis points), must be at
 * most 100 %. Returns 0 or the usage error's status (opts' lists then freed). */
static int tax_rate(struct cli *cli, struct option *opts, int64_t bp)
{
    if (bp <= 10000)
        return 0;
    options_free(opts);
    return cli_usage_error(cli, "--tax-rate must be a percent from 0 to 100, e.g. 19 or 7.7");
}

static int service_create(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateServiceRequest u = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    int64_t tax = 0;
    struct option opts[] = {SERVICE_FIELDS(&u, OPTION_REQUIRED, &tax), OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code) || (code = tax_rate(cli, opts, tax)) != 0)
        return code;
    Clinic__V1__CreateServiceRequest req = CLINIC__V1__CREATE_SERVICE_REQUEST__INIT;
    req.name = u.name;
    req.duration_minutes = u.duration_minutes;
    req.buffer_before_minutes = u.buffer_before_minutes;
    req.buffer_after_minutes = u.buffer_after_minutes;
    req.price_cents = u.price_cents;
    req.tax_rate_bp = (uint32_t)tax;
    req.required_features = u.required_features;
    req.n_required_features = u.n_required_features;
    return admin_call(cli, opts, "/clinic.v1.Services/CreateService", &req.base,
                      &clinic__v1__service__descriptor, print_service, "Created");
}

static int service_get(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_service_request__descriptor,
                       "/clinic.v1.Services/GetService", &clinic__v1__service__descriptor,
                       print_service, NULL, "the service");
}

static int service_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",      "NAME",  "MINUTES",
                                          "BUFFERS", "PRICE", "ROOM NEEDS"};
    Clinic__V1__ListServicesRequest req = CLINIC__V1__LIST_SERVICES_REQUEST__INIT;
    bool all = false, archived = false;
    struct option opts[] = {
        OPT("archived", OPTION_FLAG, &archived, "include services no longer offered"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.include_inactive = archived;
    return admin_list(cli, opts, "/clinic.v1.Services/ListServices", &req.base,
                      &clinic__v1__list_services_response__descriptor, all, 6, headers,
                      service_row);
}

static int service_update(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateServiceRequest req = CLINIC__V1__UPDATE_SERVICE_REQUEST__INIT;
    char *mask[MAX_MASK];
    int64_t tax = 0;
    struct option opts[] = {ID_ARG(&req.id, "the service"), SERVICE_FIELDS(&req, 0, &tax),
                            OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code) || (code = tax_rate(cli, opts, tax)) != 0 ||
        (code = admin_mask(cli, opts, mask, MAX_MASK, &req.n_update_mask)) != 0)
        return code;
    req.tax_rate_bp = (uint32_t)tax;
    req.update_mask = mask;
    return admin_call(cli, opts, "/clinic.v1.Services/UpdateService", &req.base,
                      &clinic__v1__service__descriptor, print_service, "Updated");
}

static int service_archive(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__archive_service_request__descriptor,
                       "/clinic.v1.Services/ArchiveService", &clinic__v1__service__descriptor,
                       print_service, "Archived", "the service");
}

const struct command admin_service_verbs[] = {
    VERB("create", service_create, "add a service (treatment) with its duration and price"),
    VERB("get", service_get, "show a service"),
    VERB("list", service_list, "list the services offered"),
    VERB("update", service_update, "change the fields given, and only those"),
    VERB("archive", service_archive, "stop offering a service (past appointments keep it)"),
    COMMANDS_END,
};
