/* authz.c: the authorisation table, and the check of one call against it.
 *
 * DESIGN: the table is the whole policy; handlers contain no role checks. Reading it: a row per
 * method; the four scopes are for admin, front desk, therapist and client, in that order. A
 * scope other than "all" is checked against the target the request names: for a client "own"
 * means their client record (or an appointment or note of it); for a therapist "own" means
 * their therapist record, their appointments and the notes they wrote, and "care" adds the
 * clients they have (non-cancelled) appointments with. Row-level security on notes (sql/0006)
 * is a second wall behind this one. */
#include "authz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "status.h"
#include "validate.h"

#define _    SCOPE_NONE
#define OWN  SCOPE_OWN
#define CARE SCOPE_CARE
#define ALL  SCOPE_ALL
/* scopes for: admin, front desk, therapist, client */
#define ROLES(admin, desk, therapist, client)                                                      \
    {                                                                                              \
        [ROLE_NONE] = _, [ROLE_ADMIN] = (admin), [ROLE_FRONT_DESK] = (desk),                       \
        [ROLE_THERAPIST] = (therapist), [ROLE_CLIENT] = (client)                                   \
    }
#define EVERYONE ROLES(ALL, ALL, ALL, ALL)
#define DESK     ROLES(ALL, ALL, _, _)
#define ADMIN    ROLES(ALL, _, _, _)

#define PUBLIC(m)                                                                                  \
    {                                                                                              \
        "/clinic.v1." m, true, TARGET_NONE, NULL, EVERYONE                                         \
    }
#define RULE(m, scopes)                                                                            \
    {                                                                                              \
        "/clinic.v1." m, false, TARGET_NONE, NULL, scopes                                          \
    }
#define ON(m, target, field, scopes)                                                               \
    {                                                                                              \
        "/clinic.v1." m, false, target, field, scopes                                              \
    }

static const struct authz_rule rules[] = {
    /* the wire's own services, and logging in */
    PUBLIC("Health/Check"),
    PUBLIC("Reflection/ListMethods"),
    PUBLIC("Diagnostics/Sleep"), /* served only with --enable-diagnostics */
    PUBLIC("Auth/Login"),
    RULE("Auth/Logout", EVERYONE),
    RULE("Auth/WhoAmI", EVERYONE),
    RULE("Auth/ChangePassword", EVERYONE),

    /* accounts and the audit trail */
    RULE("Users/CreateUser", ADMIN),
    ON("Users/GetUser", TARGET_USER, "id", ROLES(ALL, OWN, OWN, OWN)),
    RULE("Users/ListUsers", ADMIN),
    RULE("Users/UpdateUser", ADMIN),
    RULE("Users/SetPassword", ADMIN),
    RULE("Audit/ListAudit", ADMIN),
    RULE("Demo/Load", ADMIN),

    /* the clinic's set-up: everyone reads what booking needs; admins change it */
    RULE("Locations/CreateLocation", ADMIN),
    RULE("Locations/GetLocation", EVERYONE),
    RULE("Locations/ListLocations", EVERYONE),
    RULE("Locations/UpdateLocation", ADMIN),
    RULE("Locations/ArchiveLocation", ADMIN),
    RULE("Locations/AddClosure", DESK),
    RULE("Locations/ListClosures", EVERYONE),
    RULE("Locations/DeleteClosure", DESK),
    RULE("Rooms/CreateRoom", ADMIN),
    RULE("Rooms/GetRoom", EVERYONE),
    RULE("Rooms/ListRooms", EVERYONE),
    RULE("Rooms/UpdateRoom", ADMIN),
    RULE("Rooms/ArchiveRoom", ADMIN),
    RULE("Services/CreateService", ADMIN),
    RULE("Services/GetService", EVERYONE),
    RULE("Services/ListServices", EVERYONE),
    RULE("Services/UpdateService", ADMIN),
    RULE("Services/ArchiveService", ADMIN),
    RULE("Therapists/CreateTherapist", ADMIN),
    RULE("Therapists/GetTherapist", EVERYONE),
    RULE("Therapists/ListTherapists", EVERYONE),
    RULE("Therapists/UpdateTherapist", ADMIN),
    RULE("Therapists/ArchiveTherapist", ADMIN),
    /* hours and time off: the front desk keeps them; a therapist reads their own */
    RULE("Therapists/AddWorkingHours", DESK),
    ON("Therapists/ListWorkingHours", TARGET_THERAPIST, "therapist_id", ROLES(ALL, ALL, OWN, _)),
    RULE("Therapists/DeleteWorkingHours", DESK),
    RULE("Therapists/AddTimeOff", DESK),
    ON("Therapists/ListTimeOff", TARGET_THERAPIST, "therapist_id", ROLES(ALL, ALL, OWN, _)),
    RULE("Therapists/DeleteTimeOff", DESK),

    /* clients' contact data: the front desk's; a client keeps their own up to date */
    RULE("Clients/CreateClient", DESK),
    ON("Clients/GetClient", TARGET_CLIENT, "id", ROLES(ALL, ALL, CARE, OWN)),
    RULE("Clients/ListClients", DESK),
    ON("Clients/UpdateClient", TARGET_CLIENT, "id", ROLES(ALL, ALL, _, OWN)),
    ON("Clients/ArchiveClient", TARGET_CLIENT, "id", DESK),
    ON("Clients/EraseClient", TARGET_CLIENT, "id", ADMIN),

    /* the schedule: clients book and cancel their own; therapists run their own sessions */
    RULE("Scheduling/FindSlots", EVERYONE),
    ON("Scheduling/Book", TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/BookCourse", TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/Reschedule", TARGET_APPOINTMENT, "appointment_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/Cancel", TARGET_APPOINTMENT, "appointment_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/CheckIn", TARGET_APPOINTMENT, "appointment_id", ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/Complete", TARGET_APPOINTMENT, "appointment_id", ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/MarkNoShow", TARGET_APPOINTMENT, "appointment_id", ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/GetAppointment", TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, CARE, OWN)),
    RULE("Scheduling/DaySheet", DESK),
    ON("Scheduling/ClientAppointments", TARGET_CLIENT, "client_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Scheduling/TherapistAgenda", TARGET_THERAPIST, "therapist_id", ROLES(ALL, ALL, OWN, _)),
    RULE("Events/Since", ROLES(ALL, ALL, ALL, _)), /* ids and times only, never names */

    /* the clinical record: never the front desk's */
    ON("Notes/DraftNote", TARGET_APPOINTMENT, "appointment_id", ROLES(_, _, OWN, _)),
    ON("Notes/EditNote", TARGET_NOTE, "id", ROLES(_, _, OWN, _)),
    ON("Notes/SignNote", TARGET_NOTE, "id", ROLES(_, _, OWN, _)),
    ON("Notes/AmendNote", TARGET_NOTE, "id", ROLES(_, _, OWN, _)),
    ON("Notes/GetNote", TARGET_NOTE, "id", ROLES(ALL, _, CARE, OWN)),
    ON("Notes/ListNotes", TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),
    ON("Progress/ClientProgress", TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),
};

#define N_RULES (sizeof rules / sizeof rules[0])

const struct authz_rule *authz_rule_for(const char *method)
{
    for (size_t i = 0; i < N_RULES; i++)
        if (strcmp(rules[i].method, method) == 0)
            return &rules[i];
    return NULL;
}

const struct authz_rule *authz_rules(size_t *n)
{
    *n = N_RULES;
    return rules;
}

const char *authz_scope_name(enum authz_scope scope)
{
    static const char *const names[] = {"none", "own", "care", "all"};
    return (unsigned)scope < sizeof names / sizeof names[0] ? names[scope] : "?";
}

const char *authz_target_name(enum authz_target target)
{
    static const char *const names[] = {"", "client", "therapist", "appointment", "note", "user"};
    return (unsigned)target < sizeof names / sizeof names[0] ? names[target] : "?";
}

/* --- the check --- */

/* Who a target concerns: its client and its therapist (0 when none), and whether the calling
 * therapist treats that client. */
struct parties {
    int64_t client_id;
    int64_t therapist_id;
    bool caller_treats_client;
};

#define TREATS                                                                                     \
    "EXISTS (SELECT 1 FROM appointments b WHERE b.client_id = x.client_id"                         \
    " AND b.therapist_id = $2 AND b.status <> 'cancelled')"

static const struct db_stmt appointment_parties = {
    "SELECT x.client_id, x.therapist_id, " TREATS " FROM appointments x WHERE x.id = $1", 2};
static const struct db_stmt note_parties = {
    "SELECT x.client_id, x.therapist_id, " TREATS
    " FROM clinic_note_parties($1) x WHERE x.client_id IS NOT NULL",
    2};
static const struct db_stmt client_parties = {
    "SELECT x.client_id, 0, " TREATS " FROM (SELECT id AS client_id FROM clients WHERE id = $1) x",
    2};

/* The int64 value of the request's field `name`; 0 when absent. */
static int64_t target_id(const ProtobufCMessage *input, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(input->descriptor, name);
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_INT64)
        return 0;
    return *(const int64_t *)((const char *)input + f->offset);
}

/* Reads the parties of the target; false with *found false when it does not exist. */
static bool read_parties(struct call *call, enum authz_target target, int64_t id, struct parties *p,
                         bool *found)
{
    const struct db_stmt *stmt = target == TARGET_APPOINTMENT ? &appointment_parties
                                 : target == TARGET_NOTE      ? &note_parties
                                                              : &client_parties;
    const char *params[] = {param_i64(call, id), param_i64(call, call->caller.therapist_id)};
    struct db_result *r;
    if (!params[0] || !params[1] || db_query(call->db, stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    *found = db_rows(r) == 1;
    if (*found) {
        p->client_id = strtoll(db_value(r, 0, 0), NULL, 10);
        p->therapist_id = strtoll(db_value(r, 0, 1), NULL, 10);
        p->caller_treats_client = strcmp(db_value(r, 0, 2), "t") == 0;
    }
    db_result_free(r);
    return true;
}

/* Does the caller's scope cover a target with these parties? */
static bool covers(const struct caller *c, enum authz_scope scope, const struct parties *p)
{
    switch (c->role) {
    case ROLE_CLIENT:
        return p->client_id != 0 && p->client_id == c->client_id;
    case ROLE_THERAPIST:
        return (p->therapist_id != 0 && p->therapist_id == c->therapist_id) ||
               (scope == SCOPE_CARE && p->caller_treats_client);
    default:
        return false;
    }
}

static bool deny(struct call *call, const struct authz_rule *rule, const char *why)
{
    call_fail(call, STATUS_PERMISSION_DENIED, "as %s you may not call %s%s%s",
              call->caller.role == ROLE_FRONT_DESK  ? "front desk"
              : call->caller.role == ROLE_ADMIN     ? "an admin"
              : call->caller.role == ROLE_THERAPIST ? "a therapist"
                                                    : "a client",
              rule->method, why[0] ? " " : "", why);
    return false;
}

/* Checks a scoped (own/care) call against the target the request names. */
static bool check_target(struct call *call, const struct authz_rule *rule, enum authz_scope scope,
                         int64_t id)
{
    const struct caller *c = &call->caller;
    char why[160];
    snprintf(why, sizeof why, "for %s %lld: it is not %s", authz_target_name(rule->target),
             (long long)id, scope == SCOPE_CARE ? "yours or a client in your care" : "yours");
    if (id == 0) {
        snprintf(why, sizeof why, "without naming your own %s in %s",
                 authz_target_name(rule->target), rule->field);
        return deny(call, rule, why);
    }
    struct parties p = {0};
    bool found = true;
    switch (rule->target) {
    case TARGET_USER:
        return id == c->user_id ? true : deny(call, rule, why);
    case TARGET_THERAPIST:
        p.therapist_id = id;
        break;
    case TARGET_CLIENT:
        if (c->role == ROLE_CLIENT || scope == SCOPE_OWN)
            p.client_id = id;
        else if (!read_parties(call, rule->target, id, &p, &found))
            return false;
        break;
    case TARGET_APPOINTMENT:
    case TARGET_NOTE:
        if (!read_parties(call, rule->target, id, &p, &found))
            return false;
        break;
    case TARGET_NONE:
        return deny(call, rule, "");
    }
    return found && covers(c, scope, &p) ? true : deny(call, rule, why);
}

bool authz_check(struct call *call, const struct authz_rule *rule, const ProtobufCMessage *input)
{
    int64_t id = rule->target != TARGET_NONE ? target_id(input, rule->field) : 0;
    if (id != 0)
        call_set_target(call, "%s:%lld", authz_target_name(rule->target), (long long)id);
    if (rule->public)
        return true;
    enum caller_role role = call->caller.role;
    enum authz_scope scope = (unsigned)role < ROLE_COUNT ? rule->scope[role] : SCOPE_NONE;
    switch (scope) {
    case SCOPE_ALL:
        return true;
    case SCOPE_NONE:
        return deny(call, rule, "");
    case SCOPE_OWN:
    case SCOPE_CARE:
        return check_target(call, rule, scope, id);
    }
    return deny(call, rule, "");
}
