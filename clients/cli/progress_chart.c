/* progress_chart.c: sparklines and the SVG chart of `clinic progress`. The SVG needs nothing but
 * a browser: no script, no external style or font, every text XML-escaped.
 *
 * The chart's x axis is time in real days from the course start (the daemon's `days` of each
 * session and measure), so two sessions a week apart are twice as far apart as two sessions
 * three days apart, and a questionnaire answered between sessions sits where it was answered.
 * Two y axes: 0-10 on the left (pain, PSFS) and 0-100 % of the scale on the right (ODI in %,
 * RMDQ as a share of its 24 points); STarT Back screenings are marked along the top with their
 * risk group. */
#include "progress_chart.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool progress_utf8(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strcasestr(v, "UTF-8") || strcasestr(v, "utf8");
    }
    return false;
}

const char *progress_sparkline(const double *values, size_t n, double max, bool utf8, char *out,
                               size_t len)
{
    static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = "_.-:=+*#";
    size_t used = 0;
    if (len)
        out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int level = -1;
        if (values[i] >= 0 && max > 0) {
            double v = values[i] > max ? max : values[i];
            level = (int)(v / max * 7 + 0.5);
        }
        char one[2] = {level < 0 ? ' ' : ascii[level], '\0'};
        const char *glyph = level >= 0 && utf8 ? blocks[level] : one;
        size_t g = strlen(glyph);
        if (used + g + 1 > len)
            break;
        memcpy(out + used, glyph, g + 1);
        used += g;
    }
    return out;
}

void progress_xml_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc(c < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c, out);
        }
    }
}

/* The chart's geometry, in SVG user units. */
#define SVG_W       860.0
#define SVG_H       500.0
#define PLOT_L      70.0
#define PLOT_R      770.0
#define PLOT_T      130.0
#define PLOT_B      380.0
#define PAIN_MAX    10.0
#define PERCENT_MAX 100.0
#define RMDQ_MAX    24.0
#define COLOR_PRE   "#c0392b"
#define COLOR_POST  "#2471a3"
#define COLOR_ODI   "#1e8449"
#define COLOR_RMDQ  "#7d3c98"
#define COLOR_PSFS  "#b9770e"
#define COLOR_SBT   "#555555"

double progress_day_step(double span_days)
{
    static const double steps[] = {1, 2, 7, 14, 28, 56, 91, 182, 364, 728, 1456};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (span_days / steps[i] <= 8)
            return steps[i];
    return steps[sizeof steps / sizeof steps[0] - 1];
}

double progress_day_x(double day, double span_days, double left, double right)
{
    if (span_days <= 0)
        return (left + right) / 2;
    if (day < 0)
        day = 0;
    if (day > span_days)
        day = span_days;
    return left + (right - left) * day / span_days;
}

static double y_of(double v, double max)
{
    return PLOT_B - (PLOT_B - PLOT_T) * v / max;
}

/* One point of a series: its day, its value on the series' own axis (below 0: missing), whether
 * its change is clinically important, and what its tooltip says. */
struct point {
    double day, value;
    bool mcid;
    char title[96];
};

struct series {
    const char *label; /* in the legend and tooltips */
    const char *color;
    const char *dash; /* stroke-dasharray, "" for a solid line */
    double max;       /* the top of its axis: PAIN_MAX or PERCENT_MAX */
    struct point *points;
    size_t n;
};

/* The day span of the chart: the latest day of any session or measure. */
static double span_of(const Clinic__V1__ClientProgressResponse *r)
{
    double span = 0;
    for (size_t i = 0; i < r->n_sessions; i++)
        if (r->sessions[i]->days > span)
            span = r->sessions[i]->days;
    for (size_t i = 0; i < r->n_measures; i++)
        if (r->measures[i]->days > span)
            span = r->measures[i]->days;
    return span;
}

static double x_of(double day, double span)
{
    return progress_day_x(day, span, PLOT_L, PLOT_R);
}

/* The date part ("2026-03-02") of an instant's text. */
static const char *date_of(const char *instant, char out[11])
{
    snprintf(out, 11, "%s", instant ? instant : "");
    return out;
}

/* One line: a path broken where a value is missing, a dot per value (with its tooltip), and a
 * ring where the change reaches the MCID. */
static void write_series(FILE *out, const struct series *s, double span)
{
    fprintf(out, "  <path fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"", s->color);
    if (*s->dash)
        fprintf(out, " stroke-dasharray=\"%s\"", s->dash);
    fprintf(out, " d=\"");
    bool pen_down = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->points[i].value < 0) {
            pen_down = false;
            continue;
        }
        fprintf(out, "%s%.1f %.1f ", pen_down ? "L" : "M", x_of(s->points[i].day, span),
                y_of(s->points[i].value, s->max));
        pen_down = true;
    }
    fprintf(out, "\"/>\n");
    for (size_t i = 0; i < s->n; i++) {
        const struct point *p = &s->points[i];
        if (p->value < 0)
            continue;
        double x = x_of(p->day, span), y = y_of(p->value, s->max);
        fprintf(out, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>", x, y,
                s->color);
        progress_xml_escape(out, p->title);
        fprintf(out, "</title></circle>\n");
        if (p->mcid)
            fprintf(out,
                    "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" stroke=\"%s\" "
                    "stroke-width=\"1.5\"><title>%s: clinically important change</title>"
                    "</circle>\n",
                    x, y, s->color, s->label);
    }
}

static void write_axes(FILE *out, const Clinic__V1__ClientProgressResponse *r, double span)
{
    fprintf(out, "  <g font-size=\"12\" fill=\"#555\">\n");
    for (int p = 0; p <= 10; p += 2) {
        double y = y_of(p, PAIN_MAX);
        fprintf(out,
                "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n"
                "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n"
                "    <text x=\"%.1f\" y=\"%.1f\">%d %%</text>\n",
                PLOT_L, y, PLOT_R, y, PLOT_L - 8, y + 4, p, PLOT_R + 8, y + 4, p * 10);
    }
    fprintf(out,
            "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n"
            "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n"
            "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
            PLOT_L, PLOT_T, PLOT_L, PLOT_B, PLOT_R, PLOT_T, PLOT_R, PLOT_B, PLOT_L, PLOT_B, PLOT_R,
            PLOT_B);
    fprintf(out,
            "    <text transform=\"translate(22 %.1f) rotate(-90)\" text-anchor=\"middle\">pain "
            "(0-10), PSFS (0-10)</text>\n"
            "    <text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\">ODI "
            "(%%), RMDQ (%% of 24)</text>\n",
            (PLOT_T + PLOT_B) / 2, SVG_W - 18, (PLOT_T + PLOT_B) / 2);
    /* the time axis: a tick every `step` days */
    double step = progress_day_step(span);
    for (double d = 0; d <= span + 1e-9; d += step) {
        double x = x_of(d, span);
        fprintf(out,
                "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n"
                "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n",
                x, PLOT_B, x, PLOT_B + 5, x, PLOT_B + 18, d);
        if (span <= 0)
            break;
    }
    char start[11];
    fprintf(out, "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">days since ",
            (PLOT_L + PLOT_R) / 2, SVG_H - 8);
    progress_xml_escape(out, r->course_start && *r->course_start ? date_of(r->course_start, start)
                                                                 : "the first recording");
    fprintf(out, " (sessions dated below the axis)</text>\n");
    if (r->n_sessions == 0 && r->n_measures == 0)
        fprintf(out,
                "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"16\">no "
                "sessions recorded yet</text>\n",
                (PLOT_L + PLOT_R) / 2, (PLOT_T + PLOT_B) / 2);
    fprintf(out, "  </g>\n");
}

/* Session numbers above the axis and dates under it (slanted, so that many sessions fit), each
 * at its real day. */
static void write_sessions(FILE *out, const Clinic__V1__ClientProgressResponse *r, double span)
{
    fprintf(out, "  <g font-size=\"11\" fill=\"#333\">\n");
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[i];
        double x = x_of(s->days, span);
        fprintf(out,
                "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "fill=\"#999\">S%d</text>\n",
                x, PLOT_B - 6, (int)s->session);
        fprintf(out,
                "    <text transform=\"translate(%.1f %.1f) rotate(-35)\" "
                "text-anchor=\"end\">",
                x + 4, PLOT_B + 34);
        char date[11];
        progress_xml_escape(out, date_of(s->session_start, date));
        fprintf(out, "</text>\n");
    }
    fprintf(out, "  </g>\n");
}

static const char *risk_name(Clinic__V1__StartBackRisk risk)
{
    switch (risk) {
    case CLINIC__V1__START_BACK_RISK__START_BACK_RISK_LOW:
        return "low";
    case CLINIC__V1__START_BACK_RISK__START_BACK_RISK_MEDIUM:
        return "medium";
    case CLINIC__V1__START_BACK_RISK__START_BACK_RISK_HIGH:
        return "high";
    default:
        return "not screened";
    }
}

/* Each STarT Back screening: a dotted line down the plot at its day and its risk group above. */
static void write_startback(FILE *out, const Clinic__V1__ClientProgressResponse *r, double span)
{
    for (size_t i = 0; i < r->n_measures; i++) {
        const Clinic__V1__Measure *m = r->measures[i];
        if (m->kind != CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK)
            continue;
        double x = x_of(m->days, span);
        char date[11];
        fprintf(out,
                "  <g><title>STarT Back on %s: %s risk (total %.0f of 9, psychosocial %d of "
                "5)</title>\n"
                "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-dasharray=\"2 3\"/>\n"
                "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
                "fill=\"%s\">STarT Back: %s</text>\n  </g>\n",
                date_of(m->recorded_at, date), risk_name(m->startback_risk), m->score,
                (int)m->startback_psychosocial, x, PLOT_T - 6, x, PLOT_B, COLOR_SBT, x, PLOT_T - 10,
                COLOR_SBT, risk_name(m->startback_risk));
    }
}

static void write_legend(FILE *out, const struct series *series, size_t n, bool startback)
{
    fprintf(out, "  <g font-size=\"12\" fill=\"#333\">\n");
    for (size_t i = 0; i < n; i++) {
        double x = PLOT_L + (double)(i % 3) * 230, y = 58 + (double)(i / 3) * 20;
        fprintf(out,
                "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2.5\"",
                x, y - 4, x + 24, y - 4, series[i].color);
        if (*series[i].dash)
            fprintf(out, " stroke-dasharray=\"%s\"", series[i].dash);
        fprintf(out, "/>\n    <text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 30, y, series[i].label);
    }
    double y = 58 + 2 * 20;
    if (startback)
        fprintf(out,
                "    <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-dasharray=\"2 3\"/>\n    <text x=\"%.1f\" y=\"%.1f\">STarT Back "
                "screening (risk group)</text>\n",
                PLOT_L + 12, y - 12, PLOT_L + 12, y + 2, COLOR_SBT, PLOT_L + 30, y);
    fprintf(out,
            "    <circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" stroke=\"#333\"/>\n"
            "    <text x=\"%.1f\" y=\"%.1f\">clinically important change from the first</text>\n"
            "  </g>\n",
            PLOT_L + 468, y - 4, PLOT_L + 482, y);
}

/* The series drawn, in legend order: pain before and after, PSFS (left axis); ODI and RMDQ
 * (right axis). Measure series are drawn only when the client has one. The points live in
 * `points` (at least 3 * sessions + measures of them); returns the number of series. */
static size_t build_series(const Clinic__V1__ClientProgressResponse *r, struct series *series,
                           struct point *points)
{
    size_t n = 0, used = 0;
    char date[11];
    struct series pre = {"pain before", COLOR_PRE, "", PAIN_MAX, points + used, 0};
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[i];
        struct point *p = &pre.points[pre.n++];
        *p = (struct point){s->days, s->pain_before, s->pain_mcid && s->pain_before >= 0, ""};
        snprintf(p->title, sizeof p->title, "pain before session %d (%s): %d of 10",
                 (int)s->session, date_of(s->session_start, date), (int)s->pain_before);
    }
    used += pre.n;
    series[n++] = pre;
    struct series post = {"pain after", COLOR_POST, "", PAIN_MAX, points + used, 0};
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[i];
        struct point *p = &post.points[post.n++];
        *p = (struct point){s->days, s->pain_after, false, ""};
        snprintf(p->title, sizeof p->title, "pain after session %d (%s): %d of 10", (int)s->session,
                 date_of(s->session_start, date), (int)s->pain_after);
    }
    used += post.n;
    series[n++] = post;
    struct series odi = {"ODI (%, right axis)", COLOR_ODI, "7 4", PERCENT_MAX, points + used, 0};
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[i];
        struct point *p = &odi.points[odi.n++];
        *p = (struct point){s->days, s->has_odi_score ? s->odi_score : -1,
                            s->odi_mcid && s->has_odi_score, ""};
        snprintf(p->title, sizeof p->title, "ODI at session %d (%s): %.0f %%", (int)s->session,
                 date_of(s->session_start, date), s->odi_score);
    }
    used += odi.n;
    series[n++] = odi;
    struct series psfs = {
        "PSFS mean (0-10, higher is better)", COLOR_PSFS, "2 3", PAIN_MAX, points + used, 0};
    struct series rmdq = {
        "RMDQ (% of 24, right axis)", COLOR_RMDQ, "10 3 2 3", PERCENT_MAX, NULL, 0};
    for (size_t i = 0; i < r->n_measures; i++) {
        const Clinic__V1__Measure *m = r->measures[i];
        if (m->kind != CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS)
            continue;
        struct point *p = &psfs.points[psfs.n++];
        *p = (struct point){m->days, m->score, m->mcid, ""};
        snprintf(p->title, sizeof p->title, "PSFS %d (%s): mean %.2f of 10", (int)m->number,
                 date_of(m->recorded_at, date), m->score);
    }
    used += psfs.n;
    rmdq.points = points + used;
    for (size_t i = 0; i < r->n_measures; i++) {
        const Clinic__V1__Measure *m = r->measures[i];
        if (m->kind != CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ)
            continue;
        struct point *p = &rmdq.points[rmdq.n++];
        *p = (struct point){m->days, m->score / RMDQ_MAX * PERCENT_MAX, m->mcid, ""};
        snprintf(p->title, sizeof p->title, "RMDQ %d (%s): %.0f of 24", (int)m->number,
                 date_of(m->recorded_at, date), m->score);
    }
    if (rmdq.n)
        series[n++] = rmdq;
    if (psfs.n)
        series[n++] = psfs;
    return n;
}

bool progress_svg_write(FILE *out, const Clinic__V1__ClientProgressResponse *r)
{
    char id[32];
    snprintf(id, sizeof id, "client %lld", (long long)r->client_id);
    const char *name = r->client_name && *r->client_name ? r->client_name : id;
    struct point *points = calloc(3 * r->n_sessions + r->n_measures + 1, sizeof *points);
    if (!points)
        return false;
    struct series series[5];
    size_t n = build_series(r, series, points);
    bool startback = false;
    for (size_t i = 0; i < r->n_measures; i++)
        startback =
            startback || r->measures[i]->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK;
    double span = span_of(r);
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n  <title>Course of care: ",
            SVG_W, SVG_H, SVG_W, SVG_H);
    progress_xml_escape(out, name);
    fprintf(out,
            "</title>\n  <rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "  <text x=\"%.1f\" y=\"32\" font-size=\"18\" font-weight=\"bold\" "
            "fill=\"#222\">Course of care: ",
            PLOT_L);
    progress_xml_escape(out, name);
    fprintf(out, " (%s, %zu session%s", id, r->n_sessions, r->n_sessions == 1 ? "" : "s");
    if (r->n_measures)
        fprintf(out, ", %zu questionnaire%s", r->n_measures, r->n_measures == 1 ? "" : "s");
    fprintf(out, ")</text>\n");
    write_legend(out, series, n, startback);
    write_axes(out, r, span);
    write_startback(out, r, span);
    /* the right-axis series first, so that the pain lines are drawn on top */
    for (size_t i = 0; i < n; i++)
        if (series[i].max == PERCENT_MAX)
            write_series(out, &series[i], span);
    for (size_t i = 0; i < n; i++)
        if (series[i].max != PERCENT_MAX)
            write_series(out, &series[i], span);
    write_sessions(out, r, span);
    fprintf(out, "</svg>\n");
    free(points);
    return !ferror(out);
}
