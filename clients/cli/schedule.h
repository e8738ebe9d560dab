/* schedule.h: what the scheduling commands (cmd_schedule.c, cmd_day.c) share. */
#ifndef CLINIC_CLI_SCHEDULE_H
#define CLINIC_CLI_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "clinic/v1/admin.pb-c.h"
#include "clinic/v1/scheduling.pb-c.h"

/* The location a command works at. When the user named none (*id == 0) and the clinic has
 * exactly one (not archived), that one: a small clinic need not type --location each time.
 * With `location` not NULL, *location receives the location's record (free it with
 * protobuf_c_message_free_unpacked). Returns 0, or the exit status after printing why. */
int schedule_location(struct cli *cli, int64_t *id, Clinic__V1__Location **location);

/* An appointment's status as the front desk says it: "booked", "checked in", "cancelled late". */
const char *schedule_status(const Clinic__V1__Appointment *a);

/* "Sun 2026-03-29 09:00-10:00" into out. */
const char *schedule_when(const Clinic__V1__Appointment *a, char *out, size_t len);

/* Whether the session is still to happen or under way (booked or checked in): its care alerts
 * call for action; a cancelled or finished one's do not. */
bool schedule_ahead(const Clinic__V1__Appointment *a);

/* "red flag, no consent": an appointment's care alerts in short words, for a table cell ("" when
 * it has none). */
const char *schedule_care_alerts(const Clinic__V1__Appointment *a, char *out, size_t len);

/* Prints an appointment as a block headed "<heading> <id>": when, who, where, its status, and why
 * it was cancelled or recorded after the fact, and what to do about its care alerts. */
void schedule_print_appointment(const Clinic__V1__Appointment *a, const char *heading);

#endif
