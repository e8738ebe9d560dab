-- 0026_waitlist.sql: clients waiting for a time that is taken. When a matching time frees (a
-- cancellation, a move), the first client waiting for it is offered it: an appointment booked
-- for them and held until a deadline (held_until), which blocks the time like any booking. They
-- accept it (the hold ends: an ordinary booking), decline it, or let the deadline pass; then the
-- time goes to the next client waiting. The rules are in sql/functions/88_waitlist.sql; clinicd
-- runs clinic_waitlist_pass about once a second (daemon/janitor.c).

-- How long an offer is held for the client before it passes to the next one waiting.
ALTER TABLE locations ADD COLUMN waitlist_hold_minutes integer NOT NULL DEFAULT 120
    CONSTRAINT locations_waitlist_hold_minutes_check CHECK (waitlist_hold_minutes BETWEEN 5 AND 2880);

-- Set while the appointment is an offer to a waiting client not yet accepted.
ALTER TABLE appointments ADD COLUMN held_until timestamptz;

CREATE TYPE waitlist_status AS ENUM ('waiting', 'offered', 'booked', 'removed', 'expired');

CREATE TABLE waitlist_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL CONSTRAINT waitlist_entries_client_fkey REFERENCES clients,
    service_id bigint NOT NULL CONSTRAINT waitlist_entries_service_fkey REFERENCES services,
    location_id bigint NOT NULL CONSTRAINT waitlist_entries_location_fkey REFERENCES locations,
    therapist_id bigint CONSTRAINT waitlist_entries_therapist_fkey REFERENCES therapists, -- NULL: anyone
    -- the local days, and the local times of day a session may start, the client can come
    first_day date NOT NULL,
    last_day date NOT NULL,
    earliest time NOT NULL DEFAULT '00:00',
    latest time NOT NULL DEFAULT '24:00',
    status waitlist_status NOT NULL DEFAULT 'waiting',
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT '',
    closed_at timestamptz,
    booked_appointment_id bigint CONSTRAINT waitlist_entries_booked_fkey REFERENCES appointments,
    CONSTRAINT waitlist_entries_days CHECK (last_day >= first_day AND last_day - first_day <= 366),
    CONSTRAINT waitlist_entries_times CHECK (earliest < latest)
);
-- The queue of a location, first come first served.
CREATE INDEX waitlist_entries_queue ON waitlist_entries (location_id, created_at, id)
    WHERE status = 'waiting';
CREATE INDEX waitlist_entries_client ON waitlist_entries (client_id);

-- Each offer made, and what became of it.
CREATE TABLE waitlist_offers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id bigint NOT NULL CONSTRAINT waitlist_offers_entry_fkey REFERENCES waitlist_entries,
    appointment_id bigint NOT NULL CONSTRAINT waitlist_offers_appointment_key UNIQUE
        CONSTRAINT waitlist_offers_appointment_fkey REFERENCES appointments,
    therapist_id bigint NOT NULL,
    start_at timestamptz NOT NULL,
    offered_at timestamptz NOT NULL DEFAULT now(),
    held_until timestamptz NOT NULL,
    outcome text NOT NULL DEFAULT 'pending'
        CONSTRAINT waitlist_offers_outcome_check
        CHECK (outcome IN ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    decided_at timestamptz
);
CREATE INDEX waitlist_offers_pending ON waitlist_offers (held_until) WHERE outcome = 'pending';
CREATE INDEX waitlist_offers_entry ON waitlist_offers (entry_id);

-- Times freed by a cancellation or a move, written in that transaction, offered by the next pass.
CREATE TABLE waitlist_freed (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id bigint NOT NULL,
    therapist_id bigint NOT NULL,
    start_at timestamptz NOT NULL,
    freed_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON waitlist_entries, waitlist_offers TO clinic_app;
GRANT SELECT, INSERT, DELETE ON waitlist_freed TO clinic_app;

-- The front desk and admins see the whole waitlist; a client their own entries; therapists none.
-- The pass that makes offers runs for no caller: clinic_waitlist_pass sets the role 'system'.
ALTER TABLE waitlist_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY waitlist_staff ON waitlist_entries TO clinic_app
    USING (clinic_caller_role() IN ('admin', 'front_desk', 'system'))
    WITH CHECK (clinic_caller_role() IN ('admin', 'front_desk', 'system'));
CREATE POLICY waitlist_client ON waitlist_entries TO clinic_app
    USING (clinic_caller_role() = 'client' AND client_id = clinic_caller_client())
    WITH CHECK (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
