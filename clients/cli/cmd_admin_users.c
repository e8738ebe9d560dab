/* cmd_admin_users.c: `clinic admin user`: accounts, their roles and passwords. Passwords are read
 * at a prompt (asked twice), from stdin or from --password-file, never from argv. The shared
 * machinery is in cmd_admin.c.
 *
 * Calls that carry a password go without an idempotency key: the daemon would keep a plain
 * SHA-256 of the request, password included, for a day, and a fast hash of a password is one an
 * attacker can search. A retried create then answers ALREADY_EXISTS instead of the first reply;
 * setting a password twice does no harm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic/v1/auth.pb-c.h"
#include "cmd_admin.h"
#include "prompt.h"
#include "times.h"

/* The --role choices, in the order of the Role enum from 1. */
#define ROLE_CHOICES "admin|front_desk|therapist|client"

const char *admin_role_name(int role)
{
    static const char *const names[] = {"none", "admin", "front_desk", "therapist", "client"};
    return role >= 0 && role <= 4 ? names[role] : "unknown";
}

/* "therapist 3", "client 7" or "-". */
static const char *linked(const Clinic__V1__User *u, char *out, size_t len)
{
    if (u->therapist_id)
        snprintf(out, len, "therapist %lld", (long long)u->therapist_id);
    else if (u->client_id)
        snprintf(out, len, "client %lld", (long long)u->client_id);
    else
        snprintf(out, len, "-");
    return out;
}

void admin_print_user(const ProtobufCMessage *m, const char *done)
{
    const Clinic__V1__User *u = (const Clinic__V1__User *)m;
    char link[48], created[48];
    admin_heading(done, "user", u->id, u->name);
    admin_line("email", "%s", u->email);
    admin_line("role", "%s", admin_role_name((int)u->role));
    admin_line("acts as", "%s", linked(u, link, sizeof link));
    admin_line("active", "%s", u->active ? "yes" : "no (cannot log in)");
    if (u->created_at[0])
        admin_line("created", "%s", times_readable(u->created_at, created, sizeof created));
}

static void user_row(struct table *t, const ProtobufCMessage *m)
{
    const Clinic__V1__User *u = (const Clinic__V1__User *)m;
    char id[24], link[48];
    snprintf(id, sizeof id, "%lld", (long long)u->id);
    const char *row[] = {id,
                         u->email,
                         u->name,
                         admin_role_name((int)u->role),
                         linked(u, link, sizeof link),
                         u->active ? "yes" : "no"};
    table_add_row(t, row);
}

/* The fields create and update share; role is the index in ROLE_CHOICES (Role - 1). */
#define USER_FIELDS(r, role, required)                                                             \
    OPT("email", OPTION_STRING, &(r)->email, "their email address: the login (unique)",            \
        .flags = (required), .field = "email", .arg = "EMAIL"),                                    \
        OPT("name", OPTION_STRING, &(r)->name, "their name", .flags = (required),                  \
            .field = "name"),                                                                      \
        OPT("role", OPTION_CHOICE, (role), "what they may do", .flags = (required),                \
            .field = "role", .choices = ROLE_CHOICES),                                             \
        OPT("therapist", OPTION_ID, &(r)->therapist_id, "the therapist a therapist user acts as",  \
            .field = "therapist_id"),                                                              \
        OPT("client", OPTION_ID, &(r)->client_id, "the client a client user acts as",              \
            .field = "client_id")

#define PASSWORD_FILE(dest)                                                                        \
    OPT("password-file", OPTION_STRING, (dest),                                                    \
        "read the password from the first line of FILE (- for stdin) instead of asking",           \
        .arg = "FILE")

static int user_create(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__CreateUserRequest req = CLINIC__V1__CREATE_USER_REQUEST__INIT;
    int role = -1, code;
    char *password_file = NULL, password[PROMPT_MAX];
    struct option opts[] = {USER_FIELDS(&req, &role, OPTION_REQUIRED),
                            PASSWORD_FILE(&password_file), OPTIONS_END};
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = prompt_password(cli, password_file, true, password, sizeof password)) != 0)
        return code;
    req.role = (Clinic__V1__Role)(role + 1);
    req.password = password;
    code = admin_call(cli, opts, "/clinic.v1.Users/CreateUser", &req.base,
                      &clinic__v1__user__descriptor, admin_print_user, "Created");
    explicit_bzero(password, sizeof password);
    return code;
}

static int user_get(struct cli *cli, int argc, char **argv)
{
    return admin_by_id(cli, argc, argv, &clinic__v1__get_user_request__descriptor,
                       "/clinic.v1.Users/GetUser", &clinic__v1__user__descriptor, admin_print_user,
                       NULL, "the user");
}

static int user_list(struct cli *cli, int argc, char **argv)
{
    static const char *const headers[] = {"ID", "EMAIL", "NAME", "ROLE", "ACTS AS", "ACTIVE"};
    Clinic__V1__ListUsersRequest req = CLINIC__V1__LIST_USERS_REQUEST__INIT;
    bool all = false, inactive = false;
    int role = -1;
    struct option opts[] = {
        OPT("role", OPTION_CHOICE, &role, "only users with this role", .choices = ROLE_CHOICES),
        OPT("inactive", OPTION_FLAG, &inactive, "include inactive users"),
        OPTIONS_PAGING(&all, &req.page_size, &req.page_token),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    req.role = (Clinic__V1__Role)(role + 1);
    req.include_inactive = inactive;
    return admin_list(cli, opts, "/clinic.v1.Users/ListUsers", &req.base,
                      &clinic__v1__list_users_response__descriptor, all, 6, headers, user_row);
}

static int user_update(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__UpdateUserRequest req = CLINIC__V1__UPDATE_USER_REQUEST__INIT;
    char *mask[MAX_MASK];
    int role = -1, active = -1, code;
    struct option opts[] = {
        ID_ARG(&req.id, "the user"),
        USER_FIELDS(&req, &role, 0),
        OPT("active", OPTION_CHOICE, &active,
            "no: the user can no longer log in and their tokens stop working", .field = "active",
            .choices = "no|yes"),
        OPTIONS_END,
    };
    if (!admin_parse(cli, opts, argc, argv, &code) ||
        (code = admin_mask(cli, opts, mask, MAX_MASK, &req.n_update_mask)) != 0)
        return code;
    req.update_mask = mask;
    req.role = (Clinic__V1__Role)(role + 1);
    req.active = active == 1;
    return admin_call(cli, opts, "/clinic.v1.Users/UpdateUser", &req.base,
                      &clinic__v1__user__descriptor, admin_print_user, "Updated");
}

static int user_set_password(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__SetPasswordRequest req = CLINIC__V1__SET_PASSWORD_REQUEST__INIT;
    char *password_file = NULL, password[PROMPT_MAX];
    struct option opts[] = {ID_ARG(&req.id, "the user"), PASSWORD_FILE(&password_file),
                            OPTIONS_END};
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    if ((code = prompt_password(cli, password_file, true, password, sizeof password)) != 0)
        return code;
    req.password = password;
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Users/SetPassword", &req.base,
                    &clinic__v1__set_password_response__descriptor, &resp);
    explicit_bzero(password, sizeof password);
    if (code != 0)
        return code;
    if (cli->json)
        cli_print_json(resp);
    else
        printf("Set the password of user %lld; their tokens are revoked.\n", (long long)req.id);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

const struct command admin_user_verbs[] = {
    {.name = "create",
     .run = user_create,
     .summary = "add a user; the password is asked twice (or read from stdin or --password-file)",
     .details = "Example: clinic admin user create --email anna@example.org --name \"Anna Berg\" "
                "--role therapist --therapist 3\nThe password (at least 10 characters) is never "
                "taken from the command line."},
    VERB("get", user_get, "show a user"),
    VERB("list", user_list, "list users"),
    VERB("update", user_update,
         "change the fields given (a new role or --active no revokes their tokens)"),
    VERB("set-password", user_set_password,
         "set a user's password (asked, or from stdin); their tokens are revoked"),
    COMMANDS_END,
};
