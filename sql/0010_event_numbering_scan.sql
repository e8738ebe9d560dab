-- 0010_event_numbering_scan.sql: events is vacuumed every 10 000 dead rows, however large its
-- history grows, so that the partial index clinic_sequence_events reads (events_unsequenced)
-- stays short: numbering an event updates it out of that index, but its entry stays until
-- VACUUM, and autovacuum would wait for 20 % of the table to be dead (measured: after 14 000
-- bookings one numbering pass cost 2.9 ms). The function itself, with its scan settings, is in
-- sql/functions/70_events.sql.
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
