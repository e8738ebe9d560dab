-- pgTAP: calendar feeds' part of the schema: one feed per owner, only a 32-byte digest kept,
-- exactly one owner; every change of an appointment counts up its revision (the feed's
-- SEQUENCE); clients' initials (clinic_initials, 75_calendar.sql); erasure ends a client's feed.
BEGIN;
SELECT plan(15);

SELECT has_table('calendar_feeds');
SELECT col_not_null('appointments', 'revision');
SELECT is((SELECT count(*) FROM calendar_identity), 1::bigint, 'one identity for every UID');
SELECT matches((SELECT uid_domain FROM calendar_identity), '^[0-9a-f]{32}$', 'a random hex UID domain');

INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (991, 'Feed test', 'UTC');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (991, 991, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (991, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (991, 'T1', 'feed1@x.org');
INSERT INTO clients (id, name, email) OVERRIDING SYSTEM VALUE VALUES (991, 'Jane Quinn Smith', 'j@x.org');
INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at,
                          end_at, blocked) OVERRIDING SYSTEM VALUE
VALUES (991, 991, 991, 991, 991, 991, now() + interval '1 day', now() + interval '1 day 1 hour',
        tstzrange(now() + interval '1 day', now() + interval '1 day 1 hour'));

SELECT is((SELECT revision FROM appointments WHERE id = 991), 0, 'a new appointment is revision 0');
UPDATE appointments SET start_at = start_at + interval '1 hour', end_at = end_at + interval '1 hour',
                        blocked = tstzrange(lower(blocked) + interval '1 hour', upper(blocked) + interval '1 hour')
WHERE id = 991;
UPDATE appointments SET status = 'cancelled' WHERE id = 991;
SELECT is((SELECT revision FROM appointments WHERE id = 991), 2, 'each change counts up');

SELECT is(clinic_initials('jane quinn smith'), 'J. S.', 'first and last word, as capitals');
SELECT is(clinic_initials('  Élise  '), 'É.', 'one word, trimmed; its first letter whole, not its first byte');
SELECT is(clinic_initials(' '), '?', 'no word at all');

INSERT INTO calendar_feeds (client_id, sha256) VALUES (991, sha256('k'::bytea));
SELECT throws_ok($$INSERT INTO calendar_feeds (client_id, sha256) VALUES (991, sha256('l'::bytea))$$,
                 '23505', NULL, 'one feed per client');
SELECT throws_ok($$INSERT INTO calendar_feeds (therapist_id, sha256) VALUES (991, 'short'::bytea)$$,
                 '23514', NULL, 'only a 32-byte digest');
SELECT throws_ok($$INSERT INTO calendar_feeds (client_id, therapist_id, sha256) VALUES (991, 991, sha256('m'::bytea))$$,
                 '23514', NULL, 'one owner, not two');
SELECT throws_ok($$INSERT INTO calendar_feeds (sha256) VALUES (sha256('n'::bytea))$$,
                 '23514', NULL, 'one owner, not none');


SELECT lives_ok($$SELECT clinic_erase_client(991)$$, 'the client is erased');
SELECT is((SELECT count(*) FROM calendar_feeds WHERE client_id = 991), 0::bigint, 'and their feed with them');
SELECT * FROM finish();
ROLLBACK;
