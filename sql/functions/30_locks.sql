-- 30_locks.sql: the advisory locks that serialise bookings with each other and with the rules
-- they read, in one global order so that no two calls can deadlock.
--
-- Why: two bookings that collide on different exclusion constraints (one on the therapist, one
-- on the room) deadlock and wait for deadlock_timeout; a closure could land on a day being
-- booked (both committed in 4 of 6 interleavings under PostgreSQL's isolation tester); a course
-- that locked its sessions one at a time deadlocked against a single booking.
--
-- The locks (transaction-scoped advisory locks, keys from clinic_lock_key(kind, id)):
--   kind 4, a location: its closures, its rooms, the working hours there, its booking rules;
--   kind 5, a service: its length, buffers, needed features, whether it is offered;
--   kind 1, 2, 3: a therapist, a room, a client (the resources a booking takes; time off is the
--   therapist's, kind 1);   kind 9: the event relay.
-- * A booking, move or course takes its location's and its service's locks shared, first
--   (clinic_lock_rules_for_booking), before it reads any rule; bookings do not wait for each
--   other there. Every write to a rule takes the lock of what it changes exclusively, by a
--   trigger on the rule's table (clinic_lock_rules_for_change), so it waits for the bookings
--   in flight and they wait for it; a rule that refuses to strand bookings (a closure, time off)
--   counts them after that lock, in a statement whose snapshot sees every booking committed
--   before it. Whoever writes the rules (the daemon, the clinic tool, SQL by hand) is held to
--   this, because the triggers are the database's.
-- * The global order: rule locks first (a location's before a service's), then therapist, room
--   and client keys ascending (kind 1 keys are below kind 2's, below kind 3's). No call waits for
--   a key below one it holds: clinic_lock_resources, which takes every resource lock, waits only
--   for keys above the highest one this transaction holds (it records it in the
--   transaction-local setting clinic.lock_high, rolled back with a savepoint as the locks are)
--   and merely tries the others, asking for the call to be run again (40001) when one is taken;
--   a transaction that holds a resource lock only tries rule locks. A wait-for cycle among these
--   locks needs someone waiting for a key below one they hold, so none can form. (A move locks
--   its appointment's row before any of them; the life-cycle calls lock a row and wait for
--   nothing else. Only a statement writing the rules of several locations at once, a set-up
--   script's, takes their locks in its rows' order.)
-- * A single booking takes its three keys ascending. A course first books every session with
--   what it can take that way; if a session finds a key taken, the course rolls that attempt back
--   (releasing its locks), takes every key the sessions need in one ascending sweep (waiting is
--   safe: it holds none of them), and books again.

-- The key of one lock: kind * 10^15 + id, so the keys of one kind sort together and below the
-- next kind's.
CREATE OR REPLACE FUNCTION clinic_lock_key(p_class integer, p_id bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_class::bigint * 1000000000000000 + p_id
$$;

-- Shared locks on the rules of p_location and p_service, location first: taken by every
-- booking, move and course before it reads a rule. Waits while a change of those rules is in
-- flight; bookings never wait for each other here. Rule locks come before resource locks in
-- the global order: a transaction that already holds a resource lock (a course's later
-- sessions, which hold these rule locks already) only tries them.
CREATE OR REPLACE FUNCTION clinic_lock_rules_for_booking(p_location bigint, p_service bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF nullif(current_setting('clinic.lock_high', true), '') IS NULL THEN
        -- a target list is evaluated left to right
        PERFORM pg_advisory_xact_lock_shared(clinic_lock_key(4, p_location)),
                pg_advisory_xact_lock_shared(clinic_lock_key(5, p_service));
    ELSIF NOT (pg_try_advisory_xact_lock_shared(clinic_lock_key(4, p_location))
               AND pg_try_advisory_xact_lock_shared(clinic_lock_key(5, p_service))) THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = 'the rules of this booking are being changed by another call';
    END IF;
END
$$;

-- The exclusive lock on the rules of a location (p_kind 4) or a service (p_kind 5), taken by
-- the triggers below before a rule is written: it waits for the bookings in flight that read
-- those rules, and bookings that start meanwhile wait for the change to commit. Like the shared
-- one, only tried by a transaction that holds a resource lock.
CREATE OR REPLACE FUNCTION clinic_lock_rules_for_change(p_kind integer, p_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_kind NOT IN (4, 5) THEN
        RAISE EXCEPTION 'clinic_lock_rules_for_change: kind % is not a kind of rules', p_kind;
    END IF;
    IF nullif(current_setting('clinic.lock_high', true), '') IS NULL THEN
        PERFORM pg_advisory_xact_lock(clinic_lock_key(p_kind, p_id));
    ELSIF NOT pg_try_advisory_xact_lock(clinic_lock_key(p_kind, p_id)) THEN
        RAISE EXCEPTION USING ERRCODE = '40001',
            MESSAGE = 'these rules are being read by a booking in flight; run the change again';
    END IF;
END
$$;

-- Takes the exclusive locks p_keys (therapist, room and client keys) in the global order:
-- ascending, and waiting only for a key above every resource key this transaction already
-- holds. A key below that is only tried: when another call holds it, waiting could close a
-- cycle, so this raises 40001 (run the call again) with the keys in DETAIL, for a course to
-- take them all in order (clinic_book_course). A key this transaction holds is granted again
-- at once.
CREATE OR REPLACE FUNCTION clinic_lock_resources(p_keys bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    high bigint := nullif(current_setting('clinic.lock_high', true), '')::bigint;
    keys bigint[] := p_keys;
    k bigint;
BEGIN
    IF coalesce(cardinality(p_keys), 0) = 0 THEN
        RETURN;
    END IF;
    -- A booking's keys come ascending (therapist, room, client); sort only what does not: the
    -- query costs a booking more than the rest of this function.
    FOR i IN 2 .. cardinality(keys) LOOP
        IF keys[i - 1] >= keys[i] THEN
            keys := ARRAY(SELECT DISTINCT u FROM unnest(p_keys) AS u ORDER BY u);
            EXIT;
        END IF;
    END LOOP;
    FOREACH k IN ARRAY keys LOOP
        IF high IS NULL OR k > high THEN
            PERFORM pg_advisory_xact_lock(k);
            high := k;
        ELSIF NOT pg_try_advisory_xact_lock(k) THEN
            RAISE EXCEPTION USING ERRCODE = '40001', DETAIL = p_keys::text,
                MESSAGE = 'a therapist, room or client this call needs is in use by another call';
        END IF;
    END LOOP;
    PERFORM set_config('clinic.lock_high', high::text, true);
END
$$;
