/* svc_calendar.c: clinic.v1.Calendar: calendar feeds of a client's or a therapist's appointments.
 *
 * Calendar apps fetch a feed by its URL alone, so a key in the URL stands for a token: 256 random
 * bits made as tokens are (auth.h), shown once, kept only as their SHA-256 and compared in
 * constant time. Rotating gives a new key and ends the old one. The feed itself is what a phone's
 * calendar may show to anyone who glances at it and to whoever syncs it: times, the service, the
 * therapist for the client, the client's initials for the therapist; never notes, pain scores or
 * contact details. clinic-gateway turns it into iCalendar (clients/gateway/calendar.c). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "call.h"
#include "check.h"
#include "clinic/v1/calendar.pb-c.h"
#include "db.h"
#include "handlers.h"
#include "param.h"
#include "rowmap.h"
#include "status.h"

/* Appointments that start from 90 days back to 400 days ahead: what a calendar shows of the past
 * and everything bookable ahead. */
#define FEED_WINDOW   "tstzrange(now() - interval '90 days', now() + interval '400 days')"
#define FEED_MAX_ROWS "2000"

#define FEED_EVENT_COLUMNS                                                                         \
    "a.id AS appointment_id, extract(epoch FROM a.start_at)::bigint AS start_unix,"                \
    " extract(epoch FROM a.end_at)::bigint AS end_unix, a.revision AS sequence,"                   \
    " a.status = 'cancelled' AS cancelled, extract(epoch FROM a.created_at)::bigint AS "           \
    "created_unix,"                                                                                \
    " extract(epoch FROM a.updated_at)::bigint AS updated_unix"

/* The zone of the owner's latest appointment, else the first location's. */
#define FEED_ZONE(owner_column)                                                                    \
    "coalesce((SELECT l.time_zone FROM appointments a JOIN locations l ON l.id = a.location_id"    \
    " WHERE a." owner_column " = $1 ORDER BY a.start_at DESC LIMIT 1),"                            \
    " (SELECT time_zone FROM locations WHERE NOT archived ORDER BY id LIMIT 1), 'UTC')"

static const struct db_stmt rotate_client_stmt = {
    "INSERT INTO calendar_feeds AS f (client_id, sha256, rotated_by)"
    " SELECT id, decode($2, 'hex'), $3 FROM clients WHERE id = $1 AND NOT archived"
    " ON CONFLICT ON CONSTRAINT calendar_feeds_client_key DO UPDATE"
    " SET sha256 = EXCLUDED.sha256, rotated_at = now(), rotated_by = EXCLUDED.rotated_by"
    " RETURNING f.client_id",
    3};
static const struct db_stmt rotate_therapist_stmt = {
    "INSERT INTO calendar_feeds AS f (therapist_id, sha256, rotated_by)"
    " SELECT id, decode($2, 'hex'), $3 FROM therapists WHERE id = $1 AND NOT archived"
    " ON CONFLICT ON CONSTRAINT calendar_feeds_therapist_key DO UPDATE"
    " SET sha256 = EXCLUDED.sha256, rotated_at = now(), rotated_by = EXCLUDED.rotated_by"
    " RETURNING f.therapist_id",
    3};

/* The feed's key digest and heading, for an owner still with the clinic. */
static const struct db_stmt client_feed_stmt = {
    "SELECT encode(f.sha256, 'hex') AS digest, 'Massage appointments' AS name,"
    " " FEED_ZONE("client_id") " AS time_zone,"
                               " (SELECT uid_domain FROM calendar_identity) AS uid_domain"
                               " FROM calendar_feeds f JOIN clients c ON c.id = f.client_id AND "
                               "NOT c.archived"
                               " WHERE f.client_id = $1",
    1};
static const struct db_stmt therapist_feed_stmt = {
    "SELECT encode(f.sha256, 'hex') AS digest, 'Sessions of ' || t.name AS name,"
    " " FEED_ZONE("therapist_id") " AS time_zone,"
                                  " (SELECT uid_domain FROM calendar_identity) AS uid_domain"
                                  " FROM calendar_feeds f JOIN therapists t ON t.id = "
                                  "f.therapist_id AND NOT t.archived"
                                  " WHERE f.therapist_id = $1",
    1};

/* A client's own feed names the service and the therapist. */
static const struct db_stmt client_events_stmt = {
    "SELECT " FEED_EVENT_COLUMNS ", s.name || ' with ' || t.name AS summary, l.name AS location"
    " FROM appointments a JOIN services s ON s.id = a.service_id"
    " JOIN therapists t ON t.id = a.therapist_id JOIN locations l ON l.id = a.location_id"
    " WHERE a.client_id = $1 AND a.start_at <@ " FEED_WINDOW
    " ORDER BY a.start_at, a.id LIMIT " FEED_MAX_ROWS,
    1};
/* A therapist's names the service and the client's initials, and the room. */
static const struct db_stmt therapist_events_stmt = {
    "SELECT " FEED_EVENT_COLUMNS ", s.name || ' · ' || clinic_initials(c.name) AS summary,"
    " l.name || ', ' || r.name AS location"
    " FROM appointments a JOIN services s ON s.id = a.service_id"
    " JOIN clients c ON c.id = a.client_id JOIN rooms r ON r.id = a.room_id"
    " JOIN locations l ON l.id = a.location_id"
    " WHERE a.therapist_id = $1 AND a.blocked && " FEED_WINDOW " AND a.start_at <@ " FEED_WINDOW
    " ORDER BY a.start_at, a.id LIMIT " FEED_MAX_ROWS,
    1};

/* What differs between the two kinds of feed. */
struct feed_kind {
    Clinic__V1__FeedKind kind;
    const char *name; /* in paths and sentences: "client" */
    const struct db_stmt *rotate, *heading, *events;
};

static const struct feed_kind client_feeds = {CLINIC__V1__FEED_KIND__FEED_KIND_CLIENT, "client",
                                              &rotate_client_stmt, &client_feed_stmt,
                                              &client_events_stmt};
static const struct feed_kind therapist_feeds = {CLINIC__V1__FEED_KIND__FEED_KIND_THERAPIST,
                                                 "therapist", &rotate_therapist_stmt,
                                                 &therapist_feed_stmt, &therapist_events_stmt};

static void rotate(struct call *call, const struct feed_kind *k, const char *field, int64_t owner)
{
    if (!check_id(call, field, owner))
        return;
    char key[AUTH_TOKEN_CHARS + 1], hex[2 * AUTH_DIGEST_BYTES + 1];
    uint8_t digest[AUTH_DIGEST_BYTES];
    auth_new_token(key, digest);
    auth_digest_hex(digest, hex);
    const char *by = call_caller_tag(call);
    struct db_result *r;
    if (db_query(call->db, k->rotate, (const char *[]){param_i64(call, owner), hex, by}, &r) !=
        STATUS_OK) {
        call_fail_db(call);
        return;
    }
    size_t rows = db_rows(r);
    db_result_free(r);
    if (rows == 0) {
        call_fail(call, STATUS_NOT_FOUND, "%s %lld does not exist or is archived", k->name,
                  (long long)owner);
        return;
    }
    char path[128];
    snprintf(path, sizeof path, "/calendar/%s/%lld.ics?key=%s", k->name, (long long)owner, key);
    Clinic__V1__FeedLink link = CLINIC__V1__FEED_LINK__INIT;
    link.kind = k->kind;
    link.owner_id = owner;
    link.key = key;
    link.path = path;
    call_reply(&link.base, call);
    sodium_memzero(key, sizeof key);
}

HANDLER(svc_calendar_rotate_client_feed, Calendar, RotateClientFeedRequest, FeedLink)
{
    rotate(call, &client_feeds, "client_id", in->client_id);
}

HANDLER(svc_calendar_rotate_therapist_feed, Calendar, RotateTherapistFeedRequest, FeedLink)
{
    rotate(call, &therapist_feeds, "therapist_id", in->therapist_id);
}

/* Whether row 0 of r (a heading) holds the digest of key, compared in constant time. */
static bool key_matches(const struct db_result *r, const char *key)
{
    uint8_t digest[AUTH_DIGEST_BYTES];
    char hex[2 * AUTH_DIGEST_BYTES + 1];
    if (db_rows(r) != 1 || !auth_token_digest(key, digest))
        return false;
    auth_digest_hex(digest, hex);
    const char *stored = db_value(r, 0, 0);
    return strlen(stored) == sizeof hex - 1 && sodium_memcmp(stored, hex, sizeof hex - 1) == 0;
}

HANDLER(svc_calendar_feed, Calendar, FeedRequest, CalendarFeed)
{
    const struct feed_kind *k = in->kind == CLINIC__V1__FEED_KIND__FEED_KIND_CLIENT ? &client_feeds
                                : in->kind == CLINIC__V1__FEED_KIND__FEED_KIND_THERAPIST
                                    ? &therapist_feeds
                                    : NULL;
    if (!k)
        call_violation(call, "kind", "must be FEED_KIND_CLIENT or FEED_KIND_THERAPIST");
    check_id(call, "owner_id", in->owner_id);
    if (call->code != STATUS_OK)
        return;
    const char *owner = param_i64(call, in->owner_id);
    struct db_result *r;
    if (db_query(call->db, k->heading, (const char *[]){owner}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    Clinic__V1__CalendarFeed *out = NULL;
    if (!key_matches(r, in->key))
        call_fail(call, STATUS_NOT_FOUND,
                  "this calendar link is not valid: it may have been replaced by a newer one; "
                  "ask for a new link (`clinic calendar-link`)");
    else if ((out = (Clinic__V1__CalendarFeed *)rowmap_new(
                  call, &clinic__v1__calendar_feed__descriptor)) &&
             rowmap_fill(call, &out->base, r, 0)) {
        out->kind = k->kind;
        out->owner_id = in->owner_id;
    } else {
        out = NULL;
    }
    db_result_free(r);
    if (!out)
        return;
    if (db_query(call->db, k->events, (const char *[]){owner}, &r) != STATUS_OK) {
        call_fail_db(call);
        return;
    }
    if (rowmap_fill_list(call, &out->base, "events", r, db_rows(r)))
        call_reply(&out->base, call);
    db_result_free(r);
}

static Clinic__V1__Calendar_Service calendar = CLINIC__V1__CALENDAR__INIT(svc_calendar_);

const struct handler_set svc_calendar_handlers = {&calendar.base};
