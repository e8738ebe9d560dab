/* cmd_care.c: `clinic intake` (a client's health history: record a new version, show one, or
 * only its status) and `clinic consent` (give, withdraw, list). Red flags, contraindications and
 * consent kinds are typed as words ("constant_night_pain", "gluteal"), checked here against the
 * .proto's enums as `clinic note` checks areas. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/intake.pb-c.h"
#include "cmd_admin.h"
#include "notes.h"
#include "options.h"
#include "times.h"

#define RED_FLAG_PREFIX "RED_FLAG_"
#define CONTRA_PREFIX   "CONTRAINDICATION_"
#define KINDS           "-|general|chest-wall|breast|gluteal|inner-thigh" /* = ConsentKind */

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* ------------------------------------------------------------------ intake */

static void print_status(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__IntakeStatus *s = (const Clinic__V1__IntakeStatus *)m;
    char when[48];
    if (done)
        printf("%s version %d of client %lld's health history.\n", done, (int)s->version,
               (long long)s->client_id);
    else if (!s->has_intake)
        printf("Client %lld has no health history on file.\n", (long long)s->client_id);
    else
        printf("Client %lld's health history: version %d, recorded %s.\n", (long long)s->client_id,
               (int)s->version, times_readable(s->recorded_at, when, sizeof when));
    if (s->health_flag)
        printf("It lists a red flag or a contraindication: the therapist decides before "
               "treating.\n");
    if (s->has_intake && s->out_of_date)
        printf("It is more than a year old: ask the client to review it.\n");
    if (!s->has_intake)
        printf("Record one with: clinic intake record %lld --conditions ...\n",
               (long long)s->client_id);
}

static void print_intake(const ProtobufCMessage *m, const char *done)
{
    (void)done;
    const Clinic__V1__Intake *i = (const Clinic__V1__Intake *)m;
    char when[48], list[600];
    printf("Health history of client %lld, version %d%s\n", (long long)i->client_id,
           (int)i->version, i->current ? " (current)" : " (an older version)");
    printf("  %-19s %s by %s (user %lld)\n", "recorded",
           times_readable(i->recorded_at, when, sizeof when), or_dash(i->recorded_by_role),
           (long long)i->recorded_by_user);
    printf("  %-19s %s\n", "red flags",
           notes_enum_list(&clinic__v1__red_flag__descriptor, RED_FLAG_PREFIX,
                           (const int *)i->red_flags, i->n_red_flags, list, sizeof list));
    printf("  %-19s %s\n", "contraindications",
           notes_enum_list(&clinic__v1__contraindication__descriptor, CONTRA_PREFIX,
                           (const int *)i->contraindications, i->n_contraindications, list,
                           sizeof list));
    printf("  %-19s %s\n", "conditions", or_dash(i->conditions));
    printf("  %-19s %s\n", "medications", or_dash(i->medications));
    printf("  %-19s %s\n", "anticoagulants", yes_no(i->anticoagulants));
    printf("  %-19s %s\n", "surgery or injury", or_dash(i->surgery_or_injury));
    printf("  %-19s %s\n", "pregnant", yes_no(i->pregnant));
    printf("  %-19s %s\n", "implanted devices", or_dash(i->implanted_devices));
    printf("  %-19s oils %s, latex %s; %s\n", "allergies", yes_no(i->oil_allergy),
           yes_no(i->latex_allergy), or_dash(i->other_allergies));
    if (i->out_of_date)
        printf("It is more than a year old: ask the client to review it.\n");
}

struct intake_args {
    char **red_flags, **contraindications;
    size_t n_red_flags, n_contraindications;
    int red_flag_values[NOTES_MAX_WORDS], contra_values[NOTES_MAX_WORDS];
};

static int intake_record(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__RecordIntakeRequest req = CLINIC__V1__RECORD_INTAKE_REQUEST__INIT;
    Clinic__V1__Intake in = CLINIC__V1__INTAKE__INIT;
    struct intake_args a = {0};
    req.intake = &in;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id, "whose history (default: yours, as a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPT("conditions", OPTION_STRING, &in.conditions,
            "health conditions, in the client's words"),
        OPT("medications", OPTION_STRING, &in.medications, "medications taken"),
        OPT("anticoagulants", OPTION_FLAG, &in.anticoagulants,
            "takes blood thinners (warfarin, heparin, apixaban, ...)"),
        OPT("surgery", OPTION_STRING, &in.surgery_or_injury, "recent surgery or injury"),
        OPT("pregnant", OPTION_FLAG, &in.pregnant, "is pregnant"),
        OPT("devices", OPTION_STRING, &in.implanted_devices,
            "implanted devices (pacemaker, pump, ...)"),
        OPT("oil-allergy", OPTION_FLAG, &in.oil_allergy, "allergic to massage oils"),
        OPT("latex-allergy", OPTION_FLAG, &in.latex_allergy, "allergic to latex"),
        OPT("allergies", OPTION_STRING, &in.other_allergies, "other allergies"),
        OPT("red-flags", OPTION_LIST, &a.red_flags, "red flags (every name below)",
            .count = &a.n_red_flags, .arg = "FLAG,FLAG"),
        OPT("contraindications", OPTION_LIST, &a.contraindications,
            "contraindications (every name below)", .count = &a.n_contraindications, .arg = "C,C"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = notes_words_to_enums(cli, "red-flags", &clinic__v1__red_flag__descriptor,
                                     RED_FLAG_PREFIX, a.red_flags, a.n_red_flags,
                                     a.red_flag_values)) != 0 ||
        (code = notes_words_to_enums(
             cli, "contraindications", &clinic__v1__contraindication__descriptor, CONTRA_PREFIX,
             a.contraindications, a.n_contraindications, a.contra_values)) != 0) {
        options_free(opts);
        return code;
    }
    in.red_flags = (Clinic__V1__RedFlag *)a.red_flag_values;
    in.n_red_flags = a.n_red_flags;
    in.contraindications = (Clinic__V1__Contraindication *)a.contra_values;
    in.n_contraindications = a.n_contraindications;
    return admin_call(cli, opts, "/clinic.v1.Intakes/RecordIntake", &req.base,
                      &clinic__v1__intake_status__descriptor, print_status, "Recorded");
}

static int intake_show(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__IntakeRef req = CLINIC__V1__INTAKE_REF__INIT;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id, "whose history (default: yours, as a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPT("version", OPTION_INT, &req.version, "an older version (default: the newest)", .min = 1,
            .max = 1000000, .arg = "N"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, "/clinic.v1.Intakes/GetIntake", &req.base,
                      &clinic__v1__intake__descriptor, print_intake, NULL);
}

static int intake_status(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__IntakeRef req = CLINIC__V1__INTAKE_REF__INIT;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id, "whose history (default: yours, as a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_call(cli, opts, "/clinic.v1.Intakes/GetIntakeStatus", &req.base,
                      &clinic__v1__intake_status__descriptor, print_status, NULL);
}

#define INTAKE_WORDS                                                                               \
    "Red flags (NICE NG59): saddle_anaesthesia, bladder_bowel_dysfunction,\n"                      \
    "  progressive_weakness_numbness, cancer_history, unexplained_weight_loss,\n"                  \
    "  fever_or_infection, significant_trauma, constant_night_pain.\n"                             \
    "Contraindications: fever, suspected_dvt, acute_infection, contagious_skin_condition,\n"       \
    "  recent_fracture, acute_inflammation, uncontrolled_hypertension, bleeding_disorder."

const struct command intake_commands[] = {
    {.name = "record",
     .run = intake_record,
     .summary = "record a new version of a client's health history (the old ones are kept)",
     .details = "Every version is whole: give every answer, not only what changed.\n"
                "Example: clinic intake record 7 --conditions \"low back pain since March\" \\\n"
                "    --medications apixaban --anticoagulants --red-flags "
                "constant_night_pain\n" INTAKE_WORDS},
    VERB("show", intake_show, "read a client's health history (every read is audited)"),
    VERB("status", intake_status,
         "whether a client has a health history, how old, and whether it has a flag"),
    COMMANDS_END,
};

/* ------------------------------------------------------------------ consent */

static void print_consent(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__Consent *c = (const Clinic__V1__Consent *)m;
    char kind[32], when[48];
    notes_enum_text(&clinic__v1__consent_kind__descriptor, "CONSENT_KIND_", (int)c->kind, kind,
                    sizeof kind);
    printf("%s consent %lld: %s, client %lld\n", done ? done : "Consent", (long long)c->id, kind,
           (long long)c->client_id);
    printf("  %-10s %s (%s)\n", "given", times_readable(c->given_at, when, sizeof when), c->how);
    if (c->in_force)
        printf("  %-10s in force\n", "status");
    else
        printf("  %-10s withdrawn %s: %s\n", "status",
               times_readable(c->withdrawn_at, when, sizeof when), c->withdrawn_reason);
}

static void consent_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__Consent *c = (const Clinic__V1__Consent *)m;
    char id[24], kind[32], given[48], withdrawn[48];
    snprintf(id, sizeof id, "%lld", (long long)c->id);
    notes_enum_text(&clinic__v1__consent_kind__descriptor, "CONSENT_KIND_", (int)c->kind, kind,
                    sizeof kind);
    const char *row[] = {id,
                         kind,
                         times_readable(c->given_at, given, sizeof given),
                         c->how,
                         c->in_force ? "in force"
                                     : times_readable(c->withdrawn_at, withdrawn, sizeof withdrawn),
                         c->withdrawn_reason};
    table_add_row(t, row);
}

static int consent_give(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__GiveConsentRequest req = CLINIC__V1__GIVE_CONSENT_REQUEST__INIT;
    int kind = 0;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id, "whose consent (default: yours, as a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPT("kind", OPTION_CHOICE, &kind, "general, or the sensitive area", .choices = KINDS,
            .flags = OPTION_REQUIRED),
        OPT("how", OPTION_STRING, &req.how, "how it was given, e.g. \"signed form\"",
            .flags = OPTION_REQUIRED),
        OPT("given-at", OPTION_INSTANT, &req.given_at,
            "when, if before now (the date on a paper form)", .flags = OPTION_DAY_OK),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.kind = (Clinic__V1__ConsentKind)kind;
    return admin_call(cli, opts, "/clinic.v1.Consents/GiveConsent", &req.base,
                      &clinic__v1__consent__descriptor, print_consent, "Recorded");
}

static int consent_withdraw(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__WithdrawConsentRequest req = CLINIC__V1__WITHDRAW_CONSENT_REQUEST__INIT;
    int kind = 0;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id, "whose consent (default: yours, as a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPT("kind", OPTION_CHOICE, &kind, "general, or the sensitive area", .choices = KINDS,
            .flags = OPTION_REQUIRED),
        OPT("reason", OPTION_STRING, &req.reason, "why (kept with the consent)",
            .flags = OPTION_REQUIRED),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.kind = (Clinic__V1__ConsentKind)kind;
    return admin_call(cli, opts, "/clinic.v1.Consents/WithdrawConsent", &req.base,
                      &clinic__v1__consent__descriptor, print_consent, "Withdrew");
}

static int consent_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "KIND", "GIVEN", "HOW", "STATUS", "REASON"};
    Clinic__V1__ListConsentsRequest req = CLINIC__V1__LIST_CONSENTS_REQUEST__INIT;
    struct option opts[] = {
        OPT("CLIENT", OPTION_ID, &req.client_id, "whose consents (default: yours, as a client)",
            .flags = OPTION_POSITIONAL, .field = "client_id"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    return admin_list_once(cli, opts, "/clinic.v1.Consents/ListConsents", &req.base,
                           &clinic__v1__list_consents_response__descriptor, 6, headers,
                           consent_row);
}

const struct command consent_commands[] = {
    {.name = "give",
     .run = consent_give,
     .summary = "record a consent: general (before the first session) or for a sensitive area",
     .details = "Kinds: general; chest-wall, breast, gluteal, inner-thigh: written consent before\n"
                "those areas are treated. A consent already in force is kept as it is.\n"
                "Example: clinic consent give 7 --kind general --how \"signed form\""},
    {.name = "withdraw",
     .run = consent_withdraw,
     .summary = "withdraw a consent (recorded with the reason, never deleted)",
     .details = "Example: clinic consent withdraw 7 --kind gluteal --reason \"client asked\""},
    VERB("list", consent_list, "a client's consents, withdrawn ones too (every read is audited)"),
    COMMANDS_END,
};
