-- Issue 18.1: the trustee (受托管理机构经办, DOMAIN §2), a person of the
-- state-owned holding platform that holds the equity.

-- The trustee is one of the known roles.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('enterprise','staff','approver','expert','auditor','admin','security_admin','trustee'));

-- The programme names its holding platform (DOMAIN §3) by name, as before,
-- and by its 统一社会信用代码, which is what ties the platform's people to
-- it: a name may be written two ways, a code only one. NULL for a programme
-- that has not said (its projects are then seen by no trustee).
ALTER TABLE programmes ADD COLUMN holding_platform_uscc text
  CONSTRAINT programmes_holding_platform_uscc_check CHECK (holding_platform_uscc ~ '^[0-9A-HJ-NPQRTUWXY]{18}$');

-- A trustee belongs to exactly one holding platform, by its code; no other
-- role belongs to one.
ALTER TABLE users ADD COLUMN platform_uscc text
  CONSTRAINT users_platform_uscc_check CHECK (platform_uscc ~ '^[0-9A-HJ-NPQRTUWXY]{18}$');
ALTER TABLE users ADD CONSTRAINT users_platform_role_check CHECK ((role = 'trustee') = (platform_uscc IS NOT NULL));

-- An exit receipt (退出回款): the buyer's payment for an approved exit
-- tranche arriving in the fund's account, with the bank's reference. The
-- ledger already carries the proceeds from the exit's approval; the receipt
-- is the evidence that the money did arrive, equal to the proceeds. One per
-- exit, never changed.
CREATE TABLE exit_receipts (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exit_id         bigint NOT NULL CONSTRAINT exit_receipts_exit_fkey REFERENCES exits (id)
                  CONSTRAINT exit_receipts_exit_key UNIQUE,
  received_on     date NOT NULL,
  amount          numeric(18,2) NOT NULL CONSTRAINT exit_receipts_amount_check CHECK (amount > 0),
  bank_reference  text NOT NULL CONSTRAINT exit_receipts_reference_check CHECK (length(btrim(bank_reference)) > 0),
  recorded_by     bigint NOT NULL CONSTRAINT exit_receipts_user_fkey REFERENCES users (id),
  recorded_at     timestamptz NOT NULL,
  idempotency_key text NOT NULL CONSTRAINT exit_receipts_idempotency_key UNIQUE
);
CREATE TRIGGER exit_receipts_append_only BEFORE UPDATE OR DELETE ON exit_receipts
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER exit_receipts_notify_change AFTER INSERT ON exit_receipts
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
