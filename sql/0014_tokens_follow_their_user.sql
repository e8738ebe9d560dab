-- 0014_tokens_follow_their_user.sql: a user's tokens are revoked by the database itself whenever
-- what the user may do changes: the role, the linked therapist or client, or whether the account
-- is active. Whatever statement makes the change (Users/UpdateUser, an erasure, an administrator
-- in psql), the next call with an old token is UNAUTHENTICATED and the user logs in again under
-- the new terms; re-activating an account does not bring its old sessions back.
--
-- Why a trigger: the daemon's update used to compare the row before and after in one statement,
-- but its "before" read (SELECT ... FOR UPDATE in a CTE) ran after the CTE that updated the row
-- and saw nothing, so no token was revoked. A row trigger sees OLD and NEW for certain.
-- Passwords are left to the calls that change them: Auth/ChangePassword keeps the session that
-- asked, Users/SetPassword ends them all.
CREATE FUNCTION clinic_revoke_tokens_of_changed_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_tokens SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_revoke_tokens_on_change
    AFTER UPDATE OF role, therapist_id, client_id, active ON users
    FOR EACH ROW
    WHEN ((OLD.role, OLD.therapist_id, OLD.client_id, OLD.active)
          IS DISTINCT FROM (NEW.role, NEW.therapist_id, NEW.client_id, NEW.active))
    EXECUTE FUNCTION clinic_revoke_tokens_of_changed_user();
