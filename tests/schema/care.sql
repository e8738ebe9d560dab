-- pgTAP: care before the first touch, in SQL alone (0023_intake_consent.sql, 82_care.sql): health
-- histories are numbered versions that never change; consents are withdrawn, never deleted; the
-- alerts beside an appointment; check-in needs general consent; signing a note needs the
-- therapist's decision on a flagged history and written consent for each sensitive area; the
-- front desk reads no history, only whether a flag exists.
BEGIN;
SELECT plan(36);

INSERT INTO locations (id, name, time_zone, min_notice_minutes) OVERRIDING SYSTEM VALUE
VALUES (995, 'Care test', 'Europe/Berlin', 0);
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (995, 995, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (995, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (995, 'T1', 'care1@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (995, 'Flagged'), (996, 'Plain');
-- a session yesterday (completed), one starting now (to check in), one 400 days ahead
INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at,
                          end_at, blocked, status) OVERRIDING SYSTEM VALUE
VALUES (995, 995, 995, 995, 995, 995, now() - interval '1 day', now() - interval '23 hours',
        tstzrange(now() - interval '1 day', now() - interval '23 hours'), 'completed'),
       (996, 996, 995, 995, 995, 995, date_trunc('minute', now()), date_trunc('minute', now()) + interval '1 hour',
        tstzrange(date_trunc('minute', now()), date_trunc('minute', now()) + interval '1 hour'), 'booked'),
       (997, 996, 995, 995, 995, 995, now() + interval '400 days', now() + interval '400 days 1 hour',
        tstzrange(now() + interval '400 days', now() + interval '400 days 1 hour'), 'booked');

-- ------------------------------------------------------------------ health histories
SELECT is(clinic_care_alerts(995, now()), '{intake_missing,consent_missing}', 'no history, no consent');
SELECT is(clinic_intake_record(995, 'low back pain', 'apixaban', true, '', false, '', false, false, '',
                               '{constant_night_pain}', '{}'), 1, 'the first version is 1');
SELECT is(clinic_intake_record(995, 'low back pain', 'apixaban', true, '', false, '', false, false, '',
                               '{constant_night_pain}', '{suspected_dvt}'), 2, 'the next is 2');
SELECT is((SELECT count(*) FROM client_intakes WHERE client_id = 995), 2::bigint, 'both versions kept');
SELECT throws_ok($$UPDATE client_intakes SET conditions = 'x' WHERE client_id = 995$$, 'CLRUL', NULL,
                 'a version never changes');
SELECT throws_ok($$DELETE FROM client_intakes WHERE client_id = 995$$, 'CLRUL', NULL, 'nor goes');
SELECT throws_ok($$TRUNCATE client_intakes$$, 'CLRUL', NULL, 'nor is truncated');
SELECT throws_ok($$SELECT clinic_intake_record(990, '', '', false, '', false, '', false, false, '', '{}', '{}')$$,
                 'CLNOF', 'client 990 does not exist', 'a client that does not exist');
SELECT throws_ok($$INSERT INTO client_intakes (client_id, version) VALUES (995, 2)$$, '23505', NULL,
                 'a version number once per client');
SELECT is(clinic_care_alerts(995, now()), '{health_flag,consent_missing}', 'a flag and no consent');
SELECT is((SELECT health_flag FROM clinic_intake_status(996)), false, 'no history, no flag');
SELECT lives_ok($$SELECT clinic_intake_record(996, '', '', false, '', false, '', false, false, '', '{}', '{}')$$,
                'a history with nothing to flag');
SELECT is(clinic_care_alerts(996, now() + interval '400 days'), '{intake_out_of_date,consent_missing}',
          'recorded now, it is over a year old for a session 400 days ahead');

-- ------------------------------------------------------------------ consent
SELECT is(clinic_consent_kind_of('glutes'), 'gluteal'::consent_kind, 'glutes need gluteal consent');
SELECT is(clinic_consent_kind_of('chest'), 'chest_wall'::consent_kind, 'chest needs chest-wall consent');
SELECT is(clinic_consent_kind_of('lower_back'), NULL::consent_kind, 'the lower back needs none of its own');
SELECT throws_ok($$SELECT clinic_transition(996, 'checked_in', NULL)$$, 'CLRUL', NULL,
                 'no check-in without general consent');
SELECT lives_ok($$SELECT clinic_consent_give(996, 'general', 'signed form', NULL)$$, 'consent given');
SELECT is(clinic_consent_give(996, 'general', 'again', NULL),
          (SELECT id FROM client_consents WHERE client_id = 996), 'given again: the one in force stays');
SELECT lives_ok($$SELECT clinic_transition(996, 'checked_in', NULL)$$, 'then the client checks in');
SELECT throws_ok($$SELECT clinic_consent_give(996, 'breast', 'form', now() + interval '1 day')$$, 'CLINV', NULL,
                 'a consent is not dated in the future');
SELECT lives_ok($$SELECT clinic_consent_withdraw(996, 'general', 'moved away')$$, 'withdrawn');
SELECT throws_ok($$SELECT clinic_consent_withdraw(996, 'general', 'again')$$, 'CLRUL', NULL,
                 'nothing left in force to withdraw');
SELECT throws_ok($$UPDATE client_consents SET withdrawn_reason = 'changed' WHERE client_id = 996$$, 'CLRUL', NULL,
                 'a withdrawal is not changed');
SELECT throws_ok($$DELETE FROM client_consents WHERE client_id = 996$$, 'CLRUL', NULL, 'a consent is never deleted');

-- ------------------------------------------------------------------ signing
INSERT INTO treatment_notes (id, appointment_id, author_therapist_id, pain_before, pain_after, areas, techniques)
OVERRIDING SYSTEM VALUE VALUES (995, 995, 995, 6, 3, '{lower_back,glutes}', '{swedish}');
SELECT throws_ok($$SELECT clinic_note_sign(995)$$, 'CLRUL', NULL, 'flagged: no signature without a decision');
SELECT lives_ok($$SELECT clinic_note_decide(995, 'treat_with_changes', 'no deep pressure')$$, 'the decision');
SELECT is((SELECT care_decision_intake FROM treatment_notes WHERE id = 995), 2, 'made on the newest version');
SELECT throws_ok($$SELECT clinic_note_sign(995)$$, 'CLRUL', NULL, 'still no general consent');
-- consent given after the session ended (a form dated today) does not cover yesterday's session
SELECT lives_ok($$SELECT clinic_consent_give(995, 'general', 'signed form', now() - interval '2 days')$$,
                'general consent dated before the session');
SELECT lives_ok($$SELECT clinic_consent_give(995, 'gluteal', 'signed form', NULL)$$, 'gluteal consent dated today');
SELECT throws_ok($$SELECT clinic_note_sign(995)$$, 'CLRUL', NULL,
                 'gluteal consent given after the session does not cover it');
SELECT lives_ok($$SELECT clinic_consent_withdraw(995, 'gluteal', 'dated wrongly')$$, 'withdrawn as dated wrongly');
SELECT lives_ok($$SELECT clinic_consent_give(995, 'gluteal', 'signed form', now() - interval '2 days')$$,
                'gluteal consent dated before the session');
SELECT lives_ok($$SELECT clinic_note_sign(995)$$, 'signed, with decision and consents');

-- ------------------------------------------------------------------ who reads what
SET LOCAL ROLE clinic_app;
SELECT set_config('clinic.role', 'front_desk', true);
SELECT is((SELECT count(*) FROM client_intakes), 0::bigint, 'the front desk reads no history');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
