ALTER TABLE progress_reports DROP COLUMN new_financing, DROP COLUMN copyrights, DROP COLUMN patents, DROP COLUMN rd_staff;
DROP TABLE acceptances;
ALTER TABLE programmes DROP COLUMN requires_special_audit;
