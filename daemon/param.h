/* param.h: request values as query parameters (text, as libpq takes them), in the call's arena;
 * NULL when the arena is out of memory. */
#ifndef CLINICD_PARAM_H
#define CLINICD_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "call.h"

const char *param_i64(struct call *call, int64_t v);
const char *param_u32(struct call *call, uint32_t v);
const char *param_bool(bool v);
/* NULL (SQL NULL) for 0 or "". */
const char *param_id_or_null(struct call *call, int64_t v);
const char *param_text_or_null(const char *s);
/* A PostgreSQL array literal of strings or ids. */
const char *param_text_array(struct call *call, char *const *items, size_t n);
const char *param_id_array(struct call *call, const int64_t *ids, size_t n);
/* The database's label of an enum value: the lower-case tail of its name after the enum's
 * prefix (BODY_REGION_LOWER_BACK -> lower_back), which is how the migrations spell their enum
 * types. False when it does not fit (a checked value always does). */
bool param_enum_label(const ProtobufCEnumDescriptor *d, int value, char *out, size_t len);
/* {label,label,...} for a checked list of enum values. */
const char *param_enum_array(struct call *call, const ProtobufCEnumDescriptor *d, const int *values,
                             size_t n);

#endif
