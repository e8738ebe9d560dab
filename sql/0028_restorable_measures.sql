-- 0028_restorable_measures.sql: a dump of the clinic restores. pg_restore runs with an empty
-- search_path, and the generated columns of outcome_measures (0024) call functions that call
-- others by their bare names, which it then cannot find ("function clinic_startback_item9 does
-- not exist": tests/integration/test_backup.c). Each such function now carries its own
-- search_path, which pg_dump writes into the dump with it.
ALTER FUNCTION clinic_startback_total(smallint[]) SET search_path = public, pg_temp;
ALTER FUNCTION clinic_startback_psychosocial(smallint[]) SET search_path = public, pg_temp;
ALTER FUNCTION clinic_startback_risk(smallint[]) SET search_path = public, pg_temp;
