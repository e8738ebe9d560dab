/* embedded_pg.h: the embedded default: a private PostgreSQL cluster under clinicd's data folder,
 * created with initdb on first start and reused after, reached only through a Unix socket in
 * that folder (no TCP), run as an unprivileged user when clinicd runs as root. The test harness
 * uses the same module for its own private clusters. */
#ifndef CLINICD_EMBEDDED_PG_H
#define CLINICD_EMBEDDED_PG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define EMBEDDED_PG_DATABASE  "clinic"
#define EMBEDDED_PG_SUPERUSER "clinicd"

struct embedded_pg {
    char root[PATH_MAX / 2];   /* the data folder, absolute */
    char pgdata[PATH_MAX];     /* root/pgdata: the cluster */
    char socket_dir[PATH_MAX]; /* root/run: socket and lock file */
    char log_dir[PATH_MAX];    /* root/log: server and set-up logs */
    char bindir[PATH_MAX];     /* where initdb and pg_ctl live */
    bool drop_privileges;      /* run PostgreSQL's programs as uid/gid */
    uid_t uid;
    gid_t gid;
    bool fast;                /* tests only: fsync and synchronous commit off */
    bool started;             /* we started the server, so we stop it */
    char url[PATH_MAX + 128]; /* libpq URL of the clinic database */
};

/* Resolves the folders and PostgreSQL's programs (pg_config --bindir, else the newest
 * /usr/lib/postgresql/N/bin) and creates the cluster with initdb when the folder has none.
 * pg_user is used only when running as root. False with one sentence in err on failure. */
__attribute__((warn_unused_result)) bool embedded_pg_prepare(struct embedded_pg *pg,
                                                             const char *data_dir,
                                                             const char *pg_user, bool fast,
                                                             char *err, size_t errlen);

/* Starts the server unless one already runs on the folder, waits until it accepts connections
 * and creates the clinic database if missing. pg->url is then ready to use. */
__attribute__((warn_unused_result)) bool embedded_pg_start(struct embedded_pg *pg, char *err,
                                                           size_t errlen);

/* Stops the server (fast mode: open sessions are rolled back) if this process started it. */
bool embedded_pg_stop(struct embedded_pg *pg);

/* Finds PostgreSQL's server programs' folder into out; false if none is installed. */
bool embedded_pg_find_bindir(char *out, size_t len);

#endif
