-- 89_billing.sql: packages, fees and receipts (tables in 0029_packages.sql and
-- 0030_fees_receipts.sql). Money follows an appointment's life cycle through one trigger
-- (clinic_billing_on_status), so it is written in the very transaction that completes, cancels,
-- misses or undoes the appointment, whoever changes it:
--   completed          -> a draw from the client's package of the service (a receipt, 0 due), or
--                         else a charge of the service's price;
--   late cancellation  -> a draw when the location's policy says so and a package has one left,
--   no-show               or else the location's fee as a charge;
--   undone (to booked) -> draws given back (a 'returned' row each, and a correction of the
--                         draw's receipt), open charges cancelled; refused while a charge of it
--                         is paid (void its receipt first).
-- Lock order, everywhere: the appointment, its charges, a package, then the location's receipt
-- counter.
-- The daemon's role may only read these tables: every write is one of the SECURITY DEFINER
-- functions below, which run as the schema's owner.

-- ------------------------------------------------------------------ arithmetic

-- Splits a price that includes tax into its net and its tax, in whole cents: the net is the
-- gross divided by (1 + rate), rounded half away from zero; the tax is what remains, so that
-- net + tax is always the gross.
CREATE OR REPLACE FUNCTION clinic_tax_split(p_gross_cents bigint, p_rate_bp integer,
                                            OUT net_cents bigint, OUT tax_cents bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT n, p_gross_cents - n
    FROM (SELECT round(p_gross_cents * 10000::numeric / (10000 + p_rate_bp))::bigint AS n) x
$$;

-- A fee: the amount when there is one, else the percent of the price, rounded half up to the cent.
CREATE OR REPLACE FUNCTION clinic_fee_cents(p_fee_cents bigint, p_fee_percent integer, p_price_cents bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_fee_cents > 0 THEN p_fee_cents
                ELSE round(p_price_cents * p_fee_percent / 100.0)::bigint END
$$;

-- "12.50" of 1250 cents (negative: "-12.50").
CREATE OR REPLACE FUNCTION clinic_format_cents(p_cents bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_cents < 0 THEN '-' ELSE '' END
           || (abs(p_cents) / 100)::text || '.' || lpad((abs(p_cents) % 100)::text, 2, '0')
$$;

-- ------------------------------------------------------------------ documents

-- Receipts and package draws never change and never disappear, whoever asks (the owner too).
CREATE OR REPLACE FUNCTION clinic_billing_document_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = CASE TG_TABLE_NAME
        WHEN 'receipts' THEN format(
            'receipt %s cannot be changed or deleted: an issued receipt is permanent; void it (clinic receipt void %s --reason ...) to issue a correction',
            OLD.id, OLD.id)
        ELSE format('%s row %s cannot be changed or deleted: the history is append-only', TG_TABLE_NAME, OLD.id) END;
END
$$;

CREATE OR REPLACE TRIGGER receipts_guard BEFORE UPDATE OR DELETE ON receipts
    FOR EACH ROW EXECUTE FUNCTION clinic_billing_document_guard();
CREATE OR REPLACE TRIGGER receipts_no_truncate BEFORE TRUNCATE ON receipts
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();
CREATE OR REPLACE TRIGGER package_draws_guard BEFORE UPDATE OR DELETE ON package_draws
    FOR EACH ROW EXECUTE FUNCTION clinic_billing_document_guard();
CREATE OR REPLACE TRIGGER package_draws_no_truncate BEFORE TRUNCATE ON package_draws
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_refuse_truncate();

-- Issues r: gives it the location's next number (the counter row stays locked until the
-- transaction ends, so numbers are gapless and in commit order per location), splits its gross
-- unless it is a correction (which carries its original's split, negated), and returns its id.
CREATE OR REPLACE FUNCTION clinic_receipt_issue(r receipts) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO receipt_counters (location_id) VALUES (r.location_id) ON CONFLICT DO NOTHING;
    UPDATE receipt_counters SET last_number = last_number + 1 WHERE location_id = r.location_id
    RETURNING last_number INTO r.number;
    IF r.kind <> 'correction' THEN
        SELECT s.net_cents, s.tax_cents INTO r.net_cents, r.tax_cents
        FROM clinic_tax_split(r.gross_cents, r.tax_rate_bp) s;
    END IF;
    INSERT INTO receipts (location_id, number, kind, issued_at, issued_by, location_name,
                          location_address, time_zone, currency, client_id, client_name,
                          therapist_id, therapist_name, service_id, service_name, appointment_id,
                          session_start, charge_id, package_id, package_draw, package_sessions,
                          description, price_cents, gross_cents, tax_rate_bp, net_cents, tax_cents,
                          paid_by, corrects_receipt_id, reason)
    VALUES (r.location_id, r.number, r.kind, now(), coalesce(r.issued_by, ''), r.location_name,
            r.location_address, r.time_zone, r.currency, r.client_id, r.client_name,
            r.therapist_id, coalesce(r.therapist_name, ''), r.service_id, r.service_name,
            r.appointment_id, r.session_start, r.charge_id, r.package_id, r.package_draw,
            r.package_sessions, r.description, r.price_cents, r.gross_cents, r.tax_rate_bp,
            r.net_cents, r.tax_cents, r.paid_by, r.corrects_receipt_id, coalesce(r.reason, ''))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;

-- A receipt about appointment p_id, filled with what it names (the location, client, therapist,
-- service, session), kind p_kind; the caller sets the amounts and the description.
CREATE OR REPLACE FUNCTION clinic_receipt_of_appointment(p_id bigint, p_kind text) RETURNS receipts
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r receipts;
BEGIN
    SELECT a.location_id, p_kind, l.name, l.address, l.time_zone, l.currency, a.client_id, c.name,
           a.therapist_id, t.name, a.service_id, s.name, a.id, a.start_at, s.price_cents,
           s.tax_rate_bp
    INTO r.location_id, r.kind, r.location_name, r.location_address, r.time_zone, r.currency,
         r.client_id, r.client_name, r.therapist_id, r.therapist_name, r.service_id,
         r.service_name, r.appointment_id, r.session_start, r.price_cents, r.tax_rate_bp
    FROM appointments a
    JOIN locations l ON l.id = a.location_id
    JOIN clients c ON c.id = a.client_id
    JOIN therapists t ON t.id = a.therapist_id
    JOIN services s ON s.id = a.service_id
    WHERE a.id = p_id;
    r.issued_by := clinic_caller_tag();
    RETURN r;
END
$$;

-- Who is acting, as records name them: the user's id, or the role for work of no user.
CREATE OR REPLACE FUNCTION clinic_caller_tag() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce('user:' || nullif(current_setting('clinic.user_id', true), ''),
                    nullif(clinic_caller_role(), ''), 'system')
$$;

-- "session of 2027-03-01 10:00" in the receipt's zone.
CREATE OR REPLACE FUNCTION clinic_billing_what(p_kind text, p_service text, p_start timestamptz, p_zone text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE p_kind WHEN 'late_cancel' THEN 'Late cancellation fee: '
                       WHEN 'no_show' THEN 'Missed appointment (no-show) fee: '
                       ELSE '' END
           || p_service || ', session of ' || to_char(p_start AT TIME ZONE p_zone, 'YYYY-MM-DD HH24:MI')
$$;

-- ------------------------------------------------------------------ draws and charges

-- Draws one session for appointment a (kind 'session', 'late_cancel' or 'no_show') from the
-- client's package of its service that is not voided, has a session left and is still valid on
-- the appointment's local day, the one expiring first; issues its receipt (0 due) and returns
-- the receipt's id, or NULL when no package can pay. The package row is locked first: two
-- completions at once draw one after the other, and the second finds what the first left
-- (a package used up meanwhile is skipped for the next one).
CREATE OR REPLACE FUNCTION clinic_package_draw(a appointments, p_kind text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    p packages;
    r receipts;
    v_day date := (SELECT (a.start_at AT TIME ZONE l.time_zone)::date FROM locations l WHERE l.id = a.location_id);
BEGIN
    SELECT * INTO p FROM packages
    WHERE client_id = a.client_id AND service_id = a.service_id AND voided_at IS NULL
      AND used < sessions AND expires_on >= v_day
    ORDER BY expires_on, id LIMIT 1
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE packages SET used = used + 1 WHERE id = p.id;
    INSERT INTO package_draws (package_id, appointment_id, kind, number)
    VALUES (p.id, a.id, p_kind, p.used + 1);
    r := clinic_receipt_of_appointment(a.id, CASE p_kind WHEN 'session' THEN 'session' ELSE 'fee' END);
    r.package_id := p.id;
    r.package_draw := p.used + 1;
    r.package_sessions := p.sessions;
    r.description := clinic_billing_what(p_kind, r.service_name, a.start_at, r.time_zone)
                     || format(', drawn from package %s (%s of %s)', p.id, p.used + 1, p.sessions);
    r.gross_cents := 0;
    r.paid_by := 'package';
    RETURN clinic_receipt_issue(r);
END
$$;

-- Charges appointment a's client p_amount for kind ('session', 'late_cancel', 'no_show'), at
-- its service's tax rate; nothing when the amount is 0.
CREATE OR REPLACE FUNCTION clinic_charge_open(a appointments, p_kind text, p_amount bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO charges (appointment_id, client_id, location_id, therapist_id, service_id, kind,
                         amount_cents, tax_rate_bp)
    SELECT a.id, a.client_id, a.location_id, a.therapist_id, a.service_id, p_kind, p_amount, s.tax_rate_bp
    FROM services s WHERE s.id = a.service_id AND p_amount > 0
$$;

-- What appointment a costs as p_kind when no package pays: the price of a session, or the
-- location's fee of a late cancellation or no-show.
CREATE OR REPLACE FUNCTION clinic_billing_amount(a appointments, p_kind text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE p_kind
               WHEN 'session' THEN s.price_cents
               WHEN 'late_cancel' THEN clinic_fee_cents(l.late_cancel_fee_cents, l.late_cancel_fee_percent, s.price_cents)
               ELSE clinic_fee_cents(l.no_show_fee_cents, l.no_show_fee_percent, s.price_cents) END
    FROM services s, locations l WHERE s.id = a.service_id AND l.id = a.location_id
$$;

-- Bills appointment a as p_kind: a package draw when one may pay (always for a session; for a
-- late cancellation or no-show when the location says so), else a charge.
CREATE OR REPLACE FUNCTION clinic_billing_bill(a appointments, p_kind text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    loc locations;
BEGIN
    SELECT * INTO loc FROM locations WHERE id = a.location_id;
    IF (p_kind = 'session' OR (p_kind = 'late_cancel' AND loc.package_draw_late_cancel)
        OR (p_kind = 'no_show' AND loc.package_draw_no_show))
       AND clinic_package_draw(a, p_kind) IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM clinic_charge_open(a, p_kind, clinic_billing_amount(a, p_kind));
END
$$;

-- Gives back the draw p_draw (a 'returned' row naming it; the package's count goes down) and
-- issues the correction of its receipt, with p_reason. The package row is locked first.
CREATE OR REPLACE FUNCTION clinic_package_return(p_draw bigint, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d package_draws;
    v_used integer;
    v_receipt bigint;
BEGIN
    SELECT * INTO d FROM package_draws WHERE id = p_draw;
    PERFORM 1 FROM packages WHERE id = d.package_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM package_draws WHERE returns_draw_id = d.id) THEN
        RETURN;
    END IF;
    UPDATE packages SET used = used - 1 WHERE id = d.package_id RETURNING used INTO v_used;
    INSERT INTO package_draws (package_id, appointment_id, kind, number, returns_draw_id, reason)
    VALUES (d.package_id, d.appointment_id, 'returned', v_used, d.id, p_reason);
    SELECT r.id INTO v_receipt FROM receipts r
    WHERE r.package_id = d.package_id AND r.appointment_id = d.appointment_id
      AND r.package_draw = d.number AND r.kind <> 'correction'
      AND NOT EXISTS (SELECT 1 FROM receipts c WHERE c.corrects_receipt_id = r.id)
    ORDER BY r.id DESC LIMIT 1;
    IF v_receipt IS NOT NULL THEN
        PERFORM clinic_receipt_correct(v_receipt, p_reason);
    END IF;
END
$$;

-- Issues the correction of receipt p_id (its amounts negated, its number named) and returns its
-- id. Only the document: what it means for a package or a charge is clinic_receipt_void's.
CREATE OR REPLACE FUNCTION clinic_receipt_correct(p_id bigint, p_reason text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r receipts;
    v_number bigint;
BEGIN
    SELECT * INTO r FROM receipts WHERE id = p_id;
    v_number := r.number;
    r.kind := 'correction';
    r.corrects_receipt_id := r.id;
    r.reason := p_reason;
    r.issued_by := clinic_caller_tag();
    r.description := format('Correction of receipt %s: %s', v_number, r.description);
    r.gross_cents := -r.gross_cents;
    r.net_cents := -r.net_cents;
    r.tax_cents := -r.tax_cents;
    r.price_cents := -r.price_cents;
    RETURN clinic_receipt_issue(r);
END
$$;

-- An undo (back to booked) of a completion or a no-show takes back what it billed: its draws
-- are given back, its open charges cancelled. A charge already paid stops it: its receipt is to
-- be voided first (then the charge is open again, and cancelled here).
CREATE OR REPLACE FUNCTION clinic_billing_undo(a appointments) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_reason text;
    v_draw bigint;
    v_paid charges;
BEGIN
    -- the charges first (a payment locks its charge, then the counter), then the packages
    PERFORM 1 FROM charges WHERE appointment_id = a.id AND status <> 'cancelled' ORDER BY id FOR UPDATE;
    SELECT * INTO v_paid FROM charges WHERE appointment_id = a.id AND status = 'paid' ORDER BY id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'appointment %s was paid (receipt %s); void that receipt first (clinic receipt void %s --reason ...), then undo',
            a.id, v_paid.receipt_id, v_paid.receipt_id);
    END IF;
    SELECT 'undone: ' || u.reason INTO v_reason FROM appointment_undos u
    WHERE u.appointment_id = a.id ORDER BY u.id DESC LIMIT 1;
    UPDATE charges SET status = 'cancelled', closed_at = now(), cancel_reason = coalesce(v_reason, 'undone')
    WHERE appointment_id = a.id AND status = 'open';
    FOR v_draw IN SELECT d.id FROM package_draws d
                  WHERE d.appointment_id = a.id AND d.kind <> 'returned'
                    AND NOT EXISTS (SELECT 1 FROM package_draws x WHERE x.returns_draw_id = d.id)
                  ORDER BY d.id LOOP
        PERFORM clinic_package_return(v_draw, coalesce(v_reason, 'undone'));
    END LOOP;
END
$$;

-- The trigger: money follows the appointment's status. A cancellation of a waitlist offer that
-- was never accepted (declined, run out, or withdrawn while held) is nobody's late cancellation.
CREATE OR REPLACE FUNCTION clinic_billing_on_status() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.status = 'completed' THEN
        PERFORM clinic_billing_bill(NEW, 'session');
    ELSIF TG_OP = 'INSERT' THEN
        RETURN NULL;
    ELSIF NEW.status = 'no_show' THEN
        PERFORM clinic_billing_bill(NEW, 'no_show');
    ELSIF NEW.status = 'cancelled' AND NEW.late_cancel AND OLD.held_until IS NULL
          AND NOT EXISTS (SELECT 1 FROM waitlist_offers o WHERE o.appointment_id = NEW.id
                          AND o.outcome IN ('declined', 'expired')) THEN
        PERFORM clinic_billing_bill(NEW, 'late_cancel');
    ELSIF NEW.status = 'booked' AND OLD.status IN ('completed', 'no_show') THEN
        PERFORM clinic_billing_undo(NEW);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER appointments_billing AFTER UPDATE OF status ON appointments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION clinic_billing_on_status();
CREATE OR REPLACE TRIGGER appointments_billing_recorded AFTER INSERT ON appointments
    FOR EACH ROW WHEN (NEW.status = 'completed')
    EXECUTE FUNCTION clinic_billing_on_status();

-- ------------------------------------------------------------------ what the daemon calls

-- Refuses a payment method the receipts do not know, naming the field.
CREATE OR REPLACE FUNCTION clinic_billing_paid_by(p_paid_by text) RETURNS payment_method
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_paid_by IS NULL OR p_paid_by NOT IN ('cash', 'card', 'transfer', 'voucher') THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'paid_by',
            MESSAGE = 'say how it was paid: cash, card, transfer or voucher';
    END IF;
    RETURN p_paid_by::payment_method;
END
$$;

-- Sells client p_client a package of p_sessions sessions of service p_service at location
-- p_location for p_price_cents (tax included, at the service's rate), valid p_months months
-- from today (through the day before the same date then, local), paid p_paid_by; issues its
-- receipt. Returns the package's id.
CREATE OR REPLACE FUNCTION clinic_package_sell(p_client bigint, p_service bigint, p_location bigint,
                                               p_sessions integer, p_price_cents bigint,
                                               p_months integer, p_paid_by text, p_sold_by text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    loc locations;
    svc services;
    cl clients;
    v_method payment_method := clinic_billing_paid_by(p_paid_by);
    v_id bigint;
    r receipts;
BEGIN
    SELECT * INTO cl FROM clients WHERE id = p_client;
    PERFORM clinic_require(FOUND, 'client', p_client);
    SELECT * INTO svc FROM services WHERE id = p_service;
    PERFORM clinic_require(FOUND, 'service', p_service);
    SELECT * INTO loc FROM locations WHERE id = p_location;
    PERFORM clinic_require(FOUND, 'location', p_location);
    IF cl.archived THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('client %s is archived; a package cannot be sold to them', p_client);
    END IF;
    IF NOT svc.active THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('service %s is no longer offered', p_service);
    END IF;
    IF p_sessions IS NULL OR p_sessions NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'sessions', MESSAGE = 'a package holds from 1 to 100 sessions';
    END IF;
    IF p_months IS NULL OR p_months NOT BETWEEN 1 AND 120 THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'valid_months', MESSAGE = 'a package is valid from 1 to 120 months';
    END IF;
    IF p_price_cents IS NULL OR p_price_cents NOT BETWEEN 0 AND 100000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'price_cents', MESSAGE = 'the price must be from 0 to 1000000.00';
    END IF;
    INSERT INTO packages (client_id, service_id, location_id, sessions, price_cents, sold_by, expires_on)
    VALUES (p_client, p_service, p_location, p_sessions, p_price_cents, coalesce(p_sold_by, ''),
            ((now() AT TIME ZONE loc.time_zone)::date + make_interval(months => p_months))::date - 1)
    RETURNING id INTO v_id;
    r.location_id := loc.id;
    r.kind := 'package';
    r.location_name := loc.name;
    r.location_address := loc.address;
    r.time_zone := loc.time_zone;
    r.currency := loc.currency;
    r.client_id := cl.id;
    r.client_name := cl.name;
    r.service_id := svc.id;
    r.service_name := svc.name;
    r.package_id := v_id;
    r.package_sessions := p_sessions;
    r.description := format('Package %s: %s x %s, valid %s months', v_id, p_sessions, svc.name, p_months);
    r.price_cents := p_price_cents;
    r.gross_cents := p_price_cents;
    r.tax_rate_bp := svc.tax_rate_bp;
    r.paid_by := v_method;
    r.issued_by := coalesce(p_sold_by, '');
    PERFORM clinic_receipt_issue(r);
    RETURN v_id;
END
$$;

-- Records the payment of open charge p_charge (p_paid_by) and issues its receipt; returns the
-- receipt's id.
CREATE OR REPLACE FUNCTION clinic_charge_pay(p_charge bigint, p_paid_by text, p_by text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    ch charges;
    v_method payment_method := clinic_billing_paid_by(p_paid_by);
    r receipts;
    v_receipt bigint;
BEGIN
    SELECT * INTO ch FROM charges WHERE id = p_charge FOR UPDATE;
    PERFORM clinic_require(FOUND, 'charge', p_charge);
    IF ch.status <> 'open' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format('charge %s is %s, so it cannot be paid%s',
            p_charge, ch.status, CASE WHEN ch.status = 'paid' THEN format(' again (receipt %s)', ch.receipt_id) ELSE '' END);
    END IF;
    r := clinic_receipt_of_appointment(ch.appointment_id, CASE ch.kind WHEN 'session' THEN 'session' ELSE 'fee' END);
    r.charge_id := ch.id;
    r.description := clinic_billing_what(ch.kind, r.service_name, r.session_start, r.time_zone);
    r.gross_cents := ch.amount_cents;
    r.tax_rate_bp := ch.tax_rate_bp;
    r.paid_by := v_method;
    r.issued_by := coalesce(p_by, '');
    v_receipt := clinic_receipt_issue(r);
    UPDATE charges SET status = 'paid', closed_at = now(), receipt_id = v_receipt WHERE id = ch.id;
    RETURN v_receipt;
END
$$;

-- Voids receipt p_id: issues its correction (with p_reason) and takes back what it stood for:
--   a paid charge is open again (to be paid the right way, or cancelled by an undo);
--   a package sale voids the package (refused once a session was drawn from it);
--   a session or missed appointment drawn from a package gives the draw back, and the
--   appointment is charged as if no package had paid (its price, or the location's fee).
-- Returns the correction's id.
CREATE OR REPLACE FUNCTION clinic_receipt_void(p_id bigint, p_reason text, p_by text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r receipts;
    a appointments;
    d package_draws;
    v_used integer;
    v_existing receipts;
BEGIN
    IF length(btrim(coalesce(p_reason, ''))) NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'CLINV', COLUMN = 'reason', MESSAGE = 'say why it is voided (1 to 500 characters)';
    END IF;
    SELECT * INTO r FROM receipts WHERE id = p_id;
    PERFORM clinic_require(FOUND, 'receipt', p_id);
    IF r.kind = 'correction' THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'receipt %s is itself a correction (of receipt %s) and cannot be voided', r.number,
            (SELECT o.number FROM receipts o WHERE o.id = r.corrects_receipt_id));
    END IF;
    IF r.appointment_id IS NOT NULL THEN
        SELECT * INTO a FROM appointments WHERE id = r.appointment_id FOR UPDATE;
    END IF;
    IF r.package_id IS NOT NULL THEN
        SELECT used INTO v_used FROM packages WHERE id = r.package_id FOR UPDATE;
    END IF;
    SELECT * INTO v_existing FROM receipts WHERE corrects_receipt_id = p_id;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
            'receipt %s was already voided by receipt %s', r.number, v_existing.number);
    END IF;
    IF r.kind = 'package' THEN
        IF v_used > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'CLRUL', MESSAGE = format(
                'package %s has %s session(s) drawn; its sale cannot be voided while they stand (undo or void those sessions first)',
                r.package_id, v_used);
        END IF;
        UPDATE packages SET voided_at = now() WHERE id = r.package_id;
        RETURN clinic_receipt_correct(p_id, btrim(p_reason));
    END IF;
    IF r.charge_id IS NOT NULL THEN
        -- the charge before the counter, in the order a payment takes them
        UPDATE charges SET status = 'open', closed_at = NULL, receipt_id = NULL WHERE id = r.charge_id;
        RETURN clinic_receipt_correct(p_id, btrim(p_reason));
    END IF;
    -- a draw: give it back (which issues the correction), then charge the appointment
    SELECT * INTO d FROM package_draws x
    WHERE x.package_id = r.package_id AND x.appointment_id = r.appointment_id
      AND x.kind <> 'returned' AND x.number = r.package_draw
      AND NOT EXISTS (SELECT 1 FROM package_draws y WHERE y.returns_draw_id = x.id)
    ORDER BY x.id DESC LIMIT 1;
    IF FOUND THEN
        PERFORM clinic_package_return(d.id, btrim(p_reason));
        PERFORM clinic_charge_open(a, d.kind, clinic_billing_amount(a, d.kind));
    ELSE
        PERFORM clinic_receipt_correct(p_id, btrim(p_reason));
    END IF;
    RETURN (SELECT c.id FROM receipts c WHERE c.corrects_receipt_id = p_id);
END
$$;

REVOKE ALL ON FUNCTION clinic_package_sell(bigint, bigint, bigint, integer, bigint, integer, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION clinic_charge_pay(bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION clinic_receipt_void(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_package_sell(bigint, bigint, bigint, integer, bigint, integer, text, text) TO clinic_app;
GRANT EXECUTE ON FUNCTION clinic_charge_pay(bigint, text, text) TO clinic_app;
GRANT EXECUTE ON FUNCTION clinic_receipt_void(bigint, text, text) TO clinic_app;

-- ------------------------------------------------------------------ what is read

-- Every view runs with its caller's rights (security_invoker): row-level security on packages,
-- charges and receipts decides which rows exist for them.

-- A package with its client's and service's names, what is left, and its state: 'active',
-- 'used' (no session left), 'expired' (past its last day, local) or 'void'.
CREATE OR REPLACE VIEW package_details WITH (security_invoker = true) AS
SELECT p.id, p.client_id, c.name AS client_name, p.service_id, s.name AS service_name,
       p.location_id, p.sessions, p.used, p.sessions - p.used AS remaining, p.price_cents,
       l.currency, clinic_format_instant(p.sold_at, l.time_zone) AS sold_at, p.expires_on::text AS expires_on,
       CASE WHEN p.voided_at IS NOT NULL THEN 'void'
            WHEN p.expires_on < (now() AT TIME ZONE l.time_zone)::date THEN 'expired'
            WHEN p.used >= p.sessions THEN 'used'
            ELSE 'active' END AS state,
       p.sold_at AS sold_instant,
       (SELECT r.number FROM receipts r WHERE r.package_id = p.id AND r.kind = 'package') AS receipt_number
FROM packages p
JOIN clients c ON c.id = p.client_id
JOIN services s ON s.id = p.service_id
JOIN locations l ON l.id = p.location_id;
GRANT SELECT ON package_details TO clinic_app;

-- A package's history: each draw and each draw given back.
CREATE OR REPLACE VIEW package_draw_details WITH (security_invoker = true) AS
SELECT d.id, d.package_id, d.appointment_id, d.kind, d.number, coalesce(d.returns_draw_id, 0) AS returns_draw_id,
       d.reason, clinic_format_instant(d.drawn_at, l.time_zone) AS drawn_at,
       clinic_format_instant(a.start_at, l.time_zone) AS session_start
FROM package_draws d
JOIN appointments a ON a.id = d.appointment_id
JOIN locations l ON l.id = a.location_id;
GRANT SELECT ON package_draw_details TO clinic_app;

-- A charge with the names behind it.
CREATE OR REPLACE VIEW charge_details WITH (security_invoker = true) AS
SELECT ch.id, ch.appointment_id, ch.client_id, c.name AS client_name, ch.location_id,
       ch.therapist_id, t.name AS therapist_name, ch.service_id, s.name AS service_name, ch.kind,
       ch.amount_cents, l.currency, ch.status,
       clinic_format_instant(ch.created_at, l.time_zone) AS created_at,
       clinic_format_instant(a.start_at, l.time_zone) AS session_start,
       coalesce(r.number, 0) AS receipt_number, coalesce(ch.receipt_id, 0) AS receipt_id,
       ch.cancel_reason
FROM charges ch
JOIN appointments a ON a.id = ch.appointment_id
JOIN clients c ON c.id = ch.client_id
JOIN therapists t ON t.id = ch.therapist_id
JOIN services s ON s.id = ch.service_id
JOIN locations l ON l.id = ch.location_id
LEFT JOIN receipts r ON r.id = ch.receipt_id;
GRANT SELECT ON charge_details TO clinic_app;

-- A receipt as the API shows it: instants in its own zone, the number it corrects or is
-- corrected by (0: none).
CREATE OR REPLACE VIEW receipt_details WITH (security_invoker = true) AS
SELECT r.id, r.location_id, r.number, r.kind, clinic_format_instant(r.issued_at, r.time_zone) AS issued_at,
       r.location_name, r.location_address, r.currency, r.client_id, r.client_name,
       coalesce(r.therapist_id, 0) AS therapist_id, r.therapist_name, r.service_id, r.service_name,
       coalesce(r.appointment_id, 0) AS appointment_id,
       coalesce(clinic_format_instant(r.session_start, r.time_zone), '') AS session_start,
       coalesce(r.charge_id, 0) AS charge_id, coalesce(r.package_id, 0) AS package_id,
       coalesce(r.package_draw, 0) AS package_draw, coalesce(r.package_sessions, 0) AS package_sessions,
       r.description, r.price_cents, r.gross_cents, r.tax_rate_bp, r.net_cents, r.tax_cents,
       r.paid_by::text AS paid_by,
       coalesce(o.number, 0) AS corrects_number,
       coalesce((SELECT c.number FROM receipts c WHERE c.corrects_receipt_id = r.id), 0) AS corrected_by_number,
       r.reason, r.issued_at AS issued_instant
FROM receipts r
LEFT JOIN receipts o ON o.id = r.corrects_receipt_id;
GRANT SELECT ON receipt_details TO clinic_app;

-- clinic_revenue_lines: one row per money line, for revenue reports (sum by therapist, service,
-- location, period). A receipt is one line; revenue is counted when money is taken (cash basis):
--   location_id   bigint       where the receipt was issued
--   therapist_id  bigint       who gave the session (the missed session's therapist for a fee);
--                              NULL for a package sale (its sessions are not given yet)
--   service_id    bigint       the service of the session, fee or package
--   issued_at     timestamptz  when the receipt was issued
--   gross_cents   bigint       paid, tax included; 0 for a session drawn from a package (its
--                              money is the package sale's line); negative for a correction
--   tax_cents     bigint       the tax within gross_cents
--   net_cents     bigint       gross_cents - tax_cents
--   kind          text         'session', 'package', 'fee' or 'correction' (a voided receipt's
--                              negation: sum all kinds for the net revenue)
--   receipt_id    bigint       the receipt (receipts.id); its number is receipts.number
--   currency      text         the location's currency (ISO 4217)
CREATE OR REPLACE VIEW clinic_revenue_lines WITH (security_invoker = true) AS
SELECT r.location_id, r.therapist_id, r.service_id, r.issued_at, r.gross_cents, r.tax_cents,
       r.net_cents, r.kind, r.id AS receipt_id, r.currency
FROM receipts r;
COMMENT ON VIEW clinic_revenue_lines IS
    'One row per money line (a receipt): location_id, therapist_id (NULL for a package sale), service_id, issued_at, gross_cents, tax_cents, net_cents, kind (session|package|fee|correction), receipt_id, currency. Cash basis; corrections are negative.';
GRANT SELECT ON clinic_revenue_lines TO clinic_app;
