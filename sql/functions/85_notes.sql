-- 85_notes.sql: what the Notes and Progress services read and call: a note as the wire
-- shows it (author's name, client, session start in the location's zone, -1 for what is not
-- recorded), its amendments likewise, and one function per change of a note, each raising the
-- SQLSTATE that says why it refused (CLNOF, CLRUL; sql/README.md), so the handlers stay thin.
--
-- Everything here runs with the caller's rights (views with security_invoker, functions
-- SECURITY INVOKER): as clinic_app, the row-level security of treatment_notes (its policies
-- are in 0006_clinical_record.sql) decides which notes exist for the caller, exactly as it does
-- for a query on treatment_notes itself.

-- ------------------------------------------------------------------ reading

-- One row per note the caller may see. The wire has no NULL for a number, so pain not recorded
-- is -1, and so is an unanswered ODI section ({} when no ODI was taken at all). start_at (the
-- session's instant) orders lists; rows of other callers never appear (security_invoker).
CREATE OR REPLACE VIEW note_details WITH (security_invoker = true) AS
SELECT n.id, n.appointment_id, a.client_id, n.author_therapist_id, t.name AS author_name,
       n.status, coalesce(n.pain_before, -1) AS pain_before,
       coalesce(n.pain_after, -1) AS pain_after, n.areas, n.techniques, n.pressure,
       n.subjective, n.objective, n.assessment, n.plan,
       coalesce((SELECT array_agg(coalesce(x, -1) ORDER BY i)
                 FROM unnest(n.odi) WITH ORDINALITY AS u(x, i)), '{}')::smallint[] AS odi,
       n.odi_score, n.odi_score IS NOT NULL AS has_odi_score,
       clinic_format_instant(a.start_at, l.time_zone) AS session_start,
       CASE WHEN n.signed_at IS NOT NULL
            THEN clinic_format_instant(n.signed_at, l.time_zone) END AS signed_at,
       clinic_format_instant(n.created_at, l.time_zone) AS created_at,
       clinic_format_instant(n.updated_at, l.time_zone) AS updated_at,
       a.start_at, l.time_zone, n.care_decision,
       coalesce(n.care_decision_reason, '') AS care_decision_reason,
       coalesce(n.care_decision_intake, 0) AS care_decision_intake
FROM treatment_notes n
JOIN appointments a ON a.id = n.appointment_id
JOIN locations l ON l.id = a.location_id
JOIN therapists t ON t.id = n.author_therapist_id;

COMMENT ON VIEW note_details IS
    'Notes as the Notes service answers them; row-level security of treatment_notes applies (security_invoker).';

-- Amendments with their author's name, dated in the zone of the note's session. Visible exactly
-- when their note is (the row-level security of both tables).
CREATE OR REPLACE VIEW note_amendment_details WITH (security_invoker = true) AS
SELECT m.id, m.note_id, m.author_therapist_id, t.name AS author_name, m.reason, m.text,
       clinic_format_instant(m.created_at, l.time_zone) AS created_at,
       m.created_at AS created_instant
FROM note_amendments m
JOIN treatment_notes n ON n.id = m.note_id
JOIN appointments a ON a.id = n.appointment_id
JOIN locations l ON l.id = a.location_id
JOIN therapists t ON t.id = m.author_therapist_id;

-- ------------------------------------------------------------------ changing

-- Why a change of note p_note found no row to change, raised as the error the caller should
-- see: a note the caller cannot see does not exist for them (CLNOF); a signed one is frozen
-- (CLRUL, with what to do instead). Called after an UPDATE that row-level security or the
-- status filter left without a row, so the answer is about the note as it is now.
CREATE OR REPLACE FUNCTION clinic_note_refuse_change(p_note bigint, p_signing boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    st note_status;
BEGIN
    SELECT n.status INTO st FROM treatment_notes n WHERE n.id = p_note;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('note %s does not exist', p_note);
    ELSIF st = 'signed' AND p_signing THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s is already signed; corrections are added as amendments', p_note);
    ELSIF st = 'signed' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s is signed and cannot change; add an amendment', p_note);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
        'note %s is a draft of another therapist; only its author changes it', p_note);
END
$$;

-- Starts the draft of appointment p_appointment by therapist p_author and returns its id. A
-- cancelled session or a no-show had no treatment, so it gets no note (CLRUL). A second note
-- for one appointment breaks treatment_notes_one_per_appointment (23505), whoever's the first
-- is, which the daemon answers as ALREADY_EXISTS. The guard trigger (80_records.sql) checks the author.
CREATE OR REPLACE FUNCTION clinic_note_draft(p_appointment bigint, p_author bigint, p_pain_before smallint,
                                  p_pain_after smallint, p_areas body_region[],
                                  p_techniques technique[], p_pressure pressure,
                                  p_subjective text, p_objective text, p_assessment text,
                                  p_plan text, p_odi smallint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    st appointment_status;
    v_id bigint;
BEGIN
    SELECT a.status INTO st FROM appointments a WHERE a.id = p_appointment;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format(
            'appointment %s does not exist', p_appointment);
    ELSIF st = 'cancelled' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s was cancelled; a session that did not happen has no note', p_appointment);
    ELSIF st = 'no_show' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s was a no-show; a session that did not happen has no note', p_appointment);
    END IF;
    INSERT INTO treatment_notes (appointment_id, author_therapist_id, pain_before, pain_after,
                                 areas, techniques, pressure, subjective, objective, assessment,
                                 plan, odi)
    VALUES (p_appointment, p_author, p_pain_before, p_pain_after,
            coalesce(p_areas, '{}'), coalesce(p_techniques, '{}'), p_pressure,
            coalesce(p_subjective, ''), coalesce(p_objective, ''), coalesce(p_assessment, ''),
            coalesce(p_plan, ''), p_odi)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- Changes the fields of draft p_note that p_mask names (NoteContent's field names) to the given
-- values (NULL: not recorded) and returns its id. A signed note, or one the caller cannot see,
-- is refused by clinic_note_refuse_change. Unknown names in the mask are the daemon's to refuse;
-- here they change nothing.
CREATE OR REPLACE FUNCTION clinic_note_edit(p_note bigint, p_mask text[], p_pain_before smallint,
                                 p_pain_after smallint, p_areas body_region[],
                                 p_techniques technique[], p_pressure pressure,
                                 p_subjective text, p_objective text, p_assessment text,
                                 p_plan text, p_odi smallint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    UPDATE treatment_notes n SET
        pain_before = CASE WHEN 'pain_before' = ANY (p_mask) THEN p_pain_before ELSE n.pain_before END,
        pain_after = CASE WHEN 'pain_after' = ANY (p_mask) THEN p_pain_after ELSE n.pain_after END,
        areas = CASE WHEN 'areas' = ANY (p_mask) THEN coalesce(p_areas, '{}') ELSE n.areas END,
        techniques = CASE WHEN 'techniques' = ANY (p_mask) THEN coalesce(p_techniques, '{}')
                          ELSE n.techniques END,
        pressure = CASE WHEN 'pressure' = ANY (p_mask) THEN p_pressure ELSE n.pressure END,
        subjective = CASE WHEN 'subjective' = ANY (p_mask) THEN coalesce(p_subjective, '')
                          ELSE n.subjective END,
        objective = CASE WHEN 'objective' = ANY (p_mask) THEN coalesce(p_objective, '')
                         ELSE n.objective END,
        assessment = CASE WHEN 'assessment' = ANY (p_mask) THEN coalesce(p_assessment, '')
                          ELSE n.assessment END,
        plan = CASE WHEN 'plan' = ANY (p_mask) THEN coalesce(p_plan, '') ELSE n.plan END,
        odi = CASE WHEN 'odi' = ANY (p_mask) THEN p_odi ELSE n.odi END
    WHERE n.id = p_note AND n.status = 'draft'
    RETURNING n.id INTO v_id;
    IF NOT FOUND THEN
        PERFORM clinic_note_refuse_change(p_note, false);
    END IF;
    RETURN v_id;
END
$$;

-- Signs draft p_note and returns its id. The guard trigger (80_records.sql) refuses a note without pain
-- before and after, an area and a technique, naming every missing one.
CREATE OR REPLACE FUNCTION clinic_note_sign(p_note bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    UPDATE treatment_notes n SET status = 'signed'
    WHERE n.id = p_note AND n.status = 'draft'
    RETURNING n.id INTO v_id;
    IF NOT FOUND THEN
        PERFORM clinic_note_refuse_change(p_note, true);
    END IF;
    RETURN v_id;
END
$$;

-- Appends an amendment by p_author to signed note p_note and returns the note's id. A note the
-- caller cannot see does not exist for them; amending a draft is refused by the amendment
-- trigger (80_records.sql; edit it instead).
CREATE OR REPLACE FUNCTION clinic_note_amend(p_note bigint, p_author bigint, p_reason text, p_text text)
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM treatment_notes n WHERE n.id = p_note) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('note %s does not exist', p_note);
    END IF;
    INSERT INTO note_amendments (note_id, author_therapist_id, reason, text)
    VALUES (p_note, p_author, p_reason, p_text);
    RETURN p_note;
END
$$;

GRANT SELECT ON note_details, note_amendment_details TO clinic_app;
-- Functions: EXECUTE is PUBLIC's by default; they run with the caller's rights.

-- ------------------------------------------------------------------ course of care

-- The client's course: one row per signed note, in session order, with the change from the
-- baseline and whether it reaches the minimal clinically important difference:
--   pain: a drop of >= 2 points or >= 30 % of the baseline (Farrar et al. 2001, NRS 0..10);
--   ODI:  a drop of >= 10 points or >= 30 % of the baseline (Ostelo et al. 2008, Spine 33:90-94).
-- (The questionnaires recorded between sessions, RMDQ, PSFS and STarT Back, are in 87_measures.sql.)
-- Course change uses pain BEFORE each session (how the client arrives, not the immediate
-- after-effect of treatment); the baseline is the first session, for ODI the first session that
-- recorded one. Changes are "now minus baseline": negative is better.
-- SECURITY INVOKER (the default): as clinic_app, row-level security decides which notes count.
CREATE OR REPLACE FUNCTION clinic_client_progress(p_client bigint)
RETURNS TABLE (session integer, note_id bigint, appointment_id bigint, session_start text,
               pain_before smallint, pain_after smallint, odi_score numeric,
               pain_change integer, odi_change numeric, pain_mcid boolean, odi_mcid boolean)
LANGUAGE sql STABLE AS $$
    WITH course AS (
        SELECT n.id, n.appointment_id, a.start_at, l.time_zone, n.pain_before, n.pain_after,
               n.odi_score
        FROM treatment_notes n
        JOIN appointments a ON a.id = n.appointment_id
        JOIN locations l ON l.id = a.location_id
        WHERE a.client_id = p_client AND n.status = 'signed'),
    baseline AS (
        SELECT (SELECT c.pain_before FROM course c WHERE c.pain_before IS NOT NULL
                ORDER BY c.start_at, c.id LIMIT 1) AS pain,
               (SELECT c.odi_score FROM course c WHERE c.odi_score IS NOT NULL
                ORDER BY c.start_at, c.id LIMIT 1) AS odi)
    SELECT (row_number() OVER (ORDER BY c.start_at, c.id))::integer,
           c.id, c.appointment_id, clinic_format_instant(c.start_at, c.time_zone),
           c.pain_before, c.pain_after, c.odi_score,
           c.pain_before - b.pain,
           c.odi_score - b.odi,
           coalesce(b.pain - c.pain_before >= 2 OR b.pain - c.pain_before >= 0.3 * b.pain, false)
               AND b.pain > 0,
           coalesce(b.odi - c.odi_score > 0
                    AND (b.odi - c.odi_score >= 10 OR b.odi - c.odi_score >= 0.3 * b.odi), false)
    FROM course c CROSS JOIN baseline b
    ORDER BY c.start_at, c.id
$$;
