-- 0018_demo_into_an_empty_clinic.sql: the demo clinic loads only into an empty clinic unless
-- forced, and answers with what it added: clinic_load_demo(p_force boolean) with more OUT
-- columns, in sql/functions/95_demo.sql. CREATE OR REPLACE cannot change a signature, so the
-- argument-less one is dropped here. IF EXISTS: a new database never had it.

DROP FUNCTION IF EXISTS clinic_load_demo();
