-- 70_events.sql: the transactional outbox: every appointment change writes an event row in the
-- changing transaction; the daemons' event relays number the rows in commit order and read them.

-- Writes the event of an appointment change (booked, recorded, a new status, rescheduled), and
-- nothing more: a NOTIFY here would make every booking's commit take PostgreSQL's database-wide
-- notify lock (a third of the write throughput, measured). The daemon whose worker committed the
-- change wakes its own relay; clinic_sequence_events wakes the others.
CREATE OR REPLACE FUNCTION clinic_appointment_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.recorded_reason IS NOT NULL THEN
        t := 'appointment.recorded'; -- written after the fact, completed (RecordSession)
    ELSIF TG_OP = 'INSERT' THEN
        t := 'appointment.booked';
    ELSIF NEW.status = 'booked' AND OLD.status <> 'booked' THEN
        t := 'appointment.undone'; -- a check-in, completion or no-show taken back
    ELSIF NEW.status <> OLD.status THEN
        t := 'appointment.' || NEW.status::text;
    ELSIF NEW.start_at <> OLD.start_at OR NEW.therapist_id <> OLD.therapist_id
          OR NEW.room_id <> OLD.room_id THEN
        t := 'appointment.rescheduled';
    ELSE
        RETURN NEW;
    END IF;
    INSERT INTO events (topic, appointment_id, location_id, therapist_id, room_id, client_id,
                        start_at, end_at, status)
    VALUES (t, NEW.id, NEW.location_id, NEW.therapist_id, NEW.room_id, NEW.client_id,
            NEW.start_at, NEW.end_at, NEW.status);
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER appointments_event AFTER INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION clinic_appointment_event();

-- Events as clinic.v1.Event shows them: instants in the location's zone.
CREATE OR REPLACE VIEW event_details AS
SELECT e.seq, e.topic, clinic_format_instant(e.occurred_at, l.time_zone) AS occurred_at,
       e.appointment_id, e.location_id, e.therapist_id, e.room_id, e.client_id,
       clinic_format_instant(e.start_at, l.time_zone) AS start_time,
       clinic_format_instant(e.end_at, l.time_zone) AS end_time, e.status
FROM events e JOIN locations l ON l.id = e.location_id
WHERE e.seq IS NOT NULL;
GRANT SELECT ON event_details TO clinic_app;

-- Numbers the committed events that have no sequence number yet, in id order, after the
-- highest number given so far. Serialised by an advisory lock, so numbers are contiguous and
-- follow the order in which events became visible: a watcher never misses one by skipping ahead.
--
-- It finds the unnumbered events through the partial index events_unsequenced (seq IS NULL),
-- by a plain index scan whatever the statistics say (measured): numbering an event updates it
-- out of that index, but its entry stays until VACUUM, and a bitmap scan visits the heap for
-- every such entry without marking it dead: after 14 000 bookings one pass cost 2.9 ms, growing
-- with the table. A plain index scan marks the entries of dead rows as it passes (later passes:
-- 0.03 ms); events is vacuumed every 10 000 dead rows (its table options). Sequential scans are
-- off too: a relay keeps its plan for its connection's life, and a plan made while statistics
-- said "events is empty" read the whole table on every pass (87 % of a core at 500 bookings/s).
--
-- When it numbered any, it NOTIFYs clinic_events once: the other daemons' relays LISTEN and
-- publish what this pass numbered (their own workers' changes wake them in-process). A notifying
-- commit takes PostgreSQL's database-wide notify lock, so that is one such commit per pass
-- (passes are 20 ms apart at least), not one per booking. A relay woken by it takes the numbering
-- lock before it reads, so the numbering transaction has committed by then. Relays also look
-- every second unprompted (a change written by hand, a notification missed while reconnecting).
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
    IF n > 0 THEN
        PERFORM pg_notify('clinic_events', '');
    END IF;
    RETURN n;
END
$$;

-- The numbered events after p_after, in order, at most p_limit of them, read through the index
-- on seq whatever the statistics say. The relay reads a few rows a pass and a watcher catching
-- up a page, but as a prepared statement `seq > $1` looked to the planner like a third of the
-- table: on a table of 22 000 events each pass read all of it and sorted it (2.8 ms). One
-- generic plan (plan_cache_mode): with custom plans the event_details join was planned again on
-- every call, 0.32 ms of which 0.01 ms executing; with the scans above off the one generic plan
-- is the index scan on seq, right for any p_after: 0.10 ms a call.
CREATE OR REPLACE FUNCTION clinic_events_after(p_after bigint, p_limit integer)
RETURNS SETOF event_details
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_bitmapscan = off
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY SELECT * FROM event_details WHERE seq > p_after ORDER BY seq LIMIT p_limit;
END
$$;
