-- 95_demo.sql: a demo clinic for a new user to search and book at once (Demo/Load,
-- `clinic demo load`). Data only appears when asked for.
--
-- Only into an empty clinic (no location, therapist, client or service, archived ones included)
-- unless p_force: mixed into a working clinic the demo is a second location (every command that
-- defaults to the only location then asks for one) and clients and therapists that look real,
-- and nothing takes it out again. Refused with CLRUL (FAILED_PRECONDITION) saying what is there.
-- Two loads at once into an empty clinic both pass the check; the second then meets the unique
-- location name (23505, "already loaded"). Forced or not, a loaded demo is not loaded twice.
-- Services, therapists and clients whose name or email exists already are not added again; the
-- answer counts what was added and lists its ids.
CREATE OR REPLACE FUNCTION clinic_load_demo(p_force boolean,
                                 OUT location_id bigint, OUT rooms integer, OUT services integer,
                                 OUT therapists integer, OUT clients integer,
                                 OUT working_hours integer, OUT appointments integer,
                                 OUT room_ids bigint[], OUT service_ids bigint[],
                                 OUT therapist_ids bigint[], OUT client_ids bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    loc bigint;
    n_locations bigint;
    n_therapists bigint;
    n_clients bigint;
    n_services bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM locations l WHERE lower(l.name) = 'demo clinic') THEN
        RAISE EXCEPTION USING ERRCODE = '23505', CONSTRAINT = 'locations_name_key',
            MESSAGE = 'the demo clinic is already loaded';
    END IF;
    IF NOT p_force THEN
        SELECT (SELECT count(*) FROM locations), (SELECT count(*) FROM therapists),
               (SELECT count(*) FROM clients), (SELECT count(*) FROM services)
        INTO n_locations, n_therapists, n_clients, n_services;
        IF n_locations + n_therapists + n_clients + n_services > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'this clinic already holds %s location(s), %s therapist(s), %s client(s) and '
                '%s service(s); demo data would mix with them and cannot be taken out again: '
                'load it into an empty clinic, or force it (clinic demo load --force)',
                n_locations, n_therapists, n_clients, n_services);
        END IF;
    END IF;
    INSERT INTO locations (name, time_zone, min_notice_minutes, max_advance_days,
                           slot_step_minutes, cancellation_window_hours)
    VALUES ('Demo Clinic', 'Europe/Berlin', 120, 90, 15, 24)
    RETURNING id INTO loc;

    WITH r AS (
        INSERT INTO rooms (location_id, name, features) VALUES
            (loc, 'Linden', '{table}'),
            (loc, 'Kastanie', '{table,heated_table}'),
            (loc, 'Eiche', '{table,shower}')
        RETURNING id)
    SELECT array_agg(r.id ORDER BY r.id) INTO room_ids FROM r;

    CREATE TEMPORARY TABLE demo_services ON COMMIT DROP AS
    WITH s AS (
        INSERT INTO services (name, duration_minutes, buffer_before_minutes, buffer_after_minutes,
                              price_cents, required_features)
        SELECT v.name, v.duration, v.before, v.after, v.price, v.features
        FROM (VALUES ('Back pain treatment (45 min)', 45, 0, 10, 6500, '{table}'::text[]),
                     ('Swedish massage (60 min)', 60, 0, 15, 7500, '{table}'::text[]),
                     ('Deep tissue massage (60 min)', 60, 0, 15, 8500, '{table}'::text[]),
                     ('Hot stone massage (90 min)', 90, 15, 15, 11000, '{table,heated_table}'::text[]))
             AS v(name, duration, before, after, price, features)
        WHERE NOT EXISTS (SELECT 1 FROM services x WHERE lower(x.name) = lower(v.name))
        RETURNING id, name)
    SELECT * FROM s;

    CREATE TEMPORARY TABLE demo_therapists ON COMMIT DROP AS
    WITH t AS (
        INSERT INTO therapists (name, email)
        SELECT v.name, v.email FROM (VALUES
            ('Anna Berger', 'anna.berger@demo.clinic'),
            ('Ben Okafor', 'ben.okafor@demo.clinic'),
            ('Clara Weiss', 'clara.weiss@demo.clinic'),
            ('David Lindqvist', 'david.lindqvist@demo.clinic'),
            ('Emre Yilmaz', 'emre.yilmaz@demo.clinic')) AS v(name, email)
        WHERE NOT EXISTS (SELECT 1 FROM therapists x WHERE lower(x.email) = v.email)
        RETURNING id, name)
    SELECT * FROM t;

    -- everyone does back pain and Swedish; deep tissue and hot stone are specialities
    INSERT INTO therapist_services (therapist_id, service_id)
    SELECT t.id, s.id FROM demo_therapists t, demo_services s
    WHERE s.name LIKE 'Back pain%' OR s.name LIKE 'Swedish%'
       OR (s.name LIKE 'Deep tissue%' AND t.name IN ('Anna Berger', 'Ben Okafor', 'Emre Yilmaz'))
       OR (s.name LIKE 'Hot stone%' AND t.name IN ('Clara Weiss', 'David Lindqvist'));

    -- Monday to Friday, early and late shifts; Clara also works Saturday mornings
    INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
    SELECT t.id, loc, d, h.start_local, h.end_local
    FROM demo_therapists t
    JOIN (VALUES ('Anna Berger', '08:00'::time, '14:00'::time),
                 ('Ben Okafor', '12:00', '20:00'),
                 ('Clara Weiss', '09:00', '17:00'),
                 ('David Lindqvist', '10:00', '18:00'),
                 ('Emre Yilmaz', '08:00', '16:00')) AS h(name, start_local, end_local)
      ON h.name = t.name
    CROSS JOIN generate_series(1, 5) AS d;
    INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
    SELECT t.id, loc, 6, '09:00', '13:00' FROM demo_therapists t WHERE t.name = 'Clara Weiss';

    WITH c AS (
    INSERT INTO clients (name, email, phone, date_of_birth)
    SELECT v.name, v.email, v.phone, v.dob::date FROM (VALUES
        ('Maria Schmidt', 'maria.schmidt@example.org', '+49 30 5550101', '1968-04-12'),
        ('Jonas Keller', 'jonas.keller@example.org', '+49 30 5550102', '1975-09-30'),
        ('Fatma Demir', 'fatma.demir@example.org', '+49 30 5550103', '1982-01-17'),
        ('Peter Novak', 'peter.novak@example.org', '+49 30 5550104', '1959-11-02'),
        ('Lena Hoffmann', 'lena.hoffmann@example.org', '+49 30 5550105', '1990-06-21'),
        ('Tom Fischer', 'tom.fischer@example.org', '+49 30 5550106', '1971-03-08'),
        ('Sofia Rossi', 'sofia.rossi@example.org', '+49 30 5550107', '1986-12-24'),
        ('Karl Braun', 'karl.braun@example.org', '+49 30 5550108', '1949-07-15')) AS v(name, email, phone, dob)
    WHERE NOT EXISTS (SELECT 1 FROM clients x WHERE lower(x.email) = v.email)
    RETURNING id)
    SELECT array_agg(c.id ORDER BY c.id) INTO client_ids FROM c;

    -- Their paperwork, as a clinic would have it: everyone consented to treatment at their first
    -- visit; most filled in a health history, one of which (Peter's) has a red flag for the
    -- therapist to decide on; Fatma's history is still to come, so the day sheet flags it.
    INSERT INTO client_consents (client_id, kind, how, given_at)
    SELECT id, 'general', 'signed form at the first visit', now() - interval '30 days'
    FROM unnest(coalesce(client_ids, '{}')) AS id;
    PERFORM clinic_intake_record(c.id, v.conditions, v.medications, v.anticoagulants, '', false, '',
                                 v.oil, false, '', v.red_flags::red_flag[], '{}')
    FROM clients c
    JOIN (VALUES ('maria.schmidt@example.org', 'chronic low back pain since 2019', 'ibuprofen as needed', false, false, '{}'),
                 ('jonas.keller@example.org', 'tension neck pain', '', false, false, '{}'),
                 ('peter.novak@example.org', 'low back pain, worse at night', 'apixaban', true, false, '{constant_night_pain}'),
                 ('lena.hoffmann@example.org', '', '', false, true, '{}'),
                 ('tom.fischer@example.org', 'sciatica, left leg', '', false, false, '{}'),
                 ('sofia.rossi@example.org', '', '', false, false, '{}'),
                 ('karl.braun@example.org', 'hypertension, treated', 'ramipril', false, false, '{}'))
         AS v(email, conditions, medications, anticoagulants, oil, red_flags)
      ON lower(c.email) = v.email
    WHERE c.id = ANY (coalesce(client_ids, '{}'));

    -- Maria paid ahead for a course of care: ten back-pain sessions for the price of nine, by
    -- card (`clinic package list`; its receipt is the demo's first).
    PERFORM clinic_package_sell(c.id, d.id, loc, 10, 9 * sv.price_cents, 12, 'card', 'demo')
    FROM clients c, demo_services d JOIN services sv ON sv.id = d.id
    WHERE c.id = ANY (coalesce(client_ids, '{}')) AND lower(c.email) = 'maria.schmidt@example.org'
      AND d.name = 'Back pain treatment (45 min)';

    location_id := loc;
    room_ids := coalesce(room_ids, '{}');
    rooms := cardinality(room_ids);
    service_ids := ARRAY(SELECT s.id FROM demo_services s ORDER BY s.id);
    services := cardinality(service_ids);
    therapist_ids := ARRAY(SELECT t.id FROM demo_therapists t ORDER BY t.id);
    therapists := cardinality(therapist_ids);
    client_ids := coalesce(client_ids, '{}');
    clients := cardinality(client_ids);
    working_hours := (SELECT count(*) FROM working_hours w WHERE w.location_id = loc);
    -- the demo books nothing: its calendar is free for a first booking
    appointments := 0;
END
$$;
