/* cmd_progress.c: `clinic progress [CLIENT] [--svg FILE]`: a client's course of care, one row per
 * session with the change from the first session and the MCID marks the daemon computed, then
 * the questionnaires (RMDQ, PSFS, STarT Back) likewise, each dated and counted in days from the
 * course start, then sparklines of each series; --svg writes the same as a chart whose x axis is
 * in real days. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/notes.pb-c.h"
#include "measures.h"
#include "notes.h"
#include "options.h"
#include "progress_chart.h"
#include "status.h"
#include "table.h"
#include "times.h"

static void session_row(struct table *t, const Clinic__V1__ProgressSession *s, bool first)
{
    char n[16], date[40], day[16], pain[32], change[16], odi[16], odi_change[16], mcid[16];
    snprintf(n, sizeof n, "%d", (int)s->session);
    times_local(s->session_start, date, sizeof date);
    snprintf(day, sizeof day, "%.0f", s->days);
    char a[8], b[8];
    snprintf(pain, sizeof pain, "%s -> %s", notes_pain_text(s->pain_before, a, sizeof a),
             notes_pain_text(s->pain_after, b, sizeof b));
    if (first || s->pain_before < 0)
        snprintf(change, sizeof change, "-");
    else
        snprintf(change, sizeof change, "%+d", (int)s->pain_change);
    if (s->has_odi_score)
        snprintf(odi, sizeof odi, "%.0f %%", s->odi_score);
    else
        snprintf(odi, sizeof odi, "-");
    if (s->has_odi_change && !first)
        snprintf(odi_change, sizeof odi_change, "%+.0f", s->odi_change);
    else
        snprintf(odi_change, sizeof odi_change, "-");
    snprintf(mcid, sizeof mcid, "%s%s%s", s->pain_mcid ? "pain" : "",
             s->pain_mcid && s->odi_mcid ? ", " : "", s->odi_mcid ? "ODI" : "");
    const char *row[] = {n, date, day, pain, change, odi, odi_change, mcid};
    table_add_row(t, row);
}

/* A sparkline line: "pain before  ▇▆▅▄▃▂  7 -> 2". */
static void print_line(const char *label, const double *v, size_t n, double max, bool utf8,
                       const char *unit)
{
    char line[4 * 256 + 1];
    double first = -1, last = -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] >= 0 && first < 0)
            first = v[i];
        if (v[i] >= 0)
            last = v[i];
    }
    if (first < 0)
        return;
    printf("%-12s %s  %.4g%s -> %.4g%s\n", label,
           progress_sparkline(v, n, max, utf8, line, sizeof line), first, unit, last, unit);
}

/* The scores of the measures of one kind, oldest first (at most max), as sparkline values. */
static size_t measure_values(const Clinic__V1__ClientProgressResponse *r,
                             Clinic__V1__MeasureKind kind, double *v, size_t max)
{
    size_t n = 0, total = 0;
    for (size_t i = 0; i < r->n_measures; i++)
        total += r->measures[i]->kind == kind;
    size_t skip = total > max ? total - max : 0; /* the last `max` of them */
    for (size_t i = 0; i < r->n_measures; i++) {
        if (r->measures[i]->kind != kind)
            continue;
        if (skip) {
            skip--;
            continue;
        }
        v[n++] = r->measures[i]->score;
    }
    return n;
}

static void print_progress(const Clinic__V1__ClientProgressResponse *r)
{
    static const char *const headers[] = {"SESSION", "DATE", "DAY",        "PAIN",
                                          "CHANGE",  "ODI",  "ODI CHANGE", "MCID"};
    printf("Course of care of %s (client %lld): %zu session%s, %zu questionnaire%s\n",
           r->client_name, (long long)r->client_id, r->n_sessions, r->n_sessions == 1 ? "" : "s",
           r->n_measures, r->n_measures == 1 ? "" : "s");
    if (r->course_start && *r->course_start) {
        char start[40];
        printf("Day 0: %s. STarT Back risk group: %s.\n",
               times_local(r->course_start, start, sizeof start),
               measures_risk_name(r->startback_risk));
    }
    if (r->n_sessions == 0 && r->n_measures == 0) {
        printf("(no notes with pain or ODI, and no questionnaires yet)\n");
        return;
    }
    if (r->n_sessions > 0) {
        struct table *t = table_new(8, headers);
        for (size_t i = 0; i < r->n_sessions; i++)
            session_row(t, r->sessions[i], i == 0);
        table_print_free(t, stdout);
    }
    if (r->n_measures > 0) {
        printf("\nQuestionnaires:\n");
        struct table *t = table_new(MEASURES_COLUMNS, measures_headers);
        for (size_t i = 0; i < r->n_measures; i++)
            measures_add_row(t, r->measures[i]);
        table_print_free(t, stdout);
    }

    size_t n = r->n_sessions < 256 ? r->n_sessions : 256; /* the last 256 sessions */
    const size_t skip = r->n_sessions - n;
    double before[256], after[256], odi[256];
    for (size_t i = 0; i < n; i++) {
        const Clinic__V1__ProgressSession *s = r->sessions[skip + i];
        before[i] = s->pain_before;
        after[i] = s->pain_after;
        odi[i] = s->has_odi_score ? s->odi_score : -1;
    }
    bool utf8 = progress_utf8();
    printf("\n");
    print_line("pain before", before, n, 10, utf8, "");
    print_line("pain after", after, n, 10, utf8, "");
    print_line("ODI", odi, n, 100, utf8, " %");
    double v[256];
    size_t k = measure_values(r, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ, v, 256);
    print_line("RMDQ", v, k, 24, utf8, "/24");
    k = measure_values(r, CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS, v, 256);
    print_line("PSFS", v, k, 10, utf8, "/10");
    printf("\nCHANGE is from the first session (pain before it; negative is better) or the first\n"
           "questionnaire of its kind.\n");
    measures_print_rules(stdout);
}

/* Writes the SVG to path ("-": stdout); 0 or the exit status after saying why. */
static int write_svg(const char *path, const Clinic__V1__ClientProgressResponse *r)
{
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clinic progress: cannot write %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    bool ok = progress_svg_write(f, r);
    if (!to_stdout)
        ok = fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "clinic progress: writing %s failed: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_progress(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__ClientProgressRequest req = CLINIC__V1__CLIENT_PROGRESS_REQUEST__INIT;
    char *svg = NULL;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id,
            "whose course of care (default: yours, when you are a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPT("svg", OPTION_STRING, &svg,
            "also write a line chart to FILE (- : the chart alone, on stdout)", .arg = "FILE"),
        OPTIONS_END,
    };
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    if (svg && !*svg)
        return cli_usage_error(cli, "--svg needs a file name");
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Progress/ClientProgress", &req.base,
                    &clinic__v1__client_progress_response__descriptor, &resp);
    if (code != 0)
        return code;
    const Clinic__V1__ClientProgressResponse *r = (const Clinic__V1__ClientProgressResponse *)resp;
    if (svg)
        code = write_svg(svg, r);
    if (code == 0 && !(svg && strcmp(svg, "-") == 0)) {
        if (cli->json)
            cli_print_json(resp);
        else
            print_progress(r);
        if (svg && !cli->json)
            printf("\nChart written to %s\n", svg);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}
