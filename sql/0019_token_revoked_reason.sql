-- 0019_token_revoked_reason.sql: why a token was revoked, so that its owner is told what happened
-- ("your password was changed") instead of a guess ("logged out"). Tokens revoked before this
-- migration keep NULL, and the daemon then says only that the token was revoked.
--   logout    Auth/Logout revoked this token
--   password  a new password (Auth/ChangePassword, Users/SetPassword) ended the session
--   account   an administrator changed the account's role, links or active (the trigger in
--             sql/functions/90_accounts.sql)
ALTER TABLE auth_tokens ADD COLUMN revoked_reason text
    CONSTRAINT auth_tokens_revoked_reason_known
        CHECK (revoked_reason IN ('logout', 'password', 'account'));
