-- 82_care.sql: care before the first touch: clients' health histories (intakes) and consents
-- (their tables are in 0023_intake_consent.sql), what a booking and a day sheet flag, and what a
-- note needs before it can be signed: a decision on a flagged client, general consent, and
-- written consent for each sensitive area it names (clinic_note_care_check, called by the note
-- guard in 80_records.sql).
--
-- Functions marked SECURITY DEFINER answer yes/no questions about rows the caller may not read
-- (the front desk sees that a flag exists, never the history); they return no content.

-- ------------------------------------------------------------------ guards

-- A version of a health history is never changed or removed: a change is a new version.
CREATE OR REPLACE FUNCTION clinic_intake_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'version %s of client %s''s health history cannot change; record a new version',
            OLD.version, OLD.client_id);
    END IF;
    -- when and by whom it was recorded, not what a caller says
    NEW.recorded_at := now();
    NEW.recorded_by := clinic_caller_user();
    NEW.recorded_role := clinic_caller_role();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER client_intakes_append_only BEFORE INSERT OR UPDATE OR DELETE ON client_intakes
    FOR EACH ROW EXECUTE FUNCTION clinic_intake_guard();
CREATE OR REPLACE TRIGGER client_intakes_no_truncate BEFORE TRUNCATE ON client_intakes
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

-- A consent is never deleted; the one change it knows is its withdrawal, once, stamped now.
CREATE OR REPLACE FUNCTION clinic_consent_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'consent %s cannot be deleted; withdraw it instead', OLD.id);
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.withdrawn_at IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'withdrawn_at',
                MESSAGE = 'a consent is recorded as given; withdraw it afterwards';
        END IF;
        IF NEW.given_at > now() THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'given_at',
                MESSAGE = 'given_at is in the future; give the date the client consented';
        END IF;
        NEW.given_by := clinic_caller_user();
        RETURN NEW;
    END IF;
    IF OLD.withdrawn_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'consent %s was already withdrawn; a withdrawal is not changed', OLD.id);
    END IF;
    IF (NEW.id, NEW.client_id, NEW.kind, NEW.how, NEW.given_at, NEW.given_by)
       IS DISTINCT FROM (OLD.id, OLD.client_id, OLD.kind, OLD.how, OLD.given_at, OLD.given_by)
       OR NEW.withdrawn_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'consent %s cannot change; withdraw it, and record a new one if needed', OLD.id);
    END IF;
    NEW.withdrawn_at := now();
    NEW.withdrawn_by := clinic_caller_user();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER client_consents_guard BEFORE INSERT OR UPDATE OR DELETE ON client_consents
    FOR EACH ROW EXECUTE FUNCTION clinic_consent_guard();
CREATE OR REPLACE TRIGGER client_consents_no_truncate BEFORE TRUNCATE ON client_consents
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

-- ------------------------------------------------------------------ what anyone may know

-- Whether p_client has a health history, its newest version and when it was recorded, and
-- whether it lists a red flag or a contraindication. Nothing of what it says.
CREATE OR REPLACE FUNCTION clinic_intake_status(p_client bigint)
RETURNS TABLE (has_intake boolean, version integer, recorded_at timestamptz, health_flag boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.version IS NOT NULL, coalesce(i.version, 0), i.recorded_at,
           coalesce(cardinality(i.red_flags) + cardinality(i.contraindications) > 0, false)
    FROM (SELECT) AS one
    LEFT JOIN LATERAL (SELECT x.version, x.recorded_at, x.red_flags, x.contraindications
                       FROM client_intakes x WHERE x.client_id = p_client
                       ORDER BY x.version DESC LIMIT 1) AS i ON true
$$;

-- Whether p_client's consent of kind p_kind covered a session from p_start to p_end: given
-- before it ended (given_at may be the date on a paper form entered later) and not withdrawn
-- before it began.
CREATE OR REPLACE FUNCTION clinic_consent_covers(p_client bigint, p_kind consent_kind,
                                                 p_start timestamptz, p_end timestamptz)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM client_consents c
                   WHERE c.client_id = p_client AND c.kind = p_kind AND c.given_at <= p_end
                     AND (c.withdrawn_at IS NULL OR c.withdrawn_at > p_start))
$$;

-- What shows beside an appointment of p_client starting at p_start, on a booking's answer, the
-- day sheet and the therapist's agenda: 'health_flag' (the newest history lists a red flag or a
-- contraindication), 'intake_missing', 'intake_out_of_date' (recorded more than a year before the
-- session), 'consent_missing' (no general consent in force).
-- PL/pgSQL, not SQL: it runs for every appointment a reply holds (Book's included), and a SQL
-- function that cannot be inlined (SECURITY DEFINER) is planned again on every call: 70 us a
-- call against 12 us here (20 000 clients, measured).
CREATE OR REPLACE FUNCTION clinic_care_alerts(p_client bigint, p_start timestamptz) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_recorded timestamptz;
    v_flagged boolean;
    v_alerts text[] := '{}';
BEGIN
    SELECT i.recorded_at, cardinality(i.red_flags) + cardinality(i.contraindications) > 0
    INTO v_recorded, v_flagged
    FROM client_intakes i WHERE i.client_id = p_client ORDER BY i.version DESC LIMIT 1;
    IF v_flagged THEN
        v_alerts := v_alerts || 'health_flag'::text;
    END IF;
    IF v_recorded IS NULL THEN
        v_alerts := v_alerts || 'intake_missing'::text;
    ELSIF v_recorded < p_start - interval '1 year' THEN
        v_alerts := v_alerts || 'intake_out_of_date'::text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM client_consents c
                   WHERE c.client_id = p_client AND c.kind = 'general' AND c.withdrawn_at IS NULL) THEN
        v_alerts := v_alerts || 'consent_missing'::text;
    END IF;
    RETURN v_alerts;
END
$$;

-- The consent a treated area needs, or NULL for an area that needs none beyond the general one.
-- Compared as text: 'breast' and 'inner_thigh' joined body_region in 0023, and a value added to
-- an enum cannot be written as a literal in the transaction that added it.
CREATE OR REPLACE FUNCTION clinic_consent_kind_of(p_area body_region) RETURNS consent_kind
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE p_area::text WHEN 'chest' THEN 'chest_wall' WHEN 'breast' THEN 'breast'
                              WHEN 'glutes' THEN 'gluteal' WHEN 'inner_thigh' THEN 'inner_thigh'
            END)::consent_kind
$$;

-- ------------------------------------------------------------------ signing

-- Refuses to sign p_note (CLRUL, saying what to do) unless the client's care allows it:
--  * when the newest health history lists a red flag or a contraindication, the note records the
--    therapist's decision, made on that very version (a newer history needs a new decision);
--  * general consent covered the session;
--  * each sensitive area the note names had its written consent covering the session.
-- The sentences name no condition: they reach the daemon's log.
CREATE OR REPLACE FUNCTION clinic_note_care_check(p_note treatment_notes) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_client bigint;
    v_start timestamptz;
    v_end timestamptz;
    v_status record;
    v_missing text;
BEGIN
    SELECT a.client_id, a.start_at, a.end_at INTO v_client, v_start, v_end
    FROM appointments a WHERE a.id = p_note.appointment_id;
    SELECT * INTO v_status FROM clinic_intake_status(v_client);
    IF v_status.health_flag AND p_note.care_decision IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s cannot be signed yet: client %s''s health history lists a red flag or a contraindication; read it (clinic intake show %s) and record your decision: treat, treat with changes or refer out, with a reason',
            p_note.id, v_client, v_client);
    ELSIF v_status.health_flag AND p_note.care_decision_intake <> v_status.version THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s cannot be signed yet: client %s''s health history changed (version %s) after your decision on version %s; read it and record your decision again',
            p_note.id, v_client, v_status.version, p_note.care_decision_intake);
    END IF;
    IF NOT clinic_consent_covers(v_client, 'general', v_start, v_end) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s cannot be signed: client %s gave no general consent covering this session; record it first (clinic consent give)',
            p_note.id, v_client);
    END IF;
    SELECT string_agg(DISTINCT replace(k::text, '_', ' '), ', ') INTO v_missing
    FROM unnest(p_note.areas) AS area, clinic_consent_kind_of(area) AS k
    WHERE k IS NOT NULL AND NOT clinic_consent_covers(v_client, k, v_start, v_end);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'note %s cannot be signed: it names a sensitive area (%s) and client %s gave no written consent for it covering this session; record the consent, or take the area out of the draft',
            p_note.id, v_missing, v_client);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION clinic_note_care_check(treatment_notes) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_note_care_check(treatment_notes) TO clinic_app;

-- Records therapist decision p_decision with p_reason on draft p_note, against the client's
-- newest health history (0 when there is none), and returns the note's id.
CREATE OR REPLACE FUNCTION clinic_note_decide(p_note bigint, p_decision care_decision, p_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    UPDATE treatment_notes n SET care_decision = p_decision, care_decision_reason = p_reason,
           care_decision_intake = (SELECT s.version FROM appointments a,
                                          clinic_intake_status(a.client_id) AS s
                                   WHERE a.id = n.appointment_id)
    WHERE n.id = p_note AND n.status = 'draft'
    RETURNING n.id INTO v_id;
    IF NOT FOUND THEN
        PERFORM clinic_note_refuse_change(p_note, false);
    END IF;
    RETURN v_id;
END
$$;

-- ------------------------------------------------------------------ recording

-- Records a new version of p_client's health history and returns its number. The client's row
-- is locked (FOR NO KEY UPDATE, which bookings' foreign-key checks do not wait for) so that two
-- versions recorded at once are numbered one after the other; the number is read by the owner,
-- since the front desk and clients may record without reading older versions.
CREATE OR REPLACE FUNCTION clinic_intake_next_version(p_client bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM 1 FROM clients c WHERE c.id = p_client FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
    END IF;
    RETURN (SELECT coalesce(max(i.version), 0) + 1 FROM client_intakes i WHERE i.client_id = p_client);
END
$$;
REVOKE ALL ON FUNCTION clinic_intake_next_version(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_intake_next_version(bigint) TO clinic_app;

CREATE OR REPLACE FUNCTION clinic_intake_record(p_client bigint, p_conditions text, p_medications text,
                                                p_anticoagulants boolean, p_surgery text,
                                                p_pregnant boolean, p_devices text,
                                                p_oil boolean, p_latex boolean, p_allergies text,
                                                p_red_flags red_flag[],
                                                p_contraindications contraindication[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_version integer := clinic_intake_next_version(p_client);
BEGIN
    INSERT INTO client_intakes (client_id, version, conditions, medications, anticoagulants,
                                surgery_or_injury, pregnant, implanted_devices, oil_allergy,
                                latex_allergy, other_allergies, red_flags, contraindications)
    VALUES (p_client, v_version, p_conditions, p_medications, p_anticoagulants, p_surgery,
            p_pregnant, p_devices, p_oil, p_latex, p_allergies, p_red_flags, p_contraindications);
    RETURN v_version;
END
$$;

-- Gives consent p_kind for p_client (how, and when: NULL for now) and returns the consent in
-- force: a consent of that kind already in force is kept as it is.
CREATE OR REPLACE FUNCTION clinic_consent_give(p_client bigint, p_kind consent_kind, p_how text,
                                               p_given_at timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = p_client) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
    END IF;
    INSERT INTO client_consents (client_id, kind, how, given_at)
    VALUES (p_client, p_kind, p_how, coalesce(p_given_at, now()))
    ON CONFLICT (client_id, kind) WHERE withdrawn_at IS NULL DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT c.id INTO v_id FROM client_consents c
        WHERE c.client_id = p_client AND c.kind = p_kind AND c.withdrawn_at IS NULL;
    END IF;
    RETURN v_id;
END
$$;

-- Withdraws p_client's consent p_kind in force, with p_reason, and returns its id.
CREATE OR REPLACE FUNCTION clinic_consent_withdraw(p_client bigint, p_kind consent_kind, p_reason text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    UPDATE client_consents c SET withdrawn_at = now(), withdrawn_reason = p_reason
    WHERE c.client_id = p_client AND c.kind = p_kind AND c.withdrawn_at IS NULL
    RETURNING c.id INTO v_id;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = p_client) THEN
            RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'client %s has no %s consent in force to withdraw', p_client, replace(p_kind::text, '_', ' '));
    END IF;
    RETURN v_id;
END
$$;

-- ------------------------------------------------------------------ reading

-- Versions of health histories as the Intake service shows them, dated in the clinic's home
-- zone; the caller's row-level security decides which exist (security_invoker).
CREATE OR REPLACE VIEW intake_details WITH (security_invoker = true) AS
SELECT i.client_id, i.version, i.conditions, i.medications, i.anticoagulants,
       i.surgery_or_injury, i.pregnant, i.implanted_devices, i.oil_allergy, i.latex_allergy,
       i.other_allergies, i.red_flags, i.contraindications,
       clinic_format_instant(i.recorded_at, clinic_home_zone()) AS recorded_at,
       i.recorded_role AS recorded_by_role, coalesce(i.recorded_by, 0) AS recorded_by_user,
       i.recorded_at < now() - interval '1 year' AS out_of_date,
       i.version = (SELECT max(x.version) FROM client_intakes x WHERE x.client_id = i.client_id)
           AS current
FROM client_intakes i;

CREATE OR REPLACE VIEW consent_details WITH (security_invoker = true) AS
SELECT c.id, c.client_id, c.kind, c.how,
       clinic_format_instant(c.given_at, clinic_home_zone()) AS given_at,
       coalesce(c.given_by, 0) AS given_by_user,
       coalesce(clinic_format_instant(c.withdrawn_at, clinic_home_zone()), '') AS withdrawn_at,
       coalesce(c.withdrawn_by, 0) AS withdrawn_by_user,
       coalesce(c.withdrawn_reason, '') AS withdrawn_reason,
       c.withdrawn_at IS NULL AS in_force, c.given_at AS given_instant
FROM client_consents c;

GRANT SELECT ON intake_details, consent_details TO clinic_app;
