-- 88_waitlist.sql: the waitlist (tables in 0026_waitlist.sql). A cancellation or a move writes
-- the freed time to waitlist_freed in its own transaction (a trigger); clinicd's janitor runs
-- clinic_waitlist_pass about once a second, which ends offers whose time is up and offers each
-- freed time to the first client waiting for it, booking it for them through the ordinary
-- booking function (so every rule and lock of a booking holds) and holding it until a deadline.

-- ------------------------------------------------------------------ a time frees

-- A booked appointment that is cancelled, or moved (its old start, therapist or room), frees a
-- time that is still ahead: remembered for the next pass when anyone waits at that location.
CREATE OR REPLACE FUNCTION clinic_waitlist_note_freed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'booked' AND OLD.start_at > now()
       AND (NEW.status = 'cancelled'
            OR (NEW.status = 'booked' AND (NEW.start_at, NEW.therapist_id) IS DISTINCT FROM
                                          (OLD.start_at, OLD.therapist_id)))
       AND EXISTS (SELECT 1 FROM waitlist_entries e
                   WHERE e.location_id = OLD.location_id AND e.status = 'waiting') THEN
        INSERT INTO waitlist_freed (location_id, therapist_id, start_at)
        VALUES (OLD.location_id, OLD.therapist_id, OLD.start_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER appointments_waitlist_freed AFTER UPDATE OF status, start_at, therapist_id
    ON appointments FOR EACH ROW EXECUTE FUNCTION clinic_waitlist_note_freed();

-- ------------------------------------------------------------------ offering

-- The entries waiting for a session of p_therapist at p_location starting at p_start, first
-- come first served: the therapist performs the entry's service (and is the one it asks for, if
-- any), the local day and time of day are the entry's, and the entry was not offered this very
-- time before (it let it pass).
CREATE OR REPLACE FUNCTION clinic_waitlist_candidates(p_location bigint, p_therapist bigint,
                                                      p_start timestamptz)
RETURNS SETOF waitlist_entries
LANGUAGE sql STABLE AS $$
    SELECT e.*
    FROM waitlist_entries e
    JOIN locations l ON l.id = e.location_id,
    LATERAL (SELECT p_start AT TIME ZONE l.time_zone AS local_start) s
    WHERE e.location_id = p_location AND e.status = 'waiting'
      AND (e.therapist_id IS NULL OR e.therapist_id = p_therapist)
      AND EXISTS (SELECT 1 FROM therapist_services ts
                  WHERE ts.therapist_id = p_therapist AND ts.service_id = e.service_id)
      AND s.local_start::date BETWEEN e.first_day AND e.last_day
      AND s.local_start::time >= e.earliest AND s.local_start::time < e.latest
      AND NOT EXISTS (SELECT 1 FROM waitlist_offers o
                      WHERE o.entry_id = e.id AND o.therapist_id = p_therapist
                        AND o.start_at = p_start)
    ORDER BY e.created_at, e.id
$$;

-- Offers one freed time (the oldest not yet handled) to the first candidate the booking rules
-- let have it, and returns the new appointment's id; 0 when no one could take it (the time is
-- forgotten), -1 when a lock it needed was taken (the time is kept for the next pass), NULL when
-- no time was waiting. A candidate the rules refuse (the client is busy then, the service
-- needs a room that is not free, ...) is passed over. One time per call (one transaction): the
-- booking function's locks are taken once per transaction in the global order (30_locks.sql).
-- When another call holds a lock the booking needs (40001), the time stays for the next pass.
CREATE OR REPLACE FUNCTION clinic_waitlist_offer_one() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    f waitlist_freed;
    e waitlist_entries;
    v_appointment bigint;
    v_hold integer;
BEGIN
    SELECT * INTO f FROM waitlist_freed ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    FOR e IN SELECT * FROM clinic_waitlist_candidates(f.location_id, f.therapist_id, f.start_at) LOOP
        EXIT WHEN f.start_at <= now();
        BEGIN
            SELECT b.id INTO v_appointment
            FROM clinic_book_details(e.client_id, e.service_id, e.location_id, f.start_at,
                                     f.therapist_id, 'waitlist', NULL) AS b;
        EXCEPTION
            WHEN SQLSTATE 'CLRUL' OR SQLSTATE 'CLBSY' OR SQLSTATE 'CLINV' OR SQLSTATE 'CLNOF'
                 OR exclusion_violation THEN
                CONTINUE;  -- this client cannot have it; the next may
            WHEN SQLSTATE '40001' THEN
                RETURN -1;  -- a lock is taken: the time stays for the next pass
        END;
        SELECT l.waitlist_hold_minutes INTO v_hold FROM locations l WHERE l.id = e.location_id;
        UPDATE appointments
        SET held_until = least(f.start_at, now() + make_interval(mins => v_hold))
        WHERE id = v_appointment;
        INSERT INTO waitlist_offers (entry_id, appointment_id, therapist_id, start_at, held_until)
        SELECT e.id, v_appointment, f.therapist_id, f.start_at, a.held_until
        FROM appointments a WHERE a.id = v_appointment;
        UPDATE waitlist_entries SET status = 'offered' WHERE id = e.id;
        DELETE FROM waitlist_freed WHERE id = f.id;
        RETURN v_appointment;
    END LOOP;
    DELETE FROM waitlist_freed WHERE id = f.id;
    RETURN 0;
END
$$;

-- Ends the offers whose deadline passed (their appointments cancelled, which frees the time for
-- the next client waiting) and the entries whose last day is behind them. Returns how many
-- offers it ended.
CREATE OR REPLACE FUNCTION clinic_waitlist_expire() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    o waitlist_offers;
    n integer := 0;
BEGIN
    FOR o IN SELECT * FROM waitlist_offers
             WHERE outcome = 'pending' AND held_until <= now()
             ORDER BY held_until FOR UPDATE SKIP LOCKED LOOP
        UPDATE waitlist_offers SET outcome = 'expired', decided_at = now() WHERE id = o.id;
        UPDATE waitlist_entries SET status = 'waiting' WHERE id = o.entry_id AND status = 'offered';
        UPDATE appointments SET held_until = NULL WHERE id = o.appointment_id;
        PERFORM clinic_transition(o.appointment_id, 'cancelled',
                                  'the waitlist offer was not taken up in time');
        n := n + 1;
    END LOOP;
    UPDATE waitlist_entries e SET status = 'expired', closed_at = now()
    FROM locations l
    WHERE l.id = e.location_id AND e.status = 'waiting'
      AND e.last_day < (now() AT TIME ZONE l.time_zone)::date;
    RETURN n;
END
$$;

-- What the janitor runs: the offers whose time is up end first (their times become free), then
-- one freed time is offered; the janitor calls it again, each call its own transaction, while it
-- returns a time (bounded per pass). Runs for no caller: the role 'system' of the policies.
CREATE OR REPLACE FUNCTION clinic_waitlist_pass() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('clinic.role', 'system', true);
    PERFORM clinic_waitlist_expire();
    RETURN clinic_waitlist_offer_one();
END
$$;

-- ------------------------------------------------------------------ the client's answer

-- The pending offer of appointment p_appointment, locked; refuses (CLRUL, CLNOF) otherwise.
CREATE OR REPLACE FUNCTION clinic_waitlist_pending_offer(p_appointment bigint) RETURNS waitlist_offers
LANGUAGE plpgsql AS $$
DECLARE
    o waitlist_offers;
BEGIN
    SELECT * INTO o FROM waitlist_offers WHERE appointment_id = p_appointment FOR UPDATE;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM appointments WHERE id = p_appointment) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format(
                'appointment %s does not exist', p_appointment);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s is not a waitlist offer', p_appointment);
    END IF;
    IF o.outcome <> 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'the offer of appointment %s was %s already', p_appointment, o.outcome);
    END IF;
    IF o.held_until <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'the offer of appointment %s ran out at %s and has passed to the next client waiting',
            p_appointment, o.held_until);
    END IF;
    RETURN o;
END
$$;

-- Accepts the offer: the appointment becomes an ordinary booking; the entry is done.
CREATE OR REPLACE FUNCTION clinic_waitlist_accept(p_appointment bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o waitlist_offers := clinic_waitlist_pending_offer(p_appointment);
BEGIN
    UPDATE waitlist_offers SET outcome = 'accepted', decided_at = now() WHERE id = o.id;
    UPDATE waitlist_entries SET status = 'booked', closed_at = now(),
                                booked_appointment_id = p_appointment
    WHERE id = o.entry_id;
    UPDATE appointments SET held_until = NULL WHERE id = p_appointment;
    RETURN p_appointment;
END
$$;

-- Declines it: the appointment is cancelled (the time passes to the next client waiting) and
-- the entry waits for another time.
CREATE OR REPLACE FUNCTION clinic_waitlist_decline(p_appointment bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o waitlist_offers := clinic_waitlist_pending_offer(p_appointment);
BEGIN
    UPDATE waitlist_offers SET outcome = 'declined', decided_at = now() WHERE id = o.id;
    UPDATE waitlist_entries SET status = 'waiting' WHERE id = o.entry_id AND status = 'offered';
    UPDATE appointments SET held_until = NULL WHERE id = p_appointment;
    PERFORM clinic_transition(p_appointment, 'cancelled', 'the waitlist offer was declined');
    RETURN p_appointment;
END
$$;

-- An offer's appointment cancelled some other way (by the desk) ends the offer too.
CREATE OR REPLACE FUNCTION clinic_waitlist_offer_cancelled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'cancelled' AND OLD.held_until IS NOT NULL THEN
        UPDATE waitlist_offers SET outcome = 'cancelled', decided_at = now()
        WHERE appointment_id = NEW.id AND outcome = 'pending';
        UPDATE waitlist_entries e SET status = 'waiting'
        FROM waitlist_offers o
        WHERE o.appointment_id = NEW.id AND e.id = o.entry_id AND e.status = 'offered';
        NEW.held_until := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER appointments_waitlist_offer_cancelled BEFORE UPDATE OF status ON appointments
    FOR EACH ROW EXECUTE FUNCTION clinic_waitlist_offer_cancelled();

-- ------------------------------------------------------------------ the queue

-- Adds p_client to the waitlist and returns the entry's id; the service, location and
-- therapist must exist and be bookable, the days ahead.
CREATE OR REPLACE FUNCTION clinic_waitlist_add(p_client bigint, p_service bigint, p_location bigint,
                                               p_therapist bigint, p_first date, p_last date,
                                               p_earliest time, p_latest time, p_by text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_today date;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM clients WHERE id = p_client AND NOT archived) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
    END IF;
    SELECT (now() AT TIME ZONE l.time_zone)::date INTO v_today
    FROM locations l WHERE l.id = p_location AND NOT l.archived;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('location %s does not exist', p_location);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM services WHERE id = p_service AND active) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format(
            'service %s does not exist or is not offered', p_service);
    END IF;
    IF p_therapist IS NOT NULL AND NOT EXISTS (SELECT 1 FROM therapist_services ts
                                               WHERE ts.therapist_id = p_therapist
                                                 AND ts.service_id = p_service) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'therapist %s does not perform service %s', p_therapist, p_service);
    END IF;
    IF p_last < v_today THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'last_day', MESSAGE = format(
            'is in the past (%s); give a day from today (%s) on', p_last, v_today);
    END IF;
    INSERT INTO waitlist_entries (client_id, service_id, location_id, therapist_id, first_day,
                                  last_day, earliest, latest, created_by)
    VALUES (p_client, p_service, p_location, p_therapist, greatest(p_first, v_today), p_last,
            p_earliest, p_latest, coalesce(p_by, ''))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- Takes entry p_entry off the waitlist (an offer pending for it is declined).
CREATE OR REPLACE FUNCTION clinic_waitlist_remove(p_entry bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    e waitlist_entries;
    v_offer bigint;
BEGIN
    SELECT * INTO e FROM waitlist_entries WHERE id = p_entry FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format(
            'waitlist entry %s does not exist', p_entry);
    END IF;
    IF e.status NOT IN ('waiting', 'offered') THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'waitlist entry %s is %s already', p_entry, e.status);
    END IF;
    SELECT o.appointment_id INTO v_offer FROM waitlist_offers o
    WHERE o.entry_id = p_entry AND o.outcome = 'pending';
    IF v_offer IS NOT NULL THEN
        PERFORM clinic_waitlist_decline(v_offer);
    END IF;
    UPDATE waitlist_entries SET status = 'removed', closed_at = now() WHERE id = p_entry;
    RETURN p_entry;
END
$$;

-- Entries as the Waitlist service shows them: names, days, the pending offer.
CREATE OR REPLACE VIEW waitlist_details WITH (security_invoker = true) AS
SELECT e.id, e.client_id, c.name AS client_name, e.service_id, s.name AS service_name,
       e.location_id, coalesce(e.therapist_id, 0) AS therapist_id,
       coalesce(t.name, '') AS therapist_name, e.first_day::text AS first_day,
       e.last_day::text AS last_day, to_char(e.earliest, 'HH24:MI') AS earliest,
       CASE WHEN e.latest = '24:00' THEN '24:00' ELSE to_char(e.latest, 'HH24:MI') END AS latest,
       e.status, clinic_format_instant(e.created_at, l.time_zone) AS created_at,
       coalesce(o.appointment_id, 0) AS offered_appointment_id,
       coalesce(clinic_format_instant(o.held_until, l.time_zone), '') AS held_until,
       coalesce(clinic_format_instant(o.start_at, l.time_zone), '') AS offered_start,
       coalesce(e.booked_appointment_id, 0) AS booked_appointment_id, e.created_at AS created_instant
FROM waitlist_entries e
JOIN clients c ON c.id = e.client_id
JOIN services s ON s.id = e.service_id
JOIN locations l ON l.id = e.location_id
LEFT JOIN therapists t ON t.id = e.therapist_id
LEFT JOIN waitlist_offers o ON o.entry_id = e.id AND o.outcome = 'pending';

GRANT SELECT ON waitlist_details TO clinic_app;

-- The hold of appointment p_id in zone p_zone as the API shows instants ('' when not held).
CREATE OR REPLACE FUNCTION clinic_held_until(p_id bigint, p_zone text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT clinic_format_instant(a.held_until, p_zone) FROM appointments a
                     WHERE a.id = p_id), '')
$$;
