-- Undoes 000007. It fails, and so changes nothing, once a record has been
-- reversed: the old status checks cannot hold a 'reversed' row.
DROP TABLE IF EXISTS reversals;

CREATE OR REPLACE FUNCTION money_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP INDEX IF EXISTS disbursements_reference_key;
CREATE UNIQUE INDEX disbursements_reference_key ON disbursements (reference) WHERE status <> 'rejected';
ALTER TABLE disbursements
  DROP CONSTRAINT disbursements_entry_check,
  ADD CONSTRAINT disbursements_entry_check CHECK ((status = 'approved') = (entry_seq IS NOT NULL)),
  DROP CONSTRAINT disbursements_status_check,
  ADD CONSTRAINT disbursements_status_check CHECK (status IN ('pending','approved','rejected'));
ALTER TABLE appropriations
  DROP CONSTRAINT appropriations_entry_check,
  ADD CONSTRAINT appropriations_entry_check CHECK ((status = 'approved') = (entry_seq IS NOT NULL)),
  DROP CONSTRAINT appropriations_status_check,
  ADD CONSTRAINT appropriations_status_check CHECK (status IN ('pending','approved','rejected'));
