/* bootstrap.h: the `clinicd bootstrap-admin` subcommand (see bootstrap.c). */
#ifndef CLINICD_BOOTSTRAP_H
#define CLINICD_BOOTSTRAP_H

/* Runs the subcommand with argv[0] = "bootstrap-admin"; returns the process's exit status. */
int bootstrap_admin_main(int argc, char **argv);

#endif
