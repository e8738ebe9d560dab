-- 92_reports.sql: the owner's and the front desk's reports, computed here over a period of a
-- location's local days (first..last, both included) so that a year of a busy clinic is one
-- round trip. Each report returns its rows and, last, one row of kind 'total'; the daemon
-- (daemon/svc_reports.c) puts the rows in `rows` and the last one in `total`.
--
-- An appointment belongs to the period when it starts in it. What the words mean:
--   booked time  the sessions that held a therapist and a room: booked, checked in, completed
--                and no-shows (a no-show's hour could not be sold again); cancellations freed
--                theirs;
--   due          an appointment whose start has passed, unless it was cancelled in time;
--   attended     checked in or completed.

-- The instants of a location's local days first..last (the last day included).
CREATE OR REPLACE FUNCTION clinic_report_span(p_location bigint, p_first date, p_last date)
RETURNS tstzrange
LANGUAGE sql STABLE AS $$
    SELECT tstzrange(clinic_local_instant(p_first::timestamp, l.time_zone),
                     clinic_local_instant((p_last + 1)::timestamp, l.time_zone))
    FROM locations l WHERE l.id = p_location
$$;

-- The whole minutes a set of time ranges covers.
CREATE OR REPLACE FUNCTION clinic_multirange_minutes(p_ranges tstzmultirange) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(round(sum(extract(epoch FROM upper(r) - lower(r))) / 60), 0)::bigint
    FROM unnest(p_ranges) AS r
$$;

-- part / whole to four places; NULL when there is no whole (no working hours, nothing due).
CREATE OR REPLACE FUNCTION clinic_report_ratio(p_part numeric, p_whole numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_whole > 0 THEN round(p_part / p_whole, 4) END
$$;

-- Utilisation: booked time over working time, per therapist (their hours at the location less
-- time off and closures) and per room (the hours anyone works there: a room is idle when no
-- therapist is in), and in total over the therapists.
CREATE OR REPLACE FUNCTION clinic_report_utilisation(p_location bigint, p_first date, p_last date)
RETURNS TABLE (kind text, id bigint, name text, working_minutes bigint, booked_minutes bigint,
               sessions bigint, utilisation numeric)
LANGUAGE sql STABLE AS $$
    WITH span AS MATERIALIZED (SELECT clinic_report_span(p_location, p_first, p_last) AS r),
    booked AS MATERIALIZED (
        SELECT a.therapist_id, a.room_id,
               round(extract(epoch FROM least(a.end_at, upper(span.r)) - a.start_at) / 60) AS minutes
        FROM appointments a, span
        WHERE a.location_id = p_location AND a.start_at >= lower(span.r) AND a.start_at < upper(span.r)
          AND a.status IN ('booked', 'checked_in', 'completed', 'no_show')),
    working AS MATERIALIZED (
        SELECT t.id, t.name, clinic_working(t.id, p_location, p_first, p_last) AS hours
        FROM therapists t
        WHERE t.id IN (SELECT w.therapist_id FROM working_hours w WHERE w.location_id = p_location
                       UNION SELECT b.therapist_id FROM booked b)),
    open_hours AS (
        SELECT coalesce(range_agg(r), '{}'::tstzmultirange) AS hours
        FROM working, unnest(working.hours) AS r),
    therapist_rows AS (
        SELECT 'therapist'::text AS kind, w.id, w.name, clinic_multirange_minutes(w.hours) AS working_minutes,
               coalesce(b.minutes, 0)::bigint AS booked_minutes, coalesce(b.sessions, 0) AS sessions
        FROM working w
        LEFT JOIN (SELECT therapist_id, sum(minutes) AS minutes, count(*) AS sessions
                   FROM booked GROUP BY therapist_id) b ON b.therapist_id = w.id),
    room_rows AS (
        SELECT 'room'::text, r.id, r.name, clinic_multirange_minutes(o.hours),
               coalesce(b.minutes, 0)::bigint, coalesce(b.sessions, 0)
        FROM rooms r CROSS JOIN open_hours o
        LEFT JOIN (SELECT room_id, sum(minutes) AS minutes, count(*) AS sessions
                   FROM booked GROUP BY room_id) b ON b.room_id = r.id
        WHERE r.location_id = p_location AND (NOT r.archived OR b.room_id IS NOT NULL)),
    all_rows AS (
        SELECT * FROM therapist_rows WHERE working_minutes > 0 OR booked_minutes > 0
        UNION ALL SELECT * FROM room_rows
        UNION ALL
        SELECT 'total', NULL, 'all therapists', coalesce(sum(working_minutes), 0)::bigint,
               coalesce(sum(booked_minutes), 0)::bigint, coalesce(sum(sessions), 0)::bigint
        FROM therapist_rows)
    SELECT kind, id, name, working_minutes, booked_minutes, sessions,
           clinic_report_ratio(booked_minutes, working_minutes)
    FROM all_rows
    ORDER BY CASE kind WHEN 'therapist' THEN 0 WHEN 'room' THEN 1 ELSE 2 END, name, id
$$;

-- Attendance: no-shows and late cancellations over what was due, for each client who missed
-- at least once (most misses first), then in total over every client.
CREATE OR REPLACE FUNCTION clinic_report_attendance(p_location bigint, p_first date, p_last date)
RETURNS TABLE (kind text, client_id bigint, client_name text, due bigint, attended bigint,
               no_shows bigint, late_cancels bigint, unrecorded bigint, no_show_rate numeric,
               late_cancel_rate numeric)
LANGUAGE sql STABLE AS $$
    WITH span AS MATERIALIZED (SELECT clinic_report_span(p_location, p_first, p_last) AS r),
    due AS MATERIALIZED (
        SELECT a.client_id, a.status, a.late_cancel
        FROM appointments a, span
        WHERE a.location_id = p_location AND a.start_at >= lower(span.r) AND a.start_at < upper(span.r)
          AND a.start_at < now() AND (a.status <> 'cancelled' OR a.late_cancel)),
    counted AS (
        SELECT d.client_id, count(*) AS due,
               count(*) FILTER (WHERE d.status IN ('checked_in', 'completed')) AS attended,
               count(*) FILTER (WHERE d.status = 'no_show') AS no_shows,
               count(*) FILTER (WHERE d.status = 'cancelled') AS late_cancels,
               count(*) FILTER (WHERE d.status = 'booked') AS unrecorded
        -- the empty grouping set makes the total row, also when nothing was due
        FROM due d GROUP BY GROUPING SETS ((d.client_id), ())),
    named AS (
        SELECT CASE WHEN c.client_id IS NULL THEN 'total' ELSE 'client' END AS kind, c.client_id,
               coalesce(cl.name, 'all clients') AS client_name, c.due, c.attended, c.no_shows,
               c.late_cancels, c.unrecorded
        FROM counted c LEFT JOIN clients cl ON cl.id = c.client_id
        WHERE c.client_id IS NULL OR c.no_shows + c.late_cancels > 0)
    SELECT kind, client_id, client_name, due, attended, no_shows, late_cancels, unrecorded,
           clinic_report_ratio(no_shows, due), clinic_report_ratio(late_cancels, due)
    FROM named
    ORDER BY kind = 'total', no_shows + late_cancels DESC, client_name, client_id
$$;

-- New and returning clients, month by month and in total: a client is new in the month of
-- their first attended session at the location, and returning in every later month they attend.
CREATE OR REPLACE FUNCTION clinic_report_clients(p_location bigint, p_first date, p_last date)
RETURNS TABLE (kind text, month text, new_clients bigint, returning_clients bigint,
               attended_sessions bigint)
LANGUAGE sql STABLE AS $$
    WITH span AS MATERIALIZED (SELECT clinic_report_span(p_location, p_first, p_last) AS r),
    zone AS (SELECT time_zone AS tz FROM locations WHERE id = p_location),
    visits AS MATERIALIZED (
        SELECT a.client_id, date_trunc('month', a.start_at AT TIME ZONE zone.tz) AS month
        FROM appointments a, span, zone
        WHERE a.location_id = p_location AND a.start_at >= lower(span.r) AND a.start_at < upper(span.r)
          AND a.status IN ('checked_in', 'completed')),
    firsts AS MATERIALIZED (
        SELECT v.client_id, min(b.start_at) AS first_at,
               date_trunc('month', min(b.start_at) AT TIME ZONE (SELECT tz FROM zone)) AS first_month
        FROM (SELECT DISTINCT client_id FROM visits) v
        JOIN appointments b ON b.client_id = v.client_id
        WHERE b.location_id = p_location AND b.status IN ('checked_in', 'completed')
        GROUP BY v.client_id),
    months AS (
        SELECT 'month'::text AS kind, to_char(v.month, 'YYYY-MM') AS month,
               count(DISTINCT v.client_id) FILTER (WHERE f.first_month = v.month) AS new_clients,
               count(DISTINCT v.client_id) FILTER (WHERE f.first_month < v.month) AS returning_clients,
               count(*) AS attended_sessions
        FROM visits v JOIN firsts f USING (client_id)
        GROUP BY v.month),
    total AS (
        SELECT 'total'::text AS kind, to_char(p_first, 'YYYY-MM') || '..' || to_char(p_last, 'YYYY-MM') AS month,
               (SELECT count(*) FROM firsts, span WHERE first_at >= lower(span.r)) AS new_clients,
               (SELECT count(*) FROM firsts, span WHERE first_at < lower(span.r)) AS returning_clients,
               (SELECT count(*) FROM visits) AS attended_sessions)
    SELECT * FROM (SELECT * FROM months UNION ALL SELECT * FROM total) AS report
    ORDER BY report.kind = 'total', report.month
$$;

-- Courses of sessions, per service and in total. A course is completed when every session of
-- it was attended; it ended early when none is left to come but one was cancelled or missed;
-- both are counted in the period their last session falls in. One is in progress at the end
-- of the period when it had begun by then and a session of it lies after it. Every course
-- counted has a session from the period's start on, so only those are read: the report costs
-- the period, not the years before it.
CREATE OR REPLACE FUNCTION clinic_report_courses(p_location bigint, p_first date, p_last date)
RETURNS TABLE (kind text, service_id bigint, service_name text, started bigint, completed bigint,
               ended_early bigint, in_progress bigint, sessions_attended bigint,
               completion_rate numeric)
LANGUAGE sql STABLE AS $$
    WITH span AS MATERIALIZED (SELECT clinic_report_span(p_location, p_first, p_last) AS r),
    candidate AS MATERIALIZED (
        SELECT DISTINCT a.course_id AS id
        FROM appointments a, span
        WHERE a.location_id = p_location AND a.start_at >= lower(span.r) AND a.course_id IS NOT NULL),
    -- each course's sessions through appointments_course, course by course (the planner
    -- cannot know how few candidates a period has, and would read the whole table)
    course AS MATERIALIZED (
        SELECT candidate.id, co.service_id, x.*
        FROM candidate, span
        CROSS JOIN LATERAL (SELECT c.service_id FROM courses c WHERE c.id = candidate.id) AS co
        CROSS JOIN LATERAL (
            SELECT min(a.start_at) AS first_start, max(a.start_at) AS last_start,
                   count(*) AS planned,
                   count(*) FILTER (WHERE a.status = 'completed') AS attended,
                   count(*) FILTER (WHERE a.status IN ('booked', 'checked_in')) AS pending,
                   count(*) FILTER (WHERE a.status = 'completed' AND a.start_at <@ span.r) AS attended_in_period
            FROM appointments a WHERE a.course_id = candidate.id) AS x),
    judged AS (
        SELECT c.service_id,
               c.first_start <@ s.r AS started,
               c.pending = 0 AND c.attended = c.planned AND c.last_start <@ s.r AS completed,
               c.pending = 0 AND c.attended < c.planned AND c.last_start <@ s.r AS ended_early,
               c.first_start < upper(s.r) AND c.last_start >= upper(s.r) AS in_progress,
               c.attended_in_period
        FROM course c, span s),
    counted AS (
        SELECT j.service_id, count(*) FILTER (WHERE j.started) AS started,
               count(*) FILTER (WHERE j.completed) AS completed,
               count(*) FILTER (WHERE j.ended_early) AS ended_early,
               count(*) FILTER (WHERE j.in_progress) AS in_progress,
               coalesce(sum(j.attended_in_period), 0)::bigint AS sessions_attended
        FROM judged j
        WHERE j.started OR j.completed OR j.ended_early OR j.in_progress
        GROUP BY GROUPING SETS ((j.service_id), ())),
    named AS (
        SELECT CASE WHEN c.service_id IS NULL THEN 'total' ELSE 'service' END AS kind, c.service_id,
               coalesce(s.name, 'all services') AS service_name, c.started, c.completed,
               c.ended_early, c.in_progress, c.sessions_attended
        FROM counted c LEFT JOIN services s ON s.id = c.service_id)
    SELECT kind, service_id, service_name, started, completed, ended_early, in_progress,
           sessions_attended, clinic_report_ratio(completed, completed + ended_early)
    FROM named
    ORDER BY kind = 'total', service_name, service_id
$$;

-- Revenue: the money taken (cash basis: receipts issued in the period, clinic_revenue_lines in
-- 89_billing.sql), per therapist and per service, and in total. A package's sale is money
-- taken with no therapist yet (its sessions draw 0 later); a voided receipt's correction is
-- negative, so every sum is the net revenue. Fees count with the missed session's therapist.
CREATE OR REPLACE FUNCTION clinic_report_revenue(p_location bigint, p_first date, p_last date)
RETURNS TABLE (kind text, id bigint, name text, receipts bigint, sessions bigint,
               gross_cents bigint, tax_cents bigint, net_cents bigint, currency text)
LANGUAGE sql STABLE AS $$
    WITH span AS MATERIALIZED (SELECT clinic_report_span(p_location, p_first, p_last) AS r),
    lines AS MATERIALIZED (
        SELECT v.* FROM clinic_revenue_lines v, span
        WHERE v.location_id = p_location AND v.issued_at >= lower(span.r)
          AND v.issued_at < upper(span.r)),
    summed AS (
        SELECT GROUPING(l.therapist_id) AS by_therapist, GROUPING(l.service_id) AS by_service,
               l.therapist_id, l.service_id, count(*) AS receipts,
               count(*) FILTER (WHERE l.kind = 'session') AS sessions,
               coalesce(sum(l.gross_cents), 0)::bigint AS gross_cents,
               coalesce(sum(l.tax_cents), 0)::bigint AS tax_cents,
               coalesce(sum(l.net_cents), 0)::bigint AS net_cents
        FROM lines l
        GROUP BY GROUPING SETS ((l.therapist_id), (l.service_id), ())),
    named AS (
        SELECT CASE WHEN s.by_therapist = 0 THEN 'therapist'
                    WHEN s.by_service = 0 THEN 'service' ELSE 'total' END AS kind,
               CASE WHEN s.by_therapist = 0 THEN s.therapist_id ELSE s.service_id END AS id,
               CASE WHEN s.by_therapist = 0 THEN coalesce(t.name, 'package sales')
                    WHEN s.by_service = 0 THEN sv.name ELSE 'all' END AS name,
               s.receipts, s.sessions, s.gross_cents, s.tax_cents, s.net_cents
        FROM summed s
        LEFT JOIN therapists t ON s.by_therapist = 0 AND t.id = s.therapist_id
        LEFT JOIN services sv ON s.by_service = 0 AND s.by_therapist = 1 AND sv.id = s.service_id)
    SELECT n.kind, n.id, n.name, n.receipts, n.sessions, n.gross_cents, n.tax_cents, n.net_cents,
           l.currency
    FROM named n, locations l
    WHERE l.id = p_location
    ORDER BY CASE n.kind WHEN 'therapist' THEN 0 WHEN 'service' THEN 1 ELSE 2 END,
             n.net_cents DESC, n.name
$$;

REVOKE ALL ON FUNCTION clinic_report_utilisation(bigint, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION clinic_report_attendance(bigint, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION clinic_report_clients(bigint, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION clinic_report_courses(bigint, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION clinic_report_revenue(bigint, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_report_utilisation(bigint, date, date) TO clinic_app;
GRANT EXECUTE ON FUNCTION clinic_report_attendance(bigint, date, date) TO clinic_app;
GRANT EXECUTE ON FUNCTION clinic_report_clients(bigint, date, date) TO clinic_app;
GRANT EXECUTE ON FUNCTION clinic_report_courses(bigint, date, date) TO clinic_app;
GRANT EXECUTE ON FUNCTION clinic_report_revenue(bigint, date, date) TO clinic_app;
