DROP TABLE chain_anchors;
DROP TRIGGER ledger_entries_period_open ON ledger_entries;
DROP FUNCTION ledger_entries_period_open();
DROP TABLE ledger_periods;
