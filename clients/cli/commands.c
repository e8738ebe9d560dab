/* commands.c: the table of `clinic` commands. Adding a command is a function and one line here. */
#include "cli.h"

int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_methods(struct cli *cli, int argc, char **argv);
int cmd_watch(struct cli *cli, int argc, char **argv);

const struct command cli_commands[] = {
    {"health", cmd_health, "check that clinicd is serving (exit 0 when SERVING, 1 when not)",
     "health"},
    {"methods", cmd_methods, "list every method the daemon serves", "methods"},
    {"watch", cmd_watch, "print appointment changes as they happen, missing none",
     "watch [--events URL] [--after SEQ] [--topic PREFIX] [--count N]\n\n"
     "  --events URL   the daemon's event socket (env CLINIC_EVENTS, default tcp://127.0.0.1:7451)\n"
     "  --after SEQ    start after this sequence number (resume); default: from now\n"
     "  --topic P      only topics starting with P (default appointment.)\n"
     "  --count N      stop after N events"},
    {NULL, NULL, NULL, NULL},
};
