-- pgTAP: recording a session that already happened (clinic_record_session, 50_booking.sql):
-- written completed with its reason, whatever the working hours; refused when not over, older
-- than 31 days, not the therapist's service, or when the therapist, the client or every room
-- was taken. Times are computed from now (the rule is about now), in whole hours back.
BEGIN;
SELECT plan(16);

SELECT has_column('appointments', 'recorded_reason');
SELECT col_is_null('appointments', 'recorded_reason');

-- a clinic with no working hours at all: recording does not need them
INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (981, 'Record test', 'UTC');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (981, 981, 'R1');
INSERT INTO services (id, name, duration_minutes, buffer_after_minutes) OVERRIDING SYSTEM VALUE
    VALUES (981, 'Back care', 60, 15), (982, 'Hot stones', 60, 0);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE
    VALUES (981, 'T1', 'rec1@x.org'), (982, 'T2', 'rec2@x.org');
INSERT INTO therapist_services VALUES (981, 981), (982, 981);
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (981, 'C1'), (982, 'C2'), (983, 'C3');
-- They consented to treatment long ago (sql/functions/82_care.sql): signing needs it.
INSERT INTO client_consents (client_id, kind, how, given_at)
SELECT id, 'general', 'signed form', now() - interval '20 years' FROM clients WHERE id IN (981, 982, 983);

SELECT date_trunc('hour', now()) - interval '5 hours' AS t5,
       date_trunc('hour', now()) - interval '4 hours 30 minutes' AS t45 \gset

SELECT clinic_record_session(981, 981, 981, :'t5', 981, '  walk-in  ', 'user:1') AS rec \gset
SELECT results_eq($$SELECT status::text, recorded_reason, therapist_id, room_id FROM appointments WHERE id = $$ || :rec,
                  $$VALUES ('completed', 'walk-in', 981::bigint, 981::bigint)$$,
                  'recorded as completed, the reason trimmed, outside any working hours');
SELECT is((SELECT recorded_reason FROM appointment_details WHERE id = :rec), 'walk-in', 'the view shows the reason');
SELECT is((SELECT topic FROM events WHERE appointment_id = :rec), 'appointment.recorded', 'watchers are told');

SELECT throws_ok($$SELECT clinic_record_session(982, 981, 981, date_trunc('hour', now()) + interval '1 hour', 982, 'x', '')$$,
                 'CLRUL', NULL, 'a session still to come is booked, not recorded');
SELECT throws_ok($$SELECT clinic_record_session(982, 981, 981, now() - interval '10 minutes', 982, 'x', '')$$,
                 'CLRUL', NULL, 'nor one not over yet');
SELECT throws_ok($$SELECT clinic_record_session(982, 981, 981, now() - interval '32 days', 982, 'x', '')$$,
                 'CLRUL', NULL, 'at most 31 days back');
SELECT throws_ok($$SELECT clinic_record_session(982, 982, 981, now() - interval '10 hours', 982, 'x', '')$$,
                 'CLRUL', 'therapist 982 does not perform "Hot stones"', 'the therapist performs the service');
SELECT throws_ok(format($$SELECT clinic_record_session(982, 981, 981, %L, 981, 'x', '')$$, :'t45'),
                 'CLRUL', NULL, 'the therapist was with another client (buffers included)');
SELECT throws_ok(format($$SELECT clinic_record_session(981, 981, 981, %L, 982, 'x', '')$$, :'t45'),
                 'CLRUL', NULL, 'the client was in another session');
SELECT throws_ok(format($$SELECT clinic_record_session(983, 981, 981, %L, 982, 'x', '')$$, :'t45'),
                 'CLRUL', NULL, 'the only room was in use');
SELECT throws_ok($$SELECT clinic_record_session(982, 981, 981, now() - interval '20 hours', 982, '   ', '')$$,
                 'CLINV', NULL, 'a reason is required');
SELECT throws_ok($$SELECT clinic_record_session(982, 987654, 981, now() - interval '20 hours', 982, 'x', '')$$,
                 'CLNOF', 'service 987654 does not exist', 'an unknown service is named');
SELECT throws_ok($$SELECT clinic_record_session(982, 981, 981, now() - interval '20 hours', 987654, 'x', '')$$,
                 'CLNOF', 'therapist 987654 does not exist', 'an unknown therapist is named');
SELECT throws_ok($$UPDATE appointments SET recorded_reason = ' ' WHERE id = $$ || :rec,
                 '23514', NULL, 'a recorded reason is never blank');

SELECT * FROM finish();
ROLLBACK;
