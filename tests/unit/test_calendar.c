/* test_calendar.c: calendar feeds in clinic-gateway (clients/gateway/calendar.c): which paths
 * name a feed, and the iCalendar written for a feed: CRLF lines of at most 75 octets, text
 * escaped as RFC 5545 says, UTC instants, a stable UID per appointment, STATUS and SEQUENCE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

static void feed_paths_are_recognised_exactly(void **state)
{
    (void)state;
    Clinic__V1__FeedKind kind = CLINIC__V1__FEED_KIND__FEED_KIND_UNSPECIFIED;
    int64_t id = 0;
    assert_true(calendar_feed_path("/calendar/client/7.ics", &kind, &id));
    assert_int_equal(kind, CLINIC__V1__FEED_KIND__FEED_KIND_CLIENT);
    assert_int_equal(id, 7);
    assert_true(calendar_feed_path("/calendar/therapist/9223372036854775807.ics", &kind, &id));
    assert_int_equal(kind, CLINIC__V1__FEED_KIND__FEED_KIND_THERAPIST);
    assert_int_equal(id, INT64_MAX);
    static const char *const not_feeds[] = {
        "/calendar/client/0.ics",
        "/calendar/client/07.ics",
        "/calendar/client/-7.ics",
        "/calendar/client/+7.ics",
        "/calendar/client/ 7.ics",
        "/calendar/client/7.ics/",
        "/calendar/client/7.ical",
        "/calendar/client/7",
        "/calendar/client/.ics",
        "/calendar/admin/7.ics",
        "/calendar/client7.ics",
        "/calendar/7.ics",
        "/calendar/client/7x.ics",
        "/calendar//client/7.ics",
        "/Calendar/client/7.ics",
        "/calendar/therapist/9223372036854775808.ics",
        "",
        "/clinic.v1.Calendar/Feed",
    };
    for (size_t i = 0; i < sizeof not_feeds / sizeof not_feeds[0]; i++)
        if (calendar_feed_path(not_feeds[i], &kind, &id))
            fail_msg("\"%s\" was taken for a feed", not_feeds[i]);
}

/* The feed of one booked and one cancelled appointment, with text that must be escaped and a
 * summary long enough to be folded. */
static char *render_sample(size_t *len)
{
    Clinic__V1__FeedEvent booked = CLINIC__V1__FEED_EVENT__INIT,
                          cancelled = CLINIC__V1__FEED_EVENT__INIT;
    booked.appointment_id = 41;
    booked.start_unix = 1805184000; /* 2027-03-16T08:00:00Z */
    booked.end_unix = 1805187600;
    booked.created_unix = booked.updated_unix = 1800000000;
    booked.summary = "Back pain treatment, deep tissue; neck\nand shoulders · J. S. "
                     "with a summary long enough to need folding at 75 octets";
    booked.location = "Mitte, Room 2";
    cancelled = booked;
    cancelled.appointment_id = 42;
    cancelled.sequence = 3;
    cancelled.cancelled = true;
    cancelled.summary = "Hot stones";
    cancelled.location = "";
    Clinic__V1__FeedEvent *events[] = {&booked, &cancelled};
    Clinic__V1__CalendarFeed feed = CLINIC__V1__CALENDAR_FEED__INIT;
    feed.name = "Sessions of Anna Berg";
    feed.time_zone = "Europe/Berlin";
    feed.uid_domain = "0123456789abcdef0123456789abcdef";
    feed.n_events = 2;
    feed.events = events;
    calendar_init();
    return calendar_render(&feed, len);
}

static void lines_end_in_crlf_and_are_folded_at_75_octets(void **state)
{
    (void)state;
    size_t len = 0;
    char *ics = render_sample(&len);
    assert_non_null(ics);
    assert_int_equal(len, strlen(ics));
    bool folded = false;
    for (char *line = ics; *line;) {
        char *end = strstr(line, "\r\n");
        assert_non_null(end);
        assert_true(end - line <= 75);
        assert_null(memchr(line, '\n', (size_t)(end - line)));
        folded = folded || line[0] == ' ';
        line = end + 2;
    }
    assert_true(folded);
    free(ics);
}

/* A property's value with folding undone: the text after "\r\nNAME:" up to the line's end. */
static char *unfolded_value(const char *ics, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *at = strstr(ics, key);
    if (!at)
        return NULL;
    size_t n = 0;
    for (at += strlen(key); *at && n + 1 < size; at++) {
        if (at[0] == '\r' && at[1] == '\n') {
            if (at[2] != ' ')
                break;
            at += 2; /* a folded line goes on after its one space */
            continue;
        }
        out[n++] = *at;
    }
    out[n] = '\0';
    return out;
}

static void events_carry_what_a_calendar_needs(void **state)
{
    (void)state;
    size_t len;
    char *ics = render_sample(&len);
    assert_non_null(ics);
    assert_non_null(strstr(ics, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert_non_null(strstr(ics, "\r\nX-WR-CALNAME:Sessions of Anna Berg\r\n"));
    assert_non_null(
        strstr(ics, "\r\nUID:appointment-41@0123456789abcdef0123456789abcdef.clinicd\r\n"));
    assert_non_null(strstr(ics, "\r\nDTSTART:20270316T080000Z\r\n"));
    assert_non_null(strstr(ics, "\r\nDTEND:20270316T090000Z\r\n"));
    assert_non_null(strstr(ics, "\r\nDTSTAMP:20270115T080000Z\r\n"));
    char value[512];
    assert_non_null(unfolded_value(ics, "SUMMARY", value, sizeof value));
    assert_string_equal(value, "Back pain treatment\\, deep tissue\\; neck\\nand shoulders · J. "
                               "S. with a summary long enough to need folding at 75 octets");
    assert_non_null(unfolded_value(ics, "LOCATION", value, sizeof value));
    assert_string_equal(value, "Mitte\\, Room 2");
    /* the cancelled one: its status, its changes counted, free time, no location line */
    const char *second = strstr(ics, "UID:appointment-42@");
    assert_non_null(second);
    assert_non_null(strstr(second, "\r\nSEQUENCE:3\r\nSTATUS:CANCELLED\r\nTRANSP:TRANSPARENT\r\n"));
    assert_non_null(strstr(second, "\r\nSUMMARY:Cancelled: Hot stones\r\n"));
    assert_null(strstr(second, "LOCATION"));
    assert_non_null(strstr(ics, "\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n"));
    free(ics);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feed_paths_are_recognised_exactly),
        cmocka_unit_test(lines_end_in_crlf_and_are_folded_at_75_octets),
        cmocka_unit_test(events_carry_what_a_calendar_needs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
