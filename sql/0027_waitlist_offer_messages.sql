-- 0027_waitlist_offer_messages.sql: a waitlist offer is told to its client: the outbox gains the
-- kind 'offered' (the time held for them, and until when), and clinic_outbox_claim answers the
-- hold's deadline too (a new result column, so the function is dropped and made again from
-- sql/functions/77_outbox.sql).
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check,
    ADD CONSTRAINT outbox_kind_check
        CHECK (kind IN ('booked', 'rescheduled', 'cancelled', 'reminder', 'offered'));
DROP FUNCTION IF EXISTS clinic_outbox_claim(text[]);
