/* cmd_calendar.c: `clinic calendar-link [--client ID | --therapist ID] [--gateway URL]`: a new
 * link to a calendar feed, for the calendar app on a phone. Only the key's hash is kept, so the
 * link cannot be shown again: each run makes a new one, and the one before stops working. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/auth.pb-c.h"
#include "clinic/v1/calendar.pb-c.h"
#include "options.h"
#include "status.h"

#define DEFAULT_GATEWAY "http://127.0.0.1:7480"

/* Whether the caller is a therapist (their own feed is a therapist's); false after a failure,
 * with *code set. */
static bool caller_is_therapist(struct cli *cli, int *code)
{
    Clinic__V1__WhoAmIRequest req = CLINIC__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *resp;
    *code = cli_call(cli, "/clinic.v1.Auth/WhoAmI", &req.base,
                     &clinic__v1__who_am_iresponse__descriptor, &resp);
    if (*code != 0)
        return false;
    const Clinic__V1__WhoAmIResponse *who = (const Clinic__V1__WhoAmIResponse *)resp;
    bool therapist = who->user && who->user->role == CLINIC__V1__ROLE__ROLE_THERAPIST;
    protobuf_c_message_free_unpacked(resp, NULL);
    return therapist;
}

static void print_link(const Clinic__V1__FeedLink *link, const char *gateway)
{
    size_t n = strlen(gateway);
    while (n > 0 && gateway[n - 1] == '/')
        n--;
    printf("Calendar feed of %s %lld; subscribe to this address in your calendar app:\n\n"
           "  %.*s%s\n\n"
           "Keep it to yourself: whoever has it sees these appointments. The link made before\n"
           "(if any) has stopped working; run this again whenever you want a new one.\n",
           link->kind == CLINIC__V1__FEED_KIND__FEED_KIND_THERAPIST ? "therapist" : "client",
           (long long)link->owner_id, (int)n, gateway, link->path);
}

int cmd_calendar_link(struct cli *cli, int argc, char **argv)
{
    int64_t client_id = 0, therapist_id = 0;
    char *gateway = NULL;
    struct option opts[] = {
        OPT("client", OPTION_ID, &client_id, "the feed of this client (default: yours)",
            .field = "client_id"),
        OPT("therapist", OPTION_ID, &therapist_id, "the feed of this therapist (default: yours)",
            .field = "therapist_id"),
        OPT("gateway", OPTION_STRING, &gateway,
            "clinic-gateway's public address, printed before the feed's path (default "
            "$CLINIC_GATEWAY_URL, else " DEFAULT_GATEWAY ")",
            .arg = "URL"),
        OPTIONS_END,
    };
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    if (client_id && therapist_id)
        return cli_usage_error(cli, "give --client or --therapist, not both");
    if (!gateway || !*gateway)
        gateway = getenv("CLINIC_GATEWAY_URL");
    if (!gateway || !*gateway)
        gateway = DEFAULT_GATEWAY;
    bool therapist = therapist_id != 0;
    if (!client_id && !therapist_id) {
        therapist = caller_is_therapist(cli, &code);
        if (code != 0)
            return code;
    }
    Clinic__V1__RotateClientFeedRequest for_client = CLINIC__V1__ROTATE_CLIENT_FEED_REQUEST__INIT;
    Clinic__V1__RotateTherapistFeedRequest for_therapist =
        CLINIC__V1__ROTATE_THERAPIST_FEED_REQUEST__INIT;
    for_client.client_id = client_id;
    for_therapist.therapist_id = therapist_id;
    ProtobufCMessage *resp;
    code = therapist ? cli_call(cli, "/clinic.v1.Calendar/RotateTherapistFeed", &for_therapist.base,
                                &clinic__v1__feed_link__descriptor, &resp)
                     : cli_call(cli, "/clinic.v1.Calendar/RotateClientFeed", &for_client.base,
                                &clinic__v1__feed_link__descriptor, &resp);
    if (code != 0)
        return code;
    if (cli->json)
        cli_print_json(resp);
    else
        print_link((const Clinic__V1__FeedLink *)resp, gateway);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}
