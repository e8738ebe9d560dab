/* cmd_course.c: `clinic course show|cancel`: a course of sessions as one thing (booked with
 * `clinic book-course`, cmd_schedule.c): every session of it, whatever its status, and cancelling
 * what is left of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "schedule.h"
#include "table.h"

#define VERB(verb_name, fn, text)                                                                  \
    {                                                                                              \
        .name = (verb_name), .run = (fn), .summary = (text)                                        \
    }

/* Prints a course: who, what, with whom, then a table of its sessions in time order. */
static void print_course(const Clinic__V1__Course *c)
{
    printf("Course %lld\n", (long long)c->id);
    printf("  client     %s, id %lld\n", c->client_name, (long long)c->client_id);
    printf("  service    %s, id %lld\n", c->service_name, (long long)c->service_id);
    printf("  therapist  %s, id %lld\n", c->therapist_name, (long long)c->therapist_id);
    printf("  location   %lld (%s)\n", (long long)c->location_id, c->time_zone);
    if (c->n_cancelled_ids)
        printf("Cancelled %zu session%s.\n", c->n_cancelled_ids,
               c->n_cancelled_ids == 1 ? "" : "s");
    static const char *const headers[] = {"ID", "WHEN", "STATUS", "THERAPIST", "ROOM"};
    struct table *t = table_new(5, headers);
    table_keep_column(t, 0);
    table_keep_column(t, 1);
    for (size_t i = 0; i < c->n_appointments; i++) {
        const Clinic__V1__Appointment *a = c->appointments[i];
        char id[24], when[96];
        snprintf(id, sizeof id, "%lld", (long long)a->id);
        const char *row[] = {id, schedule_when(a, when, sizeof when), schedule_status(a),
                             a->therapist_name, a->room_name};
        table_add_row(t, row);
    }
    table_print_free(t, stdout);
}

/* Calls a method answering a Course and prints it (JSON with --json). */
static int call_course(struct cli *cli, const char *method, const ProtobufCMessage *req)
{
    ProtobufCMessage *resp;
    int code = cli_call(cli, method, req, &clinic__v1__course__descriptor, &resp);
    if (code != 0)
        return code;
    if (cli->json)
        cli_print_json(resp);
    else
        print_course((const Clinic__V1__Course *)resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

static int course_show(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__CourseRef req = CLINIC__V1__COURSE_REF__INIT;
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.course_id, "the course (its id is printed by book-course)",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "course_id"),
        OPTIONS_END,
    };
    if (!options_parse(cli, opts, argc, argv, &code)) {
        options_free(opts);
        return code;
    }
    code = call_course(cli, "/clinic.v1.Scheduling/GetCourse", &req.base);
    options_free(opts);
    return code;
}

static int course_cancel(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__CancelCourseRequest req = CLINIC__V1__CANCEL_COURSE_REQUEST__INIT;
    int code;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.course_id, "the course",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "course_id"),
        OPT("reason", OPTION_STRING, &req.reason, "why (kept with each cancelled session)",
            .field = "reason"),
        OPTIONS_END,
    };
    if (!options_parse(cli, opts, argc, argv, &code)) {
        options_free(opts);
        return code;
    }
    code = call_course(cli, "/clinic.v1.Scheduling/CancelCourse", &req.base);
    options_free(opts);
    return code;
}

const struct command course_commands[] = {
    VERB("show", course_show, "a course and all its sessions, in time order"),
    {.name = "cancel",
     .run = course_cancel,
     .summary = "cancel every session of a course still booked and not yet started",
     .details = "Sessions checked in, completed, missed or already cancelled stay as they are.\n"
                "Example: clinic course cancel 4 --reason \"moved to another town\""},
    COMMANDS_END,
};
