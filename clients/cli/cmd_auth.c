/* cmd_auth.c: `clinic login`, `logout`, `whoami` and `change-password`: getting a token, keeping it
 * in the token file (token_store.h), giving it back. Passwords come from a prompt with echo off,
 * from stdin or from --password-file, never from argv. The token itself is never printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clinic/v1/auth.pb-c.h"
#include "cmd_admin.h"
#include "options.h"
#include "prompt.h"
#include "status.h"
#include "times.h"
#include "token_store.h"

/* "Ada Lovelace <ada@example.org>, admin (user 1)" and the token's end, as whoami and login
 * print them; --json prints a WhoAmIResponse either way (never the token). */
static int print_session(const struct cli *cli, Clinic__V1__User *user, char *expires_at,
                         const char *verb, const char *token_file)
{
    if (cli->json) {
        Clinic__V1__WhoAmIResponse who = CLINIC__V1__WHO_AM_IRESPONSE__INIT;
        who.user = user;
        who.token_expires_at = expires_at;
        return cli_print_json(&who.base);
    }
    char until[40];
    if (user->name[0])
        printf("%s %s <%s>", verb, user->name, user->email);
    else
        printf("%s %s", verb, user->email);
    printf(", %s (user %lld", admin_role_name((int)user->role), (long long)user->id);
    if (user->therapist_id)
        printf(", therapist %lld", (long long)user->therapist_id);
    if (user->client_id)
        printf(", client %lld", (long long)user->client_id);
    printf(")\n");
    if (expires_at && *expires_at)
        printf("Token valid until %s\n", times_readable(expires_at, until, sizeof until));
    if (token_file)
        printf("Token saved in %s\n", token_file);
    return 0;
}

int cmd_login(struct cli *cli, int argc, char **argv)
{
    char *email = NULL, *password_file = NULL;
    struct option opts[] = {
        OPT("email", OPTION_STRING, &email, "your email address (asked when not given)",
            .arg = "EMAIL"),
        OPT("password-file", OPTION_STRING, &password_file,
            "read the password from the first line of FILE (- for stdin) instead of asking",
            .arg = "FILE"),
        OPTIONS_END,
    };
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    char typed[PROMPT_MAX], password[PROMPT_MAX], path[4096], err[4200];
    if (!token_store_path(path, sizeof path)) {
        fprintf(stderr, "clinic login: cannot store a token: %s\n", path);
        return EXIT_USAGE;
    }
    if (!email && !prompt_interactive())
        return cli_usage_error(cli,
                               "--email is required when stdin is not a terminal (the password "
                               "is then read from stdin)");
    if (!email && (code = prompt_line(cli, "Email: ", typed, sizeof typed)) != 0)
        return code;
    if ((code = prompt_password(cli, password_file, false, password, sizeof password)) != 0)
        return code;
    Clinic__V1__LoginRequest req = CLINIC__V1__LOGIN_REQUEST__INIT;
    req.email = email ? email : typed;
    req.password = password;
    cli_drop_token(cli); /* an old token must not be sent along */
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Auth/Login", &req.base,
                    &clinic__v1__login_response__descriptor, &resp);
    explicit_bzero(password, sizeof password);
    if (code != 0)
        return code;
    Clinic__V1__LoginResponse *login = (Clinic__V1__LoginResponse *)resp;
    if (!login->user || !*login->token) {
        fprintf(stderr, "clinic login: the daemon answered without a token\n");
        code = STATUS_INTERNAL;
    } else if (!token_store_save(login->token, err, sizeof err)) {
        fprintf(stderr, "clinic login: logged in, but %s\n", err);
        code = STATUS_INTERNAL;
    } else {
        code = print_session(cli, login->user, login->expires_at, "Logged in as", path);
    }
    explicit_bzero(login->token, strlen(login->token));
    protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

int cmd_logout(struct cli *cli, int argc, char **argv)
{
    struct option opts[] = {OPTIONS_END};
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    char err[4200];
    if (!cli_token(cli)) {
        fprintf(stderr, "clinic logout: not logged in (no --token, CLINIC_TOKEN or token file)\n");
        return EXIT_NEGATIVE;
    }
    bool from_file = cli->token_source == TOKEN_FROM_FILE;
    Clinic__V1__LogoutRequest req = CLINIC__V1__LOGOUT_REQUEST__INIT;
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Auth/Logout", &req.base,
                    &clinic__v1__logout_response__descriptor, &resp);
    if (code == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    /* UNAUTHENTICATED: the token had expired or was revoked already; the goal is reached. Any
     * other failure keeps the file, so that the still valid token can be revoked later. */
    if (code != 0 && code != STATUS_UNAUTHENTICATED) {
        if (from_file)
            fprintf(stderr, "clinic logout: the token was not revoked; the token file is kept "
                            "(run clinic logout again)\n");
        return code;
    }
    if (from_file && !token_store_remove(err, sizeof err)) {
        fprintf(stderr, "clinic logout: %s\n", err);
        return STATUS_INTERNAL;
    }
    if (cli->json)
        printf("{\"revoked\":%s,\"token_file_removed\":%s}\n", code == 0 ? "true" : "false",
               from_file ? "true" : "false");
    else
        printf("%s%s\n",
               code == 0 ? "Logged out: the token is revoked"
                         : "The token had expired "
                           "or was revoked already",
               from_file ? ", and the token file removed." : ".");
    return 0;
}

int cmd_whoami(struct cli *cli, int argc, char **argv)
{
    struct option opts[] = {OPTIONS_END};
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    Clinic__V1__WhoAmIRequest req = CLINIC__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.Auth/WhoAmI", &req.base,
                    &clinic__v1__who_am_iresponse__descriptor, &resp);
    if (code != 0)
        return code;
    Clinic__V1__WhoAmIResponse *who = (Clinic__V1__WhoAmIResponse *)resp;
    if (!who->user)
        fprintf(stderr, "clinic whoami: the daemon answered without a user\n");
    else if (cli->json)
        cli_print_json(resp);
    else
        print_session(cli, who->user, who->token_expires_at, "You are", NULL);
    code = who->user ? 0 : STATUS_INTERNAL;
    protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* The current password, then the new one (asked twice at a terminal). Without a terminal both
 * come from stdin, one line each. */
int cmd_change_password(struct cli *cli, int argc, char **argv)
{
    struct option opts[] = {OPTIONS_END};
    int code;
    if (!options_parse(cli, opts, argc, argv, &code))
        return code;
    char current[PROMPT_MAX], fresh[PROMPT_MAX];
    if (prompt_interactive())
        fputs("Current password\n", stderr);
    if ((code = prompt_password(cli, NULL, false, current, sizeof current)) != 0)
        return code;
    if (prompt_interactive())
        fputs("New password (at least 10 characters)\n", stderr);
    if ((code = prompt_password(cli, NULL, true, fresh, sizeof fresh)) != 0) {
        explicit_bzero(current, sizeof current);
        return code;
    }
    Clinic__V1__ChangePasswordRequest req = CLINIC__V1__CHANGE_PASSWORD_REQUEST__INIT;
    req.current_password = current;
    req.new_password = fresh;
    ProtobufCMessage *resp;
    /* no idempotency key: the daemon would keep a SHA-256 of the passwords (cmd_admin_users.c) */
    code = cli_call(cli, "/clinic.v1.Auth/ChangePassword", &req.base,
                    &clinic__v1__change_password_response__descriptor, &resp);
    explicit_bzero(current, sizeof current);
    explicit_bzero(fresh, sizeof fresh);
    if (code != 0)
        return code;
    if (cli->json)
        cli_print_json(resp);
    else
        printf("Password changed; your other sessions are logged out.\n");
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}
