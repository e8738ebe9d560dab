/* svc_users.c: clinic.v1.Users: admins create accounts, set roles and passwords, deactivate.
 *
 * A change that alters what a user may do (role, links, deactivation) or proves who they are
 * (a new password) revokes their tokens in the same transaction (for the former, the database's
 * trigger does it): the next call with an old token is UNAUTHENTICATED, and the user logs in
 * again under the new terms. Passwords are hashed
 * before the statement and never logged. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "call.h"
#include "clinic/v1/auth.pb-c.h"
#include "db.h"
#include "rowmap.h"
#include "handlers.h"
#include "status.h"
#include "check.h"
#include "param.h"

static const struct db_stmt create_stmt = {
    "INSERT INTO users AS u (email, name, role, therapist_id, client_id, password_hash)"
    " VALUES ($1, $2, $3::user_role, $4, $5, $6) RETURNING " AUTH_USER_COLUMNS,
    6};
static const struct db_stmt get_stmt = {"SELECT " AUTH_USER_COLUMNS " FROM users u WHERE u.id = $1",
                                        1};
static const struct db_stmt list_stmt = {
    "SELECT " AUTH_USER_COLUMNS ", 'p' || u.id AS page_key FROM users u"
    " WHERE u.id > $1 AND ($2 OR u.active) AND ($3::text = '' OR u.role = $3::text::user_role)"
    " ORDER BY u.id LIMIT $4",
    4};
/* NULL keeps a field; $7 says whether the links are masked (then NULL clears them). A change of
 * role, links or active revokes the user's tokens through the trigger of
 * sql/functions/90_accounts.sql. */
static const struct db_stmt update_stmt = {
    "UPDATE users AS u SET email = coalesce($2, email), name = coalesce($3, name),"
    " role = coalesce($4::user_role, role),"
    " therapist_id = CASE WHEN $7 THEN $5::bigint ELSE therapist_id END,"
    " client_id = CASE WHEN $7 THEN $6::bigint ELSE client_id END,"
    " active = coalesce($8::boolean, active), updated_at = now() WHERE id = $1"
    " RETURNING " AUTH_USER_COLUMNS,
    8};
static const struct db_stmt set_password_stmt = {
    "WITH u AS (UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL,"
    "  updated_at = now() WHERE id = $1 RETURNING id)"
    " UPDATE auth_tokens t SET revoked_at = now(), revoked_reason = 'password' FROM u"
    " WHERE t.user_id = u.id AND t.revoked_at IS NULL RETURNING 1",
    2};
static const struct db_stmt exists_stmt = {"SELECT 1 FROM users WHERE id = $1", 1};

static bool check_role(struct call *call, const char *field, Clinic__V1__Role role, bool required)
{
    if ((role == CLINIC__V1__ROLE__ROLE_UNSPECIFIED && !required) ||
        (role >= CLINIC__V1__ROLE__ROLE_ADMIN && role <= CLINIC__V1__ROLE__ROLE_CLIENT))
        return true;
    call_violation(call, field,
                   "must be ROLE_ADMIN, ROLE_FRONT_DESK, ROLE_THERAPIST or ROLE_CLIENT");
    return false;
}

/* A therapist user names their therapist, a client user their client, the others neither. The
 * sentences speak of accounts, not of enum names, because people read them (the CLI prints them
 * after the option: "--client is required for a client account"). */
static void check_links(struct call *call, Clinic__V1__Role role, int64_t therapist_id,
                        int64_t client_id)
{
    bool therapist = role == CLINIC__V1__ROLE__ROLE_THERAPIST;
    bool client = role == CLINIC__V1__ROLE__ROLE_CLIENT;
    if (therapist && therapist_id <= 0)
        call_violation(call, "therapist_id",
                       "is required for a therapist account: the therapist this user acts as");
    if (!therapist && therapist_id != 0)
        call_violation(call, "therapist_id", "is only for a therapist account; leave it unset");
    if (client && client_id <= 0)
        call_violation(call, "client_id",
                       "is required for a client account: the client this user acts as");
    if (!client && client_id != 0)
        call_violation(call, "client_id", "is only for a client account; leave it unset");
}

static void reply_user(struct call *call, struct db_result *r, long long id)
{
    if (db_rows(r) == 0)
        call_fail(call, STATUS_NOT_FOUND, "user %lld does not exist", id);
    else
        rowmap_reply_row(call, r, 0, &clinic__v1__user__descriptor);
}

HANDLER(svc_users_create_user, Users, CreateUserRequest, User)
{
    check_email(call, "email", in->email, true);
    check_text(call, "name", in->name, 0, 200);
    if (check_role(call, "role", in->role, true))
        check_links(call, in->role, in->therapist_id, in->client_id);
    check_password(call, "password", in->password);
    if (call->code != STATUS_OK)
        return;
    const char *hash = auth_hash_for_call(call, in->password);
    if (!hash)
        return;
    const char *params[] = {in->email,
                            in->name,
                            caller_role_name((enum caller_role)in->role),
                            param_id_or_null(call, in->therapist_id),
                            param_id_or_null(call, in->client_id),
                            hash};
    struct db_result *r;
    if (db_query(call->db, &create_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    call_set_target(call, "user:%s", db_value(r, 0, 0));
    rowmap_reply_row(call, r, 0, &clinic__v1__user__descriptor);
    db_result_free(r);
}

HANDLER(svc_users_get_user, Users, GetUserRequest, User)
{
    rowmap_reply_by_id(call, &get_stmt, in->id, &clinic__v1__user__descriptor, "user");
}

HANDLER(svc_users_list_users, Users, ListUsersRequest, ListUsersResponse)
{
    uint32_t size;
    int64_t after;
    check_role(call, "role", in->role, false);
    if (!check_page(call, in->page_size, in->page_token, &size, &after) || call->code != STATUS_OK)
        return;
    const char *params[] = {param_i64(call, after), param_bool(in->include_inactive),
                            caller_role_name((enum caller_role)in->role),
                            param_u32(call, size + 1)};
    rowmap_reply_list(call, &list_stmt, params, &clinic__v1__list_users_response__descriptor,
                      "users", size);
}

/* The role and links the user will have after the update, for checking them together. */
static bool check_update(struct call *call, const Clinic__V1__UpdateUserRequest *in,
                         const struct db_result *current)
{
    static const char *const fields[] = {"email",     "name",   "role", "therapist_id",
                                         "client_id", "active", NULL};
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    if (!check_update_mask(call, mask, n, fields))
        return false;
    if (check_in_mask(mask, n, "email"))
        check_email(call, "email", in->email, true);
    if (check_in_mask(mask, n, "name"))
        check_text(call, "name", in->name, 0, 200);
    bool links = check_in_mask(mask, n, "therapist_id") || check_in_mask(mask, n, "client_id");
    if (check_in_mask(mask, n, "role") && check_role(call, "role", in->role, true) && !links)
        call_violation(call, "update_mask",
                       "changing the role needs therapist_id and client_id in the mask too");
    else if (links || check_in_mask(mask, n, "role"))
        check_links(call,
                    check_in_mask(mask, n, "role")
                        ? in->role
                        : (Clinic__V1__Role)caller_role_from_name(db_value(current, 0, 3)),
                    in->therapist_id, in->client_id);
    return call->code == STATUS_OK;
}

HANDLER(svc_users_update_user, Users, UpdateUserRequest, User)
{
    if (!check_id(call, "id", in->id))
        return;
    struct db_result *current;
    const char *id = param_i64(call, in->id);
    if (db_query(call->db, &get_stmt, (const char *[]){id}, &current) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    bool ok = db_rows(current) == 1 ? check_update(call, in, current)
                                    : (reply_user(call, current, (long long)in->id), false);
    db_result_free(current);
    if (!ok)
        return;
    char *const *mask = in->update_mask;
    size_t n = in->n_update_mask;
    bool links = check_in_mask(mask, n, "therapist_id") || check_in_mask(mask, n, "client_id") ||
                 check_in_mask(mask, n, "role");
    const char *params[] = {
        id,
        check_in_mask(mask, n, "email") ? in->email : NULL,
        check_in_mask(mask, n, "name") ? in->name : NULL,
        check_in_mask(mask, n, "role") ? caller_role_name((enum caller_role)in->role) : NULL,
        param_id_or_null(call, in->therapist_id),
        param_id_or_null(call, in->client_id),
        param_bool(links),
        check_in_mask(mask, n, "active") ? param_bool(in->active) : NULL,
    };
    struct db_result *r;
    if (db_query(call->db, &update_stmt, params, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    reply_user(call, r, (long long)in->id);
    db_result_free(r);
}

HANDLER(svc_users_set_password, Users, SetPasswordRequest, SetPasswordResponse)
{
    check_id(call, "id", in->id);
    check_password(call, "password", in->password);
    if (call->code != STATUS_OK)
        return;
    const char *id = param_i64(call, in->id);
    struct db_result *r;
    if (db_query(call->db, &exists_stmt, (const char *[]){id}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    bool exists = db_rows(r) == 1;
    db_result_free(r);
    if (!exists) {
        call_fail(call, STATUS_NOT_FOUND, "user %lld does not exist", (long long)in->id);
        return;
    }
    const char *hash = auth_hash_for_call(call, in->password);
    if (!hash)
        return;
    rowmap_reply_done(call, &set_password_stmt, (const char *[]){id, hash},
                      &clinic__v1__set_password_response__descriptor);
}

static Clinic__V1__Users_Service users_service = CLINIC__V1__USERS__INIT(svc_users_);

const struct handler_set svc_users_handlers = {&users_service.base};
