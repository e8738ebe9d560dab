-- 0017_check_in_window_and_undo.sql: how long before its start an appointment can be checked in,
-- per location, and the record of every check-in, completion or no-show taken back. Also drops
-- clinic_reschedule of three arguments: it now takes whether any therapist will do, and says
-- which therapist the appointment had (sql/functions/50_booking.sql).

DROP FUNCTION IF EXISTS clinic_reschedule(bigint, timestamptz, bigint);

ALTER TABLE locations
    ADD COLUMN check_in_opens_minutes integer NOT NULL DEFAULT 120
        CONSTRAINT locations_check_in_opens_minutes_check CHECK (check_in_opens_minutes BETWEEN 0 AND 1440);
COMMENT ON COLUMN locations.check_in_opens_minutes IS
    'Check-in opens this long before an appointment''s start, never before its local day.';

-- An undo puts the appointment back to booked; what it was and why is kept here (the audit row
-- says who called, this says what was taken back).
CREATE TABLE appointment_undos (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id bigint NOT NULL CONSTRAINT appointment_undos_appointment_fkey REFERENCES appointments,
    undone_status appointment_status NOT NULL,
    reason text NOT NULL CONSTRAINT appointment_undos_reason_length CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    undone_by bigint,
    undone_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointment_undos_appointment ON appointment_undos (appointment_id);
GRANT SELECT, INSERT ON appointment_undos TO clinic_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app;
