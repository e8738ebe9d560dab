-- pgTAP: what the clinical record guarantees by itself, whoever writes to it: signed notes never
-- change, amendments and audit rows are append-only, ODI is scored by the database, clinic_app
-- cannot rewrite the audit trail, row-level security shows each caller only their notes, and
-- the course of care flags clinically important change.
-- Runs as the migrating superuser, who owns the tables: the triggers must stop even the owner.
-- The dates are fixed and past on purpose: what the schema guarantees does not depend on today.
BEGIN;
SELECT plan(68);

SELECT has_table('treatment_notes');
SELECT has_table('note_amendments');
SELECT has_table('audit');
SELECT enum_has_labels('pressure', ARRAY['light', 'moderate', 'firm', 'deep']);
SELECT ok('lower_back'::body_region IS NOT NULL AND 'myofascial_release'::technique IS NOT NULL,
          'body regions and techniques are enumerations');
SELECT col_is_unique('treatment_notes', 'appointment_id');

-- a small clinic: T1 treats C1 (two sessions) and C2 (one, no note); T2 treats C2 and C3; T3 nobody
INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (951, 'Record test', 'Europe/Berlin');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (951, 951, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (951, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE
    VALUES (951, 'T1', 'rt1@x.org'), (952, 'T2', 'rt2@x.org'), (953, 'T3', 'rt3@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (951, 'C1'), (952, 'C2'), (953, 'C3');
-- They consented to treatment, gluteal work included, long ago (sql/functions/82_care.sql):
-- signing needs it.
INSERT INTO client_consents (client_id, kind, how, given_at)
SELECT id, k::consent_kind, 'signed form', now() - interval '20 years' FROM clients, unnest('{general,gluteal}'::text[]) AS k
WHERE id IN (951, 952, 953);

-- sessions that happened (completed): only those take a signed note
PREPARE book(bigint, bigint, bigint, timestamptz) AS
    INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked,
                              status)
    OVERRIDING SYSTEM VALUE
    VALUES ($1, $2, $3, 951, 951, 951, $4, $4 + interval '1 hour', tstzrange($4, $4 + interval '1 hour'), 'completed');
EXECUTE book(951, 951, 951, '2019-02-04 09:00+01');
EXECUTE book(952, 951, 951, '2019-02-05 09:00+01');
EXECUTE book(953, 952, 952, '2019-02-04 11:00+01');
EXECUTE book(954, 952, 951, '2019-02-06 11:00+01');
EXECUTE book(957, 952, 952, '2019-02-18 11:00+01');
-- C1's session with T1 that has not happened yet (booked)
INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked)
OVERRIDING SYSTEM VALUE VALUES (958, 951, 951, 951, 951, 951, '2019-02-19 09:00+01', '2019-02-19 10:00+01',
                                tstzrange('2019-02-19 09:00+01', '2019-02-19 10:00+01'));

-- ------------------------------------------------------------ drafts and signing
SELECT lives_ok($$INSERT INTO treatment_notes (id, appointment_id, author_therapist_id, subjective)
                  OVERRIDING SYSTEM VALUE VALUES (951, 951, 951, 'low back stiff after gardening')$$,
                'the appointment''s therapist starts a draft');
SELECT throws_ok($$INSERT INTO treatment_notes (appointment_id, author_therapist_id) VALUES (952, 952)$$,
                 'CLRUL', NULL, 'only the appointment''s therapist writes its note');
SELECT throws_ok($$INSERT INTO treatment_notes (appointment_id, author_therapist_id) VALUES (951, 951)$$,
                 '23505', NULL, 'one note per appointment');
SELECT lives_ok($$UPDATE treatment_notes SET pain_before = 6, subjective = 'lower back stiff, worse mornings'
                  WHERE id = 951$$, 'a draft can be edited');
SELECT is((SELECT subjective FROM treatment_notes WHERE id = 951), 'lower back stiff, worse mornings',
          'the edit is kept');
SELECT throws_ok($$UPDATE treatment_notes SET author_therapist_id = 952 WHERE id = 951$$, 'CLRUL', NULL,
                 'a draft cannot be handed to a therapist who did not give the session');
SELECT throws_ok($$UPDATE treatment_notes SET status = 'signed' WHERE id = 951$$, 'CLRUL',
                 'note 951 cannot be signed without pain after, an area treated, a technique',
                 'signing names every missing field');
SELECT throws_ok($$UPDATE treatment_notes SET signed_at = now() WHERE id = 951$$, 'CLINV', NULL,
                 'a draft has no signing time');
UPDATE treatment_notes SET pain_after = 3, areas = '{lower_back,glutes}', techniques = '{myofascial_release,trigger_point}',
       pressure = 'firm', plan = 'weekly for six weeks' WHERE id = 951;
SELECT throws_ok($$UPDATE treatment_notes SET status = 'signed', plan = 'changed while signing' WHERE id = 951$$,
                 'CLRUL', NULL, 'signing changes nothing but the status');
SELECT lives_ok($$UPDATE treatment_notes SET status = 'signed' WHERE id = 951$$,
                'a complete draft is signed (draft -> signed)');
SELECT isnt((SELECT signed_at FROM treatment_notes WHERE id = 951), NULL, 'signing records when');

-- ------------------------------------------------------------ a signed note needs a session that happened
SELECT throws_ok($$INSERT INTO treatment_notes (appointment_id, author_therapist_id, status, pain_before, pain_after,
                                                areas, techniques)
                   VALUES (958, 951, 'signed', 4, 2, '{neck}', '{swedish}')$$, 'CLRUL',
                 'appointment 958 is booked: check the client in or record the session before signing',
                 'a note is not signed on a booked appointment, even inserted signed by the owner');
INSERT INTO treatment_notes (id, appointment_id, author_therapist_id, pain_before, pain_after, areas, techniques)
OVERRIDING SYSTEM VALUE VALUES (958, 958, 951, 4, 2, '{neck}', '{swedish}');
SELECT throws_ok($$UPDATE treatment_notes SET status = 'signed' WHERE id = 958$$, 'CLRUL',
                 'appointment 958 is booked: check the client in or record the session before signing',
                 'a complete draft of a booked appointment is not signed');
UPDATE appointments SET status = 'cancelled' WHERE id = 958;
SELECT throws_ok($$UPDATE treatment_notes SET status = 'signed' WHERE id = 958$$, 'CLRUL',
                 'appointment 958 was cancelled: a session that did not happen has no signed note',
                 'nor of a cancelled one');
DELETE FROM treatment_notes WHERE id = 958;  -- a draft may go; the counts below do not include it
SELECT throws_ok($$UPDATE appointments SET status = 'booked' WHERE id = 951$$, 'CLRUL',
                 'appointment 951 cannot be undone: its note 951 is signed and cannot be detached from the session; amend the note instead',
                 'a session with a signed note is not undone');
SELECT throws_ok($$UPDATE appointments SET status = 'no_show' WHERE id = 951$$, 'CLRUL',
                 'appointment 951 cannot be marked as a no-show: its note 951 is signed and cannot be detached from the session; amend the note instead',
                 'nor marked a no-show');
SELECT lives_ok($$UPDATE appointments SET status = 'checked_in' WHERE id = 951$$,
                'checked in and completed both keep the note');
UPDATE appointments SET status = 'completed' WHERE id = 951;

-- ------------------------------------------------------------ a signed note never changes
SELECT throws_ok($$UPDATE treatment_notes SET plan = 'rewritten' WHERE id = 951$$, 'CLRUL',
                 'note 951 is signed and cannot change; add an amendment',
                 'a signed note refuses UPDATE, even from its owner');
SELECT throws_ok($$UPDATE treatment_notes SET status = 'draft', signed_at = NULL WHERE id = 951$$, 'CLRUL', NULL,
                 'a signed note cannot return to draft');
SELECT throws_ok($$DELETE FROM treatment_notes WHERE id = 951$$, 'CLRUL', NULL,
                 'a signed note refuses DELETE, even from its owner');
-- outcome measures (0024) may name a note, so the tables that refer to notes are truncated with them
SELECT throws_ok($$TRUNCATE treatment_notes, note_amendments, outcome_measures$$, 'CLRUL', NULL,
                 'notes cannot be truncated');
SELECT is((SELECT plan FROM treatment_notes WHERE id = 951), 'weekly for six weeks', 'the signed text is intact');

-- ------------------------------------------------------------ amendments
INSERT INTO treatment_notes (id, appointment_id, author_therapist_id) OVERRIDING SYSTEM VALUE VALUES (952, 952, 951);
SELECT throws_ok($$INSERT INTO note_amendments (note_id, author_therapist_id, reason, text)
                  VALUES (952, 951, 'typo', 'x')$$, 'CLRUL', NULL, 'a draft is edited, not amended');
SELECT lives_ok($$INSERT INTO note_amendments (id, note_id, author_therapist_id, reason, text)
                  OVERRIDING SYSTEM VALUE VALUES (951, 951, 951, 'wrong side', 'the right hip, not the left, was treated')$$,
                'a signed note takes an amendment');
SELECT throws_ok($$INSERT INTO note_amendments (note_id, author_therapist_id, reason, text)
                  VALUES (951, 951, '  ', 'x')$$, '23514', NULL, 'an amendment needs a reason');
SELECT throws_ok($$UPDATE note_amendments SET text = 'changed' WHERE id = 951$$, 'CLRUL', NULL,
                 'an amendment refuses UPDATE');
SELECT throws_ok($$DELETE FROM note_amendments WHERE id = 951$$, 'CLRUL', NULL, 'an amendment refuses DELETE');

-- ------------------------------------------------------------ Oswestry Disability Index
SELECT is(clinic_odi_score('{1,2,3,4,5,0,1,2,3,4}'), 50.0, 'ODI: all ten answered: 25 / 50 = 50 %');
UPDATE treatment_notes SET odi = '{2,3,NULL,1,4,2,NULL,3,2,2}' WHERE id = 952;
SELECT is((SELECT odi_score FROM treatment_notes WHERE id = 952), 47.5,
          'ODI: sections 3 and 7 unanswered: 19 / (5 x 8) = 47.5 %, stored with the note');
SELECT is(clinic_odi_score('{1,1,1,0,0,0,0,0,0,NULL}'), 6.7, 'ODI is rounded to one decimal (3 / 45)');
UPDATE treatment_notes SET odi = '{NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL}' WHERE id = 952;
SELECT is((SELECT odi_score FROM treatment_notes WHERE id = 952), NULL, 'ODI: none answered: no score');
SELECT throws_ok($$UPDATE treatment_notes SET odi = '{1,2,3,4,5,6,1,2,3,4}' WHERE id = 952$$, '23514', NULL,
                 'ODI: a section above 5 is refused');
SELECT throws_ok($$UPDATE treatment_notes SET odi = '{1,2,NULL,4,5,-1,1,2,3,4}' WHERE id = 952$$, '23514', NULL,
                 'ODI: a negative section is refused, unanswered ones notwithstanding');
SELECT throws_ok($$UPDATE treatment_notes SET odi = '{1,2,3,4,5,0,1,2,3}' WHERE id = 952$$, '23514', NULL,
                 'ODI: exactly ten sections');
SELECT throws_ok($$UPDATE treatment_notes SET pain_before = 11 WHERE id = 952$$, '23514', NULL,
                 'pain is rated 0..10');

-- ------------------------------------------------------------ audit is append-only
SELECT lives_ok($$INSERT INTO audit (id, user_id, role, method, target, outcome, request_id) OVERRIDING SYSTEM VALUE
                  VALUES (951, 1, 'therapist', '/clinic.v1.Notes/Sign', 'note 951', 'OK', 'r-1')$$,
                'an audit row is appended');
SELECT throws_ok($$UPDATE audit SET outcome = 'PERMISSION_DENIED' WHERE id = 951$$, 'CLRUL', NULL,
                 'audit refuses UPDATE, even from its owner');
SELECT throws_ok($$DELETE FROM audit WHERE id = 951$$, 'CLRUL', NULL, 'audit refuses DELETE, even from its owner');
SELECT throws_ok($$TRUNCATE audit$$, 'CLRUL', NULL, 'audit refuses TRUNCATE, even from its owner');

-- ------------------------------------------------------------ a course of six sessions for C3
INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked,
                          status)
OVERRIDING SYSTEM VALUE
SELECT 960 + i, 953, 952, 951, 951, 951, s, s + interval '1 hour', tstzrange(s, s + interval '1 hour'), 'completed'
FROM generate_series(1, 6) AS i, LATERAL (SELECT timestamptz '2019-03-04 14:00+01' + (i - 1) * interval '7 days') AS t(s);
-- pain before 7 6 5 4 3 3; ODI 40 28 24 20 16 14 (sums 20 14 12 10 8 7 of 50)
INSERT INTO treatment_notes (appointment_id, author_therapist_id, status, pain_before, pain_after, areas, techniques, odi)
SELECT 960 + i, 952, 'signed', p, p - 2, '{lower_back}', '{swedish}', o::smallint[]
FROM (VALUES (1, 7, '{2,2,2,2,2,2,2,2,2,2}'), (2, 6, '{2,2,2,2,2,1,1,1,1,0}'), (3, 5, '{2,2,2,2,1,1,1,1,0,0}'),
             (4, 4, '{2,2,2,1,1,1,1,0,0,0}'), (5, 3, '{2,2,1,1,1,1,0,0,0,0}'), (6, 3, '{2,1,1,1,1,1,0,0,0,0}'))
     AS v(i, p, o);
-- C2's session with T2, signed: T1 sees it too, having C2 in their care (appointment 954)
INSERT INTO treatment_notes (id, appointment_id, author_therapist_id, status, pain_before, pain_after, areas, techniques)
OVERRIDING SYSTEM VALUE VALUES (953, 953, 952, 'signed', 3, 2, '{neck}', '{swedish}');

SELECT results_eq(
    $$SELECT session, pain_before, odi_score, pain_change, odi_change, pain_mcid, odi_mcid
      FROM clinic_client_progress(953)$$,
    $$VALUES (1, 7::smallint, 40.0, 0, 0.0, false, false),
             (2, 6::smallint, 28.0, -1, -12.0, false, true),
             (3, 5::smallint, 24.0, -2, -16.0, true, true),
             (4, 4::smallint, 20.0, -3, -20.0, true, true),
             (5, 3::smallint, 16.0, -4, -24.0, true, true),
             (6, 3::smallint, 14.0, -4, -26.0, true, true)$$,
    'progress: changes from the first session, MCID from a 2-point pain drop and a 10-point ODI drop');
SELECT is((SELECT session_start FROM clinic_client_progress(953) WHERE session = 1), '2019-03-04T14:00:00+01:00',
          'progress shows each session in the location''s zone');
SELECT is((SELECT count(*)::int FROM clinic_client_progress(951)), 1, 'progress counts signed notes only');
-- 30 %: a baseline of 3 that drops by 1 is clinically important although under 2 points
INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked,
                          status)
OVERRIDING SYSTEM VALUE VALUES (955, 951, 951, 951, 951, 951, '2019-02-12 09:00+01', '2019-02-12 10:00+01',
                                tstzrange('2019-02-12 09:00+01', '2019-02-12 10:00+01'), 'completed');
INSERT INTO treatment_notes (appointment_id, author_therapist_id, status, pain_before, pain_after, areas, techniques)
VALUES (955, 951, 'signed', 4, 2, '{lower_back}', '{swedish}');
SELECT results_eq($$SELECT pain_change, pain_mcid FROM clinic_client_progress(951)$$,
                  $$VALUES (0, false), (-2, true)$$, 'progress: a drop from 6 to 4 is important');
EXECUTE book(956, 952, 952, '2019-02-11 11:00+01');
INSERT INTO treatment_notes (appointment_id, author_therapist_id, status, pain_before, pain_after, areas, techniques)
VALUES (956, 952, 'signed', 2, 1, '{neck}', '{swedish}');
SELECT results_eq($$SELECT pain_change, pain_mcid FROM clinic_client_progress(952)$$,
                  $$VALUES (0, false), (-1, true)$$, 'progress: 3 -> 2 is a 33 % drop, important though under 2 points');

-- ------------------------------------------------------------ the daemon's role
-- Notes now: 951 (C1, T1, signed), 952 (C1, T1, draft), 955's (C1, T1, signed), 953 and 956's
-- (C2, T2, signed), six of C3 (T2, signed): eleven in all.
SET LOCAL ROLE clinic_app;

SELECT lives_ok($$INSERT INTO audit (user_id, role, method, outcome) VALUES (2, 'admin', '/clinic.v1.Audit/List', 'OK')$$,
                'clinic_app appends audit rows');
SELECT throws_ok($$UPDATE audit SET outcome = 'x'$$, '42501', NULL, 'clinic_app has no UPDATE on audit');
SELECT throws_ok($$DELETE FROM audit$$, '42501', NULL, 'clinic_app has no DELETE on audit');
SELECT throws_ok($$TRUNCATE audit$$, '42501', NULL, 'clinic_app has no TRUNCATE on audit');
SELECT throws_ok($$DELETE FROM treatment_notes$$, '42501', NULL, 'clinic_app has no DELETE on notes');

SET LOCAL clinic.role = 'client';
SET LOCAL clinic.user_client_id = '951';
SELECT is((SELECT count(*)::int FROM treatment_notes), 2, 'a client sees their own signed notes, not the draft');
SELECT is((SELECT count(*)::int FROM note_amendments), 1, 'and the amendments of those notes');
SELECT is((SELECT count(*)::int FROM clinic_client_progress(953)), 0, 'but not another client''s course');

SET LOCAL clinic.role = 'front_desk';
SET LOCAL clinic.user_client_id = '';
SELECT is((SELECT count(*)::int FROM treatment_notes), 0, 'the front desk sees no notes');
SELECT is((SELECT count(*)::int FROM note_amendments), 0, 'nor amendments');
SELECT throws_ok($$UPDATE appointments SET status = 'no_show' WHERE id = 951$$, 'CLRUL', NULL,
                 'the front desk, who sees no notes, cannot detach a signed one either');

SET LOCAL clinic.role = 'therapist';
SET LOCAL clinic.user_therapist_id = '951';
SELECT is((SELECT count(*)::int FROM treatment_notes), 5,
          'a therapist sees the notes of clients in their care (own three, and C2''s two by T2), not C3''s');
SELECT throws_ok($$INSERT INTO treatment_notes (appointment_id, author_therapist_id) VALUES (957, 952)$$,
                 '42501', NULL, 'a therapist writes no note in another therapist''s name');
WITH u AS (UPDATE treatment_notes SET plan = 'mine now' WHERE id IN (951, 953) RETURNING 1)
SELECT is((SELECT count(*)::int FROM u), 0, 'a therapist changes neither signed notes nor other therapists'' drafts');
WITH u AS (UPDATE treatment_notes SET plan = 'next: stretches' WHERE id = 952 RETURNING 1)
SELECT is((SELECT count(*)::int FROM u), 1, 'but edits their own draft');
SET LOCAL clinic.user_therapist_id = '953';
SELECT is((SELECT count(*)::int FROM treatment_notes), 0, 'a therapist with no such clients sees nothing');

SET LOCAL clinic.role = 'admin';
SET LOCAL clinic.user_therapist_id = '';
SELECT is((SELECT count(*)::int FROM treatment_notes), 11, 'an admin sees every note');

SET LOCAL clinic.role = '';
SELECT is((SELECT count(*)::int FROM treatment_notes), 0, 'no role set: no notes');

RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
