/* cli.h: what every `clinic` command shares: the connection, global options, output helpers
 * and the exit codes (documented in the README). */
#ifndef CLINIC_CLI_H
#define CLINIC_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "clinic.h"

/* Exit status: 0 OK; 1 the command ran but the answer is "no" (health NOT_SERVING); 2 usage;
 * otherwise the gRPC status code of the failure (3 INVALID_ARGUMENT ... 16 UNAUTHENTICATED). */
#define EXIT_NEGATIVE 1
#define EXIT_USAGE 2

struct cli {
    const char *url;
    const char *token;
    uint32_t timeout_ms;
    bool json;
    clinic_client *client; /* connected on first use */
};

struct command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
    const char *usage; /* after "clinic [GLOBAL OPTIONS] " */
};

/* Connects on first use; false (with the error printed) when no daemon can be reached. */
bool cli_connect(struct cli *cli, struct clinic_error *err);

/* Calls method and returns the status; on failure prints the error (JSON with --json). */
int cli_call(struct cli *cli, const char *method, const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
             bool mutating);

/* Prints err to stderr (as JSON with --json) and returns the exit status for it. */
int cli_fail(const struct cli *cli, const struct clinic_error *err);

/* Prints a usage error ("clinic CMD: <sentence>; see clinic CMD --help") and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when argv holds --help or -h (commands answer it before connecting). */
bool cli_wants_help(int argc, char **argv);
void cli_print_command_help(const struct command *cmd);

/* Prints message as JSON on stdout followed by a newline. */
int cli_print_json(const ProtobufCMessage *message);

/* The commands, ended by {NULL}. */
extern const struct command cli_commands[];
const struct command *cli_find_command(const char *name);

#endif
