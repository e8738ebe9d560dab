/* migrate.h: brings a database's schema up to the one this clinicd carries (sql/, embedded at
 * build time). Numbered migrations sql/NNNN_name.sql (tables, constraints, data, DROPs) are
 * applied in order, each once, recorded with their checksum in schema_migrations; then every
 * function file sql/functions/NN_name.sql whose text differs from the one recorded in
 * schema_functions is run again (they hold CREATE OR REPLACE statements). All of it runs in one
 * transaction under one advisory lock, so several daemons starting at once apply each change
 * once, and a database never holds a migration without the functions that go with it. */
#ifndef CLINICD_MIGRATE_H
#define CLINICD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* One embedded SQL file: a migration or a function file. */
struct migration_file {
    const char *name; /* "0001_foundation.sql", "50_booking.sql" */
    const char *sql;
};

/* A migration rewritten after databases had applied it, and the SHA-256 (hex) of the text they
 * recorded: accepted once and replaced by the current text's (sql/superseded_checksums.txt). */
struct superseded_checksum {
    const char *name; /* the migration's file name */
    const char *sha256;
};

/* The embedded migrations, function files and superseded checksums, in order, each ended by an
 * entry of NULLs (generated from sql/ by cmake/embed_sql.cmake). */
extern const struct migration_file migration_files[];
extern const struct migration_file function_files[];
extern const struct superseded_checksum superseded_checksums[];

/* What one run applies; each list ends with an entry of NULLs. */
struct migration_set {
    const struct migration_file *migrations;
    const struct migration_file *functions;
    const struct superseded_checksum *superseded;
};

/* Applies what `set` holds that the database lacks, in one transaction. Fails, with one sentence
 * in err and nothing changed, when an applied migration's text differs from its file (and the
 * recorded checksum is not listed as superseded), a file name is malformed, or a statement
 * fails. */
__attribute__((warn_unused_result)) bool
migrate_apply(struct db *db, const struct migration_set *set, char *err, size_t errlen);

/* migrate_apply with `files` as the migrations and the embedded function files and superseded
 * checksums. */
__attribute__((warn_unused_result)) bool
migrate_run(struct db *db, const struct migration_file *files, char *err, size_t errlen);

/* Connects to url (waiting up to wait_us for a database that is still starting) and applies the
 * embedded migrations and function files: what start-up and `clinicd bootstrap-admin` both do
 * first. */
__attribute__((warn_unused_result)) bool migrate_database(const char *url, int64_t wait_us,
                                                          char *err, size_t errlen);

#endif
