/* test_audit_backlog.c: audit rows the database cannot take wait in a bounded backlog. A row
 * whose write finds the database unreachable is kept, not lost and not logged line by line; a
 * full backlog counts what it cannot keep; and an episode's loss is logged once, with the
 * number. No server is needed: "unreachable" is a socket folder that does not exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "call.h"
#include "db.h"
#include "status.h"

#define NOWHERE "host=/nonexistent/clinicd-test dbname=clinic connect_timeout=1"

/* A refused call by a known client, as rpc.c would hand it to the audit trail. */
static struct call refused_call(struct db *db, const char *request_id)
{
    struct call call = {.db = db,
                        .method = "/clinic.v1.Scheduling/GetAppointment",
                        .request_id = request_id,
                        .code = STATUS_PERMISSION_DENIED};
    call.caller = (struct caller){.user_id = 7, .role = ROLE_CLIENT, .client_id = 3};
    call_set_target(&call, "appointment:%d", 42);
    return call;
}

/* stderr, captured into a temporary file while a test step runs. */
struct capture {
    FILE *file;
    int saved_fd;
};

static void capture_start(struct capture *c)
{
    c->file = tmpfile();
    assert_non_null(c->file);
    fflush(stderr);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written meanwhile (malloc'd). */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    long size = ftell(c->file);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(c->file);
    assert_int_equal(fread(text, 1, (size_t)size, c->file), (size_t)size);
    fclose(c->file);
    fputs(text, stderr); /* still visible in the test's output */
    return text;
}

static int occurrences(const char *text, const char *part)
{
    int n = 0;
    for (const char *p = strstr(text, part); p; p = strstr(p + 1, part))
        n++;
    return n;
}

static void a_row_the_database_cannot_take_waits_in_the_backlog(void **state)
{
    (void)state;
    struct db *db = db_new(NOWHERE);
    assert_non_null(db);
    struct call call = refused_call(db, "kept-1");
    assert_true(audit_record(&call)); /* handed over, so rpc.c logs no failure */
    assert_int_equal(audit_backlog_pending(), 1);
    assert_int_equal(audit_backlog_lost(), 0);
    /* still unreachable: the row stays for the next attempt */
    assert_int_equal(audit_backlog_drain(db, false), 1);
    assert_int_equal(audit_backlog_pending(), 1);

    struct capture cap;
    capture_start(&cap);
    assert_int_equal(audit_backlog_drain(db, true), 0); /* the daemon stops: given up */
    char *log = capture_end(&cap);
    assert_int_equal(occurrences(log, " lost: "), 1);
    assert_non_null(strstr(log, "1 audit row was lost: 1 could not be written before clinicd "
                                "stopped (database unreachable)"));
    free(log);
    assert_int_equal(audit_backlog_pending(), 0);
    assert_int_equal(audit_backlog_lost(), 0); /* reported: the next episode starts at zero */
    call_release(&call);
    db_free(db);
}

static void a_full_backlog_counts_what_it_cannot_keep_and_says_so_once(void **state)
{
    (void)state;
    enum { OVER = 7 };
    struct call call = refused_call(NULL, "overflow");
    struct capture cap;
    capture_start(&cap);
    for (int i = 0; i < AUDIT_BACKLOG_ROWS; i++)
        assert_true(audit_backlog_keep(&call));
    for (int i = 0; i < OVER; i++)
        assert_false(audit_backlog_keep(&call));
    assert_int_equal(audit_backlog_pending(), AUDIT_BACKLOG_ROWS);
    assert_int_equal(audit_backlog_lost(), OVER);
    assert_int_equal(audit_backlog_drain(NULL, true), 0);
    char *log = capture_end(&cap);
    /* one warning when the episode began, one line for its loss: never a line per row */
    assert_int_equal(occurrences(log, "audit rows are kept in memory"), 1);
    assert_int_equal(occurrences(log, " lost: "), 1);
    char expected[200];
    snprintf(expected, sizeof expected,
             "%d audit rows were lost: %d arrived with the backlog full (%d rows); %d could not be "
             "written before clinicd stopped",
             AUDIT_BACKLOG_ROWS + OVER, OVER, AUDIT_BACKLOG_ROWS, AUDIT_BACKLOG_ROWS);
    assert_non_null(strstr(log, expected));
    free(log);
    assert_int_equal(audit_backlog_pending(), 0);
    assert_int_equal(audit_backlog_lost(), 0);
    call_release(&call);
}

static void an_empty_backlog_has_nothing_to_report(void **state)
{
    (void)state;
    struct capture cap;
    capture_start(&cap);
    assert_int_equal(audit_backlog_drain(NULL, true), 0);
    char *log = capture_end(&cap);
    assert_string_equal(log, "");
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_row_the_database_cannot_take_waits_in_the_backlog),
        cmocka_unit_test(a_full_backlog_counts_what_it_cannot_keep_and_says_so_once),
        cmocka_unit_test(an_empty_backlog_has_nothing_to_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
