-- 0007_accounts.sql: users with one role each, their bearer tokens, failed-login throttling,
-- per-user idempotency keys, client erasure, and what the authorisation checks need to read
-- behind row-level security.
--
-- Secrets never reach this database in clear: passwords arrive as Argon2id strings made by
-- libsodium (crypto_pwhash_str), tokens as the SHA-256 of 256 random bits. The daemon compares
-- the token's hash in constant time itself; `lookup` (the hash's first 8 bytes) only finds the row.

CREATE TYPE user_role AS ENUM ('admin', 'front_desk', 'therapist', 'client');

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL
        CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    name text NOT NULL DEFAULT ''
        CONSTRAINT users_name_length CHECK (length(name) <= 200),
    role user_role NOT NULL,
    -- A therapist user acts as one therapist, a client user as one client; the others as nobody.
    therapist_id bigint CONSTRAINT users_therapist_fkey REFERENCES therapists ON DELETE RESTRICT,
    client_id bigint CONSTRAINT users_client_fkey REFERENCES clients ON DELETE RESTRICT,
    password_hash text NOT NULL
        CONSTRAINT users_password_hash_argon2id CHECK (password_hash LIKE '$argon2id$%'),
    active boolean NOT NULL DEFAULT true,
    -- Failed logins since the last success, and until when logins are refused.
    failed_logins integer NOT NULL DEFAULT 0 CONSTRAINT users_failed_logins_nonnegative CHECK (failed_logins >= 0),
    last_failed_login_at timestamptz,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_role_link CHECK (
        (role = 'therapist') = (therapist_id IS NOT NULL) AND (role = 'client') = (client_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_therapist_key ON users (therapist_id) WHERE therapist_id IS NOT NULL;
CREATE UNIQUE INDEX users_client_key ON users (client_id) WHERE client_id IS NOT NULL;

CREATE TABLE auth_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lookup bigint NOT NULL,
    sha256 bytea NOT NULL CONSTRAINT auth_tokens_sha256_length CHECK (length(sha256) = 32),
    user_id bigint NOT NULL CONSTRAINT auth_tokens_user_fkey REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX auth_tokens_lookup ON auth_tokens (lookup);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX auth_tokens_expires ON auth_tokens (expires_at);

COMMENT ON TABLE auth_tokens IS
    'Bearer tokens: only the SHA-256 of the 256-bit token is kept. A token works until expires_at '
    'unless revoked_at is set or its user is inactive.';

-- A client's audit trail, appointments and notes outlive an erasure; their contact details do not.
ALTER TABLE clients ADD COLUMN erased_at timestamptz;

-- ------------------------------------------------------------------ idempotency keys per user

-- A key is the caller's own: two users choosing the same key get their own answers, and one
-- user can never replay another's (which may hold contact data). 0: calls without a user.
ALTER TABLE idempotency_keys ADD COLUMN user_id bigint NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, key);

-- ------------------------------------------------------------------ the daemon's rights

GRANT SELECT, INSERT, UPDATE ON users, auth_tokens TO clinic_app;   -- no DELETE: users are deactivated
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO clinic_app;
-- clinic_caller_user, clinic_note_parties (EXECUTE for clinic_app only) and clinic_erase_client
-- live in sql/functions/90_accounts.sql.

-- The daemon connects as the database's owner (it applies these migrations) and switches to
-- clinic_app in each call's transaction (SET LOCAL ROLE), which needs membership unless it is a
-- superuser.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'clinic_app', 'MEMBER') THEN
        EXECUTE format('GRANT clinic_app TO %I', current_user);
    END IF;
END
$$;
