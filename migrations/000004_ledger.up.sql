-- The ledger (台账), appropriations and disbursements (issue 6; DOMAIN §8,
-- §11, §13). The rules of internal/ledger are checked again here, so that
-- no path into the database (a bug, a script, a person with psql) can
-- leave an unbalanced, edited or forked ledger behind.

-- One row per journal entry. seq is gapless and every entry carries the
-- hash of the one before it (a chain); the writer serialises appends with
-- an advisory lock, and the insert trigger below refuses a row that does
-- not continue the chain, so it can never fork or skip a number.
CREATE TABLE ledger_entries (
  seq             bigint PRIMARY KEY CONSTRAINT ledger_entries_seq_check CHECK (seq > 0),
  value_date      date NOT NULL,
  created_at      timestamptz NOT NULL,
  kind            text NOT NULL CONSTRAINT ledger_entries_kind_check CHECK (kind IN
                    ('appropriation','disbursement','conversion','exit','lapse_grant','recovery',
                     'recovery_receipt','write_off','reversal')),
  memo            text NOT NULL CONSTRAINT ledger_entries_memo_check CHECK (length(btrim(memo)) > 0),
  record_type     text NOT NULL CONSTRAINT ledger_entries_record_type_check CHECK (length(record_type) > 0),
  record_id       bigint NOT NULL CONSTRAINT ledger_entries_record_id_check CHECK (record_id > 0),
  maker_id        bigint NOT NULL CONSTRAINT ledger_entries_maker_fkey REFERENCES users (id),
  checker_id      bigint NOT NULL CONSTRAINT ledger_entries_checker_fkey REFERENCES users (id),
  reverses        bigint CONSTRAINT ledger_entries_reverses_fkey REFERENCES ledger_entries (seq),
  idempotency_key text NOT NULL CONSTRAINT ledger_entries_idempotency_key_check CHECK (length(idempotency_key) > 0),
  prev_hash       text NOT NULL CONSTRAINT ledger_entries_prev_hash_check CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash            text NOT NULL CONSTRAINT ledger_entries_hash_check CHECK (hash ~ '^[0-9a-f]{64}$'),
  hash_alg        text NOT NULL CONSTRAINT ledger_entries_hash_alg_check CHECK (hash_alg = 'sha256-v1'),
  CONSTRAINT ledger_entries_idempotency_key UNIQUE (idempotency_key),
  -- the maker of a money action is never its checker (DOMAIN §2)
  CONSTRAINT ledger_entries_maker_checker CHECK (maker_id <> checker_id),
  -- a correction reverses an earlier entry, once; only reversals reverse
  CONSTRAINT ledger_entries_reverses_check CHECK ((kind = 'reversal') = (reverses IS NOT NULL) AND reverses < seq),
  CONSTRAINT ledger_entries_reverses_key UNIQUE (reverses)
);
CREATE INDEX ledger_entries_value_date_idx ON ledger_entries (value_date, seq);
CREATE INDEX ledger_entries_record_idx ON ledger_entries (record_type, record_id);

-- The postings of an entry, in the order they were hashed (line).
CREATE TABLE ledger_postings (
  entry_seq    bigint NOT NULL CONSTRAINT ledger_postings_entry_fkey REFERENCES ledger_entries (seq),
  line         smallint NOT NULL CONSTRAINT ledger_postings_line_check CHECK (line > 0),
  account_code text NOT NULL,
  scope        text NOT NULL,
  scope_id     bigint NOT NULL CONSTRAINT ledger_postings_scope_id_check CHECK (scope_id > 0),
  side         text NOT NULL CONSTRAINT ledger_postings_side_check CHECK (side IN ('debit','credit')),
  amount       numeric(18,2) NOT NULL CONSTRAINT ledger_postings_amount_check CHECK (amount > 0),
  PRIMARY KEY (entry_seq, line),
  -- the chart of accounts (DOMAIN §11) with the scope each account is kept per
  CONSTRAINT ledger_postings_account_check CHECK ((account_code, scope) IN
    (('1002','prog'), ('1221','app'), ('1511','app'), ('1131','app'),
     ('3001','prog'), ('6111','prog'), ('6711','prog'), ('6401','prog')))
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account_code, scope, scope_id, entry_seq);
CREATE INDEX ledger_postings_scope_idx ON ledger_postings (scope, scope_id, entry_seq);

-- ledger_entries_link refuses an entry that does not continue the chain:
-- seq must follow an existing entry (gapless) and prev_hash must be that
-- entry's hash. Rows earlier in the same statement are visible, so a bulk
-- COPY in order passes.
CREATE FUNCTION ledger_entries_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prev text;
BEGIN
  IF NEW.seq = 1 THEN
    prev := repeat('0', 64);
  ELSE
    SELECT hash INTO prev FROM ledger_entries WHERE seq = NEW.seq - 1;
    IF NOT FOUND THEN
      RAISE EXCEPTION '凭证序号不连续：第 % 号凭证之前缺少第 % 号', NEW.seq, NEW.seq - 1
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_gapless';
    END IF;
  END IF;
  IF NEW.prev_hash <> prev THEN
    RAISE EXCEPTION '第 % 号凭证的前一哈希与第 % 号凭证不符，哈希链会分叉', NEW.seq, NEW.seq - 1
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_chain';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER ledger_entries_link BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_link();

-- ledger_entry_balanced checks one entry at commit: two or more postings,
-- Σ debits = Σ credits. It runs deferred, after every posting of the
-- transaction is in, whichever table the row that queued it belongs to.
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
  n integer;
  d numeric;
  c numeric;
BEGIN
  IF TG_TABLE_NAME = 'ledger_entries' THEN
    s := NEW.seq;
  ELSE
    s := NEW.entry_seq;
  END IF;
  SELECT count(*), COALESCE(sum(amount) FILTER (WHERE side = 'debit'), 0),
         COALESCE(sum(amount) FILTER (WHERE side = 'credit'), 0)
    INTO n, d, c FROM ledger_postings WHERE entry_seq = s;
  IF n < 2 THEN
    RAISE EXCEPTION '第 % 号凭证只有 % 条分录，至少需要两条', s, n
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
  END IF;
  IF d <> c THEN
    RAISE EXCEPTION '第 % 号凭证借贷不平衡：借方 %，贷方 %', s, d, c
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

-- Insert-only: a mistake is corrected by a reversing entry.
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- One fund (专项资金) per programme: the balances the money rules guard.
-- They change only together with the ledger entry that moves them (same
-- transaction, row locked), and `ledger verify` checks them against the
-- postings.
CREATE TABLE programme_funds (
  programme_id bigint PRIMARY KEY CONSTRAINT programme_funds_programme_fkey REFERENCES programmes (id),
  balance      numeric(18,2) NOT NULL DEFAULT 0 CONSTRAINT programme_funds_balance_check CHECK (balance >= 0),
  appropriated numeric(18,2) NOT NULL DEFAULT 0 CONSTRAINT programme_funds_appropriated_check CHECK (appropriated >= 0),
  disbursed    numeric(18,2) NOT NULL DEFAULT 0 CONSTRAINT programme_funds_disbursed_check CHECK (disbursed >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER programme_funds_no_delete BEFORE DELETE ON programme_funds
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
INSERT INTO programme_funds (programme_id) SELECT id FROM programmes;

-- Σ disbursed ≤ approved amount, always (DOMAIN §8).
ALTER TABLE applications
  ADD COLUMN disbursed numeric(18,2) NOT NULL DEFAULT 0,
  ADD CONSTRAINT applications_disbursed_check
    CHECK (disbursed >= 0 AND disbursed <= COALESCE(approved_amount, 0));

-- money_record_guard keeps a maker–checker record honest once written:
-- only a pending record changes, only to approved or rejected, and only
-- the checker's columns change with it. It is never deleted.
CREATE FUNCTION money_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '% 的记录不能删除', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION '% 第 % 号记录已%，不能再修改', TG_TABLE_NAME, OLD.id,
      CASE OLD.status WHEN 'approved' THEN '审批通过' ELSE '退回' END
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (to_jsonb(NEW) - ARRAY['status','checked_by','checked_at','check_comment','check_key','entry_seq'])
     IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status','checked_by','checked_at','check_comment','check_key','entry_seq']) THEN
    RAISE EXCEPTION '% 第 % 号记录的经办内容不能修改，只能审批或退回', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;

-- Appropriations: fiscal money paid into a programme's fund, recorded by
-- staff or an admin, approved by an approver (Dr 1002 / Cr 3001).
CREATE TABLE appropriations (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  programme_id    bigint NOT NULL CONSTRAINT appropriations_programme_fkey REFERENCES programmes (id),
  amount          numeric(18,2) NOT NULL CONSTRAINT appropriations_amount_check CHECK (amount > 0),
  value_date      date NOT NULL,
  reference       text NOT NULL CONSTRAINT appropriations_reference_check CHECK (length(btrim(reference)) > 0),
  note            text NOT NULL DEFAULT '',
  status          text NOT NULL DEFAULT 'pending'
                    CONSTRAINT appropriations_status_check CHECK (status IN ('pending','approved','rejected')),
  idempotency_key text NOT NULL,
  prepared_by     bigint NOT NULL CONSTRAINT appropriations_prepared_fkey REFERENCES users (id),
  prepared_at     timestamptz NOT NULL,
  checked_by      bigint CONSTRAINT appropriations_checked_fkey REFERENCES users (id),
  checked_at      timestamptz,
  check_comment   text NOT NULL DEFAULT '',
  check_key       text,
  entry_seq       bigint CONSTRAINT appropriations_entry_fkey REFERENCES ledger_entries (seq),
  CONSTRAINT appropriations_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT appropriations_check_key UNIQUE (check_key),
  CONSTRAINT appropriations_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by),
  CONSTRAINT appropriations_checked_check CHECK ((status = 'pending') = (checked_by IS NULL)),
  CONSTRAINT appropriations_entry_check CHECK ((status = 'approved') = (entry_seq IS NOT NULL)),
  CONSTRAINT appropriations_comment_check CHECK (status <> 'rejected' OR length(btrim(check_comment)) > 0)
);
CREATE INDEX appropriations_programme_idx ON appropriations (programme_id, id);
CREATE INDEX appropriations_pending_idx ON appropriations (id) WHERE status = 'pending';
CREATE TRIGGER appropriations_guard BEFORE UPDATE OR DELETE ON appropriations
  FOR EACH ROW EXECUTE FUNCTION money_record_guard();

-- Staff's confirmation that a tranche's milestone is met: a
-- milestone-gated tranche cannot be disbursed without one.
CREATE TABLE milestone_confirmations (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL CONSTRAINT milestone_confirmations_application_fkey REFERENCES applications (id),
  agreement_id   bigint NOT NULL CONSTRAINT milestone_confirmations_agreement_fkey REFERENCES agreements (id),
  tranche        integer NOT NULL CONSTRAINT milestone_confirmations_tranche_check CHECK (tranche > 0),
  milestone      text NOT NULL,
  note           text NOT NULL CONSTRAINT milestone_confirmations_note_check CHECK (length(btrim(note)) > 0),
  confirmed_by   bigint NOT NULL CONSTRAINT milestone_confirmations_user_fkey REFERENCES users (id),
  confirmed_at   timestamptz NOT NULL,
  CONSTRAINT milestone_confirmations_key UNIQUE (agreement_id, tranche)
);
CREATE TRIGGER milestone_confirmations_append_only BEFORE UPDATE OR DELETE ON milestone_confirmations
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Disbursements (拨付): one tranche of a signed agreement's plan, recorded
-- by staff, approved by an approver (Dr 1221 / Cr 1002).
CREATE TABLE disbursements (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id  bigint NOT NULL CONSTRAINT disbursements_application_fkey REFERENCES applications (id),
  programme_id    bigint NOT NULL CONSTRAINT disbursements_programme_fkey REFERENCES programmes (id),
  agreement_id    bigint NOT NULL CONSTRAINT disbursements_agreement_fkey REFERENCES agreements (id),
  tranche         integer NOT NULL CONSTRAINT disbursements_tranche_check CHECK (tranche > 0),
  amount          numeric(18,2) NOT NULL CONSTRAINT disbursements_amount_check CHECK (amount > 0),
  value_date      date NOT NULL,
  reference       text NOT NULL CONSTRAINT disbursements_reference_check CHECK (length(btrim(reference)) > 0),
  note            text NOT NULL DEFAULT '',
  status          text NOT NULL DEFAULT 'pending'
                    CONSTRAINT disbursements_status_check CHECK (status IN ('pending','approved','rejected')),
  idempotency_key text NOT NULL,
  prepared_by     bigint NOT NULL CONSTRAINT disbursements_prepared_fkey REFERENCES users (id),
  prepared_at     timestamptz NOT NULL,
  checked_by      bigint CONSTRAINT disbursements_checked_fkey REFERENCES users (id),
  checked_at      timestamptz,
  check_comment   text NOT NULL DEFAULT '',
  check_key       text,
  entry_seq       bigint CONSTRAINT disbursements_entry_fkey REFERENCES ledger_entries (seq),
  CONSTRAINT disbursements_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT disbursements_check_key UNIQUE (check_key),
  CONSTRAINT disbursements_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by),
  CONSTRAINT disbursements_checked_check CHECK ((status = 'pending') = (checked_by IS NULL)),
  CONSTRAINT disbursements_entry_check CHECK ((status = 'approved') = (entry_seq IS NOT NULL)),
  CONSTRAINT disbursements_comment_check CHECK (status <> 'rejected' OR length(btrim(check_comment)) > 0)
);
CREATE INDEX disbursements_application_idx ON disbursements (application_id, id);
CREATE INDEX disbursements_pending_idx ON disbursements (id) WHERE status = 'pending';
-- A voucher or bank reference pays one disbursement.
CREATE UNIQUE INDEX disbursements_reference_key ON disbursements (reference) WHERE status <> 'rejected';
CREATE TRIGGER disbursements_guard BEFORE UPDATE OR DELETE ON disbursements
  FOR EACH ROW EXECUTE FUNCTION money_record_guard();
