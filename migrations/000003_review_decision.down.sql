DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS agreements;
DROP TABLE IF EXISTS objections;
DROP TABLE IF EXISTS calendar_days;
ALTER TABLE applications DROP COLUMN IF EXISTS approved_amount, DROP COLUMN IF EXISTS notice_starts_on,
  DROP COLUMN IF EXISTS notice_ends_on, DROP COLUMN IF EXISTS notice_closed_at;
DROP TABLE IF EXISTS decisions;
DROP TABLE IF EXISTS reviews;
DROP TABLE IF EXISTS panel_assignments;
DROP TABLE IF EXISTS expert_profiles;
