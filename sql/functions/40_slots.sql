-- 40_slots.sql: availability and free-slot search: working hours read in the location's zone,
-- less time off, closures and appointments (buffers included), on the location's slot grid.
-- Local times become instants by clinic_local_instant's rule (10_instants.sql).

-- The windows of a therapist's weekly rules at a location on local days first..last, as instants
-- (the wall-clock rules read in the location's zone, day by day).
CREATE OR REPLACE FUNCTION clinic_weekly_hours(p_therapist bigint, p_location bigint, p_first date, p_last date)
RETURNS tstzmultirange
LANGUAGE sql STABLE AS $$
    SELECT coalesce(range_agg(tstzrange(clinic_local_instant(d::date + w.start_local, l.time_zone),
                                        clinic_local_instant(d::date + w.end_local, l.time_zone))),
                    '{}')
    FROM locations l, generate_series(p_first, p_last, interval '1 day') AS d
    JOIN working_hours w ON w.weekday = extract(isodow FROM d)
    WHERE l.id = p_location AND w.therapist_id = p_therapist AND w.location_id = p_location
      AND d::date >= w.valid_from AND (w.valid_until IS NULL OR d::date <= w.valid_until)
$$;

-- When the therapist is available at the location on those days: the weekly windows less time
-- off and the location's closures.
CREATE OR REPLACE FUNCTION clinic_working(p_therapist bigint, p_location bigint, p_first date, p_last date)
RETURNS tstzmultirange
LANGUAGE sql STABLE AS $$
    WITH loc AS (SELECT time_zone AS tz FROM locations WHERE id = p_location),
    span AS (SELECT tstzrange(clinic_local_instant(p_first::timestamp, loc.tz),
                              clinic_local_instant((p_last + 1)::timestamp, loc.tz)) AS r FROM loc)
    SELECT clinic_weekly_hours(p_therapist, p_location, p_first, p_last)
           - coalesce((SELECT range_agg(o.during) FROM time_off o
                       WHERE o.therapist_id = p_therapist AND o.during && span.r), '{}')
           - coalesce((SELECT range_agg(tstzrange(clinic_local_instant(c.first_day::timestamp, loc.tz),
                                                  clinic_local_instant((c.last_day + 1)::timestamp, loc.tz)))
                       FROM closures c
                       WHERE c.location_id = p_location AND c.last_day >= p_first
                         AND c.first_day <= p_last), '{}')
    FROM span, loc
$$;

-- Time taken by a therapist's active appointments around a span (the day sheet's gaps).
CREATE OR REPLACE FUNCTION clinic_therapist_busy(p_therapist bigint, p_span tstzrange, p_ignore bigint)
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
CREATE OR REPLACE FUNCTION clinic_free_slots(p_service bigint, p_location bigint, p_from timestamptz,
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
        SELECT coalesce(range_agg(tstzrange(clinic_local_instant(c.first_day::timestamp, loc.tz),
                                            clinic_local_instant((c.last_day + 1)::timestamp, loc.tz))),
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
            SELECT coalesce(range_agg(tstzrange(clinic_local_instant(d.day + w.start_local, loc.tz),
                                                clinic_local_instant(d.day + w.end_local, loc.tz))),
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
    -- The grid is the local wall clock's: starts whose local reading is a multiple of the step
    -- from local midnight, on both sides of a clock change (a step that does not divide the
    -- shift, Lord Howe's 30 minutes, must not drift), and both passes of a repeated hour. So
    -- the grid is laid out under each UTC offset the zone has in the span, and a start is kept
    -- under the offset it really has. One offset a day is sampled: none lasts less.
    offsets AS MATERIALIZED (
        SELECT DISTINCT clinic_utc_offset(i, loc.tz) AS off
        FROM loc, span,
             LATERAL (SELECT upper(span.r)
                      UNION ALL
                      SELECT generate_series(lower(span.r), upper(span.r), interval '24 hours')) AS sample(i)),
    candidates AS (
        SELECT wi.therapist_id, inst.s AS start_at
        FROM windows wi, svc, loc, offsets o,
             LATERAL (SELECT (lower(wi.w) + svc.bb) AT TIME ZONE 'UTC' + o.off AS first_l,
                             (upper(wi.w) - svc.dur - svc.ba) AT TIME ZONE 'UTC' + o.off AS last_l) AS e,
             LATERAL generate_series(date_trunc('day', e.first_l), e.last_l, interval '1 day') AS d,
             LATERAL generate_series(
                 d + ceil(extract(epoch FROM greatest(e.first_l, d) - d)
                          / extract(epoch FROM loc.step)) * loc.step,
                 least(e.last_l, d + interval '1 day' - interval '1 microsecond'),
                 loc.step) AS l,
             LATERAL (SELECT (l - o.off) AT TIME ZONE 'UTC' AS s) AS inst
        WHERE inst.s AT TIME ZONE loc.tz = l
          AND inst.s >= loc.lo AND inst.s < loc.hi
          AND (inst.s, wi.therapist_id) > (p_after_start, p_after_therapist)),
    -- The page is cut here, not by the caller: the candidates are ordered first (OFFSET 0
    -- keeps PostgreSQL from merging this into the query below), so a room is looked for only
    -- until the page is full, not for every start of the whole span (measured on the 1 M-row
    -- bench database: rooms were looked for at 501 of 1344 starts). A look-up stops at the
    -- first free room: suitable_rooms was written in id order and a materialised CTE is read
    -- back in the order it was written (an ORDER BY here would test every room before sorting
    -- them, 5.5 ms against 4.2 ms a search; the room shown is a suggestion, Book picks its own).
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
-- (its custom plans looked cheaper than the generic one), about 1 ms of each search.
CREATE OR REPLACE FUNCTION clinic_find_slots(p_service bigint, p_location bigint, p_from text, p_to text,
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
