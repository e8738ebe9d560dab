/* svc_intakes.c: clinic.v1.Intakes: each client's health history, kept as numbered versions, and
 * what anyone who runs the day may know of it (that it exists, how old it is, whether it lists
 * a red flag or a contraindication).
 *
 * Health histories are clinical records. Row-level security on client_intakes
 * (sql/0023_intake_consent.sql) lets admins, the client and therapists of the client's care read
 * them; the method table audits every read (GetIntake); the front desk records versions for a
 * client and reads only the status, through the SECURITY DEFINER clinic_intake_status
 * (sql/functions/82_care.sql). Nothing here logs a value of a request or a row. */
#include <stdio.h>

#include "call.h"
#include "check.h"
#include "clinic/v1/intake.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

/* The bound of each free-text answer (sql/0023: client_intakes_*_length), in characters. */
#define INTAKE_TEXT_MAX 4000

static const struct db_stmt record_stmt = {
    "SELECT clinic_intake_record($1, $2, $3, $4::boolean, $5, $6::boolean, $7, $8::boolean,"
    " $9::boolean, $10, $11::red_flag[], $12::contraindication[])",
    12};
static const struct db_stmt status_stmt = {
    "SELECT c.id AS client_id, s.has_intake, s.version,"
    " clinic_format_instant(s.recorded_at, clinic_home_zone()) AS recorded_at,"
    " coalesce(s.recorded_at < now() - interval '1 year', false) AS out_of_date, s.health_flag"
    " FROM clients c, clinic_intake_status(c.id) AS s WHERE c.id = $1",
    1};
static const struct db_stmt intake_stmt = {
    "SELECT client_id, version, conditions, medications, anticoagulants, surgery_or_injury,"
    " pregnant, implanted_devices, oil_allergy, latex_allergy, other_allergies, red_flags,"
    " contraindications, recorded_at, recorded_by_role, recorded_by_user, out_of_date, current"
    " FROM intake_details WHERE client_id = $1 AND (CASE WHEN $2::integer = 0 THEN current"
    " ELSE version = $2::integer END)",
    2};

static void check_answers(struct call *call, const Clinic__V1__Intake *in)
{
    check_long_text(call, "intake.conditions", in->conditions, INTAKE_TEXT_MAX, false);
    check_long_text(call, "intake.medications", in->medications, INTAKE_TEXT_MAX, false);
    check_long_text(call, "intake.surgery_or_injury", in->surgery_or_injury, INTAKE_TEXT_MAX,
                    false);
    check_long_text(call, "intake.implanted_devices", in->implanted_devices, INTAKE_TEXT_MAX,
                    false);
    check_long_text(call, "intake.other_allergies", in->other_allergies, INTAKE_TEXT_MAX, false);
    check_enum_list(call, "intake.red_flags", &clinic__v1__red_flag__descriptor,
                    (const int *)in->red_flags, in->n_red_flags, "red flag");
    check_enum_list(call, "intake.contraindications", &clinic__v1__contraindication__descriptor,
                    (const int *)in->contraindications, in->n_contraindications,
                    "contraindication");
}

HANDLER(svc_intakes_record_intake, Intakes, RecordIntakeRequest, IntakeStatus)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    if (!in->intake)
        call_violation(call, "intake", "is required: send the client's answers");
    else
        check_answers(call, in->intake);
    if (call->code != STATUS_OK)
        return;
    const Clinic__V1__Intake *a = in->intake;
    const char *client = param_i64(call, in->client_id);
    const char *params[] = {
        client,
        a->conditions,
        a->medications,
        param_bool(a->anticoagulants),
        a->surgery_or_injury,
        param_bool(a->pregnant),
        a->implanted_devices,
        param_bool(a->oil_allergy),
        param_bool(a->latex_allergy),
        a->other_allergies,
        param_enum_array(call, &clinic__v1__red_flag__descriptor, (const int *)a->red_flags,
                         a->n_red_flags),
        param_enum_array(call, &clinic__v1__contraindication__descriptor,
                         (const int *)a->contraindications, a->n_contraindications),
    };
    if (!client || !params[10] || !params[11]) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    struct db_result *r;
    if (db_query(call->db, &record_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    db_result_free(r);
    rowmap_reply_one(call, &status_stmt, (const char *[]){client},
                     &clinic__v1__intake_status__descriptor, "client %lld does not exist",
                     (long long)in->client_id);
}

static bool check_ref(struct call *call, const Clinic__V1__IntakeRef *in)
{
    call_set_target(call, "client:%lld", (long long)in->client_id);
    check_id(call, "client_id", in->client_id);
    if (in->version < 0)
        call_violation(call, "version", "must be a version number, or 0 for the newest");
    return call->code == STATUS_OK;
}

HANDLER(svc_intakes_get_intake, Intakes, IntakeRef, Intake)
{
    if (!check_ref(call, in))
        return;
    const char *client = param_i64(call, in->client_id);
    const char *params[] = {client, param_i64(call, in->version)};
    struct db_result *r;
    if (db_query(call->db, &intake_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) == 1) {
        rowmap_reply_row(call, r, 0, &clinic__v1__intake__descriptor);
        db_result_free(r);
        return;
    }
    db_result_free(r);
    /* no row: say whether the client, or the version, is what is missing */
    if (db_query(call->db, &status_stmt, (const char *[]){client}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (db_rows(r) == 0)
        call_fail(call, STATUS_NOT_FOUND, "client %lld does not exist", (long long)in->client_id);
    else if (in->version == 0)
        call_fail(call, STATUS_NOT_FOUND,
                  "client %lld has no health history on file; record one (clinic intake record)",
                  (long long)in->client_id);
    else
        call_fail(call, STATUS_NOT_FOUND, "client %lld's health history has no version %d",
                  (long long)in->client_id, in->version);
    db_result_free(r);
}

HANDLER(svc_intakes_get_intake_status, Intakes, IntakeRef, IntakeStatus)
{
    if (!check_ref(call, in))
        return;
    rowmap_reply_one(call, &status_stmt, (const char *[]){param_i64(call, in->client_id)},
                     &clinic__v1__intake_status__descriptor, "client %lld does not exist",
                     (long long)in->client_id);
}

static Clinic__V1__Intakes_Service intakes = CLINIC__V1__INTAKES__INIT(svc_intakes_);

const struct handler_set svc_intakes_handlers = {&intakes.base};
