-- 0024_outcome_measures.sql: the back-pain questionnaires a client answers between sessions,
-- kept apart from the treatment notes because they are not tied to a session: the
-- Roland-Morris Disability Questionnaire (RMDQ), the Patient-Specific Functional Scale (PSFS)
-- and the Keele STarT Back Screening Tool. Each row is one questionnaire as answered, with the
-- instant it was answered (optionally the appointment or note it belongs to); its score is
-- computed here, by generated columns, so every reader gets the same number and no caller can
-- store a score that its answers do not give.
--
-- The functions the CHECKs and generated columns call are part of the table and stay here
-- (sql/README.md); what reads the table and decides whether a change is clinically important is
-- in sql/functions/87_measures.sql.

CREATE TYPE measure_kind AS ENUM ('rmdq', 'psfs', 'startback');
CREATE TYPE startback_risk AS ENUM ('low', 'medium', 'high');

-- ------------------------------------------------------------------ valid answers

-- Each validity function returns false, never NULL: a CHECK passes on NULL, and an empty or
-- two-dimensional array gives NULL from array_ndims and array_lower.

-- RMDQ: 24 statements, each answered yes (1) or no (0); none left out.
CREATE FUNCTION clinic_valid_rmdq(p_answers smallint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_ndims(p_answers) = 1 AND array_lower(p_answers, 1) = 1
                    AND cardinality(p_answers) = 24
                    AND NOT EXISTS (SELECT 1 FROM unnest(p_answers) AS x
                                    WHERE x IS NULL OR x NOT IN (0, 1)), false)
$$;

-- PSFS: 1 to 5 activities the client chose, each named (1-60 characters, not blank, no control
-- characters) and rated 0 (unable to do it) to 10 (able to do it as before the problem).
CREATE FUNCTION clinic_valid_psfs(p_scores smallint[], p_names text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_ndims(p_scores) = 1 AND array_lower(p_scores, 1) = 1
                    AND cardinality(p_scores) BETWEEN 1 AND 5
                    AND array_ndims(p_names) = 1 AND array_lower(p_names, 1) = 1
                    AND cardinality(p_names) = cardinality(p_scores)
                    AND NOT EXISTS (SELECT 1 FROM unnest(p_scores) AS x
                                    WHERE x IS NULL OR x NOT BETWEEN 0 AND 10)
                    AND NOT EXISTS (SELECT 1 FROM unnest(p_names) AS n
                                    WHERE n IS NULL OR length(btrim(n)) NOT BETWEEN 1 AND 60
                                       OR length(n) > 60 OR n ~ '[[:cntrl:]]'), false)
$$;

-- STarT Back: nine items. Items 1-8 agree (1) or disagree (0); item 9, "how bothersome has your
-- back pain been in the last two weeks", is kept as answered on its five levels: 0 not at all,
-- 1 slightly, 2 moderately, 3 very much, 4 extremely (scored by clinic_startback_item9).
CREATE FUNCTION clinic_valid_startback(p_answers smallint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_ndims(p_answers) = 1 AND array_lower(p_answers, 1) = 1
                    AND cardinality(p_answers) = 9
                    AND NOT EXISTS (SELECT 1 FROM unnest(p_answers) WITH ORDINALITY AS u(x, i)
                                    WHERE x IS NULL
                                       OR (i <= 8 AND x NOT IN (0, 1))
                                       OR (i = 9 AND x NOT BETWEEN 0 AND 4)), false)
$$;

-- ------------------------------------------------------------------ scores

-- RMDQ: the number of statements answered yes, 0-24 (Roland & Morris 1983); lower is better.
CREATE FUNCTION clinic_rmdq_score(p_answers smallint[]) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sum(x)::numeric FROM unnest(p_answers) AS x
$$;

-- PSFS: the mean of the activities' ratings, 0-10, to two decimals; HIGHER is better. Means of
-- 1 to 5 whole ratings differ by multiples of 1/60 or exactly, so two decimals never move a
-- change across the 2-point threshold.
CREATE FUNCTION clinic_psfs_score(p_scores smallint[]) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT round(avg(x)::numeric, 2) FROM unnest(p_scores) AS x
$$;

-- STarT Back item 9 scores 1 only for "very much" (3) or "extremely" (4) (Hill et al. 2008).
CREATE FUNCTION clinic_startback_item9(p_level smallint) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (p_level >= 3)::integer
$$;

-- STarT Back total, 0-9: items 1-8 plus the scored item 9.
CREATE FUNCTION clinic_startback_total(p_answers smallint[]) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(sum(x) FILTER (WHERE i <= 8), 0)::integer
           + coalesce(clinic_startback_item9(p_answers[9]), 0)
    FROM unnest(p_answers) WITH ORDINALITY AS u(x, i)
$$;

-- STarT Back psychosocial subscale, 0-5: items 5-8 (fear, worry, catastrophising, low mood)
-- plus the scored item 9.
CREATE FUNCTION clinic_startback_psychosocial(p_answers smallint[]) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(sum(x) FILTER (WHERE i BETWEEN 5 AND 8), 0)::integer
           + coalesce(clinic_startback_item9(p_answers[9]), 0)
    FROM unnest(p_answers) WITH ORDINALITY AS u(x, i)
$$;

-- The risk group (Hill et al. 2008): total 0-3 low; 4-9 medium, unless the psychosocial
-- subscale is 4 or 5: high.
CREATE FUNCTION clinic_startback_risk(p_answers smallint[]) RETURNS startback_risk
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN clinic_startback_total(p_answers) <= 3 THEN 'low'
                WHEN clinic_startback_psychosocial(p_answers) >= 4 THEN 'high'
                ELSE 'medium' END::startback_risk
$$;

-- ------------------------------------------------------------------ the table

CREATE TABLE outcome_measures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL
        CONSTRAINT outcome_measures_client_fkey REFERENCES clients ON DELETE RESTRICT,
    kind measure_kind NOT NULL,
    -- RMDQ: 24 of 0/1; PSFS: the activities' ratings, 0-10; STarT Back: 9 (item 9: 0-4).
    answers smallint[] NOT NULL,
    -- PSFS only: the activities' names, one per rating; NULL for the other kinds.
    activities text[],
    -- When the client answered (a paper form may be entered later); created_at is when it was
    -- entered. Both are instants.
    recorded_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Optionally the session it was answered at, or the note it belongs to.
    appointment_id bigint
        CONSTRAINT outcome_measures_appointment_fkey REFERENCES appointments ON DELETE RESTRICT,
    note_id bigint
        CONSTRAINT outcome_measures_note_fkey REFERENCES treatment_notes ON DELETE RESTRICT,
    -- Who entered it (the caller's user and role, stamped by the insert trigger in
    -- sql/functions/87_measures.sql): a self-reported questionnaire or one taken by staff.
    recorded_by_user_id bigint,
    recorded_by_role text CONSTRAINT outcome_measures_role_length CHECK (length(recorded_by_role) <= 32),
    score numeric GENERATED ALWAYS AS (
        CASE kind WHEN 'rmdq' THEN clinic_rmdq_score(answers)
                  WHEN 'psfs' THEN clinic_psfs_score(answers)
                  ELSE clinic_startback_total(answers)::numeric END) STORED,
    startback_psychosocial smallint GENERATED ALWAYS AS (
        CASE WHEN kind = 'startback' THEN clinic_startback_psychosocial(answers)::smallint END) STORED,
    startback_risk startback_risk GENERATED ALWAYS AS (
        CASE WHEN kind = 'startback' THEN clinic_startback_risk(answers) END) STORED,
    CONSTRAINT outcome_measures_rmdq_valid
        CHECK (kind <> 'rmdq' OR (clinic_valid_rmdq(answers) AND activities IS NULL)),
    CONSTRAINT outcome_measures_psfs_valid
        CHECK (kind <> 'psfs' OR clinic_valid_psfs(answers, activities)),
    CONSTRAINT outcome_measures_startback_valid
        CHECK (kind <> 'startback' OR (clinic_valid_startback(answers) AND activities IS NULL)),
    CONSTRAINT outcome_measures_recorded_before_entered CHECK (recorded_at <= created_at)
);
CREATE INDEX outcome_measures_client ON outcome_measures (client_id, kind, recorded_at);

COMMENT ON TABLE outcome_measures IS
    'Questionnaires a client answered (RMDQ, PSFS, STarT Back) with their scores, computed here. '
    'Part of the clinical record: append-only (trigger outcome_measures_guard).';

-- Append-only, like the notes: no UPDATE or DELETE for the daemon (and the guard trigger
-- refuses them to everyone).
GRANT SELECT, INSERT ON outcome_measures TO clinic_app;

-- ------------------------------------------------------------------ row-level security

-- As private as the notes (0006): a client reads and answers their own; a therapist those of
-- clients in their care; admins all; the front desk and a caller without a role nothing.
ALTER TABLE outcome_measures ENABLE ROW LEVEL SECURITY;

CREATE POLICY measures_admin ON outcome_measures TO clinic_app
    USING (clinic_caller_role() = 'admin') WITH CHECK (clinic_caller_role() = 'admin');
CREATE POLICY measures_therapist_read ON outcome_measures FOR SELECT TO clinic_app
    USING (clinic_caller_role() = 'therapist' AND clinic_caller_treats(client_id));
CREATE POLICY measures_therapist_insert ON outcome_measures FOR INSERT TO clinic_app
    WITH CHECK (clinic_caller_role() = 'therapist' AND clinic_caller_treats(client_id));
CREATE POLICY measures_client_read ON outcome_measures FOR SELECT TO clinic_app
    USING (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
CREATE POLICY measures_client_insert ON outcome_measures FOR INSERT TO clinic_app
    WITH CHECK (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
