-- 60_rules.sql: what writing a booking rule does first: the triggers on closures, rooms,
-- working hours, locations, services and time off take the rule's lock (30_locks.sql) and refuse
-- a closure or time off that would strand booked appointments.

-- Before a row of closures, rooms or working_hours is written, and before a location is
-- changed: the location's rules lock (both locations', in order, if a row moves). A closure
-- may not strand active appointments: counted after the lock, so that no booking can commit on
-- the closed days unseen (it either committed before the count or waits for this change).
-- Buffers count as in clinic_book_details: a closure touches an appointment when one of its
-- days is a day the blocked time touches.
CREATE OR REPLACE FUNCTION clinic_location_rules_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_location bigint;
    new_location bigint;
    tz text;
    n bigint;
BEGIN
    IF TG_TABLE_NAME = 'locations' THEN
        old_location := OLD.id;
        new_location := NEW.id;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            old_location := OLD.location_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            new_location := NEW.location_id;
        END IF;
    END IF;
    PERFORM clinic_lock_rules_for_change(4, l)
    FROM (SELECT DISTINCT l FROM unnest(ARRAY[old_location, new_location]) AS l
          WHERE l IS NOT NULL ORDER BY l) AS x;
    IF TG_TABLE_NAME = 'closures' AND TG_OP <> 'DELETE' THEN
        SELECT time_zone INTO tz FROM locations WHERE id = NEW.location_id;
        SELECT count(*) INTO n FROM appointments a
        WHERE a.location_id = NEW.location_id AND a.status IN ('booked', 'checked_in')
          -- the index's range first: a blocked time ends less than two days after its start
          AND a.start_at >= (NEW.first_day - 2)::timestamp AT TIME ZONE tz
          AND a.start_at < (NEW.last_day + 2)::timestamp AT TIME ZONE tz
          AND NEW.first_day <= (upper(a.blocked) AT TIME ZONE tz)::date
          AND NEW.last_day >= (lower(a.blocked) AT TIME ZONE tz)::date;
        IF n > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                '%s appointment(s) are booked at this location from %s to %s; move or cancel them '
                'before closing', n, to_char(NEW.first_day, 'YYYY-MM-DD'),
                to_char(NEW.last_day, 'YYYY-MM-DD'));
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE OR REPLACE TRIGGER closures_rules BEFORE INSERT OR UPDATE OR DELETE ON closures
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();
CREATE OR REPLACE TRIGGER rooms_rules BEFORE INSERT OR UPDATE OR DELETE ON rooms
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();
CREATE OR REPLACE TRIGGER working_hours_rules BEFORE INSERT OR UPDATE OR DELETE ON working_hours
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();
CREATE OR REPLACE TRIGGER locations_rules BEFORE UPDATE OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION clinic_location_rules_written();

-- Before a service is changed: its rules lock (a new service has no bookings to wait for).
CREATE OR REPLACE FUNCTION clinic_service_rules_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM clinic_lock_rules_for_change(5, OLD.id);
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE OR REPLACE TRIGGER services_rules BEFORE UPDATE OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION clinic_service_rules_written();

-- Before time off is written: the therapist's lock, the one every booking of them takes before
-- it writes (and then looks at time off again, in its write). Time off may not strand active
-- appointments (buffers included: they block the therapist too), counted after the lock.
CREATE OR REPLACE FUNCTION clinic_time_off_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM clinic_lock_resources(ARRAY(
        SELECT DISTINCT clinic_lock_key(1, t) FROM unnest(ARRAY[OLD.therapist_id, NEW.therapist_id]) AS t
        WHERE t IS NOT NULL));
    IF TG_OP <> 'DELETE' THEN
        SELECT count(*) INTO n FROM appointments a
        WHERE a.therapist_id = NEW.therapist_id AND a.status IN ('booked', 'checked_in')
          AND a.blocked && NEW.during;
        IF n > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                '%s appointment(s) of therapist %s fall in that time off; move or cancel them first',
                n, NEW.therapist_id);
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE OR REPLACE TRIGGER time_off_rules BEFORE INSERT OR UPDATE OR DELETE ON time_off
    FOR EACH ROW EXECUTE FUNCTION clinic_time_off_written();
