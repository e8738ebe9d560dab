-- 87_measures.sql: what the Measures service and the course of care read and call over
-- outcome_measures (sql/0024_outcome_measures.sql): recording a questionnaire, a client's
-- measures with the change from their first of each kind and whether it is clinically
-- important, the course's day 0, and the client's STarT Back risk group.
--
-- Clinically important change (minimal clinically important difference, MCID), from the first
-- questionnaire of the same kind; each rule once, here:
--   RMDQ: a drop of >= 5 points or >= 30 % of the first score (Ostelo et al. 2008, Spine 33:90-94);
--   PSFS: a RISE of >= 2 points in the mean rating (higher is better on this scale; Stratford
--         et al. 1995, the scale's authors: Ostelo et al. 2008 covers pain, RMDQ and ODI only);
--   STarT Back is a screening tool, not an outcome: no change is scored, only the risk group
--         (Hill et al. 2008).
-- (ODI's rule, 10 points or 30 %, is in 85_notes.sql with the rest of the course of care.)
--
-- Everything runs with the caller's rights (SECURITY INVOKER): as clinic_app, the row-level
-- security of outcome_measures decides which measures exist for the caller.

-- ------------------------------------------------------------------ the record stays

-- Measures are part of the clinical record: never changed, never removed (a wrong one is
-- followed by a right one). On insert, the entry time and who entered it are the database's to
-- say, not the caller's.
CREATE OR REPLACE FUNCTION clinic_outcome_measure_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'measure %s is part of the clinical record and cannot change; record a new one', OLD.id);
    END IF;
    NEW.created_at := now();
    IF clinic_caller_role() <> '' THEN
        NEW.recorded_by_role := clinic_caller_role();
        NEW.recorded_by_user_id := nullif(current_setting('clinic.user_id', true), '')::bigint;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER outcome_measures_guard BEFORE INSERT OR UPDATE OR DELETE ON outcome_measures
    FOR EACH ROW EXECUTE FUNCTION clinic_outcome_measure_guard();
CREATE OR REPLACE TRIGGER outcome_measures_no_truncate BEFORE TRUNCATE ON outcome_measures
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

-- ------------------------------------------------------------------ the client's clock

-- The zone a client's times are written in: that of the location of their latest appointment,
-- else of the clinic's first location, else UTC. Measures belong to no location; this is where
-- the client is treated.
CREATE OR REPLACE FUNCTION clinic_client_time_zone(p_client bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT l.time_zone FROM appointments a JOIN locations l ON l.id = a.location_id
         WHERE a.client_id = p_client ORDER BY a.start_at DESC, a.id DESC LIMIT 1),
        (SELECT l.time_zone FROM locations l ORDER BY l.id LIMIT 1),
        'UTC')
$$;

-- Day 0 of the client's course, as the caller may see it: the earliest signed session or
-- measure. NULL when there is neither.
CREATE OR REPLACE FUNCTION clinic_client_course_start(p_client bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT least(
        (SELECT min(a.start_at) FROM treatment_notes n JOIN appointments a ON a.id = n.appointment_id
         WHERE a.client_id = p_client AND n.status = 'signed'),
        (SELECT min(m.recorded_at) FROM outcome_measures m WHERE m.client_id = p_client))
$$;

-- Days from the client's course start to p_at (fractional; 0 when the course has no start).
CREATE OR REPLACE FUNCTION clinic_course_days(p_client bigint, p_at timestamptz) RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT coalesce(extract(epoch FROM p_at - clinic_client_course_start(p_client))::double precision
                    / 86400, 0)
$$;

-- ------------------------------------------------------------------ recording

-- Records questionnaire p_kind of client p_client and returns its id. p_recorded_at: when it
-- was answered, RFC 3339 or local time in the client's zone; NULL: now. It may lie up to 365
-- days back (a paper form entered later) and not ahead (5 minutes of clock skew are taken as
-- now). p_appointment and p_note (NULL: none) must be the client's. The answers' shape is the
-- table's CHECKs' to refuse (23514); who may record for whom, its row-level security's.
CREATE OR REPLACE FUNCTION clinic_measure_record(p_client bigint, p_kind measure_kind,
                                                 p_answers smallint[], p_activities text[],
                                                 p_recorded_at text, p_appointment bigint,
                                                 p_note bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_at timestamptz := now();
    v_zone text;
    v_client bigint;
    v_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = p_client) THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
    END IF;
    IF p_recorded_at IS NOT NULL THEN
        v_zone := clinic_client_time_zone(p_client);
        v_at := clinic_parse_instant(p_recorded_at, v_zone, 'recorded_at');
        IF v_at > now() + interval '5 minutes' THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'recorded_at', MESSAGE = format(
                'a questionnaire cannot be answered in the future (%s); give when it was answered',
                clinic_format_instant(v_at, v_zone));
        ELSIF v_at < now() - interval '365 days' THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'recorded_at', MESSAGE = format(
                'a questionnaire answered more than 365 days ago (%s) cannot be entered',
                clinic_format_instant(v_at, v_zone));
        END IF;
        v_at := least(v_at, now());
    END IF;
    IF p_appointment IS NOT NULL THEN
        SELECT a.client_id INTO v_client FROM appointments a WHERE a.id = p_appointment;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format(
                'appointment %s does not exist', p_appointment);
        ELSIF v_client <> p_client THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'appointment_id', MESSAGE = format(
                'appointment %s is not client %s''s', p_appointment, p_client);
        END IF;
    END IF;
    IF p_note IS NOT NULL THEN
        SELECT a.client_id INTO v_client FROM treatment_notes n JOIN appointments a ON a.id = n.appointment_id
        WHERE n.id = p_note;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('note %s does not exist', p_note);
        ELSIF v_client <> p_client THEN
            RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'note_id', MESSAGE = format(
                'note %s is not about client %s', p_note, p_client);
        END IF;
    END IF;
    INSERT INTO outcome_measures (client_id, kind, answers, activities, recorded_at,
                                  appointment_id, note_id)
    VALUES (p_client, p_kind, p_answers, CASE WHEN p_kind = 'psfs' THEN p_activities END, v_at,
            p_appointment, p_note)
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- ------------------------------------------------------------------ reading

-- The client's measures the caller may see, oldest first, each with its number within its
-- kind, the change from the first of its kind ("now minus first"), and whether that change is
-- clinically important (the rules at the top of this file). recorded_at is written in the
-- client's zone; days counts from the course start (clinic_client_course_start).
CREATE OR REPLACE FUNCTION clinic_client_measures(p_client bigint)
RETURNS TABLE (id bigint, client_id bigint, kind measure_kind, answers smallint[],
               activities text[], recorded_at text, recorded_instant timestamptz,
               days double precision, number integer, score numeric, change numeric,
               has_change boolean, mcid boolean, startback_psychosocial smallint,
               startback_risk startback_risk, appointment_id bigint, note_id bigint,
               recorded_by_role text)
LANGUAGE sql STABLE AS $$
    WITH m AS (
        SELECT m.*,
               row_number() OVER w AS n,
               first_value(m.score) OVER w AS first_score
        FROM outcome_measures m
        WHERE m.client_id = p_client
        WINDOW w AS (PARTITION BY m.kind ORDER BY m.recorded_at, m.id)),
    z AS (SELECT clinic_client_time_zone(p_client) AS zone,
                 clinic_client_course_start(p_client) AS start)
    SELECT m.id, m.client_id, m.kind, m.answers, coalesce(m.activities, '{}'),
           clinic_format_instant(m.recorded_at, z.zone), m.recorded_at,
           extract(epoch FROM m.recorded_at - z.start)::double precision / 86400,
           m.n::integer, m.score,
           CASE WHEN m.kind <> 'startback' THEN m.score - m.first_score END,
           m.kind <> 'startback',
           CASE m.kind
               WHEN 'rmdq' THEN m.first_score - m.score > 0
                                AND (m.first_score - m.score >= 5
                                     OR m.first_score - m.score >= 0.3 * m.first_score)
               WHEN 'psfs' THEN m.score - m.first_score >= 2
               ELSE false END,
           m.startback_psychosocial, m.startback_risk, m.appointment_id, m.note_id,
           coalesce(m.recorded_by_role, '')
    FROM m CROSS JOIN z
    ORDER BY m.recorded_at, m.id
$$;

-- The risk group of the client's latest STarT Back screening the caller may see; NULL when none.
CREATE OR REPLACE FUNCTION clinic_client_startback_risk(p_client bigint) RETURNS startback_risk
LANGUAGE sql STABLE AS $$
    SELECT m.startback_risk FROM outcome_measures m
    WHERE m.client_id = p_client AND m.kind = 'startback'
    ORDER BY m.recorded_at DESC, m.id DESC LIMIT 1
$$;
-- Functions: EXECUTE is PUBLIC's by default; they run with the caller's rights.
