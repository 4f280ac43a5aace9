-- Refused once SM3 rows exist: the older schema and code cannot verify
-- them.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM ledger_entries WHERE hash_alg <> 'sha256-v1')
     OR EXISTS (SELECT 1 FROM audit_log WHERE hash_alg <> 'sha256-v1') THEN
    RAISE EXCEPTION 'the ledger or audit chain holds sm3-v1 rows; version 10 cannot verify them';
  END IF;
END $$;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_alg_check;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_hash_alg_check,
  ADD CONSTRAINT ledger_entries_hash_alg_check CHECK (hash_alg = 'sha256-v1');
DROP TABLE crypto_settings;
