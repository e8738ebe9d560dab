-- 10_instants.sql: instants and days as the API writes them: parsed in a location's zone and
-- formatted with their offset, and the one rule for local times at a clock change.

-- The UTC offset p_tz has at an instant (+02:00 in Berlin's summer).
CREATE OR REPLACE FUNCTION clinic_utc_offset(p_at timestamptz, p_tz text) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT (p_at AT TIME ZONE p_tz) - (p_at AT TIME ZONE 'UTC')
$$;

-- The instant a local wall-clock time in p_tz means, by the rule of iCalendar (RFC 5545,
-- 3.3.5) and of Python's fold=0: a time the clocks pass twice is the first time they pass it;
-- a time they skip is read with the offset before the change (Berlin 02:30 on the spring day
-- is 03:30 summer time). Working hours, closures and days follow it; typed times too, except
-- that a skipped one is refused (clinic_parse_instant). PostgreSQL's own AT TIME ZONE reads a
-- repeated time as its second pass. Transitions shift by at most two hours (Troll), so three
-- hours before PostgreSQL's reading the offset is the one before the change.
CREATE OR REPLACE FUNCTION clinic_local_instant(p_local timestamp, p_tz text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN ((p_local - clinic_utc_offset(p_local AT TIME ZONE p_tz - interval '3 hours', p_tz))
                      AT TIME ZONE 'UTC') AT TIME ZONE p_tz = p_local
                THEN (p_local - clinic_utc_offset(p_local AT TIME ZONE p_tz - interval '3 hours', p_tz))
                     AT TIME ZONE 'UTC'
                ELSE p_local AT TIME ZONE p_tz END
$$;

-- An instant from text: RFC 3339 with an offset, or local "YYYY-MM-DD HH:MM[:SS]" in p_tz.
-- A local time that does not exist (the clocks skip it) is refused, since the user meant a
-- time that is not there; one that exists twice is its first occurrence (clinic_local_instant).
-- STRICT: a NULL
-- instant stays NULL (optional range bounds), instead of being refused as malformed.
CREATE OR REPLACE FUNCTION clinic_parse_instant(p_text text, p_tz text, p_field text) RETURNS timestamptz
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
    local_ts timestamp;
    result timestamptz;
BEGIN
    IF p_text ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})$' THEN
        BEGIN
            RETURN p_text::timestamptz;
        EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = p_field,
                MESSAGE = format('"%s" is not a valid date and time', p_text);
        END;
    END IF;
    IF p_text !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = p_field,
            MESSAGE = format('"%s" must look like 2026-03-29 09:00 or 2026-03-29T09:00:00+02:00',
                             left(p_text, 40));
    END IF;
    BEGIN
        local_ts := p_text::timestamp;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = p_field,
            MESSAGE = format('"%s" is not a valid date and time', p_text);
    END;
    result := clinic_local_instant(local_ts, p_tz);
    IF result AT TIME ZONE p_tz <> local_ts THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = p_field,
            MESSAGE = format('%s does not exist in %s: the clocks go forward then', p_text, p_tz);
    END IF;
    RETURN result;
END
$$;

-- RFC 3339 in p_tz with its offset: "2026-03-29T09:00:00+02:00". One expression without FROM,
-- so the planner inlines it: replies format two instants per row.
CREATE OR REPLACE FUNCTION clinic_format_instant(p_ts timestamptz, p_tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(p_ts AT TIME ZONE p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN p_ts AT TIME ZONE p_tz < p_ts AT TIME ZONE 'UTC' THEN '-' ELSE '+' END
           || to_char(abs(extract(epoch FROM (p_ts AT TIME ZONE p_tz) - (p_ts AT TIME ZONE 'UTC')))
                      * interval '1 second', 'HH24:MI')
$$;

CREATE OR REPLACE FUNCTION clinic_parse_day(p_text text, p_field text) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_text ~ '^\d{4}-\d{2}-\d{2}$' THEN
        BEGIN
            RETURN p_text::date;
        EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
            NULL;
        END;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = p_field,
        MESSAGE = format('"%s" must be a date like 2026-03-29', left(p_text, 40));
END
$$;

CREATE OR REPLACE FUNCTION clinic_valid_time_zone(p_tz text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_tz)
$$;

-- The zone that reads local times not tied to one location (a client's or a therapist's
-- appointments across locations): the first location's, the clinic's home.
CREATE OR REPLACE FUNCTION clinic_home_zone() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT time_zone FROM locations ORDER BY id LIMIT 1), 'UTC')
$$;
