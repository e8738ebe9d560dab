-- 0013_relay_numbering_quietly.sql: numbering events no longer NOTIFYs clinic_events_sequenced.
--
-- Why (measured, issue 4): a commit that has notified takes PostgreSQL's database-wide notify
-- lock and holds it through its flush, so notifying commits go through one at a time; every
-- relay pass that numbered something was one more of them, queued with the bookings' commits
-- (and, with two daemons, woke the other relay for a pass of its own). It told nobody anything
-- new: every relay LISTENs on clinic_events, which each change NOTIFYs when it commits, and a
-- relay's pass after that notification publishes the change whoever numbers it. The pass takes
-- the numbering lock before its UPDATE reads, so either it numbers the event itself or the
-- transaction that did has committed, and the read that follows sees the number. Relays also
-- look every second without a notification.
CREATE OR REPLACE FUNCTION clinic_sequence_events() RETURNS bigint
LANGUAGE plpgsql
SET enable_bitmapscan = off SET enable_seqscan = off AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(clinic_lock_key(9, 1));
    WITH base AS (SELECT coalesce(max(seq), 0) AS m FROM events),
    pending AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM events WHERE seq IS NULL)
    UPDATE events e SET seq = base.m + pending.rn FROM base, pending WHERE e.id = pending.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
