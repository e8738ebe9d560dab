-- 0030_fees_receipts.sql: what a client owes and the documents that prove what was paid.
--  * A late cancellation or a no-show is charged the location's fee (an amount, or a percent of
--    the service's price) in the transaction that records it, unless a package draw covered it;
--    a completed session not covered by a package is charged its service's price. A charge is
--    open until paid (`clinic charge pay`), or cancelled when its session is undone.
--  * A receipt is issued when a charge is paid, a package is sold, or a session (or a missed
--    one) is drawn from a package (0 due). A receipt never changes and never disappears (a
--    guard trigger refuses UPDATE, DELETE and TRUNCATE to everyone, the owner included);
--    a correction is a new document, kind 'correction', with the original's amounts negated.
--  * Receipt numbers run 1, 2, 3, ... per location with no gap: the next number comes from the
--    location's counter row, locked and incremented in the issuing transaction (a sequence would
--    leave gaps at every rollback, which invoice law does not allow).
--  * Prices include tax (consumer prices); a service has its tax rate (0 by default: massage
--    therapy may be exempt). Net and tax are split in integer cents by clinic_tax_split.
-- The rules are in sql/functions/89_billing.sql.

ALTER TABLE services ADD COLUMN tax_rate_bp integer NOT NULL DEFAULT 0
    CONSTRAINT services_tax_rate_bp_check CHECK (tax_rate_bp BETWEEN 0 AND 10000);
COMMENT ON COLUMN services.tax_rate_bp IS
    'Tax included in the price, in basis points of the net: 1900 = 19 %, 770 = 7.7 %.';

-- The fee of a late cancellation and of a no-show: an amount, or a percent of the service's
-- price, or neither (0 and 0: no fee). Not both.
ALTER TABLE locations
    ADD COLUMN late_cancel_fee_cents bigint NOT NULL DEFAULT 0
        CONSTRAINT locations_late_cancel_fee_cents_check CHECK (late_cancel_fee_cents BETWEEN 0 AND 100000000),
    ADD COLUMN late_cancel_fee_percent integer NOT NULL DEFAULT 0
        CONSTRAINT locations_late_cancel_fee_percent_check CHECK (late_cancel_fee_percent BETWEEN 0 AND 100),
    ADD COLUMN no_show_fee_cents bigint NOT NULL DEFAULT 0
        CONSTRAINT locations_no_show_fee_cents_check CHECK (no_show_fee_cents BETWEEN 0 AND 100000000),
    ADD COLUMN no_show_fee_percent integer NOT NULL DEFAULT 0
        CONSTRAINT locations_no_show_fee_percent_check CHECK (no_show_fee_percent BETWEEN 0 AND 100),
    ADD CONSTRAINT locations_late_cancel_fee_one CHECK (late_cancel_fee_cents = 0 OR late_cancel_fee_percent = 0),
    ADD CONSTRAINT locations_no_show_fee_one CHECK (no_show_fee_cents = 0 OR no_show_fee_percent = 0);

-- How money was paid; 'package' for a session drawn from a package (nothing due).
CREATE TYPE payment_method AS ENUM ('cash', 'card', 'transfer', 'voucher', 'package');

-- What a client owes for one appointment: its session, or the fee of its late cancellation or
-- no-show.
CREATE TABLE charges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id bigint NOT NULL CONSTRAINT charges_appointment_fkey REFERENCES appointments,
    client_id bigint NOT NULL CONSTRAINT charges_client_fkey REFERENCES clients,
    location_id bigint NOT NULL CONSTRAINT charges_location_fkey REFERENCES locations,
    therapist_id bigint NOT NULL CONSTRAINT charges_therapist_fkey REFERENCES therapists,
    service_id bigint NOT NULL CONSTRAINT charges_service_fkey REFERENCES services,
    kind text NOT NULL CONSTRAINT charges_kind_check CHECK (kind IN ('session', 'late_cancel', 'no_show')),
    amount_cents bigint NOT NULL CONSTRAINT charges_amount_check CHECK (amount_cents BETWEEN 0 AND 100000000),
    tax_rate_bp integer NOT NULL,
    status text NOT NULL DEFAULT 'open' CONSTRAINT charges_status_check CHECK (status IN ('open', 'paid', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    receipt_id bigint, -- the receipt of its payment while paid
    cancel_reason text NOT NULL DEFAULT ''
);
CREATE INDEX charges_client ON charges (client_id, id);
CREATE INDEX charges_appointment ON charges (appointment_id);
CREATE INDEX charges_open ON charges (location_id, id) WHERE status = 'open';

-- The next receipt number of each location: the row is locked by the issuing transaction.
CREATE TABLE receipt_counters (
    location_id bigint PRIMARY KEY CONSTRAINT receipt_counters_location_fkey REFERENCES locations,
    last_number bigint NOT NULL DEFAULT 0
);

-- The documents. Names, the address and the amounts are copied in when issued, so that a
-- receipt reads the same for ever whatever later becomes of the records it names.
CREATE TABLE receipts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id bigint NOT NULL CONSTRAINT receipts_location_fkey REFERENCES locations,
    number bigint NOT NULL,
    kind text NOT NULL CONSTRAINT receipts_kind_check CHECK (kind IN ('session', 'package', 'fee', 'correction')),
    issued_at timestamptz NOT NULL DEFAULT now(),
    issued_by text NOT NULL DEFAULT '',
    location_name text NOT NULL,
    location_address text NOT NULL,
    time_zone text NOT NULL,
    currency text NOT NULL,
    client_id bigint NOT NULL CONSTRAINT receipts_client_fkey REFERENCES clients,
    client_name text NOT NULL,
    therapist_id bigint CONSTRAINT receipts_therapist_fkey REFERENCES therapists, -- NULL: a package sale
    therapist_name text NOT NULL DEFAULT '',
    service_id bigint NOT NULL CONSTRAINT receipts_service_fkey REFERENCES services,
    service_name text NOT NULL,
    appointment_id bigint CONSTRAINT receipts_appointment_fkey REFERENCES appointments,
    session_start timestamptz,
    charge_id bigint CONSTRAINT receipts_charge_fkey REFERENCES charges,
    package_id bigint CONSTRAINT receipts_package_fkey REFERENCES packages,
    package_draw integer,     -- k of a session drawn from a package
    package_sessions integer, -- M, its sessions
    description text NOT NULL,
    price_cents bigint NOT NULL,  -- the list price of what it is for
    gross_cents bigint NOT NULL,  -- paid, tax included (negative on a correction)
    tax_rate_bp integer NOT NULL,
    net_cents bigint NOT NULL,
    tax_cents bigint NOT NULL,
    paid_by payment_method NOT NULL,
    corrects_receipt_id bigint CONSTRAINT receipts_corrects_key UNIQUE
        CONSTRAINT receipts_corrects_fkey REFERENCES receipts,
    reason text NOT NULL DEFAULT '',
    CONSTRAINT receipts_number_key UNIQUE (location_id, number),
    CONSTRAINT receipts_number_check CHECK (number >= 1),
    CONSTRAINT receipts_split_check CHECK (net_cents + tax_cents = gross_cents),
    CONSTRAINT receipts_correction_check CHECK ((kind = 'correction') = (corrects_receipt_id IS NOT NULL))
);
CREATE INDEX receipts_client ON receipts (client_id, id);
CREATE INDEX receipts_appointment ON receipts (appointment_id);
ALTER TABLE charges ADD CONSTRAINT charges_receipt_fkey FOREIGN KEY (receipt_id) REFERENCES receipts;

-- Read by the daemon; written only through the functions of 89_billing.sql (SECURITY DEFINER).
GRANT SELECT ON charges, receipts TO clinic_app;

-- Admins and the front desk see all; a client their own; a therapist the receipts of their own
-- sessions (never a package sale, never what is still owed).
ALTER TABLE charges ENABLE ROW LEVEL SECURITY;
CREATE POLICY charges_staff ON charges TO clinic_app
    USING (clinic_caller_role() IN ('admin', 'front_desk'));
CREATE POLICY charges_client ON charges TO clinic_app
    USING (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
ALTER TABLE receipts ENABLE ROW LEVEL SECURITY;
CREATE POLICY receipts_staff ON receipts TO clinic_app
    USING (clinic_caller_role() IN ('admin', 'front_desk'));
CREATE POLICY receipts_client ON receipts TO clinic_app
    USING (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
CREATE POLICY receipts_therapist ON receipts TO clinic_app
    USING (clinic_caller_role() = 'therapist' AND therapist_id = clinic_caller_therapist());
