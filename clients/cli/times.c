/* times.c: cutting the daemon's RFC 3339 instants for display, civil-date arithmetic, and
 * "today" in a location's zone. */
#include "times.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int number(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* The date s starts with, as days since the epoch; false when it starts with none. */
static bool date_days(const char *s, int64_t *days)
{
    if (strnlen(s, 10) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    *days = days_from_civil(number(s, 4), number(s + 5, 2), number(s + 8, 2));
    return true;
}

bool times_is_date(const char *s)
{
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strnlen(s, 10) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    int year = number(s, 4), month = number(s + 5, 2), day = number(s + 8, 2);
    if (month < 1 || month > 12 || day < 1)
        return false;
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return day <= month_days[month - 1] + (month == 2 && leap);
}

/* True when s looks like "YYYY-MM-DD?HH:MM...". */
static bool has_clock(const char *s)
{
    return strnlen(s, 16) == 16 && digits(s, 4) && s[4] == '-' && s[7] == '-' &&
           (s[10] == 'T' || s[10] == ' ') && digits(s + 11, 2) && s[13] == ':' && digits(s + 14, 2);
}

const char *times_local(const char *instant, char *out, size_t len)
{
    if (has_clock(instant))
        snprintf(out, len, "%.10s %.5s", instant, instant + 11);
    else
        snprintf(out, len, "%s", instant);
    return out;
}

const char *times_readable(const char *instant, char *out, size_t len)
{
    int64_t epoch;
    if (!has_clock(instant) || !times_epoch(instant, &epoch))
        return times_local(instant, out, len);
    const char *zone = instant + 16 + strcspn(instant + 16, "Zz+-");
    bool utc = *zone == 'Z' || *zone == 'z' || strcmp(zone, "+00:00") == 0 ||
               strcmp(zone, "+0000") == 0 || strcmp(zone, "-00:00") == 0;
    snprintf(out, len, "%.10s %.5s%s%s", instant, instant + 11, *zone ? " " : "",
             utc ? "UTC" : zone);
    return out;
}

const char *times_span(const char *start, const char *end, char *out, size_t len)
{
    if (has_clock(start) && has_clock(end) && strncmp(start, end, 10) == 0)
        snprintf(out, len, "%.5s-%.5s", start + 11, end + 11);
    else if (has_clock(start) && has_clock(end))
        snprintf(out, len, "%.10s %.5s-%.10s %.5s", start, start + 11, end, end + 11);
    else
        snprintf(out, len, "%s-%s", start, end);
    return out;
}

bool times_epoch(const char *s, int64_t *out)
{
    int64_t days;
    if (!has_clock(s) || !date_days(s, &days))
        return false;
    int64_t secs = days * 86400 + number(s + 11, 2) * 3600 + number(s + 14, 2) * 60;
    const char *p = s + 16;
    if (p[0] == ':' && digits(p + 1, 2)) {
        secs += number(p + 1, 2);
        p += 3;
    }
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == '+' || *p == '-') {
        if (!digits(p + 1, 2))
            return false;
        const char *mm = p + 3 + (p[3] == ':');
        int offset = number(p + 1, 2) * 3600 + (digits(mm, 2) ? number(mm, 2) * 60 : 0);
        secs += *p == '+' ? -offset : offset;
    } else if (*p != 'Z' && *p != 'z' && *p != '\0') {
        return false;
    }
    *out = secs;
    return true;
}

bool times_add_days(const char *s, int days, char *out, size_t len)
{
    int64_t z, y;
    int m, d;
    if (!date_days(s, &z))
        return false;
    civil_from_days(z + days, &y, &m, &d);
    snprintf(out, len, "%04lld-%02d-%02d%s", (long long)y, m, d, s + 10);
    return true;
}

int times_weekday(const char *s)
{
    int64_t z;
    if (!date_days(s, &z))
        return 0;
    return (int)(((z + 3) % 7 + 7) % 7) + 1; /* 1970-01-01 was a Thursday */
}

const char *times_weekday_name(int weekday)
{
    static const char *const names[] = {"?", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    return names[weekday >= 1 && weekday <= 7 ? weekday : 0];
}

/* The C library reads zones only through TZ: set it for a conversion, then put it back
 * (zone_leave). Nothing else in this process reads the environment meanwhile (nng's I/O threads
 * do not). Returns whether this machine has data for the zone; UTC is used when not. */
static bool zone_enter(const char *zone, char **saved)
{
    char path[256];
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    bool known = *zone && zone[0] != '/' && !strstr(zone, "..") && access(path, R_OK) == 0;
    const char *old = getenv("TZ");
    *saved = old ? strdup(old) : NULL;
    setenv("TZ", known ? zone : "UTC", 1);
    tzset();
    return known;
}

static void zone_leave(char *saved)
{
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

bool times_today(const char *zone, char out[11])
{
    char *saved;
    bool known = zone_enter(zone, &saved);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
    zone_leave(saved);
    return known;
}

/* Clocks go back by at most 2 hours (Antarctica/Troll); offsets move in quarter hours. */
#define REPEAT_MAX_S  (3 * 3600)
#define REPEAT_STEP_S (15 * 60)

bool times_second_pass(const char *instant, const char *zone)
{
    int64_t t;
    if (!zone || !*zone || !times_epoch(instant, &t))
        return false;
    char *saved;
    bool found = false;
    if (zone_enter(zone, &saved)) {
        struct tm tm;
        time_t at = (time_t)t;
        localtime_r(&at, &tm);
        int64_t wall = t + tm.tm_gmtoff;
        /* an earlier instant that read the same on the wall clock makes this the second */
        for (int64_t back = REPEAT_STEP_S; back <= REPEAT_MAX_S && !found; back += REPEAT_STEP_S) {
            time_t before = (time_t)(t - back);
            localtime_r(&before, &tm);
            found = before + tm.tm_gmtoff == wall;
        }
    }
    zone_leave(saved);
    return found;
}

const char *times_span_in(const char *start, const char *end, const char *zone, char *out,
                          size_t len, bool *marked)
{
    const char *mark_start = times_second_pass(start, zone) ? TIMES_SECOND_PASS_MARK : "";
    const char *mark_end = times_second_pass(end, zone) ? TIMES_SECOND_PASS_MARK : "";
    if (!*mark_start && !*mark_end)
        return times_span(start, end, out, len);
    *marked = true;
    char from[64], to[64];
    times_local(start, from, sizeof from);
    times_local(end, to, sizeof to);
    bool one_day = has_clock(start) && has_clock(end) && strncmp(start, end, 10) == 0;
    snprintf(out, len, "%s%s-%s%s", one_day ? from + 11 : from, mark_start, one_day ? to + 11 : to,
             mark_end);
    return out;
}

void times_now(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void times_bound(const char *typed, bool end, char *out, size_t len)
{
    if (strlen(typed) != 10 || !times_add_days(typed, end ? 1 : 0, out, len))
        snprintf(out, len, "%s", typed);
    else
        snprintf(out + 10, len > 10 ? len - 10 : 0, " 00:00");
}
