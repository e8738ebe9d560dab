-- 0020_recorded_sessions.sql: a session recorded after it happened (Scheduling/RecordSession:
-- a walk-in, or one nobody booked beforehand) keeps why it was not booked. NULL: booked ahead,
-- as every appointment before this migration was.
ALTER TABLE appointments ADD COLUMN recorded_reason text
    CONSTRAINT appointments_recorded_reason_length
        CHECK (length(btrim(recorded_reason)) BETWEEN 1 AND 500);
COMMENT ON COLUMN appointments.recorded_reason IS
    'Why a session recorded after the fact was not booked beforehand; NULL when it was booked.';
