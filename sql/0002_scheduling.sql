-- 0002_scheduling.sql: the clinic's set-up and its appointments.
--
-- What the database itself guarantees, so that any number of daemons can share it:
--  * no two active appointments of one therapist or one room overlap, buffers included, and no
--    client is in two places at once (exclusion constraints over ranges, btree_gist);
--  * a cancelled or no-show appointment frees its time (the constraints skip inactive rows);
--  * every appointment change leaves an event row, in the changing transaction (the trigger
--    appointments_event, sql/functions/70_events.sql).

CREATE TYPE appointment_status AS ENUM ('booked', 'checked_in', 'completed', 'cancelled', 'no_show');

-- Lower-case words: "table", "heated_table".
CREATE FUNCTION clinic_valid_features(f text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT coalesce(bool_and(x ~ '^[a-z][a-z0-9_]{0,39}$'), true) FROM unnest(f) AS x
$$;

CREATE TABLE locations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone text NOT NULL,
    min_notice_minutes integer NOT NULL DEFAULT 0 CHECK (min_notice_minutes BETWEEN 0 AND 525600),
    max_advance_days integer NOT NULL DEFAULT 90 CHECK (max_advance_days BETWEEN 1 AND 3660),
    slot_step_minutes integer NOT NULL DEFAULT 15 CHECK (slot_step_minutes BETWEEN 1 AND 1440),
    cancellation_window_hours integer NOT NULL DEFAULT 24
        CHECK (cancellation_window_hours BETWEEN 0 AND 8760),
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX locations_name_key ON locations (lower(name));

CREATE TABLE closures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id bigint NOT NULL REFERENCES locations,
    first_day date NOT NULL,
    last_day date NOT NULL,
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    CHECK (first_day <= last_day)
);
CREATE INDEX closures_location ON closures (location_id, first_day);

CREATE TABLE rooms (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id bigint NOT NULL REFERENCES locations,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    features text[] NOT NULL DEFAULT '{}' CHECK (clinic_valid_features(features)),
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rooms_location_name_key ON rooms (location_id, lower(name));

CREATE TABLE services (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    price_cents bigint NOT NULL DEFAULT 0 CHECK (price_cents BETWEEN 0 AND 100000000),
    required_features text[] NOT NULL DEFAULT '{}' CHECK (clinic_valid_features(required_features)),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX services_name_key ON services (lower(name));

CREATE TABLE therapists (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX therapists_email_key ON therapists (lower(email));

CREATE TABLE therapist_services (
    therapist_id bigint NOT NULL REFERENCES therapists ON DELETE CASCADE,
    service_id bigint NOT NULL REFERENCES services,
    PRIMARY KEY (therapist_id, service_id)
);
CREATE INDEX therapist_services_service ON therapist_services (service_id);

-- Weekly rules in wall-clock time of the location's zone: 09:00-17:00 stays 09:00-17:00 local
-- across daylight-saving changes because instants are derived per day, never stored.
CREATE TABLE working_hours (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    therapist_id bigint NOT NULL REFERENCES therapists,
    location_id bigint NOT NULL REFERENCES locations,
    weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 = Monday
    start_local time NOT NULL,
    end_local time NOT NULL,
    valid_from date NOT NULL DEFAULT '2000-01-01',
    valid_until date,
    CHECK (start_local < end_local),
    CHECK (valid_until IS NULL OR valid_from <= valid_until)
);
CREATE INDEX working_hours_therapist ON working_hours (therapist_id, location_id, weekday);

CREATE TABLE time_off (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    therapist_id bigint NOT NULL REFERENCES therapists,
    during tstzrange NOT NULL CHECK (NOT isempty(during) AND lower(during) IS NOT NULL
                                     AND upper(during) IS NOT NULL),
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500)
);
CREATE INDEX time_off_during ON time_off USING gist (therapist_id, during);

CREATE TABLE clients (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email text CHECK (email IS NULL OR (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254)),
    phone text CHECK (phone IS NULL OR phone ~ '^\+?[0-9 ()/-]{3,30}$'),
    date_of_birth date CHECK (date_of_birth IS NULL OR date_of_birth >= '1900-01-01'),
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clients_email_key ON clients (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX clients_name ON clients (lower(name));

CREATE TABLE appointments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL REFERENCES clients,
    therapist_id bigint NOT NULL REFERENCES therapists,
    room_id bigint NOT NULL REFERENCES rooms,
    service_id bigint NOT NULL REFERENCES services,
    location_id bigint NOT NULL REFERENCES locations,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    -- The time the therapist and the room are taken: the session plus the service's buffers,
    -- copied at booking so that later changes to the service do not move existing bookings.
    blocked tstzrange NOT NULL,
    status appointment_status NOT NULL DEFAULT 'booked',
    late_cancel boolean NOT NULL DEFAULT false,
    cancel_reason text NOT NULL DEFAULT '' CHECK (length(cancel_reason) <= 500),
    booked_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (start_at < end_at),
    CHECK (blocked @> tstzrange(start_at, end_at)),
    CONSTRAINT appointments_therapist_free EXCLUDE USING gist
        (therapist_id WITH =, blocked WITH &&) WHERE (status NOT IN ('cancelled', 'no_show')),
    CONSTRAINT appointments_room_free EXCLUDE USING gist
        (room_id WITH =, blocked WITH &&) WHERE (status NOT IN ('cancelled', 'no_show')),
    -- A client's own buffers are the room's cleanup, not theirs: only the sessions must not overlap.
    CONSTRAINT appointments_client_free EXCLUDE USING gist
        (client_id WITH =, tstzrange(start_at, end_at) WITH &&)
        WHERE (status NOT IN ('cancelled', 'no_show'))
);
CREATE INDEX appointments_location_start ON appointments (location_id, start_at);
CREATE INDEX appointments_client_start ON appointments (client_id, start_at);
CREATE INDEX appointments_therapist_start ON appointments (therapist_id, start_at);

-- A retried mutating call with the same key gets the first call's answer: the key, a hash of
-- the request and the packed response are stored in the call's own transaction.
CREATE TABLE idempotency_keys (
    key text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
    method text NOT NULL,
    request_sha256 bytea NOT NULL,
    response bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Appointment changes. Rows are written by the trigger below with seq NULL; a daemon's event
-- relay numbers them in commit order under an advisory lock (clinic_sequence_events), so seq is
-- contiguous and a watcher that has seen seq N has seen everything before it.
CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq bigint UNIQUE,
    topic text NOT NULL,
    appointment_id bigint NOT NULL,
    location_id bigint NOT NULL,
    therapist_id bigint NOT NULL,
    room_id bigint NOT NULL,
    client_id bigint NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    status appointment_status NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;

