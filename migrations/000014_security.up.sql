-- Issue 16: password life, a TOTP second factor, the security admin
-- (三员分立) and session limits the security admin sets.

-- One role per user (one column), and the security admin is one of the
-- known roles: a user is never both the admin and the security admin or
-- the auditor.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('enterprise','staff','approver','expert','auditor','admin','security_admin'));

-- must_change_password: set when someone else chose the password (an
-- admin creating or resetting it, staff creating an expert, adduser); the
-- user may do nothing else until they have changed it.
-- totp_secret: the base32 TOTP secret, NULL while not enrolled.
-- totp_last_step: the last 30-second step whose code was accepted, so a
-- code is never accepted twice.
ALTER TABLE users
  ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
  ADD COLUMN totp_secret text CONSTRAINT users_totp_secret_check CHECK (totp_secret ~ '^[A-Z2-7]{16,128}$'),
  ADD COLUMN totp_enrolled_at timestamptz,
  ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

-- The argon2id hashes of a user's earlier passwords (the current one
-- included), for the rule "the last N passwords cannot be reused".
CREATE TABLE password_history (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       bigint NOT NULL CONSTRAINT password_history_user_fkey REFERENCES users (id) ON DELETE CASCADE,
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL
);
CREATE INDEX password_history_user_idx ON password_history (user_id, id DESC);

-- Ten one-time recovery codes per enrolment: only a SHA-256 of each
-- (80 random bits) is stored; used_at marks one spent.
CREATE TABLE recovery_codes (
  user_id    bigint NOT NULL CONSTRAINT recovery_codes_user_fkey REFERENCES users (id) ON DELETE CASCADE,
  code_hash  bytea NOT NULL,
  created_at timestamptz NOT NULL,
  used_at    timestamptz,
  CONSTRAINT recovery_codes_pkey PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose password was right and whose second factor is still to
-- come. It grants no page: the session middleware never reads this
-- table; only the code page does. Only a SHA-256 of the cookie is stored.
CREATE TABLE pending_logins (
  token_hash bytea PRIMARY KEY,
  user_id    bigint NOT NULL CONSTRAINT pending_logins_user_fkey REFERENCES users (id) ON DELETE CASCADE,
  next_path  text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX pending_logins_user_idx ON pending_logins (user_id);

-- The security policy: one row, set by the security admin only.
CREATE TABLE security_policy (
  id                     integer PRIMARY KEY DEFAULT 1 CONSTRAINT security_policy_one_row CHECK (id = 1),
  password_min_length    integer NOT NULL DEFAULT 10
                           CONSTRAINT security_policy_min_length_check CHECK (password_min_length BETWEEN 10 AND 64),
  password_max_age_days  integer NOT NULL DEFAULT 90
                           CONSTRAINT security_policy_max_age_check CHECK (password_max_age_days BETWEEN 0 AND 3650),
  password_history       integer NOT NULL DEFAULT 5
                           CONSTRAINT security_policy_history_check CHECK (password_history BETWEEN 1 AND 24),
  second_factor_for_all  boolean NOT NULL DEFAULT false,
  idle_timeout_minutes   integer NOT NULL DEFAULT 30
                           CONSTRAINT security_policy_idle_check CHECK (idle_timeout_minutes BETWEEN 5 AND 240),
  absolute_timeout_minutes integer NOT NULL DEFAULT 720
                           CONSTRAINT security_policy_absolute_check CHECK (absolute_timeout_minutes BETWEEN 30 AND 1440),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT security_policy_idle_absolute_check CHECK (idle_timeout_minutes <= absolute_timeout_minutes)
);
INSERT INTO security_policy (id) VALUES (1);

-- Every table reports its commits to the page cache (migration 000008).
CREATE TRIGGER password_history_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON password_history
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
CREATE TRIGGER recovery_codes_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON recovery_codes
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
CREATE TRIGGER pending_logins_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pending_logins
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
CREATE TRIGGER security_policy_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON security_policy
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();

-- Verified enterprises (issue 16.4): a self-registered enterprise may draft
-- but not submit until staff have checked its licence copy against the
-- 统一社会信用代码, name and legal representative. Enterprises created by
-- an admin, and those from before this migration, are verified.
ALTER TABLE enterprises
  ADD COLUMN verification text NOT NULL DEFAULT 'verified'
    CONSTRAINT enterprises_verification_check CHECK (verification IN ('pending','verified','refused')),
  ADD COLUMN verification_note text NOT NULL DEFAULT '',
  ADD COLUMN verified_by bigint CONSTRAINT enterprises_verified_by_fkey REFERENCES users (id),
  ADD COLUMN verified_at timestamptz,
  ADD CONSTRAINT enterprises_refusal_reason_check CHECK (verification <> 'refused' OR length(btrim(verification_note)) > 0);
CREATE INDEX enterprises_verification_idx ON enterprises (verification) WHERE verification <> 'verified';
