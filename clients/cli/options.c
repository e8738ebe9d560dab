/* options.c: the table-driven option parser every `clinic` command shares, and the --help it
 * generates from the same table. A value of the wrong shape is a usage error here, before any
 * call, so the user learns which option was wrong; whether a value exists (an id, a zone) and
 * fits the rules is the daemon's to say. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "times.h"

#define HELP_COLUMN 26
#define GLUE        '\x1f' /* a space wrap() does not break at ("--client ID") */
#define HELP_WIDTH  79

/* The value's name in help and messages. */
static const char *metavar(const struct option *o)
{
    if (o->arg)
        return o->arg;
    switch (o->kind) {
    case OPTION_ID:
        return "ID";
    case OPTION_UINT:
        return "N";
    case OPTION_FLAG:
        return "";
    case OPTION_LIST:
        return "A,B";
    case OPTION_ID_LIST:
        return "ID,ID";
    case OPTION_INSTANT:
        return "TIME";
    case OPTION_DATE:
        return "DATE";
    case OPTION_CLOCK:
        return "HH:MM";
    case OPTION_MONEY:
        return "AMOUNT";
    case OPTION_CHOICE:
        return o->choices;
    case OPTION_WEEKDAYS:
        return "DAYS";
    case OPTION_INT:
        return "N";
    case OPTION_STRING:
        break;
    }
    return "TEXT";
}

/* What a value of o's kind must look like, for usage errors ("must be ..."). */
static void expected(const struct option *o, char *out, size_t len)
{
    switch (o->kind) {
    case OPTION_ID:
        snprintf(out, len, "an id (a whole number from 1 up)");
        break;
    case OPTION_UINT:
        snprintf(out, len, "a whole number from 0 to 4294967295");
        break;
    case OPTION_ID_LIST:
        snprintf(out, len, "ids separated by commas, like 1,2");
        break;
    case OPTION_INSTANT:
        snprintf(out, len, "a time like \"2026-03-29 09:00\" or \"2026-03-29T09:00:00+02:00\"%s",
                 o->flags & OPTION_DAY_OK ? ", or a date like 2026-03-29" : "");
        break;
    case OPTION_DATE:
        snprintf(out, len, "a date like 2026-03-29");
        break;
    case OPTION_CLOCK:
        snprintf(out, len, "a time of day like 09:00");
        break;
    case OPTION_MONEY:
        snprintf(out, len, "an amount like 60 or 60.50");
        break;
    case OPTION_CHOICE: {
        size_t used = (size_t)snprintf(out, len, "one of ");
        for (const char *c = o->choices; *c && used + 3 < len; c++) {
            if (*c == '|') {
                out[used++] = ',';
                out[used++] = ' ';
            } else {
                out[used++] = *c;
            }
        }
        out[used < len ? used : len - 1] = '\0';
        break;
    }
    case OPTION_WEEKDAYS:
        snprintf(out, len, "weekdays like mon, mon-fri or sat,sun (or 1-7, 1 = Monday)");
        break;
    case OPTION_INT:
        snprintf(out, len, "a whole number from %d to %d%s", o->min, o->max,
                 o->flags & OPTION_DASH_NONE ? ", or - for none" : "");
        break;
    case OPTION_STRING:
    case OPTION_LIST:
    case OPTION_FLAG:
        snprintf(out, len, "text");
        break;
    }
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_clock(const char *s)
{
    if (!digits(s, 2) || s[2] != ':' || !digits(s + 3, 2))
        return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return (h < 24 && m < 60) || (h == 24 && m == 0);
}

/* "2026-03-29 09:00", "2026-03-29T09:00:00", "...:00.5", with "Z" or "+02:00" / "+0200" after:
 * the shapes the daemon reads (it reads an offset-less time in the location's zone). A day that
 * does not exist (2026-02-30) is refused like an hour that does not (25:00): both are the user's
 * typing, so both are usage errors here rather than INVALID_ARGUMENT from the daemon later. */
static bool is_instant(const char *s)
{
    if (strlen(s) < 16 || !times_is_date(s) || (s[10] != ' ' && s[10] != 'T') || !is_clock(s + 11))
        return false;
    const char *p = s + 16;
    if (p[0] == ':' && digits(p + 1, 2)) {
        p += 3;
        if (*p == '.' && isdigit((unsigned char)p[1]))
            for (p++; isdigit((unsigned char)*p); p++)
                ;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    if (*p == '+' || *p == '-') {
        p++;
        if (!digits(p, 2))
            return false;
        p += 2;
        if (*p == ':')
            p++;
        return digits(p, 2) && p[2] == '\0';
    }
    return *p == '\0';
}

static bool parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = isdigit((unsigned char)*s) ? strtoll(s, &end, 10) : 0;
    if (v < 1 || errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_uint(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = isdigit((unsigned char)*s) ? strtoull(s, &end, 10) : 0;
    if (!isdigit((unsigned char)*s) || errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* A whole number in [min, max]; "-" as -1 when dash_none. */
static bool parse_int(const char *s, int min, int max, bool dash_none, int32_t *out)
{
    if (dash_none && strcmp(s, "-") == 0) {
        *out = -1;
        return true;
    }
    if (!isdigit((unsigned char)s[*s == '-']))
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < min || v > max)
        return false;
    *out = (int32_t)v;
    return true;
}

/* "60", "60.5", "60.50" as cents. */
static bool parse_money(const char *s, int64_t *cents)
{
    size_t whole = strspn(s, "0123456789");
    if (whole == 0 || whole > 12)
        return false;
    long long units = strtoll(s, NULL, 10) * 100;
    const char *p = s + whole;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        if (frac < 1 || frac > 2)
            return false;
        units += (p[1] - '0') * 10 + (frac == 2 ? p[2] - '0' : 0);
        p += 1 + frac;
    }
    if (*p)
        return false;
    *cents = units;
    return true;
}

static int choice_index(const char *choices, const char *value)
{
    size_t n = strlen(value);
    int index = 0;
    for (const char *c = choices; *c; index++) {
        size_t len = strcspn(c, "|");
        if (len == n && strncasecmp(c, value, n) == 0)
            return index;
        c += len + (c[len] == '|');
    }
    return -1;
}

/* One weekday: "1".."7" or a name ("mon", "monday"); 0 when not one. */
static int weekday(const char *s, size_t n)
{
    static const char *const names[] = {"monday", "tuesday",  "wednesday", "thursday",
                                        "friday", "saturday", "sunday"};
    if (n == 1 && s[0] >= '1' && s[0] <= '7')
        return s[0] - '0';
    for (int d = 0; d < 7; d++)
        if (n >= 3 && n <= strlen(names[d]) && strncasecmp(s, names[d], n) == 0)
            return d + 1;
    return 0;
}

/* "mon-fri", "sat,sun", "1,3-5" (ranges may wrap: "fri-mon") as bits 1..7. */
static bool parse_weekdays(const char *s, uint32_t *out)
{
    uint32_t days = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        const char *dash = memchr(s, '-', len);
        int first = weekday(s, dash ? (size_t)(dash - s) : len);
        int last = dash ? weekday(dash + 1, len - (size_t)(dash - s) - 1) : first;
        if (!first || !last)
            return false;
        for (int d = first;; d = d % 7 + 1) {
            days |= 1u << d;
            if (d == last)
                break;
        }
        s += len + (s[len] == ',');
    }
    *out = days;
    return days != 0;
}

static bool out_of_memory(bool *oom)
{
    *oom = true;
    return false;
}

/* Appends the comma-separated items of value to o's list; false on a malformed id or when out
 * of memory (*oom set). Blank items are skipped, so "" names an empty list. */
static bool add_items(struct option *o, const char *value, bool *oom)
{
    if (!o->seen) {
        *(void **)o->dest = NULL;
        *o->count = 0;
    }
    while (*value) {
        size_t len = strcspn(value, ",");
        const char *item = value;
        value += len + (value[len] == ',');
        for (; len && isspace((unsigned char)*item); len--)
            item++;
        while (len && isspace((unsigned char)item[len - 1]))
            len--;
        if (!len)
            continue;
        size_t n = *o->count;
        if (o->kind == OPTION_ID_LIST) {
            char text[24];
            int64_t id;
            snprintf(text, sizeof text, "%.*s", (int)(len < 23 ? len : 23), item);
            if (len > 22 || !parse_id(text, &id))
                return false;
            int64_t *ids = realloc(*(int64_t **)o->dest, (n + 1) * sizeof *ids);
            if (!ids)
                return out_of_memory(oom);
            ids[n] = id;
            *(int64_t **)o->dest = ids;
        } else {
            char **items = realloc(*(char ***)o->dest, (n + 1) * sizeof *items);
            if (!items)
                return out_of_memory(oom);
            *(char ***)o->dest = items;
            if (!(items[n] = strndup(item, len)))
                return out_of_memory(oom);
        }
        *o->count = n + 1;
    }
    return true;
}

/* Stores value into o's destination; false when it has the wrong shape (or memory ran out). */
static bool set_value(struct option *o, char *value, bool *oom)
{
    switch (o->kind) {
    case OPTION_STRING:
        break;
    case OPTION_ID:
        return parse_id(value, o->dest);
    case OPTION_UINT:
        return parse_uint(value, o->dest);
    case OPTION_FLAG:
        *(bool *)o->dest = true;
        return true;
    case OPTION_LIST:
    case OPTION_ID_LIST:
        return add_items(o, value, oom);
    case OPTION_INSTANT:
        if (!is_instant(value) &&
            !((o->flags & OPTION_DAY_OK) && strlen(value) == 10 && times_is_date(value)))
            return false;
        break;
    case OPTION_DATE:
        if (strlen(value) != 10 || !times_is_date(value))
            return false;
        break;
    case OPTION_CLOCK:
        if (strlen(value) != 5 || !is_clock(value))
            return false;
        break;
    case OPTION_MONEY:
        return parse_money(value, o->dest);
    case OPTION_CHOICE: {
        int index = choice_index(o->choices, value);
        if (index < 0)
            return false;
        *(int *)o->dest = index;
        return true;
    }
    case OPTION_WEEKDAYS:
        return parse_weekdays(value, o->dest);
    case OPTION_INT:
        return parse_int(value, o->min, o->max, o->flags & OPTION_DASH_NONE, o->dest);
    }
    *(char **)o->dest = value;
    return true;
}

static struct option *find_named(struct option *opts, const char *name, size_t len)
{
    for (struct option *o = opts; o->name; o++)
        if (!(o->flags & OPTION_POSITIONAL) && strlen(o->name) == len &&
            strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static struct option *nth_positional(struct option *opts, size_t n)
{
    for (struct option *o = opts; o->name; o++)
        if ((o->flags & OPTION_POSITIONAL) && n-- == 0)
            return o;
    return NULL;
}

static bool is_list(const struct option *o)
{
    return o->kind == OPTION_LIST || o->kind == OPTION_ID_LIST;
}

/* The usage error for a value of the wrong shape, naming the option. */
static int bad_value(const struct cli *cli, const struct option *o, const char *value)
{
    char what[160];
    expected(o, what, sizeof what);
    return cli_usage_error(cli, "%s%s must be %s, not \"%s\"",
                           o->flags & OPTION_POSITIONAL ? "" : "--", o->name, what, value);
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

bool options_parse(struct cli *cli, struct option *opts, int argc, char **argv, int *exit_code)
{
    cli->options = opts;
    bool oom = false, only_positionals = false;
    size_t positionals = 0;
    *exit_code = 0;
    for (struct option *o = opts; o->name; o++)
        o->seen = false;
    if (wants_help(argc, argv)) {
        options_print_help(cli, opts);
        return false;
    }
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        struct option *o;
        char *value;
        if (!only_positionals && strcmp(arg, "--") == 0) {
            only_positionals = true;
            continue;
        }
        if (!only_positionals && arg[0] == '-' && arg[1]) {
            const char *name = arg + (arg[1] == '-' ? 2 : 1);
            char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            if (arg[1] != '-' || !(o = find_named(opts, name, len))) {
                int shown = (int)(eq ? (size_t)(eq - arg) : strlen(arg));
                *exit_code = cli_usage_error(cli, "unknown option \"%.*s\"", shown, arg);
                return false;
            }
            if (o->kind == OPTION_FLAG && eq) {
                *exit_code = cli_usage_error(cli, "--%s takes no value", o->name);
                return false;
            }
            if (o->kind == OPTION_FLAG) {
                value = NULL;
            } else if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                *exit_code = cli_usage_error(cli, "--%s needs a value (%s)", o->name, metavar(o));
                return false;
            }
            if (o->seen && !is_list(o)) {
                *exit_code = cli_usage_error(cli, "--%s is given twice", o->name);
                return false;
            }
        } else if (!(o = nth_positional(opts, positionals++))) {
            *exit_code = cli_usage_error(cli, "unexpected argument \"%s\"", arg);
            return false;
        } else {
            value = arg;
        }
        if (!set_value(o, value, &oom)) {
            o->seen = true; /* so options_free releases a half-built list */
            if (oom) {
                fprintf(stderr, "clinic: out of memory\n");
                *exit_code = STATUS_RESOURCE_EXHAUSTED;
            } else {
                *exit_code = bad_value(cli, o, value);
            }
            return false;
        }
        o->seen = true;
    }
    for (struct option *o = opts; o->name; o++) {
        if (!(o->flags & OPTION_REQUIRED) || o->seen)
            continue;
        if (o->flags & OPTION_POSITIONAL)
            *exit_code = cli_usage_error(cli, "%s is missing: %s", o->name, o->help);
        else
            *exit_code = cli_usage_error(cli, "--%s is required: %s", o->name, o->help);
        return false;
    }
    return true;
}

void options_free(struct option *opts)
{
    for (struct option *o = opts; o->name; o++) {
        if (!is_list(o) || !o->seen)
            continue;
        if (o->kind == OPTION_LIST)
            for (size_t i = 0; i < *o->count; i++)
                free((*(char ***)o->dest)[i]);
        free(*(void **)o->dest);
        *(void **)o->dest = NULL;
        *o->count = 0;
        o->seen = false;
    }
}

bool options_given(const struct option *opts, const char *name)
{
    for (const struct option *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->seen;
    return false;
}

size_t options_mask(const struct option *opts, char **mask, size_t max)
{
    size_t n = 0;
    for (const struct option *o = opts; o->name && n < max; o++)
        if (o->seen && o->field && !(o->flags & OPTION_POSITIONAL))
            mask[n++] = (char *)o->field;
    return n;
}

/* The option that sets `field`; of several (`clinic measure record`: --rmdq, --psfs and
 * --startback all set answers), the one the user gave. */
static const struct option *option_setting(const struct option *opts, const char *field, size_t len)
{
    const struct option *first = NULL;
    for (const struct option *o = opts; o && o->name; o++) {
        if (o->field && strlen(o->field) == len && strncmp(o->field, field, len) == 0) {
            if (o->seen)
                return o;
            if (!first)
                first = o;
        }
    }
    return first;
}

bool options_label_for_field(const struct option *opts, const char *field, char *out, size_t len)
{
    const struct option *o = option_setting(opts, field, strlen(field));
    const char *dot = strrchr(field, '.');
    if (!o && dot)
        o = option_setting(opts, dot + 1, strlen(dot + 1));
    if (!o)
        return false;
    snprintf(out, len, "%s%s", o->flags & OPTION_POSITIONAL ? "" : "--", o->name);
    return true;
}

void options_describe_violation(const struct option *opts, const char *field,
                                const char *description, char *out, size_t len)
{
    char label[96];
    size_t used;
    if (options_label_for_field(opts, field, label, sizeof label))
        used = (size_t)snprintf(out, len, "%s ", label);
    else
        used = (size_t)snprintf(out, len, "%s: ", field);
    for (const char *p = description; *p && used < len;) {
        size_t word = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789.");
        while (word && p[word - 1] == '.')
            word--; /* a full stop ends the sentence, not the field */
        if (word == 0) {
            used += (size_t)snprintf(out + used, len - used, "%c", *p++);
            continue;
        }
        /* Only words that read as fields are replaced: identifiers (end_local), or a plain
         * word ending the sentence ("must be after from"); "a valid email address" keeps its
         * English even when the command has --email. */
        char text[64];
        bool identifier = memchr(p, '_', word) != NULL, last = p[word] == '\0' || p[word] == '.';
        snprintf(text, sizeof text, "%.*s", (int)word, p);
        if (word < sizeof text && (identifier || last) &&
            options_label_for_field(opts, text, label, sizeof label))
            used += (size_t)snprintf(out + used, len - used, "%s", label);
        else
            used += (size_t)snprintf(out + used, len - used, "%.*s", (int)word, p);
        p += word;
    }
}

/* Writes text from column `col` on, wrapping at HELP_WIDTH to column `indent`. */
static void wrap(const char *text, int col, int indent)
{
    bool line_start = true;
    while (*text) {
        size_t word = strcspn(text, " ");
        if (!line_start && col + 1 + (int)word > HELP_WIDTH) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (!line_start) {
            putchar(' ');
            col++;
        }
        for (size_t i = 0; i < word; i++)
            putchar(text[i] == GLUE ? ' ' : text[i]);
        col += (int)word;
        line_start = false;
        text += word;
        while (*text == ' ')
            text++;
    }
    putchar('\n');
}

static void print_entry(const char *label, const char *help)
{
    int col = printf("  %s", label);
    if (col + 2 > HELP_COLUMN) {
        printf("\n%*s", HELP_COLUMN, "");
    } else {
        printf("%*s", HELP_COLUMN - col, "");
    }
    wrap(help, HELP_COLUMN, HELP_COLUMN);
}

void options_print_help(const struct cli *cli, const struct option *opts)
{
    char line[1024];
    size_t used =
        (size_t)snprintf(line, sizeof line, "usage: clinic [GLOBAL OPTIONS] %s", cli->command_path);
    bool optional = false;
    for (const struct option *o = opts; o->name && used < sizeof line; o++) {
        if (o->flags & OPTION_POSITIONAL)
            used += (size_t)snprintf(line + used, sizeof line - used,
                                     o->flags & OPTION_REQUIRED ? " %s" : " [%s]", o->name);
        else if (o->flags & OPTION_REQUIRED)
            used += (size_t)snprintf(line + used, sizeof line - used, " --%s%c%s", o->name, GLUE,
                                     metavar(o));
        else
            optional = true;
    }
    if (optional && used < sizeof line)
        snprintf(line + used, sizeof line - used, " [OPTIONS]");
    wrap(line, 0, 8);

    const char *summary = cli->command ? cli->command->summary : "";
    printf("\n%c%s.\n", toupper((unsigned char)summary[0]), summary[0] ? summary + 1 : "");
    bool header = false;
    for (const struct option *o = opts; o->name; o++) {
        if (!(o->flags & OPTION_POSITIONAL))
            continue;
        if (!header)
            printf("\nArguments:\n");
        header = true;
        print_entry(o->name, o->help);
    }
    printf("\nOptions:\n");
    for (const struct option *o = opts; o->name; o++) {
        if (o->flags & OPTION_POSITIONAL)
            continue;
        char label[96];
        snprintf(label, sizeof label, "--%s%s%s", o->name, o->kind == OPTION_FLAG ? "" : " ",
                 metavar(o));
        char help[512];
        snprintf(help, sizeof help, "%s%s%s", o->help,
                 o->flags & OPTION_REQUIRED ? " (required)" : "",
                 is_list(o) ? " (comma-separated, or repeat the option)" : "");
        print_entry(label, help);
    }
    print_entry("--help", "this help");
    if (cli->command && cli->command->details)
        printf("\n%s\n", cli->command->details);
}
