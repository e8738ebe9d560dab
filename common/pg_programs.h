/* pg_programs.h: where PostgreSQL's own programs (initdb, pg_ctl, pgbench, ...) live on this
 * machine, found without PATH: a fresh Debian 12 has none of them on PATH, only under
 * /usr/lib/postgresql/N/bin. Shared by the daemon's embedded cluster and the benchmarks. */
#ifndef CLINIC_PG_PROGRAMS_H
#define CLINIC_PG_PROGRAMS_H

#include <stdbool.h>
#include <stddef.h>

/* Writes into out the absolute folder that holds `program` (e.g. "initdb"): $CLINIC_PG_BINDIR
 * when set, else what /usr/bin/pg_config --bindir says (Debian's libpq-dev), else the newest
 * /usr/lib/postgresql/N/bin. False when none of them holds an executable `program`. */
__attribute__((warn_unused_result)) bool pg_programs_find_bindir(const char *program, char *out,
                                                                 size_t len);

#endif
