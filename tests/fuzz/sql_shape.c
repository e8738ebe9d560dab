/* sql_shape.c: a statement's columns and row bounds from its SQL text (see sql_shape.h).
 *
 * DESIGN: the SQL is cut into tokens, each with its parenthesis depth; every clause keyword that
 * matters is looked for at the depth of the statement it belongs to, so subqueries, CTE bodies
 * and function arguments never confuse the outer statement. The rules cover the SQL clinicd
 * writes; a statement they misread shows up as a fuzz finding in a handler that is not a bug,
 * and the fix belongs here. */
#include "sql_shape.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 4096

enum kind { WORD, QUOTED_NAME, STRING, NUMBER, PARAM, OPEN, CLOSE, COMMA, DOT, CAST, OTHER };

struct token {
    enum kind kind;
    const char *text;
    int len;
    int depth; /* of the statement the token belongs to: an OPEN and its CLOSE are outside */
};

struct tokens {
    struct token t[MAX_TOKENS];
    int n;
};

static void tokenize(const char *sql, struct tokens *ts)
{
    const char *p = sql;
    int depth = 0;
    ts->n = 0;
    while (*p && ts->n < MAX_TOKENS) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        struct token *t = &ts->t[ts->n++];
        const char *start = p;
        t->depth = depth;
        if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '$')
                p++;
            t->kind = WORD;
        } else if (isdigit((unsigned char)*p)) {
            while (isalnum((unsigned char)*p) || *p == '.')
                p++;
            t->kind = NUMBER;
        } else if (*p == '$' && isdigit((unsigned char)p[1])) {
            for (p++; isdigit((unsigned char)*p); p++)
                ;
            t->kind = PARAM;
        } else if (*p == '\'' || *p == '"') {
            char quote = *p++;
            while (*p && !(*p == quote && p[1] != quote))
                p += *p == quote ? 2 : 1;
            if (*p)
                p++;
            t->kind = quote == '"' ? QUOTED_NAME : STRING;
        } else if (p[0] == ':' && p[1] == ':') {
            p += 2;
            t->kind = CAST;
        } else {
            t->kind = *p == '('   ? OPEN
                      : *p == ')' ? CLOSE
                      : *p == ',' ? COMMA
                      : *p == '.' ? DOT
                                  : OTHER;
            p++;
            if (t->kind == OPEN)
                depth++;
            else if (t->kind == CLOSE && depth > 0)
                t->depth = --depth;
        }
        t->text = start;
        t->len = (int)(p - start);
    }
}

static bool is_word(const struct token *t, const char *word)
{
    return t->kind == WORD && (size_t)t->len == strlen(word) &&
           strncasecmp(t->text, word, (size_t)t->len) == 0;
}

static bool is_one_of(const struct token *t, const char *const *words)
{
    for (; *words; words++)
        if (is_word(t, *words))
            return true;
    return false;
}

/* The first token in [from, to) at depth that is the word `word`, or -1. */
static int find_word(const struct tokens *ts, int from, int to, int depth, const char *word)
{
    for (int i = from; i < to; i++)
        if (ts->t[i].depth == depth && is_word(&ts->t[i], word))
            return i;
    return -1;
}

/* The CLOSE of the OPEN at i (or `to` when it is missing). */
static int closing(const struct tokens *ts, int i, int to)
{
    int depth = ts->t[i].depth;
    for (int j = i + 1; j < to; j++)
        if (ts->t[j].kind == CLOSE && ts->t[j].depth == depth)
            return j;
    return to;
}

static void set_name(char *out, const struct token *t)
{
    const char *s = t->text;
    int len = t->len;
    if (t->kind == QUOTED_NAME) {
        s++;
        len = len >= 2 ? len - 2 : 0;
    }
    if (len >= SQL_SHAPE_NAME_MAX)
        len = SQL_SHAPE_NAME_MAX - 1;
    for (int i = 0; i < len; i++)
        out[i] = t->kind == WORD ? (char)tolower((unsigned char)s[i]) : s[i];
    out[len] = '\0';
}

static bool is_name(const struct token *t)
{
    static const char *const not_names[] = {"null", "true", "false", "end", NULL};
    return (t->kind == WORD && !is_one_of(t, not_names)) || t->kind == QUOTED_NAME;
}

/* The name PostgreSQL gives the select-list item [from, to) (its FigureColname): the alias; for
 * a column reference the column; for a cast, the name of what is cast, else the type; for a
 * function call or ARRAY/EXISTS the function; for CASE "case"; else "?column?". Returns false
 * for `*` and `x.*`. */
static bool item_name(const struct tokens *ts, int from, int to, char *out)
{
    const struct token *last = &ts->t[to - 1];
    int depth = ts->t[from].depth;
    snprintf(out, SQL_SHAPE_NAME_MAX, "?column?");
    if (last->kind == OTHER && last->len == 1 && last->text[0] == '*')
        return false;
    if (to - from >= 2 && is_word(&ts->t[to - 2], "as")) {
        set_name(out, last);
        return true;
    }
    /* an alias without AS follows a complete expression: a name, a literal or a parenthesis */
    static const char *const operators[] = {"and", "or",   "not",  "is",     "in",   "like",
                                            "as",  "then", "else", "when",   "case", "between",
                                            "any", "all",  "some", "select", NULL};
    if (to - from >= 2 && is_name(last)) {
        const struct token *before = &ts->t[to - 2];
        if (before->kind == CLOSE || before->kind == STRING || before->kind == NUMBER ||
            before->kind == PARAM || (is_name(before) && !is_one_of(before, operators))) {
            set_name(out, last);
            return true;
        }
    }
    for (int i = from + 1; i < to; i++) {
        if (ts->t[i].kind == CAST && ts->t[i].depth == depth) {
            item_name(ts, from, i, out);
            if (strcmp(out, "?column?") == 0 && i + 1 < to)
                set_name(out, &ts->t[i + 1]); /* 'x'::text is called text */
            return true;
        }
    }
    bool reference = true; /* a.b.c */
    for (int i = from; i < to; i++)
        reference = reference && ((i - from) % 2 ? ts->t[i].kind == DOT : is_name(&ts->t[i]));
    if (reference && (to - from) % 2 == 1) {
        set_name(out, last);
        return true;
    }
    if (is_word(&ts->t[from], "case"))
        snprintf(out, SQL_SHAPE_NAME_MAX, "case");
    else if (ts->t[from].kind == WORD && to - from >= 2 && ts->t[from + 1].kind == OPEN &&
             closing(ts, from + 1, to) == to - 1)
        set_name(out, &ts->t[from]);
    return true;
}

/* What the item [from, to) says about its text: encode(x, 'hex') is hex. */
static enum sql_column_kind item_kind(const struct tokens *ts, int from, int to)
{
    if (to - from >= 4 && is_word(&ts->t[from], "encode") && ts->t[from + 1].kind == OPEN) {
        int close = closing(ts, from + 1, to);
        const struct token *last = &ts->t[close - 1];
        if (last->kind == STRING && last->len == 5 && strncasecmp(last->text, "'hex'", 5) == 0)
            return SQL_COLUMN_HEX;
    }
    return SQL_COLUMN_ANY;
}

/* Fills the columns from the select list (or RETURNING list) [from, to). */
static void read_columns(const struct tokens *ts, int from, int to, struct sql_shape *shape)
{
    int depth = from < to ? ts->t[from].depth : 0;
    bool star = false;
    for (int start = from; start < to;) {
        int end = start;
        while (end < to && !(ts->t[end].kind == COMMA && ts->t[end].depth == depth))
            end++;
        if (end > start && shape->n_columns < SQL_SHAPE_MAX_COLUMNS) {
            shape->kinds[shape->n_columns] = item_kind(ts, start, end);
            if (item_name(ts, start, end, shape->names[shape->n_columns]))
                shape->n_columns++;
            else
                star = true;
        }
        start = end + 1;
    }
    while (star && shape->n_columns < SQL_SHAPE_MAX_COLUMNS)
        snprintf(shape->names[shape->n_columns++], SQL_SHAPE_NAME_MAX, "?column?");
}

/* Whether [from, to) calls one of `functions` outside any subquery (an aggregate followed by
 * OVER is a window function and does not count). */
static bool calls_any(const struct tokens *ts, int from, int to, const char *const *functions)
{
    for (int i = from; i < to; i++) {
        const struct token *t = &ts->t[i];
        if (t->kind == OPEN && i + 1 < to && is_word(&ts->t[i + 1], "select")) {
            i = closing(ts, i, to);
            continue;
        }
        if (is_one_of(t, functions) && i + 1 < to && ts->t[i + 1].kind == OPEN) {
            int close = closing(ts, i + 1, to);
            if (!(close + 1 < to && is_word(&ts->t[close + 1], "over")))
                return true;
        }
    }
    return false;
}

static void statement(const struct tokens *ts, int from, int to, struct sql_shape *shape);

/* Whether the subquery opened at i returns exactly one row. */
static bool one_row_subquery(const struct tokens *ts, int i, int to)
{
    if (i >= to || ts->t[i].kind != OPEN || i + 1 >= to || !is_word(&ts->t[i + 1], "select"))
        return false;
    struct sql_shape inner = {0};
    statement(ts, i + 1, closing(ts, i, to), &inner);
    return inner.min_rows == 1 && inner.max_rows == 1;
}

/* Whether the FROM list [from, to) yields exactly one row: every item a one-row subquery
 * (LATERAL or not), joined to further tables only by LEFT JOINs, which keep that row. */
static bool one_row_from_list(const struct tokens *ts, int from, int to)
{
    if (from >= to)
        return false;
    int depth = ts->t[from].depth;
    for (int start = from; start < to;) {
        int end = start;
        while (end < to && !(ts->t[end].kind == COMMA && ts->t[end].depth == depth))
            end++;
        int i = start + is_word(&ts->t[start], "lateral");
        if (!one_row_subquery(ts, i, end))
            return false;
        for (int j = closing(ts, i, end) + 1; j < end; j++) {
            if (ts->t[j].depth != depth || !is_word(&ts->t[j], "join"))
                continue;
            bool left = is_word(&ts->t[j - 1], "left") ||
                        (is_word(&ts->t[j - 1], "outer") && is_word(&ts->t[j - 2], "left"));
            if (!left)
                return false;
        }
        start = end + 1;
    }
    return true;
}

static void select_shape(const struct tokens *ts, int select, int to, struct sql_shape *shape)
{
    static const char *const list_ends[] = {"from",      "where", "group",  "having", "window",
                                            "order",     "limit", "offset", "union",  "except",
                                            "intersect", "for",   "into",   NULL};
    static const char *const aggregates[] = {"count",
                                             "sum",
                                             "min",
                                             "max",
                                             "avg",
                                             "array_agg",
                                             "bool_and",
                                             "bool_or",
                                             "every",
                                             "json_agg",
                                             "jsonb_agg",
                                             "string_agg",
                                             "json_object_agg",
                                             "jsonb_object_agg",
                                             NULL};
    static const char *const set_returning[] = {"unnest",
                                                "generate_series",
                                                "jsonb_array_elements",
                                                "json_array_elements",
                                                "jsonb_each",
                                                "json_each",
                                                "regexp_matches",
                                                "regexp_split_to_table",
                                                "string_to_table",
                                                NULL};
    int depth = ts->t[select].depth;
    int list = select + 1;
    if (list < to && is_word(&ts->t[list], "all"))
        list++;
    if (list < to && is_word(&ts->t[list], "distinct")) {
        list++;
        if (list + 1 < to && is_word(&ts->t[list], "on") && ts->t[list + 1].kind == OPEN)
            list = closing(ts, list + 1, to) + 1;
    }
    int end = list;
    while (end < to && !(ts->t[end].depth == depth && is_one_of(&ts->t[end], list_ends)))
        end++;
    read_columns(ts, list, end, shape);

    bool from = end < to && is_word(&ts->t[end], "from");
    int where = find_word(ts, end, to, depth, "where");
    int group = find_word(ts, end, to, depth, "group");
    int having = find_word(ts, end, to, depth, "having");
    int limit = find_word(ts, end, to, depth, "limit");
    bool combined = find_word(ts, end, to, depth, "union") >= 0 ||
                    find_word(ts, end, to, depth, "except") >= 0 ||
                    find_word(ts, end, to, depth, "intersect") >= 0;
    int from_end = end + 1;
    while (from && from_end < to &&
           !(ts->t[from_end].depth == depth && is_one_of(&ts->t[from_end], list_ends)))
        from_end++;

    bool aggregate = group < 0 && calls_any(ts, list, end, aggregates);
    shape->min_rows = 0;
    shape->max_rows = SQL_SHAPE_MANY_ROWS;
    if (combined || calls_any(ts, list, end, set_returning))
        ; /* any number */
    else if (!from)
        shape->min_rows = shape->max_rows = 1;
    else if (aggregate)
        shape->min_rows = shape->max_rows = 1;
    else if (where < 0 && group < 0 && one_row_from_list(ts, end + 1, from_end))
        shape->min_rows = shape->max_rows = 1;
    /* SELECT 1 WHERE ... and HAVING may filter the one row out; an aggregate's WHERE may not */
    if (shape->max_rows == 1 && (having >= 0 || (where >= 0 && !aggregate)))
        shape->min_rows = 0;
    if (limit >= 0 && limit + 1 < to && ts->t[limit + 1].kind == NUMBER) {
        int n = ts->t[limit + 1].text[0] - '0';
        if (ts->t[limit + 1].len == 1 && n < shape->max_rows)
            shape->max_rows = n;
        if (shape->min_rows > shape->max_rows)
            shape->min_rows = shape->max_rows;
    }
    if (find_word(ts, end, to, depth, "offset") >= 0)
        shape->min_rows = 0;
}

/* INSERT, UPDATE or DELETE at `verb`: columns from RETURNING; rows from the VALUES lists. */
static void write_shape(const struct tokens *ts, int verb, int to, struct sql_shape *shape)
{
    int depth = ts->t[verb].depth;
    int returning = find_word(ts, verb, to, depth, "returning");
    if (returning < 0)
        return; /* no result rows */
    read_columns(ts, returning + 1, to, shape);
    shape->min_rows = 0;
    shape->max_rows = SQL_SHAPE_MANY_ROWS;
    if (!is_word(&ts->t[verb], "insert"))
        return;
    int values = find_word(ts, verb, returning, depth, "values");
    if (values < 0 || find_word(ts, verb, returning, depth, "select") >= 0)
        return; /* INSERT ... SELECT: as many rows as the SELECT */
    int tuples = 0;
    int conflict = find_word(ts, values, returning, depth, "conflict");
    int tuples_end = conflict >= 0 ? conflict : returning;
    for (int i = values + 1; i < tuples_end; i++)
        tuples += ts->t[i].kind == OPEN && ts->t[i].depth == depth;
    if (tuples > SQL_SHAPE_MANY_ROWS)
        return;
    shape->max_rows = tuples;
    bool may_skip = conflict >= 0 && (find_word(ts, conflict, returning, depth, "nothing") >= 0 ||
                                      find_word(ts, conflict, returning, depth, "where") >= 0);
    shape->min_rows = may_skip ? 0 : tuples;
}

/* The shape of the statement [from, to), past any WITH list. */
static void statement(const struct tokens *ts, int from, int to, struct sql_shape *shape)
{
    static const char *const verbs[] = {"select", "insert", "update", "delete", NULL};
    shape->n_columns = 0;
    shape->min_rows = shape->max_rows = 0;
    if (from >= to)
        return;
    int depth = ts->t[from].depth;
    int verb = from;
    while (verb < to && !(ts->t[verb].depth == depth && is_one_of(&ts->t[verb], verbs)))
        verb++;
    if (verb == to)
        return; /* BEGIN, COMMIT, SET, LISTEN: no rows */
    if (is_word(&ts->t[verb], "select"))
        select_shape(ts, verb, to, shape);
    else
        write_shape(ts, verb, to, shape);
}

void sql_shape_read(const char *sql, struct sql_shape *shape)
{
    static _Thread_local struct tokens ts;
    tokenize(sql, &ts);
    memset(shape, 0, sizeof *shape);
    statement(&ts, 0, ts.n, shape);
}
