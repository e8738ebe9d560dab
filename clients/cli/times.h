/* times.h: instants and days as `clinic` users type and read them.
 *
 * The daemon reads an offset-less "2026-03-29 09:00" in the location's zone and answers in
 * RFC 3339 with the location's offset ("2026-03-29T09:00:00+02:00"), which is already the
 * location's wall-clock time: showing it is cutting it to "2026-03-29 09:00". So the tool passes
 * what the user typed on untouched and needs a zone only for "today". Dates are civil dates:
 * adding days to one needs no zone. */
#ifndef CLINIC_CLI_TIMES_H
#define CLINIC_CLI_TIMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s starts with a day of the Gregorian calendar, "YYYY-MM-DD": 2028-02-29 is one,
 * 2026-02-30 and 2026-04-31 are not. What follows the date is not looked at. */
bool times_is_date(const char *s);

/* "2026-03-29T09:00:00+02:00" as "2026-03-29 09:00" in out; other text is copied. Returns out. */
const char *times_local(const char *instant, char *out, size_t len);

/* "2026-03-29T07:00:00Z" as "2026-03-29 07:00 UTC", "...+02:00" as "2026-03-29 09:00 +02:00":
 * for instants not tied to a location (token expiry, audit). Other text is copied. */
const char *times_readable(const char *instant, char *out, size_t len);

/* "09:00-10:00" for two instants of one day; "2026-03-29 23:00-2026-03-30 01:00" otherwise. */
const char *times_span(const char *start, const char *end, char *out, size_t len);

/* Seconds since the epoch of an RFC 3339 instant; false when text is not one. */
bool times_epoch(const char *instant, int64_t *out);

/* s (which starts with "YYYY-MM-DD") with its date moved by `days`, the rest kept; false when
 * s does not start with a date. */
bool times_add_days(const char *s, int days, char *out, size_t len);

/* 1 = Monday ... 7 = Sunday for the date s starts with; 0 when it starts with none. */
int times_weekday(const char *s);
/* "Mon" ... "Sun" for 1 ... 7 ("?" otherwise). */
const char *times_weekday_name(int weekday);

/* Today's date ("YYYY-MM-DD") in the IANA zone. False when this machine has no data for the
 * zone: out then holds today's date in UTC. */
bool times_today(const char *zone, char out[11]);

/* True when instant (RFC 3339 with its offset) is the second time its wall-clock reading came
 * round in the IANA zone: the clocks went back over it ("02:30+01:00" in Berlin on the last
 * Sunday of October). False when this machine has no data for the zone. */
bool times_second_pass(const char *instant, const char *zone);

/* times_span, with TIMES_SECOND_PASS_MARK after each time that is a second pass in zone; sets
 * *marked when it added one (the caller then prints TIMES_SECOND_PASS_NOTE once). */
const char *times_span_in(const char *start, const char *end, const char *zone, char *out,
                          size_t len, bool *marked);
#define TIMES_SECOND_PASS_MARK "*"
#define TIMES_SECOND_PASS_NOTE                                                                     \
    "* the second time the clock showed this time that day: the clocks went back over it"

/* Now as RFC 3339 in UTC: "2026-03-29T07:00:00Z". */
void times_now(char *out, size_t len);

/* A range bound as typed: a time is kept; a bare date means its day's start, or for an end
 * bound the next day's start, so that "--from 2026-03-30 --to 2026-04-03" includes both days. */
void times_bound(const char *typed, bool end, char *out, size_t len);

#endif
