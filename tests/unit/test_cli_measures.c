/* What `clinic measure record` reads, without a daemon: the RMDQ's 24 answers, STarT Back's
 * nine (item 9 in words), and PSFS activities as NAME:RATING, each refused with a sentence that
 * says what the questionnaire takes; and a daemon's violation of `answers` told as the option
 * the user gave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measures.h"
#include "options.h"

static void rmdq_takes_24_yes_or_no_answers(void **state)
{
    (void)state;
    int32_t a[MEASURES_RMDQ_ITEMS];
    char err[256];
    assert_true(
        measures_parse_rmdq("1,0,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,y", a, err, sizeof err));
    assert_int_equal(a[0], 1);
    assert_int_equal(a[1], 0);
    assert_int_equal(a[23], 1);
    assert_false(measures_parse_rmdq("1,0,1", a, err, sizeof err));
    assert_non_null(strstr(err, "exactly 24 answers"));
    assert_non_null(strstr(err, "3 given"));
    assert_false(measures_parse_rmdq("1,0,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1", a, err,
                                     sizeof err));
    assert_non_null(strstr(err, "not more"));
    assert_false(
        measures_parse_rmdq("1,2,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", a, err, sizeof err));
    assert_non_null(strstr(err, "answer 2 must be 1 (yes"));
}

static void startback_reads_item_9_in_words(void **state)
{
    (void)state;
    int32_t a[MEASURES_STARTBACK_ITEMS];
    char err[256];
    assert_true(measures_parse_startback("1,0,1,1,0,0,1,0,very-much", a, err, sizeof err));
    assert_int_equal(a[8], 3);
    assert_true(measures_parse_startback("agree,d,1,1,0,0,1,0,Not at all", a, err, sizeof err));
    assert_int_equal(a[0], 1);
    assert_int_equal(a[1], 0);
    assert_int_equal(a[8], 0);
    assert_true(measures_parse_startback("0,0,0,0,0,0,0,0,4", a, err, sizeof err));
    assert_int_equal(a[8], 4);
    assert_false(measures_parse_startback("1,0,1,1,0,0,1,0,terribly", a, err, sizeof err));
    assert_non_null(strstr(err, "item 9 (how bothersome)"));
    assert_false(measures_parse_startback("1,0,1,1,0,0,1,5,slightly", a, err, sizeof err));
    assert_non_null(strstr(err, "item 8 must be 1 (agree)"));
    assert_false(measures_parse_startback("1,0,1", a, err, sizeof err));
    assert_non_null(strstr(err, "exactly 9 answers"));
}

static void psfs_takes_one_to_five_named_activities_rated_0_to_10(void **state)
{
    (void)state;
    char buf[256], *names[MEASURES_PSFS_MAX], err[256];
    int32_t r[MEASURES_PSFS_MAX];
    size_t n;
    const char *text = " bending : 3, walking 2 km:10,sitting: 0";
    assert_true(measures_parse_psfs(text, buf, names, r, &n, err, sizeof err));
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "bending");
    assert_int_equal(r[0], 3);
    assert_string_equal(names[1], "walking 2 km");
    assert_int_equal(r[1], 10);
    assert_int_equal(r[2], 0);
    /* the rating is after the last colon */
    assert_true(measures_parse_psfs("lifting: the shopping:4", buf, names, r, &n, err, sizeof err));
    assert_string_equal(names[0], "lifting: the shopping");
    assert_false(measures_parse_psfs("", buf, names, r, &n, err, sizeof err));
    assert_non_null(strstr(err, "at least one activity"));
    assert_false(
        measures_parse_psfs("a:1,b:2,c:3,d:4,e:5,f:6", buf, names, r, &n, err, sizeof err));
    assert_non_null(strstr(err, "at most 5 activities"));
    assert_false(measures_parse_psfs("bending:11", buf, names, r, &n, err, sizeof err));
    assert_non_null(strstr(err, "0 (unable to do it) to 10"));
    assert_false(measures_parse_psfs("bending", buf, names, r, &n, err, sizeof err));
    assert_non_null(strstr(err, "NAME:RATING"));
    assert_false(measures_parse_psfs("  :4", buf, names, r, &n, err, sizeof err));
    assert_non_null(strstr(err, "has no name"));
    char long_name[80];
    memset(long_name, 'x', 61);
    snprintf(long_name + 61, sizeof long_name - 61, ":3");
    assert_false(measures_parse_psfs(long_name, buf, names, r, &n, err, sizeof err));
    assert_non_null(strstr(err, "longer than 60 characters"));
}

/* --rmdq, --psfs and --startback all set `answers`: a violation of it names the one given. */
static void a_violation_of_answers_names_the_option_given(void **state)
{
    (void)state;
    static struct cli cli = {.command_path = "measure record"};
    char *rmdq = NULL, *psfs = NULL, *startback = NULL;
    struct option opts[] = {
        OPT("rmdq", OPTION_STRING, &rmdq, "RMDQ", .field = "answers"),
        OPT("psfs", OPTION_STRING, &psfs, "PSFS", .field = "answers"),
        OPT("startback", OPTION_STRING, &startback, "STarT Back", .field = "answers"),
        OPTIONS_END,
    };
    char *argv[] = {"record", "--startback", "1,1", NULL};
    int code = -1;
    assert_true(options_parse(&cli, opts, 3, argv, &code));
    char out[256];
    options_describe_violation(opts, "answers", "the STarT Back tool has 9 items", out, sizeof out);
    assert_string_equal(out, "--startback the STarT Back tool has 9 items");
    options_free(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rmdq_takes_24_yes_or_no_answers),
        cmocka_unit_test(startback_reads_item_9_in_words),
        cmocka_unit_test(psfs_takes_one_to_five_named_activities_rated_0_to_10),
        cmocka_unit_test(a_violation_of_answers_names_the_option_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
