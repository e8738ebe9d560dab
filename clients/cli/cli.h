/* cli.h: what every `clinic` command shares: the connection, global options, output helpers
 * and the exit codes (documented in the README). */
#ifndef CLINIC_CLI_H
#define CLINIC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clinic.h"

/* Exit status: 0 OK; 1 the command ran but the answer is "no" (health NOT_SERVING); 2 usage;
 * otherwise the gRPC status code of the failure (3 INVALID_ARGUMENT ... 16 UNAUTHENTICATED). */
#define EXIT_NEGATIVE 1
#define EXIT_USAGE    2

struct command;
struct option;

struct cli {
    const char *url;
    const char *token_flag; /* --token as given; NULL when not */
    /* The token sent: --token, else CLINIC_TOKEN, else the token file (token_store.h); chosen
     * by cli_token on first need. token_source is an enum token_source. */
    char *token;
    int token_source;
    bool token_chosen;
    uint32_t timeout_ms;
    bool json;
    clinic_client *client;         /* connected on first use */
    const struct command *command; /* the command being run (set by cli_run_command) */
    char command_path[96];         /* its words, e.g. "admin location create" */
    /* The command's option table once parsed (options.h), while the command runs: the daemon's
     * field violations are told by the options that set the fields. NULL: none. */
    const struct option *options;
};

/* A command, or a group of subcommands (`clinic admin location create`): a group has
 * subcommands and no run function. */
struct command {
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv); /* argv[0] is the command's word */
    const char *summary;
    /* Hand-written help after "clinic [GLOBAL OPTIONS] ", for commands that parse their own
     * arguments; NULL for commands whose --help options.c generates from their option table. */
    const char *usage;
    const struct command *subcommands; /* ended by {NULL} */
    const char *details;               /* more help (examples), printed after the options */
};

/* Ends a table of commands. */
#define COMMANDS_END                                                                               \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* Connects on first use, sending the token cli_token chooses; false (with the error printed)
 * when no daemon can be reached. */
bool cli_connect(struct cli *cli, struct clinic_error *err);

/* The token this command sends (NULL: none), chosen once: --token, CLINIC_TOKEN, the token
 * file. A token file refused as unsafe is warned about on stderr and skipped. */
const char *cli_token(struct cli *cli);

/* Sends no token from now on (`clinic login` needs none, and a stale one must not get in the
 * way). */
void cli_drop_token(struct cli *cli);

/* Frees what the command line and the connection hold. */
void cli_finish(struct cli *cli);

/* Calls method and returns the status; on failure prints the error (JSON with --json). The call
 * carries an idempotency key when the method table says the method takes one (methods.h). */
int cli_call(struct cli *cli, const char *method, const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response);

/* Prints err to stderr (as JSON with --json) and returns the exit status for it. */
int cli_fail(const struct cli *cli, const struct clinic_error *err);

/* Prints a usage error of the command cli->command_path (the tool itself while it is "") and
 * returns EXIT_USAGE: "clinic CMD: <sentence>; see clinic CMD --help" on stderr, or with --json
 * one JSON object on stderr like other errors' (status "USAGE", code 2, and the command). */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when argv holds --help or -h (commands answer it before connecting). */
bool cli_wants_help(int argc, char **argv);
void cli_print_command_help(const struct command *cmd);

/* Prints message as JSON on stdout followed by a newline. */
int cli_print_json(const ProtobufCMessage *message);

/* Runs cmd with argv (argv[0] its word): a group picks its subcommand from argv[1]; --help of a
 * command with hand-written usage is answered here. Returns the exit status. */
int cli_run_command(struct cli *cli, const struct command *cmd, int argc, char **argv);

/* Prints the subcommands of group, one per line with its summary, indented by indent; a
 * subcommand that is a group itself gets its verbs on the next line (brief: only its verbs). */
void cli_print_subcommands(FILE *out, const struct command *group, int indent, bool brief);

/* Calls a List method whose request has page_token and whose reply has one repeated message
 * field and next_page_token. With `all` it follows next_page_token to the end and moves every
 * page's items into the first reply (which then has no next_page_token): one reply, as if the
 * daemon had answered in one page. Without `all`, when more pages remain, a hint goes to stderr
 * (not with --json: the token is in the reply). Returns the status; on OK *response holds the
 * reply (free it with protobuf_c_message_free_unpacked). request's page_token is restored. */
int cli_call_pages(struct cli *cli, const char *method, ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                   bool all);

/* The commands, ended by {NULL}. */
extern const struct command cli_commands[];
const struct command *cli_find_command(const char *name);

#endif
