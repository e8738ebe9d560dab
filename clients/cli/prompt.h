/* prompt.h: what a user types rather than passes as an argument: an email at a prompt, and
 * passwords, which never come from argv (other users' `ps` would see them). */
#ifndef CLINIC_CLI_PROMPT_H
#define CLINIC_CLI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

struct cli;

#define PROMPT_MAX 1024 /* longest line read, terminator included */

/* True when stdin is a terminal (prompts are possible). */
bool prompt_interactive(void);

/* Asks `question` on stderr and reads one line from the terminal, echoed. Returns 0, or the exit
 * status after printing why as cli's usage error (EXIT_USAGE on an empty answer or end of input).
 */
int prompt_line(const struct cli *cli, const char *question, char *out, size_t len);

/* Reads a password into out: the first line of `file` when it is given ("-": stdin); else, when
 * stdin is a terminal, at a prompt with echo off (asked twice when `confirm`); else the first
 * line of stdin. The line end is dropped. Returns 0, or EXIT_USAGE after printing why (nothing
 * read, too long, the two entries differ). Wipe out with explicit_bzero when done. */
int prompt_password(const struct cli *cli, const char *file, bool confirm, char *out, size_t len);

#endif
