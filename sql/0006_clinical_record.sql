-- 0006_clinical_record.sql: treatment notes, their amendments, the audit trail, the daemon's
-- database role, and each client's course of care.
--
-- Clinical notes are health records: private, permanent, accountable. What the database itself
-- guarantees, whoever connects and however (daemon, psql, a future tool):
--  * a signed note never changes and never disappears (row triggers refuse UPDATE and DELETE,
--    statement triggers refuse TRUNCATE); corrections are appended amendments;
--  * amendments and audit rows are append-only in the same way;
--  * the role the daemon should run as, clinic_app, holds no UPDATE, DELETE or TRUNCATE on audit,
--    no DELETE on notes, and sees notes only through row-level security keyed on the caller.
--
-- The triggers that enforce this, and the functions that read and change notes, live in
-- sql/functions/80_records.sql and 85_notes.sql; the functions this file's CHECKs, generated
-- column and policies call are part of those tables and stay here (sql/README.md).

-- ------------------------------------------------------------------ enumerations

-- Body regions as a massage therapist charts them; left and right where treatment differs by
-- side. Adding a value later is ALTER TYPE ... ADD VALUE; removing one is never needed for
-- records that must stay readable.
CREATE TYPE body_region AS ENUM (
    'head_face', 'neck', 'shoulder_left', 'shoulder_right', 'upper_back', 'mid_back',
    'lower_back', 'sacrum_pelvis', 'chest', 'abdomen', 'arm_left', 'arm_right',
    'hand_left', 'hand_right', 'hip_left', 'hip_right', 'glutes', 'hamstrings', 'quadriceps',
    'calves', 'feet');

CREATE TYPE technique AS ENUM (
    'swedish', 'deep_tissue', 'myofascial_release', 'trigger_point', 'stretching', 'sports',
    'lymphatic_drainage', 'hot_stone', 'cupping');

CREATE TYPE pressure AS ENUM ('light', 'moderate', 'firm', 'deep');

CREATE TYPE note_status AS ENUM ('draft', 'signed');

-- ------------------------------------------------------------------ Oswestry Disability Index

-- Ten sections, each 0..5 or NULL (not answered). A CHECK written as "0 <= ALL (odi)" would
-- pass silently on any NULL element, so the rule is spelt out here instead.
CREATE FUNCTION clinic_valid_odi(p_odi smallint[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_ndims(p_odi) = 1 AND array_lower(p_odi, 1) = 1 AND cardinality(p_odi) = 10
           AND coalesce(bool_and(x BETWEEN 0 AND 5) FILTER (WHERE x IS NOT NULL), true)
    FROM unnest(p_odi) AS x
$$;

-- The ODI in percent: sum of the answered sections / (5 x sections answered) x 100, one decimal
-- (Fairbank & Pynsent 2000: unanswered sections are left out of the denominator). NULL when no
-- section is answered: "no disability measured" is not "no disability".
CREATE FUNCTION clinic_odi_score(p_odi smallint[]) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN count(x) = 0 THEN NULL
                ELSE round(sum(x)::numeric * 100 / (5 * count(x)), 1) END
    FROM unnest(p_odi) AS x
$$;

-- ------------------------------------------------------------------ treatment notes

CREATE TABLE treatment_notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- One note per session. RESTRICT: an appointment with a note is part of the record and
    -- cannot be deleted (cancelling is a status change, which keeps it).
    appointment_id bigint NOT NULL
        CONSTRAINT treatment_notes_appointment_fkey REFERENCES appointments ON DELETE RESTRICT,
    author_therapist_id bigint NOT NULL
        CONSTRAINT treatment_notes_author_fkey REFERENCES therapists ON DELETE RESTRICT,
    status note_status NOT NULL DEFAULT 'draft',
    -- Numeric rating scale 0..10; NULL while the draft is unfilled, required to sign.
    pain_before smallint CONSTRAINT treatment_notes_pain_before_range CHECK (pain_before BETWEEN 0 AND 10),
    pain_after smallint CONSTRAINT treatment_notes_pain_after_range CHECK (pain_after BETWEEN 0 AND 10),
    areas body_region[] NOT NULL DEFAULT '{}'
        CONSTRAINT treatment_notes_areas_no_nulls CHECK (array_position(areas, NULL) IS NULL),
    techniques technique[] NOT NULL DEFAULT '{}'
        CONSTRAINT treatment_notes_techniques_no_nulls CHECK (array_position(techniques, NULL) IS NULL),
    pressure pressure,
    -- SOAP. Bounded so that one note cannot fill a reply or the disk; 20000 characters is
    -- about eight pages, far beyond a real session note.
    subjective text NOT NULL DEFAULT ''
        CONSTRAINT treatment_notes_subjective_length CHECK (length(subjective) <= 20000),
    objective text NOT NULL DEFAULT ''
        CONSTRAINT treatment_notes_objective_length CHECK (length(objective) <= 20000),
    assessment text NOT NULL DEFAULT ''
        CONSTRAINT treatment_notes_assessment_length CHECK (length(assessment) <= 20000),
    plan text NOT NULL DEFAULT ''
        CONSTRAINT treatment_notes_plan_length CHECK (length(plan) <= 20000),
    -- Optional: the client's Oswestry answers, exactly 10 sections, each NULL or 0..5.
    odi smallint[] CONSTRAINT treatment_notes_odi_valid CHECK (clinic_valid_odi(odi)),
    -- Computed by the database so that every reader gets the same number.
    odi_score numeric GENERATED ALWAYS AS (clinic_odi_score(odi)) STORED,
    signed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT treatment_notes_one_per_appointment UNIQUE (appointment_id),
    CONSTRAINT treatment_notes_signed_at_iff_signed CHECK ((status = 'signed') = (signed_at IS NOT NULL))
);
CREATE INDEX treatment_notes_author ON treatment_notes (author_therapist_id);

COMMENT ON TABLE treatment_notes IS
    'One note per appointment, by its therapist. Drafts are editable; a signed note never changes '
    '(trigger treatment_notes_guard): corrections go to note_amendments.';

-- ------------------------------------------------------------------ amendments

-- A correction to a signed note: dated, with its author and reason. Never changed, never removed.
CREATE TABLE note_amendments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    note_id bigint NOT NULL
        CONSTRAINT note_amendments_note_fkey REFERENCES treatment_notes ON DELETE RESTRICT,
    author_therapist_id bigint NOT NULL
        CONSTRAINT note_amendments_author_fkey REFERENCES therapists ON DELETE RESTRICT,
    reason text NOT NULL
        CONSTRAINT note_amendments_reason_length CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    text text NOT NULL
        CONSTRAINT note_amendments_text_length CHECK (length(btrim(text)) BETWEEN 1 AND 20000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX note_amendments_note ON note_amendments (note_id, created_at);

-- ------------------------------------------------------------------ audit

-- Who did what, when, with which outcome: one row per mutating call and per note read, written
-- in the call's own transaction. user_id refers to the accounts table of a later migration
-- (no foreign key yet); role is kept as text so the row stays meaningful after the user changes.
CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    user_id bigint,
    role text CONSTRAINT audit_role_length CHECK (length(role) <= 32),
    method text NOT NULL CONSTRAINT audit_method_length CHECK (length(method) BETWEEN 1 AND 200),
    target text CONSTRAINT audit_target_length CHECK (length(target) <= 200),
    outcome text NOT NULL CONSTRAINT audit_outcome_length CHECK (length(outcome) BETWEEN 1 AND 64),
    request_id text CONSTRAINT audit_request_id_length CHECK (length(request_id) <= 128)
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user_at ON audit (user_id, at);

COMMENT ON TABLE audit IS
    'Append-only: triggers refuse UPDATE, DELETE and TRUNCATE for everyone; clinic_app holds only SELECT and INSERT.';

-- ------------------------------------------------------------------ the daemon's role

-- Roles belong to the cluster, not the database, and several databases (tests, or daemons
-- migrating side by side) may run this at the same moment: create it only when missing, and if
-- another transaction created it meanwhile (duplicate_object, or unique_violation on
-- pg_authid when both inserted at once), that is the same outcome.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clinic_app') THEN
        BEGIN
            CREATE ROLE clinic_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

COMMENT ON ROLE clinic_app IS
    'What clinicd needs and no more: no UPDATE/DELETE/TRUNCATE on audit, no DELETE on notes; owns nothing.';

-- Grants are listed table by table (not ON ALL TABLES) so that a new table is closed to the
-- daemon until its migration says what the daemon may do with it.
GRANT USAGE ON SCHEMA public TO clinic_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    locations, closures, rooms, services, therapists, therapist_services, working_hours,
    time_off, clients, appointments, idempotency_keys TO clinic_app;
GRANT SELECT, INSERT, UPDATE ON events TO clinic_app;
GRANT SELECT ON schema_migrations TO clinic_app;  -- the views' grants are beside them in sql/functions/
GRANT SELECT, INSERT, UPDATE ON treatment_notes TO clinic_app;   -- no DELETE: drafts are kept too
GRANT SELECT, INSERT ON note_amendments TO clinic_app;
GRANT SELECT, INSERT ON audit TO clinic_app;                      -- never UPDATE, DELETE, TRUNCATE
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app;
-- Functions: EXECUTE is PUBLIC's by default, which is what the daemon needs.

-- ------------------------------------------------------------------ row-level security

-- A second wall behind the daemon's own authorisation: the daemon sets, per transaction,
--   SET LOCAL clinic.role = 'admin' | 'front_desk' | 'therapist' | 'client'
--   SET LOCAL clinic.user_therapist_id = N   (therapists)   /  clinic.user_client_id = N (clients)
-- (or set_config(..., true)). An unset or unknown role sees nothing. The table owner (the
-- migrating superuser) is not subject to these policies; clinic_app is.

CREATE FUNCTION clinic_caller_role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('clinic.role', true), '')
$$;

CREATE FUNCTION clinic_caller_therapist() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('clinic.user_therapist_id', true), '')::bigint
$$;

CREATE FUNCTION clinic_caller_client() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('clinic.user_client_id', true), '')::bigint
$$;

-- Is p_client in the care of the calling therapist: do they have a (not cancelled) appointment
-- with them, past or future? A therapist about to treat a client reads the course so far.
CREATE FUNCTION clinic_caller_treats(p_client bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM appointments a
                   WHERE a.client_id = p_client AND a.therapist_id = clinic_caller_therapist()
                     AND a.status <> 'cancelled')
$$;

ALTER TABLE treatment_notes ENABLE ROW LEVEL SECURITY;

-- Admins: everything (the guard trigger still protects signed notes).
CREATE POLICY notes_admin ON treatment_notes TO clinic_app
    USING (clinic_caller_role() = 'admin') WITH CHECK (clinic_caller_role() = 'admin');

-- Therapists read the signed notes of clients in their care, and their own drafts.
CREATE POLICY notes_therapist_read ON treatment_notes FOR SELECT TO clinic_app
    USING (clinic_caller_role() = 'therapist'
           AND (author_therapist_id = clinic_caller_therapist()
                OR (status = 'signed'
                    AND clinic_caller_treats((SELECT a.client_id FROM appointments a
                                              WHERE a.id = appointment_id)))));

-- Therapists write only their own notes, and change only their own drafts.
CREATE POLICY notes_therapist_insert ON treatment_notes FOR INSERT TO clinic_app
    WITH CHECK (clinic_caller_role() = 'therapist' AND author_therapist_id = clinic_caller_therapist());
CREATE POLICY notes_therapist_update ON treatment_notes FOR UPDATE TO clinic_app
    USING (clinic_caller_role() = 'therapist' AND author_therapist_id = clinic_caller_therapist()
           AND status = 'draft')
    WITH CHECK (clinic_caller_role() = 'therapist' AND author_therapist_id = clinic_caller_therapist());

-- Clients read their own signed notes; never drafts.
CREATE POLICY notes_client_read ON treatment_notes FOR SELECT TO clinic_app
    USING (clinic_caller_role() = 'client' AND status = 'signed'
           AND EXISTS (SELECT 1 FROM appointments a
                       WHERE a.id = appointment_id AND a.client_id = clinic_caller_client()));

-- front_desk and everyone else: no policy, so no rows.

-- Amendments are as private as their notes: one is visible exactly when its note is visible to
-- the caller (the subquery on treatment_notes runs under the caller's own policies above).
ALTER TABLE note_amendments ENABLE ROW LEVEL SECURITY;
CREATE POLICY amendments_read ON note_amendments FOR SELECT TO clinic_app
    USING (EXISTS (SELECT 1 FROM treatment_notes n WHERE n.id = note_id));
CREATE POLICY amendments_insert ON note_amendments FOR INSERT TO clinic_app
    WITH CHECK (clinic_caller_role() = 'admin'
                OR (clinic_caller_role() = 'therapist'
                    AND author_therapist_id = clinic_caller_therapist()
                    AND EXISTS (SELECT 1 FROM treatment_notes n WHERE n.id = note_id)));

