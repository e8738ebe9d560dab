/* rowmap.h: response messages filled from query rows by name. A column fills the message field
 * of the same name (text converted to the field's type; PostgreSQL arrays to repeated fields;
 * enum fields from a number or from the lower-case tail of the value's name, so 'checked_in'
 * fills APPOINTMENT_STATUS_CHECKED_IN). Columns without a field are ignored, NULL leaves the
 * default. Everything lives in the call's arena. */
#ifndef CLINICD_ROWMAP_H
#define CLINICD_ROWMAP_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "call.h"

struct db_result;
struct db_stmt;

/* Runs stmt for its effect and answers with an empty message of type `reply` (methods whose
 * answer carries nothing: a password set, a session ended); fails the call on a database error. */
void rowmap_reply_done(struct call *call, const struct db_stmt *stmt, const char *const *params,
                       const ProtobufCMessageDescriptor *reply);

/* A new, initialised message of type desc in the call's arena; NULL when out of memory. */
ProtobufCMessage *rowmap_new(struct call *call, const ProtobufCMessageDescriptor *desc);

/* Fills msg from row `row` of r. False (the call failed INTERNAL) when a value does not convert:
 * the query and the .proto disagree, which is a bug. */
__attribute__((warn_unused_result)) bool rowmap_fill(struct call *call, ProtobufCMessage *msg,
                                                     const struct db_result *r, int row);

/* Answers the call with row `row` of r as a `desc` message. */
void rowmap_reply_row(struct call *call, const struct db_result *r, int row,
                      const ProtobufCMessageDescriptor *desc);

/* Runs stmt and answers with its single row as a `desc` message, or NOT_FOUND with the sentence
 * (printf-style) when there is no row. Database failures fail the call as usual. */
void rowmap_reply_one(struct call *call, const struct db_stmt *stmt, const char *const *params,
                      const ProtobufCMessageDescriptor *desc, const char *not_found, ...)
    __attribute__((format(printf, 5, 6)));

/* Runs stmt, an INSERT ... RETURNING, and answers with the row it made as a `desc` message. */
void rowmap_reply_inserted(struct call *call, const struct db_stmt *stmt, const char *const *params,
                           const ProtobufCMessageDescriptor *desc);

/* The by-id shape of Get, Archive and Delete: checks that id (the request's "id") is positive,
 * runs stmt with it as $1 and answers with the single row as a `desc` message, or NOT_FOUND
 * "<record> <id> does not exist" ("room 12 does not exist"). */
void rowmap_reply_by_id(struct call *call, const struct db_stmt *stmt, int64_t id,
                        const ProtobufCMessageDescriptor *desc, const char *record);

/* Runs stmt, which returns up to page_size + 1 rows in page order with a `page_key` column, and
 * answers with a `list_desc` message whose repeated message field `field` holds the first
 * page_size rows; when there was one more row, next_page_token is the last shown row's page_key. */
void rowmap_reply_list(struct call *call, const struct db_stmt *stmt, const char *const *params,
                       const ProtobufCMessageDescriptor *list_desc, const char *field,
                       uint32_t page_size);

/* Runs stmt, a function that changed one record and returns its id, and returns that id (text
 * in the call's arena). NULL when the call failed: a database error as usual; no row: NOT_FOUND
 * with the sentence `not_found` (printf-style), or INTERNAL when it is NULL (a bug: the function
 * always answers). */
const char *rowmap_changed_id(struct call *call, const struct db_stmt *stmt,
                              const char *const *params, const char *not_found, ...)
    __attribute__((format(printf, 4, 5)));

/* For lists that are never long (a client's consents, a therapist's weekly hours): runs stmt and
 * answers with a `list_desc` message whose repeated message field `field` holds every row. */
void rowmap_reply_all(struct call *call, const struct db_stmt *stmt, const char *const *params,
                      const ProtobufCMessageDescriptor *list_desc, const char *field);

/* Fills the repeated message field `field` of list (a message in the arena) with all rows of r
 * as messages. False when out of memory or a value does not convert (the call is failed). */
__attribute__((warn_unused_result)) bool rowmap_fill_list(struct call *call, ProtobufCMessage *list,
                                                          const char *field,
                                                          const struct db_result *r, int rows);

#endif
