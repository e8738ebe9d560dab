/* methods.c: the method table (see methods.h).
 *
 * DESIGN: a row per method; this table is the whole policy, so handlers contain no role checks.
 * Reading a row: the method, what it does to data, then who may call it: the four scopes are for
 * admin, front desk, therapist and client, in that order. A scope other than "all" is checked
 * against the target the request names: for a client "own" means their client record (or an
 * appointment or note of it); for a therapist "own" means their therapist record, their
 * appointments and the notes they wrote, and "care" adds the clients they have (non-cancelled)
 * appointments with. Row-level security on notes is a second wall behind this one. The daemon
 * refuses to start when a row and the served methods disagree (rpc.c). */
#include "methods.h"

#include <string.h>

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

/* what a method does to data */
#define READS         0
#define MUTATES       METHOD_MUTATES
#define NO_TX         METHOD_NO_TX
#define AUDIT_READ    METHOD_AUDIT_READ
#define SECRET_INPUT  METHOD_SECRET_INPUT
#define STANDBY_OK    METHOD_STANDBY_OK
#define SECRET_OUTPUT METHOD_SECRET_OUTPUT

/* needs no token */
#define PUBLIC(m, flags)                                                                           \
    {                                                                                              \
        "/clinic.v1." m, METHOD_PUBLIC | (flags), TARGET_NONE, NULL, EVERYONE                      \
    }
/* needs a token; names no single record */
#define RULE(m, flags, scopes)                                                                     \
    {                                                                                              \
        "/clinic.v1." m, (flags), TARGET_NONE, NULL, scopes                                        \
    }
/* needs a token; the request's int64 `field` names the target that own/care scopes check */
#define ON(m, flags, target, field, scopes)                                                        \
    {                                                                                              \
        "/clinic.v1." m, (flags), target, field, scopes                                            \
    }

static const struct method_rule rules[] = {
    /* the wire's own services, and logging in */
    PUBLIC("Health/Check", NO_TX),
    PUBLIC("Reflection/ListMethods", NO_TX),
    PUBLIC("Server/Info", NO_TX),
    PUBLIC("Diagnostics/Sleep", READS),         /* served only with --enable-diagnostics */
    PUBLIC("Auth/Login", NO_TX | SECRET_INPUT), /* no key: its reply, token and all, is not kept */
    RULE("Auth/Logout", MUTATES, EVERYONE),
    RULE("Auth/WhoAmI", READS, EVERYONE),
    RULE("Auth/ChangePassword", MUTATES | SECRET_INPUT, EVERYONE),

    /* accounts and the audit trail */
    RULE("Users/CreateUser", MUTATES | SECRET_INPUT, ADMIN),
    ON("Users/GetUser", READS, TARGET_USER, "id", ROLES(ALL, OWN, OWN, OWN)),
    RULE("Users/ListUsers", READS, ADMIN),
    RULE("Users/UpdateUser", MUTATES, ADMIN),
    RULE("Users/SetPassword", MUTATES | SECRET_INPUT, ADMIN),
    RULE("Audit/ListAudit", READS, ADMIN),
    RULE("Demo/Load", MUTATES, ADMIN),

    /* the clinic's set-up: everyone reads what booking needs; admins change it */
    RULE("Locations/CreateLocation", MUTATES, ADMIN),
    RULE("Locations/GetLocation", READS, EVERYONE),
    RULE("Locations/ListLocations", READS | STANDBY_OK, EVERYONE),
    RULE("Locations/UpdateLocation", MUTATES, ADMIN),
    RULE("Locations/ArchiveLocation", MUTATES, ADMIN),
    RULE("Locations/AddClosure", MUTATES, DESK),
    RULE("Locations/ListClosures", READS | STANDBY_OK, EVERYONE),
    RULE("Locations/DeleteClosure", MUTATES, DESK),
    RULE("Rooms/CreateRoom", MUTATES, ADMIN),
    RULE("Rooms/GetRoom", READS, EVERYONE),
    RULE("Rooms/ListRooms", READS | STANDBY_OK, EVERYONE),
    RULE("Rooms/UpdateRoom", MUTATES, ADMIN),
    RULE("Rooms/ArchiveRoom", MUTATES, ADMIN),
    RULE("Services/CreateService", MUTATES, ADMIN),
    RULE("Services/GetService", READS, EVERYONE),
    RULE("Services/ListServices", READS | STANDBY_OK, EVERYONE),
    RULE("Services/UpdateService", MUTATES, ADMIN),
    RULE("Services/ArchiveService", MUTATES, ADMIN),
    RULE("Therapists/CreateTherapist", MUTATES, ADMIN),
    RULE("Therapists/GetTherapist", READS, EVERYONE),
    RULE("Therapists/ListTherapists", READS | STANDBY_OK, EVERYONE),
    RULE("Therapists/UpdateTherapist", MUTATES, ADMIN),
    RULE("Therapists/ArchiveTherapist", MUTATES, ADMIN),
    /* hours and time off: the front desk keeps them; a therapist reads their own */
    RULE("Therapists/AddWorkingHours", MUTATES, DESK),
    ON("Therapists/ListWorkingHours", READS | STANDBY_OK, TARGET_THERAPIST, "therapist_id",
       ROLES(ALL, ALL, OWN, _)),
    RULE("Therapists/DeleteWorkingHours", MUTATES, DESK),
    RULE("Therapists/AddTimeOff", MUTATES, DESK),
    ON("Therapists/ListTimeOff", READS | STANDBY_OK, TARGET_THERAPIST, "therapist_id",
       ROLES(ALL, ALL, OWN, _)),
    RULE("Therapists/DeleteTimeOff", MUTATES, DESK),

    /* clients' contact data: the front desk's; a client keeps their own up to date */
    RULE("Clients/CreateClient", MUTATES, DESK),
    ON("Clients/GetClient", READS, TARGET_CLIENT, "id", ROLES(ALL, ALL, CARE, OWN)),
    RULE("Clients/ListClients", READS, DESK),
    ON("Clients/UpdateClient", MUTATES, TARGET_CLIENT, "id", ROLES(ALL, ALL, _, OWN)),
    ON("Clients/ArchiveClient", MUTATES, TARGET_CLIENT, "id", DESK),
    ON("Clients/EraseClient", MUTATES, TARGET_CLIENT, "id", ADMIN),

    /* the schedule: clients book and cancel their own; therapists run their own sessions */
    RULE("Scheduling/FindSlots", READS | STANDBY_OK, EVERYONE),
    ON("Scheduling/Book", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/BookCourse", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/Reschedule", MUTATES, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/Cancel", MUTATES, TARGET_APPOINTMENT, "appointment_id", ROLES(ALL, ALL, _, OWN)),
    ON("Scheduling/CheckIn", MUTATES, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/Complete", MUTATES, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/MarkNoShow", MUTATES, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/Undo", MUTATES, TARGET_APPOINTMENT, "appointment_id", DESK),
    /* a course: read by whoever may read its sessions; cancelled by whoever may cancel them */
    ON("Scheduling/GetCourse", READS, TARGET_COURSE, "course_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Scheduling/CancelCourse", MUTATES, TARGET_COURSE, "course_id", ROLES(ALL, ALL, _, OWN)),
    /* a session that happened unbooked: the desk records anyone's, a therapist their own (a
     * therapist's 0 is themselves, as everywhere) */
    ON("Scheduling/RecordSession", MUTATES, TARGET_THERAPIST, "therapist_id",
       ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/GetAppointment", READS, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, CARE, OWN)),
    /* a therapist's own day (therapist_id 0 for the desk: every therapist's) */
    ON("Scheduling/DaySheet", READS | STANDBY_OK, TARGET_THERAPIST, "therapist_id",
       ROLES(ALL, ALL, OWN, _)),
    ON("Scheduling/ClientAppointments", READS | STANDBY_OK, TARGET_CLIENT, "client_id",
       ROLES(ALL, ALL, CARE, OWN)),
    ON("Scheduling/TherapistAgenda", READS | STANDBY_OK, TARGET_THERAPIST, "therapist_id",
       ROLES(ALL, ALL, OWN, _)),
    RULE("Events/Since", READS, ROLES(ALL, ALL, ALL, _)), /* ids and times only, never names */

    /* the clinical record: never the front desk's */
    ON("Notes/DraftNote", MUTATES, TARGET_APPOINTMENT, "appointment_id", ROLES(_, _, OWN, _)),
    ON("Notes/EditNote", MUTATES, TARGET_NOTE, "id", ROLES(_, _, OWN, _)),
    ON("Notes/SignNote", MUTATES, TARGET_NOTE, "id", ROLES(_, _, OWN, _)),
    ON("Notes/AmendNote", MUTATES, TARGET_NOTE, "id", ROLES(_, _, OWN, _)),
    ON("Notes/GetNote", AUDIT_READ, TARGET_NOTE, "id", ROLES(ALL, _, CARE, OWN)),
    ON("Notes/ListNotes", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),
    ON("Progress/ClientProgress", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),
    /* questionnaires (RMDQ, PSFS, STarT Back) are self-reported: a client records their own, a
     * therapist those of clients in their care; read like the notes */
    ON("Measures/RecordMeasure", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),
    ON("Measures/ListMeasures", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),

    /* calendar feeds: a key in the feed's URL stands for a token (calendar apps send none); the
     * desk may set up a client's feed, a therapist's is theirs (or an admin's to replace) */
    ON("Calendar/RotateClientFeed", MUTATES | SECRET_OUTPUT, TARGET_CLIENT, "client_id",
       ROLES(ALL, ALL, _, OWN)),
    ON("Calendar/RotateTherapistFeed", MUTATES | SECRET_OUTPUT, TARGET_THERAPIST, "therapist_id",
       ROLES(ALL, _, OWN, _)),
    PUBLIC("Calendar/Feed", READS | SECRET_INPUT),

    /* care before the first touch: a health history is recorded by the client, the desk or a
     * therapist of their care, and read (audited) by all but the desk, which sees only whether
     * it exists and carries a flag; consents are everyone's paperwork, each read audited; the
     * decision on a flagged client is the note's author's */
    ON("Intakes/RecordIntake", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Intakes/GetIntake", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, _, CARE, OWN)),
    ON("Intakes/GetIntakeStatus", READS, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Consents/GiveConsent", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Consents/WithdrawConsent", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Consents/ListConsents", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, CARE, OWN)),
    ON("Notes/DecideCare", MUTATES, TARGET_NOTE, "id", ROLES(_, _, OWN, _)),

    /* the waitlist: the desk's to run, a client's to join; row-level security shows a client
     * only their own entries (list, remove); an offer is answered as its appointment is moved */
    ON("Waitlist/AddEntry", MUTATES, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    RULE("Waitlist/ListEntries", READS, ROLES(ALL, ALL, _, ALL)),
    RULE("Waitlist/RemoveEntry", MUTATES, ROLES(ALL, ALL, _, ALL)),
    ON("Waitlist/AcceptOffer", MUTATES, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, _, OWN)),
    ON("Waitlist/DeclineOffer", MUTATES, TARGET_APPOINTMENT, "appointment_id",
       ROLES(ALL, ALL, _, OWN)),

    /* reports: the clinic's numbers, the desk's and the owner's; a moment-old replica will do */
    RULE("Reports/Utilisation", READS | STANDBY_OK, DESK),
    RULE("Reports/Attendance", READS | STANDBY_OK, DESK),
    RULE("Reports/Clients", READS | STANDBY_OK, DESK),
    RULE("Reports/Courses", READS | STANDBY_OK, DESK),
    RULE("Reports/Revenue", READS | STANDBY_OK, DESK),

    /* a client's data, exported (GDPR articles 15 and 20): the admin answers a request, a client
     * may take their own; the desk may not, as the export holds the clinical record */
    ON("ClientData/ExportClient", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, _, _, OWN)),

    /* money: the desk sells packages and takes payments; a client reads their own packages,
     * charges and receipts, a therapist the receipts of their own sessions. Row-level security
     * on receipts, charges and packages shows each caller only those (a receipt is named by its
     * number, so the rows stand in for a target here); every read of them is audited, as a
     * client's financial documents deserve */
    ON("Packages/SellPackage", MUTATES, TARGET_CLIENT, "client_id", DESK),
    RULE("Packages/GetPackage", AUDIT_READ, ROLES(ALL, ALL, _, ALL)),
    ON("Packages/ListPackages", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    ON("Billing/ListCharges", AUDIT_READ, TARGET_CLIENT, "client_id", ROLES(ALL, ALL, _, OWN)),
    RULE("Billing/PayCharge", MUTATES, DESK),
    RULE("Billing/GetReceipt", AUDIT_READ, EVERYONE),
    RULE("Billing/ListReceipts", AUDIT_READ, EVERYONE),
    RULE("Billing/VoidReceipt", MUTATES, DESK),
};

#define N_RULES (sizeof rules / sizeof rules[0])

const struct method_rule *method_rule_for(const char *method)
{
    for (size_t i = 0; i < N_RULES; i++)
        if (strcmp(rules[i].method, method) == 0)
            return &rules[i];
    return NULL;
}

const struct method_rule *method_rules(size_t *n)
{
    *n = N_RULES;
    return rules;
}

bool method_takes_idempotency_key(const struct method_rule *rule)
{
    return rule && (rule->flags & METHOD_MUTATES) &&
           !(rule->flags & (METHOD_SECRET_INPUT | METHOD_SECRET_OUTPUT));
}

const char *method_scope_name(enum method_scope scope)
{
    static const char *const names[] = {"none", "own", "care", "all"};
    return (unsigned)scope < sizeof names / sizeof names[0] ? names[scope] : "?";
}

const char *method_target_name(enum method_target target)
{
    static const char *const names[] = {"",     "client", "therapist", "appointment",
                                        "note", "user",   "course"};
    return (unsigned)target < sizeof names / sizeof names[0] ? names[target] : "?";
}
