-- pgTAP: packages, fees and receipts (sql/0029_packages.sql, sql/0030_fees_receipts.sql,
-- sql/functions/89_billing.sql). Net and tax are split in whole cents; fees are an amount or a
-- percent; a completed session draws from a package in the statement that completes it (gone
-- again when that statement is rolled back); a package cannot be overdrawn; late cancellations
-- and no-shows follow the location's policy; an undo gives a draw back with a second row;
-- receipts are numbered 1, 2, 3 per location with no gap (a rolled-back issue leaves none) and
-- never change, whoever asks; a void issues a correction; revenue lines sum to what was taken.
-- Appointments are moved by UPDATE here (clinic_transition's own rules are tested elsewhere);
-- times are computed from now.
BEGIN;
SELECT plan(63);

SELECT has_table('packages');
SELECT has_table('package_draws');
SELECT has_table('charges');
SELECT has_table('receipts');
SELECT has_view('clinic_revenue_lines');
SELECT columns_are('clinic_revenue_lines', ARRAY['location_id', 'therapist_id', 'service_id', 'issued_at',
                   'gross_cents', 'tax_cents', 'net_cents', 'kind', 'receipt_id', 'currency']);

-- ------------------------------------------------------------ arithmetic
SELECT results_eq($$SELECT net_cents, tax_cents FROM clinic_tax_split(11900, 1900)$$,
                  $$VALUES (10000::bigint, 1900::bigint)$$, '119.00 at 19 %: 100.00 net, 19.00 tax');
SELECT results_eq($$SELECT net_cents, tax_cents FROM clinic_tax_split(1000, 1900)$$,
                  $$VALUES (840::bigint, 160::bigint)$$, '10.00 at 19 %: 840.34 rounds down to 840, tax 160');
SELECT results_eq($$SELECT net_cents, tax_cents FROM clinic_tax_split(5, 10000)$$,
                  $$VALUES (3::bigint, 2::bigint)$$, 'a half cent of net rounds up (2.5 -> 3)');
SELECT results_eq($$SELECT net_cents, tax_cents FROM clinic_tax_split(6500, 0)$$,
                  $$VALUES (6500::bigint, 0::bigint)$$, 'exempt: all net');
SELECT results_eq($$SELECT net_cents, tax_cents FROM clinic_tax_split(107, 770)$$,
                  $$VALUES (99::bigint, 8::bigint)$$, '1.07 at 7.7 %: 99.35 -> 99 net, 8 tax');
SELECT is(clinic_fee_cents(2000, 0, 6500), 2000::bigint, 'a fee amount is the fee');
SELECT is(clinic_fee_cents(0, 50, 6500), 3250::bigint, '50 % of 65.00 is 32.50');
SELECT is(clinic_fee_cents(0, 33, 6550), 2162::bigint, '33 % of 65.50 is 21.615, rounded up to 21.62');
SELECT is(clinic_fee_cents(0, 0, 6500), 0::bigint, 'no fee set: 0');

-- ------------------------------------------------------------ a small clinic
INSERT INTO locations (id, name, time_zone, address) OVERRIDING SYSTEM VALUE
    VALUES (2901, 'Billing test', 'Europe/Berlin', 'Hauptstr. 1'), (2902, 'Other', 'Europe/Berlin', '');
INSERT INTO rooms (id, location_id, name) OVERRIDING SYSTEM VALUE VALUES (2901, 2901, 'R1');
INSERT INTO services (id, name, duration_minutes, price_cents, tax_rate_bp) OVERRIDING SYSTEM VALUE
    VALUES (2901, 'Back massage 60', 60, 6500, 1900), (2902, 'Other massage', 60, 5000, 0);
INSERT INTO therapists (id, name, email) OVERRIDING SYSTEM VALUE VALUES (2901, 'T1', 'b-t1@x.org');
INSERT INTO clients (id, name) OVERRIDING SYSTEM VALUE VALUES (2901, 'C1'), (2902, 'C2');

-- appointment id of client c, service s, `back` days ago, booked
PREPARE appt(bigint, bigint, bigint, int) AS
    INSERT INTO appointments (id, client_id, therapist_id, room_id, service_id, location_id, start_at, end_at,
                              blocked, status)
    OVERRIDING SYSTEM VALUE
    SELECT $1, $2, 2901, 2901, $3, 2901, s, s + interval '1 hour', tstzrange(s, s + interval '1 hour'), 'booked'
    FROM (SELECT date_trunc('hour', now()) - make_interval(days => $4) AS s) x;
EXECUTE appt(2901, 2901, 2901, 1);
EXECUTE appt(2902, 2901, 2901, 2);
EXECUTE appt(2903, 2901, 2901, 3);
EXECUTE appt(2904, 2901, 2901, 4);
EXECUTE appt(2905, 2901, 2901, 5);
EXECUTE appt(2906, 2901, 2901, 6);
EXECUTE appt(2907, 2901, 2901, 7);
EXECUTE appt(2908, 2902, 2902, 8);

-- ------------------------------------------------------------ selling
SELECT throws_ok($$SELECT clinic_package_sell(2901, 2901, 2901, 2, 12000, 12, 'cheque', 'test')$$,
                 'CLINV', 'say how it was paid: cash, card, transfer or voucher', 'an unknown payment method is refused');
SELECT throws_ok($$SELECT clinic_package_sell(2901, 2901, 2901, 0, 12000, 12, 'card', 'test')$$,
                 'CLINV', NULL, 'a package of no session is refused');
SELECT throws_ok($$SELECT clinic_package_sell(2999, 2901, 2901, 2, 12000, 12, 'card', 'test')$$,
                 'CLNOF', 'client 2999 does not exist', 'a client who does not exist is refused');
SELECT is(clinic_package_sell(2901, 2901, 2901, 2, 12000, 12, 'card', 'test') > 0, true, 'a package of 2 is sold');
SELECT results_eq($$SELECT number, kind, gross_cents, net_cents, tax_cents, therapist_id, paid_by::text
                    FROM receipts WHERE location_id = 2901$$,
                  $$VALUES (1::bigint, 'package'::text, 12000::bigint, 10084::bigint, 1916::bigint, NULL::bigint, 'card'::text)$$,
                  'its receipt is number 1: 120.00 with 19 % tax, no therapist');
SELECT is((SELECT expires_on FROM packages WHERE client_id = 2901),
          ((now() AT TIME ZONE 'Europe/Berlin')::date + interval '12 months')::date - 1,
          'valid twelve months: through the day before the same date next year');

-- ------------------------------------------------------------ completing draws, in the same statement
SAVEPOINT before_complete;
UPDATE appointments SET status = 'completed' WHERE id = 2901;
SELECT is((SELECT count(*) FROM package_draws WHERE appointment_id = 2901), 1::bigint,
          'the completing statement wrote the draw');
ROLLBACK TO SAVEPOINT before_complete;
SELECT is((SELECT count(*) FROM package_draws WHERE appointment_id = 2901), 0::bigint,
          'rolled back with it: no draw, and the package is untouched');
SELECT is((SELECT used FROM packages WHERE client_id = 2901), 0, 'nothing used after the rollback');

UPDATE appointments SET status = 'completed' WHERE id = 2901;
UPDATE appointments SET status = 'completed' WHERE id = 2902;
SELECT results_eq($$SELECT number, kind, gross_cents, package_draw, package_sessions, paid_by::text, therapist_id
                    FROM receipts WHERE location_id = 2901 AND appointment_id IS NOT NULL ORDER BY number$$,
                  $$VALUES (2::bigint, 'session'::text, 0::bigint, 1, 2, 'package'::text, 2901::bigint),
                           (3, 'session', 0, 2, 2, 'package', 2901)$$,
                  'numbers 2 and 3 are the draws: 1 of 2 and 2 of 2, nothing due, paid by the package');
SELECT ok((SELECT description FROM receipts WHERE number = 3 AND location_id = 2901) LIKE '%drawn from package % (2 of 2)',
          'the receipt says which package and which session of it');
SELECT is((SELECT count(*) FROM charges WHERE appointment_id IN (2901, 2902)), 0::bigint, 'drawn sessions owe nothing');
SELECT throws_ok($$UPDATE packages SET used = 3 WHERE client_id = 2901$$, '23514', NULL,
                 'a package cannot be overdrawn, whoever writes');
UPDATE appointments SET status = 'completed' WHERE id = 2903;
SELECT results_eq($$SELECT kind, amount_cents, status, tax_rate_bp FROM charges WHERE appointment_id = 2903$$,
                  $$VALUES ('session'::text, 6500::bigint, 'open'::text, 1900)$$,
                  'the package used up, the third session is charged its price');
SELECT is((SELECT count(*) FROM package_draws WHERE appointment_id = 2903), 0::bigint, 'and draws nothing');

-- ------------------------------------------------------------ paying
SELECT is(clinic_charge_pay((SELECT id FROM charges WHERE appointment_id = 2903), 'cash', 'test') > 0, true, 'the charge is paid');
SELECT results_eq($$SELECT number, kind, gross_cents, net_cents, tax_cents, paid_by::text FROM receipts
                    WHERE appointment_id = 2903$$,
                  $$VALUES (4::bigint, 'session'::text, 6500::bigint, 5462::bigint, 1038::bigint, 'cash'::text)$$,
                  'receipt 4: 65.00 = 54.62 net + 10.38 tax (19 %)');
SELECT throws_ok($$SELECT clinic_charge_pay((SELECT id FROM charges WHERE appointment_id = 2903), 'cash', 'test')$$,
                 'CLRUL', NULL, 'a charge is paid once');

-- ------------------------------------------------------------ receipts never change
SELECT throws_ok($$UPDATE receipts SET gross_cents = 1 WHERE number = 4$$, 'CLRUL', NULL, 'a receipt cannot be updated');
SELECT throws_ok($$DELETE FROM receipts WHERE number = 4$$, 'CLRUL', NULL, 'nor deleted');
SELECT throws_ok($$TRUNCATE receipts CASCADE$$, 'CLRUL', NULL, 'nor truncated');
SELECT throws_ok($$UPDATE package_draws SET number = 9$$, 'CLRUL', NULL, 'a draw cannot be updated');
SELECT throws_ok($$DELETE FROM package_draws$$, 'CLRUL', NULL, 'nor deleted');
SELECT throws_ok($$TRUNCATE package_draws CASCADE$$, 'CLRUL', NULL, 'nor truncated');
SELECT is(has_table_privilege('clinic_app', 'receipts', 'INSERT'), false, 'the daemon cannot write receipts itself');

-- ------------------------------------------------------------ undo gives back; paid stops it
INSERT INTO appointment_undos (appointment_id, undone_status, reason) VALUES (2902, 'completed', 'wrong client');
UPDATE appointments SET status = 'booked' WHERE id = 2902;
SELECT results_eq($$SELECT kind, number, reason FROM package_draws WHERE appointment_id = 2902 ORDER BY id$$,
                  $$VALUES ('session'::text, 2, ''::text), ('returned', 1, 'undone: wrong client')$$,
                  'the undo adds a returned row; the draw stays in the history');
SELECT is((SELECT used FROM packages WHERE client_id = 2901), 1, 'the package has a session again');
SELECT results_eq($$SELECT c.number, c.kind, c.gross_cents, o.number FROM receipts c JOIN receipts o ON o.id = c.corrects_receipt_id
                    WHERE o.appointment_id = 2902$$,
                  $$VALUES (5::bigint, 'correction'::text, 0::bigint, 3::bigint)$$,
                  'receipt 5 corrects the draw''s receipt 3');
INSERT INTO appointment_undos (appointment_id, undone_status, reason) VALUES (2903, 'completed', 'oops');
SELECT throws_like($$UPDATE appointments SET status = 'booked' WHERE id = 2903$$,
                   '%was paid (receipt%void that receipt first%', 'a paid session is not undone while its receipt stands');

-- ------------------------------------------------------------ voiding
SELECT is(clinic_receipt_void((SELECT id FROM receipts WHERE location_id = 2901 AND number = 4), 'paid by card, not cash', 'test') > 0,
          true, 'receipt 4 is voided');
SELECT results_eq($$SELECT number, kind, gross_cents, net_cents, tax_cents, reason FROM receipts
                    WHERE corrects_receipt_id = (SELECT id FROM receipts WHERE location_id = 2901 AND number = 4)$$,
                  $$VALUES (6::bigint, 'correction'::text, -6500::bigint, -5462::bigint, -1038::bigint, 'paid by card, not cash'::text)$$,
                  'its correction, number 6, negates it exactly');
SELECT is((SELECT status FROM charges WHERE appointment_id = 2903), 'open', 'the charge is open again');
SELECT throws_ok($$SELECT clinic_receipt_void((SELECT id FROM receipts WHERE location_id = 2901 AND number = 4), 'again', 'test')$$,
                 'CLRUL', 'receipt 4 was already voided by receipt 6', 'a receipt is voided once');
SELECT throws_ok($$SELECT clinic_receipt_void((SELECT id FROM receipts WHERE location_id = 2901 AND number = 6), 'x', 'test')$$,
                 'CLRUL', NULL, 'a correction is not voided');
SELECT throws_like($$SELECT clinic_receipt_void((SELECT id FROM receipts WHERE location_id = 2901 AND number = 1), 'x', 'test')$$,
                   '%has 1 session(s) drawn%', 'a package whose sessions were drawn keeps its sale');
UPDATE appointments SET status = 'booked' WHERE id = 2903;
SELECT is((SELECT status FROM charges WHERE appointment_id = 2903), 'cancelled', 'after the void the undo cancels the charge');

-- ------------------------------------------------------------ late cancellations and no-shows
UPDATE locations SET late_cancel_fee_percent = 50, no_show_fee_cents = 2000 WHERE id = 2901;
SELECT throws_ok($$UPDATE locations SET late_cancel_fee_cents = 100 WHERE id = 2901$$, '23514', NULL,
                 'a fee is an amount or a percent, not both');
UPDATE appointments SET status = 'cancelled', late_cancel = true WHERE id = 2904;
SELECT results_eq($$SELECT kind, amount_cents FROM charges WHERE appointment_id = 2904$$,
                  $$VALUES ('late_cancel'::text, 3250::bigint)$$, 'policy off: a late cancellation is charged 50 % of 65.00');
SELECT is((SELECT used FROM packages WHERE client_id = 2901), 1, 'and draws nothing though a session is left');
UPDATE appointments SET status = 'no_show' WHERE id = 2905;
SELECT results_eq($$SELECT kind, amount_cents FROM charges WHERE appointment_id = 2905$$,
                  $$VALUES ('no_show'::text, 2000::bigint)$$, 'policy off: a no-show is charged the 20.00 fee');
UPDATE appointments SET status = 'cancelled', late_cancel = false WHERE id = 2908;
SELECT is((SELECT count(*) FROM charges WHERE appointment_id = 2908), 0::bigint, 'a cancellation in time costs nothing');
UPDATE locations SET package_draw_late_cancel = true, package_draw_no_show = true WHERE id = 2901;
UPDATE appointments SET status = 'no_show' WHERE id = 2906;
SELECT results_eq($$SELECT kind, number FROM package_draws WHERE appointment_id = 2906$$,
                  $$VALUES ('no_show'::text, 2)$$, 'policy on: the no-show draws the last session');
SELECT is((SELECT count(*) FROM charges WHERE appointment_id = 2906), 0::bigint, 'and no fee is charged');
SELECT results_eq($$SELECT kind, gross_cents FROM receipts WHERE appointment_id = 2906$$,
                  $$VALUES ('fee'::text, 0::bigint)$$, 'its receipt shows nothing due');
UPDATE appointments SET status = 'cancelled', late_cancel = true WHERE id = 2907;
SELECT results_eq($$SELECT kind, amount_cents FROM charges WHERE appointment_id = 2907$$,
                  $$VALUES ('late_cancel'::text, 3250::bigint)$$, 'policy on, no session left: the fee after all');

-- ------------------------------------------------------------ numbering and revenue
SAVEPOINT before_sale;
SELECT FROM clinic_package_sell(2902, 2902, 2901, 5, 20000, 6, 'cash', 'test');
ROLLBACK TO SAVEPOINT before_sale;
SELECT FROM clinic_package_sell(2902, 2902, 2902, 5, 20000, 6, 'voucher', 'test');
SELECT FROM clinic_package_sell(2902, 2902, 2901, 5, 20000, 6, 'transfer', 'test');
SELECT is((SELECT array_agg(number ORDER BY number) FROM receipts WHERE location_id = 2901),
          (SELECT array_agg(n::bigint) FROM generate_series(1, 8) n),
          'numbers 1 to 8 with no gap: the rolled-back sale took none');
SELECT is((SELECT array_agg(number) FROM receipts WHERE location_id = 2902), ARRAY[1::bigint],
          'another location counts from 1');
SELECT results_eq($$SELECT kind, sum(gross_cents)::bigint, sum(net_cents + tax_cents)::bigint FROM clinic_revenue_lines
                    WHERE location_id = 2901 GROUP BY kind ORDER BY kind$$,
                  $$VALUES ('correction'::text, -6500::bigint, -6500::bigint), ('fee', 0, 0),
                           ('package', 32000, 32000), ('session', 6500, 6500)$$,
                  'revenue lines per kind; a correction cancels what it voids');

SELECT * FROM finish();
ROLLBACK;
