-- Period close (结账) and chain anchors (issue 15, points 4 and 5).

-- One row per closed month (month = its first day). Months close in order,
-- so the latest row is the watermark: no entry may be posted with a value
-- date on or before the end of that month (corrections go into the open
-- period). The trial balance and the chain head the close was taken at are
-- kept with it. Insert-only: a close is final.
CREATE TABLE ledger_periods (
  month      date PRIMARY KEY CONSTRAINT ledger_periods_month_check CHECK (extract(day FROM month) = 1),
  closed_at  timestamptz NOT NULL,
  closed_by  bigint NOT NULL CONSTRAINT ledger_periods_closed_by_fkey REFERENCES users (id),
  debit      numeric(20,2) NOT NULL,
  credit     numeric(20,2) NOT NULL,
  head_seq   bigint NOT NULL CONSTRAINT ledger_periods_head_seq_check CHECK (head_seq >= 0),
  head_hash  text NOT NULL CONSTRAINT ledger_periods_head_hash_check CHECK (head_hash ~ '^[0-9a-f]{64}$'),
  CONSTRAINT ledger_periods_balanced CHECK (debit = credit)
);
CREATE TRIGGER ledger_periods_append_only BEFORE UPDATE OR DELETE ON ledger_periods
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_periods_no_truncate BEFORE TRUNCATE ON ledger_periods
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_periods_notify_change AFTER INSERT ON ledger_periods
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();

-- ledger_entries_period_open refuses entries dated in a closed period,
-- whatever path they take into the table (the application checks first,
-- with the same message). Statement-level with a transition table, so a
-- bulk load costs one lookup, not one per row.
CREATE FUNCTION ledger_entries_period_open() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  closed date;
  d date;
BEGIN
  SELECT max(month) INTO closed FROM ledger_periods;
  IF closed IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT min(value_date) INTO d FROM new_entries;
  IF d < (closed + interval '1 month')::date THEN
    RAISE EXCEPTION '该期间（%年%月）已结账，更正请记入当前未结账期间。',
      extract(year FROM d)::int, extract(month FROM d)::int
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_period_closed';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entries_period_open AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_period_open();

-- Signed anchors of both hash chains (ledger and audit log): the heads,
-- their counts and the time, signed with a key kept outside the database.
-- The row is one copy; the server also writes each anchor to a file under
-- DATA_DIR/anchors and emails it to the auditors, so a superuser who
-- rewrites rows, hashes and this table still cannot make the chains match
-- the copies held elsewhere. body is the signed JSON document byte for byte.
CREATE TABLE chain_anchors (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at  timestamptz NOT NULL,
  reason      text NOT NULL CONSTRAINT chain_anchors_reason_check CHECK (reason IN ('daily','manual')),
  ledger_seq  bigint NOT NULL CONSTRAINT chain_anchors_ledger_seq_check CHECK (ledger_seq >= 0),
  ledger_hash text NOT NULL,
  audit_seq   bigint NOT NULL CONSTRAINT chain_anchors_audit_seq_check CHECK (audit_seq >= 0),
  audit_hash  text NOT NULL,
  public_key  text NOT NULL,
  body        text NOT NULL
);
CREATE INDEX chain_anchors_created_idx ON chain_anchors (created_at);
CREATE TRIGGER chain_anchors_append_only BEFORE UPDATE OR DELETE ON chain_anchors
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER chain_anchors_no_truncate BEFORE TRUNCATE ON chain_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER chain_anchors_notify_change AFTER INSERT ON chain_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
