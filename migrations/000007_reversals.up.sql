-- Corrections (冲正, issue 6; DOMAIN §11: "a mistake is corrected by a
-- reversing entry"). Staff (or an admin) ask for an approved entry to be
-- reversed, giving a reason; an approver who is not the requester approves
-- it, and in the same transaction the mirror entry is posted (referencing
-- the original) and the business record it undoes is marked reversed, with
-- the balances the money rules keep restored.

-- An appropriation or disbursement undone by an approved reversal keeps
-- its row (its entry stays in the ledger) with status 'reversed'.
ALTER TABLE appropriations
  DROP CONSTRAINT appropriations_status_check,
  ADD CONSTRAINT appropriations_status_check CHECK (status IN ('pending','approved','rejected','reversed')),
  DROP CONSTRAINT appropriations_entry_check,
  ADD CONSTRAINT appropriations_entry_check CHECK ((status IN ('approved','reversed')) = (entry_seq IS NOT NULL));
ALTER TABLE disbursements
  DROP CONSTRAINT disbursements_status_check,
  ADD CONSTRAINT disbursements_status_check CHECK (status IN ('pending','approved','rejected','reversed')),
  DROP CONSTRAINT disbursements_entry_check,
  ADD CONSTRAINT disbursements_entry_check CHECK ((status IN ('approved','reversed')) = (entry_seq IS NOT NULL));
-- A reversed disbursement paid nothing, so its voucher or bank reference
-- may be used again by the corrected record.
DROP INDEX disbursements_reference_key;
CREATE UNIQUE INDEX disbursements_reference_key ON disbursements (reference) WHERE status NOT IN ('rejected','reversed');

-- money_record_guard (migration 000004) gains one move after a record is
-- decided: approved → reversed, changing nothing else, and only once the
-- record's entry has been reversed in the ledger (the reversal entry is
-- posted first, in the same transaction).
CREATE OR REPLACE FUNCTION money_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION '% 的记录不能删除', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status = 'approved' AND NEW.status = 'reversed' THEN
    IF (to_jsonb(NEW) - 'status') IS DISTINCT FROM (to_jsonb(OLD) - 'status') THEN
      RAISE EXCEPTION '% 第 % 号记录冲正时只能改变状态', TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ledger_entries WHERE reverses = OLD.entry_seq) THEN
      RAISE EXCEPTION '% 第 % 号记录的第 % 号凭证尚未冲销，不能标记为已冲正', TG_TABLE_NAME, OLD.id, OLD.entry_seq
        USING ERRCODE = 'check_violation', CONSTRAINT = 'money_record_reversed_check';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION '% 第 % 号记录已%，不能再修改', TG_TABLE_NAME, OLD.id,
      CASE OLD.status WHEN 'approved' THEN '审批通过' WHEN 'reversed' THEN '冲正' ELSE '退回' END
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

-- Reversal requests: maker–checker like the money records, so the same
-- guard keeps a decided request as it was decided.
CREATE TABLE reversals (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  original_seq    bigint NOT NULL CONSTRAINT reversals_original_fkey REFERENCES ledger_entries (seq),
  reason          text NOT NULL
                    CONSTRAINT reversals_reason_check CHECK (length(btrim(reason)) > 0 AND char_length(reason) <= 300),
  status          text NOT NULL DEFAULT 'pending'
                    CONSTRAINT reversals_status_check CHECK (status IN ('pending','approved','rejected')),
  idempotency_key text NOT NULL,
  prepared_by     bigint NOT NULL CONSTRAINT reversals_prepared_fkey REFERENCES users (id),
  prepared_at     timestamptz NOT NULL,
  checked_by      bigint CONSTRAINT reversals_checked_fkey REFERENCES users (id),
  checked_at      timestamptz,
  check_comment   text NOT NULL DEFAULT '',
  check_key       text,
  -- the reversing entry, once approved
  entry_seq       bigint CONSTRAINT reversals_entry_fkey REFERENCES ledger_entries (seq),
  CONSTRAINT reversals_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT reversals_check_key UNIQUE (check_key),
  CONSTRAINT reversals_entry_key UNIQUE (entry_seq),
  CONSTRAINT reversals_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by),
  CONSTRAINT reversals_checked_check CHECK ((status = 'pending') = (checked_by IS NULL AND checked_at IS NULL)),
  CONSTRAINT reversals_entry_check CHECK ((status = 'approved') = (entry_seq IS NOT NULL)),
  CONSTRAINT reversals_entry_order_check CHECK (entry_seq > original_seq),
  CONSTRAINT reversals_comment_check CHECK (status <> 'rejected' OR length(btrim(check_comment)) > 0)
);
-- One open correction per entry: a pending request, or the approved one.
CREATE UNIQUE INDEX reversals_one_open ON reversals (original_seq) WHERE status IN ('pending','approved');
CREATE INDEX reversals_pending_idx ON reversals (id) WHERE status = 'pending';
CREATE TRIGGER reversals_guard BEFORE UPDATE OR DELETE ON reversals
  FOR EACH ROW EXECUTE FUNCTION money_record_guard();
