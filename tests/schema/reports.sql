-- pgTAP: the reports' SQL (sql/functions/92_reports.sql) at the edges a clinic meets: a week
-- with a change of the clocks still holds seven full working days (wall-clock hours do not
-- shrink on the 23-hour day nor grow on the 25-hour one), the period's days are the location's
-- local days to the minute (a session at 23:30 on the last day is in, one at 00:30 the next day
-- is out), cancellations free their time while no-shows hold it, and what has not started yet
-- is not due. The clock changes are the next ones from today, so the test holds in any year.
BEGIN;
SELECT plan(14);

INSERT INTO locations (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (3101, 'Reports test', 'Europe/Berlin');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (3101, 3101, 'R1');
INSERT INTO services (id, name, duration_minutes) OVERRIDING SYSTEM VALUE VALUES (3101, 'Reports care', 60);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (3101, 'T1', 'r-t1@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (3101, 'C1'), (3102, 'C2');
-- 09:00-17:00 every day of the week
INSERT INTO working_hours (therapist_id, location_id, weekday, start_local, end_local)
SELECT 3101, 3101, d, '09:00', '17:00' FROM generate_series(1, 7) AS d;

-- The next days Berlin's clocks go forward and back: the local midnights before and after differ
-- in their UTC offset.
CREATE TEMP TABLE clock_changes AS
SELECT d::date AS day,
       clinic_utc_offset(((d + interval '1 day')::timestamp) AT TIME ZONE 'Europe/Berlin', 'Europe/Berlin')
       > clinic_utc_offset((d::timestamp) AT TIME ZONE 'Europe/Berlin', 'Europe/Berlin') AS forward
FROM generate_series(current_date + 1, current_date + 400, interval '1 day') AS d
WHERE clinic_utc_offset(((d + interval '1 day')::timestamp) AT TIME ZONE 'Europe/Berlin', 'Europe/Berlin')
      <> clinic_utc_offset((d::timestamp) AT TIME ZONE 'Europe/Berlin', 'Europe/Berlin');
CREATE TEMP TABLE spring AS SELECT min(day) AS day FROM clock_changes WHERE forward;
CREATE TEMP TABLE autumn AS SELECT min(day) AS day FROM clock_changes WHERE NOT forward;

-- A session of client c at local time `at` on day `day`, in `status`.
CREATE FUNCTION pg_temp.session(p_id bigint, p_client bigint, p_day date, p_at time,
                                 p_status appointment_status) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at,
                              end_at, blocked, status)
    OVERRIDING SYSTEM VALUE
    SELECT p_id, p_client, 3101, 3101, 3101, 3101, s, s + interval '1 hour', tstzrange(s, s + interval '1 hour'),
           p_status
    FROM (SELECT clinic_local_instant(p_day + p_at, 'Europe/Berlin') AS s) x
$$;

SELECT is((SELECT upper(r) - lower(r) FROM spring, clinic_report_span(3101, spring.day, spring.day) AS r),
          interval '23 hours', 'the day the clocks go forward has 23 hours');
SELECT is((SELECT upper(r) - lower(r) FROM autumn, clinic_report_span(3101, autumn.day, autumn.day) AS r),
          interval '25 hours', 'the day the clocks go back has 25 hours');
SELECT is((SELECT working_minutes FROM spring, clinic_report_utilisation(3101, spring.day - 3, spring.day + 3)
           WHERE kind = 'therapist'),
          7 * 480::bigint, 'a week with the spring change holds seven working days of eight hours');
SELECT is((SELECT working_minutes FROM autumn, clinic_report_utilisation(3101, autumn.day - 3, autumn.day + 3)
           WHERE kind = 'therapist'),
          7 * 480::bigint, 'a week with the autumn change holds seven working days of eight hours');

-- On the spring day: a session at 10:00, a no-show at 12:00, a cancellation at 14:00.
SELECT lives_ok($$ SELECT pg_temp.session(3101, 3101, (SELECT day FROM spring), '10:00', 'booked') $$, 'a booked session');
SELECT lives_ok($$ SELECT pg_temp.session(3102, 3101, (SELECT day FROM spring), '12:00', 'no_show') $$, 'a no-show');
SELECT lives_ok($$ SELECT pg_temp.session(3103, 3102, (SELECT day FROM spring), '14:00', 'cancelled') $$, 'a cancellation');
SELECT is((SELECT booked_minutes FROM spring, clinic_report_utilisation(3101, spring.day, spring.day)
           WHERE kind = 'therapist'),
          120::bigint, 'the session and the no-show hold their hours; the cancellation frees its own');
SELECT is((SELECT utilisation FROM spring, clinic_report_utilisation(3101, spring.day, spring.day)
           WHERE kind = 'room'),
          0.25, 'the room: two hours of the eight anyone works');

-- The period's last local day to the minute: 23:30 on it is in, 00:30 the next day is out.
SELECT lives_ok($$ SELECT pg_temp.session(3104, 3102, (SELECT day + 1 FROM autumn), '23:30', 'booked') $$, 'a late session');
SELECT lives_ok($$ SELECT pg_temp.session(3105, 3101, (SELECT day + 2 FROM autumn), '00:30', 'booked') $$, 'an early one');
SELECT is((SELECT sessions FROM autumn, clinic_report_utilisation(3101, autumn.day, autumn.day + 1)
           WHERE kind = 'therapist'),
          1::bigint, 'a session at 23:30 on the last day counts; one at 00:30 the next day does not');

-- None of it has started: nothing is due, and no client is listed.
SELECT is((SELECT due FROM clinic_report_attendance(3101, current_date, current_date + 400) WHERE kind = 'total'),
          0::bigint, 'appointments not started yet are not due');
SELECT is((SELECT count(*) FROM clinic_report_attendance(3101, current_date, current_date + 400) WHERE kind = 'client'),
          0::bigint, 'and no client has missed one');

SELECT * FROM finish();
ROLLBACK;
