-- 0010_event_numbering_scan.sql: the relay's numbering reads the events still unnumbered, not
-- every event numbered since the table was last vacuumed.
--
-- Why (measured, issue 4): clinic_sequence_events finds the unnumbered events through the
-- partial index events_unsequenced (seq IS NULL). Numbering an event updates it out of that
-- index, but its entry stays until VACUUM, and the planner's bitmap scan visits the heap for
-- every such entry without ever marking it dead: after 14 000 bookings one pass cost 2.9 ms
-- (more than the booking itself), growing with the table, since autovacuum waits for 20 % of
-- it to be dead. A plain index scan marks the entries of dead rows as it passes (later passes
-- skip them: 0.03 ms), and vacuuming events every 10 000 dead rows keeps the index short
-- however large the history grows.
ALTER FUNCTION clinic_sequence_events() SET enable_bitmapscan = off;
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
