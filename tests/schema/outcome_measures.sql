-- pgTAP: outcome measures (sql/0024_outcome_measures.sql, sql/functions/87_measures.sql) on
-- fabricated courses: every score is the database's, every clinically-important flag sits on
-- its edge (RMDQ 5 points or 30 %, PSFS a rise of 2 in the mean, ODI 10 points or 30 %), the
-- STarT Back risk groups meet at total 3/4 and psychosocial 3/4, bad answers are refused by the
-- table's CHECKs, a measure never changes, and row-level security shows a client their own, a
-- therapist their clients', an admin all, and the front desk nothing.
-- Times are computed from now (recording refuses the future and more than 365 days back).
BEGIN;
SELECT plan(59);

SELECT has_table('outcome_measures');
SELECT enum_has_labels('measure_kind', ARRAY['rmdq', 'psfs', 'startback']);
SELECT enum_has_labels('startback_risk', ARRAY['low', 'medium', 'high']);

-- T1 treats C1 and C2; T2 treats C3 (and C5, C6 below); C4-C9 are the fabricated courses nobody treats.
INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (2401, 'Measures test', 'Europe/Berlin');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (2401, 2401, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (2401, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE
    VALUES (2401, 'T1', 'm-t1@x.org'), (2402, 'T2', 'm-t2@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE
SELECT 2400 + i, 'C' || i FROM generate_series(1, 9) AS i;
-- They consented to treatment long ago (sql/functions/82_care.sql): signing their notes needs it.
INSERT INTO client_consents (client_id, kind, how, given_at)
SELECT id, 'general', 'signed form', now() - interval '20 years' FROM clients WHERE id BETWEEN 2401 AND 2409;

-- A completed session of client c with therapist t, `back` days ago (to the minute).
PREPARE session(bigint, bigint, bigint, int) AS
    INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at,
                              blocked, status)
    OVERRIDING SYSTEM VALUE
    SELECT $1, $2, $3, 2401, 2401, 2401, s, s + interval '1 hour', tstzrange(s, s + interval '1 hour'), 'completed'
    FROM (SELECT date_trunc('minute', now()) - make_interval(days => $4) AS s) x;
EXECUTE session(2401, 2401, 2401, 100);
EXECUTE session(2402, 2402, 2401, 99);
EXECUTE session(2403, 2403, 2402, 98);

-- RMDQ answers with k yeses; a questionnaire of client c, `back` days ago.
CREATE FUNCTION pg_temp.rmdq(k int) RETURNS smallint[] LANGUAGE sql AS $$
    SELECT array_fill(1::smallint, ARRAY[k]) || array_fill(0::smallint, ARRAY[24 - k])
$$;
CREATE FUNCTION pg_temp.record(c bigint, k measure_kind, a smallint[], back int, names text[] DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO outcome_measures (client_id, kind, answers, activities, recorded_at)
    VALUES (c, k, a, names, now() - make_interval(days => back)) RETURNING id
$$;

-- ------------------------------------------------------------ RMDQ: 5 points or 30 %
SELECT FROM pg_temp.record(2404, 'rmdq', pg_temp.rmdq(12), 60);
SELECT FROM pg_temp.record(2404, 'rmdq', pg_temp.rmdq(9), 46);
SELECT FROM pg_temp.record(2404, 'rmdq', pg_temp.rmdq(8), 32);
SELECT FROM pg_temp.record(2404, 'rmdq', pg_temp.rmdq(7), 18);
SELECT results_eq($$SELECT number, score, change, mcid FROM clinic_client_measures(2404)$$,
                  $$VALUES (1, 12::numeric, 0::numeric, false), (2, 9, -3, false), (3, 8, -4, true), (4, 7, -5, true)$$,
                  'RMDQ 12 -> 9 (25 %) is not important; 12 -> 8 is (4 points, 33 % >= 30 %); 12 -> 7 is (5 points)');
SELECT FROM pg_temp.record(2405, 'rmdq', pg_temp.rmdq(20), 60);
SELECT FROM pg_temp.record(2405, 'rmdq', pg_temp.rmdq(16), 40);
SELECT FROM pg_temp.record(2405, 'rmdq', pg_temp.rmdq(15), 20);
SELECT results_eq($$SELECT change, mcid FROM clinic_client_measures(2405)$$,
                  $$VALUES (0::numeric, false), (-4, false), (-5, true)$$,
                  'RMDQ 20 -> 16 (4 points, 20 %) is not important; 20 -> 15 is: 5 points though only 25 %');
SELECT FROM pg_temp.record(2406, 'rmdq', pg_temp.rmdq(10), 60);
SELECT FROM pg_temp.record(2406, 'rmdq', pg_temp.rmdq(8), 40);
SELECT FROM pg_temp.record(2406, 'rmdq', pg_temp.rmdq(7), 20);
SELECT FROM pg_temp.record(2406, 'rmdq', pg_temp.rmdq(12), 10);
SELECT results_eq($$SELECT change, mcid FROM clinic_client_measures(2406)$$,
                  $$VALUES (0::numeric, false), (-2, false), (-3, true), (2, false)$$,
                  'RMDQ 10 -> 8 (20 %) is not; 10 -> 7 is exactly 30 %: important; a rise never is');
SELECT is((SELECT score FROM outcome_measures WHERE client_id = 2406 ORDER BY recorded_at LIMIT 1), 10::numeric,
          'the RMDQ score is the number of yeses');

-- ------------------------------------------------------------ PSFS: a rise of 2 in the mean (higher is better)
SELECT FROM pg_temp.record(2407, 'psfs', '{2,3,4}', 50, '{bending,walking,"sitting, long"}');
SELECT FROM pg_temp.record(2407, 'psfs', '{3,4,5}', 40, '{bending,walking,"sitting, long"}');
SELECT FROM pg_temp.record(2407, 'psfs', '{3,5,5}', 30, '{bending,walking,"sitting, long"}');
SELECT FROM pg_temp.record(2407, 'psfs', '{4,5,6}', 20, '{bending,walking,"sitting, long"}');
SELECT FROM pg_temp.record(2407, 'psfs', '{0,1,2}', 10, '{bending,walking,"sitting, long"}');
SELECT results_eq($$SELECT score, change, mcid FROM clinic_client_measures(2407)$$,
                  $$VALUES (3.00, 0.00, false), (4.00, 1.00, false), (4.33, 1.33, false), (5.00, 2.00, true),
                           (1.00, -2.00, false)$$,
                  'PSFS: the mean, to two decimals; a rise of 2 is important, of 1.33 not, and a fall never');
SELECT FROM pg_temp.record(2408, 'psfs', '{3,3,4}', 50, '{a,b,c}');
SELECT FROM pg_temp.record(2408, 'psfs', '{5,5,6}', 40, '{a,b,c}');
SELECT FROM pg_temp.record(2408, 'psfs', '{5,5}', 30, '{a,b}');
SELECT results_eq($$SELECT score, change, mcid FROM clinic_client_measures(2408)$$,
                  $$VALUES (3.33, 0.00, false), (5.33, 2.00, true), (5.00, 1.67, false)$$,
                  'PSFS: 3.33 -> 5.33 is a rise of exactly 2; 3.33 -> 5.00 is not');
SELECT is((SELECT activities FROM clinic_client_measures(2407) LIMIT 1), '{bending,walking,"sitting, long"}'::text[],
          'PSFS keeps the activities'' names');

-- ------------------------------------------------------------ STarT Back: total 3/4, psychosocial 3/4
SELECT results_eq(
    $$SELECT clinic_startback_total(a::smallint[]), clinic_startback_psychosocial(a::smallint[]),
             clinic_startback_risk(a::smallint[])::text
      FROM (VALUES (1, '{1,1,1,0,0,0,0,0,0}'), (2, '{1,1,1,1,0,0,0,0,0}'), (3, '{0,0,0,0,1,1,1,0,0}'),
                   (4, '{0,1,0,0,1,1,1,0,0}'), (5, '{0,0,0,0,1,1,1,1,0}'), (6, '{1,1,1,0,0,0,0,0,2}'),
                   (7, '{1,1,1,0,0,0,0,0,3}'), (8, '{0,0,0,0,1,1,1,0,4}'), (9, '{1,1,1,1,1,1,1,1,4}'),
                   (10, '{0,0,0,0,0,0,0,0,1}')) AS v(i, a) ORDER BY i$$,
    $$VALUES (3, 0, 'low'), (4, 0, 'medium'), (3, 3, 'low'), (4, 3, 'medium'), (4, 4, 'high'), (3, 0, 'low'),
             (4, 1, 'medium'), (4, 4, 'high'), (9, 5, 'high'), (0, 0, 'low')$$,
    'STarT Back: total 3 low, 4 medium; psychosocial 4 high, 3 medium; item 9 counts only very much/extremely');
SELECT FROM pg_temp.record(2409, 'startback', '{0,1,0,0,1,1,1,1,0}', 30);
SELECT FROM pg_temp.record(2409, 'startback', '{1,1,0,0,0,0,0,0,3}', 5);
SELECT results_eq($$SELECT score, startback_psychosocial::int, startback_risk::text, has_change, mcid
                    FROM clinic_client_measures(2409)$$,
                  $$VALUES (5::numeric, 4, 'high', false, false), (3, 1, 'low', false, false)$$,
                  'a stored screening carries its total, subscale and risk group; no change is scored');
SELECT is(clinic_client_startback_risk(2409)::text, 'low', 'the client''s risk group is the latest screening''s');
SELECT is(clinic_client_startback_risk(2404), NULL, 'no screening, no risk group');

-- ------------------------------------------------------------ ODI: 10 points or 30 %
EXECUTE session(2410, 2405, 2402, 90);
EXECUTE session(2411, 2405, 2402, 80);
EXECUTE session(2412, 2405, 2402, 70);
EXECUTE session(2413, 2406, 2402, 91);
EXECUTE session(2414, 2406, 2402, 81);
EXECUTE session(2415, 2406, 2402, 71);
-- C5: ODI 20 (10 of 50) -> 16 (8) -> 14 (7): 20 % is not, 30 % is; C6: 60 -> 52 -> 50: 8 points
-- (13 %) is not, 10 points (17 %) is
INSERT INTO treatment_notes (appointment_id, author_therapist_id, status, pain_before, pain_after, areas, techniques, odi)
SELECT a, 2402, 'signed', 5, 4, '{lower_back}', '{swedish}', o::smallint[]
FROM (VALUES (2410, '{1,1,1,1,1,1,1,1,1,1}'), (2411, '{1,1,1,1,1,1,1,1,0,0}'), (2412, '{1,1,1,1,1,1,1,0,0,0}'),
             (2413, '{3,3,3,3,3,3,3,3,3,3}'), (2414, '{3,3,3,3,3,3,2,2,2,2}'), (2415, '{3,3,3,3,3,2,2,2,2,2}'))
     AS v(a, o);
SELECT results_eq($$SELECT odi_score, odi_change, odi_mcid FROM clinic_client_progress(2405)$$,
                  $$VALUES (20.0, 0.0, false), (16.0, -4.0, false), (14.0, -6.0, true)$$,
                  'ODI 20 -> 16 (20 %) is not important; 20 -> 14 is 30 %: important under 10 points');
SELECT results_eq($$SELECT odi_score, odi_change, odi_mcid FROM clinic_client_progress(2406)$$,
                  $$VALUES (60.0, 0.0, false), (52.0, -8.0, false), (50.0, -10.0, true)$$,
                  'ODI 60 -> 52 (8 points, 13 %) is not; 60 -> 50 is: 10 points');

-- ------------------------------------------------------------ the course's days
SELECT is(clinic_client_course_start(2405), date_trunc('minute', now()) - interval '90 days',
          'the course starts at the first signed session when it came before any measure');
SELECT results_eq($$SELECT round(days)::int FROM clinic_client_measures(2405)$$, $$VALUES (30), (50), (70)$$,
                  'a measure''s days count from the course start, in real days');
SELECT is((SELECT round(days)::int FROM clinic_client_measures(2404) LIMIT 1), 0,
          'with measures only, the first measure is day 0');

-- ------------------------------------------------------------ recording through the function
SELECT ok(clinic_measure_record(2401, 'rmdq', pg_temp.rmdq(6), NULL, NULL, 2401, NULL) > 0,
          'clinic_measure_record records a questionnaire of the client''s session');
SELECT throws_ok($$SELECT clinic_measure_record(2401, 'rmdq', pg_temp.rmdq(6), NULL,
                                                to_char(now() + interval '1 day', 'YYYY-MM-DD HH24:MI'), NULL, NULL)$$,
                 'CLINV', NULL, 'a questionnaire is not answered in the future');
SELECT throws_ok($$SELECT clinic_measure_record(2401, 'rmdq', pg_temp.rmdq(6), NULL,
                                                to_char(now() - interval '400 days', 'YYYY-MM-DD HH24:MI'), NULL, NULL)$$,
                 'CLINV', NULL, 'nor entered more than 365 days after');
SELECT lives_ok($$SELECT clinic_measure_record(2401, 'rmdq', pg_temp.rmdq(6), NULL,
                                               to_char((now() - interval '3 days') AT TIME ZONE 'UTC',
                                                        'YYYY-MM-DD"T"HH24:MI:SS"Z"'), NULL, NULL)$$,
                'a paper form of three days ago is entered with when it was answered');
SELECT throws_ok($$SELECT clinic_measure_record(2401, 'rmdq', pg_temp.rmdq(6), NULL, NULL, 2402, NULL)$$,
                 'CLINV', 'appointment 2402 is not client 2401''s', 'only the client''s own session');
SELECT throws_ok($$SELECT clinic_measure_record(2401, 'rmdq', pg_temp.rmdq(6), NULL, 'last tuesday', NULL, NULL)$$,
                 'CLINV', NULL, 'a recorded_at that is no time is refused');
SELECT throws_ok($$SELECT clinic_measure_record(2499, 'rmdq', pg_temp.rmdq(6), NULL, NULL, NULL, NULL)$$,
                 'CLNOF', 'client 2499 does not exist', 'an unknown client');

-- ------------------------------------------------------------ bad answers: the CHECKs
SELECT throws_ok($$SELECT pg_temp.record(2401, 'rmdq', (pg_temp.rmdq(23))[1:23], 1)$$, '23514', NULL,
                 'RMDQ: 23 answers are refused');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'rmdq', pg_temp.rmdq(3) || 0::smallint, 1)$$, '23514', NULL,
                 'RMDQ: 25 answers are refused');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'rmdq', array_fill(2::smallint, ARRAY[24]), 1)$$, '23514', NULL,
                 'RMDQ: an answer other than 0 or 1');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'rmdq', (pg_temp.rmdq(3))[1:23] || NULL::smallint, 1)$$, '23514', NULL,
                 'RMDQ: an unanswered statement');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'rmdq', pg_temp.rmdq(3), 1, '{x}')$$, '23514', NULL,
                 'RMDQ: no activities');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{}', 1, '{}')$$, '23514', NULL, 'PSFS: no activity');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{1,2,3,4,5,6}', 1, '{a,b,c,d,e,f}')$$, '23514', NULL,
                 'PSFS: six activities');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{11}', 1, '{a}')$$, '23514', NULL, 'PSFS: a rating of 11');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{-1}', 1, '{a}')$$, '23514', NULL, 'PSFS: a rating below 0');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{3}', 1, '{"   "}')$$, '23514', NULL, 'PSFS: a blank name');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{3}', 1, ARRAY[repeat('x', 61)])$$, '23514', NULL,
                 'PSFS: a name over 60 characters');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{3,4}', 1, '{a}')$$, '23514', NULL,
                 'PSFS: one rating per activity');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'psfs', '{3}', 1)$$, '23514', NULL, 'PSFS: activities are required');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'startback', '{1,1,1,1,1,1,1,1}', 1)$$, '23514', NULL,
                 'STarT Back: 8 answers are refused');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'startback', '{2,1,1,1,1,1,1,1,0}', 1)$$, '23514', NULL,
                 'STarT Back: items 1-8 are 0 or 1');
SELECT throws_ok($$SELECT pg_temp.record(2401, 'startback', '{1,1,1,1,1,1,1,1,5}', 1)$$, '23514', NULL,
                 'STarT Back: item 9 has five levels, 0-4');

-- ------------------------------------------------------------ the record stays
SELECT throws_ok($$UPDATE outcome_measures SET answers = pg_temp.rmdq(0) WHERE client_id = 2404$$, 'CLRUL', NULL,
                 'a measure never changes, even for its owner');
SELECT throws_ok($$DELETE FROM outcome_measures WHERE client_id = 2404$$, 'CLRUL', NULL, 'nor disappears');
SELECT throws_ok($$TRUNCATE outcome_measures$$, 'CLRUL', NULL, 'nor is truncated');

-- ------------------------------------------------------------ row-level security
-- C1 (2401) has two measures by now; C2 and C3 none yet.
SET LOCAL ROLE clinic_app;
SELECT throws_ok($$UPDATE outcome_measures SET kind = 'rmdq'$$, '42501', NULL, 'clinic_app has no UPDATE');
SELECT throws_ok($$DELETE FROM outcome_measures$$, '42501', NULL, 'nor DELETE');

SET LOCAL clinic.role = 'client';
SET LOCAL clinic.user_client_id = '2401';
SELECT is((SELECT count(*)::int FROM outcome_measures), 2, 'a client sees their own measures only');
SELECT lives_ok($$SELECT clinic_measure_record(2401, 'startback', '{1,0,1,1,0,0,1,0,3}', NULL, NULL, NULL, NULL)$$,
                'a client records their own questionnaire');
SELECT is((SELECT recorded_by_role FROM outcome_measures WHERE kind = 'startback'), 'client',
          'stamped as self-reported by the database');
SELECT throws_ok($$SELECT clinic_measure_record(2402, 'rmdq', (array_fill(1::smallint, ARRAY[1]) || array_fill(0::smallint, ARRAY[23])), NULL, NULL, NULL, NULL)$$, '42501',
                 NULL, 'but not another client''s');
SELECT is((SELECT count(*)::int FROM clinic_client_measures(2404)), 0, 'nor reads another client''s');

SET LOCAL clinic.role = 'therapist';
SET LOCAL clinic.user_client_id = '';
SET LOCAL clinic.user_therapist_id = '2401';
SELECT lives_ok($$SELECT clinic_measure_record(2402, 'rmdq', (array_fill(1::smallint, ARRAY[4]) || array_fill(0::smallint, ARRAY[20])), NULL, NULL, NULL, NULL)$$,
                'a therapist records for a client in their care');
SELECT is((SELECT count(*)::int FROM outcome_measures), 4, 'and reads their clients'' measures (C1 three, C2 one)');
SELECT throws_ok($$SELECT clinic_measure_record(2403, 'rmdq', (array_fill(1::smallint, ARRAY[4]) || array_fill(0::smallint, ARRAY[20])), NULL, NULL, NULL, NULL)$$, '42501',
                 NULL, 'not for a client in another therapist''s care');

SET LOCAL clinic.role = 'front_desk';
SET LOCAL clinic.user_therapist_id = '';
SELECT is((SELECT count(*)::int FROM outcome_measures), 0, 'the front desk sees no measure');
SELECT throws_ok($$SELECT clinic_measure_record(2401, 'rmdq', (array_fill(1::smallint, ARRAY[4]) || array_fill(0::smallint, ARRAY[20])), NULL, NULL, NULL, NULL)$$, '42501',
                 NULL, 'and records none');

SET LOCAL clinic.role = 'admin';
SELECT is((SELECT count(*)::int FROM outcome_measures), 25, 'an admin sees every measure');

SET LOCAL clinic.role = '';
SELECT is((SELECT count(*)::int FROM outcome_measures), 0, 'no role: no measures');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
