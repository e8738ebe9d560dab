/* janitor.h: periodic clean-up on its own thread and connection: idempotency keys are kept for a
 * day (long enough for any client's retries), tokens for a week after they stopped working, then
 * deleted in small batches. It also writes the audit rows kept while the database was unreachable
 * (audit.h), every second while there are any. */
#ifndef CLINICD_JANITOR_H
#define CLINICD_JANITOR_H

struct janitor;

/* Starts the janitor on database_url, working every period_ms; NULL when the thread cannot start
 * (the daemon runs on without it: the tables only grow, and audit rows kept while the database
 * is unreachable stay in memory until janitor_stop reports them lost). */
struct janitor *janitor_start(const char *database_url, long period_ms);

/* Stops the thread, then writes the audit rows still kept, once more: the daemon stops the
 * janitor after its workers, so the rows of calls cancelled at shutdown are written here. What
 * cannot be written (the database is gone, or j is NULL) is reported as lost, once. */
void janitor_stop(struct janitor *j);

#endif
