-- fixture.sql: what every isolation spec stands on, loaded once into the migrated test database
-- by run_isolation (as the superuser; the spec sessions run as clinic_app, as the daemon does).
--
--   iso.reset()         empties the clinic and writes the small one below, ids from 1 again, so
--                       every permutation starts from the same rows and its messages name the
--                       same ids;
--   iso.day(n), iso.at  local days and times counted from a Monday in June of next year, so the
--                       specs pass on any date and the verdicts name days, never dates;
--   iso.witness         appointments a rule change saw (a spec step writes them in the change's
--                       own transaction; see iso.verdict);
--   iso.verdict()       the invariants, checked after every permutation (the specs' teardown).
--
-- The clinic: location 1 "Iso Clinic" (Europe/Berlin, no minimum notice, 15-minute grid, 10 years
-- ahead); rooms 1 "Room A" and 2 "Room B", both with a table; service 1 "Massage", 60 minutes and
-- 15 of cleanup, needs a table; therapists 1 Tess (Monday, Wednesday, Thursday), 2 Theo (Tuesday)
-- and 3 Tara (Thursday), 09:00-17:00, all performing the massage; clients 1 Ann, 2 Ben, 3 Cy.
-- Who works which day decides whom a booking without a therapist gets: Monday and Wednesday Tess,
-- Tuesday Theo, Thursday Tess or Tara.

CREATE SCHEMA IF NOT EXISTS iso;
GRANT USAGE ON SCHEMA iso TO clinic_app;

CREATE TABLE IF NOT EXISTS iso.witness (appointment_id bigint NOT NULL);
GRANT SELECT, INSERT ON iso.witness TO clinic_app;

-- Day n of the week the specs book in: day 0 is the first Monday on or after 1 June of next year.
CREATE OR REPLACE FUNCTION iso.day(n integer) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(j + (8 - extract(isodow FROM j)::int) % 7 + n, 'YYYY-MM-DD')
    FROM make_date(extract(year FROM now())::int + 1, 6, 1) AS j
$$;

-- A local start time as a caller sends it: "YYYY-MM-DD HH:MM" on day n.
CREATE OR REPLACE FUNCTION iso.at(n integer, hhmm text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT iso.day(n) || ' ' || hhmm
$$;

-- The name of a local date relative to day 0 ("Mon", "Tue", ... "Mon+7" for a week later).
CREATE OR REPLACE FUNCTION iso.day_name(d date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(d, 'Dy') || CASE WHEN d - iso.day(0)::date >= 7
                                    THEN '+' || ((d - iso.day(0)::date) / 7 * 7)::text ELSE '' END
$$;

CREATE OR REPLACE FUNCTION iso.reset() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    DELETE FROM iso.witness;
    DELETE FROM events;
    -- A spec's notes go too: a signed note refuses DELETE (its guard), so the guard is set
    -- aside for this one statement; the fixture runs as the tables' owner.
    IF EXISTS (SELECT 1 FROM treatment_notes) THEN
        ALTER TABLE treatment_notes DISABLE TRIGGER treatment_notes_guard;
        DELETE FROM treatment_notes;
        ALTER TABLE treatment_notes ENABLE TRIGGER treatment_notes_guard;
        ALTER TABLE treatment_notes ALTER COLUMN id RESTART;
    END IF;
    -- receipts and package draws are permanent (their guards), set aside here as the notes' are
    ALTER TABLE receipts DISABLE TRIGGER receipts_guard;
    ALTER TABLE package_draws DISABLE TRIGGER package_draws_guard;
    UPDATE charges SET receipt_id = NULL WHERE receipt_id IS NOT NULL;
    DELETE FROM receipts;
    DELETE FROM charges;
    DELETE FROM package_draws;
    DELETE FROM packages;
    DELETE FROM receipt_counters;
    ALTER TABLE receipts ENABLE TRIGGER receipts_guard;
    ALTER TABLE package_draws ENABLE TRIGGER package_draws_guard;
    ALTER TABLE receipts ALTER COLUMN id RESTART;
    ALTER TABLE charges ALTER COLUMN id RESTART;
    ALTER TABLE package_draws ALTER COLUMN id RESTART;
    ALTER TABLE packages ALTER COLUMN id RESTART;
    DELETE FROM appointments;
    DELETE FROM courses;
    DELETE FROM idempotency_keys;
    DELETE FROM closures;
    DELETE FROM time_off;
    DELETE FROM working_hours;
    DELETE FROM therapist_services;
    DELETE FROM rooms;
    DELETE FROM services;
    DELETE FROM therapists;
    -- consents are never deleted (their guard), so it is set aside here as the notes' is
    ALTER TABLE client_consents DISABLE TRIGGER client_consents_guard;
    DELETE FROM client_consents;
    ALTER TABLE client_consents ENABLE TRIGGER client_consents_guard;
    DELETE FROM clients;
    DELETE FROM locations;
    FOREACH t IN ARRAY ARRAY['events', 'appointments', 'courses', 'closures', 'time_off', 'working_hours',
                             'rooms', 'services', 'therapists', 'clients', 'locations'] LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN id RESTART', t);
    END LOOP;

    INSERT INTO locations (name, time_zone, min_notice_minutes, max_advance_days, slot_step_minutes)
    VALUES ('Iso Clinic', 'Europe/Berlin', 0, 3660, 15);
    INSERT INTO rooms (location_id, name, features)
    VALUES (1, 'Room A', '{table}'), (1, 'Room B', '{table}');
    INSERT INTO services (name, duration_minutes, buffer_after_minutes, required_features)
    VALUES ('Massage', 60, 15, '{table}');
    INSERT INTO therapists (name, email)
    VALUES ('Tess', 'tess@iso.test'), ('Theo', 'theo@iso.test'), ('Tara', 'tara@iso.test');
    INSERT INTO therapist_services (therapist_id, service_id) VALUES (1, 1), (2, 1), (3, 1);
    INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
    VALUES (1, 1, 1, '09:00', '17:00'), (1, 1, 3, '09:00', '17:00'), (1, 1, 4, '09:00', '17:00'),
           (2, 1, 2, '09:00', '17:00'),
           (3, 1, 4, '09:00', '17:00');
    INSERT INTO clients (name) VALUES ('Ann'), ('Ben'), ('Cy');
    -- their paperwork is done: checking in and signing need general consent (82_care.sql)
    INSERT INTO client_consents (client_id, kind, how, given_at)
    SELECT id, 'general', 'signed form', now() - interval '20 years' FROM clients;
END
$$;

-- The invariants every interleaving must keep, whatever it committed and whatever it refused.
-- Returns three rows: "invariants hold" or "INVARIANT BROKEN: <what>", then what is booked and
-- what the rules are, so that a permutation's outcome can be read (and compared) at a glance.
--
--  * no active appointment (booked or checked in) lies on a closed day of its location (its
--    blocked time, buffers included, touches no closed local day);
--  * none overlaps its therapist's time off (buffers included);
--  * none lies outside its therapist's working hours at its location, is of a service no longer
--    offered, or in an archived room, unless the change that made it so saw it (iso.witness):
--    such changes refuse nothing, so they are correct exactly when they are ordered after every
--    booking they did not stop;
--  * no therapist, room or client is in two active appointments at once (the exclusion
--    constraints' promise, checked here independently);
--  * a course (booked_by "course:<name>/<n>") has all n sessions active or none;
--  * a signed note's appointment is checked in or completed (a session that happened).
CREATE OR REPLACE FUNCTION iso.verdict() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    broken text[] := '{}';
    r record;
BEGIN
    FOR r IN
        SELECT a.id, a.status, a.therapist_id, a.room_id, a.client_id, a.service_id,
               a.blocked, a.start_at, a.end_at, a.booked_by, l.time_zone AS tz,
               (lower(a.blocked) AT TIME ZONE l.time_zone) AS local_from,
               (upper(a.blocked) AT TIME ZONE l.time_zone) AS local_to,
               a.location_id
        FROM appointments a JOIN locations l ON l.id = a.location_id
        WHERE a.status IN ('booked', 'checked_in')
    LOOP
        IF EXISTS (SELECT 1 FROM closures c WHERE c.location_id = r.location_id
                   AND c.first_day <= r.local_to::date AND c.last_day >= r.local_from::date) THEN
            broken := broken || format('appointment %s is on a closed day', r.id);
        END IF;
        IF EXISTS (SELECT 1 FROM time_off o WHERE o.therapist_id = r.therapist_id
                   AND o.during && r.blocked) THEN
            broken := broken || format('appointment %s is in its therapist''s time off', r.id);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM iso.witness w WHERE w.appointment_id = r.id) THEN
            IF NOT EXISTS (SELECT 1 FROM working_hours w
                           WHERE w.therapist_id = r.therapist_id AND w.location_id = r.location_id
                             AND w.weekday = extract(isodow FROM r.local_from)
                             AND r.local_from::date = r.local_to::date
                             AND r.local_from::date >= w.valid_from
                             AND (w.valid_until IS NULL OR r.local_from::date <= w.valid_until)
                             AND w.start_local <= r.local_from::time
                             AND w.end_local >= r.local_to::time) THEN
                broken := broken || format('appointment %s is outside its therapist''s hours', r.id);
            END IF;
            IF NOT (SELECT active FROM services WHERE id = r.service_id) THEN
                broken := broken || format('appointment %s is of a service no longer offered', r.id);
            END IF;
            IF (SELECT archived FROM rooms WHERE id = r.room_id) THEN
                broken := broken || format('appointment %s is in an archived room', r.id);
            END IF;
        END IF;
    END LOOP;
    FOR r IN
        SELECT a.id AS a_id, b.id AS b_id,
               CASE WHEN a.therapist_id = b.therapist_id AND a.blocked && b.blocked THEN 'therapist'
                    WHEN a.room_id = b.room_id AND a.blocked && b.blocked THEN 'room'
                    ELSE 'client' END AS what
        FROM appointments a JOIN appointments b ON a.id < b.id
        WHERE a.status NOT IN ('cancelled', 'no_show') AND b.status NOT IN ('cancelled', 'no_show')
          AND ((a.therapist_id = b.therapist_id AND a.blocked && b.blocked)
               OR (a.room_id = b.room_id AND a.blocked && b.blocked)
               OR (a.client_id = b.client_id
                   AND tstzrange(a.start_at, a.end_at) && tstzrange(b.start_at, b.end_at)))
    LOOP
        broken := broken || format('appointments %s and %s overlap for one %s', r.a_id, r.b_id, r.what);
    END LOOP;
    FOR r IN
        SELECT a.booked_by, count(*) AS n, split_part(a.booked_by, '/', 2)::int AS want
        FROM appointments a
        WHERE a.booked_by LIKE 'course:%/%' AND a.status IN ('booked', 'checked_in')
        GROUP BY a.booked_by
    LOOP
        IF r.n <> r.want THEN
            broken := broken || format('%s has %s of its %s sessions', r.booked_by, r.n, r.want);
        END IF;
    END LOOP;

    FOR r IN
        SELECT n.id, a.id AS a_id, a.status FROM treatment_notes n JOIN appointments a ON a.id = n.appointment_id
        WHERE n.status = 'signed' AND a.status NOT IN ('checked_in', 'completed')
    LOOP
        broken := broken || format('signed note %s is on appointment %s, which is %s', r.id, r.a_id, r.status);
    END LOOP;

    -- a package's count is its draws less those given back, within its sessions; a completed
    -- session is paid once (one draw or one session charge); receipts are numbered 1..n
    FOR r IN
        SELECT p.id, p.used, p.sessions,
               (SELECT count(*) FILTER (WHERE d.kind <> 'returned') - count(*) FILTER (WHERE d.kind = 'returned')
                FROM package_draws d WHERE d.package_id = p.id) AS net
        FROM packages p
    LOOP
        IF r.used <> r.net OR r.used > r.sessions THEN
            broken := broken || format('package %s counts %s used of %s, its draws say %s', r.id, r.used, r.sessions, r.net);
        END IF;
    END LOOP;
    FOR r IN
        SELECT a.id FROM appointments a
        WHERE a.status = 'completed'
          AND (SELECT count(*) FROM package_draws d WHERE d.appointment_id = a.id AND d.kind = 'session'
               AND NOT EXISTS (SELECT 1 FROM package_draws x WHERE x.returns_draw_id = d.id))
            + (SELECT count(*) FROM charges c WHERE c.appointment_id = a.id AND c.kind = 'session'
               AND c.status <> 'cancelled') > 1
    LOOP
        broken := broken || format('completed appointment %s is paid twice', r.id);
    END LOOP;
    IF EXISTS (SELECT 1 FROM (SELECT number - row_number() OVER (PARTITION BY location_id ORDER BY number) AS g
                              FROM receipts) x WHERE g <> 0) THEN
        broken := broken || 'receipt numbers have a gap'::text;
    END IF;

    RETURN NEXT CASE WHEN cardinality(broken) = 0 THEN 'invariants hold'
                     ELSE 'INVARIANT BROKEN: ' || array_to_string(broken, '; ') END;
    RETURN NEXT 'booked: ' || coalesce((
        SELECT string_agg(format('%s %s %s %s %s%s', c.name,
                                 iso.day_name((a.start_at AT TIME ZONE l.time_zone)::date),
                                 to_char(a.start_at AT TIME ZONE l.time_zone, 'HH24:MI'),
                                 t.name, rm.name,
                                 CASE WHEN a.booked_by LIKE 'course:%' THEN ' (' || a.booked_by || ')'
                                      ELSE '' END),
                          ', ' ORDER BY a.start_at, a.id)
        FROM appointments a JOIN locations l ON l.id = a.location_id
        JOIN clients c ON c.id = a.client_id JOIN therapists t ON t.id = a.therapist_id
        JOIN rooms rm ON rm.id = a.room_id
        WHERE a.status IN ('booked', 'checked_in')), 'nothing');
    RETURN NEXT format('rules: closed %s; time off %s; %s hour rules; %s; %s',
        coalesce((SELECT string_agg(iso.day_name(c.first_day) ||
                                    CASE WHEN c.last_day > c.first_day
                                         THEN '-' || iso.day_name(c.last_day) ELSE '' END,
                                    ', ' ORDER BY c.first_day) FROM closures c), 'never'),
        coalesce((SELECT string_agg(format('%s %s %s-%s', t.name,
                                           iso.day_name((lower(o.during) AT TIME ZONE 'Europe/Berlin')::date),
                                           to_char(lower(o.during) AT TIME ZONE 'Europe/Berlin', 'HH24:MI'),
                                           to_char(upper(o.during) AT TIME ZONE 'Europe/Berlin', 'HH24:MI')),
                                    ', ' ORDER BY lower(o.during))
                  FROM time_off o JOIN therapists t ON t.id = o.therapist_id), 'none'),
        (SELECT count(*) FROM working_hours),
        CASE WHEN EXISTS (SELECT 1 FROM services WHERE NOT active) THEN 'the massage is no longer offered'
             ELSE 'the massage is offered' END,
        coalesce((SELECT string_agg(name, ', ' ORDER BY id) || ' archived' FROM rooms WHERE archived),
                 'no room archived'));
    IF EXISTS (SELECT 1 FROM packages) THEN
        RETURN NEXT 'money: ' || (
            SELECT string_agg(format('package %s used %s of %s', p.id, p.used, p.sessions), ', ' ORDER BY p.id)
            FROM packages p)
            || coalesce('; charged ' || (SELECT string_agg(format('appointment %s %s', c.appointment_id, c.kind), ', '
                                                          ORDER BY c.appointment_id)
                                         FROM charges c WHERE c.status <> 'cancelled'), '; nothing charged')
            || format('; receipts 1 to %s', (SELECT count(*) FROM receipts));
    END IF;
END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA iso TO clinic_app;
