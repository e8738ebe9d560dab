-- 0001_foundation.sql: what later migrations build on.
-- btree_gist lets exclusion constraints mix equality (same therapist, room, client) with range
-- overlap (&&), which is how double bookings become impossible in the database itself.
CREATE EXTENSION IF NOT EXISTS btree_gist;

COMMENT ON TABLE schema_migrations IS
    'One row per applied sql/NNNN_*.sql migration, with the SHA-256 of its text; written by clinicd.';
