/* What `clinic note` reads and shows, without a daemon: ODI answers (ten, 0-5 or '-', "none"
 * clears) with a sentence naming the section at fault; areas and techniques typed as words in
 * any case with '-' or '_'; and a note shown with its pain, areas, SOAP sections, ODI answers and
 * amendments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notes.h"
#include "options.h"

/* Parses one value of an OPTION_INT option like --pain-before; returns the exit code (-1: ok). */
static int parse_pain(const char *value, int32_t *pain)
{
    static struct cli cli = {.command_path = "note draft"};
    struct option opts[] = {
        OPT("pain-before", OPTION_INT, pain, "pain", .min = 0, .max = 10,
            .flags = OPTION_DASH_NONE),
        OPTIONS_END,
    };
    char *argv[] = {"draft", "--pain-before", (char *)value, NULL};
    int code = -1;
    bool ok = options_parse(&cli, opts, 3, argv, &code);
    options_free(opts);
    return ok ? -1 : code;
}

static void pain_scores_take_0_to_10_or_a_dash(void **state)
{
    (void)state;
    int32_t pain = 99;
    assert_int_equal(parse_pain("0", &pain), -1);
    assert_int_equal(pain, 0);
    assert_int_equal(parse_pain("10", &pain), -1);
    assert_int_equal(pain, 10);
    assert_int_equal(parse_pain("-", &pain), -1);
    assert_int_equal(pain, -1);
    assert_int_equal(parse_pain("11", &pain), 2);
    assert_int_equal(parse_pain("-1", &pain), 2);
    assert_int_equal(parse_pain("7x", &pain), 2);
    assert_int_equal(parse_pain(" 7", &pain), 2);
    assert_int_equal(parse_pain("", &pain), 2);
}

static void odi_takes_ten_answers_with_dashes_for_unanswered(void **state)
{
    (void)state;
    int32_t v[NOTES_ODI_SECTIONS];
    size_t n;
    char err[256];
    assert_true(notes_parse_odi("3,2,-,1,0, 4,2,-,1,5", v, &n, err, sizeof err));
    assert_int_equal(n, 10);
    assert_int_equal(v[0], 3);
    assert_int_equal(v[2], -1);
    assert_int_equal(v[5], 4);
    assert_int_equal(v[9], 5);
    assert_true(notes_parse_odi("none", v, &n, err, sizeof err));
    assert_int_equal(n, 0);
    assert_true(notes_parse_odi("", v, &n, err, sizeof err));
    assert_int_equal(n, 0);
}

static void odi_names_what_is_wrong(void **state)
{
    (void)state;
    int32_t v[NOTES_ODI_SECTIONS];
    size_t n;
    char err[256];
    assert_false(notes_parse_odi("3,2,1", v, &n, err, sizeof err));
    assert_non_null(strstr(err, "exactly 10 answers"));
    assert_non_null(strstr(err, "3 given"));
    assert_false(notes_parse_odi("3,2,6,1,0,4,2,1,1,1", v, &n, err, sizeof err));
    assert_non_null(strstr(err, "answer 3 (lifting) must be 0 to 5"));
    assert_false(notes_parse_odi("1,1,1,1,1,1,1,1,1,1,1", v, &n, err, sizeof err));
    assert_non_null(strstr(err, "not more"));
    assert_false(notes_parse_odi("1,,1,1,1,1,1,1,1,1", v, &n, err, sizeof err));
    assert_non_null(strstr(err, "answer 2 (personal care)"));
}

static void areas_and_techniques_are_words_in_any_spelling(void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *areas = &clinic__v1__body_region__descriptor;
    assert_int_equal(notes_enum_value(areas, "BODY_REGION_", "lower_back"),
                     CLINIC__V1__BODY_REGION__BODY_REGION_LOWER_BACK);
    assert_int_equal(notes_enum_value(areas, "BODY_REGION_", "Lower-Back"),
                     CLINIC__V1__BODY_REGION__BODY_REGION_LOWER_BACK);
    assert_int_equal(notes_enum_value(areas, "BODY_REGION_", "glutes"),
                     CLINIC__V1__BODY_REGION__BODY_REGION_GLUTES);
    assert_int_equal(notes_enum_value(areas, "BODY_REGION_", "unspecified"), -1);
    assert_int_equal(notes_enum_value(areas, "BODY_REGION_", "elbow"), -1);
    assert_int_equal(
        notes_enum_value(&clinic__v1__technique__descriptor, "TECHNIQUE_", "deep_tissue"),
        CLINIC__V1__TECHNIQUE__TECHNIQUE_DEEP_TISSUE);
    char words[600];
    notes_enum_words(&clinic__v1__technique__descriptor, "TECHNIQUE_", words, sizeof words);
    assert_string_equal(words, "swedish, deep_tissue, myofascial_release, trigger_point, "
                               "stretching, sports, lymphatic_drainage, hot_stone, cupping");
}

static void a_signed_note_reads_like_a_record(void **state)
{
    (void)state;
    Clinic__V1__Note n = CLINIC__V1__NOTE__INIT;
    Clinic__V1__BodyRegion areas[] = {CLINIC__V1__BODY_REGION__BODY_REGION_LOWER_BACK,
                                      CLINIC__V1__BODY_REGION__BODY_REGION_GLUTES};
    Clinic__V1__Technique techniques[] = {CLINIC__V1__TECHNIQUE__TECHNIQUE_DEEP_TISSUE};
    int32_t odi[] = {3, 2, -1, 1, 0, 4, 2, -1, 1, 3};
    Clinic__V1__Amendment amendment = CLINIC__V1__AMENDMENT__INIT;
    Clinic__V1__Amendment *amendments[] = {&amendment};
    n.id = 12;
    n.appointment_id = 42;
    n.client_id = 7;
    n.author_therapist_id = 3;
    n.author_name = (char *)"Anna Berg";
    n.status = CLINIC__V1__NOTE_STATUS__NOTE_STATUS_SIGNED;
    n.signed_at = (char *)"2026-03-30T10:15:00Z";
    n.session_start = (char *)"2026-03-30T09:00:00+02:00";
    n.pain_before = 7;
    n.pain_after = -1;
    n.areas = areas;
    n.n_areas = 2;
    n.techniques = techniques;
    n.n_techniques = 1;
    n.pressure = CLINIC__V1__PRESSURE__PRESSURE_FIRM;
    n.subjective = (char *)"Stiff after gardening.\nWorse in the morning.";
    n.plan = (char *)"Weekly, four more sessions.";
    n.odi = odi;
    n.n_odi = 10;
    n.odi_score = 40;
    n.has_odi_score = true;
    amendment.author_name = (char *)"Anna Berg";
    amendment.reason = (char *)"wrong side";
    amendment.text = (char *)"Left glute, not right.";
    amendment.created_at = (char *)"2026-03-31T08:00:00Z";
    n.amendments = amendments;
    n.n_amendments = 1;

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    notes_write(f, &n, NULL);
    fclose(f);
    assert_non_null(
        strstr(text, "Note 12, signed 2026-03-30 10:15 UTC by Anna Berg (therapist 3)\n"));
    assert_non_null(strstr(text, "2026-03-30 09:00, appointment 42, client 7\n"));
    assert_non_null(strstr(text, "7 -> - (before -> after, 0-10)\n"));
    assert_non_null(strstr(text, "areas        lower back, glutes\n"));
    assert_non_null(strstr(text, "techniques   deep tissue\n"));
    assert_non_null(strstr(text, "pressure     firm\n"));
    assert_non_null(
        strstr(text, "\nSubjective\n  Stiff after gardening.\n  Worse in the morning.\n"));
    assert_null(strstr(text, "Objective")); /* empty sections are left out */
    assert_non_null(strstr(text, "\nPlan\n  Weekly, four more sessions.\n"));
    assert_non_null(strstr(text, "Oswestry Disability Index: 40 % (8 of 10 sections answered)\n"));
    assert_non_null(strstr(text, "   3 lifting         -\n"));
    assert_non_null(strstr(text, "  10 travelling      3/5\n"));
    assert_non_null(strstr(text, "\nAmendments\n  2026-03-31 08:00 UTC by Anna Berg: wrong side\n"
                                 "    Left glute, not right.\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pain_scores_take_0_to_10_or_a_dash),
        cmocka_unit_test(odi_takes_ten_answers_with_dashes_for_unanswered),
        cmocka_unit_test(odi_names_what_is_wrong),
        cmocka_unit_test(areas_and_techniques_are_words_in_any_spelling),
        cmocka_unit_test(a_signed_note_reads_like_a_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
