DROP TABLE email_outbox;
DROP TABLE progress_report_documents;
DROP TABLE progress_reports;
ALTER TABLE programmes DROP COLUMN report_grace_days, DROP COLUMN report_cadence_months;
ALTER TABLE users DROP COLUMN email;
