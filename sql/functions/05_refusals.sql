-- 05_refusals.sql: refusals that many functions share, worded once.

-- Refuses with NOT_FOUND ("service 7 does not exist") unless p_found: for the ids a call names
-- that must exist before anything else is checked.
CREATE OR REPLACE FUNCTION clinic_require(p_found boolean, p_kind text, p_id bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT p_found THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('%s %s does not exist', p_kind, p_id);
    END IF;
END
$$;
