DROP TRIGGER ledger_postings_totals ON ledger_postings;
DROP FUNCTION ledger_totals_add();
DROP TABLE ledger_totals;
