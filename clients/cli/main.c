/* main.c: the `clinic` tool: global options, then one command from the table in commands.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define NAME_WIDTH 22

/* The command table as help: a group of groups (admin) as "admin ENTITY VERB" and its entities
 * with their verbs, a group of commands (demo) as its full commands ("demo load"). */
static void print_commands(FILE *out)
{
    for (const struct command *c = cli_commands; c->name; c++) {
        if (!c->subcommands) {
            fprintf(out, "  %-*s %s\n", NAME_WIDTH, c->name, c->summary);
        } else if (c->subcommands[0].subcommands) {
            char label[64];
            snprintf(label, sizeof label, "%s ENTITY VERB", c->name);
            fprintf(out, "  %-*s %s:\n", NAME_WIDTH, label, c->summary);
            cli_print_subcommands(out, c, 4, true);
        } else {
            for (const struct command *s = c->subcommands; s->name; s++) {
                char label[64];
                snprintf(label, sizeof label, "%s %s", c->name, s->name);
                fprintf(out, "  %-*s %s\n", NAME_WIDTH, label, s->summary);
            }
        }
    }
}

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: clinic [--url URL] [--token T] [--json] [--timeout MS] COMMAND [ARGS]\n\n"
            "Talks to clinicd, the clinic's scheduling daemon.\n\n"
            "Global options:\n"
            "  --url URL      daemon URL(s), comma-separated (env CLINIC_URL, default %s)\n"
            "  --token T      bearer token (env CLINIC_TOKEN; default: the token file that\n"
            "                 `clinic login` writes)\n"
            "  --json         print replies as JSON, for scripts\n"
            "  --timeout MS   time budget of each call (default %d)\n"
            "  --help         this help; `clinic COMMAND --help` for a command's\n"
            "  --version      the version\n\nCommands:\n",
            CLINIC_DEFAULT_URL, CLINIC_DEFAULT_TIMEOUT_MS);
    print_commands(out);
    fprintf(out,
            "\nEvery command has --help (`clinic book --help`). Times are the location's local\n"
            "time: type \"2026-03-29 09:00\" (or ISO 8601 with an offset), dates as 2026-03-29.\n");
    fprintf(
        out,
        "\nExit status: 0 OK, 1 a negative answer (e.g. NOT_SERVING), 2 usage error, otherwise\n"
        "the gRPC status code of the failure (3 INVALID_ARGUMENT ... 16 UNAUTHENTICATED).\n");
}

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; advances *i past what it used. */
static bool take_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return true;
    }
    if (argv[*i][n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        *value = NULL;
        return true;
    }
    *value = argv[++*i];
    return true;
}

static bool parse_timeout(const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : -1;
    if (!text || errno || end == text || *end || v < 1 || v > 3600000)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* True when the global options hold --json. Looked for before they are read, so that a mistake
 * in an option before --json ("clinic --timeout x --json ...") is reported as JSON too. */
static bool global_json(int argc, char **argv)
{
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0)
            return true;
        if (strcmp(argv[i], "--url") == 0 || strcmp(argv[i], "--token") == 0 ||
            strcmp(argv[i], "--timeout") == 0)
            i++; /* its value */
    }
    return false;
}

int main(int argc, char **argv)
{
    struct cli cli = {.url = getenv("CLINIC_URL"), .json = global_json(argc, argv)};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("clinic %s\n", CLINIC_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            cli.json = true;
        } else if (take_option(argc, argv, &i, "--url", &v)) {
            if (!(cli.url = v) || !*v)
                return cli_usage_error(&cli, "--url needs a value");
        } else if (take_option(argc, argv, &i, "--token", &v)) {
            if (!(cli.token_flag = v) || !*v)
                return cli_usage_error(&cli, "--token needs a value");
        } else if (take_option(argc, argv, &i, "--timeout", &v)) {
            if (!parse_timeout(v, &cli.timeout_ms))
                return cli_usage_error(&cli, "--timeout must be milliseconds from 1 to 3600000");
        } else {
            return cli_usage_error(&cli, "unknown option \"%s\"", argv[i]);
        }
    }
    if (i >= argc && cli.json)
        return cli_usage_error(&cli, "a command is missing");
    if (i >= argc) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const struct command *cmd = cli_find_command(argv[i]);
    if (!cmd)
        return cli_usage_error(&cli, "unknown command \"%s\"", argv[i]);
    int rc = cli_run_command(&cli, cmd, argc - i, argv + i);
    cli_finish(&cli);
    return rc;
}
