/* run_isolation.c: runs one isolation spec, PostgreSQL's isolationtester over the daemon's own
 * statements, against a private PostgreSQL migrated as clinicd migrates it, and checks what every
 * permutation left.
 *
 * Usage: run_isolation NAME   (runs specs/NAME.spec, compares with expected/NAME.out)
 *
 * DESIGN:
 *   - The spec omits permutation lines, so isolationtester runs every interleaving of its
 *     sessions' steps. Its teardown, run after each permutation, is iso.verdict() (fixture.sql):
 *     the invariants, then what is booked and what the rules are.
 *   - The raw output holds every step's result rows, with dates; it is reduced to a summary:
 *     per permutation its steps' errors (dates written <date>), the steps cancelled and the
 *     verdict. The summary must equal expected/NAME.out, which therefore says, interleaving by
 *     interleaving, who committed and who was refused, and why. Whatever the expected file says,
 *     a broken invariant, a deadlock, a permutation without a verdict or an isolationtester that
 *     did not finish fails the run.
 *   - A step can be due in a session whose previous step still waits for a lock (an interleaving
 *     the locks make impossible): isolationtester then cancels the waiting step after
 *     PGISOLATIONTIMEOUT seconds, as a caller whose deadline passed, and the summary says so.
 *     Every step that does not wait takes milliseconds, far below that.
 *   - isolationtester ships with postgresql-client (a dependency of the server package) beside
 *     PostgreSQL's other programs: <bindir>/../lib/pgxs/src/test/isolation/isolationtester, else
 *     the newest /usr/lib/postgresql/<version>/lib/pgxs/...; it is run by that absolute path.
 * Exit status 0 when the spec passes, 1 with a readable account on stderr when not. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "embedded_pg.h"
#include "harness.h"
#include "migrate.h"
#include "status.h"

#define ISOLATION_TIMEOUT_S "2"
#define RUN_LIMIT_S         900
#define TESTER_TAIL         "/../lib/pgxs/src/test/isolation/isolationtester"
#define TESTER_GLOB         "/usr/lib/postgresql/*/lib/pgxs/src/test/isolation/isolationtester"

/* A growing text (malloc'd). */
struct text {
    char *s;
    size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            fprintf(stderr, "run_isolation: out of memory\n");
            exit(1);
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_line(struct text *t, const char *prefix, const char *line)
{
    text_add(t, prefix, strlen(prefix));
    text_add(t, line, strlen(line));
    text_add(t, "\n", 1);
}

/* Finds isolationtester beside the server's programs, else the newest one installed; false when
 * there is none. */
static bool find_tester(char *out, size_t len)
{
    char bindir[PATH_MAX], path[PATH_MAX + 64];
    if (embedded_pg_find_bindir(bindir, sizeof bindir)) {
        snprintf(path, sizeof path, "%s" TESTER_TAIL, bindir);
        if (realpath(path, out) && access(out, X_OK) == 0)
            return true;
    }
    glob_t g;
    bool found = false;
    if (glob(TESTER_GLOB, 0, NULL, &g) == 0) {
        for (size_t i = g.gl_pathc; i-- > 0 && !found;) /* sorted: the newest version last */
            if (access(g.gl_pathv[i], X_OK) == 0 && strlen(g.gl_pathv[i]) < len) {
                snprintf(out, len, "%s", g.gl_pathv[i]);
                found = true;
            }
        globfree(&g);
    }
    return found;
}

/* Migrates the database as clinicd does at start-up, loads the fixture and lowers the database's
 * deadlock_timeout, so that a deadlock (which must not happen) shows at once. */
static bool prepare_database(const char *url)
{
    char err[512] = "";
    struct db *db = db_new(url);
    char *fixture = harness_read_file(CLINIC_ISOLATION_DIR "/fixture.sql");
    bool ok = db && fixture && migrate_run(db, migration_files, err, sizeof err) &&
              db_exec_script(db, fixture) == STATUS_OK &&
              db_exec_script(db, "ALTER DATABASE iso SET deadlock_timeout = '100ms'") == STATUS_OK;
    if (!ok)
        fprintf(stderr, "run_isolation: preparing the database failed: %s%s\n", err,
                !fixture ? "cannot read fixture.sql"
                : db     ? db_error_detail(db)
                         : "");
    free(fixture);
    db_free(db);
    return ok;
}

/* Runs tester with the spec on stdin, stdout to out_path, stderr to err_path; waits at most
 * RUN_LIMIT_S. Returns its exit status, -1 if it did not exit in time or could not start. */
static int run_tester(const char *tester, const char *url, const char *spec, const char *out_path,
                      const char *err_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open(spec, O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int errfd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || errfd < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(errfd, 2) < 0)
            _exit(126);
        setenv("PGISOLATIONTIMEOUT", ISOLATION_TIMEOUT_S, 1);
        execl(tester, tester, url, (char *)NULL);
        _exit(127);
    }
    for (int waited_ms = 0; waited_ms < RUN_LIMIT_S * 1000; waited_ms += 50) {
        int status;
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (done < 0 && errno != EINTR)
            return -1;
        harness_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Copies line into out with every date written <date> and trailing blanks cut. */
static void normalise(const char *line, char *out, size_t len)
{
    static regex_t date;
    static bool compiled;
    if (!compiled) {
        compiled = regcomp(&date, "[0-9]{4}-[0-9]{2}-[0-9]{2}", REG_EXTENDED) == 0;
        if (!compiled) {
            fprintf(stderr, "run_isolation: cannot compile a regular expression\n");
            exit(1);
        }
    }
    size_t n = 0;
    regmatch_t m;
    const char *p = line;
    while (*p && n + 8 < len) {
        if (regexec(&date, p, 1, &m, 0) != 0) {
            n += (size_t)snprintf(out + n, len - n, "%s", p);
            break;
        }
        n += (size_t)snprintf(out + n, len - n, "%.*s<date>", (int)m.rm_so, p);
        p += m.rm_eo;
    }
    out[n < len ? n : len - 1] = '\0';
    for (size_t k = strlen(out); k > 0 && (out[k - 1] == ' ' || out[k - 1] == '\n'); k--)
        out[k - 1] = '\0';
}

/* What the raw output says, counted while it is reduced to the summary. */
struct reading {
    int permutations;
    int verdicts;
    int broken;
    int deadlocks;
};

/* Reduces isolationtester's output to the summary (see DESIGN). Steps are one line each in the
 * specs, so every "step NAME:" line names the step whose results or error follow. */
static void summarise(const char *raw, struct text *summary, struct reading *r)
{
    char step[128] = "", line[4096], clean[4096];
    bool in_verdict = false;
    const char *p = raw;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        p += n + (eol ? 1 : 0);
        normalise(line, clean, sizeof clean);
        if (strstr(clean, "deadlock detected"))
            r->deadlocks++;
        if (in_verdict) {
            if (clean[0] == '(' && strstr(clean, " row")) {
                in_verdict = false;
            } else if (strncmp(clean, "---", 3) != 0) {
                const char *v = clean + strspn(clean, " ");
                text_line(summary, "  ", v);
                r->broken += strncmp(v, "INVARIANT BROKEN", 16) == 0;
            }
            continue;
        }
        if (strncmp(clean, "starting permutation: ", 22) == 0) {
            r->permutations++;
            text_line(summary, "\npermutation: ", clean + 22);
            step[0] = '\0';
        } else if (strncmp(clean, "step ", 5) == 0 && strchr(clean + 5, ':')) {
            snprintf(step, sizeof step, "%.*s", (int)(strchr(clean + 5, ':') - (clean + 5)),
                     clean + 5);
        } else if (strcmp(clean, "ERROR:  canceling statement due to user request") == 0) {
            continue; /* isolationtester's own cancel, reported on the line before */
        } else if (strncmp(clean, "ERROR:", 6) == 0) {
            char prefix[160];
            snprintf(prefix, sizeof prefix, "  %s: ", step[0] ? step : "(setup)");
            text_line(summary, prefix, clean);
        } else if (strncmp(clean, "isolationtester: canceling step ", 32) == 0) {
            const char *name = clean + 32;
            char what[200];
            snprintf(what, sizeof what, "  %.*s: ", (int)strcspn(name, " "), name);
            text_line(summary, what,
                      "cancelled after waiting for a lock while its session's next step was "
                      "due (an interleaving the locks rule out)");
        } else if (strcmp(clean, "verdict") == 0) {
            in_verdict = true;
            r->verdicts++;
        }
    }
}

static bool write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(s, f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok;
}

/* Shows the difference between the expected and the actual summary on stderr. */
static void show_diff(const char *expected, const char *actual)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(2, 1);
        execl("/usr/bin/diff", "diff", "-u", expected, actual, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* Checks one run; prints why it fails. */
static bool judge(const char *name, int rc, const char *errors, const struct reading *r,
                  const char *summary_path, const char *raw_path)
{
    char expected_path[PATH_MAX];
    snprintf(expected_path, sizeof expected_path, CLINIC_ISOLATION_DIR "/expected/%s.out", name);
    bool ok = true;
    if (rc != 0) {
        fprintf(stderr, "FAIL %s: isolationtester exited with %d%s%s\n", name, rc,
                errors && *errors ? ":\n" : "", errors ? errors : "");
        ok = false;
    }
    if (r->permutations == 0 || r->verdicts != r->permutations) {
        fprintf(stderr, "FAIL %s: %d permutation(s) ran but %d verdict(s) were given\n", name,
                r->permutations, r->verdicts);
        ok = false;
    }
    if (r->broken)
        fprintf(stderr, "FAIL %s: an invariant broke in %d of %d permutation(s)\n", name, r->broken,
                r->permutations);
    if (r->deadlocks)
        fprintf(stderr, "FAIL %s: PostgreSQL detected %d deadlock(s)\n", name, r->deadlocks);
    ok = ok && !r->broken && !r->deadlocks;
    char *expected = harness_read_file(expected_path);
    char *actual = harness_read_file(summary_path);
    if (!expected) {
        fprintf(stderr, "FAIL %s: no expected summary %s; if %s reads right, copy it there\n", name,
                expected_path, summary_path);
        ok = false;
    } else if (!actual || strcmp(expected, actual) != 0) {
        fprintf(stderr, "FAIL %s: the summary differs from %s (- expected, + this run):\n", name,
                expected_path);
        show_diff(expected_path, summary_path);
        fprintf(stderr, "If the change is intended, copy %s to %s\n", summary_path, expected_path);
        ok = false;
    }
    if (!ok)
        fprintf(stderr, "isolationtester's whole output: %s\n", raw_path);
    else
        printf("%s: %d permutation(s), every invariant held, no deadlock, as expected\n", name,
               r->permutations);
    free(expected);
    free(actual);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 2 || strchr(argv[1], '/')) {
        fprintf(stderr, "usage: run_isolation NAME (runs specs/NAME.spec)\n");
        return 2;
    }
    const char *name = argv[1];
    char spec[PATH_MAX], tester[PATH_MAX], raw_path[PATH_MAX], err_path[PATH_MAX],
        summary_path[PATH_MAX], url[512];
    snprintf(spec, sizeof spec, CLINIC_ISOLATION_DIR "/specs/%s.spec", name);
    char here[PATH_MAX - 64];
    if (!getcwd(here, sizeof here))
        snprintf(here, sizeof here, ".");
    snprintf(raw_path, sizeof raw_path, "%s/%s.raw.out", here, name);
    snprintf(err_path, sizeof err_path, "%s/%s.stderr", here, name);
    snprintf(summary_path, sizeof summary_path, "%s/%s.out", here, name);
    if (access(spec, R_OK) != 0) {
        fprintf(stderr, "FAIL %s: cannot read %s\n", name, spec);
        return 1;
    }
    if (!find_tester(tester, sizeof tester)) {
        fprintf(stderr,
                "FAIL %s: isolationtester was found neither beside PostgreSQL's programs nor "
                "as " TESTER_GLOB "; install postgresql-client-15\n",
                name);
        return 1;
    }
    struct harness_pg pg;
    if (!harness_pg_start(&pg)) {
        fprintf(stderr, "FAIL %s: could not start a private PostgreSQL\n", name);
        return 1;
    }
    bool ok = harness_pg_create_database(&pg, "iso", url, sizeof url) && prepare_database(url);
    if (ok) {
        time_t started = time(NULL);
        int rc = run_tester(tester, url, spec, raw_path, err_path);
        char *raw = harness_read_file(raw_path);
        char *errors = harness_read_file(err_path);
        struct text summary = {0};
        struct reading reading = {0};
        text_line(&summary, "# ", name);
        summarise(raw ? raw : "", &summary, &reading);
        ok = write_file(summary_path, summary.s) &&
             judge(name, rc, errors, &reading, summary_path, raw_path);
        printf("%s: isolationtester ran %ld s\n", name, (long)(time(NULL) - started));
        free(summary.s);
        free(raw);
        free(errors);
    } else {
        fprintf(stderr, "FAIL %s: could not prepare the test database\n", name);
    }
    harness_pg_destroy(&pg);
    return ok ? 0 : 1;
}
