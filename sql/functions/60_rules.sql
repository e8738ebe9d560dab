-- 60_rules.sql: what writing a booking rule does first: the triggers on closures, rooms,
-- working hours, locations, services and time off take the rule's lock (30_locks.sql) and refuse
-- a closure or time off that would strand booked appointments, or working hours that overlap a
-- rule the therapist has already.

-- Before a row of closures, rooms or working_hours is written, and before a location is
-- changed: the location's rules lock (both locations', in order, if a row moves). A closure
-- may not strand active appointments: counted after the lock, so that no booking can commit on
-- the closed days unseen (it either committed before the count or waits for this change).
-- Buffers count as in clinic_book_details: a closure touches an appointment when one of its
-- days is a day the blocked time touches.
-- A working-hours rule may not overlap another of the same therapist (any location: they cannot
-- work in two places at once) on the same weekday in time and in validity; rules that only touch
-- (09:00-12:00 and 12:00-17:00) are fine. An overlap never changed availability (the rules are
-- united), but it hides which rule to change, and at two locations it offers one therapist twice.
-- Checked under the therapist's lock (kind 1, as time off takes it; after the location's, in
-- the global order), so that of two overlapping rules written at once the second sees the
-- first. A check rather than an exclusion constraint: such a constraint cannot be added NOT
-- VALID, so a database that already holds overlaps could not be upgraded; those rules stay as
-- they are (docs/sql.md shows how to list them) and only rules written from now on are held to
-- it. The refusal names the rule that is in the way, for the caller to change or delete it.
CREATE OR REPLACE FUNCTION clinic_location_rules_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_location bigint;
    new_location bigint;
    tz text;
    n bigint;
    other working_hours%ROWTYPE;
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
    IF TG_TABLE_NAME = 'working_hours' AND TG_OP <> 'DELETE' THEN
        PERFORM clinic_lock_resources(ARRAY[clinic_lock_key(1, NEW.therapist_id)]);
        SELECT * INTO other FROM working_hours w
        WHERE w.therapist_id = NEW.therapist_id AND w.weekday = NEW.weekday AND w.id <> NEW.id
          AND w.start_local < NEW.end_local AND NEW.start_local < w.end_local
          AND w.valid_from <= coalesce(NEW.valid_until, 'infinity')
          AND NEW.valid_from <= coalesce(w.valid_until, 'infinity')
        ORDER BY w.id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'therapist %s already works %s %s-%s at location %s (working hours %s, %s), which '
                'overlaps these hours; delete or change working hours %s first, or make the two '
                'meet without overlapping',
                other.therapist_id,
                (ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday',
                       'Sunday'])[other.weekday],
                to_char(other.start_local, 'HH24:MI'), to_char(other.end_local, 'HH24:MI'),
                other.location_id, other.id,
                CASE WHEN other.valid_from <= date '2000-01-01' AND other.valid_until IS NULL
                         THEN 'valid always'
                     WHEN other.valid_until IS NULL
                         THEN 'valid from ' || to_char(other.valid_from, 'YYYY-MM-DD')
                     WHEN other.valid_from <= date '2000-01-01'
                         THEN 'valid until ' || to_char(other.valid_until, 'YYYY-MM-DD')
                     ELSE 'valid ' || to_char(other.valid_from, 'YYYY-MM-DD') || ' to '
                          || to_char(other.valid_until, 'YYYY-MM-DD') END,
                other.id);
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
