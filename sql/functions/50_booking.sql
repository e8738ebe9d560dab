-- 50_booking.sql: booking, moving, courses and recording a session after the fact: every booking
-- rule, checked and written in the transaction that books, under the locks of 30_locks.sql.

-- Books (p_moving NULL) or moves (p_moving = the appointment) a session of p_service for
-- p_client at p_start. Checks every rule in the order a person would explain them, finds who
-- could do it (p_therapist, or any who performs the service; when moving, the current one first)
-- and the first free suitable room, locks therapist, room and client in that fixed order so
-- concurrent bookings queue instead of deadlocking, then checks each of them once, after its
-- lock: each statement here reads a fresh snapshot, so a booking committed while we waited is
-- seen. Returns the appointment's one row as appointment_details shows it. The exclusion
-- constraints remain the final guarantee.
--
-- What a booking costs is mostly this function (the booking benchmark), so its usual path is
-- four statements:
-- the service, location, client and any closure in one; who works then and the room in one;
-- the locks; the insert, which checks therapist, room and client first (and, with several
-- therapists to choose from, one more to pick one). Only a refusal runs the statements that
-- find which rule or which resource to name. Every plan is generic (plan_cache_mode): with
-- custom plans PostgreSQL planned the range checks again on every call, because its estimate
-- for each actual range always beat the generic plan's; that was a third of the function's
-- time. The checks are written out, not calls of SQL helper functions, which PostgreSQL would
-- parse and plan again on every call.
--
-- It answers with the appointment itself, built from the row it writes (INSERT/UPDATE ...
-- RETURNING) and the names its first statement read: a wrapper that booked and then read
-- appointment_details cost a second PL/pgSQL call (PL/pgSQL sets up each function's expressions
-- again in every transaction; about a tenth of the database's work per booking), and that read's
-- joins alone were about 0.09 ms of a booking's database time. The rules lock comes first and
-- therapist, room and client are locked through clinic_lock_resources (30_locks.sql).
CREATE OR REPLACE FUNCTION clinic_book_details(p_client bigint, p_service bigint, p_location bigint,
                                    p_start timestamptz, p_therapist bigint, p_booked_by text,
                                    p_moving bigint)
RETURNS SETOF appointment_details
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
    booked boolean := false;
    away_appt record;
    grid_before timestamp;
    found_free boolean;
    busy text;
BEGIN
    -- The rules this booking reads (the location's closures, working hours and rooms, the
    -- service) are not changed while it runs, and a change that committed while it waited is
    -- read below: the statement after the lock takes its snapshot after it.
    PERFORM clinic_lock_rules_for_booking(p_location, p_service);
    -- The service, the location, the client and the first closure that touches the booked
    -- time (buffers included), in one statement; what is missing is told in this order.
    SELECT s.id AS service_id, s.name AS service_name, s.active, s.duration_minutes,
           s.buffer_before_minutes, s.buffer_after_minutes, s.required_features,
           l.id AS location_id, l.name AS location_name, l.archived AS location_archived,
           l.time_zone, l.min_notice_minutes, l.max_advance_days, l.slot_step_minutes,
           c.id AS client_id, c.archived AS client_archived, c.name AS client_name,
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
    PERFORM clinic_require(b.service_id IS NOT NULL, 'service', p_service);
    PERFORM clinic_require(b.location_id IS NOT NULL, 'location', p_location);
    PERFORM clinic_require(b.client_id IS NOT NULL, 'client', p_client);
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
    -- the grid of the local wall clock, as clinic_free_slots lays it out
    grid_before := date_trunc('day', local_start) + make_interval(secs =>
        extract(epoch FROM local_start - date_trunc('day', local_start))::bigint
        / (b.slot_step_minutes * 60) * (b.slot_step_minutes * 60));
    IF grid_before <> local_start THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'slot step: appointments at %s start every %s minutes from midnight; the nearest starts are %s and %s',
            b.location_name, b.slot_step_minutes, to_char(grid_before, 'HH24:MI'),
            to_char(grid_before + make_interval(mins => b.slot_step_minutes), 'HH24:MI'));
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
                              AND tstzrange(clinic_local_instant(from_day + w.start_local, b.time_zone),
                                            clinic_local_instant(from_day + w.end_local, b.time_zone))
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
                              AND tstzrange(clinic_local_instant(from_day + w.start_local, b.time_zone),
                                            clinic_local_instant(from_day + w.end_local, b.time_zone))
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
    -- The client's own other session at that time is an ordinary refusal, told with its time;
    -- the same conflict found only after the locks below is a race.
    SELECT a.id, a.start_at, a.end_at INTO away_appt FROM appointments a
    WHERE a.client_id = p_client AND tstzrange(a.start_at, a.end_at) && session
      AND a.status NOT IN ('cancelled', 'no_show') AND a.id IS DISTINCT FROM p_moving
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'client %s already has appointment %s from %s to %s', p_client, away_appt.id,
            to_char(away_appt.start_at AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
            to_char(away_appt.end_at AT TIME ZONE b.time_zone, 'HH24:MI'));
    END IF;
    -- (the only candidate was taken without a look: look now, so that a therapist busy before
    -- this call is told as such and not as a race)
    found_free := chosen_t IS NOT NULL AND chosen_r IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM appointments a
                        WHERE a.therapist_id = chosen_t AND a.blocked && v_blocked
                          AND a.status NOT IN ('cancelled', 'no_show')
                          AND a.id IS DISTINCT FROM p_moving);
    IF found_free THEN
        -- Lock therapist, room and client in the one global order (clinic_lock_resources), so
        -- concurrent bookings and courses of the same resources queue instead of deadlocking;
        -- then write if each is still free. The write is a statement of its own, so its
        -- snapshot is taken after the locks: a booking committed while we waited is seen, and
        -- so is time off added for the therapist meanwhile (it takes the same lock).
        PERFORM clinic_lock_resources(ARRAY[clinic_lock_key(1, chosen_t),
                                            clinic_lock_key(2, chosen_r),
                                            clinic_lock_key(3, p_client)]);
        -- The row is written and answered in one statement: the names the reply shows are
        -- at hand (b) or one key away, instead of a read of appointment_details after it.
        IF p_moving IS NULL THEN
            RETURN QUERY
            WITH written AS (
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
                RETURNING *)
            SELECT w.id, w.client_id, w.therapist_id, w.room_id, w.service_id, w.location_id,
                   clinic_format_instant(w.start_at, b.time_zone),
                   clinic_format_instant(w.end_at, b.time_zone),
                   w.status, w.late_cancel, w.cancel_reason, w.booked_by,
                   clinic_format_instant(w.created_at, b.time_zone),
                   clinic_format_instant(w.updated_at, b.time_zone),
                   b.client_name, t.name, r.name, b.service_name, b.time_zone, w.start_at,
                   w.course_id, coalesce(w.recorded_reason, '')
            FROM written w JOIN therapists t ON t.id = w.therapist_id JOIN rooms r ON r.id = w.room_id;
        ELSE
            RETURN QUERY
            WITH written AS (
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
                RETURNING *)
            SELECT w.id, w.client_id, w.therapist_id, w.room_id, w.service_id, w.location_id,
                   clinic_format_instant(w.start_at, b.time_zone),
                   clinic_format_instant(w.end_at, b.time_zone),
                   w.status, w.late_cancel, w.cancel_reason, w.booked_by,
                   clinic_format_instant(w.created_at, b.time_zone),
                   clinic_format_instant(w.updated_at, b.time_zone),
                   b.client_name, t.name, r.name, b.service_name, b.time_zone, w.start_at,
                   w.course_id, coalesce(w.recorded_reason, '')
            FROM written w JOIN therapists t ON t.id = w.therapist_id JOIN rooms r ON r.id = w.room_id;
        END IF;
        booked := FOUND;
    END IF;
    IF NOT booked THEN
        -- Something is in the way: name it as a person would, first what no retry can change.
        IF NOT EXISTS (SELECT 1 FROM rooms rm WHERE rm.location_id = p_location AND NOT rm.archived
                       AND rm.features @> b.required_features) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'rooms: no room at %s has what "%s" needs (%s)', b.location_name, b.service_name,
                array_to_string(b.required_features, ', '));
        END IF;
        IF NOT found_free THEN
            -- Busy before this call looked: FAILED_PRECONDITION, with who is busy until when
            -- (their sessions' times; buffers are why a session ending earlier still blocks).
            IF NOT EXISTS (SELECT 1 FROM unnest(working) AS u(t)
                           WHERE NOT EXISTS (SELECT 1 FROM appointments a
                                             WHERE a.therapist_id = u.t AND a.blocked && v_blocked
                                               AND a.status NOT IN ('cancelled', 'no_show')
                                               AND a.id IS DISTINCT FROM p_moving)) THEN
                SELECT string_agg(format('therapist %s is with another client from %s to %s',
                                         x.therapist_id,
                                         to_char(x.start_at AT TIME ZONE b.time_zone, 'HH24:MI'),
                                         to_char(x.end_at AT TIME ZONE b.time_zone, 'HH24:MI')),
                                  '; ' ORDER BY x.therapist_id)
                INTO busy
                FROM (SELECT DISTINCT ON (a.therapist_id) a.therapist_id, a.start_at, a.end_at
                      FROM appointments a
                      WHERE a.therapist_id = ANY (working) AND a.blocked && v_blocked
                        AND a.status NOT IN ('cancelled', 'no_show')
                        AND a.id IS DISTINCT FROM p_moving
                      ORDER BY a.therapist_id, a.start_at) x;
                RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                    '%s at %s (buffers included): %s; search for a free time',
                    CASE WHEN cardinality(working) = 1 THEN 'busy' ELSE 'every therapist who works then is busy' END,
                    to_char(local_start, 'YYYY-MM-DD HH24:MI'), busy);
            END IF;
            SELECT string_agg(format('%s until %s', rm.name,
                                     to_char(x.upper_at AT TIME ZONE b.time_zone, 'HH24:MI')),
                              ', ' ORDER BY rm.id)
            INTO busy
            FROM rooms rm
            JOIN LATERAL (SELECT max(upper(a.blocked)) AS upper_at FROM appointments a
                          WHERE a.room_id = rm.id AND a.blocked && v_blocked
                            AND a.status NOT IN ('cancelled', 'no_show')
                            AND a.id IS DISTINCT FROM p_moving) x ON x.upper_at IS NOT NULL
            WHERE rm.location_id = p_location AND NOT rm.archived
              AND rm.features @> b.required_features;
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'rooms: every room for "%s" is in use at %s (%s); search for a free time',
                b.service_name, to_char(local_start, 'YYYY-MM-DD HH24:MI'), busy);
        END IF;
        -- Free when this call looked, taken while it waited for its locks: a race, ABORTED.
        IF EXISTS (SELECT 1 FROM appointments a WHERE a.client_id = p_client
                   AND tstzrange(a.start_at, a.end_at) && session
                   AND a.status NOT IN ('cancelled', 'no_show') AND a.id IS DISTINCT FROM p_moving) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLBSY', MESSAGE = format(
                'client %s was just booked at that time by another call', p_client);
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
END
$$;

-- The appointment's id, for a caller that goes on working with it (clinic_reschedule).
CREATE OR REPLACE FUNCTION clinic_book(p_client bigint, p_service bigint, p_location bigint,
                            p_start timestamptz, p_therapist bigint, p_booked_by text,
                            p_moving bigint)
RETURNS bigint
LANGUAGE sql AS $$
    SELECT id FROM clinic_book_details(p_client, p_service, p_location, p_start, p_therapist,
                                       p_booked_by, p_moving)
$$;

-- Records a session of p_service that already happened (a walk-in, or one nobody booked
-- beforehand): p_therapist gave it to p_client at p_start, at p_location. It is written directly
-- as completed, with p_reason (why it was not booked) kept in recorded_reason, and returns its
-- id. What booking checks about the future (minimum notice, horizon, slot grid, working hours,
-- time off, closures) is not checked: the session took place, whatever the rules said; walk-ins
-- happen outside working hours. What the record must not contradict is checked, in the order a
-- person explains it: the session is over (its end no later than now) and at most 31 days ago,
-- the therapist performs the service, neither the therapist (buffers included) nor the client
-- was in another session then, and a suitable room was free; the refusals name who held the
-- time. Locks and the exclusion constraints are booking's: therapist, room and client are
-- locked in the global order (30_locks.sql) before the insert, and a row written by another
-- call while this one waited breaks a constraint (ABORTED).
CREATE OR REPLACE FUNCTION clinic_record_session(p_client bigint, p_service bigint, p_location bigint,
                                      p_start timestamptz, p_therapist bigint, p_reason text,
                                      p_booked_by text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    b record;
    session tstzrange;
    v_blocked tstzrange;
    chosen_r bigint;
    other record;
    busy text;
    v_id bigint;
BEGIN
    IF length(btrim(coalesce(p_reason, ''))) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'reason',
            MESSAGE = 'say why the session was not booked beforehand (1 to 500 characters)';
    END IF;
    PERFORM clinic_lock_rules_for_booking(p_location, p_service);
    SELECT s.id AS service_id, s.name AS service_name, s.duration_minutes,
           s.buffer_before_minutes, s.buffer_after_minutes, s.required_features,
           l.id AS location_id, l.name AS location_name, l.time_zone,
           c.id AS client_id, t.id AS therapist_id,
           EXISTS (SELECT 1 FROM therapist_services ts
                   WHERE ts.therapist_id = p_therapist AND ts.service_id = p_service) AS performs
    INTO b
    FROM (SELECT) AS one
    LEFT JOIN services s ON s.id = p_service
    LEFT JOIN locations l ON l.id = p_location
    LEFT JOIN clients c ON c.id = p_client
    LEFT JOIN therapists t ON t.id = p_therapist;
    PERFORM clinic_require(b.service_id IS NOT NULL, 'service', p_service);
    PERFORM clinic_require(b.location_id IS NOT NULL, 'location', p_location);
    PERFORM clinic_require(b.client_id IS NOT NULL, 'client', p_client);
    PERFORM clinic_require(b.therapist_id IS NOT NULL, 'therapist', p_therapist);

    session := tstzrange(p_start, p_start + make_interval(mins => b.duration_minutes));
    v_blocked := tstzrange(p_start - make_interval(mins => b.buffer_before_minutes),
                           upper(session) + make_interval(mins => b.buffer_after_minutes));
    IF upper(session) > now() THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'a session is recorded once it is over: "%s" at %s would end %s, which is still to come; book it instead',
            b.service_name, to_char(p_start AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
            to_char(upper(session) AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'));
    END IF;
    IF p_start < now() - interval '31 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'a session is recorded at most 31 days after it happened; %s is longer ago (the earliest is %s)',
            to_char(p_start AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
            to_char((now() - interval '31 days') AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'));
    END IF;
    IF NOT b.performs THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'therapist %s does not perform "%s"', p_therapist, b.service_name);
    END IF;

    -- Who held the time, as booking says it.
    SELECT a.id, a.start_at, a.end_at INTO other FROM appointments a
    WHERE a.therapist_id = p_therapist AND a.blocked && v_blocked
      AND a.status NOT IN ('cancelled', 'no_show')
    ORDER BY a.start_at LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'busy at %s (buffers included): therapist %s was with another client from %s to %s (appointment %s)',
            to_char(p_start AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'), p_therapist,
            to_char(other.start_at AT TIME ZONE b.time_zone, 'HH24:MI'),
            to_char(other.end_at AT TIME ZONE b.time_zone, 'HH24:MI'), other.id);
    END IF;
    SELECT a.id, a.start_at, a.end_at INTO other FROM appointments a
    WHERE a.client_id = p_client AND tstzrange(a.start_at, a.end_at) && session
      AND a.status NOT IN ('cancelled', 'no_show')
    ORDER BY a.start_at LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'client %s already has appointment %s from %s to %s', p_client, other.id,
            to_char(other.start_at AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'),
            to_char(other.end_at AT TIME ZONE b.time_zone, 'HH24:MI'));
    END IF;
    SELECT rm.id INTO chosen_r FROM rooms rm
    WHERE rm.location_id = p_location AND NOT rm.archived AND rm.features @> b.required_features
      AND NOT EXISTS (SELECT 1 FROM appointments a
                      WHERE a.room_id = rm.id AND a.blocked && v_blocked
                        AND a.status NOT IN ('cancelled', 'no_show'))
    ORDER BY rm.id LIMIT 1;
    IF chosen_r IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM rooms rm WHERE rm.location_id = p_location AND NOT rm.archived
                       AND rm.features @> b.required_features) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'rooms: no room at %s has what "%s" needs (%s)', b.location_name, b.service_name,
                array_to_string(b.required_features, ', '));
        END IF;
        SELECT string_agg(format('%s until %s (appointment %s)', rm.name,
                                 to_char(upper(x.blocked) AT TIME ZONE b.time_zone, 'HH24:MI'), x.id),
                          ', ' ORDER BY rm.id)
        INTO busy
        FROM rooms rm
        JOIN LATERAL (SELECT a.id, a.blocked FROM appointments a
                      WHERE a.room_id = rm.id AND a.blocked && v_blocked
                        AND a.status NOT IN ('cancelled', 'no_show')
                      ORDER BY upper(a.blocked) DESC LIMIT 1) x ON true
        WHERE rm.location_id = p_location AND NOT rm.archived
          AND rm.features @> b.required_features;
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'rooms: every room at %s for "%s" was in use at %s (%s)', b.location_name,
            b.service_name, to_char(p_start AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'), busy);
    END IF;

    PERFORM clinic_lock_resources(ARRAY[clinic_lock_key(1, p_therapist),
                                        clinic_lock_key(2, chosen_r),
                                        clinic_lock_key(3, p_client)]);
    INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id, start_at,
                              end_at, blocked, status, booked_by, recorded_reason)
    VALUES (p_client, p_therapist, chosen_r, p_service, p_location, p_start, upper(session),
            v_blocked, 'completed', coalesce(p_booked_by, ''), btrim(p_reason))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- Moves a booked appointment to p_start (same client, service and location). The therapist stays,
-- for continuity of care within a course, unless the caller names another (p_therapist) or asks
-- for any free one (p_any); when the kept or named therapist cannot take the new time, the
-- refusal says why. previous_therapist_id is the therapist before the move when it changed.
CREATE OR REPLACE FUNCTION clinic_reschedule(p_id bigint, p_start timestamptz, p_therapist bigint,
                                             p_any boolean, OUT appointment_id bigint,
                                             OUT previous_therapist_id bigint)
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
    appointment_id := clinic_book(a.client_id, a.service_id, a.location_id, p_start,
                                  CASE WHEN p_any THEN NULL ELSE coalesce(p_therapist, a.therapist_id) END,
                                  a.booked_by, p_id);
    SELECT nullif(a.therapist_id, m.therapist_id) INTO previous_therapist_id
    FROM appointments m WHERE m.id = appointment_id;
END
$$;


-- One therapist's try at a course (clinic_book_course): p_count sessions at the same local time
-- every p_every days (or weeks), each booked with p_therapist (NULL: whoever the booking picks)
-- if it can be. Books what it can and tells, for each session it could not book, its start
-- (skipped_at: as the API shows instants; problems: local, for a sentence) and the sentence a
-- single booking would have refused it with (skipped_why); all_busy when every refusal was a
-- race. The caller decides whether that is enough and rolls back what is not.
-- Deadlock-free: the sessions lock in the global order (30_locks.sql). The first attempt books
-- session after session; the first session waits for its keys, the others only try theirs (they
-- lie below the client's key, which the first took). When a key is taken by another call, the
-- attempt goes on to learn what every session needs, then is rolled back to its savepoint (its
-- rows and locks with it), every key is taken in one ascending sweep, and the sessions are
-- booked again. If the second attempt still meets a taken key (what a session chooses moved
-- meanwhile), the 40001 goes to the caller, who runs the whole call again.
CREATE OR REPLACE FUNCTION clinic_book_course_sessions(
    p_client bigint, p_service bigint, p_location bigint, p_first timestamptz, p_count integer,
    p_every integer, p_unit text, p_therapist bigint, p_booked_by text, p_zone text,
    OUT ids bigint[], OUT skipped_at text[], OUT skipped_why text[], OUT problems text[],
    OUT all_busy boolean)
LANGUAGE plpgsql AS $$
DECLARE
    local_first timestamp;
    step_days integer;
    local_i timestamp;
    start_i timestamptz;
    booked record;
    needed bigint[] := '{}';  -- the resource keys of every session (kept when an attempt is not)
    taken boolean;
    keys text;
BEGIN
    local_first := p_first AT TIME ZONE p_zone;
    step_days := p_every * CASE p_unit WHEN 'weeks' THEN 7 ELSE 1 END;
    FOR attempt IN 1 .. 2 LOOP
        BEGIN
            IF attempt = 2 THEN
                PERFORM clinic_lock_resources(needed);
            END IF;
            ids := '{}';
            skipped_at := '{}';
            skipped_why := '{}';
            problems := '{}';
            all_busy := true;
            taken := false;
            FOR i IN 0 .. p_count - 1 LOOP
                local_i := local_first + make_interval(days => i * step_days);
                start_i := NULL;
                BEGIN
                    start_i := clinic_parse_instant(to_char(local_i, 'YYYY-MM-DD HH24:MI:SS'),
                                                    p_zone, 'first_start_time');
                    SELECT d.id, d.therapist_id, d.room_id INTO booked
                    FROM clinic_book_details(p_client, p_service, p_location, start_i, p_therapist,
                                             p_booked_by, NULL) AS d;
                    ids := ids || booked.id;
                    needed := needed || ARRAY[clinic_lock_key(1, booked.therapist_id),
                                              clinic_lock_key(2, booked.room_id),
                                              clinic_lock_key(3, p_client)];
                EXCEPTION
                    WHEN SQLSTATE 'CLRUL' OR SQLSTATE 'CLBSY' OR SQLSTATE 'CLINV' THEN
                        skipped_at := skipped_at || coalesce(clinic_format_instant(start_i, p_zone),
                                                             to_char(local_i, 'YYYY-MM-DD HH24:MI'));
                        skipped_why := skipped_why || SQLERRM;
                        problems := problems || format('%s (%s)', to_char(local_i, 'YYYY-MM-DD HH24:MI'), SQLERRM);
                        all_busy := all_busy AND SQLSTATE = 'CLBSY';
                    WHEN serialization_failure THEN
                        IF attempt = 2 THEN
                            RAISE;
                        END IF;
                        -- clinic_lock_resources names the keys it could not take
                        GET STACKED DIAGNOSTICS keys = PG_EXCEPTION_DETAIL;
                        needed := needed || coalesce(nullif(keys, '')::bigint[], '{}');
                        taken := true;
                END;
            END LOOP;
            IF taken THEN
                RAISE EXCEPTION USING ERRCODE = 'CLAGN', MESSAGE = 'book the course again';
            END IF;
            RETURN;
        EXCEPTION WHEN SQLSTATE 'CLAGN' THEN
            NULL;  -- the attempt's rows and locks are gone; take every key in order, then again
        END;
    END LOOP;
    RAISE EXCEPTION 'clinic_book_course_sessions: the second attempt neither booked nor failed';
END
$$;

-- A course: p_count sessions at the same local time every p_every days (or weeks), with ONE
-- therapist for all of them (continuity of care matters more to a client in pain than an
-- earlier free hour with someone new): p_therapist, or else the first therapist who performs the
-- service (in id order, the order a single booking chooses in) who is free at every session.
-- All booked or none: a refusal names every date that cannot be booked and why. With p_skip, the
-- therapist free at the most sessions (ties: the same order) books those, and the others are
-- answered as skipped, each with its reason; when none can be booked, it is refused as without.
-- Each therapist is tried in a subtransaction (its rows and locks are rolled back when it is not
-- kept), so the locking order of clinic_book_course_sessions holds for every try.
-- Answers the course's id, its sessions' ids and the skipped starts with their reasons.
CREATE OR REPLACE FUNCTION clinic_book_course(p_client bigint, p_service bigint, p_location bigint,
                                              p_first timestamptz, p_count integer, p_every integer,
                                              p_unit text, p_therapist bigint, p_booked_by text,
                                              p_skip boolean, OUT course bigint,
                                              OUT sessions bigint[], OUT skipped_at text[],
                                              OUT skipped_why text[])
LANGUAGE plpgsql AS $$
DECLARE
    tz text;
    candidates bigint[];
    c bigint;
    s record;
    best record;
    best_therapist bigint;
    best_n integer := -1;
    kept boolean := false;
    service_name text;
BEGIN
    SELECT time_zone INTO tz FROM locations WHERE id = p_location;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('location %s does not exist', p_location);
    END IF;
    PERFORM clinic_lock_rules_for_booking(p_location, p_service);
    IF p_therapist IS NOT NULL THEN
        candidates := ARRAY[p_therapist];
    ELSE
        candidates := ARRAY(SELECT th.id FROM therapists th
                            JOIN therapist_services ts ON ts.therapist_id = th.id
                            WHERE ts.service_id = p_service AND NOT th.archived
                            ORDER BY th.id);
        IF cardinality(candidates) = 0 THEN
            candidates := ARRAY[NULL::bigint];  -- the booking says why nobody can
        END IF;
    END IF;
    FOREACH c IN ARRAY candidates LOOP
        BEGIN
            s := clinic_book_course_sessions(p_client, p_service, p_location, p_first, p_count,
                                             p_every, p_unit, c, p_booked_by, tz);
            IF cardinality(s.ids) > best_n THEN
                best := s;
                best_therapist := c;
                best_n := cardinality(s.ids);
            END IF;
            -- all of them; or, skipping, what the only candidate could book (no need to try again)
            kept := cardinality(s.ids) = p_count
                    OR (p_skip AND cardinality(candidates) = 1 AND cardinality(s.ids) > 0);
            IF NOT kept THEN
                RAISE EXCEPTION USING ERRCODE = 'CLNXT', MESSAGE = 'try the next therapist';
            END IF;
        EXCEPTION WHEN SQLSTATE 'CLNXT' THEN
            NULL;  -- this therapist's sessions and locks are rolled back
        END;
        EXIT WHEN kept;
    END LOOP;
    IF NOT kept AND p_skip AND best_n > 0 THEN
        best := clinic_book_course_sessions(p_client, p_service, p_location, p_first, p_count,
                                            p_every, p_unit, best_therapist, p_booked_by, tz);
        kept := cardinality(best.ids) > 0;
    END IF;
    IF NOT kept THEN
        IF cardinality(candidates) > 1 THEN
            SELECT name INTO service_name FROM services WHERE id = p_service;
            RAISE EXCEPTION USING ERRCODE = CASE WHEN best.all_busy THEN 'CLBSY' ELSE 'CLRUL' END,
                MESSAGE = format('no therapist who performs "%s" is free at every session, so none was booked; '
                                 'therapist %s, free at the most, cannot take %s of %s: %s',
                                 service_name, best_therapist, cardinality(best.problems), p_count,
                                 array_to_string(best.problems, '; '));
        END IF;
        RAISE EXCEPTION USING ERRCODE = CASE WHEN best.all_busy THEN 'CLBSY' ELSE 'CLRUL' END,
            MESSAGE = format('%s of %s sessions cannot be booked, so none was: %s',
                             cardinality(best.problems), p_count, array_to_string(best.problems, '; '));
    END IF;
    INSERT INTO courses (client_id, therapist_id, service_id, location_id, created_by)
    SELECT p_client, a.therapist_id, p_service, p_location, coalesce(p_booked_by, '')
    FROM appointments a WHERE a.id = best.ids[1]
    RETURNING id INTO course;
    UPDATE appointments SET course_id = course WHERE id = ANY (best.ids);
    PERFORM clinic_outbox_course_booked(course);
    sessions := best.ids;
    skipped_at := best.skipped_at;
    skipped_why := best.skipped_why;
END
$$;

-- Cancels what is left of a course: every session still booked that has not started, each as
-- Scheduling/Cancel would (clinic_transition: the reason, the late-cancel flag, the event), in
-- time order. Sessions checked in, completed, missed or already cancelled, and any that has
-- started, stay as they are. Answers the ids it cancelled (none is not an error).
CREATE OR REPLACE FUNCTION clinic_cancel_course(p_course bigint, p_reason text)
RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    a record;
    done bigint[] := '{}';
BEGIN
    PERFORM 1 FROM courses WHERE id = p_course FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('course %s does not exist', p_course);
    END IF;
    FOR a IN SELECT id FROM appointments
             WHERE course_id = p_course AND status = 'booked' AND start_at > now()
             ORDER BY start_at, id
    LOOP
        done := done || clinic_transition(a.id, 'cancelled', p_reason);
    END LOOP;
    RETURN done;
END
$$;
