/* migrate.h: applies sql/NNNN_name.sql (embedded into the binary at build time) in order, each
 * once, each in its own transaction, recorded with its checksum in schema_migrations. Several
 * daemons starting at once serialise on an advisory lock, so each migration runs exactly once. */
#ifndef CLINICD_MIGRATE_H
#define CLINICD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct migration_file {
    const char *name; /* "0001_foundation.sql" */
    const char *sql;
};

/* The embedded migrations, in order, ended by {NULL, NULL} (generated from sql/). */
extern const struct migration_file migration_files[];

/* Applies what `files` holds that the database lacks. Fails, with one sentence in err, when an
 * applied migration's file changed (checksum mismatch), a file name is malformed or a migration
 * fails (that one is rolled back; the ones before it stay). */
__attribute__((warn_unused_result)) bool
migrate_run(struct db *db, const struct migration_file *files, char *err, size_t errlen);

/* Connects to url (waiting up to wait_us for a database that is still starting) and applies the
 * embedded migrations: what start-up and `clinicd bootstrap-admin` both do first. */
__attribute__((warn_unused_result)) bool migrate_database(const char *url, int64_t wait_us,
                                                          char *err, size_t errlen);

#endif
