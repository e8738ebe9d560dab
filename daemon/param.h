/* param.h: request values as query parameters (text, as libpq takes them), in the call's arena;
 * NULL when the arena is out of memory. */
#ifndef CLINICD_PARAM_H
#define CLINICD_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
