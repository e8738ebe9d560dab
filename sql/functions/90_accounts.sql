-- 90_accounts.sql: what the authorisation checks read about the caller, client erasure, and a
-- user's tokens following what the user may do.

-- ------------------------------------------------------------------ the caller, for checks

CREATE OR REPLACE FUNCTION clinic_caller_user() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('clinic.user_id', true), '')::bigint
$$;

-- Who a note concerns, for the daemon's authorisation check, which runs before the caller may
-- see the note itself (row-level security would hide it): SECURITY DEFINER, owner's rights,
-- returning two ids and nothing of the note's content.
CREATE OR REPLACE FUNCTION clinic_note_parties(p_note bigint, OUT client_id bigint, OUT therapist_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.client_id, n.author_therapist_id
    FROM treatment_notes n JOIN appointments a ON a.id = n.appointment_id
    WHERE n.id = p_note
$$;
REVOKE ALL ON FUNCTION clinic_note_parties(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clinic_note_parties(bigint) TO clinic_app;

-- ------------------------------------------------------------------ erasure

-- Redacts a client's contact details (email, phone) and archives them; their appointments,
-- notes and audit rows stay. Stored idempotent replies that quote the old email or phone are
-- deleted too, as is the email of their login (which is deactivated and its tokens revoked), and
-- their calendar feed's key (the feed stops).
-- Returns the client's row as it now is, or raises CLNOF.
CREATE OR REPLACE FUNCTION clinic_erase_client(p_client bigint) RETURNS clients
LANGUAGE plpgsql AS $$
DECLARE
    v_email text;
    v_phone text;
    v_user bigint;
    v_row clients;
BEGIN
    SELECT c.email, c.phone INTO v_email, v_phone FROM clients c WHERE c.id = p_client FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CLNOF', MESSAGE = format('client %s does not exist', p_client);
    END IF;
    DELETE FROM idempotency_keys k
    WHERE (v_email IS NOT NULL AND position(convert_to(v_email, 'UTF8') IN k.response) > 0)
       OR (v_phone IS NOT NULL AND position(convert_to(v_phone, 'UTF8') IN k.response) > 0);
    DELETE FROM calendar_feeds WHERE client_id = p_client;
    UPDATE clients SET email = NULL, phone = NULL, archived = true,
                       erased_at = coalesce(erased_at, now()), updated_at = now()
    WHERE id = p_client RETURNING * INTO v_row;
    SELECT u.id INTO v_user FROM users u WHERE u.client_id = p_client;
    IF FOUND THEN
        UPDATE users SET email = format('erased-user-%s@erased.invalid', v_user), active = false,
                         updated_at = now()
        WHERE id = v_user;
        UPDATE auth_tokens SET revoked_at = now() WHERE user_id = v_user AND revoked_at IS NULL;
    END IF;
    RETURN v_row;
END
$$;

-- ------------------------------------------------------------------ tokens

-- A user's tokens are revoked by the database itself whenever what the user may do changes: the
-- role, the linked therapist or client, or whether the account is active. Whatever statement makes the change (Users/UpdateUser, an erasure, an administrator
-- in psql), the next call with an old token is UNAUTHENTICATED and the user logs in again under
-- the new terms; re-activating an account does not bring its old sessions back.
--
-- Why a trigger: the daemon's update used to compare the row before and after in one statement,
-- but its "before" read (SELECT ... FOR UPDATE in a CTE) ran after the CTE that updated the row
-- and saw nothing, so no token was revoked. A row trigger sees OLD and NEW for certain.
-- Passwords are left to the calls that change them: Auth/ChangePassword keeps the session that
-- asked, Users/SetPassword ends them all.
CREATE OR REPLACE FUNCTION clinic_revoke_tokens_of_changed_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_tokens SET revoked_at = now(), revoked_reason = 'account'
    WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER users_revoke_tokens_on_change
    AFTER UPDATE OF role, therapist_id, client_id, active ON users
    FOR EACH ROW
    WHEN ((OLD.role, OLD.therapist_id, OLD.client_id, OLD.active)
          IS DISTINCT FROM (NEW.role, NEW.therapist_id, NEW.client_id, NEW.active))
    EXECUTE FUNCTION clinic_revoke_tokens_of_changed_user();
