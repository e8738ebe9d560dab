/* fuzz_cli_times.c: libFuzzer target. The clinic tool's instants and dates (clients/cli/times.c):
 * cutting RFC 3339 instants for display, spans, epoch seconds, civil-date arithmetic, weekdays,
 * range bounds, and "today" in a zone.
 *
 * Input: byte 0 sets the output buffer's size (1..64 bytes, allocated exactly, so ASan sees a
 * byte written past it) and whether a bound is an end; bytes 1-2 a day count (-32768..32767);
 * the rest is up to three lines: an instant or date, a second one (for spans), a zone.
 * Checks: every output is a string within its buffer; moving a canonical date by n days and back
 * gives it again; the weekday moves with the date; today is a date. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "times.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_BYTES 256

/* The next line of data (at most LINE_MAX_BYTES - 1 bytes) into line; advances *p. */
static void next_line(const uint8_t **p, const uint8_t *end, char line[LINE_MAX_BYTES])
{
    size_t n = 0;
    while (*p < end && **p != '\n' && n < LINE_MAX_BYTES - 1)
        line[n++] = (char)*(*p)++;
    if (*p < end && **p == '\n')
        (*p)++;
    line[n] = '\0'; /* a NUL in the input ends the string there, as in argv */
}

static void check_output(const char *what, const char *out, size_t len)
{
    if (strnlen(out, len) >= len)
        fuzz_fail("%s left no NUL within its %zu-byte buffer", what, len);
}

/* Date arithmetic: n days forward and back, and the weekday with it. */
static void check_days(const char *s, int days)
{
    char same[LINE_MAX_BYTES + 16], moved[LINE_MAX_BYTES + 16], back[LINE_MAX_BYTES + 16];
    if (!times_add_days(s, 0, same, sizeof same)) {
        if (times_weekday(s) != 0)
            fuzz_fail("\"%s\" has a weekday but no date", s);
        return;
    }
    int weekday = times_weekday(s);
    if (weekday < 1 || weekday > 7)
        fuzz_fail("\"%s\" has weekday %d", s, weekday);
    if (strcmp(same, s) != 0)
        return; /* not a canonical date ("2026-02-30"): moving it normalises it */
    if (!times_add_days(s, days, moved, sizeof moved))
        fuzz_fail("\"%s\" could not be moved by %d days", s, days);
    int expected = ((weekday - 1 + days % 7) % 7 + 7) % 7 + 1;
    if (times_weekday(moved) != 0 && times_weekday(moved) != expected)
        fuzz_fail("\"%s\" + %d days = \"%s\", weekday %d, not %d", s, days, moved,
                  times_weekday(moved), expected);
    if (times_add_days(moved, -days, back, sizeof back) && strcmp(back, s) != 0)
        fuzz_fail("\"%s\" + %d - %d days = \"%s\"", s, days, days, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t len = 1 + data[0] % 64;
    bool end = data[0] & 0x80;
    int days = (int16_t)(data[1] | data[2] << 8);
    const uint8_t *p = data + 3, *stop = data + size;
    char first[LINE_MAX_BYTES], second[LINE_MAX_BYTES], zone[LINE_MAX_BYTES];
    next_line(&p, stop, first);
    next_line(&p, stop, second);
    next_line(&p, stop, zone);

    char *out = malloc(len);
    if (!out)
        abort();
    check_output("times_local", times_local(first, out, len), len);
    check_output("times_readable", times_readable(first, out, len), len);
    check_output("times_span", times_span(first, second, out, len), len);
    if (times_add_days(first, days, out, len))
        check_output("times_add_days", out, len);
    times_bound(first, end, out, len);
    check_output("times_bound", out, len);
    times_now(out, len);
    int64_t epoch;
    if (times_epoch(first, &epoch) && times_weekday(first) == 0)
        fuzz_fail("\"%s\" is an instant without a weekday", first);
    if (strcmp(times_weekday_name((int8_t)data[0]), "?") == 0 && data[0] >= 1 && data[0] <= 7)
        fuzz_fail("weekday %d has no name", data[0]);
    check_days(first, days);
    if (zone[0]) {
        char today[11];
        times_today(zone, today);
        if (strlen(today) != 10 || times_weekday(today) == 0)
            fuzz_fail("today in \"%s\" is \"%s\", not a date", zone, today);
    }
    free(out);
    return 0;
}
