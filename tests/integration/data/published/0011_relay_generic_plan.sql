-- 0011_relay_generic_plan.sql: the relay's read of new events keeps one plan instead of planning
-- the event_details join again on every pass.
--
-- Why (measured, issue 4): clinic_events_after ran its query with a custom plan each time (a
-- PL/pgSQL query with parameters is planned for the values it gets while the planner believes
-- a generic plan costs more, and `seq > $1` looks to it like a third of the table): 0.32 ms a
-- call, 0.01 ms of it executing. The relay calls it on every pass, and at one caller booking
-- there was a pass per booking. With enable_seqscan and enable_bitmapscan off (0010) the one
-- generic plan is the index scan on seq, right for any p_after: 0.10 ms a call.
ALTER FUNCTION clinic_events_after(bigint, integer) SET plan_cache_mode = force_generic_plan;
