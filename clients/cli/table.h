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
/* Prints and frees the table. Columns wider than the terminal allows are cut with "~". */
void table_print_free(struct table *t, FILE *out);

/* The terminal's width: $COLUMNS, else the tty's; SIZE_MAX when stdout is not a terminal. */
size_t table_terminal_width(void);

#endif
