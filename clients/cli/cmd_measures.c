/* cmd_measures.c: `clinic measure record|list`: the back-pain questionnaires a client answers
 * (RMDQ, PSFS, STarT Back). The answers are typed as one list each, checked here so that a typo
 * is a usage error saying what the questionnaire takes; the daemon checks them again and scores
 * them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_admin.h"
#include "measures.h"
#include "times.h"

/* ------------------------------------------------------------------ reading the command line */

/* The next comma-separated item of *p, trimmed of spaces, into out; false at the end. */
static bool next_item(const char **p, char *out, size_t len)
{
    if (!*p)
        return false;
    const char *s = *p;
    while (*s == ' ')
        s++;
    size_t n = strcspn(s, ",");
    const char *next = s[n] == ',' ? s + n + 1 : NULL;
    while (n && s[n - 1] == ' ')
        n--;
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), s);
    *p = next;
    return true;
}

/* One word of a yes/no item: 1/0 or either of the two words given (any case). -1 otherwise. */
static int binary_answer(const char *w, const char *yes, const char *no, const char *y,
                         const char *n)
{
    if (strcmp(w, "1") == 0 || strcasecmp(w, yes) == 0 || strcasecmp(w, y) == 0)
        return 1;
    if (strcmp(w, "0") == 0 || strcasecmp(w, no) == 0 || strcasecmp(w, n) == 0)
        return 0;
    return -1;
}

bool measures_parse_rmdq(const char *text, int32_t out[MEASURES_RMDQ_ITEMS], char *err,
                         size_t err_len)
{
    const char *p = text;
    char w[32];
    size_t n = 0;
    while (next_item(&p, w, sizeof w)) {
        if (n == MEASURES_RMDQ_ITEMS) {
            snprintf(err, err_len, "--rmdq takes exactly %d answers, not more",
                     MEASURES_RMDQ_ITEMS);
            return false;
        }
        int a = binary_answer(w, "yes", "no", "y", "n");
        if (a < 0) {
            snprintf(err, err_len,
                     "--rmdq answer %zu must be 1 (yes, the statement applies today) or 0 (no), "
                     "not \"%s\"",
                     n + 1, w);
            return false;
        }
        out[n++] = a;
    }
    if (n != MEASURES_RMDQ_ITEMS) {
        snprintf(err, err_len,
                 "--rmdq takes exactly %d answers, one per statement in order, each 1 (yes) or "
                 "0 (no); %zu given",
                 MEASURES_RMDQ_ITEMS, n);
        return false;
    }
    return true;
}

/* Item 9 of STarT Back, as words or 0-4. */
static const char *const bothersome_words[] = {"not-at-all", "slightly", "moderately", "very-much",
                                               "extremely"};

static int bothersome_level(const char *w)
{
    if (strlen(w) == 1 && w[0] >= '0' && w[0] <= '4')
        return w[0] - '0';
    char norm[32];
    size_t i = 0;
    for (; w[i] && i + 1 < sizeof norm; i++)
        norm[i] = w[i] == ' ' || w[i] == '_' ? '-' : (char)tolower((unsigned char)w[i]);
    norm[i] = '\0';
    for (int k = 0; k < 5; k++)
        if (strcmp(norm, bothersome_words[k]) == 0)
            return k;
    return -1;
}

bool measures_parse_startback(const char *text, int32_t out[MEASURES_STARTBACK_ITEMS], char *err,
                              size_t err_len)
{
    const char *p = text;
    char w[32];
    size_t n = 0;
    while (next_item(&p, w, sizeof w)) {
        if (n == MEASURES_STARTBACK_ITEMS) {
            snprintf(err, err_len, "--startback takes exactly %d answers, not more",
                     MEASURES_STARTBACK_ITEMS);
            return false;
        }
        int a = n < 8 ? binary_answer(w, "agree", "disagree", "a", "d") : bothersome_level(w);
        if (a < 0 && n < 8) {
            snprintf(err, err_len,
                     "--startback item %zu must be 1 (agree) or 0 (disagree), not \"%s\"", n + 1,
                     w);
            return false;
        }
        if (a < 0) {
            snprintf(err, err_len,
                     "--startback item 9 (how bothersome) must be not-at-all, slightly, "
                     "moderately, very-much or extremely, not \"%s\"",
                     w);
            return false;
        }
        out[n++] = a;
    }
    if (n != MEASURES_STARTBACK_ITEMS) {
        snprintf(err, err_len,
                 "--startback takes exactly %d answers: items 1-8 as 1 (agree) or 0 (disagree), "
                 "item 9 as not-at-all ... extremely; %zu given",
                 MEASURES_STARTBACK_ITEMS, n);
        return false;
    }
    return true;
}

bool measures_parse_psfs(const char *text, char *buf, char *names[MEASURES_PSFS_MAX],
                         int32_t ratings[MEASURES_PSFS_MAX], size_t *n, char *err, size_t err_len)
{
    *n = 0;
    memcpy(buf, text, strlen(text) + 1); /* buf holds strlen(text) + 1 bytes by contract */
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (*n == MEASURES_PSFS_MAX) {
            snprintf(err, err_len,
                     "--psfs takes at most %d activities; keep the ones that matter most",
                     MEASURES_PSFS_MAX);
            return false;
        }
        char *colon = strrchr(item, ':');
        char *end = NULL;
        long rating = colon ? strtol(colon + 1, &end, 10) : -1;
        while (end && *end == ' ')
            end++;
        if (!colon || end == colon + 1 || (end && *end) || rating < 0 || rating > 10) {
            snprintf(err, err_len,
                     "--psfs activity %zu must be NAME:RATING with a rating from 0 (unable to do "
                     "it) to 10 (as before), e.g. \"bending:3\"",
                     *n + 1);
            return false;
        }
        *colon = '\0';
        while (*item == ' ')
            item++;
        size_t len = strlen(item);
        while (len && item[len - 1] == ' ')
            item[--len] = '\0';
        if (len == 0) {
            snprintf(err, err_len, "--psfs activity %zu has no name before its rating", *n + 1);
            return false;
        }
        size_t chars = 0;
        for (const unsigned char *c = (const unsigned char *)item; *c; c++)
            chars += (*c & 0xC0) != 0x80;
        if (chars > MEASURES_PSFS_NAME_MAX) {
            snprintf(err, err_len, "--psfs activity %zu's name is longer than %d characters",
                     *n + 1, MEASURES_PSFS_NAME_MAX);
            return false;
        }
        names[*n] = item;
        ratings[(*n)++] = (int32_t)rating;
    }
    if (*n == 0) {
        snprintf(err, err_len,
                 "--psfs needs at least one activity, e.g. \"bending:3,walking:5\" (up to %d)",
                 MEASURES_PSFS_MAX);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ showing */

const char *measures_kind_name(Clinic__V1__MeasureKind kind)
{
    switch (kind) {
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ:
        return "RMDQ";
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS:
        return "PSFS";
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK:
        return "STarT Back";
    default:
        return "?";
    }
}

const char *measures_risk_name(Clinic__V1__StartBackRisk risk)
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

const char *measures_score_text(const Clinic__V1__Measure *m, char *out, size_t len)
{
    switch (m->kind) {
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ:
        snprintf(out, len, "%.0f of 24", m->score);
        break;
    case CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS:
        snprintf(out, len, "%.2f of 10", m->score);
        break;
    default:
        snprintf(out, len, "%.0f of 9", m->score);
    }
    return out;
}

const char *const measures_headers[MEASURES_COLUMNS] = {"#",     "KIND",   "ANSWERED", "DAY",
                                                        "SCORE", "CHANGE", "MCID",     "DETAILS"};

void measures_add_row(struct table *t, const Clinic__V1__Measure *m)
{
    char number[16], when[40], day[16], score[24], change[24], details[400];
    snprintf(number, sizeof number, "%d", (int)m->number);
    times_local(m->recorded_at, when, sizeof when);
    snprintf(day, sizeof day, "%.0f", m->days);
    measures_score_text(m, score, sizeof score);
    if (!m->has_change || m->number == 1)
        snprintf(change, sizeof change, "-");
    else if (m->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS)
        snprintf(change, sizeof change, "%+.2f", m->change);
    else
        snprintf(change, sizeof change, "%+.0f", m->change);
    details[0] = '\0';
    if (m->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK) {
        snprintf(details, sizeof details, "%s risk (psychosocial %d of 5)",
                 measures_risk_name(m->startback_risk), (int)m->startback_psychosocial);
    } else if (m->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS) {
        size_t used = 0;
        for (size_t i = 0; i < m->n_activities && i < m->n_answers && used < sizeof details; i++)
            used += (size_t)snprintf(details + used, sizeof details - used, "%s%s %d",
                                     i ? ", " : "", m->activities[i], (int)m->answers[i]);
    }
    const char *row[MEASURES_COLUMNS] = {number, measures_kind_name(m->kind), when,   day, score,
                                         change, m->mcid ? "yes" : "",        details};
    table_add_row(t, row);
}

void measures_print_rules(FILE *out)
{
    fprintf(out,
            "MCID: the change from the first of its kind is clinically important: RMDQ a drop "
            "of 5 points\nor 30 %%, ODI a drop of 10 points or 30 %% (Ostelo et al. 2008); PSFS a "
            "rise of 2 points\nin the mean (higher is better; Stratford et al. 1995). STarT Back: "
            "total 0-3 low, 4-9\nmedium, high when the psychosocial subscale (items 5-9) is 4 or "
            "5 (Hill et al. 2008).\nDAY: days since the course began.\n");
}

/* ------------------------------------------------------------------ commands */

static void print_measure(const ProtobufCMessage *msg, const char *done)
{
    const Clinic__V1__Measure *m = (const Clinic__V1__Measure *)msg;
    char score[24], when[40];
    printf("%s %s %d of client %lld (measure %lld), answered %s: %s", done ? done : "",
           measures_kind_name(m->kind), (int)m->number, (long long)m->client_id, (long long)m->id,
           times_local(m->recorded_at, when, sizeof when),
           measures_score_text(m, score, sizeof score));
    if (m->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK)
        printf(", %s risk (psychosocial %d of 5)\n", measures_risk_name(m->startback_risk),
               (int)m->startback_psychosocial);
    else if (m->number > 1)
        printf(", %+.*f from the first%s\n",
               m->kind == CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS ? 2 : 0, m->change,
               m->mcid ? ": a clinically important change" : "");
    else
        printf(" (the first: later ones are compared with it)\n");
}

static int measure_record(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__RecordMeasureRequest req = CLINIC__V1__RECORD_MEASURE_REQUEST__INIT;
    char *rmdq = NULL, *psfs = NULL, *startback = NULL;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id,
            "whose questionnaire (default: yours, when you are a client)", .field = "client_id"),
        OPT("rmdq", OPTION_STRING, &rmdq,
            "Roland-Morris: the 24 statements in order, 1 (yes) or 0 (no) each", .arg = "LIST",
            .field = "answers"),
        OPT("psfs", OPTION_STRING, &psfs,
            "Patient-Specific Functional Scale: 1-5 activities NAME:RATING, 0 (unable) to 10 "
            "(as before)",
            .arg = "LIST", .field = "answers"),
        OPT("startback", OPTION_STRING, &startback,
            "STarT Back: items 1-8 as 1 (agree) or 0 (disagree), item 9 as not-at-all, "
            "slightly, moderately, very-much or extremely",
            .arg = "LIST", .field = "answers"),
        OPT("at", OPTION_INSTANT, &req.recorded_at,
            "when it was answered, if not now (local time of the client's location)",
            .field = "recorded_at"),
        OPT("appointment", OPTION_ID, &req.appointment_id, "the session it was answered at",
            .field = "appointment_id"),
        OPT("note", OPTION_ID, &req.note_id, "the note it belongs to", .field = "note_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if ((rmdq != NULL) + (psfs != NULL) + (startback != NULL) != 1) {
        options_free(opts);
        return cli_usage_error(cli, "give exactly one of --rmdq, --psfs or --startback");
    }
    int32_t answers[MEASURES_RMDQ_ITEMS];
    char *names[MEASURES_PSFS_MAX], err[256];
    char *buf = psfs ? malloc(strlen(psfs) + 1) : NULL;
    bool ok;
    if (rmdq) {
        req.kind = CLINIC__V1__MEASURE_KIND__MEASURE_KIND_RMDQ;
        req.n_answers = MEASURES_RMDQ_ITEMS;
        ok = measures_parse_rmdq(rmdq, answers, err, sizeof err);
    } else if (startback) {
        req.kind = CLINIC__V1__MEASURE_KIND__MEASURE_KIND_STARTBACK;
        req.n_answers = MEASURES_STARTBACK_ITEMS;
        ok = measures_parse_startback(startback, answers, err, sizeof err);
    } else {
        req.kind = CLINIC__V1__MEASURE_KIND__MEASURE_KIND_PSFS;
        ok = buf && measures_parse_psfs(psfs, buf, names, answers, &req.n_answers, err, sizeof err);
        if (!buf)
            snprintf(err, sizeof err, "out of memory");
        req.activities = names;
        req.n_activities = req.n_answers;
    }
    if (!ok) {
        free(buf);
        options_free(opts);
        return cli_usage_error(cli, "%s", err);
    }
    req.answers = answers;
    code = admin_call(cli, opts, "/clinic.v1.Measures/RecordMeasure", &req.base,
                      &clinic__v1__measure__descriptor, print_measure, "Recorded");
    free(buf);
    return code;
}

static int measure_list(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__ListMeasuresRequest req = CLINIC__V1__LIST_MEASURES_REQUEST__INIT;
    struct option opts[] = {
        OPT("client", OPTION_ID, &req.client_id,
            "whose questionnaires (default: yours, when you are a client)", .field = "client_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Measures/ListMeasures", &req.base,
                    &clinic__v1__list_measures_response__descriptor, &resp);
    options_free(opts);
    if (code != 0)
        return code;
    const Clinic__V1__ListMeasuresResponse *r = (const Clinic__V1__ListMeasuresResponse *)resp;
    if (cli->json) {
        cli_print_json(resp);
    } else {
        printf("Questionnaires of client %lld: %zu; STarT Back risk group: %s\n",
               (long long)r->client_id, r->n_measures, measures_risk_name(r->startback_risk));
        if (r->n_measures) {
            struct table *t = table_new(MEASURES_COLUMNS, measures_headers);
            for (size_t i = 0; i < r->n_measures; i++)
                measures_add_row(t, r->measures[i]);
            table_print_free(t, stdout);
            printf("\n");
            measures_print_rules(stdout);
        }
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

#define MEASURE_WORDS                                                                              \
    "RMDQ: 24 statements (\"I stay at home most of the time because of my back\", ...), 1 yes, 0 " \
    "no;\n  score = yeses (0-24), lower is better.\n"                                              \
    "PSFS: up to 5 activities the client finds hard, each 0 (unable) to 10 (as before);\n"         \
    "  score = mean, HIGHER is better. Names cannot hold a comma.\n"                               \
    "STarT Back: 9 items; total 0-9, psychosocial subscale items 5-9; risk group low/medium/high."

const struct command measure_commands[] = {
    {.name = "record",
     .run = measure_record,
     .summary = "record a questionnaire the client answered: RMDQ, PSFS or STarT Back",
     .details = "Examples:\n"
                "  clinic measure record --client 7 --rmdq 1,1,0,1,0,0,1,0,0,0,1,0,0,0,1,0,0,0,"
                "0,1,0,0,0,1\n"
                "  clinic measure record --client 7 --psfs \"bending:3,walking:5,sitting:6\"\n"
                "  clinic measure record --client 7 --startback 1,0,1,1,0,0,1,0,very-much\n"
                "  clinic measure record --client 7 --psfs \"bending:4\" --at \"2026-03-02 "
                "09:00\"\n" MEASURE_WORDS},
    {.name = "list",
     .run = measure_list,
     .summary = "a client's questionnaires, oldest first, with score, change and MCID",
     .details = "The change is from the first questionnaire of the same kind; MCID marks a "
                "clinically\nimportant one. Example: clinic measure list --client 7"},
    COMMANDS_END,
};
