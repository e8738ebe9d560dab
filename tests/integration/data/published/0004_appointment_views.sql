-- 0004_appointment_views.sql: appointments as the API shows them: names behind the ids, and
-- instants in the location's own zone with its offset.
CREATE VIEW appointment_details AS
SELECT a.id, a.client_id, a.therapist_id, a.room_id, a.service_id, a.location_id,
       clinic_format_instant(a.start_at, l.time_zone) AS start_time,
       clinic_format_instant(a.end_at, l.time_zone) AS end_time,
       a.status, a.late_cancel, a.cancel_reason, a.booked_by,
       clinic_format_instant(a.created_at, l.time_zone) AS created_at,
       clinic_format_instant(a.updated_at, l.time_zone) AS updated_at,
       c.name AS client_name, t.name AS therapist_name, r.name AS room_name,
       s.name AS service_name, l.time_zone,
       a.start_at
FROM appointments a
JOIN locations l ON l.id = a.location_id
JOIN clients c ON c.id = a.client_id
JOIN therapists t ON t.id = a.therapist_id
JOIN rooms r ON r.id = a.room_id
JOIN services s ON s.id = a.service_id;

-- Books like clinic_book and answers with the new appointment as appointment_details shows it:
-- the Book call is one statement, not a booking and then a read (issue 4).
CREATE FUNCTION clinic_book_details(p_client bigint, p_service bigint, p_location bigint,
                                    p_start timestamptz, p_therapist bigint, p_booked_by text)
RETURNS SETOF appointment_details
LANGUAGE plpgsql AS $$
DECLARE
    booked bigint;
BEGIN
    booked := clinic_book(p_client, p_service, p_location, p_start, p_therapist, p_booked_by, NULL);
    RETURN QUERY SELECT * FROM appointment_details WHERE id = booked;
END
$$;

-- The zone that reads local times not tied to one location (a client's or a therapist's
-- appointments across locations): the first location's, the clinic's home.
CREATE FUNCTION clinic_home_zone() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT time_zone FROM locations ORDER BY id LIMIT 1), 'UTC')
$$;

-- A NULL instant stays NULL (optional range bounds), instead of being refused as malformed.
ALTER FUNCTION clinic_parse_instant(text, text, text) STRICT;

-- Events as clinic.v1.Event shows them: instants in the location's zone.
CREATE VIEW event_details AS
SELECT e.seq, e.topic, clinic_format_instant(e.occurred_at, l.time_zone) AS occurred_at,
       e.appointment_id, e.location_id, e.therapist_id, e.room_id, e.client_id,
       clinic_format_instant(e.start_at, l.time_zone) AS start_time,
       clinic_format_instant(e.end_at, l.time_zone) AS end_time, e.status
FROM events e JOIN locations l ON l.id = e.location_id
WHERE e.seq IS NOT NULL;
