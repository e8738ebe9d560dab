/* audit.h: the audit trail's writer. One row per mutating call, per read of clinical data and
 * per refused call: who (user and role), the method, the target, the outcome and the request id.
 * A call that succeeds writes it in its own transaction, so the row commits exactly when the work
 * does; a call that fails after its caller was known writes it alone, after the rollback. A row
 * the database cannot take because it is gone is kept in memory (the backlog) and written by the
 * janitor once it is back, with the time it happened. */
#ifndef CLINICD_AUDIT_H
#define CLINICD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "db.h"

/* Appends the call's row with its current outcome, in whatever transaction is open (or on its
 * own). When the database is unreachable (SQLSTATE class 08, 57P01-57P03, or the connection was
 * abandoned at shutdown) the row is kept in the backlog instead, or counted as lost when the
 * backlog is full; the backlog reports either, once. True when the row was written or handed to
 * the backlog; false when the database refused it for another reason (log it: a bug). The call's
 * own outcome is left alone. */
__attribute__((warn_unused_result)) bool audit_record(struct call *call);

/* The same row as a statement for the call's last round trip (db_commit_with); false (the call
 * failed) when out of memory. */
__attribute__((warn_unused_result)) bool audit_step(struct call *call, struct db_step *step);

/* --- the backlog: rows kept while the database is unreachable --- */

/* How many rows the backlog holds at most. Calls that arrive while the database is down fail
 * before their caller is known and leave no row, so an outage leaves at most one row per worker
 * that was inside a call when the database went away (or was abandoned at shutdown): 1024 rows
 * outlast many outages of a large pool. Each row is a fixed-size copy (audit.c), about 320 bytes:
 * the backlog is about 320 KiB, static, and never grows. */
#define AUDIT_BACKLOG_ROWS 1024

/* Keeps the call's row (its current outcome, the time now) to be written by audit_backlog_drain.
 * False when the backlog is full: the row is then counted as lost, and reported with the others
 * of its episode. Safe from any thread. */
bool audit_backlog_keep(const struct call *call);

/* Writes the kept rows on db, oldest first, until none is left or the database fails again. An
 * episode ends when the backlog is empty again: then one line says how many rows were written
 * late and, when any were lost (the backlog was full, the database refused one, or final), one
 * line "N audit rows were lost: ...". With final (the daemon stops), the rows that cannot be
 * written now are given up and counted as lost; db may then be NULL (nowhere to write). Call it
 * from one thread at a time (the janitor's). Returns the number of rows still kept. */
size_t audit_backlog_drain(struct db *db, bool final);

/* Rows kept now, waiting for the database. */
size_t audit_backlog_pending(void);

/* Rows lost in the episode under way (not yet reported): dropped because the backlog was full,
 * or refused by the database. */
uint64_t audit_backlog_lost(void);

#endif
