-- 0023_intake_consent.sql: what a therapist must know and have before the first touch: each
-- client's health history (intake), kept as numbered versions, with the back-pain red flags and
-- the contraindications that call for a decision before massage; the client's consents, general
-- and for sensitive areas; and the therapist's decision on a flagged client, recorded in the
-- session's note.
--
-- The rules that use these tables (what a note needs to be signed, what the day sheet flags) are
-- in sql/functions/82_care.sql; the guards that keep both tables append-only are there too.

-- ------------------------------------------------------------------ enumerations

-- Signs of serious spinal pathology that call for a doctor before massage (NICE NG59, 2016;
-- AHCPR guideline 14, 1994).
CREATE TYPE red_flag AS ENUM (
    'saddle_anaesthesia', 'bladder_bowel_dysfunction', 'progressive_weakness_numbness',
    'cancer_history', 'unexplained_weight_loss', 'fever_or_infection', 'significant_trauma',
    'constant_night_pain');

-- Conditions under which massage may harm, at least locally, until a clinician says otherwise.
CREATE TYPE contraindication AS ENUM (
    'fever', 'suspected_dvt', 'acute_infection', 'contagious_skin_condition', 'recent_fracture',
    'acute_inflammation', 'uncontrolled_hypertension', 'bleeding_disorder');

-- What the therapist decided for a flagged client.
CREATE TYPE care_decision AS ENUM ('treat', 'treat_with_changes', 'refer_out');

-- General informed consent, and the sensitive areas whose treatment needs written consent
-- (College of Massage Therapists of Ontario, Standard of Practice: Consent).
CREATE TYPE consent_kind AS ENUM ('general', 'chest_wall', 'breast', 'gluteal', 'inner_thigh');

-- Two regions a therapist charts that were missing: they are sensitive areas on their own.
ALTER TYPE body_region ADD VALUE IF NOT EXISTS 'breast';
ALTER TYPE body_region ADD VALUE IF NOT EXISTS 'inner_thigh';

-- ------------------------------------------------------------------ health history

-- One row per version: a change is a new row with the next version number; old versions stay.
CREATE TABLE client_intakes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL CONSTRAINT client_intakes_client_fkey REFERENCES clients,
    version integer NOT NULL CONSTRAINT client_intakes_version_positive CHECK (version > 0),
    conditions text NOT NULL DEFAULT ''
        CONSTRAINT client_intakes_conditions_length CHECK (length(conditions) <= 4000),
    medications text NOT NULL DEFAULT ''
        CONSTRAINT client_intakes_medications_length CHECK (length(medications) <= 4000),
    -- Blood thinners (warfarin, heparin, the DOACs): deep pressure bruises, named apart.
    anticoagulants boolean NOT NULL DEFAULT false,
    surgery_or_injury text NOT NULL DEFAULT ''
        CONSTRAINT client_intakes_surgery_length CHECK (length(surgery_or_injury) <= 4000),
    pregnant boolean NOT NULL DEFAULT false,
    implanted_devices text NOT NULL DEFAULT ''
        CONSTRAINT client_intakes_devices_length CHECK (length(implanted_devices) <= 4000),
    oil_allergy boolean NOT NULL DEFAULT false,
    latex_allergy boolean NOT NULL DEFAULT false,
    other_allergies text NOT NULL DEFAULT ''
        CONSTRAINT client_intakes_allergies_length CHECK (length(other_allergies) <= 4000),
    red_flags red_flag[] NOT NULL DEFAULT '{}'
        CONSTRAINT client_intakes_red_flags_no_nulls CHECK (array_position(red_flags, NULL) IS NULL),
    contraindications contraindication[] NOT NULL DEFAULT '{}'
        CONSTRAINT client_intakes_contraindications_no_nulls
        CHECK (array_position(contraindications, NULL) IS NULL),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- The account and role that recorded it (NULL and '' for psql), stamped by the guard trigger.
    recorded_by bigint,
    recorded_role text NOT NULL DEFAULT ''
        CONSTRAINT client_intakes_role_length CHECK (length(recorded_role) <= 32),
    CONSTRAINT client_intakes_version_key UNIQUE (client_id, version)
);
COMMENT ON TABLE client_intakes IS
    'Health histories, one row per version; append-only (trigger client_intakes_append_only).';

-- ------------------------------------------------------------------ consent

-- A consent given, and its withdrawal: withdrawing sets withdrawn_at once and the row stays.
CREATE TABLE client_consents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL CONSTRAINT client_consents_client_fkey REFERENCES clients,
    kind consent_kind NOT NULL,
    -- How it was given ("signed form", "on the booking page"): the record a college asks for.
    how text NOT NULL CONSTRAINT client_consents_how_length CHECK (length(btrim(how)) BETWEEN 1 AND 500),
    given_at timestamptz NOT NULL DEFAULT now(),
    given_by bigint,  -- the account that recorded it, stamped by the guard trigger
    withdrawn_at timestamptz,
    withdrawn_by bigint,
    withdrawn_reason text
        CONSTRAINT client_consents_reason_length CHECK (length(withdrawn_reason) <= 500),
    CONSTRAINT client_consents_withdrawal_whole
        CHECK ((withdrawn_at IS NULL) = (withdrawn_reason IS NULL))
);
-- At most one consent of a kind in force per client: giving it again while in force is a no-op.
CREATE UNIQUE INDEX client_consents_one_in_force ON client_consents (client_id, kind)
    WHERE withdrawn_at IS NULL;
CREATE INDEX client_consents_client ON client_consents (client_id, given_at);
COMMENT ON TABLE client_consents IS
    'Consents and their withdrawals; never deleted (trigger client_consents_guard).';

-- ------------------------------------------------------------------ the therapist's decision

-- Recorded on the draft note of the session (DecideCare), against the intake version it read.
ALTER TABLE treatment_notes
    ADD COLUMN care_decision care_decision,
    ADD COLUMN care_decision_reason text
        CONSTRAINT treatment_notes_care_reason_length CHECK (length(care_decision_reason) <= 2000),
    ADD COLUMN care_decision_intake integer,
    ADD CONSTRAINT treatment_notes_care_decision_whole
        CHECK ((care_decision IS NULL) = (care_decision_reason IS NULL)
               AND (care_decision IS NULL) = (care_decision_intake IS NULL));

-- ------------------------------------------------------------------ access

GRANT SELECT, INSERT ON client_intakes TO clinic_app;              -- never UPDATE or DELETE
GRANT SELECT, INSERT, UPDATE ON client_consents TO clinic_app;      -- UPDATE: withdrawal only

-- Health histories are clinical records: admins, the client themself, and therapists of the
-- client's care read them; the front desk and clients record new versions without reading old
-- ones (the front desk learns only that a flag exists, through SECURITY DEFINER functions).
ALTER TABLE client_intakes ENABLE ROW LEVEL SECURITY;
CREATE POLICY intakes_read ON client_intakes FOR SELECT TO clinic_app
    USING (clinic_caller_role() = 'admin'
           OR (clinic_caller_role() = 'client' AND client_id = clinic_caller_client())
           OR (clinic_caller_role() = 'therapist' AND clinic_caller_treats(client_id)));
CREATE POLICY intakes_insert ON client_intakes FOR INSERT TO clinic_app
    WITH CHECK (clinic_caller_role() IN ('admin', 'front_desk')
                OR (clinic_caller_role() = 'client' AND client_id = clinic_caller_client())
                OR (clinic_caller_role() = 'therapist' AND clinic_caller_treats(client_id)));

-- Consents are the front desk's paperwork as much as the therapist's.
ALTER TABLE client_consents ENABLE ROW LEVEL SECURITY;
CREATE POLICY consents_staff ON client_consents TO clinic_app
    USING (clinic_caller_role() IN ('admin', 'front_desk')
           OR (clinic_caller_role() = 'therapist' AND clinic_caller_treats(client_id)))
    WITH CHECK (clinic_caller_role() IN ('admin', 'front_desk')
                OR (clinic_caller_role() = 'therapist' AND clinic_caller_treats(client_id)));
CREATE POLICY consents_client ON client_consents TO clinic_app
    USING (clinic_caller_role() = 'client' AND client_id = clinic_caller_client())
    WITH CHECK (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
