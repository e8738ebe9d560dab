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
-- Errors use the SQLSTATEs of 0003 (CLRUL = FAILED_PRECONDITION, CLINV = INVALID_ARGUMENT,
-- CLNOF = NOT_FOUND), so the daemon maps them without knowing this file.

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

-- Every write to a note passes here (BEFORE INSERT, UPDATE, DELETE), whoever asks, so the rules
-- hold for the daemon, for psql as the owner, and for any future tool alike:
--  * a signed note refuses UPDATE and DELETE;
--  * the only change to a draft besides editing it is signing: status draft -> signed with
--    signed_at (now() when not given) and nothing else changed, so what is signed is exactly the
--    draft its author last saw;
--  * signing needs pain before and after, at least one area and one technique;
--  * the author is the appointment's therapist.
CREATE FUNCTION clinic_treatment_note_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    appt_therapist bigint;
    missing text[] := '{}';
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'signed' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s is signed and cannot change; add an amendment', OLD.id);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;

    IF TG_OP = 'UPDATE' THEN
        IF NEW.id <> OLD.id THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('note %s cannot change its id', OLD.id);
        END IF;
        IF NEW.status = 'signed' THEN
            -- Signing changes the status and signed_at only (updated_at is ours to set).
            IF (NEW.appointment_id, NEW.author_therapist_id, NEW.pain_before, NEW.pain_after,
                NEW.areas, NEW.techniques, NEW.pressure, NEW.subjective, NEW.objective,
                NEW.assessment, NEW.plan, NEW.odi, NEW.created_at)
               IS DISTINCT FROM
               (OLD.appointment_id, OLD.author_therapist_id, OLD.pain_before, OLD.pain_after,
                OLD.areas, OLD.techniques, OLD.pressure, OLD.subjective, OLD.objective,
                OLD.assessment, OLD.plan, OLD.odi, OLD.created_at) THEN
                RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                    'note %s: signing changes nothing but the status; save the draft first, then sign', OLD.id);
            END IF;
        END IF;
        NEW.updated_at := now();
    END IF;

    IF NEW.status = 'signed' THEN
        NEW.signed_at := coalesce(NEW.signed_at, now());
        IF NEW.pain_before IS NULL THEN missing := missing || 'pain before'::text; END IF;
        IF NEW.pain_after IS NULL THEN missing := missing || 'pain after'::text; END IF;
        IF cardinality(NEW.areas) = 0 THEN missing := missing || 'an area treated'::text; END IF;
        IF cardinality(NEW.techniques) = 0 THEN missing := missing || 'a technique'::text; END IF;
        IF cardinality(missing) > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'note %s cannot be signed without %s', coalesce(NEW.id::text, '(new)'),
                array_to_string(missing, ', '));
        END IF;
    ELSIF NEW.signed_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'signed_at',
            MESSAGE = 'a draft has no signing time; set the status to signed to sign it';
    END IF;

    IF TG_OP = 'INSERT' OR NEW.appointment_id <> OLD.appointment_id
       OR NEW.author_therapist_id <> OLD.author_therapist_id THEN
        SELECT a.therapist_id INTO appt_therapist FROM appointments a WHERE a.id = NEW.appointment_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format(
                'appointment %s does not exist', NEW.appointment_id);
        END IF;
        IF appt_therapist <> NEW.author_therapist_id THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'the note of appointment %s is written by its therapist (%s), not therapist %s',
                NEW.appointment_id, appt_therapist, NEW.author_therapist_id);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER treatment_notes_guard BEFORE INSERT OR UPDATE OR DELETE ON treatment_notes
    FOR EACH ROW EXECUTE FUNCTION clinic_treatment_note_guard();

-- TRUNCATE skips row triggers: refuse it outright on every append-only or permanent table.
CREATE FUNCTION clinic_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
        '%s is a permanent record and cannot be truncated', TG_TABLE_NAME);
END
$$;

CREATE TRIGGER treatment_notes_no_truncate BEFORE TRUNCATE ON treatment_notes
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

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

-- A draft is simply edited; amending is for what has been signed. A signed note never returns
-- to draft, so no lock is needed between this check and the insert.
CREATE FUNCTION clinic_note_amendment_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    st note_status;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'amendment %s cannot change; add another amendment', OLD.id);
    END IF;
    SELECT n.status INTO st FROM treatment_notes n WHERE n.id = NEW.note_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('note %s does not exist', NEW.note_id);
    END IF;
    IF st <> 'signed' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s is a draft; edit it instead of amending it', NEW.note_id);
    END IF;
    NEW.created_at := now();  -- the date of an amendment is when it was made, not what a caller says
    RETURN NEW;
END
$$;

CREATE TRIGGER note_amendments_guard BEFORE INSERT OR UPDATE OR DELETE ON note_amendments
    FOR EACH ROW EXECUTE FUNCTION clinic_note_amendment_guard();
CREATE TRIGGER note_amendments_no_truncate BEFORE TRUNCATE ON note_amendments
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

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

CREATE FUNCTION clinic_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
        'audit row %s cannot be changed or deleted: the audit trail is append-only', OLD.id);
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

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
GRANT SELECT ON appointment_details, event_details, schema_migrations TO clinic_app;
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

-- ------------------------------------------------------------------ course of care

-- The client's course: one row per signed note, in session order, with the change from the
-- baseline and whether it reaches the minimal clinically important difference:
--   pain: a drop of >= 2 points or >= 30 % of the baseline (Farrar et al. 2001, NRS 0..10);
--   ODI:  a drop of >= 10 points (Ostelo et al. 2008).
-- Course change uses pain BEFORE each session (how the client arrives, not the immediate
-- after-effect of treatment); the baseline is the first session, for ODI the first session that
-- recorded one. Changes are "now minus baseline": negative is better.
-- SECURITY INVOKER (the default): as clinic_app, row-level security decides which notes count.
CREATE FUNCTION clinic_client_progress(p_client bigint)
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
           coalesce(b.odi - c.odi_score >= 10, false)
    FROM course c CROSS JOIN baseline b
    ORDER BY c.start_at, c.id
$$;
