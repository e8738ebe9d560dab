/* cmd_notes.c: `clinic note draft|edit|sign|amend|show|list`: the therapist's treatment notes.
 * Draft and edit share one option table; edit sends only the fields whose options are given
 * (update_mask), so `clinic note edit 12 --pain-after 3` changes the pain after the session
 * only. Areas and techniques are typed as words ("lower_back,glutes"), checked here against the
 * enums of notes.proto so that a typo is a usage error naming the words allowed. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_admin.h"
#include "notes.h"
#include "times.h"

#define AREA_PREFIX      "BODY_REGION_"
#define TECHNIQUE_PREFIX "TECHNIQUE_"

/* The Oswestry Disability Index's ten sections (version 2.1a), in order. */
static const char *const odi_sections[NOTES_ODI_SECTIONS] = {
    "pain intensity", "personal care", "lifting",  "walking",     "sitting",
    "standing",       "sleeping",      "sex life", "social life", "travelling",
};

/* ------------------------------------------------------------------ reading the command line */

bool notes_parse_odi(const char *text, int32_t out[NOTES_ODI_SECTIONS], size_t *n, char *err,
                     size_t err_len)
{
    *n = 0;
    if (!*text || strcasecmp(text, "none") == 0)
        return true;
    const char *p = text;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ",");
        while (len && p[len - 1] == ' ')
            len--;
        if (*n == NOTES_ODI_SECTIONS) {
            snprintf(err, err_len, "--odi takes exactly %d answers, not more", NOTES_ODI_SECTIONS);
            return false;
        }
        if (len == 1 && *p == '-')
            out[*n] = -1;
        else if (len == 1 && *p >= '0' && *p <= '5')
            out[*n] = *p - '0';
        else {
            snprintf(err, err_len,
                     "--odi answer %zu (%s) must be 0 to 5, or - when unanswered, not \"%.*s\"",
                     *n + 1, odi_sections[*n], (int)(len < 20 ? len : 20), p);
            return false;
        }
        (*n)++;
        p += strcspn(p, ",");
        if (!*p)
            break;
        p++;
    }
    if (*n != NOTES_ODI_SECTIONS) {
        snprintf(err, err_len,
                 "--odi takes exactly %d answers (0-5, - when unanswered), one per section, "
                 "e.g. 3,2,-,1,0,4,2,-,1,3; %zu given",
                 NOTES_ODI_SECTIONS, *n);
        *n = 0;
        return false;
    }
    return true;
}

int notes_enum_value(const ProtobufCEnumDescriptor *d, const char *prefix, const char *word)
{
    char name[96];
    size_t used = (size_t)snprintf(name, sizeof name, "%s", prefix);
    for (const char *w = word; *w && used + 1 < sizeof name; w++)
        name[used++] = *w == '-' || *w == ' ' ? '_' : (char)toupper((unsigned char)*w);
    name[used] = '\0';
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, name);
    return v && v->value > 0 ? v->value : -1;
}

const char *notes_enum_words(const ProtobufCEnumDescriptor *d, const char *prefix, char *out,
                             size_t len)
{
    size_t used = 0, skip = strlen(prefix);
    out[0] = '\0';
    for (unsigned i = 0; i < d->n_values && used < len; i++) {
        if (d->values[i].value <= 0)
            continue;
        used += (size_t)snprintf(out + used, len - used, "%s", used ? ", " : "");
        for (const char *c = d->values[i].name + skip; *c && used + 1 < len; c++)
            out[used++] = (char)tolower((unsigned char)*c);
        out[used < len ? used : len - 1] = '\0';
    }
    return out;
}

const char *notes_enum_text(const ProtobufCEnumDescriptor *d, const char *prefix, int value,
                            char *out, size_t len)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    size_t skip = strlen(prefix);
    if (!v || strncmp(v->name, prefix, skip) != 0) {
        snprintf(out, len, "?");
        return out;
    }
    size_t i = 0;
    for (const char *c = v->name + skip; *c && i + 1 < len; c++)
        out[i++] = *c == '_' ? ' ' : (char)tolower((unsigned char)*c);
    out[i] = '\0';
    return out;
}

/* What draft and edit read: the options' destinations, then the NoteContent built from them. */
struct note_args {
    int64_t id;
    int32_t pain_before, pain_after;
    char **areas, **techniques;
    size_t n_areas, n_techniques;
    int pressure;
    char *subjective, *objective, *assessment, *plan, *odi;
    Clinic__V1__BodyRegion area_values[NOTES_MAX_WORDS];
    Clinic__V1__Technique technique_values[NOTES_MAX_WORDS];
    int32_t odi_values[NOTES_ODI_SECTIONS];
};

#define PRESSURES "none|light|moderate|firm|deep" /* index = clinic.v1.Pressure */

#define NOTE_FIELDS(a)                                                                             \
    OPT("pain-before", OPTION_INT, &(a)->pain_before,                                              \
        "pain before the session, 0-10 (- : not recorded)", .field = "pain_before", .min = 0,      \
        .max = 10, .flags = OPTION_DASH_NONE, .arg = "0-10"),                                      \
        OPT("pain-after", OPTION_INT, &(a)->pain_after,                                            \
            "pain after the session, 0-10 (- : not recorded)", .field = "pain_after", .min = 0,    \
            .max = 10, .flags = OPTION_DASH_NONE, .arg = "0-10"),                                  \
        OPT("areas", OPTION_LIST, &(a)->areas,                                                     \
            "areas treated, e.g. lower_back,glutes (every name below)", .field = "areas",          \
            .count = &(a)->n_areas, .arg = "AREA,AREA"),                                           \
        OPT("techniques", OPTION_LIST, &(a)->techniques,                                           \
            "techniques, e.g. deep_tissue,trigger_point (every name below)",                       \
            .field = "techniques", .count = &(a)->n_techniques, .arg = "T,T"),                     \
        OPT("pressure", OPTION_CHOICE, &(a)->pressure, "the pressure used", .field = "pressure",   \
            .choices = PRESSURES),                                                                 \
        OPT("subjective", OPTION_STRING, &(a)->subjective, "S: what the client reports",           \
            .field = "subjective"),                                                                \
        OPT("objective", OPTION_STRING, &(a)->objective, "O: what the therapist found",            \
            .field = "objective"),                                                                 \
        OPT("assessment", OPTION_STRING, &(a)->assessment, "A: the therapist's assessment",        \
            .field = "assessment"),                                                                \
        OPT("plan", OPTION_STRING, &(a)->plan, "P: the plan for the next sessions",                \
            .field = "plan"),                                                                      \
        OPT("odi", OPTION_STRING, &(a)->odi,                                                       \
            "Oswestry answers: 10 values 0-5, - when unanswered (\"none\" clears)",                \
            .field = "odi", .arg = "A,A,...")

int notes_words_to_enums(const struct cli *cli, const char *option,
                         const ProtobufCEnumDescriptor *d, const char *prefix, char *const *words,
                         size_t n, int *out)
{
    char choices[600];
    if (n > NOTES_MAX_WORDS)
        return cli_usage_error(cli, "--%s takes at most %d items", option, NOTES_MAX_WORDS);
    for (size_t i = 0; i < n; i++)
        if ((out[i] = notes_enum_value(d, prefix, words[i])) < 0)
            return cli_usage_error(cli, "--%s: unknown \"%s\"; choose from %s", option, words[i],
                                   notes_enum_words(d, prefix, choices, sizeof choices));
    return 0;
}

/* Fills c from what was parsed into a (pointing into a); 0 or a usage error's exit status. */
static int note_content(const struct cli *cli, struct note_args *a, Clinic__V1__NoteContent *c)
{
    int values[NOTES_MAX_WORDS];
    char err[256];
    int code;
    c->pain_before = a->pain_before;
    c->pain_after = a->pain_after;
    if ((code = notes_words_to_enums(cli, "areas", &clinic__v1__body_region__descriptor,
                                     AREA_PREFIX, a->areas, a->n_areas, values)) != 0)
        return code;
    for (size_t i = 0; i < a->n_areas; i++)
        a->area_values[i] = (Clinic__V1__BodyRegion)values[i];
    if ((code = notes_words_to_enums(cli, "techniques", &clinic__v1__technique__descriptor,
                                     TECHNIQUE_PREFIX, a->techniques, a->n_techniques, values)) !=
        0)
        return code;
    for (size_t i = 0; i < a->n_techniques; i++)
        a->technique_values[i] = (Clinic__V1__Technique)values[i];
    c->areas = a->area_values;
    c->n_areas = a->n_areas;
    c->techniques = a->technique_values;
    c->n_techniques = a->n_techniques;
    c->pressure = (Clinic__V1__Pressure)a->pressure;
    if (a->subjective)
        c->subjective = a->subjective;
    if (a->objective)
        c->objective = a->objective;
    if (a->assessment)
        c->assessment = a->assessment;
    if (a->plan)
        c->plan = a->plan;
    if (a->odi && !notes_parse_odi(a->odi, a->odi_values, &c->n_odi, err, sizeof err))
        return cli_usage_error(cli, "%s", err);
    c->odi = a->odi_values;
    return 0;
}

/* ------------------------------------------------------------------ showing a note */

/* Writes each line of text indented by `indent` spaces. Control characters other than tabs
 * show as '?': a note is someone else's text, and must not drive the reader's terminal. */
static void write_indented(FILE *out, int indent, const char *text)
{
    while (*text) {
        fprintf(out, "%*s", indent, "");
        for (; *text && *text != '\n'; text++)
            fputc((unsigned char)*text < 0x20 && *text != '\t' ? '?' : *text, out);
        fputc('\n', out);
        text += *text == '\n';
    }
}

/* Writes text under a heading, indented; nothing when text is empty. */
static void write_section(FILE *out, const char *heading, const char *text)
{
    if (!*text)
        return;
    fprintf(out, "\n%s\n", heading);
    write_indented(out, 2, text);
}

const char *notes_pain_text(int32_t pain, char *out, size_t len)
{
    if (pain < 0)
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%d", (int)pain);
    return out;
}

const char *notes_enum_list(const ProtobufCEnumDescriptor *d, const char *prefix, const int *values,
                            size_t n, char *out, size_t len)
{
    size_t used = 0;
    char word[64];
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "",
                                 notes_enum_text(d, prefix, values[i], word, sizeof word));
    if (n == 0)
        snprintf(out, len, "-");
    return out;
}

void notes_write(FILE *out, const Clinic__V1__Note *n, const char *done)
{
    char a[40], b[40], when[48], list[600], word[32];
    bool signed_ = n->status == CLINIC__V1__NOTE_STATUS__NOTE_STATUS_SIGNED;
    fprintf(out, "%s%s %lld, %s", done ? done : "Note", done ? " note" : "", (long long)n->id,
            signed_ ? "signed" : "draft");
    if (signed_ && n->signed_at[0])
        fprintf(out, " %s", times_readable(n->signed_at, when, sizeof when));
    fprintf(out, " by %s (therapist %lld)\n", n->author_name[0] ? n->author_name : "?",
            (long long)n->author_therapist_id);
    fprintf(out, "  %-12s %s, appointment %lld, client %lld\n", "session",
            n->session_start[0] ? times_local(n->session_start, when, sizeof when) : "-",
            (long long)n->appointment_id, (long long)n->client_id);
    fprintf(out, "  %-12s %s -> %s (before -> after, 0-10)\n", "pain",
            notes_pain_text(n->pain_before, a, sizeof a),
            notes_pain_text(n->pain_after, b, sizeof b));
    fprintf(out, "  %-12s %s\n", "areas",
            notes_enum_list(&clinic__v1__body_region__descriptor, AREA_PREFIX,
                            (const int *)n->areas, n->n_areas, list, sizeof list));
    fprintf(out, "  %-12s %s\n", "techniques",
            notes_enum_list(&clinic__v1__technique__descriptor, TECHNIQUE_PREFIX,
                            (const int *)n->techniques, n->n_techniques, list, sizeof list));
    fprintf(out, "  %-12s %s\n", "pressure",
            n->pressure ? notes_enum_text(&clinic__v1__pressure__descriptor, "PRESSURE_",
                                          (int)n->pressure, word, sizeof word)
                        : "-");
    write_section(out, "Subjective", n->subjective);
    write_section(out, "Objective", n->objective);
    write_section(out, "Assessment", n->assessment);
    write_section(out, "Plan", n->plan);
    if (n->n_odi) {
        size_t answered = 0;
        for (size_t i = 0; i < n->n_odi; i++)
            answered += n->odi[i] >= 0;
        fprintf(out, "\nOswestry Disability Index: ");
        if (n->has_odi_score)
            fprintf(out, "%.0f %%", n->odi_score);
        else
            fprintf(out, "no score");
        fprintf(out, " (%zu of %zu sections answered)\n", answered, n->n_odi);
        for (size_t i = 0; i < n->n_odi; i++) {
            fprintf(out, "  %2zu %-15s ", i + 1, i < NOTES_ODI_SECTIONS ? odi_sections[i] : "");
            if (n->odi[i] < 0)
                fprintf(out, "-\n");
            else
                fprintf(out, "%d/5\n", (int)n->odi[i]);
        }
    }
    if (n->care_decision) {
        fprintf(out, "\nDecision on the health history (version %d): %s\n",
                (int)n->care_decision_intake,
                notes_enum_text(&clinic__v1__care_decision__descriptor, "CARE_DECISION_",
                                (int)n->care_decision, word, sizeof word));
        write_indented(out, 2, n->care_decision_reason);
    }
    if (n->n_amendments)
        fprintf(out, "\nAmendments\n");
    for (size_t i = 0; i < n->n_amendments; i++) {
        const Clinic__V1__Amendment *m = n->amendments[i];
        fprintf(out, "  %s by %s: %s\n", times_readable(m->created_at, when, sizeof when),
                m->author_name[0] ? m->author_name : "?", m->reason);
        write_indented(out, 4, m->text);
    }
}

static void print_note(const ProtobufCMessage *m, const char *done)
{
    notes_write(stdout, (const Clinic__V1__Note *)m, done);
}

static void note_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Note *n = (const Clinic__V1__Note *)m;
    char id[24], appt[24], when[40], pain[40], a[16], b[16], odi[16];
    snprintf(id, sizeof id, "%lld", (long long)n->id);
    snprintf(appt, sizeof appt, "%lld", (long long)n->appointment_id);
    snprintf(pain, sizeof pain, "%s -> %s", notes_pain_text(n->pain_before, a, sizeof a),
             notes_pain_text(n->pain_after, b, sizeof b));
    if (n->has_odi_score)
        snprintf(odi, sizeof odi, "%.0f %%", n->odi_score);
    else
        snprintf(odi, sizeof odi, "-");
    const char *row[] = {id,
                         times_local(n->session_start, when, sizeof when),
                         appt,
                         n->status == CLINIC__V1__NOTE_STATUS__NOTE_STATUS_SIGNED ? "signed"
                                                                                  : "draft",
                         pain,
                         odi,
                         n->author_name};
    table_add_row(t, row);
}

/* ------------------------------------------------------------------ the verbs */

static int note_draft(struct cli *cli, int argc, char **argv)
{
    struct note_args a = {.pain_before = -1, .pain_after = -1};
    struct option opts[] = {
        OPT("APPOINTMENT", OPTION_ID, &a.id, "the appointment the note is about",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED),
        NOTE_FIELDS(&a),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__DraftNoteRequest req = CLINIC__V1__DRAFT_NOTE_REQUEST__INIT;
    Clinic__V1__NoteContent content = CLINIC__V1__NOTE_CONTENT__INIT;
    req.appointment_id = a.id;
    req.content = &content;
    if ((code = note_content(cli, &a, &content)) != 0) {
        options_free(opts);
        return code;
    }
    return admin_call(cli, opts, "/clinic.v1.Notes/DraftNote", &req.base,
                      &clinic__v1__note__descriptor, print_note, "Drafted");
}

static int note_edit(struct cli *cli, int argc, char **argv)
{
    struct note_args a = {.pain_before = -1, .pain_after = -1};
    struct option opts[] = {
        OPT("NOTE", OPTION_ID, &a.id, "the note (a draft)",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED),
        NOTE_FIELDS(&a),
        OPTIONS_END,
    };
    char *mask[NOTES_ODI_SECTIONS];
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__EditNoteRequest req = CLINIC__V1__EDIT_NOTE_REQUEST__INIT;
    Clinic__V1__NoteContent content = CLINIC__V1__NOTE_CONTENT__INIT;
    req.id = a.id;
    req.content = &content;
    /* an empty mask would mean "every field" to the daemon: insist on one */
    if ((req.n_update_mask = options_mask(opts, mask, NOTES_ODI_SECTIONS)) == 0) {
        options_free(opts);
        return cli_usage_error(cli, "name at least one field to change, e.g. --pain-after 3");
    }
    req.update_mask = mask;
    if ((code = note_content(cli, &a, &content)) != 0) {
        options_free(opts);
        return code;
    }
    return admin_call(cli, opts, "/clinic.v1.Notes/EditNote", &req.base,
                      &clinic__v1__note__descriptor, print_note, "Edited");
}

static int note_sign(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__note_ref__descriptor,
                       "/clinic.v1.Notes/SignNote", &clinic__v1__note__descriptor, print_note,
                       "Signed", "the note (a draft): it can never change afterwards");
}

static int note_show(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__note_ref__descriptor,
                       "/clinic.v1.Notes/GetNote", &clinic__v1__note__descriptor, print_note, NULL,
                       "the note");
}

static int note_amend(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__AmendNoteRequest req = CLINIC__V1__AMEND_NOTE_REQUEST__INIT;
    struct option opts[] = {
        OPT("NOTE", OPTION_ID, &req.id, "the note (signed)",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED),
        OPT("reason", OPTION_STRING, &req.reason, "why the note needs a correction",
            .flags = OPTION_REQUIRED),
        OPT("text", OPTION_STRING, &req.text, "the correction", .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if (!req.reason[0] || !req.text[0])
        return cli_usage_error(cli, "--%s must not be empty", req.reason[0] ? "text" : "reason");
    return admin_call(cli, opts, "/clinic.v1.Notes/AmendNote", &req.base,
                      &clinic__v1__note__descriptor, print_note, "Amended");
}

static int note_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"NOTE", "SESSION", "APPT",  "STATUS",
                                          "PAIN", "ODI",     "AUTHOR"};
    Clinic__V1__ListNotesRequest req = CLINIC__V1__LIST_NOTES_REQUEST__INIT;
    bool all = false;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id,
            "whose notes (default: yours, when you are a client)", .flags = OPTION_POSITIONAL,
            .field = "client_id"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list(cli, opts, "/clinic.v1.Notes/ListNotes", &req.base,
                      &clinic__v1__list_notes_response__descriptor, all, 7, headers, note_row);
}

#define DECISIONS "-|treat|treat-with-changes|refer-out" /* index = clinic.v1.CareDecision */

static int note_decide(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__DecideCareRequest req = CLINIC__V1__DECIDE_CARE_REQUEST__INIT;
    int decision = 0;
    struct option opts[] = {
        OPT("NOTE", OPTION_ID, &req.id, "the draft note of the session",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED),
        OPT("decision", OPTION_CHOICE, &decision, "what you decided", .choices = DECISIONS,
            .flags = OPTION_REQUIRED),
        OPT("reason", OPTION_STRING, &req.reason, "why, and what changes (e.g. no deep pressure)",
            .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if (decision == 0) {
        options_free(opts);
        return cli_usage_error(cli, "--decision is treat, treat-with-changes or refer-out");
    }
    req.decision = (Clinic__V1__CareDecision)decision;
    return admin_call(cli, opts, "/clinic.v1.Notes/DecideCare", &req.base,
                      &clinic__v1__note__descriptor, print_note, "Decided on");
}

#define NOTE_WORDS                                                                                 \
    "Areas: head_face, neck, shoulder_left, shoulder_right, upper_back, mid_back, lower_back,\n"   \
    "  sacrum_pelvis, chest, abdomen, arm_left, arm_right, hand_left, hand_right, hip_left,\n"     \
    "  hip_right, glutes, hamstrings, quadriceps, calves, feet, breast, inner_thigh (chest,\n"     \
    "  breast, glutes and inner_thigh need the client's written consent: clinic consent).\n"       \
    "Techniques: swedish, deep_tissue, myofascial_release, trigger_point, stretching, sports,\n"   \
    "  lymphatic_drainage, hot_stone, cupping.\n"                                                  \
    "ODI: the ten Oswestry sections in order (pain intensity, personal care, lifting, walking,\n"  \
    "  sitting, standing, sleeping, sex life, social life, travelling), each 0-5 or -."

const struct command note_commands[] = {
    {.name = "draft",
     .run = note_draft,
     .summary = "write the note of an appointment (a draft until signed)",
     .details = "Example: clinic note draft 42 --pain-before 7 --pain-after 4 --areas "
                "lower_back,glutes \\\n    --techniques deep_tissue --pressure firm --odi "
                "3,2,-,1,0,4,2,-,1,3\n" NOTE_WORDS},
    {.name = "edit",
     .run = note_edit,
     .summary = "change the fields given of a draft, and only those",
     .details = "Lists (--areas, --techniques) replace the old ones.\n" NOTE_WORDS},
    {.name = "decide",
     .run = note_decide,
     .summary = "record your decision on a client whose health history has a red flag",
     .details =
         "A note of a client whose health history lists a red flag or a contraindication\n"
         "is signed only after this, made on the newest version of the history (read it\n"
         "with clinic intake show). Example:\n"
         "  clinic note decide 12 --decision refer-out --reason \"night pain: see GP first\""},
    VERB("sign", note_sign, "sign a draft: from then on it never changes"),
    VERB("amend", note_amend, "append a dated correction to a signed note"),
    VERB("show", note_show, "show a note with its amendments"),
    VERB("list", note_list, "a client's notes in session order"),
    COMMANDS_END,
};
