ALTER TABLE exits DROP CONSTRAINT exits_listing_check, DROP CONSTRAINT exits_appraisal_check,
  DROP COLUMN exchange, DROP COLUMN listing_no, DROP COLUMN appraiser, DROP COLUMN appraisal_report_no,
  DROP COLUMN appraisal_report_date, DROP COLUMN appraised_value, DROP COLUMN appraisal_filing_no,
  DROP COLUMN appraisal_doc, DROP COLUMN rate_series;
ALTER TABLE exits DROP CONSTRAINT exits_buyer_check;
UPDATE exits SET buyer_kind = 'founders' WHERE buyer_kind = 'team';
UPDATE exits SET buyer_kind = 'other' WHERE buyer_kind = 'third_party';
ALTER TABLE exits ADD CONSTRAINT exits_buyer_check CHECK (buyer_kind IN ('founders','new_investor','other'));
DROP TABLE IF EXISTS rate_entries;
DROP TABLE IF EXISTS rate_series;
