/* cmd_demo.c: `clinic demo load`: a demo clinic, so a new user can search and book at once. */
#include <stdio.h>

#include "cli.h"
#include "clinic/v1/demo.pb-c.h"
#include "options.h"

static int demo_load(struct cli *cli, int argc, char **argv)
{
    struct option opts[] = {OPTIONS_END};
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__LoadDemoRequest req = CLINIC__V1__LOAD_DEMO_REQUEST__INIT;
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Demo/Load", &req.base,
                    &clinic__v1__load_demo_response__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__LoadDemoResponse *d = (const Clinic__V1__LoadDemoResponse *)resp;
    if (cli->json) {
        cli_print_json(resp);
    } else {
        printf("Loaded the demo clinic: location %lld with %u rooms, %u services, %u therapists "
               "and %u clients.\n\nTry:\n"
               "  clinic admin service list\n"
               "  clinic slots --location %lld --service ID\n"
               "  clinic day --location %lld --date YYYY-MM-DD\n",
               (long long)d->location_id, d->rooms, d->services, d->therapists, d->clients,
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
                "hours, and clients.\nRefused with ALREADY_EXISTS (exit 6) when it is loaded "
                "already."},
    COMMANDS_END,
};
