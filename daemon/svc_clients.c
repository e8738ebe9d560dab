/* svc_clients.c: clinic.v1.Clients: the people who book sessions, and their contact details.
 *
 * Names, emails, phone numbers and birth dates are personal data: nothing here logs them, and
 * db.c keeps no DETAIL of a refused write (it quotes row values), so call_fail_db logs none. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "clinic/v1/admin.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

/* Long enough for a whole email address (254 bytes at most). */
#define QUERY_MAX 254

/* Optional fields are NULL in the table (its CHECKs expect NULL, and NULL emails do not collide
 * in the unique index) and "" on the wire. to_char keeps the day "YYYY-MM-DD" whatever the
 * session's DateStyle. */
#define CLIENT_COLUMNS                                                                             \
    "id, name, coalesce(email, '') AS email, coalesce(phone, '') AS phone,"                        \
    " coalesce(to_char(date_of_birth, 'YYYY-MM-DD'), '') AS date_of_birth, archived,"              \
    " messages_opt_out"

static const struct db_stmt create_stmt = {
    "INSERT INTO clients (name, email, phone, date_of_birth) VALUES ($1, $2, $3, $4::date)"
    " RETURNING " CLIENT_COLUMNS,
    4};
static const struct db_stmt get_stmt = {"SELECT " CLIENT_COLUMNS " FROM clients WHERE id = $1", 1};
/* $3 is matched literally anywhere in the name or email: its LIKE wildcards (% and _) and the
 * escape character (\) are escaped before it is wrapped in %...%. */
static const struct db_stmt list_stmt = {
    "SELECT " CLIENT_COLUMNS ", 'p' || id AS page_key"
    " FROM clients, (SELECT '%' || replace(replace(replace($3::text, '\\', '\\\\'), '%', '\\%'),"
    " '_', '\\_') || '%' AS pattern) AS q"
    " WHERE id > $1 AND ($2 OR NOT archived)"
    " AND ($3::text = '' OR name ILIKE q.pattern OR email ILIKE q.pattern)"
    " ORDER BY id LIMIT $4",
    4};
/* Per optional field a flag ($3, $5, $7) says whether the mask names it; when it does, "" clears
 * the field. The name and the opt-out ($9) are NULL when unmasked (coalesce keeps them). Opting
 * out withdraws the client's queued messages (a trigger, sql/functions/77_outbox.sql). */
static const struct db_stmt update_stmt = {
    "UPDATE clients SET name = coalesce($2, name),"
    " email = CASE WHEN $3::boolean THEN nullif($4, '') ELSE email END,"
    " phone = CASE WHEN $5::boolean THEN nullif($6, '') ELSE phone END,"
    " date_of_birth = CASE WHEN $7::boolean THEN nullif($8, '')::date ELSE date_of_birth END,"
    " messages_opt_out = coalesce($9::boolean, messages_opt_out)"
    " WHERE id = $1 RETURNING " CLIENT_COLUMNS,
    9};
static const struct db_stmt archive_stmt = {
    "UPDATE clients SET archived = true WHERE id = $1 RETURNING " CLIENT_COLUMNS, 1};
static const struct db_stmt erase_stmt = {"SELECT " CLIENT_COLUMNS " FROM clinic_erase_client($1)",
                                          1};

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* date_of_birth: "" (none), or a real calendar day from 1900-01-01 up to today. "Today" is
 * taken where the date is furthest ahead (UTC+14), so nobody born today anywhere is refused. */
static void check_birth_day(struct call *call, const char *s)
{
    if (!*s || !check_day(call, "date_of_birth", s, true))
        return;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    char today[16];
    time_t t = time(NULL) + 14 * 3600;
    struct tm tm;
    if (d > days_in_month(y, m)) {
        call_violation(call, "date_of_birth", "is not a day of the calendar");
    } else if (strcmp(s, "1900-01-01") < 0) {
        call_violation(call, "date_of_birth", "must be 1900-01-01 or later");
    } else if (gmtime_r(&t, &tm) && strftime(today, sizeof today, "%Y-%m-%d", &tm) == 10 &&
               strcmp(s, today) > 0) {
        call_violation(call, "date_of_birth", "must not be in the future");
    }
}

/* Every field of a new or changed client; `all` checks them all, else only those in the mask. */
static void check_client(struct call *call, bool all, char *const *mask, size_t n, const char *name,
                         const char *email, const char *phone, const char *dob)
{
    if (all || check_in_mask(mask, n, "name"))
        check_text(call, "name", name, 1, 200);
    if ((all || check_in_mask(mask, n, "email")) && check_text(call, "email", email, 0, 254))
        check_email(call, "email", email, false);
    if (all || check_in_mask(mask, n, "phone"))
        check_phone(call, "phone", phone);
    if (all || check_in_mask(mask, n, "date_of_birth"))
        check_birth_day(call, dob);
}

HANDLER(svc_clients_create_client, Clients, CreateClientRequest, Client)
{
    check_client(call, true, NULL, 0, in->name, in->email, in->phone, in->date_of_birth);
    if (call->code != STATUS_OK)
        return;
    const char *params[] = {in->name, param_text_or_null(in->email), param_text_or_null(in->phone),
                            param_text_or_null(in->date_of_birth)};
    rowmap_reply_inserted(call, &create_stmt, params, &clinic__v1__client__descriptor);
}

HANDLER(svc_clients_get_client, Clients, GetClientRequest, Client)
{
    rowmap_reply_by_id(call, &get_stmt, in->id, &clinic__v1__client__descriptor, "client");
}

HANDLER(svc_clients_list_clients, Clients, ListClientsRequest, ListClientsResponse)
{
    uint32_t size;
    int64_t after;
    check_text(call, "query", in->query, 0, QUERY_MAX);
    if (!check_page(call, in->page_size, in->page_token, &size, &after) || call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, after), param_bool(in->include_archived), in->query,
                            param_u32(call, size + 1)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_clients_response__descriptor,
                      "clients", size);
}

HANDLER(svc_clients_update_client, Clients, UpdateClientRequest, Client)
{
    static const char *const fields[] = {
        "name", "email", "phone", "date_of_birth", "messages_opt_out", NULL};
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    check_id(call, "id", in->id);
    if (!check_update_mask(call, mask, n, fields))
        return;
    check_client(call, false, mask, n, in->name, in->email, in->phone, in->date_of_birth);
    if (call->code != STATUS_OK)
        return;
    bool email = check_in_mask(mask, n, "email"), phone = check_in_mask(mask, n, "phone"),
         dob = check_in_mask(mask, n, "date_of_birth");
    const char *params[] = {
        param_i64(call, in->id),
        check_in_mask(mask, n, "name") ? in->name : NULL,
        param_bool(email),
        email ? in->email : NULL,
        param_bool(phone),
        phone ? in->phone : NULL,
        param_bool(dob),
        dob ? in->date_of_birth : NULL,
        check_in_mask(mask, n, "messages_opt_out") ? param_bool(in->messages_opt_out) : NULL,
    };
    if (!params[0]) {
        call_fail(call, STATUS_RESOURCE_EXHAUSTED, "the daemon is out of memory; retry later");
        return;
    }
    rowmap_reply_one(call, &update_stmt, params, &clinic__v1__client__descriptor,
                     "client %lld does not exist", (long long)in->id);
}

HANDLER(svc_clients_archive_client, Clients, ArchiveClientRequest, Client)
{
    rowmap_reply_by_id(call, &archive_stmt, in->id, &clinic__v1__client__descriptor, "client");
}

/* Erasure keeps the clinical record (appointments, notes, audit) and redacts contact details;
 * clinic_erase_client (sql/functions/90_accounts.sql) says exactly what goes. */
HANDLER(svc_clients_erase_client, Clients, EraseClientRequest, Client)
{
    check_id(call, "id", in->id);
    check_text(call, "reason", in->reason, 1, 200);
    if (call->code != STATUS_OK)
        return;
    rowmap_reply_one(call, &erase_stmt, (const char *[]){param_i64(call, in->id)},
                     &clinic__v1__client__descriptor, "client %lld does not exist",
                     (long long)in->id);
}

static Clinic__V1__Clients_Service clients = CLINIC__V1__CLIENTS__INIT(svc_clients_);

const struct handler_set svc_clients_handlers = {&clients.base};
