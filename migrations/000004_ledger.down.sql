DROP TABLE IF EXISTS disbursements;
DROP TABLE IF EXISTS milestone_confirmations;
DROP TABLE IF EXISTS appropriations;
DROP FUNCTION IF EXISTS money_record_guard();
ALTER TABLE applications DROP CONSTRAINT IF EXISTS applications_disbursed_check,
  DROP COLUMN IF EXISTS disbursed;
DROP TABLE IF EXISTS programme_funds;
DROP TABLE IF EXISTS ledger_postings;
DROP TABLE IF EXISTS ledger_entries;
DROP FUNCTION IF EXISTS ledger_entry_balanced();
DROP FUNCTION IF EXISTS ledger_entries_link();
