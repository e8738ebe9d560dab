-- 0033_course_confirmations.sql: a course of sessions is confirmed by one message listing its
-- sessions, not by one per session: the outbox gains the kind 'course_booked', and
-- clinic_outbox_claim answers the course's sessions too (a new result column, so the function is
-- dropped and made again from sql/functions/77_outbox.sql).
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check
        CHECK (kind IN ('booked', 'rescheduled', 'cancelled', 'reminder', 'offered', 'course_booked'));
DROP FUNCTION IF EXISTS clinic_outbox_claim(text[]);
