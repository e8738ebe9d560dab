/* token_store.c: the token file of `clinic login` (mode 0600 in a 0700 folder, written by rename)
 * and the order in which a command looks for its token. See token_store.h for the rules. */
#include "token_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_MAX_BYTES 4096 /* a token is 43 characters; anything near this is not one */

bool token_store_path(char *out, size_t len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, len, "%s/clinic/token", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, len, "%s/.config/clinic/token", home);
    else {
        snprintf(out, len, "neither XDG_CONFIG_HOME nor HOME is set to an absolute path");
        return false;
    }
    if (n < 0 || (size_t)n >= len) {
        snprintf(out, len, "the path of the token file is too long");
        return false;
    }
    return true;
}

/* Creates every missing folder of path's directory part with mode 0700 (as the XDG
 * specification asks); folders that exist are left as they are. False with err filled. */
static bool make_parents(const char *path, char *err, size_t err_len)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return true;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        bool last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        *p = '\0';
        struct stat st;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
            return false;
        }
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, err_len, "%s is not a folder", dir);
            return false;
        }
        if (last)
            return true;
        *p = '/';
    }
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

bool token_store_save(const char *token, char *err, size_t err_len)
{
    char path[4096], tmp[4096 + 16];
    if (!token_store_path(path, sizeof path)) {
        snprintf(err, err_len, "cannot store the token: %s", path);
        return false;
    }
    if (!make_parents(path, err, err_len))
        return false;
    snprintf(tmp, sizeof tmp, "%.*s/.token.XXXXXX", (int)(strrchr(path, '/') - path), path);
    int fd = mkstemp(tmp); /* created 0600, whatever the umask */
    if (fd < 0) {
        snprintf(err, err_len, "cannot create a file next to %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, token, strlen(token)) &&
              write_all(fd, "\n", 1) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(saved));
    }
    return ok;
}

/* The token read from fd: its first line, without surrounding white space; NULL when it holds
 * none or something that is not printable ASCII. */
static char *read_token(int fd)
{
    char buf[TOKEN_MAX_BYTES + 1];
    size_t used = 0;
    ssize_t n;
    while (used < TOKEN_MAX_BYTES &&
           ((n = read(fd, buf + used, TOKEN_MAX_BYTES - used)) > 0 || (n < 0 && errno == EINTR)))
        used += n > 0 ? (size_t)n : 0;
    buf[used] = '\0';
    size_t len = strcspn(buf, "\r\n");
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    if (len == 0 || used == TOKEN_MAX_BYTES)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (buf[i] <= ' ' || buf[i] > '~')
            return NULL;
    return strndup(buf, len);
}

enum token_load token_store_load(char **token, char *err, size_t err_len)
{
    char path[4096];
    *token = NULL;
    if (!token_store_path(path, sizeof path))
        return TOKEN_LOAD_NONE;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        return TOKEN_LOAD_NONE;
    if (fd < 0) {
        snprintf(err, err_len, "cannot read the token file %s: %s", path,
                 errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        return TOKEN_LOAD_REFUSED;
    }
    struct stat st;
    enum token_load result = TOKEN_LOAD_REFUSED;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        snprintf(err, err_len, "the token file %s is not a regular file; ignoring it", path);
    else if (st.st_uid != geteuid())
        snprintf(err, err_len,
                 "the token file %s belongs to another user; ignoring it (remove it and log in "
                 "again)",
                 path);
    else if (st.st_mode & 077)
        snprintf(err, err_len,
                 "the token file %s is accessible by others (mode %04o); ignoring it: run "
                 "`chmod 600 %s`, or `clinic login` again",
                 path, (unsigned)(st.st_mode & 07777), path);
    else if (!(*token = read_token(fd)))
        snprintf(err, err_len,
                 "the token file %s holds no token; ignoring it (`clinic login` writes a new one)",
                 path);
    else
        result = TOKEN_LOAD_OK;
    close(fd);
    return result;
}

bool token_store_remove(char *err, size_t err_len)
{
    char path[4096];
    if (!token_store_path(path, sizeof path))
        return true;
    if (unlink(path) == 0 || errno == ENOENT)
        return true;
    snprintf(err, err_len, "cannot remove %s: %s", path, strerror(errno));
    return false;
}

enum token_source token_store_choose(const char *flag, const char *env, char **token, FILE *warn)
{
    char err[4200];
    *token = NULL;
    if (flag && *flag)
        return (*token = strdup(flag)) ? TOKEN_FROM_FLAG : TOKEN_FROM_NONE;
    if (env && *env)
        return (*token = strdup(env)) ? TOKEN_FROM_ENV : TOKEN_FROM_NONE;
    switch (token_store_load(token, err, sizeof err)) {
    case TOKEN_LOAD_OK:
        return TOKEN_FROM_FILE;
    case TOKEN_LOAD_REFUSED:
        if (warn)
            fprintf(warn, "clinic: warning: %s\n", err);
        break;
    case TOKEN_LOAD_NONE:
        break;
    }
    return TOKEN_FROM_NONE;
}
