/* progress_chart.c: sparklines and the SVG chart of `clinic progress`. The SVG needs nothing but
 * a browser: no script, no external style or font, every text XML-escaped. */
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
#define SVG_W      760.0
#define SVG_H      440.0
#define PLOT_L     70.0
#define PLOT_R     690.0
#define PLOT_T     90.0
#define PLOT_B     340.0
#define PAIN_MAX   10.0
#define ODI_MAX    100.0
#define COLOR_PRE  "#c0392b"
#define COLOR_POST "#2471a3"
#define COLOR_ODI  "#1e8449"

static double x_of(size_t i, size_t n)
{
    return n <= 1 ? (PLOT_L + PLOT_R) / 2
                  : PLOT_L + (PLOT_R - PLOT_L) * (double)i / (double)(n - 1);
}

static double y_of(double v, double max)
{
    return PLOT_B - (PLOT_B - PLOT_T) * v / max;
}

/* What one line of the chart draws, per session: its value (below 0: missing). */
typedef double series_value_fn(const Clinic__V1__ProgressSession *s);

static double pain_before(const Clinic__V1__ProgressSession *s)
{
    return s->pain_before;
}

static double pain_after(const Clinic__V1__ProgressSession *s)
{
    return s->pain_after;
}

static double odi(const Clinic__V1__ProgressSession *s)
{
    return s->has_odi_score ? s->odi_score : -1;
}

/* One line: a path broken where a value is missing, a dot per value. */
static void write_series(FILE *out, const Clinic__V1__ClientProgressResponse *r,
                         series_value_fn *value, double max, const char *color, bool dashed)
{
    fprintf(out, "  <path fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"%s d=\"", color,
            dashed ? " stroke-dasharray=\"7 4\"" : "");
    bool pen_down = false;
    for (size_t i = 0; i < r->n_sessions; i++) {
        double v = value(r->sessions[i]);
        if (v < 0) {
            pen_down = false;
            continue;
        }
        fprintf(out, "%s%.1f %.1f ", pen_down ? "L" : "M", x_of(i, r->n_sessions), y_of(v, max));
        pen_down = true;
    }
    fprintf(out, "\"/>\n");
    for (size_t i = 0; i < r->n_sessions; i++) {
        double v = value(r->sessions[i]);
        if (v >= 0)
            fprintf(out, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n",
                    x_of(i, r->n_sessions), y_of(v, max), color);
    }
}

static void write_axes(FILE *out, size_t n_sessions)
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
            "(0-10)</text>\n"
            "    <text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\">ODI "
            "(%%)</text>\n",
            (PLOT_T + PLOT_B) / 2, SVG_W - 18, (PLOT_T + PLOT_B) / 2);
    if (n_sessions == 0)
        fprintf(out,
                "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"16\">no "
                "sessions recorded yet</text>\n",
                (PLOT_L + PLOT_R) / 2, (PLOT_T + PLOT_B) / 2);
    fprintf(out, "  </g>\n");
}

/* Session numbers and dates under the plot (dates slanted, so that many sessions fit). */
static void write_sessions(FILE *out, const Clinic__V1__ClientProgressResponse *r)
{
    fprintf(out, "  <g font-size=\"11\" fill=\"#333\">\n");
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[i];
        double x = x_of(i, r->n_sessions);
        fprintf(out, "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", x,
                PLOT_B + 16, (int)s->session);
        fprintf(out,
                "    <text transform=\"translate(%.1f %.1f) rotate(-35)\" "
                "text-anchor=\"end\">",
                x + 4, PLOT_B + 32);
        char date[11];
        snprintf(date, sizeof date, "%s", s->session_start);
        progress_xml_escape(out, date);
        fprintf(out, "</text>\n");
    }
    fprintf(out, "    <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">session</text>\n",
            (PLOT_L + PLOT_R) / 2, SVG_H - 8);
    fprintf(out, "  </g>\n");
}

/* Rings around the points whose change from the first session reaches the MCID. */
static void write_mcid(FILE *out, const Clinic__V1__ClientProgressResponse *r)
{
    for (size_t i = 0; i < r->n_sessions; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[i];
        double x = x_of(i, r->n_sessions);
        if (s->pain_mcid && s->pain_before >= 0)
            fprintf(out,
                    "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" stroke=\"%s\" "
                    "stroke-width=\"1.5\"><title>pain: clinically important change</title>"
                    "</circle>\n",
                    x, y_of(s->pain_before, PAIN_MAX), COLOR_PRE);
        if (s->odi_mcid && s->has_odi_score)
            fprintf(out,
                    "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"8\" fill=\"none\" stroke=\"%s\" "
                    "stroke-width=\"1.5\"><title>ODI: clinically important change</title>"
                    "</circle>\n",
                    x, y_of(s->odi_score, ODI_MAX), COLOR_ODI);
    }
}

static void write_legend(FILE *out)
{
    static const struct {
        const char *label, *color;
        bool dashed;
    } items[] = {
        {"pain before", COLOR_PRE, false},
        {"pain after", COLOR_POST, false},
        {"ODI (right axis)", COLOR_ODI, true},
    };
    fprintf(out, "  <g font-size=\"12\" fill=\"#333\">\n");
    double x = PLOT_L;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        fprintf(out,
                "    <line x1=\"%.1f\" y1=\"62\" x2=\"%.1f\" y2=\"62\" stroke=\"%s\" "
                "stroke-width=\"2.5\"%s/>\n    <text x=\"%.1f\" y=\"66\">%s</text>\n",
                x, x + 24, items[i].color, items[i].dashed ? " stroke-dasharray=\"7 4\"" : "",
                x + 30, items[i].label);
        x += 150;
    }
    fprintf(out,
            "    <circle cx=\"%.1f\" cy=\"62\" r=\"8\" fill=\"none\" stroke=\"#333\"/>\n"
            "    <text x=\"%.1f\" y=\"66\">clinically important change</text>\n  </g>\n",
            x + 8, x + 22);
}

bool progress_svg_write(FILE *out, const Clinic__V1__ClientProgressResponse *r)
{
    char id[32];
    snprintf(id, sizeof id, "client %lld", (long long)r->client_id);
    const char *name = r->client_name && *r->client_name ? r->client_name : id;
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
    fprintf(out, " (%s, %zu session%s)</text>\n", id, r->n_sessions, r->n_sessions == 1 ? "" : "s");
    write_legend(out);
    write_axes(out, r->n_sessions);
    write_series(out, r, odi, ODI_MAX, COLOR_ODI, true);
    write_series(out, r, pain_before, PAIN_MAX, COLOR_PRE, false);
    write_series(out, r, pain_after, PAIN_MAX, COLOR_POST, false);
    write_mcid(out, r);
    write_sessions(out, r);
    fprintf(out, "</svg>\n");
    return !ferror(out);
}
