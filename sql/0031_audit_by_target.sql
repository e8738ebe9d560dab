-- 0031_audit_by_target.sql: the audit rows about one record are found by their target
-- ("client:7", "appointment:12", "note:3"), as a client's data export gathers every row about
-- them (sql/functions/93_client_export.sql), without reading the whole trail.
CREATE INDEX audit_target ON audit (target, at);
