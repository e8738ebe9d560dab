/* check.h: the field checks handlers share. A failed check records a FieldViolation on the call
 * (naming the field and what a good value looks like) and returns false; handlers run every check,
 * then stop if the call failed, so the caller learns about all bad fields at once. */
#ifndef CLINICD_CHECK_H
#define CLINICD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "call.h"

#define PAGE_SIZE_DEFAULT 50
#define PAGE_SIZE_MAX     500

bool check_id(struct call *call, const char *field, int64_t id);
/* Optional id: 0 means none. */
bool check_optional_id(struct call *call, const char *field, int64_t id);
/* min..max characters (code points), no control characters. */
bool check_text(struct call *call, const char *field, const char *s, size_t min, size_t max);
/* name@domain, at most 254 bytes; "" allowed unless required. */
bool check_email(struct call *call, const char *field, const char *s, bool required);
/* "+49 30 1234567" style; "" allowed. */
bool check_phone(struct call *call, const char *field, const char *s);
/* Lower-case words: "heated_table". */
bool check_features(struct call *call, const char *field, char *const *items, size_t n);
/* "YYYY-MM-DD"; "" allowed when optional. */
bool check_day(struct call *call, const char *field, const char *s, bool optional);
/* "HH:MM" from 00:00 to 24:00. */
bool check_clock(struct call *call, const char *field, const char *s);
/* Instant text as admin.proto describes (the database checks it exactly); "" allowed when
 * optional. */
bool check_instant(struct call *call, const char *field, const char *s, bool optional);
/* A client with this id exists (archived or not); else the call fails NOT_FOUND "client N does
 * not exist". Asks the database, so it may also fail the call with a database error. */
bool check_client_exists(struct call *call, int64_t client_id);
/* An IANA zone the database knows ("Europe/Berlin"); asks the database, so it may also fail the
 * call with a database error. */
bool check_time_zone(struct call *call, const char *field, const char *zone);

/* Free text of several lines (notes, a health history): up to max characters, tabs and line
 * breaks allowed, no other control characters; not blank when required. The envelope's checks
 * already refused bad UTF-8 and NULs. */
bool check_long_text(struct call *call, const char *field, const char *s, size_t max,
                     bool required);
/* A list of enum values (areas, red flags): each a known value, not UNSPECIFIED, none twice.
 * `what` names one value in the sentence ("body region"). */
bool check_enum_list(struct call *call, const char *field, const ProtobufCEnumDescriptor *d,
                     const int *values, size_t n, const char *what);

/* Every name in the mask is one of `allowed` (NULL-terminated), and the mask is not empty. */
bool check_update_mask(struct call *call, char *const *mask, size_t n, const char *const *allowed);
/* Whether `field` is one of the mask's names (to be updated). */
bool check_in_mask(char *const *mask, size_t n, const char *field);

/* page_size (0: default) and page_token ("" or a token from an earlier reply, which this
 * decodes into the key to continue after; 0 when starting). */
bool check_page(struct call *call, uint32_t page_size, const char *token, uint32_t *size,
                int64_t *after);

#endif
