/* table.c: plain-text tables for the terminal. */
#include "table.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct table {
    size_t ncols, nrows, cap;
    char **cells; /* (nrows + 1) * ncols, row 0 the headers */
    bool *line;   /* per row: a table_add_line line, its text in the row's first cell */
    bool *keep;   /* per column: never cut (table_keep_column) */
};

static char *copy(const char *s)
{
    return strdup(s ? s : "");
}

struct table *table_new(size_t ncols, const char *const *headers)
{
    struct table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->keep = calloc(ncols ? ncols : 1, sizeof *t->keep);
    if (!t->keep) {
        free(t);
        return NULL;
    }
    table_add_row(t, headers);
    return t;
}

/* Makes room for one more row; false when out of memory. */
static bool grow(struct table *t)
{
    if (t->nrows < t->cap)
        return true;
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
    if (c)
        t->cells = c;
    bool *line = c ? realloc(t->line, cap * sizeof *line) : NULL;
    if (line)
        t->line = line;
    if (!c || !line)
        return false;
    t->cap = cap;
    return true;
}

void table_add_row(struct table *t, const char *const *cells)
{
    if (!t || !grow(t))
        return;
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = copy(cells[i]);
    t->line[t->nrows++] = false;
}

void table_keep_column(struct table *t, size_t col)
{
    if (t && col < t->ncols)
        t->keep[col] = true;
}

void table_add_line(struct table *t, const char *text)
{
    if (!t || !grow(t))
        return;
    t->cells[t->nrows * t->ncols] = copy(text);
    for (size_t i = 1; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = copy("");
    t->line[t->nrows++] = true;
}

size_t table_terminal_width(void)
{
    const char *env = getenv("COLUMNS");
    long cols = env ? strtol(env, NULL, 10) : 0;
    if (cols > 20)
        return (size_t)cols;
    struct winsize ws;
    if (!isatty(STDOUT_FILENO))
        return SIZE_MAX; /* a pipe or file: never cut what a script may read */
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 100;
}

/* Display width of UTF-8 text: one column per code point (good enough for names and times). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Byte length of the first `cols` code points of s. */
static size_t prefix_bytes(const char *s, size_t cols)
{
    size_t i = 0, w = 0;
    while (s[i] && w < cols) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        w++;
    }
    return i;
}

/* Shrinks the widest columns not kept until the row fits in `width`. */
static void fit_widths(size_t *widths, const bool *keep, size_t ncols, size_t width)
{
    size_t total = ncols ? 2 * (ncols - 1) : 0;
    for (size_t i = 0; i < ncols; i++)
        total += widths[i];
    while (total > width) {
        size_t widest = ncols;
        for (size_t i = 0; i < ncols; i++)
            if (!keep[i] && (widest == ncols || widths[i] > widths[widest]))
                widest = i;
        if (widest == ncols || widths[widest] <= 6)
            break;
        widths[widest]--;
        total--;
    }
}

void table_print_free(struct table *t, FILE *out)
{
    if (!t)
        return;
    size_t *widths = calloc(t->ncols ? t->ncols : 1, sizeof *widths);
    for (size_t r = 0; widths && r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols && !t->line[r]; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    size_t width = table_terminal_width();
    if (widths)
        fit_widths(widths, t->keep, t->ncols, width);
    for (size_t r = 0; widths && r < t->nrows; r++) {
        const char *const *row = (const char *const *)t->cells + r * t->ncols;
        if (t->line[r]) {
            size_t w = text_width(row[0]);
            if (w > width)
                fprintf(out, "%.*s~\n", (int)prefix_bytes(row[0], width - 1), row[0]);
            else
                fprintf(out, "%s\n", row[0]);
            continue;
        }
        size_t used = t->ncols; /* no padding after the last cell that holds something */
        while (used > 1 && !row[used - 1][0])
            used--;
        for (size_t c = 0; c < used; c++) {
            const char *cell = row[c];
            size_t w = text_width(cell);
            bool last = c + 1 == used;
            if (w > widths[c]) {
                fprintf(out, "%.*s~", (int)prefix_bytes(cell, widths[c] - 1), cell);
                w = widths[c];
            } else {
                fputs(cell, out);
            }
            if (!last)
                fprintf(out, "%*s", (int)(widths[c] - w + 2), "");
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->line);
    free(t->keep);
    free(widths);
    free(t);
}
