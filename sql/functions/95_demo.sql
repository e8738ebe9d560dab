-- 95_demo.sql: a demo clinic for a new user to search and book at once (Demo/Load,
-- `clinic demo load`). Data only appears when asked for.
CREATE OR REPLACE FUNCTION clinic_load_demo(OUT location_id bigint, OUT rooms integer, OUT services integer,
                                 OUT therapists integer, OUT clients integer)
LANGUAGE plpgsql AS $$
DECLARE
    loc bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM locations WHERE lower(name) = 'demo clinic') THEN
        RAISE EXCEPTION USING ERRCODE = '23505', CONSTRAINT = 'locations_name_key',
            MESSAGE = 'the demo clinic is already loaded';
    END IF;
    INSERT INTO locations (name, time_zone, min_notice_minutes, max_advance_days,
                           slot_step_minutes, cancellation_window_hours)
    VALUES ('Demo Clinic', 'Europe/Berlin', 120, 90, 15, 24)
    RETURNING id INTO loc;

    INSERT INTO rooms (location_id, name, features) VALUES
        (loc, 'Linden', '{table}'),
        (loc, 'Kastanie', '{table,heated_table}'),
        (loc, 'Eiche', '{table,shower}');

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
    WHERE NOT EXISTS (SELECT 1 FROM clients x WHERE lower(x.email) = v.email);

    location_id := loc;
    rooms := 3;
    services := (SELECT count(*) FROM demo_services);
    therapists := (SELECT count(*) FROM demo_therapists);
    clients := 8;
END
$$;
