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
-- however large the history grows. Sequential scans are off too: the relay keeps its plan for
-- as long as its connection lives, and a plan made while statistics said "events is empty" (a
-- new clinic, before autoanalyze) read the whole table on every pass, 87 % of a core at 500
-- bookings a second in a test.
ALTER FUNCTION clinic_sequence_events() SET enable_bitmapscan = off;
ALTER FUNCTION clinic_sequence_events() SET enable_seqscan = off;
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);

-- The numbered events after p_after, in order, at most p_limit of them, read through the index
-- on seq whatever the statistics say. The relay reads a few rows a pass and a watcher catching
-- up a page, but as a prepared statement `seq > $1` looked to the planner like a third of the
-- table: on a table of 22 000 events each pass read all of it and sorted it (2.8 ms).
CREATE FUNCTION clinic_events_after(p_after bigint, p_limit integer)
RETURNS SETOF event_details
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET enable_bitmapscan = off AS $$
BEGIN
    RETURN QUERY SELECT * FROM event_details WHERE seq > p_after ORDER BY seq LIMIT p_limit;
END
$$;
