-- 0003_scheduling_functions.sql: the booking rules, free-slot search and appointment life
-- cycle, in SQL so that every daemon applies the same rules inside the transaction that books.
--
-- Errors carry our own SQLSTATEs, which clinicd maps to RPC status codes:
--   CLINV  INVALID_ARGUMENT     a bad value; COLUMN names the request field
--   CLNOF  NOT_FOUND            a referenced record does not exist
--   CLRUL  FAILED_PRECONDITION  a booking rule or state transition forbids it (the message names it)
--   CLBSY  ABORTED              the time is taken (by another booking, maybe a concurrent one)
--   40001                       a resource changed between choosing and locking it: run again

-- ------------------------------------------------------------------ instants and days

-- An instant from text: RFC 3339 with an offset, or local "YYYY-MM-DD HH:MM[:SS]" in p_tz.
-- A local time that does not exist (the hour skipped when clocks go forward) is refused; one
-- that exists twice (clocks go back) is read as the first, summer-time, occurrence.
CREATE FUNCTION clinic_parse_instant(p_text text, p_tz text, p_field text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
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
    -- Of two readings 1 hour apart, the earlier is the summer-time one.
    result := least(local_ts AT TIME ZONE p_tz,
                    (local_ts - interval '1 hour') AT TIME ZONE p_tz + interval '1 hour');
    IF result AT TIME ZONE p_tz <> local_ts THEN
        result := local_ts AT TIME ZONE p_tz;
    END IF;
    IF result AT TIME ZONE p_tz <> local_ts THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = p_field,
            MESSAGE = format('%s does not exist in %s: the clocks go forward then', p_text, p_tz);
    END IF;
    RETURN result;
END
$$;

-- RFC 3339 in p_tz with its offset: "2026-03-29T09:00:00+02:00". One expression without FROM,
-- so the planner inlines it: replies format two instants per row.
CREATE FUNCTION clinic_format_instant(p_ts timestamptz, p_tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(p_ts AT TIME ZONE p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN p_ts AT TIME ZONE p_tz < p_ts AT TIME ZONE 'UTC' THEN '-' ELSE '+' END
           || to_char(abs(extract(epoch FROM (p_ts AT TIME ZONE p_tz) - (p_ts AT TIME ZONE 'UTC')))
                      * interval '1 second', 'HH24:MI')
$$;

CREATE FUNCTION clinic_parse_day(p_text text, p_field text) RETURNS date
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

CREATE FUNCTION clinic_valid_time_zone(p_tz text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_tz)
$$;

-- ------------------------------------------------------------------ availability

-- The windows of a therapist's weekly rules at a location on local days first..last, as instants
-- (the wall-clock rules read in the location's zone, day by day).
CREATE FUNCTION clinic_weekly_hours(p_therapist bigint, p_location bigint, p_first date, p_last date)
RETURNS tstzmultirange
LANGUAGE sql STABLE AS $$
    SELECT coalesce(range_agg(tstzrange((d::date + w.start_local) AT TIME ZONE l.time_zone,
                                        (d::date + w.end_local) AT TIME ZONE l.time_zone)),
                    '{}')
    FROM locations l, generate_series(p_first, p_last, interval '1 day') AS d
    JOIN working_hours w ON w.weekday = extract(isodow FROM d)
    WHERE l.id = p_location AND w.therapist_id = p_therapist AND w.location_id = p_location
      AND d::date >= w.valid_from AND (w.valid_until IS NULL OR d::date <= w.valid_until)
$$;

-- When the therapist is available at the location on those days: the weekly windows less time
-- off and the location's closures.
CREATE FUNCTION clinic_working(p_therapist bigint, p_location bigint, p_first date, p_last date)
RETURNS tstzmultirange
LANGUAGE sql STABLE AS $$
    WITH loc AS (SELECT time_zone AS tz FROM locations WHERE id = p_location),
    span AS (SELECT tstzrange(p_first::timestamp AT TIME ZONE loc.tz,
                              (p_last + 1)::timestamp AT TIME ZONE loc.tz) AS r FROM loc)
    SELECT clinic_weekly_hours(p_therapist, p_location, p_first, p_last)
           - coalesce((SELECT range_agg(o.during) FROM time_off o
                       WHERE o.therapist_id = p_therapist AND o.during && span.r), '{}')
           - coalesce((SELECT range_agg(tstzrange(c.first_day::timestamp AT TIME ZONE loc.tz,
                                                  (c.last_day + 1)::timestamp AT TIME ZONE loc.tz))
                       FROM closures c
                       WHERE c.location_id = p_location AND c.last_day >= p_first
                         AND c.first_day <= p_last), '{}')
    FROM span, loc
$$;

-- Time taken by a therapist's active appointments around a span (the day sheet's gaps).
CREATE FUNCTION clinic_therapist_busy(p_therapist bigint, p_span tstzrange, p_ignore bigint)
RETURNS tstzmultirange
LANGUAGE sql STABLE AS $$
    SELECT coalesce(range_agg(a.blocked), '{}') FROM appointments a
    WHERE a.therapist_id = p_therapist AND a.blocked && p_span
      AND a.status NOT IN ('cancelled', 'no_show') AND a.id IS DISTINCT FROM p_ignore
$$;

-- Bookable starts for a service at a location in [p_from, p_to): inside a therapist's working
-- windows (less time off, closures and their appointments, buffers included), with a suitable
-- room free, on the location's slot grid, honouring minimum notice and how far ahead clients
-- may book. One row per (start, therapist), with the first free suitable room, in (start,
-- therapist) order: the first p_limit after (p_after_start, p_after_therapist), one page.
CREATE FUNCTION clinic_free_slots(p_service bigint, p_location bigint, p_from timestamptz,
                                  p_to timestamptz, p_therapist bigint, p_now timestamptz,
                                  p_after_start timestamptz, p_after_therapist bigint,
                                  p_limit integer)
RETURNS TABLE (start_at timestamptz, end_at timestamptz, therapist_id bigint, room_id bigint)
LANGUAGE sql STABLE AS $$
    -- One query, so PostgreSQL plans it once per call (helper functions called per therapist
    -- would each be planned again); everything per therapist or room is a lateral subquery
    -- that reads only its own rows through the indexes.
    WITH svc AS MATERIALIZED (
        SELECT make_interval(mins => duration_minutes) AS dur,
               make_interval(mins => buffer_before_minutes) AS bb,
               make_interval(mins => buffer_after_minutes) AS ba,
               required_features AS req
        FROM services WHERE id = p_service AND active),
    loc AS MATERIALIZED (
        SELECT time_zone AS tz, make_interval(mins => slot_step_minutes) AS step,
               greatest(p_from, p_now + make_interval(mins => min_notice_minutes)) AS lo,
               least(p_to, p_now + make_interval(days => max_advance_days)) AS hi
        FROM locations WHERE id = p_location AND NOT archived),
    span AS MATERIALIZED (
        SELECT tstzrange(loc.lo - svc.bb, loc.hi + svc.dur + svc.ba) AS r,
               (loc.lo AT TIME ZONE loc.tz)::date - 1 AS first_day,
               (loc.hi AT TIME ZONE loc.tz)::date + 1 AS last_day
        FROM loc, svc WHERE loc.lo < loc.hi),
    days AS MATERIALIZED (
        SELECT d::date AS day, extract(isodow FROM d)::smallint AS weekday
        FROM span, generate_series(span.first_day, span.last_day, interval '1 day') AS d),
    closed AS MATERIALIZED (
        SELECT coalesce(range_agg(tstzrange(c.first_day::timestamp AT TIME ZONE loc.tz,
                                            (c.last_day + 1)::timestamp AT TIME ZONE loc.tz)),
                        '{}') AS r
        FROM loc, span, closures c
        WHERE c.location_id = p_location AND c.last_day >= span.first_day
          AND c.first_day <= span.last_day),
    staff AS MATERIALIZED (
        SELECT t.id FROM therapists t JOIN therapist_services ts ON ts.therapist_id = t.id
        WHERE ts.service_id = p_service AND NOT t.archived
          AND (p_therapist IS NULL OR t.id = p_therapist)
          AND EXISTS (SELECT 1 FROM working_hours w
                      WHERE w.therapist_id = t.id AND w.location_id = p_location)),
    free AS MATERIALIZED (
        SELECT s.id AS therapist_id,
               (weekly.r * tstzmultirange(span.r)) - closed.r
               - coalesce(off.r, '{}') - coalesce(busy.r, '{}') AS r
        FROM staff s CROSS JOIN span CROSS JOIN closed CROSS JOIN loc
        CROSS JOIN LATERAL (
            SELECT coalesce(range_agg(tstzrange((d.day + w.start_local) AT TIME ZONE loc.tz,
                                                (d.day + w.end_local) AT TIME ZONE loc.tz)),
                            '{}') AS r
            FROM days d JOIN working_hours w ON w.weekday = d.weekday
            WHERE w.therapist_id = s.id AND w.location_id = p_location
              AND d.day >= w.valid_from AND (w.valid_until IS NULL OR d.day <= w.valid_until)
        ) AS weekly
        CROSS JOIN LATERAL (
            SELECT range_agg(o.during) AS r FROM time_off o
            WHERE o.therapist_id = s.id AND o.during && span.r) AS off
        CROSS JOIN LATERAL (
            SELECT range_agg(a.blocked) AS r FROM appointments a
            WHERE a.therapist_id = s.id AND a.blocked && span.r
              AND a.status NOT IN ('cancelled', 'no_show')) AS busy),
    suitable_rooms AS MATERIALIZED (
        SELECT rm.id, tstzmultirange(span.r) - coalesce(busy.r, '{}') AS r
        FROM rooms rm CROSS JOIN svc CROSS JOIN span
        CROSS JOIN LATERAL (
            SELECT range_agg(a.blocked) AS r FROM appointments a
            WHERE a.room_id = rm.id AND a.blocked && span.r
              AND a.status NOT IN ('cancelled', 'no_show')) AS busy
        WHERE rm.location_id = p_location AND NOT rm.archived AND rm.features @> svc.req
        ORDER BY rm.id),
    windows AS MATERIALIZED (SELECT f.therapist_id, u.w FROM free f, unnest(f.r) AS u(w)),
    candidates AS (
        SELECT wi.therapist_id, s AS start_at
        FROM windows wi, svc, loc,
             LATERAL (SELECT (lower(wi.w) + svc.bb) AT TIME ZONE loc.tz AS l) AS e,
             LATERAL generate_series(
                 (date_trunc('day', e.l)
                  + ceil(extract(epoch FROM e.l - date_trunc('day', e.l))
                         / extract(epoch FROM loc.step)) * loc.step) AT TIME ZONE loc.tz,
                 upper(wi.w) - svc.dur - svc.ba,
                 loc.step) AS s
        WHERE s >= loc.lo AND s < loc.hi
          AND (s, wi.therapist_id) > (p_after_start, p_after_therapist)),
    -- The page is cut here, not by the caller: the candidates are ordered first (OFFSET 0
    -- keeps PostgreSQL from merging this into the query below), so a room is looked for only
    -- until the page is full, not for every start of the whole span (issue 4: 501 of 1344 in
    -- the benchmark). A look-up stops at the first free room: suitable_rooms was written in id
    -- order and a materialised CTE is read back in the order it was written (an ORDER BY here
    -- would test every room before sorting them; the room shown is a suggestion, Book picks
    -- its own).
    ordered AS (SELECT * FROM candidates ORDER BY start_at, therapist_id OFFSET 0)
    SELECT c.start_at, c.start_at + svc.dur, c.therapist_id, room.id
    FROM ordered c, svc,
         LATERAL (SELECT rm.id FROM suitable_rooms rm
                  WHERE rm.r @> tstzrange(c.start_at - svc.bb, c.start_at + svc.dur + svc.ba)
                  LIMIT 1) AS room
    ORDER BY c.start_at, c.therapist_id
    LIMIT p_limit
$$;

-- One page of FindSlots as the API shows it: clinic_free_slots with the therapist's and the
-- room's names, instants in p_tz with their offset, and each slot's page key. PL/pgSQL so that
-- the statement is planned once per connection (plan_cache_mode): called with parameters
-- straight from a prepared statement, PostgreSQL planned the whole search again on every call
-- (its custom plans looked cheaper than the generic one), about 1 ms of each search (issue 4).
CREATE FUNCTION clinic_find_slots(p_service bigint, p_location bigint, p_from text, p_to text,
                                  p_therapist bigint, p_tz text,
                                  p_after_start double precision, p_after_therapist bigint,
                                  p_limit integer)
RETURNS TABLE (start_time text, end_time text, therapist_id bigint, therapist_name text,
               room_id bigint, room_name text, page_key text)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    SELECT clinic_format_instant(s.start_at, p_tz), clinic_format_instant(s.end_at, p_tz),
           s.therapist_id, t.name, s.room_id, r.name,
           'k' || extract(epoch FROM s.start_at)::bigint || '.' || s.therapist_id
    FROM clinic_free_slots(p_service, p_location, clinic_parse_instant(p_from, p_tz, 'from'),
                           clinic_parse_instant(p_to, p_tz, 'to'), p_therapist, now(),
                           to_timestamp(p_after_start), p_after_therapist, p_limit) AS s
    JOIN therapists t ON t.id = s.therapist_id
    JOIN rooms r ON r.id = s.room_id
    ORDER BY s.start_at, s.therapist_id;
END
$$;

-- ------------------------------------------------------------------ booking

CREATE FUNCTION clinic_lock_key(p_class integer, p_id bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_class::bigint * 1000000000000000 + p_id
$$;

-- Books (p_moving NULL) or moves (p_moving = the appointment) a session of p_service for
-- p_client at p_start. Checks every rule in the order a person would explain them, finds who
-- could do it (p_therapist, or any who performs the service; when moving, the current one first)
-- and the first free suitable room, locks therapist, room and client in that fixed order so
-- concurrent bookings queue instead of deadlocking, then checks each of them once, after its
-- lock: each statement here reads a fresh snapshot, so a booking committed while we waited is
-- seen. Returns the appointment id. The exclusion constraints remain the final guarantee.
--
-- What a booking costs is mostly this function (issue 4), so its usual path is four statements:
-- the service, location, client and any closure in one; who works then and the room in one;
-- the locks; the insert, which checks therapist, room and client first (and, with several
-- therapists to choose from, one more to pick one). Only a refusal runs the statements that
-- find which rule or which resource to name. Every plan is generic (plan_cache_mode): with
-- custom plans PostgreSQL planned the range checks again on every call, because its estimate
-- for each actual range always beat the generic plan's; that was a third of the function's
-- time. The checks are written out, not calls of SQL helper functions, which PostgreSQL would
-- parse and plan again on every call.
CREATE FUNCTION clinic_book(p_client bigint, p_service bigint, p_location bigint,
                            p_start timestamptz, p_therapist bigint, p_booked_by text,
                            p_moving bigint)
RETURNS bigint
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    b record;
    session tstzrange;
    v_blocked tstzrange;
    local_start timestamp;
    from_day date;
    to_day date;
    keep_therapist bigint;
    staff bigint[];
    working bigint[];
    chosen_t bigint;
    chosen_r bigint;
    away time_off;
    result bigint;
BEGIN
    -- The service, the location, the client and the first closure that touches the booked
    -- time (buffers included), in one statement; what is missing is told in this order.
    SELECT s.id AS service_id, s.name AS service_name, s.active, s.duration_minutes,
           s.buffer_before_minutes, s.buffer_after_minutes, s.required_features,
           l.id AS location_id, l.name AS location_name, l.archived AS location_archived,
           l.time_zone, l.min_notice_minutes, l.max_advance_days, l.slot_step_minutes,
           c.id AS client_id, c.archived AS client_archived,
           z.first_day AS closed_from, z.last_day AS closed_to, z.reason AS closed_why
    INTO b
    FROM (SELECT) AS one
    LEFT JOIN services s ON s.id = p_service
    LEFT JOIN locations l ON l.id = p_location
    LEFT JOIN clients c ON c.id = p_client
    LEFT JOIN LATERAL (
        SELECT cz.first_day, cz.last_day, cz.reason FROM closures cz
        WHERE cz.location_id = l.id
          AND cz.first_day <= ((p_start + make_interval(mins => s.duration_minutes
                                                        + s.buffer_after_minutes))
                               AT TIME ZONE l.time_zone)::date
          AND cz.last_day >= ((p_start - make_interval(mins => s.buffer_before_minutes))
                              AT TIME ZONE l.time_zone)::date
        LIMIT 1) AS z ON true;
    IF b.service_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('service %s does not exist', p_service);
    END IF;
    IF b.location_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('location %s does not exist', p_location);
    END IF;
    IF b.client_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
    END IF;
    IF NOT b.active THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('the service "%s" is no longer offered', b.service_name);
    END IF;
    IF b.location_archived THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('the location "%s" is archived', b.location_name);
    END IF;
    IF b.client_archived THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('client %s is archived; restore them before booking', p_client);
    END IF;

    session := tstzrange(p_start, p_start + make_interval(mins => b.duration_minutes));
    v_blocked := tstzrange(p_start - make_interval(mins => b.buffer_before_minutes),
                           upper(session) + make_interval(mins => b.buffer_after_minutes));
    local_start := p_start AT TIME ZONE b.time_zone;

    -- the location's booking rules
    IF p_start < now() + make_interval(mins => b.min_notice_minutes) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'minimum notice: bookings at %s start at least %s minutes from now (earliest %s)',
            b.location_name, b.min_notice_minutes,
            to_char((now() + make_interval(mins => b.min_notice_minutes)) AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'));
    END IF;
    IF p_start > now() + make_interval(days => b.max_advance_days) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'booking horizon: %s takes bookings at most %s days ahead', b.location_name, b.max_advance_days);
    END IF;
    IF (extract(epoch FROM local_start - date_trunc('day', local_start))::bigint
        % (b.slot_step_minutes * 60)) <> 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'slot step: appointments at %s start on a %s-minute grid (e.g. 09:00, 09:%s)',
            b.location_name, b.slot_step_minutes, lpad((b.slot_step_minutes % 60)::text, 2, '0'));
    END IF;
    from_day := (lower(v_blocked) AT TIME ZONE b.time_zone)::date;
    -- The last local day the blocked time touches: it ends just before upper(v_blocked), so a
    -- session that ends at midnight stays on its day and takes the quick check below instead
    -- of clinic_working, which PostgreSQL parses and plans on every call.
    to_day := ((upper(v_blocked) - interval '1 microsecond') AT TIME ZONE b.time_zone)::date;
    IF b.closed_from IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'closed: %s is closed from %s to %s%s', b.location_name, b.closed_from, b.closed_to,
            CASE WHEN b.closed_why <> '' THEN ' (' || b.closed_why || ')' ELSE '' END);
    END IF;

    -- Who could do it and is available then, in order of preference: the usual case, one
    -- weekly rule covering the whole span and no time off, is two index lookups; spans covered
    -- only by adjacent rules take the full multirange. A named therapist and "anyone" are two
    -- statements so that each has a plan that fits (the first one looks up one therapist).
    -- The same statement picks the room: the first free suitable one, checked again after its
    -- lock. The rooms are ordered before they are tested (OFFSET 0 keeps that apart), so the
    -- test stops at the first free one instead of testing every room and sorting the free ones.
    IF p_moving IS NOT NULL THEN
        SELECT a.therapist_id INTO keep_therapist FROM appointments a WHERE a.id = p_moving;
    END IF;
    IF p_therapist IS NOT NULL THEN
        SELECT ARRAY(
            SELECT th.id FROM therapists th
            JOIN therapist_services ts ON ts.therapist_id = th.id AND ts.service_id = p_service
            WHERE th.id = p_therapist AND NOT th.archived
              AND ((EXISTS (SELECT 1 FROM working_hours w
                            WHERE w.therapist_id = th.id AND w.location_id = p_location
                              AND w.weekday = extract(isodow FROM from_day)
                              AND from_day = to_day AND from_day >= w.valid_from
                              AND (w.valid_until IS NULL OR from_day <= w.valid_until)
                              AND tstzrange((from_day + w.start_local) AT TIME ZONE b.time_zone,
                                            (from_day + w.end_local) AT TIME ZONE b.time_zone)
                                  @> v_blocked)
                    AND NOT EXISTS (SELECT 1 FROM time_off o
                                    WHERE o.therapist_id = th.id AND o.during && v_blocked))
                   OR clinic_working(th.id, p_location, from_day, to_day) @> v_blocked)),
           (SELECT r.id
             FROM (SELECT rm.id FROM rooms rm
                   WHERE rm.location_id = p_location AND NOT rm.archived
                     AND rm.features @> b.required_features
                   ORDER BY rm.id OFFSET 0) AS r
             WHERE NOT EXISTS (SELECT 1 FROM appointments a
                               WHERE a.room_id = r.id AND a.blocked && v_blocked
                                 AND a.status NOT IN ('cancelled', 'no_show')
                                 AND a.id IS DISTINCT FROM p_moving)
             ORDER BY r.id LIMIT 1)
        INTO working, chosen_r;
    ELSE
        SELECT ARRAY(
            SELECT th.id FROM therapists th
            JOIN therapist_services ts ON ts.therapist_id = th.id AND ts.service_id = p_service
            WHERE NOT th.archived
              AND ((EXISTS (SELECT 1 FROM working_hours w
                            WHERE w.therapist_id = th.id AND w.location_id = p_location
                              AND w.weekday = extract(isodow FROM from_day)
                              AND from_day = to_day AND from_day >= w.valid_from
                              AND (w.valid_until IS NULL OR from_day <= w.valid_until)
                              AND tstzrange((from_day + w.start_local) AT TIME ZONE b.time_zone,
                                            (from_day + w.end_local) AT TIME ZONE b.time_zone)
                                  @> v_blocked)
                    AND NOT EXISTS (SELECT 1 FROM time_off o
                                    WHERE o.therapist_id = th.id AND o.during && v_blocked))
                   OR clinic_working(th.id, p_location, from_day, to_day) @> v_blocked)
            ORDER BY th.id IS DISTINCT FROM keep_therapist, th.id),
           (SELECT r.id
             FROM (SELECT rm.id FROM rooms rm
                   WHERE rm.location_id = p_location AND NOT rm.archived
                     AND rm.features @> b.required_features
                   ORDER BY rm.id OFFSET 0) AS r
             WHERE NOT EXISTS (SELECT 1 FROM appointments a
                               WHERE a.room_id = r.id AND a.blocked && v_blocked
                                 AND a.status NOT IN ('cancelled', 'no_show')
                                 AND a.id IS DISTINCT FROM p_moving)
             ORDER BY r.id LIMIT 1)
        INTO working, chosen_r;
    END IF;
    IF cardinality(working) = 0 THEN
        -- Nobody: say why, in the order a person would explain it.
        staff := ARRAY(
            SELECT th.id FROM therapists th JOIN therapist_services ts ON ts.therapist_id = th.id
            WHERE ts.service_id = p_service AND NOT th.archived
              AND (p_therapist IS NULL OR th.id = p_therapist)
            ORDER BY th.id);
        IF cardinality(staff) = 0 THEN
            IF p_therapist IS NOT NULL THEN
                IF NOT EXISTS (SELECT 1 FROM therapists WHERE id = p_therapist) THEN
                    RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('therapist %s does not exist', p_therapist);
                END IF;
                RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                    'therapist %s does not perform "%s"', p_therapist, b.service_name);
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('no therapist performs "%s"', b.service_name);
        END IF;
        -- weekly hours cover the time but time off does not let anyone work it: say so
        SELECT o.* INTO away FROM time_off o
        WHERE o.therapist_id = ANY (staff) AND o.during && v_blocked
          AND clinic_weekly_hours(o.therapist_id, p_location, from_day, to_day) @> v_blocked
        ORDER BY o.therapist_id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'time off: %s is away from %s to %s%s',
                CASE WHEN p_therapist IS NOT NULL THEN 'therapist ' || p_therapist
                     ELSE 'the only therapist who works then' END,
                to_char(lower(away.during) AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
                to_char(upper(away.during) AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
                CASE WHEN away.reason <> '' THEN ' (' || away.reason || ')' ELSE '' END);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = CASE
            WHEN p_therapist IS NOT NULL THEN format(
                'working hours: therapist %s does not work at %s from %s to %s (buffers included)',
                p_therapist, b.location_name, to_char(lower(v_blocked) AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
                to_char(upper(v_blocked) AT TIME ZONE b.time_zone, 'HH24:MI'))
            ELSE format('working hours: nobody who performs "%s" works at %s from %s to %s (buffers included)',
                b.service_name, b.location_name, to_char(lower(v_blocked) AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
                to_char(upper(v_blocked) AT TIME ZONE b.time_zone, 'HH24:MI')) END;
    END IF;

    -- The therapist: the only candidate is checked once, after its lock; of several, the first
    -- free one is chosen now and checked again after its lock.
    IF cardinality(working) = 1 THEN
        chosen_t := working[1];
    ELSE
        SELECT s INTO chosen_t FROM unnest(working) WITH ORDINALITY AS u(s, ord)
        WHERE NOT EXISTS (SELECT 1 FROM appointments a
                          WHERE a.therapist_id = s AND a.blocked && v_blocked
                            AND a.status NOT IN ('cancelled', 'no_show')
                            AND a.id IS DISTINCT FROM p_moving)
        ORDER BY ord LIMIT 1;
    END IF;
    IF chosen_t IS NOT NULL AND chosen_r IS NOT NULL THEN
        -- Lock therapist, room and client, always in this order (a target list is evaluated
        -- left to right), so concurrent bookings of the same resources queue instead of
        -- deadlocking; then write if each is still free. The write is a statement of its own,
        -- so its snapshot is taken after the locks: a booking committed while we waited is
        -- seen, and so is time off added for the therapist meanwhile (it takes the same lock).
        PERFORM pg_advisory_xact_lock(clinic_lock_key(1, chosen_t)),
                pg_advisory_xact_lock(clinic_lock_key(2, chosen_r)),
                pg_advisory_xact_lock(clinic_lock_key(3, p_client));
        IF p_moving IS NULL THEN
            INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id,
                                      start_at, end_at, blocked, booked_by)
            SELECT p_client, chosen_t, chosen_r, p_service, p_location, p_start, upper(session),
                   v_blocked, coalesce(p_booked_by, '')
            WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.client_id = p_client
                              AND tstzrange(a.start_at, a.end_at) && session
                              AND a.status NOT IN ('cancelled', 'no_show'))
              AND NOT EXISTS (SELECT 1 FROM appointments a
                              WHERE a.therapist_id = chosen_t AND a.blocked && v_blocked
                                AND a.status NOT IN ('cancelled', 'no_show'))
              AND NOT EXISTS (SELECT 1 FROM appointments a
                              WHERE a.room_id = chosen_r AND a.blocked && v_blocked
                                AND a.status NOT IN ('cancelled', 'no_show'))
              AND NOT EXISTS (SELECT 1 FROM time_off o
                              WHERE o.therapist_id = chosen_t AND o.during && v_blocked)
            RETURNING id INTO result;
        ELSE
            UPDATE appointments
            SET therapist_id = chosen_t, room_id = chosen_r, start_at = p_start,
                end_at = upper(session), blocked = v_blocked
            WHERE id = p_moving
              AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.client_id = p_client
                              AND tstzrange(a.start_at, a.end_at) && session
                              AND a.status NOT IN ('cancelled', 'no_show') AND a.id <> p_moving)
              AND NOT EXISTS (SELECT 1 FROM appointments a
                              WHERE a.therapist_id = chosen_t AND a.blocked && v_blocked
                                AND a.status NOT IN ('cancelled', 'no_show') AND a.id <> p_moving)
              AND NOT EXISTS (SELECT 1 FROM appointments a
                              WHERE a.room_id = chosen_r AND a.blocked && v_blocked
                                AND a.status NOT IN ('cancelled', 'no_show') AND a.id <> p_moving)
              AND NOT EXISTS (SELECT 1 FROM time_off o
                              WHERE o.therapist_id = chosen_t AND o.during && v_blocked)
            RETURNING id INTO result;
        END IF;
    END IF;
    IF result IS NULL THEN
        -- Something is in the way: name it as a person would, first what no retry can change.
        IF NOT EXISTS (SELECT 1 FROM rooms rm WHERE rm.location_id = p_location AND NOT rm.archived
                       AND rm.features @> b.required_features) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'rooms: no room at %s has what "%s" needs (%s)', b.location_name, b.service_name,
                array_to_string(b.required_features, ', '));
        END IF;
        IF EXISTS (SELECT 1 FROM appointments a WHERE a.client_id = p_client
                   AND tstzrange(a.start_at, a.end_at) && session
                   AND a.status NOT IN ('cancelled', 'no_show') AND a.id IS DISTINCT FROM p_moving) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLBSY', MESSAGE = format(
                'client %s already has an appointment at that time', p_client);
        END IF;
        SELECT s INTO chosen_t FROM unnest(working) WITH ORDINALITY AS u(s, ord)
        WHERE NOT EXISTS (SELECT 1 FROM appointments a
                          WHERE a.therapist_id = s AND a.blocked && v_blocked
                            AND a.status NOT IN ('cancelled', 'no_show')
                            AND a.id IS DISTINCT FROM p_moving)
        ORDER BY ord LIMIT 1;
        SELECT rm.id INTO chosen_r FROM rooms rm
        WHERE rm.location_id = p_location AND NOT rm.archived AND rm.features @> b.required_features
          AND NOT EXISTS (SELECT 1 FROM appointments a
                          WHERE a.room_id = rm.id AND a.blocked && v_blocked
                            AND a.status NOT IN ('cancelled', 'no_show')
                            AND a.id IS DISTINCT FROM p_moving)
        ORDER BY rm.id LIMIT 1;
        IF chosen_t IS NULL OR chosen_r IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'CLBSY', MESSAGE = CASE
                WHEN chosen_t IS NULL AND p_therapist IS NOT NULL
                    THEN 'that time was just taken: the therapist is busy then; search again'
                WHEN chosen_t IS NULL THEN 'that time was just taken: every therapist is busy then; search again'
                ELSE 'that time was just taken: every suitable room is in use then; search again' END;
        END IF;
        -- free again now: what we chose was taken, or the therapist's time off added, while we
        -- waited; locking another one now could deadlock, so run the call again
        RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'the chosen therapist or room was just taken';
    END IF;
    RETURN result;
END
$$;

-- Moves a booked appointment to p_start (same client, service and location).
CREATE FUNCTION clinic_reschedule(p_id bigint, p_start timestamptz, p_therapist bigint)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    a appointments;
BEGIN
    SELECT * INTO a FROM appointments WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('appointment %s does not exist', p_id);
    END IF;
    IF a.status <> 'booked' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s is %s; only booked appointments can be moved', p_id, replace(a.status::text, '_', '-'));
    END IF;
    IF a.start_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s has already started; it cannot be moved', p_id);
    END IF;
    RETURN clinic_book(a.client_id, a.service_id, a.location_id, p_start, p_therapist, a.booked_by, p_id);
END
$$;

-- A course: p_count sessions at the same local time every p_every days (or weeks), all booked or
-- none. On failure the message names every date that cannot be booked and why.
CREATE FUNCTION clinic_book_course(p_client bigint, p_service bigint, p_location bigint,
                                   p_first timestamptz, p_count integer, p_every integer,
                                   p_unit text, p_therapist bigint, p_booked_by text)
RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    tz text;
    local_first timestamp;
    step_days integer;
    local_i timestamp;
    start_i timestamptz;
    ids bigint[] := '{}';
    problems text[] := '{}';
    all_busy boolean := true;
BEGIN
    SELECT time_zone INTO tz FROM locations WHERE id = p_location;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('location %s does not exist', p_location);
    END IF;
    local_first := p_first AT TIME ZONE tz;
    step_days := p_every * CASE p_unit WHEN 'weeks' THEN 7 ELSE 1 END;
    FOR i IN 0 .. p_count - 1 LOOP
        local_i := local_first + make_interval(days => i * step_days);
        BEGIN
            start_i := clinic_parse_instant(to_char(local_i, 'YYYY-MM-DD HH24:MI:SS'), tz, 'first_start_time');
            ids := ids || clinic_book(p_client, p_service, p_location, start_i, p_therapist, p_booked_by, NULL);
        EXCEPTION WHEN SQLSTATE 'CLRUL' OR SQLSTATE 'CLBSY' OR SQLSTATE 'CLINV' THEN
            problems := problems || format('%s (%s)', to_char(local_i, 'YYYY-MM-DD HH24:MI'), SQLERRM);
            all_busy := all_busy AND SQLSTATE = 'CLBSY';
        END;
    END LOOP;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = CASE WHEN all_busy THEN 'CLBSY' ELSE 'CLRUL' END,
            MESSAGE = format('%s of %s sessions cannot be booked, so none was: %s',
                             cardinality(problems), p_count, array_to_string(problems, '; '));
    END IF;
    RETURN ids;
END
$$;

-- ------------------------------------------------------------------ the day's running

-- Moves an appointment along its life cycle:
--   booked -> checked_in -> completed;  booked -> cancelled;  booked | checked_in -> no_show.
-- A cancellation inside the location's cancellation window is recorded as late.
CREATE FUNCTION clinic_transition(p_id bigint, p_to appointment_status, p_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    a appointments;
    window_hours integer;
    allowed boolean;
BEGIN
    SELECT * INTO a FROM appointments WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('appointment %s does not exist', p_id);
    END IF;
    allowed := CASE p_to
        WHEN 'checked_in' THEN a.status = 'booked'
        WHEN 'completed' THEN a.status = 'checked_in'
        WHEN 'cancelled' THEN a.status = 'booked'
        WHEN 'no_show' THEN a.status IN ('booked', 'checked_in')
        ELSE false END;
    IF NOT allowed THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s is %s, so it cannot be %s', p_id, replace(a.status::text, '_', '-'),
            CASE p_to WHEN 'checked_in' THEN 'checked in' WHEN 'completed' THEN 'completed (check it in first)'
                      WHEN 'cancelled' THEN 'cancelled' WHEN 'no_show' THEN 'marked as a no-show'
                      ELSE p_to::text END);
    END IF;
    IF p_to = 'no_show' AND now() < a.start_at THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s has not started yet, so it cannot be a no-show', p_id);
    END IF;
    SELECT cancellation_window_hours INTO window_hours FROM locations WHERE id = a.location_id;
    UPDATE appointments
    SET status = p_to,
        late_cancel = (p_to = 'cancelled' AND now() > a.start_at - make_interval(hours => window_hours)),
        cancel_reason = CASE WHEN p_to = 'cancelled' THEN coalesce(p_reason, '') ELSE cancel_reason END
    WHERE id = p_id;
    RETURN p_id;
END
$$;

-- ------------------------------------------------------------------ events

-- Numbers the committed events that have no sequence number yet, in id order, after the
-- highest number given so far. Serialised by an advisory lock, so numbers are contiguous and
-- follow the order in which events became visible: a watcher never misses one by skipping ahead.
CREATE FUNCTION clinic_sequence_events() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(clinic_lock_key(9, 1));
    WITH base AS (SELECT coalesce(max(seq), 0) AS m FROM events),
    pending AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM events WHERE seq IS NULL)
    UPDATE events e SET seq = base.m + pending.rn FROM base, pending WHERE e.id = pending.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('clinic_events_sequenced', '');
    END IF;
    RETURN n;
END
$$;
