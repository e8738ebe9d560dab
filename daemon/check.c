/* check.c: the field checks handlers share (check.h). */
#include "check.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "status.h"

bool check_id(struct call *call, const char *field, int64_t id)
{
    if (id > 0)
        return true;
    call_violation(call, field, "must be the id of an existing record (a positive number)");
    return false;
}

bool check_optional_id(struct call *call, const char *field, int64_t id)
{
    return id == 0 || check_id(call, field, id);
}

static size_t code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

bool check_text(struct call *call, const char *field, const char *s, size_t min, size_t max)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            call_violation(call, field, "must not contain control characters");
            return false;
        }
    }
    size_t n = code_points(s);
    if (n >= min && n <= max)
        return true;
    if (min > 0 && n == 0)
        call_violation(call, field, "is required");
    else
        call_violation(call, field, "must be %zu to %zu characters long", min, max);
    return false;
}

bool check_email(struct call *call, const char *field, const char *s, bool required)
{
    if (!*s && !required)
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            call_violation(call, field, "must not contain control characters");
            return false;
        }
    }
    const char *at = strchr(s, '@');
    bool ok = at && at != s && at[1] && !strchr(at + 1, '@') && strlen(s) <= 254 &&
              !strpbrk(s, " \t\r\n");
    if (!ok)
        call_violation(call, field,
                       *s ? "must be an email address like anna@example.org" : "is required");
    return ok;
}

bool check_phone(struct call *call, const char *field, const char *s)
{
    size_t digits = 0, len = strlen(s);
    bool ok = len == 0 || (len >= 3 && len <= 30);
    if (len == 0)
        return true;
    for (size_t i = 0; ok && i < len; i++) {
        char c = s[i];
        if (isdigit((unsigned char)c))
            digits++;
        else
            ok = c == ' ' || c == '(' || c == ')' || c == '/' || c == '-' || (c == '+' && i == 0);
    }
    if (ok && digits >= 3)
        return true;
    call_violation(call, field, "must be a phone number like +49 30 1234567");
    return false;
}

bool check_features(struct call *call, const char *field, char *const *items, size_t n)
{
    if (n > 32) {
        call_violation(call, field, "may list at most 32 features");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *f = items[i];
        for (size_t k = 0; k < i; k++) {
            if (strcmp(items[k], f) == 0) {
                call_violation(call, field, "lists \"%.40s\" more than once", f);
                return false;
            }
        }
        bool ok = f[0] >= 'a' && f[0] <= 'z' && strlen(f) <= 40;
        for (const char *p = f; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok) {
            call_violation(call, field, "\"%.40s\" must be a lower-case word like heated_table", f);
            return false;
        }
    }
    return true;
}

static bool digits_at(const char *s, size_t from, size_t count)
{
    for (size_t i = from; i < from + count; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool check_day(struct call *call, const char *field, const char *s, bool optional)
{
    if (!*s && optional)
        return true;
    bool ok = strlen(s) == 10 && digits_at(s, 0, 4) && s[4] == '-' && digits_at(s, 5, 2) &&
              s[7] == '-' && digits_at(s, 8, 2);
    if (ok) {
        static const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int year = (int)strtol(s, NULL, 10);
        int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        ok = month >= 1 && month <= 12 && day >= 1 &&
             day <= days_in[month - 1] + (month == 2 && leap) && year >= 1900;
    }
    if (!ok)
        call_violation(call, field, "must be a real date like 2026-03-29");
    return ok;
}

bool check_clock(struct call *call, const char *field, const char *s)
{
    bool ok = strlen(s) == 5 && digits_at(s, 0, 2) && s[2] == ':' && digits_at(s, 3, 2);
    if (ok) {
        int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
        ok = (h < 24 && m < 60) || (h == 24 && m == 0);
    }
    if (!ok)
        call_violation(call, field, "must be a time of day like 09:00");
    return ok;
}

bool check_instant(struct call *call, const char *field, const char *s, bool optional)
{
    if (!*s && optional)
        return true;
    /* the shape only; the database parses it in the right zone and refuses what does not exist */
    bool ok = strlen(s) >= 16 && strlen(s) <= 40 && digits_at(s, 0, 4) && s[4] == '-' &&
              (s[10] == ' ' || s[10] == 'T') && s[13] == ':';
    if (!ok)
        call_violation(call, field, "must look like 2026-03-29 09:00 or 2026-03-29T09:00:00+02:00");
    return ok;
}

bool check_in_mask(char *const *mask, size_t n, const char *field)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(mask[i], field) == 0)
            return true;
    return false;
}

bool check_update_mask(struct call *call, char *const *mask, size_t n, const char *const *allowed)
{
    if (n == 0) {
        call_violation(call, "update_mask", "must name the fields to change");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, mask[i]) == 0;
        if (!known) {
            call_violation(call, "update_mask", "\"%.40s\" is not a field that can be changed",
                           mask[i]);
            return false;
        }
    }
    return true;
}

/* Page tokens are "p" and the key to continue after: opaque to clients, checked here. */
bool check_page(struct call *call, uint32_t page_size, const char *token, uint32_t *size,
                int64_t *after)
{
    *size = page_size ? page_size : PAGE_SIZE_DEFAULT;
    *after = 0;
    bool ok = true;
    if (*size > PAGE_SIZE_MAX) {
        call_violation(call, "page_size", "must be at most %d", PAGE_SIZE_MAX);
        ok = false;
    }
    if (*token) {
        char *end;
        errno = 0;
        long long v = token[0] == 'p' ? strtoll(token + 1, &end, 10) : -1;
        if (token[0] != 'p' || errno || end == token + 1 || *end || v < 0) {
            call_violation(call, "page_token", "is not a token from an earlier reply");
            return false;
        }
        *after = v;
    }
    return ok;
}

bool check_client_exists(struct call *call, int64_t client_id)
{
    static const struct db_stmt exists_stmt = {"SELECT 1 FROM clients WHERE id = $1", 1};
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)client_id);
    struct db_result *r;
    if (db_query(call->db, &exists_stmt, (const char *[]){id}, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    bool exists = db_rows(r) > 0;
    db_result_free(r);
    if (!exists)
        call_fail(call, STATUS_NOT_FOUND, "client %lld does not exist", (long long)client_id);
    return exists;
}

bool check_time_zone(struct call *call, const char *field, const char *zone)
{
    static const struct db_stmt zone_stmt = {"SELECT clinic_valid_time_zone($1)", 1};
    struct db_result *r;
    if (!check_text(call, field, zone, 1, 64))
        return false;
    if (db_query(call->db, &zone_stmt, (const char *[]){zone}, &r) != STATUS_OK) {
        call_fail_db(call);
        return false;
    }
    bool known = strcmp(db_value(r, 0, 0), "t") == 0;
    if (!known)
        call_violation(call, field,
                       "\"%s\" is not an IANA time zone; use a name like "
                       "Europe/Berlin or America/New_York",
                       zone);
    db_result_free(r);
    return known;
}

bool check_long_text(struct call *call, const char *field, const char *s, size_t max, bool required)
{
    size_t chars = 0;
    bool blank = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7F) {
            call_violation(call, field,
                           "must not contain control characters other than tabs "
                           "and line breaks");
            return false;
        }
        chars += (*p & 0xC0) != 0x80;
        blank = blank && isspace(*p);
    }
    if (chars > max) {
        call_violation(call, field, "must be at most %zu characters long (it has %zu); shorten it",
                       max, chars);
        return false;
    }
    if (required && blank) {
        call_violation(call, field, "is required and must not be blank");
        return false;
    }
    return true;
}

bool check_enum_list(struct call *call, const char *field, const ProtobufCEnumDescriptor *d,
                     const int *values, size_t n, const char *what)
{
    /* more items than values means a repeat; refusing first keeps the loop below short */
    if (n >= d->n_values) {
        call_violation(call, field, "names a %s more than once; list each at most once", what);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, values[i]);
        if (!v) {
            call_violation(call, field, "%d is not a known %s; use one of %s's values", values[i],
                           what, d->short_name);
            return false;
        }
        if (values[i] == 0) {
            call_violation(call, field, "must not list %s; name the %s itself", v->name, what);
            return false;
        }
        for (size_t k = 0; k < i; k++) {
            if (values[k] == values[i]) {
                call_violation(call, field, "names %s more than once; list each %s once", v->name,
                               what);
                return false;
            }
        }
    }
    return true;
}
