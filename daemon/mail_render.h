/* mail_render.h: the text of a message to a client (a confirmation or a reminder) in the
 * location's language and time zone, as an RFC 5322 email or as the webhook's signed JSON.
 *
 * Only what a message may say reaches these functions: the location's name and address, the
 * service, the therapist's display name, the local date and time, and how to cancel. No clinical
 * data (notes, pain, intake, areas) is ever given to them, so none can be written. */
#ifndef CLINICD_MAIL_RENDER_H
#define CLINICD_MAIL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* MAIL_OFFERED: a waitlist offer, a time held for the client until a deadline.
 * MAIL_COURSE_BOOKED: a course of sessions booked at once, every session in one message. */
enum mail_kind {
    MAIL_BOOKED,
    MAIL_RESCHEDULED,
    MAIL_CANCELLED,
    MAIL_REMINDER,
    MAIL_OFFERED,
    MAIL_COURSE_BOOKED
};
#define MAIL_KINDS 6

/* "booked", "rescheduled", "cancelled", "reminder", "offered" or "course_booked" (the outbox's
 * kind); false otherwise. */
__attribute__((warn_unused_result)) bool mail_kind_parse(const char *text, enum mail_kind *out);
const char *mail_kind_name(enum mail_kind kind);

/* One session of a course, as a course's confirmation lists it. */
struct mail_session {
    const char *start_local; /* RFC 3339 in the location's zone */
    int weekday;             /* ISO: 1 = Monday ... 7 = Sunday */
};

/* What one message says. Strings are UTF-8 and never NULL ("" when absent). */
struct mail_facts {
    enum mail_kind kind;
    const char *language;           /* the location's tag ("de", "fr-CA"); unknown: English */
    const char *location_name;      /* also the sender's display name */
    const char *address;            /* "" when the location has none */
    const char *cancel_contact;     /* how to cancel: a phone number or web address; "" */
    const char *service_name;       /* "Back pain treatment" */
    const char *therapist_name;     /* the therapist's display name */
    const char *time_zone;          /* IANA zone of the location: "Europe/Berlin" */
    const char *start_local;        /* RFC 3339 in that zone: "2027-03-29T09:00:00+02:00" */
    int start_weekday;              /* ISO: 1 = Monday ... 7 = Sunday */
    const char *cancel_until_local; /* free cancellation ends (RFC 3339), "" when not shown */
    int cancel_until_weekday;
    const char *held_until_local; /* MAIL_OFFERED: the hold's deadline (RFC 3339); else "" */
    int held_until_weekday;
    const struct mail_session *sessions; /* MAIL_COURSE_BOOKED: the course's sessions to come, */
    size_t n_sessions;                   /* the first being start_local; else none */
};

/* The language whose text is used for tag: "en", "fr" or "de" by the tag's primary subtag
 * ("fr-CA" is French); any other tag falls back to English. */
const char *mail_language(const char *tag);

/* "Monday, 29 March 2027 at 09:00" (en), "lundi 29 mars 2027 à 09:00" (fr), "Montag, 29. März
 * 2027, 09:00 Uhr" (de) from an RFC 3339 local time and its ISO weekday. False when rfc3339 is
 * malformed, the weekday out of range or out too small. */
__attribute__((warn_unused_result)) bool
mail_local_time_text(const char *language, const char *rfc3339, int weekday, char *out, size_t len);

/* The subject and the plain-text body (LF lines), malloc'd; NULL when out of memory or a time
 * is malformed. */
char *mail_subject(const struct mail_facts *f);
char *mail_body(const struct mail_facts *f);

/* An unstructured header's value as RFC 2047 wants it: the text itself when it is printable
 * ASCII (folded before a space where a line would pass 66 columns), else UTF-8 "B" encoded words
 * of at most 75 characters, folded with CRLF SP. malloc'd. */
char *mail_header_text(const char *text);

/* Text (LF or CRLF lines) in quoted-printable (RFC 2045): CRLF lines of at most 76 characters,
 * soft breaks where longer, '=' and bytes outside printable ASCII as =XX, a space or tab at a
 * line's end encoded. malloc'd. */
char *mail_quoted_printable(const char *text);

/* The Date header's value for t: "Sun, 06 Dec 2026 20:18:03 +0000" (UTC, English names). */
void mail_date(time_t t, char out[40]);

/* The message id of outbox row `id`: "<clinic-outbox-ID.DOMAIN_ID@HOST>", HOST being the domain
 * of from_address. The same row always gets the same id, so a receiver that saw it already can
 * drop a second copy. False when it does not fit. */
__attribute__((warn_unused_result)) bool mail_message_id(long long id, const char *database_id,
                                                         const char *from_address, char *out,
                                                         size_t len);

/* An email address as the envelope and the To header take it: 1 to 254 bytes, one '@' with
 * text on both sides, printable ASCII without spaces, quotes, angle brackets, commas or
 * semicolons. */
bool mail_address_ok(const char *address);

/* The whole message: Date, From (the location's name and from_address), To, Subject,
 * Message-ID, MIME-Version, Content-Type text/plain; charset=UTF-8, quoted-printable body; CRLF
 * lines. malloc'd (its length in *len), NULL on failure. */
char *mail_render(const struct mail_facts *f, const char *from_address, const char *to_address,
                  const char *message_id, time_t date, size_t *len);

/* The webhook's JSON body: kind, outbox_id, appointment_id, start (local, with offset),
 * time_zone, language, location {id, name, address}, service, therapist, phone, and for an
 * offer held_until (local, with offset). malloc'd. */
char *mail_webhook_body(const struct mail_facts *f, long long outbox_id, long long appointment_id,
                        long long location_id, const char *phone);

/* "sha256=" and the hex HMAC-SHA256 under key of "TIMESTAMP.BODY": the receiver recomputes it
 * from the X-Clinic-Timestamp header and the body, and refuses old timestamps (replays). */
void mail_webhook_signature(const unsigned char *key, size_t key_len, const char *timestamp,
                            const char *body, size_t body_len, char out[72]);

#endif
