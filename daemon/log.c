/* log.c: timestamped single-line records on stderr, safe to call from any thread. When stderr is
 * systemd's journal stream, each line starts with its priority instead (sd-daemon(3)'s "<N>"
 * prefix, SyslogLevelPrefix=) and the journal keeps the time itself. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "status.h"

static atomic_int current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static atomic_bool to_journal;

int log_journal_priority(enum log_level level)
{
    /* sd-daemon.h's SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR are syslog's numbers */
    static const int priorities[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    if ((int)level < 0 || level > LOG_LEVEL_ERROR)
        return LOG_ERR;
    return priorities[level];
}

bool log_stream_is_journal(const char *journal_stream, int fd)
{
    if (!journal_stream || !journal_stream[0])
        return false;
    char *end;
    errno = 0;
    unsigned long long dev = strtoull(journal_stream, &end, 10);
    if (errno || end == journal_stream || *end != ':')
        return false;
    const char *ino_text = end + 1;
    unsigned long long ino = strtoull(ino_text, &end, 10);
    if (errno || end == ino_text || *end)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_use_journal_if_connected(void)
{
    atomic_store(&to_journal, log_stream_is_journal(getenv("JOURNAL_STREAM"), 2));
}

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
    if (atomic_load(&to_journal)) {
        snprintf(line, sizeof line, "<%d>%-5s %s\n", log_journal_priority(level),
                 level_names[level], text);
    } else {
        format_now(stamp, sizeof stamp);
        snprintf(line, sizeof line, "%s %-5s %s\n", stamp, level_names[level], text);
    }
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
