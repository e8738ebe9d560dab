/* The clinic tool's option parser: both spellings, positionals, lists, money, weekday ranges,
 * update masks from the options given, and a usage error (exit 2) for every malformed value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cli.h"
#include "options.h"

/* One command's option table and the values it fills. */
struct command_line {
    int64_t id, client, price;
    uint32_t count, weekdays;
    char *start, *name;
    char **features;
    size_t n_features;
    int unit;
    bool all;
    struct option opts[11];
    int exit_code;
};

static bool parse(struct command_line *c, int argc, char **argv)
{
    static struct cli cli = {.command_path = "test"};
    memset(c, 0, sizeof *c);
    c->unit = -1;
    c->exit_code = -1;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &c->id, "the record", .flags = OPTION_POSITIONAL),
        OPT("client", OPTION_ID, &c->client, "a client", .field = "client_id"),
        OPT("price", OPTION_MONEY, &c->price, "a price", .field = "price_cents"),
        OPT("count", OPTION_UINT, &c->count, "how many"),
        OPT("weekday", OPTION_WEEKDAYS, &c->weekdays, "days"),
        OPT("start", OPTION_INSTANT, &c->start, "when", .field = "start_time"),
        OPT("name", OPTION_STRING, &c->name, "a name", .field = "name"),
        OPT("feature", OPTION_LIST, &c->features, "features", .count = &c->n_features),
        OPT("unit", OPTION_CHOICE, &c->unit, "unit", .choices = "days|weeks"),
        OPT("all", OPTION_FLAG, &c->all, "every page"),
        OPTIONS_END,
    };
    memcpy(c->opts, opts, sizeof opts);
    return options_parse(&cli, c->opts, argc, argv, &c->exit_code);
}

#define ARGS(...) ((char *[]){"cmd", __VA_ARGS__, NULL})

static int count_args(char **argv)
{
    int n = 0;
    while (argv[n])
        n++;
    return n;
}

static void both_spellings_and_positionals_parse(void **state)
{
    (void)state;
    struct command_line c;
    char **v = ARGS("42", "--client=7", "--start", "2026-03-29 09:00", "--all");
    assert_true(parse(&c, count_args(v), v));
    assert_int_equal(c.id, 42);
    assert_int_equal(c.client, 7);
    assert_string_equal(c.start, "2026-03-29 09:00");
    assert_true(c.all);
    options_free(c.opts);
}

static void money_weekdays_and_choices_parse(void **state)
{
    (void)state;
    struct command_line c;
    char **v = ARGS("1", "--price", "60.5", "--weekday", "mon-fri", "--unit", "weeks");
    assert_true(parse(&c, count_args(v), v));
    assert_int_equal(c.price, 6050);
    assert_int_equal(c.weekdays, 0x3E); /* bits 1 (Monday) to 5 (Friday) */
    assert_int_equal(c.unit, 1);
    options_free(c.opts);
}

static void lists_accept_repetition(void **state)
{
    (void)state;
    struct command_line c;
    char **v = ARGS("1", "--feature", "table", "--feature", "shower");
    assert_true(parse(&c, count_args(v), v));
    assert_int_equal(c.n_features, 2);
    assert_string_equal(c.features[0], "table");
    assert_string_equal(c.features[1], "shower");
    options_free(c.opts);
}

static void the_update_mask_holds_exactly_the_options_given(void **state)
{
    (void)state;
    struct command_line c;
    char **v = ARGS("1", "--client", "3", "--name", "Room A");
    assert_true(parse(&c, count_args(v), v));
    char *mask[8];
    assert_int_equal(options_mask(c.opts, mask, 8), 2);
    assert_string_equal(mask[0], "client_id");
    assert_string_equal(mask[1], "name");
    assert_true(options_given(c.opts, "name"));
    assert_false(options_given(c.opts, "price"));
    options_free(c.opts);
}

static void calendar_days_and_clock_times_that_exist_parse(void **state)
{
    (void)state;
    const char *good[] = {"2028-02-29 10:00", "2000-02-29T23:59:00Z", "2026-12-31 24:00",
                          "2026-04-30 00:00"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct command_line c;
        char **v = ARGS("1", "--start", (char *)good[i]);
        if (!parse(&c, count_args(v), v))
            fail_msg("%s was refused", good[i]);
        options_free(c.opts);
    }
}

static void malformed_values_are_usage_errors(void **state)
{
    (void)state;
    char **bad[] = {
        ARGS("1", "--client", "abc"),
        ARGS("1", "--client", "0"),
        ARGS("1", "--price", "12.345"),
        ARGS("1", "--weekday", "someday"),
        ARGS("1", "--unit", "months"),
        ARGS("1", "--start", "tomorrow"),
        /* a day or an hour that does not exist: the same mistake, the same exit status */
        ARGS("1", "--start", "2026-02-30 10:00"),
        ARGS("1", "--start", "2026-04-31 10:00"),
        ARGS("1", "--start", "2026-03-29 25:00"),
        ARGS("1", "--start", "2026-03-29 09:60"),
        ARGS("1", "--count", "-1"),
        ARGS("1", "--nonsense", "x"),
        ARGS("1", "--client", "1", "--client", "2"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct command_line c;
        if (parse(&c, count_args(bad[i]), bad[i]))
            fail_msg("case %zu was accepted", i);
        assert_int_equal(c.exit_code, EXIT_USAGE);
        options_free(c.opts);
    }
}

static void violations_are_told_by_the_options_that_set_the_fields(void **state)
{
    (void)state;
    char from[1], to[1], email[1];
    int64_t id;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &id, "the record", .flags = OPTION_POSITIONAL, .field = "id"),
        OPT("from", OPTION_CLOCK, &from, "start", .field = "start_local"),
        OPT("to", OPTION_CLOCK, &to, "end", .field = "end_local"),
        OPT("email", OPTION_STRING, &email, "mail", .field = "email"),
        OPT("pain-before", OPTION_STRING, &email, "pain", .field = "pain_before"),
        OPTIONS_END,
    };
    char out[256];
    options_describe_violation(opts, "end_local", "must be after start_local", out, sizeof out);
    assert_string_equal(out, "--to must be after --from");
    options_describe_violation(opts, "id", "must be the id of an existing record", out, sizeof out);
    assert_string_equal(out, "ID must be the id of an existing record");
    /* plain English words stay, even when an option sets a field of that name */
    options_describe_violation(opts, "email", "must be an email address", out, sizeof out);
    assert_string_equal(out, "--email must be an email address");
    options_describe_violation(opts, "content.pain_before", "must be 0 to 10", out, sizeof out);
    assert_string_equal(out, "--pain-before must be 0 to 10");
    /* a field no option sets keeps its name */
    options_describe_violation(opts, "location_id", "is required.", out, sizeof out);
    assert_string_equal(out, "location_id: is required.");
    options_describe_violation(NULL, "end_local", "must be after start_local", out, sizeof out);
    assert_string_equal(out, "end_local: must be after start_local");
    char small[12];
    options_describe_violation(opts, "end_local", "must be after start_local", small, sizeof small);
    assert_string_equal(small, "--to must b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_spellings_and_positionals_parse),
        cmocka_unit_test(money_weekdays_and_choices_parse),
        cmocka_unit_test(lists_accept_repetition),
        cmocka_unit_test(the_update_mask_holds_exactly_the_options_given),
        cmocka_unit_test(calendar_days_and_clock_times_that_exist_parse),
        cmocka_unit_test(malformed_values_are_usage_errors),
        cmocka_unit_test(violations_are_told_by_the_options_that_set_the_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
