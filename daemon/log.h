/* log.h: one-line log records to stderr; one line per RPC call, never payload contents. */
#ifndef CLINICD_LOG_H
#define CLINICD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);
bool log_level_enabled(enum log_level level);

/* Parses "debug", "info", "warn" or "error"; false for anything else. */
__attribute__((warn_unused_result)) bool log_level_parse(const char *text, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The call record: time, request id, method, status, duration and worker. Callers pass only
 * identifiers: the record never holds a payload, so clinical data cannot reach the log. */
void log_call(const char *request_id, const char *method, int code, uint64_t duration_us,
              int worker);

#endif
