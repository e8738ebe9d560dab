/* log.h: one-line log records to stderr; one line per RPC call, never payload contents. */
#ifndef CLINICD_LOG_H
#define CLINICD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);

/* When stderr is systemd's journal stream (JOURNAL_STREAM names its device and inode), records
 * from now on start with their syslog priority ("<3>" for error) and carry no timestamp; else
 * they keep the timestamped format. Call once at start-up. */
void log_use_journal_if_connected(void);

/* The syslog priority of a level: error 3, warn 4, info 6, debug 7 (sd-daemon's SD_ERR ...). */
int log_journal_priority(enum log_level level);

/* True when journal_stream ("DEVICE:INODE", as systemd sets JOURNAL_STREAM) is the file open on
 * fd; false for NULL, empty, malformed values or another file. */
bool log_stream_is_journal(const char *journal_stream, int fd);
bool log_level_enabled(enum log_level level);

/* Parses "debug", "info", "warn" or "error"; false for anything else. */
__attribute__((warn_unused_result)) bool log_level_parse(const char *text, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The call record: time, request id, method, status, duration and worker. Callers pass only
 * identifiers: the record never holds a payload, so clinical data cannot reach the log. */
void log_call(const char *request_id, const char *method, int code, uint64_t duration_us,
              int worker);

#endif
