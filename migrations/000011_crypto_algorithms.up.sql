-- 国密 (issue 16 point 6): an installation chooses its algorithms once,
-- CRYPTO=intl (SHA-256, AES-256-GCM) or CRYPTO=gm (SM3, SM4-GCM).
--
-- The choice is recorded here by the first start after this migration
-- (postgres.RecordCrypto), and every later start must be configured the
-- same or it refuses to run. Writers of the two hash chains read it in
-- their own transaction, so every app server writes what the database
-- says. One row at most, never changed (the same trigger that keeps the
-- ledger append-only).
CREATE TABLE crypto_settings (
  id          boolean PRIMARY KEY DEFAULT true CONSTRAINT crypto_settings_one_row CHECK (id),
  mode        text NOT NULL CONSTRAINT crypto_settings_mode_check CHECK (mode IN ('intl','gm')),
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER crypto_settings_append_only BEFORE UPDATE OR DELETE ON crypto_settings
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER crypto_settings_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON crypto_settings
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();

-- Each row names its hash already (hash_alg; existing rows say sha256-v1):
-- the ledger's constraint now admits SM3 too, and the audit log, which had
-- none, gets the same one.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_hash_alg_check,
  ADD CONSTRAINT ledger_entries_hash_alg_check CHECK (hash_alg IN ('sha256-v1','sm3-v1'));
ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_alg_check CHECK (hash_alg IN ('sha256-v1','sm3-v1'));
