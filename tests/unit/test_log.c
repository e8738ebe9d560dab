/* test_log.c: log records under systemd: each level's journal priority, recognising stderr as the
 * journal's stream from JOURNAL_STREAM, and the line format on either side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static void levels_map_to_syslog_priorities(void **state)
{
    (void)state;
    assert_int_equal(log_journal_priority(LOG_LEVEL_ERROR), LOG_ERR); /* SD_ERR "<3>" */
    assert_int_equal(log_journal_priority(LOG_LEVEL_WARN), LOG_WARNING);
    assert_int_equal(log_journal_priority(LOG_LEVEL_INFO), LOG_INFO);
    assert_int_equal(log_journal_priority(LOG_LEVEL_DEBUG), LOG_DEBUG);
    assert_int_equal(LOG_ERR, 3);
    assert_int_equal(LOG_WARNING, 4);
    assert_int_equal(LOG_INFO, 6);
    assert_int_equal(LOG_DEBUG, 7);
}

/* A temporary file, open on the returned descriptor, and its "DEVICE:INODE". */
static int temp_stream(char *dev_ino, size_t len)
{
    char path[] = "/tmp/clinic-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(dev_ino, len, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    return fd;
}

static void journal_stream_is_recognised_by_device_and_inode(void **state)
{
    (void)state;
    char mine[64], other[64];
    int fd = temp_stream(mine, sizeof mine);
    int fd2 = temp_stream(other, sizeof other);
    assert_true(log_stream_is_journal(mine, fd));
    assert_false(log_stream_is_journal(other, fd)); /* another file: stderr was redirected */
    assert_false(log_stream_is_journal(NULL, fd));  /* not under systemd */
    assert_false(log_stream_is_journal("", fd));
    assert_false(log_stream_is_journal("12", fd));
    assert_false(log_stream_is_journal("12:", fd));
    assert_false(log_stream_is_journal(":34", fd));
    assert_false(log_stream_is_journal("a:b", fd));
    char trailing[80];
    snprintf(trailing, sizeof trailing, "%s ", mine);
    assert_false(log_stream_is_journal(trailing, fd));
    close(fd);
    close(fd2);
}

/* Logs one error and one info record with stderr on a fresh file and JOURNAL_STREAM set to
 * journal_stream (NULL: to that file itself); returns what was written. */
static char *log_with_stream(const char *journal_stream)
{
    char dev_ino[64];
    int fd = temp_stream(dev_ino, sizeof dev_ino);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);
    setenv("JOURNAL_STREAM", journal_stream ? journal_stream : dev_ino, 1);
    log_use_journal_if_connected();
    log_msg(LOG_LEVEL_ERROR, "the database is unreachable");
    log_msg(LOG_LEVEL_INFO, "serving");
    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    unsetenv("JOURNAL_STREAM");
    log_use_journal_if_connected();
    static char text[512];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    assert_true(n > 0);
    text[n] = '\0';
    close(fd);
    return text;
}

static void under_the_journal_lines_carry_their_priority(void **state)
{
    (void)state;
    const char *text = log_with_stream(NULL);
    assert_string_equal(text, "<3>error the database is unreachable\n<6>info  serving\n");
}

static void elsewhere_lines_keep_their_timestamp(void **state)
{
    (void)state;
    const char *text = log_with_stream("1:1");
    /* 2026-12-06T23:10:25.123Z error the database is unreachable */
    assert_true(text[0] >= '0' && text[0] <= '9');
    assert_non_null(strstr(text, "Z error the database is unreachable\n"));
    assert_non_null(strstr(text, "Z info  serving\n"));
    assert_null(strchr(text, '<'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_map_to_syslog_priorities),
        cmocka_unit_test(journal_stream_is_recognised_by_device_and_inode),
        cmocka_unit_test(under_the_journal_lines_carry_their_priority),
        cmocka_unit_test(elsewhere_lines_keep_their_timestamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
