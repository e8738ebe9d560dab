/* cli.c: connection, calls, errors and output shared by every command. */
#include "cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods.h"
#include "options.h"
#include "status.h"
#include "token_store.h"

const char *cli_token(struct cli *cli)
{
    if (!cli->token_chosen) {
        cli->token_source =
            (int)token_store_choose(cli->token_flag, getenv("CLINIC_TOKEN"), &cli->token, stderr);
        cli->token_chosen = true;
    }
    return cli->token;
}

void cli_drop_token(struct cli *cli)
{
    free(cli->token);
    cli->token = NULL;
    cli->token_source = TOKEN_FROM_NONE;
    cli->token_chosen = true;
    if (cli->client)
        clinic_set_token(cli->client, NULL);
}

void cli_finish(struct cli *cli)
{
    clinic_close(cli->client);
    cli->client = NULL;
    free(cli->token);
    cli->token = NULL;
}

bool cli_connect(struct cli *cli, struct clinic_error *err)
{
    if (cli->client)
        return true;
    const char *token = cli_token(cli);
    cli->client = clinic_connect(cli->url, cli->timeout_ms, err);
    if (cli->client)
        clinic_set_token(cli->client, token);
    return cli->client != NULL;
}

static void print_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* One error as the JSON object scripts read on stderr: every error the tool reports with --json
 * has this shape, whether the daemon, the transport or the command line is at fault. command is
 * only written when given; a violation whose field an option sets also names that option. */
static void print_json_error(const struct cli *cli, int code, const char *status,
                             const char *message, const char *request_id,
                             const struct clinic_violation *violations, size_t n_violations,
                             const char *command)
{
    fprintf(stderr, "{\"code\":%d,\"status\":\"%s\",\"message\":", code, status);
    print_json_string(stderr, message);
    if (command) {
        fprintf(stderr, ",\"command\":");
        print_json_string(stderr, command);
    }
    fprintf(stderr, ",\"request_id\":");
    print_json_string(stderr, request_id);
    fprintf(stderr, ",\"violations\":[");
    for (size_t i = 0; i < n_violations; i++) {
        char option[96];
        fprintf(stderr, "%s{\"field\":", i ? "," : "");
        print_json_string(stderr, violations[i].field);
        if (options_label_for_field(cli->options, violations[i].field, option, sizeof option)) {
            fprintf(stderr, ",\"option\":");
            print_json_string(stderr, option);
        }
        fprintf(stderr, ",\"description\":");
        print_json_string(stderr, violations[i].description);
        fprintf(stderr, "}");
    }
    fprintf(stderr, "]}\n");
}

/* The sentence for err in the tool's own words where the daemon's would name its internals: a
 * call refused for want of a token names the method called, which the user never typed. */
static const char *own_words(const struct cli *cli, const struct clinic_error *err, char *out,
                             size_t len)
{
    if (err->code == STATUS_UNAUTHENTICATED && cli->token_chosen && !cli->token) {
        snprintf(out, len,
                 "clinic %s needs you to be logged in: log in with `clinic login` (or give "
                 "--token or CLINIC_TOKEN)",
                 cli->command_path);
        return out;
    }
    return err->message;
}

int cli_fail(const struct cli *cli, const struct clinic_error *err)
{
    char sentence[sizeof err->message + 128], prefix[sizeof cli->command_path + 16];
    const char *message = own_words(cli, err, sentence, sizeof sentence);
    const char *status = status_code_name(err->code);
    if (cli->json) {
        print_json_error(cli, err->code, status, message, err->request_id, err->violations,
                         err->n_violations, NULL);
        return err->code > 0 && err->code <= 16 ? err->code : STATUS_UNKNOWN;
    }
    snprintf(prefix, sizeof prefix, "clinic%s%s", cli->command_path[0] ? " " : "",
             cli->command_path);
    if (err->n_violations == 0) {
        fprintf(stderr, "%s: %s: %s", prefix, status, message);
        if (err->request_id[0] && err->code == STATUS_INTERNAL)
            fprintf(stderr, " (request id %s)", err->request_id);
        fputc('\n', stderr);
    } else {
        /* The daemon's message only sums the violations up ("invalid end_local: must be after
         * start_local"): each is said once, by the option the user typed. */
        char line[512];
        if (err->n_violations > 1)
            fprintf(stderr, "%s: %s: %zu values are wrong:\n", prefix, status, err->n_violations);
        for (size_t i = 0; i < err->n_violations; i++) {
            options_describe_violation(cli->options, err->violations[i].field,
                                       err->violations[i].description, line, sizeof line);
            if (err->n_violations == 1)
                fprintf(stderr, "%s: %s: %s\n", prefix, status, line);
            else
                fprintf(stderr, "  %s\n", line);
        }
    }
    return err->code > 0 && err->code <= 16 ? err->code : STATUS_UNKNOWN;
}

int cli_call(struct cli *cli, const char *method, const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response)
{
    struct clinic_error err;
    *response = NULL;
    if (!cli_connect(cli, &err))
        return cli_fail(cli, &err);
    struct clinic_call_options opts = {.timeout_ms = cli->timeout_ms,
                                       .mutating =
                                           method_takes_idempotency_key(method_rule_for(method))};
    int code = clinic_call(cli->client, method, request, response_type, response, &opts, &err);
    if (code != STATUS_OK)
        return cli_fail(cli, &err);
    return STATUS_OK;
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
    char text[512], help[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const char *command = cli->command_path;
    snprintf(help, sizeof help, "clinic %s%s--help", command, command[0] ? " " : "");
    if (cli->json) {
        char message[700];
        snprintf(message, sizeof message, "%s; see %s", text, help);
        print_json_error(cli, EXIT_USAGE, "USAGE", message, "", NULL, 0, command);
    } else if (command[0]) {
        fprintf(stderr, "clinic %s: %s; see %s\n", command, text, help);
    } else {
        fprintf(stderr, "clinic: %s; see %s\n", text, help);
    }
    return EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

void cli_print_command_help(const struct command *cmd)
{
    printf("usage: clinic [GLOBAL OPTIONS] %s\n\n%s\n", cmd->usage, cmd->summary);
}

/* Writes the names of group's subcommands, comma-separated ("create, get, list"). */
static void print_names(FILE *out, const struct command *group)
{
    for (const struct command *c = group->subcommands; c->name; c++)
        fprintf(out, "%s%s", c == group->subcommands ? "" : ", ", c->name);
}

void cli_print_subcommands(FILE *out, const struct command *group, int indent, bool brief)
{
    int width = 0;
    for (const struct command *c = group->subcommands; c->name; c++)
        if ((int)strlen(c->name) > width)
            width = (int)strlen(c->name);
    for (const struct command *c = group->subcommands; c->name; c++) {
        fprintf(out, "%*s%-*s  ", indent, "", width, c->name);
        if (!brief || !c->subcommands)
            fputs(c->summary, out);
        if (c->subcommands && !brief)
            fprintf(out, "\n%*s", indent + width + 2, "");
        if (c->subcommands)
            print_names(out, c);
        fputc('\n', out);
    }
}

static void print_group_help(FILE *out, const struct cli *cli, const struct command *group)
{
    bool nested = group->subcommands[0].subcommands != NULL;
    fprintf(out, "usage: clinic [GLOBAL OPTIONS] %s %s [ARGS]\n\n%c%s.\n\n%s:\n", cli->command_path,
            nested ? "ENTITY VERB" : "VERB", toupper(group->summary[0]), group->summary + 1,
            nested ? "Entities and their verbs" : "Verbs");
    cli_print_subcommands(out, group, 2, false);
    fprintf(out, "\nEach has --help: `clinic %s %s --help`.\n", cli->command_path,
            nested ? "ENTITY VERB" : "VERB");
    if (group->details)
        fprintf(out, "\n%s\n", group->details);
}

int cli_run_command(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
    size_t used = strlen(cli->command_path);
    snprintf(cli->command_path + used, sizeof cli->command_path - used, "%s%s", used ? " " : "",
             cmd->name);
    cli->command = cmd;
    if (cmd->subcommands) {
        bool help = argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        if (argc < 2 && cli->json)
            return cli_usage_error(cli, "%s is missing",
                                   cmd->subcommands[0].subcommands ? "an entity" : "a verb");
        if (argc < 2 || help) {
            print_group_help(help ? stdout : stderr, cli, cmd);
            return help ? 0 : EXIT_USAGE;
        }
        for (const struct command *c = cmd->subcommands; c->name; c++)
            if (strcmp(c->name, argv[1]) == 0)
                return cli_run_command(cli, c, argc - 1, argv + 1);
        return cli_usage_error(cli, "unknown %s \"%s\"",
                               cmd->subcommands[0].subcommands ? "entity" : "verb", argv[1]);
    }
    if (cmd->usage && cli_wants_help(argc, argv)) {
        cli_print_command_help(cmd);
        return 0;
    }
    int code = cmd->run(cli, argc, argv);
    cli->options = NULL; /* the table lived in cmd->run's frame */
    return code;
}

/* The one repeated message field of a list reply ("locations"), or NULL. */
static const ProtobufCFieldDescriptor *items_field(const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REPEATED &&
            d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            return &d->fields[i];
    return NULL;
}

#define MEMBER(type, message, offset) (*(type *)((char *)(message) + (offset)))

/* Moves the items of `from` to the end of those of `into`; false when out of memory. Both
 * replies come from protobuf-c's default allocator (malloc), so the array may be realloc'd;
 * `from` keeps an empty array, which its free releases. */
static bool move_items(ProtobufCMessage *into, ProtobufCMessage *from,
                       const ProtobufCFieldDescriptor *f)
{
    size_t *n_into = &MEMBER(size_t, into, f->quantifier_offset);
    size_t *n_from = &MEMBER(size_t, from, f->quantifier_offset);
    if (*n_from == 0)
        return true;
    ProtobufCMessage **items =
        realloc(MEMBER(ProtobufCMessage **, into, f->offset), (*n_into + *n_from) * sizeof *items);
    if (!items)
        return false;
    memcpy(items + *n_into, MEMBER(ProtobufCMessage **, from, f->offset), *n_from * sizeof *items);
    MEMBER(ProtobufCMessage **, into, f->offset) = items;
    *n_into += *n_from;
    *n_from = 0;
    return true;
}

int cli_call_pages(struct cli *cli, const char *method, ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
                   bool all)
{
    const ProtobufCFieldDescriptor *token_in =
        protobuf_c_message_descriptor_get_field_by_name(request->descriptor, "page_token");
    const ProtobufCFieldDescriptor *token_out =
        protobuf_c_message_descriptor_get_field_by_name(response_type, "next_page_token");
    const ProtobufCFieldDescriptor *items = items_field(response_type);
    if (!token_in || !token_out || !items)
        abort(); /* a programming error: not a paged List method */
    char *const original = MEMBER(char *, request, token_in->offset);
    char *token = NULL;
    bool out_of_memory = false;
    int code = cli_call(cli, method, request, response_type, response);
    while (code == STATUS_OK && all) {
        char *next = MEMBER(char *, *response, token_out->offset);
        if (!*next)
            break;
        free(token);
        if (!(token = strdup(next))) {
            out_of_memory = true;
            break;
        }
        MEMBER(char *, request, token_in->offset) = token;
        ProtobufCMessage *page;
        if ((code = cli_call(cli, method, request, response_type, &page)) != STATUS_OK)
            break;
        out_of_memory = !move_items(*response, page, items);
        /* the merged reply takes the page's token (both strings belong to their replies) */
        MEMBER(char *, *response, token_out->offset) = MEMBER(char *, page, token_out->offset);
        MEMBER(char *, page, token_out->offset) = next;
        protobuf_c_message_free_unpacked(page, NULL);
        if (out_of_memory)
            break;
    }
    MEMBER(char *, request, token_in->offset) = original;
    free(token);
    if (out_of_memory) {
        fprintf(stderr, "clinic: out of memory while reading every page\n");
        code = STATUS_RESOURCE_EXHAUSTED;
    }
    if (code != STATUS_OK && *response) {
        protobuf_c_message_free_unpacked(*response, NULL);
        *response = NULL;
    }
    if (code == STATUS_OK && !all && !cli->json) {
        const char *next = MEMBER(char *, *response, token_out->offset);
        if (next && *next)
            fprintf(stderr, "clinic: more on the next page: add --page-token %s, or --all\n", next);
    }
    return code;
}

int cli_print_json(const ProtobufCMessage *message)
{
    char *json = clinic_message_to_json(message);
    if (!json) {
        fprintf(stderr, "clinic: out of memory\n");
        return STATUS_RESOURCE_EXHAUSTED;
    }
    puts(json);
    free(json);
    return 0;
}

const struct command *cli_find_command(const char *name)
{
    for (const struct command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
