/* constraints.h: what a refused write says, in the caller's words. One table names, for each
 * constraint of sql/ that a request can run into, its status and a sentence whose {field}s are
 * filled from the request ("a room named \"{name}\" already exists at location {location_id}").
 * call_fail_db consults it, so handlers only call call_fail_db. */
#ifndef CLINICD_CONSTRAINTS_H
#define CLINICD_CONSTRAINTS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

struct constraint_refusal {
    int code;
    char field[64];     /* a request field the caller should fix, "" when the sentence says it */
    char sentence[256]; /* for a field: what is wrong with it; otherwise the whole answer */
};

/* Fills *out for the constraint the database named in refusing a write with sqlstate, its
 * {field}s taken from request (NULL: none). False when the table has no row for it whose fields
 * the request carries: the SQLSTATE's own sentence applies (db.h). */
bool constraint_refusal_for(const char *sqlstate, const char *constraint,
                            const ProtobufCMessage *request, struct constraint_refusal *out);

/* The i-th constraint name of the table, NULL past its end (for the test that every name is one
 * the schema defines). */
const char *constraint_table_name(size_t i);

#endif
