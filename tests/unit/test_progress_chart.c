/* `clinic progress` drawn from a fabricated course of six sessions: sparklines in block
 * characters or ASCII (chosen by the locale), gaps for sessions without a value, and an SVG chart
 * that is one well-formed document with three lines, rings at the MCID sessions, the session
 * dates, and the client's name XML-escaped in its title. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress_chart.h"

/* Six weekly sessions: pain before 7 6 6 5 4 3, after 4 4 3 3 2 -, ODI 42 .. 22 (none in 3). */
struct course {
    Clinic__V1__ProgressSession sessions[6];
    Clinic__V1__ProgressSession *ptrs[6];
    char dates[6][32];
    Clinic__V1__ClientProgressResponse r;
};

static void fabricate(struct course *c, char *name)
{
    static const int before[] = {7, 6, 6, 5, 4, 3}, after[] = {4, 4, 3, 3, 2, -1};
    static const double odi[] = {42, 38, -1, 30, 26, 22};
    static const char *const days[] = {"03-02", "03-09", "03-16", "03-23", "03-30", "04-06"};
    Clinic__V1__ClientProgressResponse init = CLINIC__V1__CLIENT_PROGRESS_RESPONSE__INIT;
    c->r = init;
    c->r.client_id = 7;
    c->r.client_name = name;
    for (int i = 0; i < 6; i++) {
        Clinic__V1__ProgressSession s = CLINIC__V1__PROGRESS_SESSION__INIT;
        snprintf(c->dates[i], sizeof c->dates[i], "2026-%sT09:00:00+01:00", days[i]);
        s.session = i + 1;
        s.session_start = c->dates[i];
        s.pain_before = before[i];
        s.pain_after = after[i];
        s.has_odi_score = odi[i] >= 0;
        s.odi_score = odi[i] >= 0 ? odi[i] : 0;
        s.pain_change = before[i] - before[0];
        s.pain_mcid = before[0] - before[i] >= 2; /* sessions 4, 5, 6 */
        s.has_odi_change = odi[i] >= 0;
        s.odi_change = odi[i] >= 0 ? odi[i] - odi[0] : 0;
        s.odi_mcid = odi[i] >= 0 && odi[0] - odi[i] >= 10; /* sessions 4, 5, 6 */
        c->sessions[i] = s;
        c->ptrs[i] = &c->sessions[i];
    }
    c->r.sessions = c->ptrs;
    c->r.n_sessions = 6;
}

/* noinline: inlined, gcc 12 at -O3 takes the returned buffer for the local `text` whose address
 * open_memstream keeps, and reports every later use as a dangling pointer (-Wdangling-pointer). */
__attribute__((noinline)) static char *svg_of(const Clinic__V1__ClientProgressResponse *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_true(progress_svg_write(f, r));
    fclose(f);
    return text;
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void sparkline_draws_blocks_from_low_to_high(void **state)
{
    (void)state;
    const double v[] = {0, 10, 5, 7};
    char out[64];
    progress_sparkline(v, 4, 10, true, out, sizeof out);
    assert_string_equal(out, "▁█▅▆");
    progress_sparkline(v, 4, 10, false, out, sizeof out);
    assert_string_equal(out, "_#=+");
}

static void sparkline_leaves_a_gap_for_a_missing_value_and_clamps_above_max(void **state)
{
    (void)state;
    const double v[] = {3, -1, 12};
    char out[64];
    progress_sparkline(v, 3, 10, true, out, sizeof out);
    assert_string_equal(out, "▃ █");
}

static void sparkline_cuts_at_whole_characters(void **state)
{
    (void)state;
    const double v[] = {10, 10, 10};
    char out[8]; /* room for two 3-byte blocks and the terminator */
    progress_sparkline(v, 3, 10, true, out, sizeof out);
    assert_string_equal(out, "██");
}

static void utf8_is_chosen_by_the_first_locale_variable_set(void **state)
{
    (void)state;
    unsetenv("LC_ALL");
    unsetenv("LC_CTYPE");
    setenv("LANG", "de_DE.UTF-8", 1);
    assert_true(progress_utf8());
    setenv("LC_CTYPE", "C", 1);
    assert_false(progress_utf8());
    setenv("LC_ALL", "en_US.utf8", 1);
    assert_true(progress_utf8());
    unsetenv("LC_ALL");
    unsetenv("LC_CTYPE");
    unsetenv("LANG");
    assert_false(progress_utf8());
}

static void xml_escape_covers_markup_quotes_and_control_characters(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    progress_xml_escape(f, "a<b>&\"c'\x01 Müller");
    fclose(f);
    assert_string_equal(text, "a&lt;b&gt;&amp;&quot;c&apos;? Müller");
    free(text);
}

static void svg_is_one_document_with_the_name_escaped_in_its_title(void **state)
{
    (void)state;
    struct course c;
    fabricate(&c, (char *)"Jo <script>alert(1)</script> & \"Sons\"");
    char *svg = svg_of(&c.r);
    assert_int_equal(strncmp(svg, "<?xml", 5), 0);
    assert_int_equal(count(svg, "<svg "), 1);
    assert_int_equal(count(svg, "</svg>"), 1);
    assert_null(strstr(svg, "<script"));
    assert_non_null(strstr(svg, "<title>Course of care: Jo &lt;script&gt;alert(1)&lt;/script&gt; "
                                "&amp; &quot;Sons&quot;</title>"));
    assert_non_null(strstr(svg, "(client 7, 6 sessions)"));
    free(svg);
}

static void svg_draws_three_lines_with_a_dot_per_value_and_rings_at_the_mcid(void **state)
{
    (void)state;
    struct course c;
    fabricate(&c, (char *)"Ada");
    char *svg = svg_of(&c.r);
    /* pain before 6 dots, pain after 5 (the last is missing), ODI 5 (the third is missing) */
    assert_int_equal(count(svg, "r=\"4\""), 16);
    /* 3 pain and 3 ODI rings, and the legend's */
    assert_int_equal(count(svg, "r=\"8\""), 7);
    assert_int_equal(count(svg, "clinically important change</title>"), 6);
    /* three paths; the ODI line is broken at the third session (a second "M") */
    assert_int_equal(count(svg, "<path "), 3);
    const char *odi_path = strstr(svg, "stroke-dasharray=\"7 4\" d=\"");
    assert_non_null(odi_path);
    char first_line[512];
    snprintf(first_line, sizeof first_line, "%.*s", (int)strcspn(odi_path, "\n"), odi_path);
    assert_int_equal(count(first_line, "M"), 2);
    assert_non_null(strstr(svg, ">2026-03-02</text>"));
    assert_non_null(strstr(svg, ">2026-04-06</text>"));
    assert_non_null(strstr(svg, ">pain (0-10)</text>"));
    assert_non_null(strstr(svg, ">100 %</text>"));
    free(svg);
}

static void svg_of_a_course_without_sessions_says_so(void **state)
{
    (void)state;
    Clinic__V1__ClientProgressResponse r = CLINIC__V1__CLIENT_PROGRESS_RESPONSE__INIT;
    r.client_id = 3;
    char *svg = svg_of(&r);
    assert_non_null(strstr(svg, "no sessions recorded yet"));
    assert_non_null(strstr(svg, "Course of care: client 3"));
    assert_int_equal(count(svg, "</svg>"), 1);
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sparkline_draws_blocks_from_low_to_high),
        cmocka_unit_test(sparkline_leaves_a_gap_for_a_missing_value_and_clamps_above_max),
        cmocka_unit_test(sparkline_cuts_at_whole_characters),
        cmocka_unit_test(utf8_is_chosen_by_the_first_locale_variable_set),
        cmocka_unit_test(xml_escape_covers_markup_quotes_and_control_characters),
        cmocka_unit_test(svg_is_one_document_with_the_name_escaped_in_its_title),
        cmocka_unit_test(svg_draws_three_lines_with_a_dot_per_value_and_rings_at_the_mcid),
        cmocka_unit_test(svg_of_a_course_without_sessions_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
