-- 0015_rules_serialised_with_bookings.sql: every rule a booking reads is serialised with the
-- bookings it governs, and every call takes its locks in one global order (issues 9 and 10).
--
-- Why: a closure could land on a day that was being booked (AddClosure counted the day's
-- bookings, then inserted, taking no lock; a booking read closures in its first statement only):
-- run under PostgreSQL's isolation tester, both committed in 4 of 6 interleavings. And a course
-- took the locks of its sessions one session at a time, so it held the room of its first date
-- while it waited for the therapist of its second, against a booking that held that therapist
-- and waited for the room: a deadlock, broken only after deadlock_timeout.
--
-- The locks (transaction-scoped advisory locks, keys from clinic_lock_key(kind, id)):
--   kind 4, a location: its closures, its rooms, the working hours there, its booking rules;
--   kind 5, a service: its length, buffers, needed features, whether it is offered;
--   kind 1, 2, 3: a therapist, a room, a client (the resources a booking takes; time off is the
--   therapist's, kind 1);   kind 9: the event relay.
-- * A booking, move or course takes its location's and its service's locks shared, first
--   (clinic_lock_rules_for_booking), before it reads any rule; bookings do not wait for each
--   other there. Every write to a rule takes the lock of what it changes exclusively, by a
--   trigger on the rule's table (clinic_lock_rules_for_change), so it waits for the bookings
--   in flight and they wait for it; a rule that refuses to strand bookings (a closure, time off)
--   counts them after that lock, in a statement whose snapshot sees every booking committed
--   before it. Whoever writes the rules (the daemon, the clinic tool, SQL by hand) is held to
--   this, because the triggers are the database's.
-- * The global order: rule locks first (a location's before a service's), then therapist, room
--   and client keys ascending (kind 1 keys are below kind 2's, below kind 3's). No call waits for
--   a key below one it holds: clinic_lock_resources, which takes every resource lock, waits only
--   for keys above the highest one this transaction holds (it records it in the
--   transaction-local setting clinic.lock_high, rolled back with a savepoint as the locks are)
--   and merely tries the others, asking for the call to be run again (40001) when one is taken;
--   a transaction that holds a resource lock only tries rule locks. A wait-for cycle among these
--   locks needs someone waiting for a key below one they hold, so none can form. (A move locks
--   its appointment's row before any of them; the life-cycle calls lock a row and wait for
--   nothing else. Only a statement writing the rules of several locations at once, a set-up
--   script's, takes their locks in its rows' order.)
-- * A single booking takes its three keys ascending. A course first books every session with
--   what it can take that way; if a session finds a key taken, the course rolls that attempt back
--   (releasing its locks), takes every key the sessions need in one ascending sweep (waiting is
--   safe: it holds none of them), and books again.

-- Shared locks on the rules of p_location and p_service, location first: taken by every
-- booking, move and course before it reads a rule. Waits while a change of those rules is in
-- flight; bookings never wait for each other here. Rule locks come before resource locks in
-- the global order: a transaction that already holds a resource lock (a course's later
-- sessions, which hold these rule locks already) only tries them.
CREATE FUNCTION clinic_lock_rules_for_booking(p_location bigint, p_service bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF nullif(current_setting('clinic.lock_high', true), '') IS NULL THEN
        -- a target list is evaluated left to right
        PERFORM pg_advisory_xact_lock_shared(clinic_lock_key(4, p_location)),
                pg_advisory_xact_lock_shared(clinic_lock_key(5, p_service));
    ELSIF NOT (pg_try_advisory_xact_lock_shared(clinic_lock_key(4, p_location))
               AND pg_try_advisory_xact_lock_shared(clinic_lock_key(5, p_service))) THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = 'the rules of this booking are being changed by another call';
    END IF;
END
$$;

-- The exclusive lock on the rules of a location (p_kind 4) or a service (p_kind 5), taken by
-- the triggers below before a rule is written: it waits for the bookings in flight that read
-- those rules, and bookings that start meanwhile wait for the change to commit. Like the shared
-- one, only tried by a transaction that holds a resource lock.
CREATE FUNCTION clinic_lock_rules_for_change(p_kind integer, p_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_kind NOT IN (4, 5) THEN
        RAISE EXCEPTION 'clinic_lock_rules_for_change: kind % is not a kind of rules', p_kind;
    END IF;
    IF nullif(current_setting('clinic.lock_high', true), '') IS NULL THEN
        PERFORM pg_advisory_xact_lock(clinic_lock_key(p_kind, p_id));
    ELSIF NOT pg_try_advisory_xact_lock(clinic_lock_key(p_kind, p_id)) THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = 'these rules are being read by a booking in flight; run the change again';
    END IF;
END
$$;

-- Takes the exclusive locks p_keys (therapist, room and client keys) in the global order:
-- ascending, and waiting only for a key above every resource key this transaction already
-- holds. A key below that is only tried: when another call holds it, waiting could close a
-- cycle, so this raises 40001 (run the call again) with the keys in DETAIL, for a course to
-- take them all in order (clinic_book_course). A key this transaction holds is granted again
-- at once.
CREATE FUNCTION clinic_lock_resources(p_keys bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    high bigint := nullif(current_setting('clinic.lock_high', true), '')::bigint;
    keys bigint[] := p_keys;
    k bigint;
BEGIN
    IF coalesce(cardinality(p_keys), 0) = 0 THEN
        RETURN;
    END IF;
    -- A booking's keys come ascending (therapist, room, client); sort only what does not: the
    -- query costs a booking more than the rest of this function.
    FOR i IN 2 .. cardinality(keys) LOOP
        IF keys[i - 1] >= keys[i] THEN
            keys := ARRAY(SELECT DISTINCT u FROM unnest(p_keys) AS u ORDER BY u);
            EXIT;
        END IF;
    END LOOP;
    FOREACH k IN ARRAY keys LOOP
        IF high IS NULL OR k > high THEN
            PERFORM pg_advisory_xact_lock(k);
            high := k;
        ELSIF NOT pg_try_advisory_xact_lock(k) THEN
            RAISE EXCEPTION USING ERRCODE = '40001', DETAIL = p_keys::text,
                MESSAGE = 'a therapist, room or client this call needs is in use by another call';
        END IF;
    END LOOP;
    PERFORM set_config('clinic.lock_high', high::text, true);
END
$$;

-- ------------------------------------------------------------------ booking and courses

-- 0012's function with two changes: the rules lock comes first, and therapist, room and client
-- are locked through clinic_lock_resources. Same checks, same order, same answers.
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
                   b.client_name, t.name, r.name, b.service_name, b.time_zone, w.start_at
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
                   b.client_name, t.name, r.name, b.service_name, b.time_zone, w.start_at
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
END
$$;

-- A course: p_count sessions at the same local time every p_every days (or weeks), all booked or
-- none. On failure the message names every date that cannot be booked and why. As 0003's, and
-- deadlock-free: the sessions lock in the global order (see the top of this file). The first
-- attempt books session after session; the first session waits for its keys, the others only
-- try theirs (they lie below the client's key, which the first took). When a key is taken by
-- another call, the attempt goes on to learn what every session needs, then is rolled back to
-- its savepoint (its rows and locks with it), every key is taken in one ascending sweep, and
-- the sessions are booked again. If the second attempt still meets a taken key (what a session
-- chooses moved meanwhile), the 40001 goes to the caller, who runs the whole call again.
CREATE OR REPLACE FUNCTION clinic_book_course(p_client bigint, p_service bigint, p_location bigint,
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
    ids bigint[];
    problems text[];
    all_busy boolean;
    booked record;
    needed bigint[] := '{}';  -- the resource keys of every session (kept when an attempt is not)
    taken boolean;
    keys text;
BEGIN
    SELECT time_zone INTO tz FROM locations WHERE id = p_location;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('location %s does not exist', p_location);
    END IF;
    PERFORM clinic_lock_rules_for_booking(p_location, p_service);
    local_first := p_first AT TIME ZONE tz;
    step_days := p_every * CASE p_unit WHEN 'weeks' THEN 7 ELSE 1 END;
    FOR attempt IN 1 .. 2 LOOP
        BEGIN
            IF attempt = 2 THEN
                PERFORM clinic_lock_resources(needed);
            END IF;
            ids := '{}';
            problems := '{}';
            all_busy := true;
            taken := false;
            FOR i IN 0 .. p_count - 1 LOOP
                local_i := local_first + make_interval(days => i * step_days);
                BEGIN
                    start_i := clinic_parse_instant(to_char(local_i, 'YYYY-MM-DD HH24:MI:SS'), tz,
                                                    'first_start_time');
                    SELECT d.id, d.therapist_id, d.room_id INTO booked
                    FROM clinic_book_details(p_client, p_service, p_location, start_i, p_therapist,
                                             p_booked_by, NULL) AS d;
                    ids := ids || booked.id;
                    needed := needed || ARRAY[clinic_lock_key(1, booked.therapist_id),
                                              clinic_lock_key(2, booked.room_id),
                                              clinic_lock_key(3, p_client)];
                EXCEPTION
                    WHEN SQLSTATE 'CLRUL' OR SQLSTATE 'CLBSY' OR SQLSTATE 'CLINV' THEN
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
            IF cardinality(problems) > 0 THEN
                RAISE EXCEPTION USING ERRCODE = CASE WHEN all_busy THEN 'CLBSY' ELSE 'CLRUL' END,
                    MESSAGE = format('%s of %s sessions cannot be booked, so none was: %s',
                                     cardinality(problems), p_count, array_to_string(problems, '; '));
            END IF;
            RETURN ids;
        EXCEPTION WHEN SQLSTATE 'CLAGN' THEN
            NULL;  -- the attempt's rows and locks are gone; take every key in order, then again
        END;
    END LOOP;
    RAISE EXCEPTION 'clinic_book_course: the second attempt neither booked nor failed';
END
$$;

-- ------------------------------------------------------------------ rule changes

-- Before a row of closures, rooms or working_hours is written, and before a location is
-- changed: the location's rules lock (both locations', in order, if a row moves). A closure
-- may not strand active appointments: counted after the lock, so that no booking can commit on
-- the closed days unseen (it either committed before the count or waits for this change).
-- Buffers count as in clinic_book_details: a closure touches an appointment when one of its
-- days is a day the blocked time touches.
CREATE FUNCTION clinic_location_rules_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_location bigint;
    new_location bigint;
    tz text;
    n bigint;
BEGIN
    IF TG_TABLE_NAME = 'locations' THEN
        old_location := OLD.id;
        new_location := NEW.id;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            old_location := OLD.location_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            new_location := NEW.location_id;
        END IF;
    END IF;
    PERFORM clinic_lock_rules_for_change(4, l)
    FROM (SELECT DISTINCT l FROM unnest(ARRAY[old_location, new_location]) AS l
          WHERE l IS NOT NULL ORDER BY l) AS x;
    IF TG_TABLE_NAME = 'closures' AND TG_OP <> 'DELETE' THEN
        SELECT time_zone INTO tz FROM locations WHERE id = NEW.location_id;
        SELECT count(*) INTO n FROM appointments a
        WHERE a.location_id = NEW.location_id AND a.status IN ('booked', 'checked_in')
          -- the index's range first: a blocked time ends less than two days after its start
          AND a.start_at >= (NEW.first_day - 2)::timestamp AT TIME ZONE tz
          AND a.start_at < (NEW.last_day + 2)::timestamp AT TIME ZONE tz
          AND NEW.first_day <= (upper(a.blocked) AT TIME ZONE tz)::date
          AND NEW.last_day >= (lower(a.blocked) AT TIME ZONE tz)::date;
        IF n > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                '%s appointment(s) are booked at this location from %s to %s; move or cancel them '
                'before closing', n, to_char(NEW.first_day, 'YYYY-MM-DD'),
                to_char(NEW.last_day, 'YYYY-MM-DD'));
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER closures_rules BEFORE INSERT OR UPDATE OR DELETE ON closures
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();
CREATE TRIGGER rooms_rules BEFORE INSERT OR UPDATE OR DELETE ON rooms
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();
CREATE TRIGGER working_hours_rules BEFORE INSERT OR UPDATE OR DELETE ON working_hours
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();
CREATE TRIGGER locations_rules BEFORE UPDATE OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();

-- Before a service is changed: its rules lock (a new service has no bookings to wait for).
CREATE FUNCTION clinic_service_rules_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM clinic_lock_rules_for_change(5, OLD.id);
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER services_rules BEFORE UPDATE OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION clinic_service_rules_written();

-- Before time off is written: the therapist's lock, the one every booking of them takes before
-- it writes (and then looks at time off again, in its write). Time off may not strand active
-- appointments (buffers included: they block the therapist too), counted after the lock.
CREATE FUNCTION clinic_time_off_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM clinic_lock_resources(ARRAY(
        SELECT DISTINCT clinic_lock_key(1, t) FROM unnest(ARRAY[OLD.therapist_id, NEW.therapist_id]) AS t
        WHERE t IS NOT NULL));
    IF TG_OP <> 'DELETE' THEN
        SELECT count(*) INTO n FROM appointments a
        WHERE a.therapist_id = NEW.therapist_id AND a.status IN ('booked', 'checked_in')
          AND a.blocked && NEW.during;
        IF n > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                '%s appointment(s) of therapist %s fall in that time off; move or cancel them first',
                n, NEW.therapist_id);
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER time_off_rules BEFORE INSERT OR UPDATE OR DELETE ON time_off
    FOR EACH ROW EXECUTE FUNCTION clinic_time_off_written();
