-- Running totals of the ledger per programme, account and kind of entry,
-- kept by the database as postings are inserted, for the dashboard's money
-- round (disbursed → converted → exited → proceeds). Summing a million
-- postings took 0.8 s on every dashboard recompute; the totals are a few
-- rows. A reversing entry counts under the kind of the entry it reverses,
-- as the dashboard always counted it. Postings are insert-only (000004), so
-- an insert trigger keeps the totals exact; `ledger verify` recomputes them
-- from the postings and reports any difference.
CREATE TABLE ledger_totals (
  programme_id bigint NOT NULL,
  account_code text NOT NULL,
  kind         text NOT NULL,
  net          numeric(20,2) NOT NULL, -- debits minus credits
  PRIMARY KEY (programme_id, account_code, kind)
);

-- One statement-level trigger with the inserted rows as a transition
-- table: an entry's postings (or a bulk load's million) are added in one
-- grouped upsert rather than one per row.
CREATE FUNCTION ledger_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_totals AS t (programme_id, account_code, kind, net)
  SELECT CASE n.scope WHEN 'app' THEN a.programme_id ELSE n.scope_id END, n.account_code, COALESCE(o.kind, e.kind),
         sum(CASE n.side WHEN 'debit' THEN n.amount ELSE -n.amount END)
  FROM new_postings n JOIN ledger_entries e ON e.seq = n.entry_seq
  LEFT JOIN ledger_entries o ON o.seq = e.reverses
  LEFT JOIN applications a ON n.scope = 'app' AND a.id = n.scope_id
  GROUP BY 1, 2, 3
  ON CONFLICT (programme_id, account_code, kind) DO UPDATE SET net = t.net + EXCLUDED.net;
  RETURN NULL;
END
$$;

CREATE TRIGGER ledger_postings_totals AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_totals_add();

-- The same totals computed from the postings: the backfill below, `ledger
-- verify` (which compares) and `ledger rebuild-totals` (which repairs) all
-- read this one definition.
CREATE VIEW ledger_totals_from_postings AS
SELECT CASE lp.scope WHEN 'app' THEN a.programme_id ELSE lp.scope_id END AS programme_id,
       lp.account_code, COALESCE(o.kind, e.kind) AS kind,
       sum(CASE lp.side WHEN 'debit' THEN lp.amount ELSE -lp.amount END)::numeric(20,2) AS net
FROM ledger_postings lp JOIN ledger_entries e ON e.seq = lp.entry_seq
LEFT JOIN ledger_entries o ON o.seq = e.reverses
LEFT JOIN applications a ON lp.scope = 'app' AND a.id = lp.scope_id
GROUP BY 1, 2, 3;

INSERT INTO ledger_totals (programme_id, account_code, kind, net)
SELECT programme_id, account_code, kind, net FROM ledger_totals_from_postings;

-- The page cache forgets pages on every commit (000008).
CREATE TRIGGER ledger_totals_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ledger_totals
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
