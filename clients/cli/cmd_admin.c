/* cmd_admin.c: `clinic admin ENTITY VERB`: setting up the clinic. This file holds the entity
 * table and what every entity shares: running a verb, printing a record, printing a list. The
 * entities are in cmd_admin_places.c (locations with their closures, rooms, services) and
 * cmd_admin_people.c (therapists with their hours and time off, clients) and cmd_admin_users.c
 * (accounts).
 *
 * Create and update share one option table per entity, filled into the Update request: create
 * copies it into its Create request, update sends it with update_mask = the fields whose options
 * were given, so `admin location update 3 --slot-step 30` changes the slot step only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_admin.h"

/* ------------------------------------------------------------------ shared */

void admin_heading(const char *done, const char *noun, int64_t id, const char *name)
{
    if (done)
        printf("%s %s %lld", done, noun, (long long)id);
    else
        printf("%c%s %lld", noun[0] - ('a' <= noun[0] && noun[0] <= 'z' ? 'a' - 'A' : 0), noun + 1,
               (long long)id);
    printf(name && *name ? ": %s\n" : "\n", name);
}

void admin_line(const char *label, const char *fmt, ...)
{
    va_list ap;
    printf("  %-18s ", label);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

const char *admin_join(char *const *items, size_t n, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", items[i]);
    if (n == 0)
        snprintf(out, len, "-");
    return out;
}

bool admin_parse(struct cli *cli, struct option *opts, int argc, char **argv, int *code)
{
    if (options_parse(cli, opts, argc, argv, code))
        return true;
    options_free(opts);
    return false;
}

int admin_call(struct cli *cli, struct option *opts, const char *method,
               const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_type,
               admin_print_fn *print, const char *done)
{
    ProtobufCMessage *resp;
    int code = cli_call(cli, method, req, reply_type, &resp);
    if (code == 0) {
        if (cli->json)
            cli_print_json(resp);
        else
            print(resp, done);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    options_free(opts);
    return code;
}

/* The one repeated message field of a list reply. */
static const ProtobufCFieldDescriptor *items_field(const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED &&
            d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            return &d->fields[i];
    abort(); /* a programming error: not a list reply */
}

static void print_items(struct cli *cli, const ProtobufCMessage *resp, size_t ncols,
                        const char *const *headers, admin_row_fn *row)
{
    if (cli->json) {
        cli_print_json(resp);
        return;
    }
    const ProtobufCFieldDescriptor *f = items_field(resp->descriptor);
    size_t n = *(const size_t *)((const char *)resp + f->quantifier_offset);
    ProtobufCMessage *const *items =
        *(ProtobufCMessage *const *const *)((const char *)resp + f->offset);
    if (n == 0) {
        printf("(none)\n");
        return;
    }
    struct table *t = table_new(ncols, headers);
    table_keep_column(t, 0); /* the id */
    for (size_t i = 0; i < n; i++)
        row(t, items[i]);
    table_print_free(t, stdout);
}

int admin_list(struct cli *cli, struct option *opts, const char *method, ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *reply_type, bool all, size_t ncols,
               const char *const *headers, admin_row_fn *row)
{
    ProtobufCMessage *resp;
    int code = cli_call_pages(cli, method, req, reply_type, &resp, all);
    if (code == 0) {
        print_items(cli, resp, ncols, headers, row);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    options_free(opts);
    return code;
}

int admin_list_once(struct cli *cli, struct option *opts, const char *method,
                    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_type,
                    size_t ncols, const char *const *headers, admin_row_fn *row)
{
    ProtobufCMessage *resp;
    int code = cli_call(cli, method, req, reply_type, &resp);
    if (code == 0) {
        print_items(cli, resp, ncols, headers, row);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    options_free(opts);
    return code;
}

int admin_mask(struct cli *cli, struct option *opts, char **mask, size_t max, size_t *n)
{
    *n = options_mask(opts, mask, max);
    if (*n)
        return 0;
    options_free(opts);
    return cli_usage_error(cli, "name at least one field to change, e.g. --name");
}

int admin_by_id(struct cli *cli, int argc, char **argv, const ProtobufCMessageDescriptor *req_type,
                const char *method, const ProtobufCMessageDescriptor *reply_type,
                admin_print_fn *print, const char *done, const char *what)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(req_type, "id");
    ProtobufCMessage *req = calloc(1, req_type->sizeof_message);
    if (!f || !req) {
        free(req);
        fprintf(stderr, "clinic: out of memory\n");
        return STATUS_RESOURCE_EXHAUSTED;
    }
    protobuf_c_message_init(req_type, req);
    int64_t *id = (int64_t *)((char *)req + f->offset);
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, id, what, .flags = OPTION_POSITIONAL | OPTION_REQUIRED),
        OPTIONS_END,
    };
    if (admin_parse(cli, opts, argc, argv, &code)) {
        ProtobufCMessage *resp;
        code = cli_call(cli, method, req, reply_type, &resp);
        if (code == 0 && cli->json)
            cli_print_json(resp);
        else if (code == 0 && print)
            print(resp, done);
        else if (code == 0)
            printf("%s %lld.\n", done, (long long)*id);
        if (code == 0)
            protobuf_c_message_free_unpacked(resp, NULL);
    }
    free(req);
    return code;
}

/* ------------------------------------------------------------------ the entities */

#define ENTITY(entity_name, verbs, text)                                                           \
    {                                                                                              \
        .name = (entity_name), .summary = (text), .subcommands = (verbs)                           \
    }

const struct command admin_entities[] = {
    ENTITY("location", admin_location_verbs, "locations and their booking rules"),
    ENTITY("closure", admin_closure_verbs, "days a location is closed"),
    ENTITY("room", admin_room_verbs, "rooms and what they have"),
    ENTITY("service", admin_service_verbs, "treatments: duration, buffers, price, room needs"),
    ENTITY("therapist", admin_therapist_verbs, "therapists and the services they perform"),
    ENTITY("hours", admin_hours_verbs, "therapists' weekly working hours"),
    ENTITY("time-off", admin_time_off_verbs, "therapists' holidays and sick days"),
    ENTITY("client", admin_client_verbs, "the clinic's clients"),
    ENTITY("user", admin_user_verbs, "accounts: who may log in, and with which role"),
    COMMANDS_END,
};
