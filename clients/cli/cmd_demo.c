/* cmd_demo.c: `clinic demo load`: a demo clinic, so a new user can search and book at once. */
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "clinic/v1/demo.pb-c.h"
#include "options.h"

/* "  therapists: 5 (ids 3, 4, 5, 6, 7)": what one kind of record the load added, with the ids
 * to pass to other commands. */
static void demo_print_added(const char *what, uint32_t count, const int64_t *ids, size_t n_ids)
{
    printf("  %-14s %u", what, count);
    for (size_t i = 0; i < n_ids; i++)
        printf("%s%lld", i == 0 ? (n_ids == 1 ? " (id " : " (ids ") : ", ", (long long)ids[i]);
    printf("%s\n", n_ids ? ")" : "");
}

static int demo_load(struct cli *cli, int argc, char **argv)
{
    bool force = false;
    struct option opts[] = {
        OPT("force", OPTION_FLAG, &force,
            "load even into a clinic that has locations, therapists, clients or services (the "
            "demo then mixes with them; nothing removes it again)"),
        OPTIONS_END,
    };
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__LoadDemoRequest req = CLINIC__V1__LOAD_DEMO_REQUEST__INIT;
    req.force = force;
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Demo/Load", &req.base,
                    &clinic__v1__load_demo_response__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__LoadDemoResponse *d = (const Clinic__V1__LoadDemoResponse *)resp;
    if (cli->json) {
        cli_print_json(resp);
    } else {
        printf("Loaded the demo clinic. Added:\n");
        demo_print_added("location", 1, &d->location_id, 1);
        demo_print_added("rooms", d->rooms, d->room_ids, d->n_room_ids);
        demo_print_added("services", d->services, d->service_ids, d->n_service_ids);
        demo_print_added("therapists", d->therapists, d->therapist_ids, d->n_therapist_ids);
        demo_print_added("working hours", d->working_hours, NULL, 0);
        demo_print_added("clients", d->clients, d->client_ids, d->n_client_ids);
        demo_print_added("appointments", d->appointments, NULL, 0);
        printf("\nTry:\n"
               "  clinic admin service list\n"
               "  clinic slots --location %lld --service ID\n"
               "  clinic day --location %lld --date YYYY-MM-DD\n",
               (long long)d->location_id, (long long)d->location_id);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

const struct command demo_commands[] = {
    {.name = "load",
     .run = demo_load,
     .summary = "load a demo clinic to try things on",
     .details = "Creates a location (Europe/Berlin) with rooms, services, therapists and their "
                "hours, and clients, and prints what it added with their ids.\nOnly into an "
                "empty clinic (no location, therapist, client or service): otherwise refused "
                "with FAILED_PRECONDITION (exit 9) saying what is there, unless --force.\n"
                "Refused with ALREADY_EXISTS (exit 6) when it is loaded already, forced or not."},
    COMMANDS_END,
};
