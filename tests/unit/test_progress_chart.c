/* `clinic progress` drawn from a fabricated course of six sessions: sparklines in block
 * characters or ASCII (chosen by the locale), gaps for sessions without a value, and an SVG chart
 * that is one well-formed document with three lines, rings at the MCID sessions, the session
 * dates, and the client's name XML-escaped in its title. Its x axis is time in real days: a
 * point's x is proportional to its day, sessions a week apart are twice as far apart as sessions
 * three and a half days apart, and questionnaires (RMDQ, PSFS, STarT Back) sit at their days. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress_chart.h"

/* Six sessions on days 0, 7, 14, 21, 28 and 35: pain before 7 6 6 5 4 3, after 4 4 3 3 2 -,
 * ODI 42 .. 22 (none in 3). */
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
        s.days = 7.0 * i;
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
    assert_non_null(strstr(svg, ">pain (0-10), PSFS (0-10)</text>"));
    assert_non_null(strstr(svg, ">ODI (%), RMDQ (% of 24)</text>"));
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

static void day_axis_is_proportional_to_the_days(void **state)
{
    (void)state;
    assert_float_equal(progress_day_x(0, 35, 100, 800), 100, 1e-9);
    assert_float_equal(progress_day_x(35, 35, 100, 800), 800, 1e-9);
    assert_float_equal(progress_day_x(7, 35, 100, 800), 240, 1e-9);
    /* a week is twice three and a half days */
    double week = progress_day_x(14, 35, 100, 800) - progress_day_x(7, 35, 100, 800);
    double half = progress_day_x(3.5, 35, 100, 800) - progress_day_x(0, 35, 100, 800);
    assert_float_equal(week, 2 * half, 1e-9);
    /* clamped to the axis; everything on one day sits in the middle */
    assert_float_equal(progress_day_x(-1, 35, 100, 800), 100, 1e-9);
    assert_float_equal(progress_day_x(40, 35, 100, 800), 800, 1e-9);
    assert_float_equal(progress_day_x(0, 0, 100, 800), 450, 1e-9);
}

static void day_ticks_are_at_most_eight_steps_whole_weeks_from_two_weeks_on(void **state)
{
    (void)state;
    assert_float_equal(progress_day_step(0), 1, 0);
    assert_float_equal(progress_day_step(5), 1, 0);
    assert_float_equal(progress_day_step(9), 2, 0);
    assert_float_equal(progress_day_step(16), 2, 0);
    assert_float_equal(progress_day_step(17), 7, 0);
    assert_float_equal(progress_day_step(56), 7, 0);
    assert_float_equal(progress_day_step(57), 14, 0);
    assert_float_equal(progress_day_step(200), 28, 0);
    assert_float_equal(progress_day_step(365), 56, 0);
}

/* The x of the n-th occurrence of `needle` ("<circle cx=\"X\"...") in svg; -1 when missing. */
static double nth_cx(const char *svg, const char *color, int n)
{
    char needle[64];
    snprintf(needle, sizeof needle, "r=\"4\" fill=\"%s\"", color);
    const char *p = svg;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, needle);
        if (!p)
            return -1;
        if (i < n)
            p += strlen(needle);
    }
    while (p > svg && strncmp(p, "cx=\"", 4) != 0)
        p--;
    return strtod(p + 4, NULL);
}

static void svg_places_sessions_and_questionnaires_at_their_real_days(void **state)
{
    (void)state;
    struct course c;
    fabricate(&c, (char *)"Ada");
    /* sessions on days 0, 3.5, 7, 21, 28, 35: uneven gaps */
    static const double days[] = {0, 3.5, 7, 21, 28, 35};
    for (int i = 0; i < 6; i++)
        c.sessions[i].days = days[i];
    /* RMDQ on days 0 and 35 (12 -> 7: important), PSFS on 10 and 30 (3 -> 5.5), STarT Back at 0 */
    Clinic__V1__Measure m[5];
    Clinic__V1__Measure *mp[5];
    static const struct {
        Clinic__V1__MeasureKind kind;
        double day, score;
        bool mcid;
        Clinic__V1__StartBackRisk risk;
    } spec[] = {
        {CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK, 0, 6, false,
         CLINIC__V1__START_BACK_RISK__START_BACK_RISK_HIGH},
        {CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, 0, 12, false, 0},
        {CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, 10, 3, false, 0},
        {CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, 30, 5.5, true, 0},
        {CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, 35, 7, true, 0},
    };
    for (int i = 0; i < 5; i++) {
        Clinic__V1__Measure one = CLINIC__V1__MEASURE__INIT;
        one.kind = spec[i].kind;
        one.days = spec[i].day;
        one.score = spec[i].score;
        one.mcid = spec[i].mcid;
        one.startback_risk = spec[i].risk;
        one.startback_psychosocial = 4;
        one.recorded_at = (char *)"2026-03-02T09:00:00+01:00";
        m[i] = one;
        mp[i] = &m[i];
    }
    c.r.measures = mp;
    c.r.n_measures = 5;
    c.r.course_start = (char *)"2026-03-02T09:00:00+01:00";
    char *svg = svg_of(&c.r);
    /* pain before: x proportional to the days, on the axis from 70 to 770 over 35 days */
    for (int i = 0; i < 6; i++) {
        double want = 70 + 700 * days[i] / 35;
        assert_float_equal(nth_cx(svg, "#c0392b", i), want, 0.06);
    }
    /* the gap of 14 days between sessions 3 and 4 is four times the 3.5 days of sessions 1-2 */
    double short_gap = nth_cx(svg, "#c0392b", 1) - nth_cx(svg, "#c0392b", 0);
    double long_gap = nth_cx(svg, "#c0392b", 3) - nth_cx(svg, "#c0392b", 2);
    assert_float_equal(long_gap, 4 * short_gap, 0.2);
    /* RMDQ (purple) and PSFS (amber) at their own days: 0 and 35; 10 and 30 */
    assert_float_equal(nth_cx(svg, "#7d3c98", 0), 70, 0.06);
    assert_float_equal(nth_cx(svg, "#7d3c98", 1), 770, 0.06);
    assert_float_equal(nth_cx(svg, "#b9770e", 0), 270, 0.06);
    assert_float_equal(nth_cx(svg, "#b9770e", 1), 670, 0.06);
    /* RMDQ 7 of 24 on the right axis: 29 % of the way up from 380 to 130 */
    assert_non_null(strstr(svg, "cx=\"770.0\" cy=\"307.1\" r=\"4\" fill=\"#7d3c98\""));
    /* five lines now, each in the legend; rings at both measures' important changes */
    assert_int_equal(count(svg, "<path "), 5);
    assert_non_null(strstr(svg, ">RMDQ (% of 24, right axis)</text>"));
    assert_non_null(strstr(svg, ">PSFS mean (0-10, higher is better)</text>"));
    assert_int_equal(count(svg, "clinically important change</title>"), 8);
    /* the screening's risk group at its day, in the legend and the title */
    assert_non_null(strstr(svg, ">STarT Back: high</text>"));
    assert_non_null(strstr(svg, "STarT Back screening (risk group)"));
    assert_non_null(strstr(svg, "(client 7, 6 sessions, 5 questionnaires)"));
    /* the time axis: ticks every 7 days up to 35, and what day 0 is */
    assert_non_null(strstr(svg, "text-anchor=\"middle\">35</text>"));
    assert_non_null(strstr(svg, ">days since 2026-03-02 (sessions dated below the axis)</text>"));
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
        cmocka_unit_test(day_axis_is_proportional_to_the_days),
        cmocka_unit_test(day_ticks_are_at_most_eight_steps_whole_weeks_from_two_weeks_on),
        cmocka_unit_test(svg_places_sessions_and_questionnaires_at_their_real_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
