-- pgTAP: the outbox trigger (sql/functions/77_outbox.sql): a booking queues its confirmation and
-- reminder per channel the client can be reached on, the reminder due reminder_lead before the
-- start; a move withdraws the old reminder and queues a confirmation and a new one; a
-- cancellation withdraws the reminder and queues its confirmation; no email row without an
-- address; nothing for a client who opted out, and opting out withdraws what was queued.
BEGIN;
SELECT plan(21);

SELECT has_table('outbox');
SELECT col_default_is('locations', 'reminder_lead', '24:00:00', 'a day ahead by default');

INSERT INTO locations (id, name, time_zone, reminder_lead) OVERRIDING SYSTEM VALUE
VALUES (981, 'Outbox test', 'Europe/Paris', interval '48 hours');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (981, 981, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (981, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (981, 'T1', 'outbox1@x.org'),
                                                                        (982, 'T2', 'outbox2@x.org');
INSERT INTO clients (id, name, email, phone) OVERRIDING SYSTEM VALUE
VALUES (981, 'Both', 'both@x.org', '+33 1 23 45 67 89'), (982, 'Phone only', NULL, '+33 6 00 00 00 00'),
       (983, 'Opted out', 'out@x.org', NULL);
UPDATE clients SET messages_opt_out = true WHERE id = 983;

CREATE FUNCTION pg_temp.book(p_id bigint, p_client bigint, p_start timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id,
                              start_at, end_at, blocked) OVERRIDING SYSTEM VALUE
    VALUES (p_id, p_client, 981, 981, 981, 981, p_start, p_start + interval '1 hour',
            tstzrange(p_start, p_start + interval '1 hour'))
$$;
SELECT pg_temp.book(981, 981, date_trunc('hour', now()) + interval '10 days');

SELECT results_eq(
    $$SELECT kind, channel, status FROM outbox WHERE appointment_id = 981 ORDER BY kind, channel$$,
    $$VALUES ('booked', 'email', 'pending'), ('booked', 'webhook', 'pending'),
             ('reminder', 'email', 'pending'), ('reminder', 'webhook', 'pending')$$,
    'a booking queues a confirmation and a reminder by email and webhook');
SELECT is((SELECT due_at FROM outbox WHERE appointment_id = 981 AND kind = 'reminder' AND channel = 'email'),
          date_trunc('hour', now()) + interval '8 days', 'the reminder is due reminder_lead before the start');
SELECT ok((SELECT bool_and(due_at <= now()) FROM outbox WHERE appointment_id = 981 AND kind = 'booked'),
          'the confirmation is due at once');

UPDATE appointments SET start_at = start_at + interval '1 day', end_at = end_at + interval '1 day',
                        blocked = tstzrange(lower(blocked) + interval '1 day', upper(blocked) + interval '1 day')
WHERE id = 981;
SELECT results_eq(
    $$SELECT status, count(*) FROM outbox WHERE appointment_id = 981 AND kind = 'reminder' GROUP BY status ORDER BY status$$,
    $$VALUES ('pending', 2::bigint), ('withdrawn', 2::bigint)$$,
    'a move withdraws the old reminders and queues new ones');
SELECT is((SELECT due_at FROM outbox WHERE appointment_id = 981 AND kind = 'reminder' AND status = 'pending' AND channel = 'email'),
          date_trunc('hour', now()) + interval '9 days', 'the new reminder follows the new start');
SELECT is((SELECT count(*) FROM outbox WHERE appointment_id = 981 AND kind = 'rescheduled'), 2::bigint,
          'a move queues its confirmation on both channels');

UPDATE appointments SET room_id = 981 WHERE id = 981;
UPDATE appointments SET therapist_id = 982 WHERE id = 981;
SELECT is((SELECT count(*) FROM outbox WHERE appointment_id = 981 AND kind = 'rescheduled'), 4::bigint,
          'another therapist is a move too; the same room again is nothing');

UPDATE appointments SET status = 'cancelled' WHERE id = 981;
SELECT is((SELECT count(*) FROM outbox WHERE appointment_id = 981 AND kind = 'reminder' AND status = 'pending'),
          0::bigint, 'a cancellation withdraws every pending reminder');
SELECT is((SELECT last_error FROM outbox WHERE appointment_id = 981 AND kind = 'reminder' ORDER BY id DESC LIMIT 1),
          'the appointment is cancelled', 'and says why');
SELECT results_eq(
    $$SELECT channel FROM outbox WHERE appointment_id = 981 AND kind = 'cancelled' ORDER BY channel$$,
    $$VALUES ('email'), ('webhook')$$, 'a cancellation queues its confirmation');

SELECT pg_temp.book(982, 982, date_trunc('hour', now()) + interval '5 days');
SELECT results_eq($$SELECT DISTINCT channel FROM outbox WHERE appointment_id = 982$$, $$VALUES ('webhook')$$,
                  'no email row for a client without an address; the webhook still goes');

SELECT pg_temp.book(983, 983, date_trunc('hour', now()) + interval '6 days');
SELECT is((SELECT count(*) FROM outbox WHERE appointment_id = 983), 0::bigint, 'nothing for a client who opted out');

SELECT pg_temp.book(984, 982, date_trunc('hour', now()) + interval '1 hour');
SELECT ok((SELECT due_at <= now() FROM outbox WHERE appointment_id = 984 AND kind = 'reminder'),
          'booked within the lead: the reminder is due at once');

UPDATE clients SET messages_opt_out = true WHERE id = 982;
SELECT is((SELECT count(*) FROM outbox WHERE client_id = 982 AND status = 'pending'), 0::bigint,
          'opting out withdraws what was queued');

SELECT is((SELECT count(*) FROM clinic_outbox_claim(ARRAY['email']) WHERE appointment_id = 981), 1::bigint,
          'a mailer claims a due message');

-- A waitlist offer (sql/functions/88_waitlist.sql): booked by 'waitlist' and held for the client.
UPDATE clients SET messages_opt_out = false WHERE id = 982;
UPDATE clients SET email = 'phone.only@x.org' WHERE id = 982;
INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at,
                          end_at, blocked, booked_by) OVERRIDING SYSTEM VALUE
SELECT id, 982, 981, 981, 981, 981, s, s + interval '1 hour', tstzrange(s, s + interval '1 hour'), 'waitlist'
FROM (VALUES (985, date_trunc('hour', now()) + interval '20 days'),
             (986, date_trunc('hour', now()) + interval '21 days')) AS v (id, s);
UPDATE appointments SET held_until = now() + interval '2 hours' WHERE id IN (985, 986);
SELECT results_eq($$SELECT kind, channel, count(*) FROM outbox WHERE appointment_id IN (985, 986)
                    GROUP BY kind, channel ORDER BY channel$$,
                  $$VALUES ('offered', 'email', 2::bigint), ('offered', 'webhook', 2::bigint)$$,
                  'a waitlist offer is told as an offer, not confirmed as a booking, and gets no reminder');
INSERT INTO waitlist_entries (id, client_id, service_id, location_id, first_day, last_day) OVERRIDING SYSTEM VALUE
VALUES (981, 982, 981, 981, current_date, current_date + 30);
INSERT INTO waitlist_offers (entry_id, appointment_id, therapist_id, start_at, held_until, outcome)
SELECT 981, id, 981, start_at, held_until, o FROM appointments,
       (VALUES (985, 'accepted'), (986, 'declined')) AS v (a, o) WHERE id = a;
UPDATE appointments SET held_until = NULL WHERE id IN (985, 986);
SELECT results_eq($$SELECT kind, channel FROM outbox WHERE appointment_id = 985 AND kind <> 'offered'
                    ORDER BY kind, channel$$,
                  $$VALUES ('booked', 'email'), ('booked', 'webhook'), ('reminder', 'email'), ('reminder', 'webhook')$$,
                  'an accepted offer is confirmed, with its reminder');
SELECT is((SELECT count(*) FROM outbox WHERE appointment_id = 986 AND kind <> 'offered'), 0::bigint,
          'a declined one is not');
UPDATE appointments SET status = 'cancelled' WHERE id = 986;
SELECT is((SELECT count(*) FROM outbox WHERE appointment_id = 986 AND kind <> 'offered'), 0::bigint,
          'nor is its cancellation announced: it was never the client''s booking');
SELECT * FROM finish();
ROLLBACK;
