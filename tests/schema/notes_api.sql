-- pgTAP: the SQL the Notes service stands on (sql/functions/85_notes.sql), run as the daemon
-- runs it: as clinic_app, with the caller set per transaction, so row-level security applies. A
-- draft is started, edited field by field, signed only when complete, then frozen; amendments
-- are appended; each caller reads exactly the notes the policies of sql/0006 give them, shaped
-- for the wire.
-- The dates are fixed and past on purpose: what the schema guarantees does not depend on today.
BEGIN;
SELECT plan(40);

-- T1 treats C1 (appointments 971, 972; 974 cancelled, 975 a no-show); T2 treats C2 (973)
INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (971, 'Notes API', 'Europe/Berlin');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (971, 971, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (971, 'Back care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE
    VALUES (971, 'Tara One', 'napi1@x.org'), (972, 'Theo Two', 'napi2@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (971, 'C1'), (972, 'C2');
-- They consented to treatment, gluteal work included, long ago (sql/functions/82_care.sql):
-- signing needs it.
INSERT INTO client_consents (client_id, kind, how, given_at)
SELECT id, k::consent_kind, 'signed form', now() - interval '20 years' FROM clients, unnest('{general,gluteal}'::text[]) AS k
WHERE id IN (971, 972);
PREPARE book(bigint, bigint, bigint, timestamptz, appointment_status) AS
    INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at,
                              blocked, status)
    OVERRIDING SYSTEM VALUE
    VALUES ($1, $2, $3, 971, 971, 971, $4, $4 + interval '1 hour', tstzrange($4, $4 + interval '1 hour'), $5);
EXECUTE book(971, 971, 971, '2019-07-01 09:00+02', 'completed');
EXECUTE book(972, 971, 971, '2019-07-08 09:00+02', 'booked');
EXECUTE book(973, 972, 972, '2019-07-01 11:00+02', 'completed');
EXECUTE book(974, 971, 971, '2019-07-15 09:00+02', 'cancelled');
EXECUTE book(975, 971, 971, '2019-07-22 09:00+02', 'no_show');

SET LOCAL ROLE clinic_app;
SET LOCAL clinic.role = 'therapist';
SET LOCAL clinic.user_therapist_id = '971';

-- ------------------------------------------------------------ drafting
SELECT clinic_note_draft(971, 971, NULL, NULL, NULL, NULL, NULL, 'stiff lower back', NULL, NULL, NULL, NULL)
    AS note1 \gset
SELECT is((SELECT status::text FROM note_details WHERE id = :note1), 'draft', 'a draft is started');
SELECT results_eq(
    $$SELECT pain_before, pain_after, odi, has_odi_score, cardinality(areas), subjective, plan
      FROM note_details WHERE id = $$ || :note1,
    $$VALUES (-1, -1, '{}'::smallint[], false, 0, 'stiff lower back', '')$$,
    'what is not recorded reads -1 (pain) and {} (ODI), with no ODI score');
SELECT results_eq(
    $$SELECT appointment_id, client_id, author_therapist_id, author_name, session_start
      FROM note_details WHERE id = $$ || :note1,
    $$VALUES (971::bigint, 971::bigint, 971::bigint, 'Tara One', '2019-07-01T09:00:00+02:00')$$,
    'the note names its client, author and the session''s start in the location''s zone');
SELECT is((SELECT signed_at FROM note_details WHERE id = :note1), NULL, 'a draft has no signing time');
SELECT throws_ok($$SELECT clinic_note_draft(971, 971, NULL, NULL, NULL, NULL, NULL, '', '', '', '', NULL)$$,
                 '23505', NULL, 'one note per appointment');
SELECT throws_ok($$SELECT clinic_note_draft(974, 971, NULL, NULL, NULL, NULL, NULL, '', '', '', '', NULL)$$,
                 'CLRUL', 'appointment 974 was cancelled; a session that did not happen has no note',
                 'a cancelled session gets no note');
SELECT throws_ok($$SELECT clinic_note_draft(975, 971, NULL, NULL, NULL, NULL, NULL, '', '', '', '', NULL)$$,
                 'CLRUL', 'appointment 975 was a no-show; a session that did not happen has no note',
                 'nor does a no-show');
SELECT throws_ok($$SELECT clinic_note_draft(979, 971, NULL, NULL, NULL, NULL, NULL, '', '', '', '', NULL)$$,
                 'CLNOF', 'appointment 979 does not exist', 'a missing appointment is named');
SELECT throws_ok($$SELECT clinic_note_draft(973, 971, NULL, NULL, NULL, NULL, NULL, '', '', '', '', NULL)$$,
                 'CLRUL', NULL, 'a therapist does not write the note of another therapist''s session');

-- ------------------------------------------------------------ editing by mask
SELECT is(clinic_note_edit(:note1, '{pain_before,odi}', 6::smallint, 9::smallint, '{neck}', NULL, 'deep',
                           'ignored', NULL, NULL, NULL, '{2,3,NULL,1,4,2,NULL,3,2,2}'),
          :note1::bigint, 'editing returns the note''s id');
SELECT results_eq(
    $$SELECT pain_before, pain_after, cardinality(areas), pressure::text, subjective, odi, odi_score, has_odi_score
      FROM note_details WHERE id = $$ || :note1,
    $$VALUES (6, -1, 0, NULL::text, 'stiff lower back', '{2,3,-1,1,4,2,-1,3,2,2}'::smallint[], 47.5, true)$$,
    'only the masked fields change; unanswered ODI sections read -1 and are left out of the score');
SELECT throws_ok($$SELECT clinic_note_sign($$ || :note1 || $$)$$, 'CLRUL',
                 'note ' || :note1 || ' cannot be signed without pain after, an area treated, a technique',
                 'signing an incomplete draft names everything missing');
SELECT lives_ok($$SELECT clinic_note_edit($$ || :note1 || $$, '{pain_after,areas,techniques,pressure,plan}',
                  NULL, 3::smallint, '{lower_back,glutes}', '{myofascial_release,trigger_point}', 'firm',
                  NULL, NULL, NULL, 'weekly for six weeks', NULL)$$, 'the draft is completed');
SELECT results_eq(
    $$SELECT pain_before, pain_after, areas::text[], techniques::text[], pressure::text, plan
      FROM note_details WHERE id = $$ || :note1,
    $$VALUES (6, 3, '{lower_back,glutes}'::text[], '{myofascial_release,trigger_point}'::text[], 'firm', 'weekly for six weeks')$$,
    'areas and techniques are kept in the order given');
SELECT lives_ok($$SELECT clinic_note_edit($$ || :note1 || $$, '{odi}', NULL, NULL, NULL, NULL, NULL,
                  NULL, NULL, NULL, NULL, NULL)$$, 'the ODI can be cleared in a draft');
SELECT results_eq($$SELECT odi, has_odi_score FROM note_details WHERE id = $$ || :note1,
                  $$VALUES ('{}'::smallint[], false)$$, 'a cleared ODI reads {} with no score');
SELECT throws_ok($$SELECT clinic_note_edit($$ || :note1 || $$, '{odi}', NULL, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, NULL, '{1,2,3}')$$, '23514', NULL, 'an ODI of three sections is refused');

-- ------------------------------------------------------------ signing freezes
SELECT is(clinic_note_sign(:note1), :note1::bigint, 'a complete draft is signed');
SELECT results_eq($$SELECT status::text, signed_at IS NOT NULL FROM note_details WHERE id = $$ || :note1,
                  $$VALUES ('signed', true)$$, 'signed, with the time of signing');
SELECT throws_ok($$SELECT clinic_note_edit($$ || :note1 || $$, '{plan}', NULL, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, 'rewritten', NULL)$$, 'CLRUL',
                 'note ' || :note1 || ' is signed and cannot change; add an amendment',
                 'a signed note cannot be edited');
SELECT is((SELECT plan FROM note_details WHERE id = :note1), 'weekly for six weeks', 'and is unchanged');
SELECT throws_ok($$SELECT clinic_note_sign($$ || :note1 || $$)$$, 'CLRUL',
                 'note ' || :note1 || ' is already signed; corrections are added as amendments',
                 'a signed note is not signed twice');
SELECT throws_ok($$SELECT clinic_note_edit(979797, '{plan}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'x', NULL)$$,
                 'CLNOF', 'note 979797 does not exist', 'editing a missing note: not found');

-- ------------------------------------------------------------ amendments
SELECT is(clinic_note_amend(:note1, 971, 'wrong side', 'the right hip, not the left, was treated'),
          :note1::bigint, 'a signed note takes an amendment');
SELECT results_eq(
    $$SELECT note_id, author_therapist_id, author_name, reason, text, created_at ~ '^2\d{3}-\d\d-\d\dT'
      FROM note_amendment_details WHERE note_id = $$ || :note1,
    $$VALUES ($$ || :note1 || $$::bigint, 971::bigint, 'Tara One', 'wrong side', 'the right hip, not the left, was treated', true)$$,
    'the amendment is shown with its author''s name and date');
SELECT clinic_note_draft(972, 971, 5::smallint, NULL, NULL, NULL, NULL, '', '', '', '', NULL) AS note2 \gset
SELECT throws_ok($$SELECT clinic_note_amend($$ || :note2 || $$, 971, 'typo', 'x')$$, 'CLRUL', NULL,
                 'a draft is edited, not amended');
SELECT throws_ok($$SELECT clinic_note_sign($$ || :note2 || $$)$$, 'CLRUL',
                 'appointment 972 is booked: check the client in or record the session before signing',
                 'a session that has not happened yet: its note is not signed, whatever is missing');
SELECT throws_ok($$SELECT clinic_note_amend(979797, 971, 'typo', 'x')$$, 'CLNOF', 'note 979797 does not exist',
                 'amending a missing note: not found');

-- ------------------------------------------------------------ other callers
SET LOCAL clinic.user_therapist_id = '972';
SELECT clinic_note_draft(973, 972, 4::smallint, 2::smallint, '{neck}', '{swedish}', NULL, '', '', '', '', NULL)
    AS note3 \gset
SELECT throws_ok($$SELECT clinic_note_edit($$ || :note2 || $$, '{plan}', NULL, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, 'mine', NULL)$$, 'CLNOF', NULL,
                 'another therapist''s draft does not exist for a therapist who does not treat the client');
SELECT throws_ok($$SELECT clinic_note_sign($$ || :note2 || $$)$$, 'CLNOF', NULL, 'nor can they sign it');
SELECT throws_ok($$SELECT clinic_note_amend($$ || :note1 || $$, 972, 'mine', 'x')$$, 'CLNOF', NULL,
                 'nor amend a note they cannot see');
SELECT is((SELECT count(*)::int FROM note_details WHERE client_id = 971), 0, 'T2 sees none of C1''s notes');

SET LOCAL clinic.role = 'client';
SET LOCAL clinic.user_therapist_id = '';
SET LOCAL clinic.user_client_id = '971';
SELECT is((SELECT array_agg(id)::bigint[] FROM note_details), ARRAY[:note1]::bigint[],
          'a client reads their own signed note, not the draft, nor another client''s');
SELECT is((SELECT count(*)::int FROM note_amendment_details), 1, 'with its amendment');
SELECT throws_ok($$SELECT clinic_note_edit($$ || :note2 || $$, '{plan}', NULL, NULL, NULL, NULL, NULL,
                   NULL, NULL, NULL, 'x', NULL)$$, 'CLNOF', NULL, 'a client changes no note');
SET LOCAL clinic.user_client_id = '972';
SELECT is((SELECT count(*)::int FROM note_details), 0, 'C2 sees nothing: T2''s note of C2 is a draft');

SET LOCAL clinic.role = 'front_desk';
SET LOCAL clinic.user_client_id = '';
SELECT is((SELECT count(*)::int FROM note_details), 0, 'the front desk reads no note');
SELECT is((SELECT count(*)::int FROM note_amendment_details), 0, 'nor any amendment');

SET LOCAL clinic.role = 'admin';
SELECT is((SELECT count(*)::int FROM note_details WHERE id IN (:note1, :note2, :note3)), 3, 'an admin reads every note');
SELECT is((SELECT array_agg(id ORDER BY start_at, id)::bigint[] FROM note_details WHERE client_id = 971),
          ARRAY[:note1, :note2]::bigint[], 'a client''s notes in session order');

RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
