ALTER TABLE agreements DROP COLUMN template_id, DROP COLUMN document;
DROP TABLE agreement_numbers;
DROP TABLE agreement_templates;
