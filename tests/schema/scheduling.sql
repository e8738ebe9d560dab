-- pgTAP: what the scheduling schema guarantees by itself, whoever writes to it.
-- The dates are fixed and past on purpose: what the schema guarantees does not depend on today.
BEGIN;
SELECT plan(50);

SELECT has_extension('btree_gist');
SELECT has_table('appointments');
SELECT col_not_null('appointments', 'blocked');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'appointments_therapist_free' AND contype = 'x'),
          'therapists cannot be double-booked (exclusion constraint)');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'appointments_room_free' AND contype = 'x'),
          'rooms cannot be double-booked (exclusion constraint)');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'appointments_client_free' AND contype = 'x'),
          'clients cannot be in two places at once (exclusion constraint)');
SELECT has_table('courses');
SELECT col_not_null('courses', 'therapist_id');
SELECT col_is_fk('appointments', 'course_id');
SELECT col_is_null('appointments', 'course_id');
SELECT ok(has_table_privilege('clinic_app', 'courses', 'SELECT, INSERT, UPDATE'),
          'the daemon reads and writes courses');
SELECT is((SELECT count(*)::int FROM appointments WHERE course_id IS NOT NULL), 0,
          'appointments from before courses belong to none');

-- a small clinic
INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (901, 'Schema test', 'Europe/Berlin');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (901, 901, 'R1'), (902, 901, 'R2');
INSERT INTO services (id, name, duration_minutes, buffer_after_minutes) OVERRIDING SYSTEM VALUE VALUES (901, 'S', 60, 15);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (901, 'T1', 't1@x.org'), (902, 'T2', 't2@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (901, 'C1'), (902, 'C2');

PREPARE book(bigint, bigint, bigint, timestamptz) AS
    INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked)
    VALUES ($1, $2, $3, 901, 901, $4, $4 + interval '1 hour', tstzrange($4, $4 + interval '75 minutes'));

SELECT lives_ok($$EXECUTE book(901, 901, 901, '2019-01-07 09:00+01')$$, 'a first booking is accepted');
SELECT throws_ok($$EXECUTE book(902, 901, 902, '2019-01-07 09:30+01')$$, '23P01', NULL,
                 'the same therapist cannot be booked twice at once');
SELECT throws_ok($$EXECUTE book(902, 902, 901, '2019-01-07 10:00+01')$$, '23P01', NULL,
                 'the room is blocked during the cleanup buffer too');
SELECT lives_ok($$EXECUTE book(902, 902, 901, '2019-01-07 10:15+01')$$, 'the room is free once the buffer ends');
SELECT throws_ok($$EXECUTE book(901, 902, 902, '2019-01-07 09:30+01')$$, '23P01', NULL,
                 'a client cannot be in two appointments at once');
UPDATE appointments SET status = 'cancelled' WHERE client_id = 901;
SELECT lives_ok($$EXECUTE book(902, 901, 902, '2019-01-07 09:00+01')$$, 'a cancelled appointment frees its time');
SELECT throws_ok($$INSERT INTO appointments (client_id, therapist_id, room_id, service_id, location_id, start_at, end_at, blocked)
                  VALUES (901, 901, 901, 901, 901, '2019-01-08 10:00+01', '2019-01-08 09:00+01', tstzrange('2019-01-08 08:00+01', '2019-01-08 11:00+01'))$$,
                 '23514', NULL, 'an appointment cannot end before it starts');

-- rules are serialised with the bookings they govern (sql/functions/60_rules.sql): every write
-- to a rule takes its lock by a trigger, and the rules that refuse to strand bookings count them
-- after that lock
SELECT ok((SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname IN
           ('closures_rules', 'rooms_rules', 'working_hours_rules', 'locations_rules',
            'services_rules', 'time_off_rules')) = 6,
          'closures, rooms, working hours, locations, services and time off take their rules lock when written');
SELECT throws_ok($$INSERT INTO closures (location_id, first_day, last_day) VALUES (901, '2019-01-07', '2019-01-07')$$,
                 'CLRUL', '2 appointment(s) are booked at this location from 2019-01-07 to 2019-01-07; move or cancel them before closing',
                 'a closure may not strand active appointments');
SELECT lives_ok($$INSERT INTO closures (location_id, first_day, last_day) VALUES (901, '2019-01-09', '2019-01-09')$$,
                'a day without appointments can be closed');
SELECT throws_ok($$INSERT INTO time_off (therapist_id, during) VALUES (902, tstzrange('2019-01-07 11:00+01', '2019-01-07 12:00+01'))$$,
                 'CLRUL', '1 appointment(s) of therapist 902 fall in that time off; move or cancel them first',
                 'time off may not strand active appointments, the cleanup buffer included');
SELECT lives_ok($$INSERT INTO time_off (therapist_id, during) VALUES (902, tstzrange('2019-01-07 11:30+01', '2019-01-07 12:00+01'))$$,
                'time off after the buffer is accepted');

-- working hours: no two rules of one therapist overlap on a weekday in time and in validity
-- (60_rules.sql, under the therapist's lock); rules that only meet are fine
INSERT INTO working_hours (id, therapist_id, location_id, weekday, start_local, end_local, valid_from, valid_until)
    OVERRIDING SYSTEM VALUE VALUES (901, 901, 901, 1, '09:00', '17:00', '2019-01-01', '2019-06-30');
SELECT throws_ok($$INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
                  VALUES (901, 901, 1, '08:00', '10:00')$$,
                 'CLRUL', 'therapist 901 already works Monday 09:00-17:00 at location 901 (working hours 901, valid 2019-01-01 to 2019-06-30), which overlaps these hours; delete or change working hours 901 first, or make the two meet without overlapping',
                 'an overlapping rule is refused, naming the rule in its way');
SELECT throws_ok($$INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local, valid_from)
                  VALUES (901, 901, 1, '09:00', '17:00', '2019-06-30')$$,
                 'CLRUL', NULL, 'validity ranges that share a day overlap');
SELECT lives_ok($$INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local, valid_from)
                  VALUES (901, 901, 1, '09:00', '17:00', '2019-07-01')$$,
                'the same hours from the day after the last rule ends are accepted');
SELECT lives_ok($$INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
                  VALUES (901, 901, 1, '17:00', '20:00'), (901, 901, 1, '06:00', '09:00')$$,
                'rules that only meet are accepted');
SELECT throws_ok($$INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
                  VALUES (902, 901, 2, '10:00', '12:00'), (902, 901, 2, '11:00', '13:00')$$,
                 'CLRUL', NULL, 'two overlapping rules in one statement are refused');
SELECT throws_ok($$UPDATE working_hours SET end_local = '18:00' WHERE id = 901$$,
                 'CLRUL', NULL, 'an update into an overlap is refused');
-- a database may hold overlaps from before the check: they stay, and the query in docs/sql.md
-- lists them
ALTER TABLE working_hours DISABLE TRIGGER working_hours_rules;
INSERT INTO working_hours (id, therapist_id, location_id, weekday, start_local, end_local)
    OVERRIDING SYSTEM VALUE VALUES (902, 902, 901, 3, '09:00', '17:00'), (903, 902, 901, 3, '16:00', '18:00');
ALTER TABLE working_hours ENABLE TRIGGER working_hours_rules;
SELECT is((SELECT string_agg(a.id || '/' || b.id, ',')
           FROM working_hours a JOIN working_hours b
             ON b.therapist_id = a.therapist_id AND b.weekday = a.weekday AND b.id > a.id
            AND b.start_local < a.end_local AND a.start_local < b.end_local
            AND b.valid_from <= coalesce(a.valid_until, 'infinity')
            AND a.valid_from <= coalesce(b.valid_until, 'infinity')),
          '902/903', 'the query in docs/sql.md lists an overlap from before');
SELECT lives_ok($$UPDATE working_hours SET start_local = '17:00' WHERE id = 903$$,
                'an overlap from before is resolved by an update');

-- events: one row per change, numbered contiguously in commit order
SELECT is((SELECT count(*)::int FROM events e JOIN appointments a ON a.id = e.appointment_id WHERE a.location_id = 901), 4,
          'three bookings and one cancellation wrote four events');
SELECT is((SELECT count(*)::int FROM events WHERE topic = 'appointment.cancelled'), 1, 'the cancellation has its own topic');
SELECT ok(clinic_sequence_events() >= 4, 'the sequencer numbers waiting events');
SELECT is((SELECT max(seq) - min(seq) + 1 FROM events)::int, (SELECT count(*)::int FROM events), 'sequence numbers have no gaps');

-- instants and local time
SELECT is(clinic_format_instant('2019-03-31 07:00+00', 'Europe/Berlin'), '2019-03-31T09:00:00+02:00', 'formatted in the local zone with its offset');
SELECT is(clinic_parse_instant('2019-03-31 09:00', 'Europe/Berlin', 'x'), '2019-03-31 07:00+00'::timestamptz, 'local 09:00 after spring-forward is 07:00 UTC');
SELECT throws_ok($$SELECT clinic_parse_instant('2019-03-31 02:30', 'Europe/Berlin', 'start_time')$$, 'CLINV', NULL,
                 'a local time in the skipped hour does not exist');
SELECT is(clinic_parse_instant('2019-10-27 02:30', 'Europe/Berlin', 'x'), '2019-10-27 00:30+00'::timestamptz,
          'a repeated local time reads as its first (summer-time) occurrence');
SELECT throws_ok($$SELECT clinic_parse_instant('next tuesday', 'Europe/Berlin', 'start_time')$$, 'CLINV', NULL,
                 'malformed times are refused');
SELECT ok(clinic_valid_time_zone('America/New_York') AND NOT clinic_valid_time_zone('Mars/Olympus'), 'time zones are checked against pg_timezone_names');

-- migrations are recorded with a SHA-256 checksum
SELECT is((SELECT count(*)::int FROM schema_migrations WHERE length(checksum) <> 64), 0, 'every migration has a SHA-256 checksum');

-- the relay's numbering scans the unnumbered events with a plain index scan (which marks the
-- entries of numbered rows dead as it passes), and events is vacuumed every 10 000 dead rows
SELECT ok((SELECT proconfig @> ARRAY['enable_bitmapscan=off', 'enable_seqscan=off'] FROM pg_proc
           WHERE proname = 'clinic_sequence_events'),
          'clinic_sequence_events reads the unnumbered events through their index only');
SELECT ok((SELECT reloptions @> ARRAY['autovacuum_vacuum_scale_factor=0',
                                      'autovacuum_vacuum_threshold=10000']
           FROM pg_class WHERE oid = 'events'::regclass),
          'events is vacuumed every 10 000 dead rows, whatever its size');
-- the relay's read of new events is planned once per connection, not on every pass
SELECT ok((SELECT proconfig @> ARRAY['plan_cache_mode=force_generic_plan',
                                     'enable_seqscan=off', 'enable_bitmapscan=off']
           FROM pg_proc WHERE proname = 'clinic_events_after'),
          'clinic_events_after keeps one plan, an index scan on seq');

-- the locks' order (last: the transaction holds resource locks from here on)
SELECT clinic_lock_rules_for_booking(901, 901);
SELECT is((SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
           AND mode = 'ShareLock' AND granted),
          2, 'a booking takes its location''s and its service''s rules locks shared');
SELECT clinic_lock_resources(ARRAY[clinic_lock_key(3, 901), clinic_lock_key(1, 901), clinic_lock_key(2, 901)]);
SELECT is(current_setting('clinic.lock_high'), clinic_lock_key(3, 901)::text,
          'clinic_lock_resources records the highest key it holds');
SELECT lives_ok($$SELECT clinic_lock_resources(ARRAY[clinic_lock_key(1, 950)])$$,
                'a free key below the highest one held is taken by trying');
SELECT is(current_setting('clinic.lock_high'), clinic_lock_key(3, 901)::text,
          'a key taken by trying leaves the highest key as it was');

SELECT * FROM finish();
ROLLBACK;
