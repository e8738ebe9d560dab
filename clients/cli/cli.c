/* cli.c: connection, calls, errors and output shared by every command. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

bool cli_connect(struct cli *cli, struct clinic_error *err)
{
    if (cli->client)
        return true;
    cli->client = clinic_connect(cli->url, cli->timeout_ms, err);
    if (cli->client)
        clinic_set_token(cli->client, cli->token);
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

int cli_fail(const struct cli *cli, const struct clinic_error *err)
{
    if (cli->json) {
        fprintf(stderr, "{\"code\":%d,\"status\":\"%s\",\"message\":", err->code,
                status_code_name(err->code));
        print_json_string(stderr, err->message);
        fprintf(stderr, ",\"request_id\":");
        print_json_string(stderr, err->request_id);
        fprintf(stderr, ",\"violations\":[");
        for (size_t i = 0; i < err->n_violations; i++) {
            fprintf(stderr, "%s{\"field\":", i ? "," : "");
            print_json_string(stderr, err->violations[i].field);
            fprintf(stderr, ",\"description\":");
            print_json_string(stderr, err->violations[i].description);
            fprintf(stderr, "}");
        }
        fprintf(stderr, "]}\n");
    } else {
        fprintf(stderr, "clinic: %s: %s", status_code_name(err->code), err->message);
        if (err->request_id[0] && err->code == STATUS_INTERNAL)
            fprintf(stderr, " (request id %s)", err->request_id);
        fputc('\n', stderr);
        for (size_t i = 0; i < err->n_violations; i++)
            fprintf(stderr, "  %s: %s\n", err->violations[i].field,
                    err->violations[i].description);
    }
    return err->code > 0 && err->code <= 16 ? err->code : STATUS_UNKNOWN;
}

int cli_call(struct cli *cli, const char *method, const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **response,
             bool mutating)
{
    struct clinic_error err;
    *response = NULL;
    if (!cli_connect(cli, &err))
        return cli_fail(cli, &err);
    struct clinic_call_options opts = {.timeout_ms = cli->timeout_ms, .mutating = mutating};
    int code = clinic_call(cli->client, method, request, response_type, response, &opts, &err);
    if (code != STATUS_OK)
        return cli_fail(cli, &err);
    return STATUS_OK;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (command)
        fprintf(stderr, "clinic %s: %s; see clinic %s --help\n", command, text, command);
    else
        fprintf(stderr, "clinic: %s; see clinic --help\n", text);
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
