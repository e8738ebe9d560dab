/* test_mail_render.c: messages to clients as text (daemon/mail_render.c): the local time in the
 * location's language, the fall-back to English, RFC 2047 subjects, quoted-printable bodies of
 * CRLF lines within 76 characters, the headers of a whole message, the back-off's bounds, and the
 * webhook's JSON and HMAC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_render.h"
#include "mailer.h"

static struct mail_facts facts(enum mail_kind kind, const char *language)
{
    return (struct mail_facts){
        .kind = kind,
        .language = language,
        .location_name = "Praxis Mitte",
        .address = "Torstra\xc3\x9f"
                   "e 1, 10119 Berlin",
        .cancel_contact = "+49 30 1234567",
        .service_name = "Back pain treatment",
        .therapist_name = "Anna Berger",
        .time_zone = "Europe/Berlin",
        .start_local = "2027-03-29T09:00:00+02:00",
        .start_weekday = 1,
        .cancel_until_local = "2027-03-28T09:00:00+02:00",
        .cancel_until_weekday = 7,
    };
}

static void local_time_is_written_in_each_language(void **state)
{
    (void)state;
    char out[128];
    assert_true(mail_local_time_text("en", "2027-03-29T09:00:00+02:00", 1, out, sizeof out));
    assert_string_equal(out, "Monday, 29 March 2027 at 09:00");
    assert_true(mail_local_time_text("fr", "2027-08-01T17:45:00+02:00", 7, out, sizeof out));
    assert_string_equal(out, "dimanche 1 ao\xc3\xbbt 2027 \xc3\xa0 17:45");
    assert_true(mail_local_time_text("de", "2027-03-03T08:05:00+01:00", 3, out, sizeof out));
    assert_string_equal(out, "Mittwoch, 3. M\xc3\xa4rz 2027, 08:05 Uhr");
    assert_true(mail_local_time_text("fr", "2027-12-24T10:00:00+01:00", 5, out, sizeof out));
    assert_string_equal(out, "vendredi 24 d\xc3\xa9"
                             "cembre 2027 \xc3\xa0 10:00");
    assert_false(mail_local_time_text("en", "2027-13-01T09:00:00+01:00", 1, out, sizeof out));
    assert_false(mail_local_time_text("en", "2027-03-29T09:00:00+02:00", 8, out, sizeof out));
    assert_false(mail_local_time_text("en", "tomorrow", 1, out, sizeof out));
    assert_false(mail_local_time_text("en", "2027-03-29T09:00:00+02:00", 1, out, 10));
}

static void unknown_languages_fall_back_to_english(void **state)
{
    (void)state;
    assert_string_equal(mail_language("de"), "de");
    assert_string_equal(mail_language("fr-CA"), "fr");
    assert_string_equal(mail_language("it"), "en");
    assert_string_equal(mail_language(""), "en");
    assert_string_equal(mail_language("d"), "en");
    assert_string_equal(mail_language("deu"), "en");
    struct mail_facts f = facts(MAIL_BOOKED, "it");
    char *subject = mail_subject(&f);
    assert_string_equal(subject, "Appointment booked: Back pain treatment on Monday, 29 March "
                                 "2027 at 09:00");
    free(subject);
}

static void body_says_what_when_where_and_how_to_cancel(void **state)
{
    (void)state;
    struct mail_facts f = facts(MAIL_REMINDER, "en");
    char *body = mail_body(&f);
    assert_non_null(body);
    assert_non_null(strstr(body, "A reminder of your appointment."));
    assert_non_null(strstr(body, "What:  Back pain treatment with Anna Berger\n"));
    assert_non_null(strstr(body, "When:  Monday, 29 March 2027 at 09:00\n"));
    assert_non_null(strstr(body, "Where: Praxis Mitte, Torstra\xc3\x9f"
                                 "e 1, 10119 Berlin\n"));
    assert_non_null(strstr(body, "To cancel or move it: +49 30 1234567. Cancelling is free of "
                                 "charge until Sunday, 28 March 2027 at 09:00."));
    assert_non_null(strstr(body, "Europe/Berlin"));
    free(body);

    f = facts(MAIL_CANCELLED, "de");
    body = mail_body(&f);
    assert_non_null(strstr(body, "Ihr Termin ist abgesagt."));
    assert_null(strstr(body, "kostenlos")); /* nothing about cancelling what is cancelled */
    free(body);

    f = facts(MAIL_BOOKED, "fr");
    f.cancel_contact = "";
    f.cancel_until_local = "";
    body = mail_body(&f);
    assert_non_null(strstr(body, "veuillez contacter Praxis Mitte."));
    assert_null(strstr(body, "gratuite"));
    free(body);
}

/* A waitlist offer says until when the time is held and how to take it, in every language, and
 * not how to cancel what is not booked yet; the webhook carries the deadline. */
static void an_offer_says_until_when_it_is_held(void **state)
{
    (void)state;
    static const char *const expected[][2] = {
        {"en", "It is held for you until Thursday, 25 March 2027 at 18:30."},
        {"fr", "Il vous est r\xc3\xa9serv\xc3\xa9 jusqu'au jeudi 25 mars 2027 \xc3\xa0 18:30."},
        {"de", "Er ist bis Donnerstag, 25. M\xc3\xa4rz 2027, 18:30 Uhr f\xc3\xbcr Sie reserviert."},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        struct mail_facts f = facts(MAIL_OFFERED, expected[i][0]);
        f.held_until_local = "2027-03-25T18:30:00+01:00";
        f.held_until_weekday = 4;
        char *body = mail_body(&f), *subject = mail_subject(&f);
        assert_non_null(body);
        assert_non_null(subject);
        if (!strstr(body, expected[i][1]))
            fail_msg("no \"%s\" in:\n%s", expected[i][1], body);
        assert_non_null(strstr(body, "Praxis Mitte"));
        assert_null(strstr(body, "+49 30 1234567")); /* no cancelling of what is not booked */
        free(body);
        free(subject);
    }
    struct mail_facts f = facts(MAIL_OFFERED, "en");
    f.held_until_local = "2027-03-25T18:30:00+01:00";
    f.held_until_weekday = 4;
    char *subject = mail_subject(&f);
    assert_string_equal(subject, "A time for you from the waitlist: Back pain treatment on "
                                 "Monday, 29 March 2027 at 09:00");
    free(subject);
    char *json = mail_webhook_body(&f, 7, 8, 9, "+49 30 5550101");
    assert_non_null(json);
    assert_non_null(strstr(json, "\"kind\":\"offered\""));
    assert_non_null(strstr(json, "\"held_until\":\"2027-03-25T18:30:00+01:00\""));
    free(json);
    enum mail_kind kind;
    assert_true(mail_kind_parse("offered", &kind));
    assert_int_equal(kind, MAIL_OFFERED);
}

/* A course booked at once is one message listing every session, numbered, in each language;
 * the webhook carries the list. */
static void a_course_is_one_message_listing_its_sessions(void **state)
{
    (void)state;
    static const struct mail_session sessions[] = {
        {"2027-03-29T09:00:00+02:00", 1},
        {"2027-04-05T09:00:00+02:00", 1},
        {"2027-10-25T09:00:00+01:00", 1}, /* after the clocks went back: still 09:00 */
    };
    static const char *const expected[][4] = {
        {"en", "Sessions:\n", "  1. Monday, 29 March 2027 at 09:00\n",
         "  3. Monday, 25 October 2027 at 09:00\n"},
        {"fr", "S\xc3\xa9\x61nces :\n", "  1. lundi 29 mars 2027 \xc3\xa0 09:00\n",
         "  3. lundi 25 octobre 2027 \xc3\xa0 09:00\n"},
        {"de", "Termine:\n", "  1. Montag, 29. M\xc3\xa4rz 2027, 09:00 Uhr\n",
         "  3. Montag, 25. Oktober 2027, 09:00 Uhr\n"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        struct mail_facts f = facts(MAIL_COURSE_BOOKED, expected[i][0]);
        f.sessions = sessions;
        f.n_sessions = 3;
        char *body = mail_body(&f);
        assert_non_null(body);
        for (int k = 1; k < 4; k++)
            if (!strstr(body, expected[i][k]))
                fail_msg("no \"%s\" in:\n%s", expected[i][k], body);
        assert_non_null(strstr(body, "  2. "));
        free(body);
    }
    struct mail_facts f = facts(MAIL_COURSE_BOOKED, "en");
    f.sessions = sessions;
    f.n_sessions = 3;
    char *subject = mail_subject(&f);
    assert_string_equal(subject, "Course booked: Back pain treatment, first session on Monday, 29 "
                                 "March 2027 at 09:00");
    free(subject);
    char *json = mail_webhook_body(&f, 7, 8, 9, "+49 30 5550101");
    assert_non_null(json);
    assert_non_null(strstr(json, "\"kind\":\"course_booked\""));
    assert_non_null(strstr(json,
                           "\"sessions\":[\"2027-03-29T09:00:00+02:00\",\"2027-04-05T09:00:00+"
                           "02:00\",\"2027-10-25T09:00:00+01:00\"]"));
    free(json);
    enum mail_kind kind;
    assert_true(mail_kind_parse("course_booked", &kind));
    assert_int_equal(kind, MAIL_COURSE_BOOKED);
}

static void ascii_headers_stay_and_others_are_encoded_words(void **state)
{
    (void)state;
    char *h = mail_header_text("Reminder: Back care on Monday");
    assert_string_equal(h, "Reminder: Back care on Monday");
    free(h);
    h = mail_header_text("looks =?like?= a word");
    assert_non_null(strstr(h, "=?UTF-8?B?"));
    free(h);

    const char *text = "Rendez-vous confirm\xc3\xa9 : Soin du dos le mercredi 24 d\xc3\xa9"
                       "cembre 2027 \xc3\xa0 10:00, avec \xc3\x89lise \xc3\x89tienne";
    h = mail_header_text(text);
    /* every word within 75 characters, words folded with CRLF SP, and together the text */
    char decoded[512] = "";
    size_t used = 0;
    for (char *p = h; *p;) {
        char *end = strstr(p, "\r\n ");
        size_t n = end ? (size_t)(end - p) : strlen(p);
        assert_true(n <= 75);
        assert_memory_equal(p, "=?UTF-8?B?", 10);
        assert_memory_equal(p + n - 2, "?=", 2);
        unsigned char bin[64];
        size_t bin_len;
        assert_int_equal(sodium_base642bin(bin, sizeof bin, p + 10, n - 12, NULL, &bin_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        /* a word never splits a character: each decodes to whole UTF-8 on its own */
        assert_true((bin[0] & 0xc0) != 0x80);
        memcpy(decoded + used, bin, bin_len);
        used += bin_len;
        p += n + (end ? 3 : 0);
    }
    decoded[used] = '\0';
    assert_string_equal(decoded, text);
    free(h);
}

static void quoted_printable_keeps_lines_short_and_bytes_safe(void **state)
{
    (void)state;
    char *qp = mail_quoted_printable("a=b caf\xc3\xa9 \nline \t\n.dot\n");
    assert_string_equal(qp, "a=3Db caf=C3=A9=20\r\nline =09\r\n.dot\r\n");
    free(qp);

    char long_line[300];
    memset(long_line, 'x', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = '\0';
    long_line[70] = '\xc3';
    long_line[71] = '\xa9';
    qp = mail_quoted_printable(long_line);
    size_t total = 0;
    for (char *p = qp; *p;) {
        char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        assert_true(crlf - p <= 76);
        /* a soft break never splits "=XX" */
        for (char *q = p; q < crlf; q++)
            if (*q == '=' && q + 1 < crlf)
                assert_true(q + 2 < crlf);
        for (char *q = p; q < crlf; q++)
            total += *q == 'x';
        p = crlf + 2;
    }
    assert_int_equal(total, 297);
    free(qp);
}

static void date_header_is_rfc5322_in_utc(void **state)
{
    (void)state;
    char out[40];
    mail_date(0, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 +0000");
    mail_date(1806217200, out); /* 2027-03-28T07:00:00Z */
    assert_string_equal(out, "Sun, 28 Mar 2027 07:00:00 +0000");
}

/* Every line of message ends CRLF and holds at most 78 characters; no byte is 8-bit. */
static void assert_lines_ok(const char *m, size_t len)
{
    const char *line = m;
    for (const char *p = m; *p; p++) {
        assert_true((unsigned char)*p < 0x80);
        if (*p == '\n') {
            assert_true(p > m && p[-1] == '\r');
            assert_true(p - line - 1 <= 78);
            line = p + 1;
        }
    }
    assert_memory_equal(m + len - 2, "\r\n", 2);
}

static void message_has_every_header_and_crlf_lines(void **state)
{
    (void)state;
    struct mail_facts f = facts(MAIL_BOOKED, "de");
    char id[200];
    assert_true(mail_message_id(42, "abc123", "termine@praxis.example", id, sizeof id));
    assert_string_equal(id, "<clinic-outbox-42.abc123@praxis.example>");
    size_t len = 0;
    char *m = mail_render(&f, "termine@praxis.example", "kundin@example.org", id, 0, &len);
    assert_non_null(m);
    assert_int_equal(len, strlen(m));
    assert_non_null(strstr(m, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    assert_non_null(strstr(m, "\r\nFrom: \"Praxis Mitte\" <termine@praxis.example>\r\n"));
    assert_non_null(strstr(m, "\r\nTo: <kundin@example.org>\r\n"));
    /* "März" is not ASCII: the subject is encoded words */
    assert_non_null(strstr(m, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(strstr(m, "\r\nContent-Language: de\r\n"));
    assert_non_null(strstr(m, "\r\nMessage-ID: <clinic-outbox-42.abc123@praxis.example>\r\n"));
    assert_non_null(strstr(m, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(m, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(m, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
    assert_non_null(strstr(m, "\r\n\r\nIhr Termin ist gebucht.\r\n"));
    assert_lines_ok(m, len);
    free(m);

    f.language = "en"; /* a long ASCII subject is folded, not encoded */
    m = mail_render(&f, "termine@praxis.example", "kundin@example.org", id, 0, &len);
    assert_non_null(strstr(m, "\r\nSubject: Appointment booked: Back pain treatment on Monday, 29 "
                              "March 2027\r\n at 09:00\r\n"));
    assert_lines_ok(m, len);
    free(m);

    f.location_name = "Cabinet \xc3\x89toile";
    m = mail_render(&f, "rdv@cabinet.example", "client@example.org", id, 0, &len);
    assert_non_null(strstr(m, "\r\nFrom: =?UTF-8?B?"));
    assert_non_null(strstr(m, "?= <rdv@cabinet.example>\r\n"));
    free(m);
    assert_null(mail_render(&f, "rdv@cabinet.example", "two@@example.org", id, 0, &len));
    assert_null(mail_render(&f, "rdv@cabinet.example", "a@b.org\r\nBcc: x@y.org", id, 0, &len));
}

static void addresses_that_smtp_cannot_take_are_refused(void **state)
{
    (void)state;
    assert_true(mail_address_ok("jane.doe+clinic@example.org"));
    assert_false(mail_address_ok("jane doe@example.org"));
    assert_false(mail_address_ok("jane@example.org>"));
    assert_false(mail_address_ok("@example.org"));
    assert_false(mail_address_ok("jane@"));
    assert_false(mail_address_ok("j\xc3\xa9@example.org"));
}

static void backoff_doubles_up_to_its_cap(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        long first = mailer_backoff_ms(1, 1000, 60000);
        assert_true(first >= 500 && first <= 1000);
        long third = mailer_backoff_ms(3, 1000, 60000);
        assert_true(third >= 2000 && third <= 4000);
        long late = mailer_backoff_ms(40, 1000, 60000);
        assert_true(late >= 30000 && late <= 60000);
    }
}

static void webhook_body_and_signature_verify(void **state)
{
    (void)state;
    struct mail_facts f = facts(MAIL_RESCHEDULED, "fr");
    char *body = mail_webhook_body(&f, 7, 99, 3, "+33 6 12 34 56 78");
    assert_non_null(body);
    json_error_t e;
    json_t *o = json_loads(body, 0, &e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "rescheduled");
    assert_int_equal(json_integer_value(json_object_get(o, "appointment_id")), 99);
    assert_string_equal(json_string_value(json_object_get(o, "start")),
                        "2027-03-29T09:00:00+02:00");
    assert_string_equal(json_string_value(json_object_get(o, "phone")), "+33 6 12 34 56 78");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "location"), "name")),
                        "Praxis Mitte");
    json_decref(o);

    const unsigned char key[] = "a webhook secret of some length";
    char sig[72];
    mail_webhook_signature(key, sizeof key - 1, "1806044400", body, strlen(body), sig);
    unsigned char mac[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, sizeof key - 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"1806044400.", 11);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    assert_memory_equal(sig, "sha256=", 7);
    assert_string_equal(sig + 7, hex);
    char other[72];
    mail_webhook_signature(key, sizeof key - 1, "1806044401", body, strlen(body), other);
    assert_string_not_equal(sig, other); /* the timestamp is signed too */
    free(body);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_time_is_written_in_each_language),
        cmocka_unit_test(unknown_languages_fall_back_to_english),
        cmocka_unit_test(body_says_what_when_where_and_how_to_cancel),
        cmocka_unit_test(an_offer_says_until_when_it_is_held),
        cmocka_unit_test(a_course_is_one_message_listing_its_sessions),
        cmocka_unit_test(ascii_headers_stay_and_others_are_encoded_words),
        cmocka_unit_test(quoted_printable_keeps_lines_short_and_bytes_safe),
        cmocka_unit_test(date_header_is_rfc5322_in_utc),
        cmocka_unit_test(message_has_every_header_and_crlf_lines),
        cmocka_unit_test(addresses_that_smtp_cannot_take_are_refused),
        cmocka_unit_test(backoff_doubles_up_to_its_cap),
        cmocka_unit_test(webhook_body_and_signature_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
