/* fuzz_cli_options.c: libFuzzer target. The clinic tool's command lines: the table-driven option
 * parser (clients/cli/options.c) over a table with every kind of option, and the real commands'
 * own tables and checks, run through cli_run_command as main.c runs them. A command that gets
 * past its parsing tries to call a daemon at an inproc:// URL nobody listens on and fails there,
 * so nothing is sent, and the token comes from --token, so no token file is read or removed.
 * Commands that read a password or wait for events (login, change-password, watch, admin user
 * create and set-password) and logout are not run.
 *
 * Input: byte 0 chooses (even) the test table or (odd) the real commands; the rest is the
 * command line, one argument per line (a command's first word first).
 * Checks: what the test table's parse accepts has the shape its kind promises, every required
 * option present; options_free empties the lists; ASan and UBSan over both. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz_check.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

struct values {
    int64_t id, client, price;
    int64_t *ids;
    size_t n_ids;
    uint32_t count, weekdays;
    int32_t pain;
    char *start, *day, *clock, *name;
    char **features;
    size_t n_features;
    int unit;
    bool all;
};

static void check_test_table(const struct values *v, const struct option *opts)
{
    if (v->id < 1 || (options_given(opts, "client") && v->client < 1))
        fuzz_fail("an id below 1 was accepted");
    for (size_t i = 0; i < v->n_ids; i++)
        if (v->ids[i] < 1)
            fuzz_fail("an id list holds %lld", (long long)v->ids[i]);
    if (v->price < 0)
        fuzz_fail("a negative amount was accepted");
    if (options_given(opts, "weekday") && (v->weekdays == 0 || (v->weekdays & ~0xFEu)))
        fuzz_fail("weekdays became the bits %#x", v->weekdays);
    if (options_given(opts, "pain") && (v->pain < -1 || v->pain > 10))
        fuzz_fail("--pain %d was accepted", v->pain);
    if (options_given(opts, "unit") && (v->unit < 0 || v->unit > 1))
        fuzz_fail("--unit became choice %d", v->unit);
    if (options_given(opts, "day") && strlen(v->day) != 10)
        fuzz_fail("--day \"%s\" was accepted", v->day);
    if (options_given(opts, "at") && strlen(v->clock) != 5)
        fuzz_fail("--at \"%s\" was accepted", v->clock);
    if (options_given(opts, "start") && strlen(v->start) < 10)
        fuzz_fail("--start \"%s\" was accepted", v->start);
    for (size_t i = 0; i < v->n_features; i++)
        if (!v->features[i][0])
            fuzz_fail("a list holds an empty item");
    char *mask[16];
    size_t n = options_mask(opts, mask, 16);
    for (size_t i = 0; i < n; i++)
        if (!mask[i] || !mask[i][0])
            fuzz_fail("the update mask holds an empty field");
}

static void parse_test_table(int argc, char **argv)
{
    static struct cli cli = {.command_path = "fuzz"};
    struct values v = {.unit = -1};
    struct option opts[] = {
        OPT("ID", OPTION_ID, &v.id, "the record", .flags = OPTION_POSITIONAL | OPTION_REQUIRED),
        OPT("NAME", OPTION_STRING, &v.name, "a name", .flags = OPTION_POSITIONAL, .field = "name"),
        OPT("client", OPTION_ID, &v.client, "a client", .field = "client_id"),
        OPT("ids", OPTION_ID_LIST, &v.ids, "some ids", .count = &v.n_ids, .field = "ids"),
        OPT("price", OPTION_MONEY, &v.price, "a price", .field = "price_cents"),
        OPT("count", OPTION_UINT, &v.count, "how many"),
        OPT("weekday", OPTION_WEEKDAYS, &v.weekdays, "days", .field = "weekdays"),
        OPT("start", OPTION_INSTANT, &v.start, "when", .flags = OPTION_DAY_OK,
            .field = "start_time"),
        OPT("day", OPTION_DATE, &v.day, "which day"),
        OPT("at", OPTION_CLOCK, &v.clock, "what time"),
        OPT("feature", OPTION_LIST, &v.features, "features", .count = &v.n_features),
        OPT("unit", OPTION_CHOICE, &v.unit, "unit", .choices = "days|weeks"),
        OPT("pain", OPTION_INT, &v.pain, "pain", .min = 0, .max = 10, .flags = OPTION_DASH_NONE),
        OPT("all", OPTION_FLAG, &v.all, "every page"),
        OPTIONS_END,
    };
    int exit_code = -1;
    if (options_parse(&cli, opts, argc, argv, &exit_code))
        check_test_table(&v, opts);
    else if (exit_code < 0)
        fuzz_fail("options_parse stopped without an exit code");
    options_free(opts);
    if (v.ids || v.n_ids || v.features || v.n_features)
        fuzz_fail("options_free left a list behind");
}

/* Commands that would read stdin, wait, or touch the token file. */
static bool excluded(int argc, char **argv)
{
    static const char *const alone[] = {"login", "logout", "change-password", "watch", NULL};
    for (const char *const *w = alone; *w; w++)
        if (strcmp(argv[0], *w) == 0)
            return true;
    return argc >= 3 && strcmp(argv[0], "admin") == 0 && strcmp(argv[1], "user") == 0 &&
           (strcmp(argv[2], "create") == 0 || strcmp(argv[2], "set-password") == 0);
}

static void run_command(int argc, char **argv)
{
    const struct command *cmd = cli_find_command(argv[0]);
    if (!cmd || excluded(argc, argv))
        return;
    struct cli cli = {
        .url = "inproc://clinic-fuzz-nobody", .token_flag = "fuzz-token", .timeout_ms = 1};
    cli_run_command(&cli, cmd, argc, argv);
    cli_finish(&cli);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    if (size < 1)
        return 0;
    bool real = data[0] & 1;
    static char word[] = "cmd";
    if (!real)
        argv[argc++] = word; /* the test table's command word, not parsed */
    for (size_t i = 1; i < size && argc < MAX_ARGS;) {
        size_t n = 0;
        while (i + n < size && data[i + n] != '\n')
            n++;
        argv[argc] = strndup((const char *)data + i, n); /* exactly sized: ASan sees overreads */
        if (!argv[argc++])
            abort();
        i += n + 1;
    }
    argv[argc] = NULL;
    if (real && argc > 0)
        run_command(argc, argv);
    else if (!real)
        parse_test_table(argc, argv);
    for (int i = real ? 0 : 1; i < argc; i++)
        free(argv[i]);
    return 0;
}
