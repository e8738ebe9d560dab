/* cmd_me.c: "me" by default for `clinic agenda` and `clinic client-appointments`: with no one
 * named, a therapist's agenda is their own and a client's appointments are theirs.
 *
 * DESIGN: the daemon already reads a client's client 0 (a therapist's therapist 0) as their own
 * record (daemon/authz.c); `book`, `progress` and `note list` simply send 0. These two commands'
 * options live in cmd_day.c, which requires the person, and which another change owns for now;
 * so the tool asks WhoAmI for the caller's linked record and names it for them. Someone with no
 * such record (the front desk) gets cmd_day.c's own "--therapist is required". Once cmd_day.c
 * stops requiring the person, this file can go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/auth.pb-c.h"
#include "status.h"

int cmd_agenda(struct cli *cli, int argc, char **argv);
int cmd_client_appointments(struct cli *cli, int argc, char **argv);
int cmd_agenda_me(struct cli *cli, int argc, char **argv);
int cmd_client_appointments_me(struct cli *cli, int argc, char **argv);

/* Whether the command's words (argv[1..argc)) name the person, by position or as --flag, or ask
 * for help. The options taking a value are those of cmd_day.c's range command: --from, --to,
 * --page-size, --page-token and --flag; --all and --help take none. */
static bool names_person(int argc, char **argv, const char *flag)
{
    size_t n = strlen(flag);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1 < argc;
        if (strncmp(a, "--", 2) != 0)
            return true; /* a positional: the person */
        const char *name = a + 2;
        if (strncmp(name, flag, n) == 0 && (name[n] == '\0' || name[n] == '='))
            return true;
        if (strcmp(name, "help") == 0)
            return true; /* the help, unchanged */
        if (strcmp(name, "all") != 0 && !strchr(name, '='))
            i++; /* its value */
    }
    return false;
}

/* Runs fn with "--flag ID" added when no one is named and the caller's account is linked to a
 * record of that kind (therapist: true for a therapist, false for a client). */
static int run_as_me(struct cli *cli, int argc, char **argv, const char *flag, bool therapist,
                     int (*fn)(struct cli *, int, char **))
{
    if (names_person(argc, argv, flag))
        return fn(cli, argc, argv);
    Clinic__V1__WhoAmIRequest req = CLINIC__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *resp;
    int code = cli_call(cli, "/clinic.v1.Auth/WhoAmI", &req.base,
                        &clinic__v1__who_am_iresponse__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__WhoAmIResponse *who = (const Clinic__V1__WhoAmIResponse *)resp;
    int64_t own = !who->user ? 0 : therapist ? who->user->therapist_id : who->user->client_id;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (own == 0)
        return fn(cli, argc, argv);
    char option[40], id[24];
    snprintf(option, sizeof option, "--%s", flag);
    snprintf(id, sizeof id, "%lld", (long long)own);
    char **words = calloc((size_t)argc + 3, sizeof *words);
    if (!words) {
        fprintf(stderr, "clinic %s: out of memory\n", cli->command_path);
        return STATUS_RESOURCE_EXHAUSTED;
    }
    /* before any "--": after it every word is a positional */
    words[0] = argv[0];
    words[1] = option;
    words[2] = id;
    for (int i = 1; i < argc; i++)
        words[i + 2] = argv[i];
    code = fn(cli, argc + 2, words);
    free(words);
    return code;
}

int cmd_agenda_me(struct cli *cli, int argc, char **argv)
{
    return run_as_me(cli, argc, argv, "therapist", true, cmd_agenda);
}

int cmd_client_appointments_me(struct cli *cli, int argc, char **argv)
{
    return run_as_me(cli, argc, argv, "client", false, cmd_client_appointments);
}
