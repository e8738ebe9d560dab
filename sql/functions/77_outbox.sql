-- 77_outbox.sql: messages to clients queued in the transaction that changes an appointment
-- (confirmations of a booking, a move or a cancellation, and a reminder before it), withdrawn
-- there when they no longer hold, and claimed by the daemons' mailers (daemon/mailer.c).

-- Queues the messages of one change of appointment a: p_kind ('booked', 'rescheduled',
-- 'cancelled' or 'offered': a waitlist offer held for the client) at once, and for a booked or
-- moved appointment its reminder, due the location's reminder_lead before the start (at once when that is past). One row per channel the client can
-- be reached on: email when they have an address, the webhook (for SMS) when they have a phone
-- number. Nothing for a client who opted out.
CREATE OR REPLACE FUNCTION clinic_outbox_queue(a appointments, p_kind text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c clients;
    lead interval;
BEGIN
    SELECT * INTO c FROM clients WHERE id = a.client_id;
    IF NOT FOUND OR c.messages_opt_out THEN
        RETURN;
    END IF;
    SELECT reminder_lead INTO lead FROM locations WHERE id = a.location_id;
    INSERT INTO outbox (appointment_id, kind, channel, client_id, location_id, service_id,
                        therapist_id, start_at, end_at, due_at)
    SELECT a.id, k.kind, ch.channel, a.client_id, a.location_id, a.service_id, a.therapist_id,
           a.start_at, a.end_at,
           CASE WHEN k.kind = 'reminder' THEN greatest(now(), a.start_at - lead) ELSE now() END
    FROM (VALUES (p_kind), ('reminder')) AS k (kind),
         (VALUES ('email', c.email IS NOT NULL), ('webhook', c.phone IS NOT NULL)) AS ch (channel, reachable)
    WHERE ch.reachable
      AND (k.kind <> 'reminder' OR p_kind IN ('booked', 'rescheduled'));
END
$$;

-- Withdraws the pending reminders of appointment p_id. A reminder a mailer is sending at this
-- moment (its row locked) is skipped, not waited for: it is on its way already, and a booking or
-- cancellation must never wait on a mail server. The mailer checks the appointment again when it
-- claims a reminder, so one whose send fails is withdrawn then.
CREATE OR REPLACE FUNCTION clinic_outbox_withdraw_reminders(p_id bigint, p_why text) RETURNS void
LANGUAGE sql AS $$
    UPDATE outbox SET status = 'withdrawn', last_error = p_why, finished_at = now()
    WHERE id IN (SELECT id FROM outbox WHERE appointment_id = p_id AND kind = 'reminder'
                 AND status = 'pending' FOR UPDATE SKIP LOCKED)
$$;

-- A course booked in one call is confirmed by one message: the sessions' own confirmations,
-- queued by the trigger as each was inserted, are withdrawn in the same transaction (never sent,
-- kept as history), and one 'course_booked' per channel is queued on the first session; the
-- mailer lists every session of the course still to come (clinic_outbox_claim). Each session
-- keeps its own reminder.
CREATE OR REPLACE FUNCTION clinic_outbox_course_booked(p_course bigint) RETURNS void
LANGUAGE sql AS $$
    WITH told AS (
        UPDATE outbox o SET status = 'withdrawn', finished_at = now(),
                            last_error = 'confirmed with its course in one message'
        FROM appointments a
        WHERE a.course_id = p_course AND o.appointment_id = a.id AND o.kind = 'booked'
          AND o.status = 'pending'
        RETURNING o.*)
    INSERT INTO outbox (appointment_id, kind, channel, client_id, location_id, service_id,
                        therapist_id, start_at, end_at, due_at)
    SELECT DISTINCT ON (t.channel) t.appointment_id, 'course_booked', t.channel, t.client_id,
           t.location_id, t.service_id, t.therapist_id, t.start_at, t.end_at, now()
    FROM told t
    ORDER BY t.channel, t.start_at
$$;

-- The sessions of appointment p_id's course still to come, in time order, as a JSON array of
-- {"start": RFC 3339 in the zone, "weekday": ISO}; NULL for an appointment of no course.
CREATE OR REPLACE FUNCTION clinic_outbox_course_sessions(p_id bigint, p_tz text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_agg(json_build_object('start', clinic_format_instant(s.start_at, p_tz),
                                      'weekday', extract(isodow FROM s.start_at AT TIME ZONE p_tz)::integer)
                    ORDER BY s.start_at)
    FROM appointments a JOIN appointments s ON s.course_id = a.course_id
    WHERE a.id = p_id AND s.status = 'booked' AND s.start_at > now()
$$;

-- True when appointment p_id is a waitlist offer (sql/functions/88_waitlist.sql) that its client
-- has not accepted: pending, declined, run out or cancelled. Such an appointment was never the
-- client's booking, so it is neither confirmed nor its cancellation announced.
CREATE OR REPLACE FUNCTION clinic_outbox_unaccepted_offer(p_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM waitlist_offers WHERE appointment_id = p_id AND outcome <> 'accepted')
$$;

-- The outbox side of an appointment change, in the changing transaction: a booking queues its
-- confirmation and reminder; a cancellation withdraws the reminder and queues its confirmation;
-- a move (another start or therapist) withdraws the old reminder and queues a confirmation and a
-- new reminder; a check-in, completion or no-show withdraws the reminder. A waitlist offer (booked
-- by 'waitlist', held for the client) is told when the hold begins, confirmed when the client
-- accepts it (its hold ends with the offer accepted), and its end is not announced when they do
-- not. A session recorded after
-- the fact, a change of room only, and anything in the past send nothing.
CREATE OR REPLACE FUNCTION clinic_appointment_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.recorded_reason IS NULL AND NEW.status = 'booked' AND NEW.start_at > now()
           AND NEW.booked_by <> 'waitlist' THEN
            PERFORM clinic_outbox_queue(NEW, 'booked');
        END IF;
    ELSIF OLD.held_until IS NULL AND NEW.held_until IS NOT NULL AND NEW.status = 'booked'
          AND NEW.start_at > now() THEN
        PERFORM clinic_outbox_queue(NEW, 'offered');  -- the waitlist pass holds it for them
    ELSIF OLD.held_until IS NOT NULL AND NEW.held_until IS NULL AND NEW.status = 'booked'
          AND OLD.status = 'booked' AND NEW.start_at > now()
          AND NOT clinic_outbox_unaccepted_offer(NEW.id) THEN
        PERFORM clinic_outbox_queue(NEW, 'booked');
    ELSIF NEW.status <> OLD.status THEN
        IF OLD.status = 'booked' THEN
            PERFORM clinic_outbox_withdraw_reminders(NEW.id, 'the appointment is ' || NEW.status::text);
        END IF;
        IF NEW.status = 'cancelled' AND NEW.start_at > now()
           AND NOT clinic_outbox_unaccepted_offer(NEW.id) THEN
            PERFORM clinic_outbox_queue(NEW, 'cancelled');
        END IF;
    ELSIF NEW.status = 'booked'
          AND (NEW.start_at <> OLD.start_at OR NEW.therapist_id <> OLD.therapist_id) THEN
        PERFORM clinic_outbox_withdraw_reminders(NEW.id, 'the appointment moved');
        IF NEW.start_at > now() THEN
            PERFORM clinic_outbox_queue(NEW, 'rescheduled');
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER appointments_outbox AFTER INSERT OR UPDATE ON appointments
    FOR EACH ROW EXECUTE FUNCTION clinic_appointment_outbox();

-- A client who opts out gets nothing more, not even what was queued before.
CREATE OR REPLACE FUNCTION clinic_client_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox SET status = 'withdrawn', last_error = 'the client opted out of messages',
                      finished_at = now()
    WHERE id IN (SELECT id FROM outbox WHERE client_id = NEW.id AND status = 'pending'
                 FOR UPDATE SKIP LOCKED);
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER clients_outbox AFTER UPDATE OF messages_opt_out ON clients
    FOR EACH ROW WHEN (NEW.messages_opt_out AND NOT OLD.messages_opt_out)
    EXECUTE FUNCTION clinic_client_outbox();

-- A mailer's claim: the first due pending message of the given channels that no other mailer
-- holds, locked for the caller's transaction (FOR UPDATE SKIP LOCKED: several daemons never take
-- one row twice; a mailer that dies mid-send releases it with its connection), with what its
-- text needs, read now: names, the recipient, and the start in the location's zone with its ISO
-- weekday, and until when cancelling is free ('' when it no longer is, or always is).
-- `deliverable` is false for a message that must not go any more: its client opted out or has
-- no address on its channel, or it is a reminder of an appointment no longer booked at that time
-- or already begun (a mailer that was down for a while), or an offer no longer held, or a
-- course's confirmation none of whose sessions is still to come. An offer's deadline comes as
-- held_until_local ('' for other kinds); a course's sessions as course_sessions (NULL for other
-- kinds), and its confirmation names no free-cancellation time (each session has its own).
CREATE OR REPLACE FUNCTION clinic_outbox_claim(p_channels text[])
RETURNS TABLE (id bigint, kind text, channel text, attempts integer, appointment_id bigint,
               recipient text, deliverable boolean, location_id bigint, location_name text,
               address text, language text, time_zone text, cancel_contact text,
               service_name text, therapist_name text, start_local text, start_weekday integer,
               cancel_until_local text, cancel_until_weekday integer, uid_domain text,
               held_until_local text, held_until_weekday integer, course_sessions json)
LANGUAGE sql AS $$
    SELECT o.id, o.kind, o.channel, o.attempts, o.appointment_id,
           CASE o.channel WHEN 'email' THEN c.email ELSE c.phone END,
           NOT c.messages_opt_out
               AND (CASE o.channel WHEN 'email' THEN c.email ELSE c.phone END) IS NOT NULL
               AND (o.kind <> 'reminder'
                    OR (a.status = 'booked' AND a.start_at = o.start_at AND a.start_at > now()))
               AND (o.kind <> 'offered'
                    OR (a.status = 'booked' AND a.held_until > now() AND a.start_at = o.start_at))
               AND (o.kind <> 'course_booked'
                    OR clinic_outbox_course_sessions(o.appointment_id, l.time_zone) IS NOT NULL),
           l.id, l.name, l.address, l.language, l.time_zone, l.cancel_contact, s.name, t.name,
           clinic_format_instant(o.start_at, l.time_zone),
           extract(isodow FROM o.start_at AT TIME ZONE l.time_zone)::integer,
           CASE WHEN l.cancellation_window_hours > 0 AND o.kind <> 'course_booked'
                     AND o.start_at - make_interval(hours => l.cancellation_window_hours) > now()
                THEN clinic_format_instant(o.start_at - make_interval(hours => l.cancellation_window_hours),
                                           l.time_zone) ELSE '' END,
           extract(isodow FROM (o.start_at - make_interval(hours => l.cancellation_window_hours))
                               AT TIME ZONE l.time_zone)::integer,
           (SELECT uid_domain FROM calendar_identity),
           coalesce(clinic_format_instant(a.held_until, l.time_zone), ''),
           coalesce(extract(isodow FROM a.held_until AT TIME ZONE l.time_zone)::integer, 0),
           CASE WHEN o.kind = 'course_booked'
                THEN clinic_outbox_course_sessions(o.appointment_id, l.time_zone) END
    FROM (SELECT * FROM outbox q
          WHERE q.status = 'pending' AND q.due_at <= now() AND q.channel = ANY (p_channels)
          ORDER BY q.due_at, q.id LIMIT 1 FOR UPDATE SKIP LOCKED) o
    JOIN appointments a ON a.id = o.appointment_id
    JOIN clients c ON c.id = o.client_id
    JOIN locations l ON l.id = o.location_id
    JOIN services s ON s.id = o.service_id
    JOIN therapists t ON t.id = o.therapist_id
$$;
