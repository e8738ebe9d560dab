/* mailer.c: the outbox's delivery thread: claims due messages one transaction at a time, sends
 * email over SMTP and webhook POSTs with libcurl, and retries with back-off (mailer.h's DESIGN). */
#include "mailer.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "mail_render.h"
#include "status.h"

/* Without a wake-up (a reminder coming due, a change made through another daemon), look this
 * often. A reminder is due at a time nobody commits anything, so polling is needed anyway. */
#define MAILER_POLL_MS 1000
/* After the database failed, wait this long before the next try (db.c backs off too). */
#define MAILER_DB_PAUSE_MS 1000
#define ERROR_MAX          500

static const struct db_stmt claim_stmt = {"SELECT * FROM clinic_outbox_claim($1::text[])", 1};
static const struct db_stmt sent_stmt = {
    "UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = NULL,"
    " finished_at = now() WHERE id = $1",
    1};
static const struct db_stmt withdrawn_stmt = {
    "UPDATE outbox SET status = 'withdrawn', last_error = $2, finished_at = now() WHERE id = $1",
    2};
static const struct db_stmt retry_stmt = {
    "UPDATE outbox SET attempts = attempts + 1, last_error = $2,"
    " due_at = now() + $3::bigint * interval '1 millisecond' WHERE id = $1",
    3};
static const struct db_stmt failed_stmt = {
    "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2,"
    " finished_at = now() WHERE id = $1",
    2};

struct mailer {
    struct mailer_options opt; /* strings below are copies */
    char *smtp_url, *smtp_user, *smtp_password, *mail_from, *webhook_url;
    unsigned char *secret;
    char channels[32]; /* "{email,webhook}" */
    struct db *db;
    pthread_t thread;
    int wake_fd;
    atomic_bool stopping;
};

long mailer_backoff_ms(long attempts, long retry_base_ms, long retry_max_ms)
{
    long delay = retry_base_ms;
    for (long i = 1; i < attempts && delay < retry_max_ms; i++)
        delay = delay > retry_max_ms / 2 ? retry_max_ms : delay * 2;
    if (delay > retry_max_ms)
        delay = retry_max_ms;
    long half = delay / 2;
    return half +
           (half > 0
                ? (long)randombytes_uniform((uint32_t)(half > 0x7fffffff ? 0x7fffffff : half + 1))
                : 0);
}

/* --- one send --- */

/* What a send came to. */
enum outcome { SENT, RETRY, GIVE_UP, STOPPED };

struct upload {
    const char *data;
    size_t len, at;
};

static size_t read_upload(char *out, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t room = size * n, left = u->len - u->at;
    size_t take = left < room ? left : room;
    memcpy(out, u->data + u->at, take);
    u->at += take;
    return take;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* libcurl's progress callback: a non-zero answer abandons the transfer (mailer_stop). */
static int check_stopping(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&((struct mailer *)arg)->stopping) ? 1 : 0;
}

static void common_options(struct mailer *m, CURL *c, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, m->opt.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     m->opt.timeout_ms < 10000 ? m->opt.timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_stopping);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, m);
}

/* Sends message (RFC 5322, CRLF lines) to `to`. A 5xx answer (the address does not exist, the
 * message is refused for good) gives up at once; anything else may pass: retry. */
static enum outcome smtp_send(struct mailer *m, const char *to, const char *message, size_t len,
                              char *error, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(error, errlen, "libcurl cannot start a transfer");
        return RETRY;
    }
    char errbuf[CURL_ERROR_SIZE] = "", from[300], rcpt[300];
    snprintf(from, sizeof from, "<%s>", m->mail_from);
    snprintf(rcpt, sizeof rcpt, "<%s>", to);
    struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
    struct upload up = {message, len, 0};
    static const long tls[] = {CURLUSESSL_NONE, CURLUSESSL_TRY, CURLUSESSL_ALL};
    common_options(m, c, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, m->smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, tls[m->opt.starttls]);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    if (m->smtp_user[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, m->smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, m->smtp_password);
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK)
        return SENT;
    if (rc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&m->stopping))
        return STOPPED;
    snprintf(error, errlen, "SMTP %ld: %s", code, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return code >= 500 && code < 600 ? GIVE_UP : RETRY;
}

/* POSTs body, signed, to the webhook. A 2xx answer is delivered; anything else is retried. */
static enum outcome webhook_send(struct mailer *m, long long outbox_id, const char *body,
                                 char *error, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(error, errlen, "libcurl cannot start a transfer");
        return RETRY;
    }
    char errbuf[CURL_ERROR_SIZE] = "", stamp[24], signature[72];
    char h_stamp[64], h_sig[100], h_id[64];
    size_t len = strlen(body);
    snprintf(stamp, sizeof stamp, "%lld", (long long)time(NULL));
    mail_webhook_signature(m->secret, m->opt.webhook_secret_len, stamp, body, len, signature);
    snprintf(h_stamp, sizeof h_stamp, "X-Clinic-Timestamp: %s", stamp);
    snprintf(h_sig, sizeof h_sig, "X-Clinic-Signature: %s", signature);
    snprintf(h_id, sizeof h_id, "X-Clinic-Delivery: %lld", outbox_id);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, h_stamp);
    h = curl_slist_append(h, h_sig);
    h = curl_slist_append(h, h_id);
    h = curl_slist_append(h, "Expect:");
    common_options(m, c, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, m->webhook_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK && code >= 200 && code < 300)
        return SENT;
    if (rc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&m->stopping))
        return STOPPED;
    if (rc == CURLE_OK)
        snprintf(error, errlen, "webhook answered HTTP %ld", code);
    else
        snprintf(error, errlen, "webhook: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return RETRY;
}

/* --- one row --- */

/* The claim's columns (clinic_outbox_claim). */
enum {
    C_ID,
    C_KIND,
    C_CHANNEL,
    C_ATTEMPTS,
    C_APPOINTMENT,
    C_RECIPIENT,
    C_DELIVERABLE,
    C_LOCATION_ID,
    C_LOCATION,
    C_ADDRESS,
    C_LANGUAGE,
    C_ZONE,
    C_CONTACT,
    C_SERVICE,
    C_THERAPIST,
    C_START,
    C_START_WEEKDAY,
    C_UNTIL,
    C_UNTIL_WEEKDAY,
    C_DATABASE_ID,
    C_HELD_UNTIL,
    C_HELD_UNTIL_WEEKDAY,
    C_COURSE_SESSIONS,
};

/* The most sessions a course's confirmation lists (a course books at most 52). */
#define MAX_COURSE_SESSIONS 64

/* A course's sessions from the claim's JSON array of {"start", "weekday"} into out; their texts
 * stay owned by *doc (json_decref it). False when the JSON is not that (a bug). */
static bool course_sessions(const char *text, json_t **doc, struct mail_session *out, size_t *n)
{
    *n = 0;
    *doc = json_loads(text, 0, NULL);
    if (!json_is_array(*doc))
        return false;
    size_t i;
    json_t *item;
    json_array_foreach(*doc, i, item)
    {
        const char *start = json_string_value(json_object_get(item, "start"));
        json_int_t weekday = json_integer_value(json_object_get(item, "weekday"));
        if (!start || weekday < 1 || weekday > 7 || *n == MAX_COURSE_SESSIONS)
            return false;
        out[(*n)++] = (struct mail_session){start, (int)weekday};
    }
    return *n > 0;
}

/* Sends the rendered message of f by its channel. */
static enum outcome deliver_facts(struct mailer *m, const struct db_result *r,
                                  const struct mail_facts *f, long long id, const char *to,
                                  char *error, size_t errlen)
{
    enum outcome result;
    if (strcmp(db_value(r, 0, C_CHANNEL), "email") == 0) {
        char message_id[400];
        size_t len = 0;
        char *message = NULL;
        if (!mail_address_ok(to)) {
            snprintf(error, errlen, "the client's email address cannot be used in SMTP");
            return GIVE_UP;
        }
        if (mail_message_id(id, db_value(r, 0, C_DATABASE_ID), m->mail_from, message_id,
                            sizeof message_id))
            message = mail_render(f, m->mail_from, to, message_id, time(NULL), &len);
        if (!message) {
            snprintf(error, errlen, "the message cannot be rendered");
            return RETRY;
        }
        result = smtp_send(m, to, message, len, error, errlen);
        free(message);
    } else {
        char *body = mail_webhook_body(f, id, strtoll(db_value(r, 0, C_APPOINTMENT), NULL, 10),
                                       strtoll(db_value(r, 0, C_LOCATION_ID), NULL, 10), to);
        if (!body) {
            snprintf(error, errlen, "the webhook's body cannot be made");
            return RETRY;
        }
        result = webhook_send(m, id, body, error, errlen);
        free(body);
    }
    return result;
}

/* Renders and sends the claimed row; `error` says why when it was not sent. */
static enum outcome deliver(struct mailer *m, const struct db_result *r, char *error, size_t errlen)
{
    struct mail_facts f = {
        .language = db_value(r, 0, C_LANGUAGE),
        .location_name = db_value(r, 0, C_LOCATION),
        .address = db_value(r, 0, C_ADDRESS),
        .cancel_contact = db_value(r, 0, C_CONTACT),
        .service_name = db_value(r, 0, C_SERVICE),
        .therapist_name = db_value(r, 0, C_THERAPIST),
        .time_zone = db_value(r, 0, C_ZONE),
        .start_local = db_value(r, 0, C_START),
        .start_weekday = (int)strtol(db_value(r, 0, C_START_WEEKDAY), NULL, 10),
        .cancel_until_local = db_value(r, 0, C_UNTIL),
        .cancel_until_weekday = (int)strtol(db_value(r, 0, C_UNTIL_WEEKDAY), NULL, 10),
        .held_until_local = db_value(r, 0, C_HELD_UNTIL),
        .held_until_weekday = (int)strtol(db_value(r, 0, C_HELD_UNTIL_WEEKDAY), NULL, 10),
    };
    long long id = strtoll(db_value(r, 0, C_ID), NULL, 10);
    const char *to = db_value(r, 0, C_RECIPIENT);
    if (!mail_kind_parse(db_value(r, 0, C_KIND), &f.kind)) {
        snprintf(error, errlen, "unknown kind of message");
        return GIVE_UP;
    }
    struct mail_session sessions[MAX_COURSE_SESSIONS];
    json_t *course = NULL;
    if (f.kind == MAIL_COURSE_BOOKED) {
        bool ok =
            course_sessions(db_value(r, 0, C_COURSE_SESSIONS), &course, sessions, &f.n_sessions);
        f.sessions = sessions;
        if (!ok) {
            json_decref(course);
            snprintf(error, errlen, "the course's sessions cannot be read");
            return GIVE_UP;
        }
    }
    enum outcome result = deliver_facts(m, r, &f, id, to, error, errlen);
    json_decref(course);
    return result;
}

/* Claims, sends and records one due message in one transaction. 1: a row was handled (look for
 * the next at once), 0: none was due, -1: the database failed. */
static int handle_one(struct mailer *m)
{
    int64_t deadline = now_us() + (int64_t)(m->opt.timeout_ms + 30000) * 1000;
    struct db_result *r = NULL;
    if (db_begin(m->db, deadline) != STATUS_OK)
        return -1;
    const char *channels[] = {m->channels};
    if (db_query(m->db, &claim_stmt, channels, &r) != STATUS_OK)
        goto fail;
    if (db_rows(r) == 0) {
        db_result_free(r);
        db_rollback(m->db);
        return 0;
    }
    const char *id = db_value(r, 0, C_ID);
    char id_copy[24], error[ERROR_MAX] = "";
    snprintf(id_copy, sizeof id_copy, "%s", id);
    long attempts = strtol(db_value(r, 0, C_ATTEMPTS), NULL, 10) + 1;
    bool email = strcmp(db_value(r, 0, C_CHANNEL), "email") == 0;
    int rc;
    if (strcmp(db_value(r, 0, C_DELIVERABLE), "t") != 0) {
        const char *why = "no longer due: the client opted out or has no address, or the "
                          "appointment changed";
        db_result_free(r);
        rc = db_query(m->db, &withdrawn_stmt, (const char *[]){id_copy, why}, NULL);
    } else {
        enum outcome o = deliver(m, r, error, sizeof error);
        db_result_free(r);
        if (o == STOPPED) {
            db_rollback(m->db);
            return 0;
        }
        if (o == SENT) {
            rc = db_query(m->db, &sent_stmt, (const char *[]){id_copy}, NULL);
            log_msg(LOG_LEVEL_DEBUG, "mailer: outbox %s sent by %s", id_copy,
                    email ? "email" : "webhook");
        } else if (o == GIVE_UP || attempts >= m->opt.max_attempts) {
            rc = db_query(m->db, &failed_stmt, (const char *[]){id_copy, error}, NULL);
            log_msg(LOG_LEVEL_WARN, "mailer: outbox %s failed after %ld attempt(s), given up: %s",
                    id_copy, attempts, error);
        } else {
            char delay[24];
            long ms = mailer_backoff_ms(attempts, m->opt.retry_base_ms, m->opt.retry_max_ms);
            snprintf(delay, sizeof delay, "%ld", ms);
            rc = db_query(m->db, &retry_stmt, (const char *[]){id_copy, error, delay}, NULL);
            log_msg(LOG_LEVEL_INFO,
                    "mailer: outbox %s not delivered (attempt %ld), again in %ld ms: %s", id_copy,
                    attempts, ms, error);
        }
    }
    if (rc != STATUS_OK || db_commit(m->db) != STATUS_OK) {
        /* a message that went out stays pending and goes again: its Message-ID lets the
         * receiver drop the copy (mailer.h) */
        log_msg(LOG_LEVEL_WARN, "mailer: cannot record outbox %s: %s", id_copy,
                db_error_detail(m->db));
        db_rollback(m->db);
        return -1;
    }
    return 1;
fail:
    log_msg(LOG_LEVEL_WARN, "mailer: %s", db_error_detail(m->db));
    db_rollback(m->db);
    return -1;
}

/* Waits up to ms for a wake-up (mailer_wake, mailer_stop) and drains it. */
static void wait_for_wake(struct mailer *m, int ms)
{
    struct pollfd pfd = {.fd = m->wake_fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) > 0) {
        uint64_t count;
        if (read(m->wake_fd, &count, sizeof count) < 0) {
            /* EAGAIN: drained already; the loop looks anyway */
        }
    }
}

static void *mailer_main(void *arg)
{
    struct mailer *m = arg;
    while (!atomic_load(&m->stopping)) {
        int handled = handle_one(m);
        if (handled == 1)
            continue;
        wait_for_wake(m, handled < 0 ? MAILER_DB_PAUSE_MS : MAILER_POLL_MS);
    }
    return NULL;
}

void mailer_wake(struct mailer *m)
{
    uint64_t one = 1;
    if (m && write(m->wake_fd, &one, sizeof one) < 0) {
        /* the counter is full: a wake-up is pending anyway */
    }
}

static char *copy(const char *s)
{
    return strdup(s ? s : "");
}

static void mailer_free(struct mailer *m)
{
    if (m->wake_fd >= 0)
        close(m->wake_fd);
    db_free(m->db);
    free(m->smtp_url);
    free(m->smtp_user);
    if (m->smtp_password)
        sodium_memzero(m->smtp_password, strlen(m->smtp_password));
    free(m->smtp_password);
    free(m->mail_from);
    free(m->webhook_url);
    if (m->secret)
        sodium_memzero(m->secret, m->opt.webhook_secret_len);
    free(m->secret);
    free(m);
}

struct mailer *mailer_start(const struct mailer_options *opt, char *err, size_t errlen)
{
    bool smtp = opt->smtp_url && opt->smtp_url[0], hook = opt->webhook_url && opt->webhook_url[0];
    err[0] = '\0';
    if (!smtp && !hook)
        return NULL;
    struct mailer *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory starting the mailer");
        return NULL;
    }
    m->opt = *opt;
    m->wake_fd = -1;
    m->smtp_url = copy(opt->smtp_url);
    m->smtp_user = copy(opt->smtp_user);
    m->smtp_password = copy(opt->smtp_password);
    m->mail_from = copy(opt->mail_from);
    m->webhook_url = copy(opt->webhook_url);
    m->secret = malloc(opt->webhook_secret_len ? opt->webhook_secret_len : 1);
    if (m->secret && opt->webhook_secret_len)
        memcpy(m->secret, opt->webhook_secret, opt->webhook_secret_len);
    snprintf(m->channels, sizeof m->channels, "{%s%s%s}", smtp ? "email" : "",
             smtp && hook ? "," : "", hook ? "webhook" : "");
    if (!m->smtp_url || !m->smtp_user || !m->smtp_password || !m->mail_from || !m->webhook_url ||
        !m->secret || !(m->db = db_new(opt->database_url))) {
        snprintf(err, errlen, "out of memory starting the mailer");
        mailer_free(m);
        return NULL;
    }
    if ((m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot make the mailer's wake-up: %s", strerror(errno));
        mailer_free(m);
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl cannot start");
        mailer_free(m);
        return NULL;
    }
    if (pthread_create(&m->thread, NULL, mailer_main, m) != 0) {
        snprintf(err, errlen, "cannot start the mailer thread");
        curl_global_cleanup();
        mailer_free(m);
        return NULL;
    }
    return m;
}

void mailer_stop(struct mailer *m)
{
    if (!m)
        return;
    atomic_store(&m->stopping, true);
    mailer_wake(m);
    pthread_join(m->thread, NULL);
    curl_global_cleanup();
    mailer_free(m);
}
