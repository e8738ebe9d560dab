-- 0025_outbox.sql: messages to clients (confirmations and reminders by email, and a webhook an SMS
-- provider can take them from), queued in the transaction that changes an appointment and
-- delivered later by the daemons' mailers (daemon/mailer.c).
--
-- A row holds the facts of its message, not its text: the kind, the channel, the appointment's
-- instants and people as they were when the change was made (a confirmation of a booking that was
-- moved before it went out still names the time that was booked). Names (location, address,
-- service, therapist) and the recipient's address are read when it is sent, so an erased client
-- gets nothing and a corrected address is used. Rendering at delivery keeps the booking
-- transaction as short as before (two or four small inserts, no text formatting in the trigger)
-- and keeps the wording in C, where it is unit-tested in each language.

-- What a message says about the location, and when it reminds: per location, in the database,
-- so every daemon agrees.
ALTER TABLE locations
    ADD COLUMN address text NOT NULL DEFAULT ''
        CONSTRAINT locations_address_length CHECK (length(address) <= 500),
    ADD COLUMN language text NOT NULL DEFAULT 'en'
        CONSTRAINT locations_language_tag CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
    ADD COLUMN reminder_lead interval NOT NULL DEFAULT interval '24 hours'
        CONSTRAINT locations_reminder_lead_range
            CHECK (reminder_lead >= interval '0' AND reminder_lead <= interval '30 days'),
    ADD COLUMN cancel_contact text NOT NULL DEFAULT ''
        CONSTRAINT locations_cancel_contact_length CHECK (length(cancel_contact) <= 300);
COMMENT ON COLUMN locations.language IS
    'Language of messages to clients (a tag such as en, fr, de; messages in another fall back to English).';
COMMENT ON COLUMN locations.reminder_lead IS
    'A reminder goes this long before an appointment (at once when it is booked later than that).';
COMMENT ON COLUMN locations.cancel_contact IS
    'How a client cancels, as messages say it: a phone number or a web address; empty: "contact the clinic".';

-- A client who wants no messages at all (email or webhook) says so, or the front desk for them.
ALTER TABLE clients ADD COLUMN messages_opt_out boolean NOT NULL DEFAULT false;

CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- CASCADE: an appointment deleted by hand (never by the API) takes its messages with it
    appointment_id bigint NOT NULL
        CONSTRAINT outbox_appointment_fkey REFERENCES appointments ON DELETE CASCADE,
    kind text NOT NULL
        CONSTRAINT outbox_kind_check CHECK (kind IN ('booked', 'rescheduled', 'cancelled', 'reminder')),
    channel text NOT NULL CONSTRAINT outbox_channel_check CHECK (channel IN ('email', 'webhook')),
    -- The appointment as this message describes it.
    client_id bigint NOT NULL,
    location_id bigint NOT NULL,
    service_id bigint NOT NULL,
    therapist_id bigint NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    -- pending -> sent | failed (gave up after retries or refused for good) | withdrawn (the
    -- reminder of a cancelled or moved appointment, a client who opted out or has no address).
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn')),
    due_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text CONSTRAINT outbox_last_error_length CHECK (length(last_error) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
-- The mailers' claim: pending rows by due time (a partial index stays as small as the queue).
CREATE INDEX outbox_due ON outbox (due_at) WHERE status = 'pending';
CREATE INDEX outbox_appointment ON outbox (appointment_id) WHERE status = 'pending';
CREATE INDEX outbox_client ON outbox (client_id) WHERE status = 'pending';
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status <> 'pending';
COMMENT ON TABLE outbox IS
    'Messages to clients, queued with the change they announce; the facts, never clinical data.';

-- The trigger runs as the caller's role; the mailer's transactions too.
GRANT SELECT, INSERT, UPDATE ON outbox TO clinic_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app;
