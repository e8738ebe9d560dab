/* cmd_audit.c: `clinic audit`: the audit trail, newest first, filtered by user, method, target
 * and time. Audit times are UTC: a time typed without an offset is read as UTC, a bare date as
 * its day (--until 2026-11-26 includes that day). */
#include <stdio.h>
#include <string.h>

#include "clinic/v1/audit.pb-c.h"
#include "cmd_admin.h"
#include "times.h"

static void audit_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__AuditEntry *e = (const Clinic__V1__AuditEntry *)m;
    char id[24], at[40], user[24];
    snprintf(id, sizeof id, "%lld", (long long)e->id);
    /* "2026-11-26T11:24:08.123Z" as "2026-11-26 11:24:08": seconds matter in an audit trail */
    if (strlen(e->at) >= 19 && e->at[10] == 'T')
        snprintf(at, sizeof at, "%.10s %.8s", e->at, e->at + 11);
    else
        snprintf(at, sizeof at, "%s", e->at);
    if (e->user_id)
        snprintf(user, sizeof user, "%lld", (long long)e->user_id);
    else
        snprintf(user, sizeof user, "-");
    const char *method = e->method;
    if (strncmp(method, "/clinic.v1.", 11) == 0)
        method += 11; /* "Notes/GetNote": the package is always the same */
    const char *row[] = {id,         at,
                         user,       e->role[0] ? e->role : "-",
                         method,     e->target[0] ? e->target : "-",
                         e->outcome, e->request_id};
    table_add_row(t, row);
}

/* A typed bound as RFC 3339: a bare date is its day's start (the next day's for `end`), a time
 * without an offset is UTC ("2026-11-26 09:00" -> "2026-11-26T09:00:00Z"). */
static void utc_bound(const char *typed, bool end, char *out, size_t len)
{
    char local[64];
    times_bound(typed, end, local, sizeof local);
    size_t n = strlen(local);
    bool has_zone = n > 16 && strpbrk(local + 16, "Zz+-");
    if (local[10] == ' ')
        local[10] = 'T';
    if (has_zone)
        snprintf(out, len, "%s", local);
    else
        snprintf(out, len, "%s%sZ", local, n == 16 ? ":00" : "");
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID",     "AT (UTC)", "USER",    "ROLE",
                                          "METHOD", "TARGET",   "OUTCOME", "REQUEST ID"};
    Clinic__V1__ListAuditRequest req = CLINIC__V1__LIST_AUDIT_REQUEST__INIT;
    char *since = NULL, *until = NULL, *method = NULL;
    bool all = false;
    struct option opts[] = {
        OPT("user", OPTION_ID, &req.user_id, "only calls by this user"),
        OPT("method", OPTION_STRING, &method,
            "only this method or service: Notes/GetNote, Notes/ (the /clinic.v1. prefix may be "
            "left out)",
            .arg = "M"),
        OPT("target", OPTION_STRING, &req.target, "only this target, e.g. note:7 or client:3",
            .arg = "T"),
        OPT("since", OPTION_INSTANT, &since, "from this time (UTC unless an offset is given)",
            .flags = OPTION_DAY_OK),
        OPT("until", OPTION_INSTANT, &until, "up to this time; a date includes its day",
            .flags = OPTION_DAY_OK),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    char since_utc[64], until_utc[64], full_method[256];
    if (since) {
        utc_bound(since, false, since_utc, sizeof since_utc);
        req.since = since_utc;
    }
    if (until) {
        utc_bound(until, true, until_utc, sizeof until_utc);
        req.until = until_utc;
    }
    if (method) {
        snprintf(full_method, sizeof full_method, "%s%s", method[0] == '/' ? "" : "/clinic.v1.",
                 method);
        req.method = full_method;
    }
    return admin_list(cli, opts, "/clinic.v1.Audit/ListAudit", &req.base,
                      &clinic__v1__list_audit_response__descriptor, all, 8, headers, audit_row);
}
