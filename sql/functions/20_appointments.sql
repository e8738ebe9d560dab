-- 20_appointments.sql: appointments as the API shows them, the updated_at stamps, and the life
-- cycle of an appointment (check-in, completion, cancellation, no-show).

-- Names behind the ids, and instants in the location's own zone with its offset. recorded_reason
-- is '' for a session booked ahead (the API's empty string).
CREATE OR REPLACE VIEW appointment_details AS
SELECT a.id, a.client_id, a.therapist_id, a.room_id, a.service_id, a.location_id,
       clinic_format_instant(a.start_at, l.time_zone) AS start_time,
       clinic_format_instant(a.end_at, l.time_zone) AS end_time,
       a.status, a.late_cancel, a.cancel_reason, a.booked_by,
       clinic_format_instant(a.created_at, l.time_zone) AS created_at,
       clinic_format_instant(a.updated_at, l.time_zone) AS updated_at,
       c.name AS client_name, t.name AS therapist_name, r.name AS room_name,
       s.name AS service_name, l.time_zone,
       a.start_at, a.course_id,
       coalesce(a.recorded_reason, '') AS recorded_reason
FROM appointments a
JOIN locations l ON l.id = a.location_id
JOIN clients c ON c.id = a.client_id
JOIN therapists t ON t.id = a.therapist_id
JOIN rooms r ON r.id = a.room_id
JOIN services s ON s.id = a.service_id;
GRANT SELECT ON appointment_details TO clinic_app;

-- Every row's updated_at is the time of its last change, whoever made it.
CREATE OR REPLACE FUNCTION clinic_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER locations_touch BEFORE UPDATE ON locations FOR EACH ROW EXECUTE FUNCTION clinic_touch();
CREATE OR REPLACE TRIGGER rooms_touch BEFORE UPDATE ON rooms FOR EACH ROW EXECUTE FUNCTION clinic_touch();
CREATE OR REPLACE TRIGGER services_touch BEFORE UPDATE ON services FOR EACH ROW EXECUTE FUNCTION clinic_touch();
CREATE OR REPLACE TRIGGER therapists_touch BEFORE UPDATE ON therapists FOR EACH ROW EXECUTE FUNCTION clinic_touch();
CREATE OR REPLACE TRIGGER clients_touch BEFORE UPDATE ON clients FOR EACH ROW EXECUTE FUNCTION clinic_touch();

-- An appointment's change also counts up its revision: calendar feeds give it as the event's
-- SEQUENCE, by which calendar apps tell a newer copy of an event from an older one.
CREATE OR REPLACE FUNCTION clinic_touch_appointment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER appointments_touch BEFORE UPDATE ON appointments FOR EACH ROW EXECUTE FUNCTION clinic_touch_appointment();

-- Moves an appointment along its life cycle, as a day at the clinic runs:
--   booked -> checked_in (on its local day, from the location's check_in_opens_minutes before
--   its start, once the client has given general consent) -> completed (once it has started);
--   booked -> cancelled;
--   booked | checked_in -> no_show (once it has started);
--   checked_in | completed | no_show -> booked: an undo, on the appointment's local day, with a
--   reason (kept in appointment_undos).
-- A cancellation inside the location's cancellation window is recorded as late. Each refusal
-- says why and what is allowed instead.
CREATE OR REPLACE FUNCTION clinic_transition(p_id bigint, p_to appointment_status, p_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    a appointments;
    loc locations;
    start_local timestamp;
    today date;
    opens timestamptz;
    allowed boolean;
BEGIN
    SELECT * INTO a FROM appointments WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('appointment %s does not exist', p_id);
    END IF;
    SELECT * INTO loc FROM locations WHERE id = a.location_id;
    start_local := a.start_at AT TIME ZONE loc.time_zone;
    today := (now() AT TIME ZONE loc.time_zone)::date;
    allowed := CASE p_to
        WHEN 'checked_in' THEN a.status = 'booked'
        WHEN 'completed' THEN a.status = 'checked_in'
        WHEN 'cancelled' THEN a.status = 'booked'
        WHEN 'no_show' THEN a.status IN ('booked', 'checked_in')
        WHEN 'booked' THEN a.status IN ('checked_in', 'completed', 'no_show')
        ELSE false END;
    IF NOT allowed THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s is %s, so it cannot be %s', p_id, replace(a.status::text, '_', '-'),
            CASE p_to WHEN 'checked_in' THEN 'checked in' WHEN 'completed' THEN 'completed (check it in first)'
                      WHEN 'cancelled' THEN 'cancelled' WHEN 'no_show' THEN 'marked as a no-show'
                      WHEN 'booked' THEN 'undone (only a check-in, completion or no-show can be)'
                      ELSE p_to::text END);
    END IF;
    IF p_to = 'checked_in' THEN
        opens := greatest(a.start_at - make_interval(mins => loc.check_in_opens_minutes),
                          clinic_local_instant(start_local::date::timestamp, loc.time_zone));
        IF now() < opens THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'appointment %s starts %s; check-in opens %s', p_id,
                to_char(start_local, 'YYYY-MM-DD HH24:MI'),
                to_char(opens AT TIME ZONE loc.time_zone, 'YYYY-MM-DD HH24:MI'));
        END IF;
        IF today > start_local::date THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'appointment %s was on %s; check-in is only on its day (mark it a no-show instead)',
                p_id, to_char(start_local, 'YYYY-MM-DD'));
        END IF;
        IF a.held_until IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'appointment %s is a waitlist offer the client has not accepted yet; accept it first (clinic waitlist accept %s)',
                p_id, p_id);
        END IF;
        -- Informed consent comes before the first session (82_care.sql keeps consents).
        IF NOT clinic_consent_covers(a.client_id, 'general', now(), now()) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'client %s has not given general consent to treatment; record it before the session (clinic consent give --client %s --kind general --how ...), then check in',
                a.client_id, a.client_id);
        END IF;
    END IF;
    IF p_to IN ('completed', 'no_show') AND now() < a.start_at THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s has not started yet (it starts %s), so it cannot be %s', p_id,
            to_char(start_local, 'YYYY-MM-DD HH24:MI'),
            CASE p_to WHEN 'completed' THEN 'completed' ELSE 'a no-show' END);
    END IF;
    IF p_to = 'booked' THEN
        IF today <> start_local::date THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'appointment %s was on %s; it can be undone only on its day', p_id,
                to_char(start_local, 'YYYY-MM-DD'));
        END IF;
        IF length(btrim(coalesce(p_reason, ''))) = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'reason',
                MESSAGE = 'say why it is undone (1 to 500 characters)';
        END IF;
        INSERT INTO appointment_undos (appointment_id, undone_status, reason, undone_by)
        VALUES (p_id, a.status, btrim(p_reason), clinic_caller_user());
    END IF;
    UPDATE appointments
    SET status = p_to,
        late_cancel = (p_to = 'cancelled' AND now() > a.start_at - make_interval(hours => loc.cancellation_window_hours)),
        cancel_reason = CASE WHEN p_to = 'cancelled' THEN coalesce(p_reason, '') ELSE cancel_reason END
    WHERE id = p_id;
    RETURN p_id;
END
$$;
