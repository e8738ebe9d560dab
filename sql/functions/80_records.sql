-- 80_records.sql: the guards of the permanent record: a signed note never changes, amendments
-- and audit rows are append-only, and none of these tables can be truncated. Triggers, so that
-- the rules hold whoever connects (the daemon, psql as the owner, any future tool).

-- Every write to a note passes here (BEFORE INSERT, UPDATE, DELETE), whoever asks, so the rules
-- hold for the daemon, for psql as the owner, and for any future tool alike:
--  * a signed note refuses UPDATE and DELETE;
--  * the only change to a draft besides editing it is signing: status draft -> signed with
--    signed_at (now() when not given) and nothing else changed, so what is signed is exactly the
--    draft its author last saw;
--  * signing needs pain before and after, at least one area and one technique, and what the
--    client's care asks for: a decision on a flagged health history, general consent, written
--    consent for a sensitive area (clinic_note_care_check, 82_care.sql);
--  * signing needs a session that happened: the appointment checked in or completed. Its row is
--    locked FOR SHARE, so an undo or a no-show running at the same time either waits for the
--    signature and then sees it (clinic_appointment_keeps_signed_note), or commits first and
--    this check sees the appointment booked again;
--  * the author is the appointment's therapist.
CREATE OR REPLACE FUNCTION clinic_treatment_note_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    appt_therapist bigint;
    appt_status appointment_status;
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
                NEW.assessment, NEW.plan, NEW.odi, NEW.created_at, NEW.care_decision,
                NEW.care_decision_reason, NEW.care_decision_intake)
               IS DISTINCT FROM
               (OLD.appointment_id, OLD.author_therapist_id, OLD.pain_before, OLD.pain_after,
                OLD.areas, OLD.techniques, OLD.pressure, OLD.subjective, OLD.objective,
                OLD.assessment, OLD.plan, OLD.odi, OLD.created_at, OLD.care_decision,
                OLD.care_decision_reason, OLD.care_decision_intake) THEN
                RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                    'note %s: signing changes nothing but the status; save the draft first, then sign', OLD.id);
            END IF;
        END IF;
        NEW.updated_at := now();
    END IF;

    IF NEW.status = 'signed' THEN
        NEW.signed_at := coalesce(NEW.signed_at, now());
        IF TG_OP = 'INSERT' OR OLD.status <> 'signed' THEN
            SELECT a.status INTO appt_status FROM appointments a WHERE a.id = NEW.appointment_id
            FOR SHARE;
            IF FOUND AND appt_status NOT IN ('checked_in', 'completed') THEN
                RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = CASE appt_status
                    WHEN 'booked' THEN format(
                        'appointment %s is booked: check the client in or record the session before signing',
                        NEW.appointment_id)
                    WHEN 'cancelled' THEN format(
                        'appointment %s was cancelled: a session that did not happen has no signed note',
                        NEW.appointment_id)
                    ELSE format(
                        'appointment %s was a no-show: a session that did not happen has no signed note',
                        NEW.appointment_id) END;
            END IF;
        END IF;
        IF NEW.pain_before IS NULL THEN missing := missing || 'pain before'::text; END IF;
        IF NEW.pain_after IS NULL THEN missing := missing || 'pain after'::text; END IF;
        IF cardinality(NEW.areas) = 0 THEN missing := missing || 'an area treated'::text; END IF;
        IF cardinality(NEW.techniques) = 0 THEN missing := missing || 'a technique'::text; END IF;
        IF cardinality(missing) > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'note %s cannot be signed without %s', coalesce(NEW.id::text, '(new)'),
                array_to_string(missing, ', '));
        END IF;
        IF TG_OP = 'INSERT' OR OLD.status <> 'signed' THEN
            PERFORM clinic_note_care_check(NEW);
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

CREATE OR REPLACE TRIGGER treatment_notes_guard BEFORE INSERT OR UPDATE OR DELETE ON treatment_notes
    FOR EACH ROW EXECUTE FUNCTION clinic_treatment_note_guard();

-- The signed note of appointment p_appointment, or NULL. SECURITY DEFINER: the front desk, who
-- undoes check-ins, sees no notes (row-level security), yet a signed note must hold its
-- appointment whoever asks; it returns an id and nothing of the note.
CREATE OR REPLACE FUNCTION clinic_signed_note_of(p_appointment bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT n.id FROM treatment_notes n WHERE n.appointment_id = p_appointment AND n.status = 'signed'
$$;
REVOKE ALL ON FUNCTION clinic_signed_note_of(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_signed_note_of(bigint) TO clinic_app;

-- A signed note records a session that happened, so its appointment stays checked in or
-- completed: undoing it (back to booked), marking it a no-show or cancelling it is refused,
-- whoever asks (clinic_transition, psql, any future tool). The note cannot be detached; a
-- correction is an amendment.
CREATE OR REPLACE FUNCTION clinic_appointment_keeps_signed_note() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_note bigint;
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('checked_in', 'completed') THEN
        v_note := clinic_signed_note_of(OLD.id);
        IF v_note IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'appointment %s cannot be %s: its note %s is signed and cannot be detached from the session; amend the note instead',
                OLD.id, CASE NEW.status WHEN 'booked' THEN 'undone' WHEN 'no_show' THEN 'marked as a no-show'
                                        ELSE replace(NEW.status::text, '_', ' ') END, v_note);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER appointments_keep_signed_note BEFORE UPDATE OF status ON appointments
    FOR EACH ROW EXECUTE FUNCTION clinic_appointment_keeps_signed_note();

-- TRUNCATE skips row triggers: refuse it outright on every append-only or permanent table.
CREATE OR REPLACE FUNCTION clinic_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
        '%s is a permanent record and cannot be truncated', TG_TABLE_NAME);
END
$$;

CREATE OR REPLACE TRIGGER treatment_notes_no_truncate BEFORE TRUNCATE ON treatment_notes
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

-- A draft is simply edited; amending is for what has been signed. A signed note never returns
-- to draft, so no lock is needed between this check and the insert.
CREATE OR REPLACE FUNCTION clinic_note_amendment_guard() RETURNS trigger
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

CREATE OR REPLACE TRIGGER note_amendments_guard BEFORE INSERT OR UPDATE OR DELETE ON note_amendments
    FOR EACH ROW EXECUTE FUNCTION clinic_note_amendment_guard();
CREATE OR REPLACE TRIGGER note_amendments_no_truncate BEFORE TRUNCATE ON note_amendments
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

CREATE OR REPLACE FUNCTION clinic_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
        'audit row %s cannot be changed or deleted: the audit trail is append-only', OLD.id);
END
$$;

CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();
