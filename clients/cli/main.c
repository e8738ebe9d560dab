/* main.c: the `clinic` tool: global options, then one command from the table in commands.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_help(FILE *out)
{
    fprintf(out, "usage: clinic [--url URL] [--token T] [--json] [--timeout MS] COMMAND [ARGS]\n\n"
           "Talks to clinicd, the clinic's scheduling daemon.\n\n"
           "Global options:\n"
           "  --url URL      daemon URL(s), comma-separated (env CLINIC_URL, default %s)\n"
           "  --token T      bearer token (env CLINIC_TOKEN)\n"
           "  --json         print replies as JSON, for scripts\n"
           "  --timeout MS   time budget of each call (default %d)\n"
           "  --help         this help; `clinic COMMAND --help` for a command's\n"
           "  --version      the version\n\nCommands:\n",
           CLINIC_DEFAULT_URL, CLINIC_DEFAULT_TIMEOUT_MS);
    for (const struct command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nExit status: 0 OK, 1 a negative answer (e.g. NOT_SERVING), 2 usage error, otherwise\n"
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

int main(int argc, char **argv)
{
    struct cli cli = {.url = getenv("CLINIC_URL"), .token = getenv("CLINIC_TOKEN")};
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
                return cli_usage_error(NULL, "--url needs a value");
        } else if (take_option(argc, argv, &i, "--token", &v)) {
            if (!(cli.token = v) || !*v)
                return cli_usage_error(NULL, "--token needs a value");
        } else if (take_option(argc, argv, &i, "--timeout", &v)) {
            if (!parse_timeout(v, &cli.timeout_ms))
                return cli_usage_error(NULL, "--timeout must be milliseconds from 1 to 3600000");
        } else {
            return cli_usage_error(NULL, "unknown option \"%s\"", argv[i]);
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const struct command *cmd = cli_find_command(argv[i]);
    if (!cmd)
        return cli_usage_error(NULL, "unknown command \"%s\"", argv[i]);
    if (cli_wants_help(argc - i, argv + i)) {
        cli_print_command_help(cmd);
        return 0;
    }
    int rc = cmd->run(&cli, argc - i, argv + i);
    clinic_close(cli.client);
    return rc;
}
