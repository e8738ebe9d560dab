-- 0029_packages.sql: prepaid series of sessions ("10 x Back massage 60, valid 12 months") sold to
-- a client. A completed session of that service draws one from the client's active package of
-- it (the one expiring first); a late cancellation or a no-show too when the location's policy
-- says so. Every draw is one row of package_draws, written in the transaction that completes (or
-- misses) the session; an undo gives it back with a second row that names the first, so the
-- history shows both. The rules are in sql/functions/89_billing.sql.

-- The location's money: the currency of its prices, and whether a late cancellation or a no-show
-- uses up a session of a package (off: they are charged the location's fee, 0030).
ALTER TABLE locations
    ADD COLUMN currency text NOT NULL DEFAULT 'EUR'
        CONSTRAINT locations_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN package_draw_late_cancel boolean NOT NULL DEFAULT false,
    ADD COLUMN package_draw_no_show boolean NOT NULL DEFAULT false;

CREATE TABLE packages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id bigint NOT NULL CONSTRAINT packages_client_fkey REFERENCES clients,
    service_id bigint NOT NULL CONSTRAINT packages_service_fkey REFERENCES services,
    location_id bigint NOT NULL CONSTRAINT packages_location_fkey REFERENCES locations, -- sold at
    sessions integer NOT NULL CONSTRAINT packages_sessions_check CHECK (sessions BETWEEN 1 AND 100),
    price_cents bigint NOT NULL CONSTRAINT packages_price_check CHECK (price_cents BETWEEN 0 AND 100000000),
    sold_at timestamptz NOT NULL DEFAULT now(),
    sold_by text NOT NULL DEFAULT '',
    -- the last local day (the selling location's) a session may be drawn from it
    expires_on date NOT NULL,
    -- sessions drawn and not given back; kept under the package's row lock by the draw functions,
    -- and the CHECK is the last wall against an overdraw
    used integer NOT NULL DEFAULT 0 CONSTRAINT packages_used_check CHECK (used BETWEEN 0 AND sessions),
    voided_at timestamptz -- its sale was voided (a correction receipt): nothing more is drawn
);
CREATE INDEX packages_client ON packages (client_id, service_id, expires_on);

-- One row per draw, and one per draw given back (kind 'returned', returns_draw_id naming it).
-- Append-only: a guard trigger (89_billing.sql) refuses UPDATE, DELETE and TRUNCATE.
CREATE TABLE package_draws (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    package_id bigint NOT NULL CONSTRAINT package_draws_package_fkey REFERENCES packages,
    appointment_id bigint NOT NULL CONSTRAINT package_draws_appointment_fkey REFERENCES appointments,
    kind text NOT NULL CONSTRAINT package_draws_kind_check
        CHECK (kind IN ('session', 'late_cancel', 'no_show', 'returned')),
    number integer NOT NULL, -- k of the package's sessions (for 'returned': the count after it)
    returns_draw_id bigint CONSTRAINT package_draws_returns_key UNIQUE
        CONSTRAINT package_draws_returns_fkey REFERENCES package_draws,
    reason text NOT NULL DEFAULT '',
    drawn_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT package_draws_return_check CHECK ((kind = 'returned') = (returns_draw_id IS NOT NULL))
);
CREATE INDEX package_draws_package ON package_draws (package_id, id);
CREATE INDEX package_draws_appointment ON package_draws (appointment_id);

-- The daemon reads; it writes only through the functions of 89_billing.sql (SECURITY DEFINER),
-- so that a draw can never be written apart from its completion and its lock.
GRANT SELECT ON packages, package_draws TO clinic_app;

-- The front desk and admins see every package; a client their own; therapists none.
ALTER TABLE packages ENABLE ROW LEVEL SECURITY;
CREATE POLICY packages_staff ON packages TO clinic_app
    USING (clinic_caller_role() IN ('admin', 'front_desk'));
CREATE POLICY packages_client ON packages TO clinic_app
    USING (clinic_caller_role() = 'client' AND client_id = clinic_caller_client());
ALTER TABLE package_draws ENABLE ROW LEVEL SECURITY;
CREATE POLICY package_draws_visible ON package_draws TO clinic_app
    USING (EXISTS (SELECT 1 FROM packages p WHERE p.id = package_id));
