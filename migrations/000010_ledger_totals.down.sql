DROP TRIGGER ledger_postings_totals ON ledger_postings;
DROP FUNCTION ledger_totals_add();
DROP VIEW ledger_totals_from_postings;
DROP TABLE ledger_totals;
