-- 0021_courses.sql: a course of sessions is a thing of its own. A client with chronic back pain
-- books a course (six sessions every week, say) with one therapist, kept for all of it
-- (continuity of care); the front desk shows it, and cancels what is left of it, as one. Each
-- session is still an ordinary appointment, with course_id naming its course; appointments booked
-- before this migration, and every single booking, keep course_id NULL.
--
-- The booking function changes its answer (the course's id and the sessions it skipped), so the
-- old one is dropped here and sql/functions/50_booking.sql creates the new one.
CREATE TABLE courses (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL REFERENCES clients,
    -- The one therapist of every session booked for it (a session moved later may change it).
    therapist_id bigint NOT NULL REFERENCES therapists,
    service_id bigint NOT NULL REFERENCES services,
    location_id bigint NOT NULL REFERENCES locations,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Who booked it, as appointments.booked_by says it ("user:12").
    created_by text NOT NULL DEFAULT ''
);
CREATE INDEX courses_client ON courses (client_id);

ALTER TABLE appointments ADD COLUMN course_id bigint REFERENCES courses;
CREATE INDEX appointments_course ON appointments (course_id, start_at) WHERE course_id IS NOT NULL;

-- As the appointments' grants (0006): courses are the daemon's to read and write; row-level
-- security is not on appointments either (the daemon's authorisation decides who sees one).
GRANT SELECT, INSERT, UPDATE, DELETE ON courses TO clinic_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app;

DROP FUNCTION IF EXISTS clinic_book_course(bigint, bigint, bigint, timestamptz, integer, integer,
                                           text, bigint, text);
