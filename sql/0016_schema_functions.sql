-- 0016_schema_functions.sql: what clinicd records about sql/functions/ (it creates the table
-- itself, before any migration, as it does schema_migrations).
COMMENT ON TABLE schema_functions IS
    'One row per sql/functions/ file, with the SHA-256 of the text last run; clinicd runs a file '
    'again when its text differs. Written by clinicd.';
