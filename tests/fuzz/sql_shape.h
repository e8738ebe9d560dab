/* sql_shape.h: what result a statement's SQL text promises, read without a database: the names
 * of its columns and how many rows it can return. The stand-in database (fuzz_db.c) answers each
 * statement with rows of that shape, so a handler sees what PostgreSQL could send it and nothing
 * PostgreSQL never would (a count(*) with no row, a RETURNING with too few columns). */
#ifndef CLINIC_FUZZ_SQL_SHAPE_H
#define CLINIC_FUZZ_SQL_SHAPE_H

#include <stdbool.h>

#define SQL_SHAPE_MAX_COLUMNS 48
#define SQL_SHAPE_NAME_MAX    64
#define SQL_SHAPE_MANY_ROWS   3 /* "any number of rows" is answered with up to this many */

/* What the SQL says about a column's text, where it says anything. */
enum sql_column_kind {
    SQL_COLUMN_ANY = 0,
    SQL_COLUMN_HEX, /* encode(..., 'hex'): lower-case hex digits, an even number of them */
};

struct sql_shape {
    int n_columns;
    char names[SQL_SHAPE_MAX_COLUMNS][SQL_SHAPE_NAME_MAX];
    enum sql_column_kind kinds[SQL_SHAPE_MAX_COLUMNS];
    int min_rows, max_rows;
};

/* Reads the shape of sql. Statements without a result (BEGIN, UPDATE without RETURNING) have no
 * columns and no rows. A select list with a `*` gets SQL_SHAPE_MAX_COLUMNS columns, those past the
 * named ones called "?column?", since their number cannot be known from the text. The row bounds
 * are conservative: exactly one row only where SQL guarantees it (a SELECT without FROM, an
 * aggregate without GROUP BY, INSERT ... VALUES (...) RETURNING, a FROM list of such
 * subqueries), at most one after LIMIT 1, else 0 to SQL_SHAPE_MANY_ROWS. */
void sql_shape_read(const char *sql, struct sql_shape *shape);

#endif
