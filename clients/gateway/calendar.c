/* calendar.c: calendar feeds as iCalendar (calendar.h), written with libical: it escapes text,
 * folds long lines and formats times as RFC 5545 says, so none of that is ours to get wrong. */
#include "calendar.h"

#include <errno.h>
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_PREFIX "/calendar/"
#define FEED_SUFFIX ".ics"
/* How often calendar apps are asked to fetch the feed again. */
#define FEED_TTL "PT1H"

bool calendar_feed_path(const char *path, Clinic__V1__FeedKind *kind, int64_t *owner_id)
{
    static const struct {
        const char *name;
        Clinic__V1__FeedKind kind;
    } kinds[] = {{"client/", CLINIC__V1__FEED_KIND__FEED_KIND_CLIENT},
                 {"therapist/", CLINIC__V1__FEED_KIND__FEED_KIND_THERAPIST}};
    if (strncmp(path, FEED_PREFIX, strlen(FEED_PREFIX)) != 0)
        return false;
    path += strlen(FEED_PREFIX);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].name);
        if (strncmp(path, kinds[i].name, n) != 0 || path[n] < '1' || path[n] > '9')
            continue;
        char *end;
        errno = 0;
        long long id = strtoll(path + n, &end, 10);
        if (errno || strcmp(end, FEED_SUFFIX) != 0)
            return false;
        *kind = kinds[i].kind;
        *owner_id = id;
        return true;
    }
    return false;
}

void calendar_init(void)
{
    /* libical builds its UTC zone on first use, unguarded: do it before there are threads. */
    (void)icaltimezone_get_utc_timezone();
}

static struct icaltimetype utc(int64_t unix_seconds)
{
    return icaltime_from_timet_with_zone((time_t)unix_seconds, 0, icaltimezone_get_utc_timezone());
}

static icalproperty *x_property(const char *name, const char *value)
{
    icalproperty *p = icalproperty_new_x(value);
    icalproperty_set_x_name(p, name);
    return p;
}

static icalcomponent *vevent(const Clinic__V1__CalendarFeed *feed, const Clinic__V1__FeedEvent *e)
{
    char uid[160], summary[512];
    snprintf(uid, sizeof uid, "appointment-%lld@%s.clinicd", (long long)e->appointment_id,
             feed->uid_domain);
    snprintf(summary, sizeof summary, "%s%s", e->cancelled ? "Cancelled: " : "", e->summary);
    icalcomponent *ev = icalcomponent_new_vevent();
    icalcomponent_add_property(ev, icalproperty_new_uid(uid));
    icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc(e->updated_unix)));
    icalcomponent_add_property(ev, icalproperty_new_dtstart(utc(e->start_unix)));
    icalcomponent_add_property(ev, icalproperty_new_dtend(utc(e->end_unix)));
    icalcomponent_add_property(ev, icalproperty_new_sequence(e->sequence));
    icalcomponent_add_property(
        ev, icalproperty_new_status(e->cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
    /* a cancelled appointment no longer makes its owner busy */
    icalcomponent_add_property(
        ev, icalproperty_new_transp(e->cancelled ? ICAL_TRANSP_TRANSPARENT : ICAL_TRANSP_OPAQUE));
    icalcomponent_add_property(ev, icalproperty_new_summary(summary));
    if (e->location[0])
        icalcomponent_add_property(ev, icalproperty_new_location(e->location));
    icalcomponent_add_property(ev, icalproperty_new_created(utc(e->created_unix)));
    icalcomponent_add_property(ev, icalproperty_new_lastmodified(utc(e->updated_unix)));
    return ev;
}

char *calendar_render(const Clinic__V1__CalendarFeed *feed, size_t *len)
{
    icalcomponent *cal = icalcomponent_new_vcalendar();
    if (!cal)
        return NULL;
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_prodid("-//clinicd//calendar feed//EN"));
    icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
    icalcomponent_add_property(cal, icalproperty_new_name(feed->name));
    icalcomponent_add_property(cal, x_property("X-WR-CALNAME", feed->name));
    icalcomponent_add_property(cal, x_property("X-WR-TIMEZONE", feed->time_zone));
    icalcomponent_add_property(cal, x_property("X-PUBLISHED-TTL", FEED_TTL));
    for (size_t i = 0; i < feed->n_events; i++)
        icalcomponent_add_component(cal, vevent(feed, feed->events[i]));
    char *text = icalcomponent_as_ical_string_r(cal);
    icalcomponent_free(cal);
    if (text)
        *len = strlen(text);
    return text;
}
