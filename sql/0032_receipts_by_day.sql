-- 0032_receipts_by_day.sql: the revenue report sums a location's receipts over a period
-- (clinic_report_revenue, sql/functions/92_reports.sql): found by issue time, not by a scan.
CREATE INDEX receipts_location_issued ON receipts (location_id, issued_at);
