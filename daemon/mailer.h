/* mailer.h: delivery of the outbox (sql/0025_outbox.sql): confirmations and reminders by email
 * over SMTP, and the same events as a signed JSON POST to a webhook, from a thread of its own
 * with its own PostgreSQL connection.
 *
 * DESIGN. Each message is one transaction: claim the first due row with FOR UPDATE SKIP LOCKED
 * (clinic_outbox_claim), send it, mark it sent (or due again later, or failed), commit. Several
 * daemons on one database therefore never send one row at the same time, and a daemon killed
 * mid-send leaves its row pending: its connection dies, PostgreSQL rolls the transaction back and
 * frees the lock, and another mailer sends the row again. An SMTP server keeps nothing of a DATA
 * it did not acknowledge, so that message arrives once. One window remains: the server has
 * answered 250 to the DATA (it took the message) and the daemon dies, or loses the database,
 * before its COMMIT. Then the row is sent a second time. Both copies carry the same Message-ID
 * (made from the row's id and the database's identity, mail_message_id), which is what RFC 5322
 * gives receivers to recognise a duplicate; and the webhook's X-Clinic-Delivery header carries
 * the row's id for the same purpose. Closing that window completely would need the server to
 * take part in our transaction, which SMTP cannot. */
#ifndef CLINICD_MAILER_H
#define CLINICD_MAILER_H

#include <stdbool.h>
#include <stddef.h>

enum mailer_starttls { MAILER_STARTTLS_NONE, MAILER_STARTTLS_TRY, MAILER_STARTTLS_REQUIRED };

struct mailer_options {
    const char *database_url;
    const char *smtp_url;      /* smtp:// or smtps://; "" or NULL: email stays queued */
    const char *smtp_user;     /* "" or NULL: no AUTH */
    const char *smtp_password; /* read from a file by config.c */
    enum mailer_starttls starttls;
    const char *mail_from;   /* the envelope sender and From address */
    const char *webhook_url; /* http:// or https://; "" or NULL: webhook rows stay queued */
    const unsigned char *webhook_secret;
    size_t webhook_secret_len;
    long retry_base_ms; /* the first retry's delay; doubled each time */
    long retry_max_ms;  /* the delay's cap */
    long max_attempts;  /* then the row is failed */
    long timeout_ms;    /* one send, connection included */
};

struct mailer;

/* Starts the mailer's thread when opt names an SMTP URL or a webhook URL; with neither it
 * returns NULL and err empty (nothing to deliver: rows stay queued). NULL with a sentence in err
 * when it cannot start. Strings in opt are copied. */
__attribute__((warn_unused_result)) struct mailer *mailer_start(const struct mailer_options *opt,
                                                                char *err, size_t errlen);

/* Stops the thread: a send in progress is abandoned (its row stays pending for the next try,
 * the server discards an unfinished DATA) and the thread joined. NULL is fine. */
void mailer_stop(struct mailer *m);

/* Wakes the mailer: a change was committed that may have queued a message. Any thread; NULL is
 * fine. */
void mailer_wake(struct mailer *m);

/* The delay before retry number `attempts` (1 for the first): retry_base_ms doubled per earlier
 * attempt, capped at retry_max_ms, and then between half of that and all of it (jitter, so
 * that the rows a down server refused do not all come back at once). */
long mailer_backoff_ms(long attempts, long retry_base_ms, long retry_max_ms);

#endif
