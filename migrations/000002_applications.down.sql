DROP TABLE IF EXISTS application_comments;
DROP TABLE IF EXISTS material_reviews;
DROP TABLE IF EXISTS documents;
DROP TABLE IF EXISTS application_transitions;
DROP TABLE IF EXISTS applications;
DROP INDEX IF EXISTS enterprises_name_trgm;
ALTER TABLE enterprises DROP COLUMN IF EXISTS legal_rep, DROP COLUMN IF EXISTS registered_capital,
  DROP COLUMN IF EXISTS founded_on, DROP COLUMN IF EXISTS address, DROP COLUMN IF EXISTS contact_name,
  DROP COLUMN IF EXISTS contact_mobile;
DROP TABLE IF EXISTS programmes;
