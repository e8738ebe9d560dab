-- 75_calendar.sql: what a calendar feed shows of a person.

-- A person's initials in place of their name: "Jane Q. Smith" gives "J. S." (the first letters of
-- the first and the last word). A therapist's feed names clients so: their phone's calendar, and
-- whoever syncs it, never holds a client's name.
CREATE OR REPLACE FUNCTION clinic_initials(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE cardinality(w)
               WHEN 0 THEN '?'
               WHEN 1 THEN upper(left(w[1], 1)) || '.'
               ELSE upper(left(w[1], 1)) || '. ' || upper(left(w[cardinality(w)], 1)) || '.'
           END
    FROM (SELECT array_remove(regexp_split_to_array(btrim(coalesce(p_name, '')), '\s+'), '') AS w) s
$$;
