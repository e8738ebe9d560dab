/* table.h: terminal tables: columns sized to their contents, shrunk to the terminal's width. */
#ifndef CLINIC_TABLE_H
#define CLINIC_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

/* A table with the given column headers (copied). NULL when out of memory. */
struct table *table_new(size_t ncols, const char *const *headers);
/* Appends a row of ncols cells (copied; NULL prints as empty). */
void table_add_row(struct table *t, const char *const *cells);
/* Appends a line printed as is between the rows (a heading inside the table, such as a
 * therapist's name above their appointments); it does not widen the columns. */
void table_add_line(struct table *t, const char *text);
/* Marks column col as one never cut (ids, times, statuses): when the table is too wide for the
 * terminal, the other columns give way. */
void table_keep_column(struct table *t, size_t col);
/* Prints and frees the table. Columns wider than the terminal allows are cut with "~". */
void table_print_free(struct table *t, FILE *out);

/* The terminal's width: $COLUMNS, else the tty's; SIZE_MAX when stdout is not a terminal. */
size_t table_terminal_width(void);

#endif
