/* pg_programs.c: finds the folder of PostgreSQL's programs by absolute paths only (see the
 * header); nothing here runs a shell or searches PATH. */
#include "pg_programs.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEBIAN_PG_CONFIG "/usr/bin/pg_config"

static bool holds_program(const char *dir, const char *program)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, program);
    return dir[0] == '/' && n > 0 && (size_t)n < sizeof path && access(path, X_OK) == 0;
}

/* Runs prog (an absolute path) with one argument, without a shell, and writes the first line it
 * prints into out; true when it exits 0 having printed a line. */
static bool first_line_of(const char *prog, const char *arg, char *out, size_t len)
{
    int fds[2];
    if (access(prog, X_OK) != 0 || pipe2(fds, O_CLOEXEC) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(nullfd, 2) < 0)
            _exit(126);
        execl(prog, prog, arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    bool have_line = f && fgets(out, (int)len, f) != NULL;
    if (f)
        fclose(f);
    else
        close(fds[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return false;
    if (!have_line || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return false;
    out[strcspn(out, "\n")] = '\0';
    return true;
}

/* The highest-numbered /usr/lib/postgresql/N/bin that holds program. */
static bool newest_usr_lib_bindir(const char *program, char *out, size_t len)
{
    char pattern[PATH_MAX];
    snprintf(pattern, sizeof pattern, "/usr/lib/postgresql/*/bin/%s", program);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return false;
    long best = -1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        long version = strtol(path + strlen("/usr/lib/postgresql/"), NULL, 10);
        int dir_len = (int)(strrchr(path, '/') - path);
        if (version > best && access(path, X_OK) == 0) {
            best = version;
            snprintf(out, len, "%.*s", dir_len, path);
        }
    }
    globfree(&g);
    return best >= 0;
}

bool pg_programs_find_bindir(const char *program, char *out, size_t len)
{
    const char *env = getenv("CLINIC_PG_BINDIR");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return holds_program(out, program);
    }
    if (first_line_of(DEBIAN_PG_CONFIG, "--bindir", out, len) && holds_program(out, program))
        return true;
    return newest_usr_lib_bindir(program, out, len);
}
