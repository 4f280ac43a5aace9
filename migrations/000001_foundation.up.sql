-- Foundation: enterprises (minimal; extended by the applications migration),
-- users, sessions and the hash-chained audit log.

-- refuse_change keeps append-only tables append-only. A mistake is
-- corrected by a new row, never by editing history.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% 为只追加表，禁止修改或删除', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE enterprises (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL CONSTRAINT enterprises_name_check CHECK (length(btrim(name)) > 0),
  uscc       text NOT NULL CONSTRAINT enterprises_uscc_check CHECK (uscc ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT enterprises_uscc_key UNIQUE (uscc)
);

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username      text NOT NULL CONSTRAINT users_username_check CHECK (username ~ '^[a-z0-9._-]{3,64}$'),
  display_name  text NOT NULL CONSTRAINT users_display_name_check CHECK (length(btrim(display_name)) > 0),
  role          text NOT NULL CONSTRAINT users_role_check
                  CHECK (role IN ('enterprise','staff','approver','expert','auditor','admin')),
  password_hash text NOT NULL,
  enterprise_id bigint CONSTRAINT users_enterprise_fkey REFERENCES enterprises (id),
  disabled      boolean NOT NULL DEFAULT false,
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_username_key UNIQUE (username),
  -- only enterprise users belong to an enterprise
  CONSTRAINT users_enterprise_role_check CHECK (enterprise_id IS NULL OR role = 'enterprise')
);
CREATE INDEX users_enterprise_idx ON users (enterprise_id) WHERE enterprise_id IS NOT NULL;

-- Sessions live in PostgreSQL so any app server can serve any request.
-- Only a SHA-256 of the cookie token is stored: a copy of this table does
-- not let anyone sign in.
CREATE TABLE sessions (
  token_hash   bytea PRIMARY KEY,
  user_id      bigint NOT NULL CONSTRAINT sessions_user_fkey REFERENCES users (id) ON DELETE CASCADE,
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  ip           text NOT NULL DEFAULT '',
  user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- The audit log (DOMAIN §12): append-only and hash-chained. seq is
-- assigned by the writer under an advisory lock so the chain never forks.
CREATE TABLE audit_log (
  seq         bigint PRIMARY KEY CONSTRAINT audit_log_seq_check CHECK (seq > 0),
  at          timestamptz NOT NULL,
  actor_id    bigint,
  actor_name  text NOT NULL DEFAULT '',
  actor_role  text NOT NULL DEFAULT '',
  ip          text NOT NULL DEFAULT '',
  request_id  text NOT NULL DEFAULT '',
  event       text NOT NULL,
  object_type text NOT NULL DEFAULT '',
  object_id   text NOT NULL DEFAULT '',
  outcome     text NOT NULL CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('success','failure','refused')),
  detail      jsonb NOT NULL DEFAULT '{}',
  prev_hash   text NOT NULL,
  hash        text NOT NULL,
  hash_alg    text NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, seq);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
