/* prompt.c: reading emails and passwords from the terminal (echo off for passwords, restored even
 * on Ctrl-C), from stdin, or from a file. Every buffer that held a password is wiped. */
#include "prompt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

bool prompt_interactive(void)
{
    return isatty(STDIN_FILENO) == 1;
}

/* One line of f into out without its line end. 1 read, 0 nothing (end of input or an empty
 * line), -1 longer than out. The stdio buffer's copy is wiped too. */
static int read_line(FILE *f, char *out, size_t len)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int result = 0;
    if (n > 0) {
        size_t used = strcspn(line, "\r\n");
        if (used >= len) {
            result = -1;
        } else {
            memcpy(out, line, used);
            out[used] = '\0';
            result = used > 0;
        }
    }
    if (line)
        explicit_bzero(line, cap);
    free(line);
    return result;
}

static struct termios saved_termios;

/* Puts the terminal back and dies of the signal as it would have. */
static void restore_and_raise(int sig)
{
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Asks question on stderr and reads a line from the terminal with echo off. */
static int read_hidden(const char *question, char *out, size_t len)
{
    struct termios quiet;
    fputs(question, stderr);
    fflush(stderr);
    bool hidden = tcgetattr(STDIN_FILENO, &saved_termios) == 0;
    void (*old_int)(int) = SIG_DFL, (*old_term)(int) = SIG_DFL;
    if (hidden) {
        old_int = signal(SIGINT, restore_and_raise);
        old_term = signal(SIGTERM, restore_and_raise);
        quiet = saved_termios;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        hidden = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    int result = read_line(stdin, out, len);
    if (hidden) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        signal(SIGINT, old_int);
        signal(SIGTERM, old_term);
    }
    return result;
}

int prompt_line(const struct cli *cli, const char *question, char *out, size_t len)
{
    fputs(question, stderr);
    fflush(stderr);
    int r = read_line(stdin, out, len);
    if (r > 0)
        return 0;
    return cli_usage_error(cli, r < 0 ? "that is too long" : "nothing was typed");
}

int prompt_password(const struct cli *cli, const char *file, bool confirm, char *out, size_t len)
{
    int r;
    if (file) {
        FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
        if (!f)
            return cli_usage_error(cli, "cannot read --password-file %s: %s", file,
                                   strerror(errno));
        r = read_line(f, out, len);
        if (f != stdin)
            fclose(f);
    } else if (prompt_interactive()) {
        r = read_hidden("Password: ", out, len);
        if (r > 0 && confirm) {
            char again[PROMPT_MAX];
            int r2 = read_hidden("Repeat it: ", again, sizeof again);
            bool same = r2 > 0 && strcmp(out, again) == 0;
            explicit_bzero(again, sizeof again);
            if (!same) {
                explicit_bzero(out, len);
                return cli_usage_error(cli, "the two passwords differ");
            }
        }
    } else {
        r = read_line(stdin, out, len);
    }
    if (r > 0)
        return 0;
    explicit_bzero(out, len);
    if (r < 0)
        return cli_usage_error(cli, "the password is longer than %zu characters", len - 1);
    return cli_usage_error(cli, "no password was given: type it at the prompt, or pass it on stdin "
                                "(one line) or with --password-file FILE");
}
