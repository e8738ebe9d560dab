/* svc_consents.c: clinic.v1.Consents: a client's general informed consent and their written
 * consents for sensitive areas, given and withdrawn. A withdrawal is recorded on the consent,
 * which is never deleted (the guard trigger in sql/functions/82_care.sql). Checking in needs
 * general consent (clinic_transition), and signing a note needs the consents its session called
 * for (clinic_note_care_check). */
#include "call.h"
#include "check.h"
#include "clinic/v1/intake.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

#define HOW_MAX    500 /* client_consents_how_length */
#define REASON_MAX 500 /* client_consents_reason_length */

#define CONSENT_COLUMNS                                                                            \
    "d.id, d.client_id, d.kind, d.how, d.given_at, d.given_by_user, d.in_force, d.withdrawn_at,"   \
    " d.withdrawn_by_user, d.withdrawn_reason"

static const struct db_stmt give_stmt = {
    "SELECT clinic_consent_give($1, $2::consent_kind, $3, CASE WHEN $4::text IS NULL THEN NULL"
    " ELSE clinic_parse_instant($4, clinic_home_zone(), 'given_at') END)",
    4};
static const struct db_stmt withdraw_stmt = {
    "SELECT clinic_consent_withdraw($1, $2::consent_kind, $3)", 3};
/* Read in a statement of its own: one that changed the row in a function would not see it. */
static const struct db_stmt consent_stmt = {
    "SELECT " CONSENT_COLUMNS " FROM consent_details d WHERE d.id = $1", 1};
static const struct db_stmt list_stmt = {"SELECT " CONSENT_COLUMNS
                                         " FROM consent_details d WHERE d.client_id = $1"
                                         " ORDER BY d.given_instant, d.id",
                                         1};

/* Runs a statement whose one value is a consent's id, and answers with that consent. */
static void change_and_reply(struct call *call, const struct db_stmt *stmt,
                             const char *const *params)
{
    const char *id = rowmap_changed_id(call, stmt, params, NULL);
    if (!id)
        return;
    rowmap_reply_one(call, &consent_stmt, (const char *[]){id}, &clinic__v1__consent__descriptor,
                     "consent %s does not exist", id);
}

/* The kind as the database spells it, in label (32 bytes); false (a violation) when it is not
 * a known kind. */
static bool check_kind(struct call *call, Clinic__V1__ConsentKind kind, char *label, size_t len)
{
    if (kind != CLINIC__V1__CONSENT_KIND__CONSENT_KIND_UNSPECIFIED &&
        param_enum_label(&clinic__v1__consent_kind__descriptor, kind, label, len))
        return true;
    call_violation(call, "kind", "must be general, chest wall, breast, gluteal or inner thigh");
    return false;
}

HANDLER(svc_consents_give_consent, Consents, GiveConsentRequest, Consent)
{
    char kind[32];
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    check_kind(call, in->kind, kind, sizeof kind);
    check_text(call, "how", in->how, 1, HOW_MAX);
    check_instant(call, "given_at", in->given_at, true);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->client_id), kind, in->how,
                            param_text_or_null(in->given_at)};
    change_and_reply(call, &give_stmt, params);
}

HANDLER(svc_consents_withdraw_consent, Consents, WithdrawConsentRequest, Consent)
{
    char kind[32];
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    check_kind(call, in->kind, kind, sizeof kind);
    check_text(call, "reason", in->reason, 1, REASON_MAX);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, in->client_id), kind, in->reason};
    change_and_reply(call, &withdraw_stmt, params);
}

HANDLER(svc_consents_list_consents, Consents, ListConsentsRequest, ListConsentsResponse)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    if (!check_id(call, "client_id", in->client_id))
        return;
    const char *client = param_i64(call, in->client_id);
    if (!check_client_exists(call, in->client_id))
        return;
    rowmap_reply_all(call, &list_stmt, (const char *[]){client},
                     &clinic__v1__list_consents_response__descriptor, "consents");
}

static Clinic__V1__Consents_Service consents = CLINIC__V1__CONSENTS__INIT(svc_consents_);

const struct handler_set svc_consents_handlers = {&consents.base};
