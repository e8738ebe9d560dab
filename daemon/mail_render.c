/* mail_render.c: messages to clients as text: the wording in English, French and German, local
 * dates, RFC 5322 headers (RFC 2047 for non-ASCII), a quoted-printable body, and the webhook's
 * signed JSON. Pure functions: no database, no network, unit-tested. */
#include "mail_render.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a growing string --- */

struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void buf_add(struct buf *b, const char *text, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *text)
{
    buf_add(b, text, strlen(text));
}

/* The finished string (malloc'd; "" for an empty one), or NULL when an allocation failed. */
static char *buf_take(struct buf *b, size_t *len)
{
    if (!b->failed && !b->s)
        buf_add(b, "", 0);
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    if (len)
        *len = b->len;
    return b->s;
}

/* Appends tmpl with each "{k}" replaced by the value of key k (one letter); other text as is. */
static void buf_template(struct buf *b, const char *tmpl, const char *keys,
                         const char *const *values)
{
    for (const char *p = tmpl; *p;) {
        const char *k;
        if (p[0] == '{' && p[1] && p[2] == '}' && (k = strchr(keys, p[1]))) {
            buf_str(b, values[k - keys]);
            p += 3;
        } else {
            buf_add(b, p, 1);
            p++;
        }
    }
}

/* --- the languages --- */

/* One language's words. Templates name their values "{x}" (buf_template): in dates {w} weekday,
 * {d} day, {m} month, {y} year, {t} time; elsewhere {s} service, {n} therapist, {a} when, {l}
 * location, {c} contact, {z} time zone. */
struct language {
    const char *tag;
    const char *weekdays[7]; /* Monday first */
    const char *months[12];
    const char *date;
    const char *subject[MAIL_KINDS]; /* by enum mail_kind */
    const char *intro[MAIL_KINDS];
    const char *what, *when, *where;
    const char *cancel_contact, *cancel_generic, *free_until, *zone_note;
    const char *held_until; /* an offer: until when it is held, and how to answer */
    const char *sessions;   /* a course: the heading of its list of sessions */
};

static const struct language languages[] = {
    {"en",
     {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
     {"January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"},
     "{w}, {d} {m} {y} at {t}",
     {"Appointment booked: {s} on {a}", "Appointment moved: {s} now on {a}",
      "Appointment cancelled: {s} on {a}", "Reminder: {s} on {a}",
      "A time for you from the waitlist: {s} on {a}", "Course booked: {s}, first session on {a}"},
     {"Your appointment is booked.", "Your appointment has moved to a new time.",
      "Your appointment is cancelled.", "A reminder of your appointment.",
      "A time you were waiting for has become free, and we are holding it for you.",
      "Your course of sessions is booked."},
     "What:  {s} with {n}",
     "When:  {a}",
     "Where: {l}",
     "To cancel or move it: {c}.",
     "To cancel or move it, please contact {l}.",
     "Cancelling is free of charge until {a}.",
     "Times are local time in {z}.",
     "It is held for you until {a}. Accept it on the booking page or by contacting {l}; if you\n"
     "do not, it passes to the next client waiting.",
     "Sessions:"},
    {"fr",
     {"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"},
     {"janvier", "f\xc3\xa9vrier", "mars", "avril", "mai", "juin", "juillet", "ao\xc3\xbbt",
      "septembre", "octobre", "novembre",
      "d\xc3\xa9"
      "cembre"},
     "{w} {d} {m} {y} \xc3\xa0 {t}",
     {"Rendez-vous confirm\xc3\xa9 : {s} le {a}", "Rendez-vous d\xc3\xa9plac\xc3\xa9 : {s} le {a}",
      "Rendez-vous annul\xc3\xa9 : {s} le {a}", "Rappel : {s} le {a}",
      "Un cr\xc3\xa9neau pour vous (liste d'attente) : {s} le {a}",
      "S\xc3\xa9rie de s\xc3\xa9\x61nces confirm\xc3\xa9\x65 : {s}, premi\xc3\xa8re le {a}"},
     {"Votre rendez-vous est confirm\xc3\xa9.",
      "Votre rendez-vous a \xc3\xa9t\xc3\xa9 d\xc3\xa9plac\xc3\xa9 \xc3\xa0 une nouvelle heure.",
      "Votre rendez-vous est annul\xc3\xa9.", "Un rappel de votre rendez-vous.",
      "Un cr\xc3\xa9neau que vous attendiez s'est lib\xc3\xa9r\xc3\xa9 ; nous vous le "
      "r\xc3\xa9servons.",
      "Votre s\xc3\xa9rie de s\xc3\xa9\x61nces est confirm\xc3\xa9\x65."},
     "Soin :  {s} avec {n}",
     "Date :  {a}",
     "Lieu :  {l}",
     "Pour annuler ou d\xc3\xa9placer ce rendez-vous : {c}.",
     "Pour annuler ou d\xc3\xa9placer ce rendez-vous, veuillez contacter {l}.",
     "L'annulation est gratuite jusqu'au {a}.",
     "Les heures sont celles du fuseau {z}.",
     "Il vous est r\xc3\xa9serv\xc3\xa9 jusqu'au {a}. Acceptez-le sur la page de "
     "r\xc3\xa9servation ou aupr\xc3\xa8s de\n{l} ; sinon, il passe au client suivant.",
     "S\xc3\xa9\x61nces :"},
    {"de",
     {"Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"},
     {"Januar", "Februar", "M\xc3\xa4rz", "April", "Mai", "Juni", "Juli", "August", "September",
      "Oktober", "November", "Dezember"},
     "{w}, {d}. {m} {y}, {t} Uhr",
     {"Termin gebucht: {s} am {a}", "Termin verschoben: {s} jetzt am {a}",
      "Termin abgesagt: {s} am {a}", "Erinnerung: {s} am {a}",
      "Ein Termin f\xc3\xbcr Sie von der Warteliste: {s} am {a}",
      "Behandlungsserie gebucht: {s}, erster Termin am {a}"},
     {"Ihr Termin ist gebucht.", "Ihr Termin wurde auf eine neue Zeit verschoben.",
      "Ihr Termin ist abgesagt.", "Eine Erinnerung an Ihren Termin.",
      "Ein Termin, auf den Sie warten, ist frei geworden; wir halten ihn f\xc3\xbcr Sie frei.",
      "Ihre Behandlungsserie ist gebucht."},
     "Was:  {s} bei {n}",
     "Wann: {a}",
     "Wo:   {l}",
     "Absagen oder verschieben: {c}.",
     "Zum Absagen oder Verschieben wenden Sie sich bitte an {l}.",
     "Bis {a} ist die Absage kostenlos.",
     "Alle Zeiten in der Zeitzone {z}.",
     "Er ist bis {a} f\xc3\xbcr Sie reserviert. Nehmen Sie ihn auf der Buchungsseite oder bei\n"
     "{l} an; sonst geht er an die n\xc3\xa4"
     "chste wartende Person.",
     "Termine:"},
};

static const struct language *language_for(const char *tag)
{
    size_t n = tag ? strcspn(tag, "-_") : 0;
    for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
        if (strlen(languages[i].tag) == n && strncmp(languages[i].tag, tag, n) == 0)
            return &languages[i];
    return &languages[0];
}

const char *mail_language(const char *tag)
{
    return language_for(tag)->tag;
}

static const char *const kind_names[MAIL_KINDS] = {"booked",   "rescheduled", "cancelled",
                                                   "reminder", "offered",     "course_booked"};

bool mail_kind_parse(const char *text, enum mail_kind *out)
{
    for (int i = 0; i < MAIL_KINDS; i++)
        if (strcmp(text, kind_names[i]) == 0) {
            *out = (enum mail_kind)i;
            return true;
        }
    return false;
}

const char *mail_kind_name(enum mail_kind kind)
{
    return kind_names[kind];
}

/* --- local times --- */

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool mail_local_time_text(const char *language, const char *rfc3339, int weekday, char *out,
                          size_t len)
{
    int y, mo, d, h, mi;
    if (!rfc3339 || strlen(rfc3339) < 16 || !digits(rfc3339, 4, &y) || rfc3339[4] != '-' ||
        !digits(rfc3339 + 5, 2, &mo) || rfc3339[7] != '-' || !digits(rfc3339 + 8, 2, &d) ||
        (rfc3339[10] != 'T' && rfc3339[10] != ' ') || !digits(rfc3339 + 11, 2, &h) ||
        rfc3339[13] != ':' || !digits(rfc3339 + 14, 2, &mi) || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h > 23 || mi > 59 || weekday < 1 || weekday > 7)
        return false;
    const struct language *l = language_for(language);
    char day[4], year[8], time[8];
    snprintf(day, sizeof day, "%d", d);
    snprintf(year, sizeof year, "%d", y);
    snprintf(time, sizeof time, "%02d:%02d", h, mi);
    const char *values[] = {l->weekdays[weekday - 1], day, l->months[mo - 1], year, time};
    struct buf b = {0};
    buf_template(&b, l->date, "wdmyt", values);
    char *text = buf_take(&b, NULL);
    if (!text)
        return false;
    bool fits = strlen(text) < len;
    if (fits)
        memcpy(out, text, strlen(text) + 1);
    free(text);
    return fits;
}

/* --- subject and body --- */

/* The values every template of f may name: service, therapist, when, location (with its address
 * where the template is the "Where" line), contact, zone. */
struct words {
    char when[128];
    char until[128];
    char held[128];
    const char *values[6];
};

static bool words_of(const struct mail_facts *f, struct words *w)
{
    if (!mail_local_time_text(f->language, f->start_local, f->start_weekday, w->when,
                              sizeof w->when))
        return false;
    w->until[0] = w->held[0] = '\0';
    if (f->held_until_local && f->held_until_local[0] &&
        !mail_local_time_text(f->language, f->held_until_local, f->held_until_weekday, w->held,
                              sizeof w->held))
        return false;
    if (f->cancel_until_local[0] &&
        !mail_local_time_text(f->language, f->cancel_until_local, f->cancel_until_weekday, w->until,
                              sizeof w->until))
        return false;
    w->values[0] = f->service_name;
    w->values[1] = f->therapist_name;
    w->values[2] = w->when;
    w->values[3] = f->location_name;
    w->values[4] = f->cancel_contact;
    w->values[5] = f->time_zone;
    return true;
}

#define KEYS "snalcz"

char *mail_subject(const struct mail_facts *f)
{
    struct words w;
    if (!words_of(f, &w))
        return NULL;
    struct buf b = {0};
    buf_template(&b, language_for(f->language)->subject[f->kind], KEYS, w.values);
    return buf_take(&b, NULL);
}

/* A course's sessions, one numbered line each under the language's heading. */
static bool sessions_list(struct buf *b, const struct mail_facts *f, const struct language *l)
{
    buf_str(b, l->sessions);
    buf_str(b, "\n");
    for (size_t i = 0; i < f->n_sessions; i++) {
        char when[128], number[32];
        if (!mail_local_time_text(f->language, f->sessions[i].start_local, f->sessions[i].weekday,
                                  when, sizeof when))
            return false;
        snprintf(number, sizeof number, "%3zu. ", i + 1);
        buf_str(b, number);
        buf_str(b, when);
        buf_str(b, "\n");
    }
    return true;
}

char *mail_body(const struct mail_facts *f)
{
    struct words w;
    if (!words_of(f, &w))
        return NULL;
    const struct language *l = language_for(f->language);
    struct buf b = {0};
    buf_str(&b, l->intro[f->kind]);
    buf_str(&b, "\n\n");
    buf_template(&b, l->what, KEYS, w.values);
    buf_str(&b, "\n");
    if (f->kind == MAIL_COURSE_BOOKED && f->n_sessions > 0) {
        if (!sessions_list(&b, f, l)) {
            free(buf_take(&b, NULL));
            return NULL;
        }
    } else {
        buf_template(&b, l->when, KEYS, w.values);
        buf_str(&b, "\n");
    }
    buf_template(&b, l->where, KEYS, w.values);
    if (f->address[0]) {
        buf_str(&b, ", ");
        buf_str(&b, f->address);
    }
    buf_str(&b, "\n\n");
    if (f->kind == MAIL_OFFERED && w.held[0]) {
        const char *held_values[] = {"", "", w.held, f->location_name, "", ""};
        buf_template(&b, l->held_until, KEYS, held_values);
        buf_str(&b, "\n");
    } else if (f->kind != MAIL_CANCELLED) {
        buf_template(&b, f->cancel_contact[0] ? l->cancel_contact : l->cancel_generic, KEYS,
                     w.values);
        if (w.until[0]) {
            const char *until_values[] = {"", "", w.until, "", "", ""};
            buf_str(&b, " ");
            buf_template(&b, l->free_until, KEYS, until_values);
        }
        buf_str(&b, "\n");
    }
    buf_template(&b, l->zone_note, KEYS, w.values);
    buf_str(&b, "\n\n-- \n");
    buf_str(&b, f->location_name);
    buf_str(&b, "\n");
    return buf_take(&b, NULL);
}

/* --- RFC 2047, quoted-printable, Date --- */

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* Bytes of text (at most max) that end on a UTF-8 character boundary. */
static size_t utf8_chunk(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
        n--;
    return n ? n : max;
}

/* 39 bytes become 52 base64 characters: with "=?UTF-8?B?" and "?=" a word of 64, so that even
 * the first, after "Subject: ", stays within 78 columns. */
#define WORD_BYTES 39
/* An ASCII value's lines stay within this, so that "Subject: " and the value fit 78 columns. */
#define ASCII_FOLD 66

char *mail_header_text(const char *text)
{
    struct buf b = {0};
    if (printable_ascii(text) && !strstr(text, "=?")) {
        /* folded before a space where a line would pass 78 columns (RFC 5322, 2.2.3), leaving
         * room for the header's name on the first */
        size_t col = 0;
        while (*text) {
            size_t word = strcspn(text + 1, " ") + 1;
            if (col > 0 && col + word > ASCII_FOLD && *text == ' ') {
                buf_str(&b, "\r\n");
                col = 0;
            }
            buf_add(&b, text, word);
            col += word;
            text += word;
        }
        return buf_take(&b, NULL);
    }
    bool first = true;
    while (*text) {
        size_t n = utf8_chunk(text, WORD_BYTES);
        char b64[sodium_base64_ENCODED_LEN(WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)text, n,
                          sodium_base64_VARIANT_ORIGINAL);
        if (!first)
            buf_str(&b, "\r\n ");
        buf_str(&b, "=?UTF-8?B?");
        buf_str(&b, b64);
        buf_str(&b, "?=");
        first = false;
        text += n;
    }
    return buf_take(&b, NULL);
}

#define QP_LINE 76

char *mail_quoted_printable(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b = {0};
    const char *p = text;
    while (*p) {
        size_t line_len = strcspn(p, "\n");
        size_t end = line_len;
        if (end > 0 && p[end - 1] == '\r')
            end--;
        size_t col = 0;
        for (size_t i = 0; i < end; i++) {
            unsigned char c = (unsigned char)p[i];
            char enc[4];
            size_t n;
            bool last = i + 1 == end;
            if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
                enc[0] = (char)c;
                n = 1;
            } else {
                enc[0] = '=';
                enc[1] = hex[c >> 4];
                enc[2] = hex[c & 15];
                n = 3;
            }
            /* a soft break ("=" at the end) when this would pass the limit; the last character
             * of the line needs no room for one */
            if (col + n > (last ? QP_LINE : QP_LINE - 1)) {
                buf_str(&b, "=\r\n");
                col = 0;
            }
            buf_add(&b, enc, n);
            col += n;
        }
        buf_str(&b, "\r\n");
        p += line_len;
        if (*p == '\n')
            p++;
    }
    return buf_take(&b, NULL);
}

void mail_date(time_t t, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool mail_address_ok(const char *address)
{
    size_t n = strlen(address);
    const char *at = strchr(address, '@');
    if (n < 3 || n > 254 || !at || at == address || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = address; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e || strchr("<>\"(),;:\\[]", *p))
            return false;
    return true;
}

bool mail_message_id(long long id, const char *database_id, const char *from_address, char *out,
                     size_t len)
{
    const char *at = strchr(from_address, '@');
    int n = snprintf(out, len, "<clinic-outbox-%lld.%s@%s>", id, database_id,
                     at ? at + 1 : "clinicd.invalid");
    return n > 0 && (size_t)n < len;
}

/* The From header's value: the location's name as display name ("quoted", or encoded words when
 * it is not ASCII), then the address. */
static void add_from(struct buf *b, const char *name, const char *address)
{
    if (printable_ascii(name) && !strstr(name, "=?")) {
        buf_str(b, "\"");
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_str(b, "\\");
            buf_add(b, p, 1);
        }
        buf_str(b, "\"");
    } else {
        char *words = mail_header_text(name);
        if (!words) {
            b->failed = true;
            return;
        }
        buf_str(b, words);
        free(words);
    }
    buf_str(b, " <");
    buf_str(b, address);
    buf_str(b, ">");
}

char *mail_render(const struct mail_facts *f, const char *from_address, const char *to_address,
                  const char *message_id, time_t date, size_t *len)
{
    if (!mail_address_ok(from_address) || !mail_address_ok(to_address))
        return NULL;
    char *subject = mail_subject(f), *body = mail_body(f);
    char *subject_words = subject ? mail_header_text(subject) : NULL;
    char *qp = body ? mail_quoted_printable(body) : NULL;
    char *out = NULL;
    if (subject_words && qp) {
        char when[40];
        mail_date(date, when);
        struct buf b = {0};
        buf_str(&b, "Date: ");
        buf_str(&b, when);
        buf_str(&b, "\r\nFrom: ");
        add_from(&b, f->location_name, from_address);
        buf_str(&b, "\r\nTo: <");
        buf_str(&b, to_address);
        buf_str(&b, ">\r\nSubject: ");
        buf_str(&b, subject_words);
        buf_str(&b, "\r\nMessage-ID: ");
        buf_str(&b, message_id);
        buf_str(&b, "\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n"
                    "Content-Language: ");
        buf_str(&b, mail_language(f->language));
        buf_str(&b, "\r\nAuto-Submitted: auto-generated\r\n\r\n");
        buf_str(&b, qp);
        out = buf_take(&b, len);
    }
    free(subject);
    free(body);
    free(subject_words);
    free(qp);
    return out;
}

/* --- the webhook --- */

char *mail_webhook_body(const struct mail_facts *f, long long outbox_id, long long appointment_id,
                        long long location_id, const char *phone)
{
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:{s:I, s:s, s:s}, s:s, s:s, s:s}", "kind",
                  mail_kind_name(f->kind), "outbox_id", (json_int_t)outbox_id, "appointment_id",
                  (json_int_t)appointment_id, "start", f->start_local, "time_zone", f->time_zone,
                  "language", mail_language(f->language), "location", "id", (json_int_t)location_id,
                  "name", f->location_name, "address", f->address, "service", f->service_name,
                  "therapist", f->therapist_name, "phone", phone);
    if (!o)
        return NULL;
    if (f->kind == MAIL_OFFERED && f->held_until_local && f->held_until_local[0] &&
        json_object_set_new(o, "held_until", json_string(f->held_until_local)) != 0) {
        json_decref(o);
        return NULL;
    }
    if (f->kind == MAIL_COURSE_BOOKED) {
        json_t *sessions = json_array();
        for (size_t i = 0; sessions && i < f->n_sessions; i++)
            if (json_array_append_new(sessions, json_string(f->sessions[i].start_local)) != 0) {
                json_decref(sessions);
                sessions = NULL;
            }
        if (!sessions || json_object_set_new(o, "sessions", sessions) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

void mail_webhook_signature(const unsigned char *key, size_t key_len, const char *timestamp,
                            const char *body, size_t body_len, char out[72])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 72 - 7, mac, sizeof mac);
}
