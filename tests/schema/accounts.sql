-- pgTAP: what the accounts schema guarantees by itself: one role per user with the right link,
-- emails unique whatever their case, only Argon2id strings as password hashes, tokens as 32-byte
-- hashes, clinic_app unable to delete users or tokens, idempotency keys per user, erasure that
-- redacts and keeps, and clinic_note_parties revealing ids only.
-- The dates are fixed and past on purpose: what the schema guarantees does not depend on today.
BEGIN;
SELECT plan(29);

SELECT has_table('users');
SELECT has_table('auth_tokens');
SELECT enum_has_labels('user_role', ARRAY['admin', 'front_desk', 'therapist', 'client']);

INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (971, 'Acc test', 'Europe/Berlin');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (971, 971, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (971, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (971, 'T1', 'acc-t1@x.org');
INSERT INTO clients (id, name, email, phone) OVERRIDING SYSTEM VALUE
    VALUES (971, 'C1', 'c1@acc.test', '+49 30 555'), (972, 'C2', NULL, NULL);

PREPARE add_user(text, user_role, bigint, bigint, text) AS
    INSERT INTO users (email, role, therapist_id, client_id, password_hash) VALUES ($1, $2, $3, $4, $5);
SELECT lives_ok($$EXECUTE add_user('boss@acc.test', 'admin', NULL, NULL, '$argon2id$v=19$m=65536,t=2,p=1$x$y')$$,
                'an admin links to nobody');
SELECT lives_ok($$EXECUTE add_user('t1@acc.test', 'therapist', 971, NULL, '$argon2id$v=19$x')$$,
                'a therapist user links to their therapist');
SELECT lives_ok($$EXECUTE add_user('c1@acc.test', 'client', NULL, 971, '$argon2id$v=19$x')$$,
                'a client user links to their client');
SELECT throws_ok($$EXECUTE add_user('BOSS@acc.test', 'front_desk', NULL, NULL, '$argon2id$v=19$x')$$,
                 '23505', NULL, 'emails are unique whatever their case');
SELECT throws_ok($$EXECUTE add_user('t2@acc.test', 'therapist', NULL, NULL, '$argon2id$v=19$x')$$,
                 '23514', NULL, 'a therapist user without a therapist is refused');
SELECT throws_ok($$EXECUTE add_user('d@acc.test', 'front_desk', NULL, 971, '$argon2id$v=19$x')$$,
                 '23514', NULL, 'a front desk user linked to a client is refused');
SELECT throws_ok($$EXECUTE add_user('c1b@acc.test', 'client', NULL, 971, '$argon2id$v=19$x')$$,
                 '23505', NULL, 'one login per client');
SELECT throws_ok($$EXECUTE add_user('plain@acc.test', 'admin', NULL, NULL, 'hunter2')$$,
                 '23514', NULL, 'a password in clear (not an Argon2id string) is refused');

SELECT throws_ok($$INSERT INTO auth_tokens (lookup, sha256, user_id, expires_at)
                   SELECT 1, '\x0102', id, now() FROM users WHERE email = 'boss@acc.test'$$,
                 '23514', NULL, 'a token is kept as a 32-byte hash');
INSERT INTO auth_tokens (lookup, sha256, user_id, expires_at)
    SELECT 971, sha256('\x01'), id, now() + interval '1 hour' FROM users WHERE email = 'c1@acc.test';

-- the daemon's role keeps users and tokens: it deactivates and revokes, never deletes
SELECT ok(NOT has_table_privilege('clinic_app', 'users', 'DELETE'), 'clinic_app cannot delete users');
SELECT ok(NOT has_table_privilege('clinic_app', 'auth_tokens', 'DELETE'), 'clinic_app cannot delete tokens');
SELECT ok(has_table_privilege('clinic_app', 'auth_tokens', 'UPDATE'), 'clinic_app can revoke tokens');

-- a change of what a user may do revokes their tokens, whatever statement makes it
INSERT INTO users (email, role, password_hash) VALUES ('desk@acc.test', 'front_desk', '$argon2id$v=19$x');
INSERT INTO auth_tokens (lookup, sha256, user_id, expires_at)
    SELECT 972, sha256('\x02'), id, now() + interval '1 hour' FROM users WHERE email = 'desk@acc.test';
UPDATE users SET name = 'Desk Renamed', active = true WHERE email = 'desk@acc.test';
SELECT is((SELECT count(*)::int FROM auth_tokens WHERE lookup = 972 AND revoked_at IS NULL), 1,
          'a new name (and active set to what it was) keeps the token');
UPDATE users SET active = false WHERE email = 'desk@acc.test';
UPDATE users SET active = true WHERE email = 'desk@acc.test';
SELECT is((SELECT count(*)::int FROM auth_tokens WHERE lookup = 972 AND revoked_at IS NULL), 0,
          'deactivation revokes the token, and re-activation does not revive it');
INSERT INTO auth_tokens (lookup, sha256, user_id, expires_at)
    SELECT 973, sha256('\x03'), id, now() + interval '1 hour' FROM users WHERE email = 'desk@acc.test';
UPDATE users SET role = 'admin' WHERE email = 'desk@acc.test';
SELECT is((SELECT count(*)::int FROM auth_tokens WHERE lookup = 973 AND revoked_at IS NULL), 0,
          'a new role revokes the token');

-- idempotency keys are per user
SELECT lives_ok($$INSERT INTO idempotency_keys (user_id, key, method, request_sha256, response)
                  VALUES (1, 'k', 'm', '\x00', convert_to('reply for c1@acc.test', 'UTF8')),
                         (2, 'k', 'm', '\x00', convert_to('another reply', 'UTF8'))$$,
                'two users may use the same key');

INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked)
    OVERRIDING SYSTEM VALUE
    VALUES (971, 971, 971, 971, 971, 971, '2019-03-04 09:00+01', '2019-03-04 10:00+01',
            tstzrange('2019-03-04 09:00+01', '2019-03-04 10:00+01'));
INSERT INTO treatment_notes (appointment_id, author_therapist_id) VALUES (971, 971);

-- what the authorisation check reads behind row-level security: two ids, nothing else
SELECT is((SELECT prosecdef FROM pg_proc WHERE proname = 'clinic_note_parties'), true,
          'clinic_note_parties runs with its owner''s rights');
SELECT is((SELECT row(client_id, therapist_id)::text FROM clinic_note_parties(
               (SELECT id FROM treatment_notes WHERE appointment_id = 971))), '(971,971)',
          'clinic_note_parties names the note''s client and author');

-- erasure: contact details and replies quoting them go, the record and other replies stay
SELECT is((SELECT row(email, phone, archived)::text FROM clinic_erase_client(971)), '(,,t)',
          'erasure returns the redacted client');
SELECT is((SELECT erased_at IS NOT NULL FROM clients WHERE id = 971), true, 'the erasure is dated');
SELECT is((SELECT count(*)::int FROM idempotency_keys WHERE key = 'k'), 1,
          'a stored reply quoting the email is deleted, the other kept');
SELECT is((SELECT count(*)::int FROM appointments WHERE client_id = 971), 1, 'appointments are kept');
SELECT is((SELECT count(*)::int FROM treatment_notes WHERE appointment_id = 971), 1, 'notes are kept');
SELECT is((SELECT row(active, email LIKE 'erased-user-%@erased.invalid')::text FROM users WHERE client_id = 971),
          '(f,t)', 'the client''s login is deactivated and its email replaced');
SELECT is((SELECT count(*)::int FROM auth_tokens t JOIN users u ON u.id = t.user_id
           WHERE u.client_id = 971 AND t.revoked_at IS NULL), 0, 'their tokens are revoked');
SELECT throws_ok('SELECT clinic_erase_client(979)', 'CLNOF', 'client 979 does not exist',
                 'erasing nobody is NOT_FOUND');

SELECT * FROM finish();
ROLLBACK;
