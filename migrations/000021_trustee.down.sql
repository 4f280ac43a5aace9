-- Fails while trustee users exist: disable and re-role them first.
DROP TABLE exit_receipts;
ALTER TABLE users DROP CONSTRAINT users_platform_role_check;
ALTER TABLE users DROP COLUMN platform_uscc;
ALTER TABLE programmes DROP COLUMN holding_platform_uscc;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('enterprise','staff','approver','expert','auditor','admin','security_admin'));
