-- 0022_calendar_feeds.sql: calendar feeds (RFC 5545) of a client's or a therapist's appointments,
-- opened by a secret key in the feed's URL, since calendar apps cannot send a token. As with
-- tokens (0007), only the SHA-256 of the 256-bit key is kept, and the daemon compares it in
-- constant time. One feed per owner: a new key replaces the old one, which stops working.
CREATE TABLE calendar_feeds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint CONSTRAINT calendar_feeds_client_key UNIQUE REFERENCES clients,
    therapist_id bigint CONSTRAINT calendar_feeds_therapist_key UNIQUE REFERENCES therapists,
    sha256 bytea NOT NULL CONSTRAINT calendar_feeds_sha256_length CHECK (length(sha256) = 32),
    rotated_at timestamptz NOT NULL DEFAULT now(),
    -- Who asked for the current key ("user:12"), as appointments.booked_by says it.
    rotated_by text NOT NULL DEFAULT '',
    CONSTRAINT calendar_feeds_one_owner CHECK ((client_id IS NULL) <> (therapist_id IS NULL))
);
COMMENT ON TABLE calendar_feeds IS
    'Calendar feeds: the SHA-256 of each feed''s current key, never the key itself.';

-- Every change of an appointment counts up its revision (sql/functions/20_appointments.sql): a
-- feed's SEQUENCE, which calendar apps use to tell a newer copy of an event from an older one.
ALTER TABLE appointments ADD COLUMN revision integer NOT NULL DEFAULT 0;

-- The UIDs of a database's events share one random part, so that two clinics' events never
-- collide in one person's calendar, and an event keeps its UID for as long as the database lives.
CREATE TABLE calendar_identity (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    uid_domain text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')
);
INSERT INTO calendar_identity DEFAULT VALUES;

GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_feeds TO clinic_app;
GRANT SELECT ON calendar_identity TO clinic_app;
