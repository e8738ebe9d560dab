/* log.c: timestamped single-line records on stderr, safe to call from any thread. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status.h"

static atomic_int current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

bool log_level_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&current_level);
}

bool log_level_parse(const char *text, enum log_level *out)
{
    for (int i = 0; i <= LOG_LEVEL_ERROR; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

/* Writes an RFC 3339 UTC timestamp with milliseconds into buf. */
static void format_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One fputs per record: stdio locks the stream, so lines from different threads never interleave.
 */
static void emit(enum log_level level, const char *text)
{
    char stamp[40];
    char line[1200];
    format_now(stamp, sizeof stamp);
    snprintf(line, sizeof line, "%s %-5s %s\n", stamp, level_names[level], text);
    fputs(line, stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_level_enabled(level))
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    emit(level, text);
}

void log_call(const char *request_id, const char *method, int code, uint64_t duration_us,
              int worker)
{
    enum log_level level = code == STATUS_INTERNAL ? LOG_LEVEL_ERROR : LOG_LEVEL_INFO;
    if (!log_level_enabled(level))
        return;
    char text[512];
    snprintf(text, sizeof text,
             "call request_id=%s method=%s code=%d status=%s duration_us=%llu worker=%d",
             request_id, method, code, status_code_name(code), (unsigned long long)duration_us,
             worker);
    emit(level, text);
}
