/* token_store.h: where `clinic login` keeps the bearer token, and which token a command sends.
 *
 * The file is $XDG_CONFIG_HOME/clinic/token, or ~/.config/clinic/token when XDG_CONFIG_HOME is
 * unset or not an absolute path (as the XDG base directory specification says). The folder is
 * created 0700 and the file 0600; it is written to a temporary file in the same folder (created
 * 0600) and renamed over the old one, so that it is never readable by others, even for an
 * instant, and never half-written.
 *
 * A token file that is not a regular file, not the user's own, or readable or writable by group
 * or others is refused, with a warning, the way ssh refuses such a private key: someone else may
 * have read it, or put their token there. The command then runs without a token (and the daemon
 * answers UNAUTHENTICATED where one is needed). */
#ifndef CLINIC_CLI_TOKEN_STORE_H
#define CLINIC_CLI_TOKEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The token file's path into out; false (out holds a sentence saying why) when neither
 * XDG_CONFIG_HOME nor HOME is set to an absolute path. */
bool token_store_path(char *out, size_t len) __attribute__((warn_unused_result));

/* Writes token to the token file, creating its folders (0700) as needed. False with a sentence
 * in err when it could not; the old file (if any) is then untouched. */
bool token_store_save(const char *token, char *err, size_t err_len)
    __attribute__((warn_unused_result));

enum token_load {
    TOKEN_LOAD_OK,      /* *token holds the token (malloc'd; free it) */
    TOKEN_LOAD_NONE,    /* no token file (or no HOME): nobody has logged in */
    TOKEN_LOAD_REFUSED, /* a file exists but is unsafe or unreadable; err says why */
};

/* Reads the token file. */
enum token_load token_store_load(char **token, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Removes the token file; true when it is gone (or was never there). */
bool token_store_remove(char *err, size_t err_len) __attribute__((warn_unused_result));

enum token_source {
    TOKEN_FROM_NONE,
    TOKEN_FROM_FLAG, /* --token */
    TOKEN_FROM_ENV,  /* CLINIC_TOKEN */
    TOKEN_FROM_FILE, /* the token file */
};

/* The token a command sends: --token (flag), else CLINIC_TOKEN (env), else the token file; an
 * empty flag or variable counts as not given. *token is a malloc'd copy (NULL with
 * TOKEN_FROM_NONE). A refused token file is reported on warn ("clinic: ...") and skipped. */
enum token_source token_store_choose(const char *flag, const char *env, char **token, FILE *warn);

#endif
