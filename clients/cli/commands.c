/* commands.c: the table of `clinic` commands. Adding a command is a function and one line here. */
#include "cli.h"

int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_methods(struct cli *cli, int argc, char **argv);

const struct command cli_commands[] = {
    {"health", cmd_health, "check that clinicd is serving (exit 0 when SERVING, 1 when not)",
     "health"},
    {"methods", cmd_methods, "list every method the daemon serves", "methods"},
    {NULL, NULL, NULL, NULL},
};
