DROP INDEX enterprises_verification_idx;
ALTER TABLE enterprises
  DROP CONSTRAINT enterprises_refusal_reason_check,
  DROP COLUMN verified_at,
  DROP COLUMN verified_by,
  DROP COLUMN verification_note,
  DROP COLUMN verification;
DROP TABLE security_policy;
DROP TABLE pending_logins;
DROP TABLE recovery_codes;
DROP TABLE password_history;
ALTER TABLE users
  DROP COLUMN totp_last_step,
  DROP COLUMN totp_enrolled_at,
  DROP COLUMN totp_secret,
  DROP COLUMN must_change_password;
-- Refused while a security admin exists: remove or re-role them first.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('enterprise','staff','approver','expert','auditor','admin'));
