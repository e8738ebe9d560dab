/* cmd_record.c: `clinic record`: a session that happened without a booking (a walk-in, or one
 * nobody booked beforehand), written afterwards as completed so that its note can be signed.
 *
 * The daemon checks what the record must not contradict (Scheduling/RecordSession,
 * sql/functions/50_booking.sql): the session is over and at most 31 days ago, the therapist
 * performs the service, nobody was double-booked, a suitable room was free. Working hours are
 * not required: walk-ins happen outside them. */
#include <stdio.h>

#include "cli.h"
#include "options.h"
#include "schedule.h"

int cmd_record(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__RecordSessionRequest req = CLINIC__V1__RECORD_SESSION_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id, "who was treated", .flags = OPTION_REQUIRED,
            .field = "client_id"),
        OPT("service", OPTION_ID, &req.service_id, "the service (treatment) given",
            .flags = OPTION_REQUIRED, .field = "service_id"),
        OPT("start", OPTION_INSTANT, &req.start_time,
            "when it started (the location's time; over, and at most 31 days ago)",
            .flags = OPTION_REQUIRED, .field = "start_time"),
        OPT("reason", OPTION_STRING, &req.reason, "why it was not booked beforehand",
            .flags = OPTION_REQUIRED, .field = "reason"),
        OPT("therapist", OPTION_ID, &req.therapist_id,
            "who gave it (default: you, when you are a therapist)", .field = "therapist_id"),
        OPT("location", OPTION_ID, &req.location_id, "where (default: the only location)",
            .field = "location_id"),
        OPTIONS_END,
    };
    if (!options_parse(cli, opts, argc, argv, &code)) {
        options_free(opts);
        return code;
    }
    ProtobufCMessage *resp = NULL;
    if ((code = schedule_location(cli, &req.location_id, NULL)) == 0)
        code = cli_call(cli, "/clinic.v1.Scheduling/RecordSession", &req.base,
                        &clinic__v1__appointment__descriptor, &resp);
    if (code == 0 && cli->json)
        cli_print_json(resp);
    else if (code == 0)
        schedule_print_appointment((const Clinic__V1__Appointment *)resp,
                                   "Recorded (completed) appointment");
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    options_free(opts);
    return code;
}
