/* janitor.h: periodic clean-up on its own thread and connection: idempotency keys are kept for a
 * day (long enough for any client's retries), tokens for a week after they stopped working, then
 * deleted in small batches. */
#ifndef CLINICD_JANITOR_H
#define CLINICD_JANITOR_H

struct janitor;

/* Starts the janitor on database_url, working every period_ms; NULL when the thread cannot start
 * (the daemon runs on without it: nothing is lost, the table only grows). */
struct janitor *janitor_start(const char *database_url, long period_ms);
void janitor_stop(struct janitor *j);

#endif
