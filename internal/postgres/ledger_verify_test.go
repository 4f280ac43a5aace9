package postgres

import (
	"fmt"
	"testing"
)

// TestVerifyCountsIntactEntries breaks the Nth entry and expects verify to
// report the N-1 entries before it as intact (issue 15 point 6: it said 0).
func TestVerifyCountsIntactEntries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		broken int64
		sql    string
	}{
		{"PostingAmountChanged", 3, `UPDATE ledger_postings SET amount = amount + 1 WHERE entry_seq = %d AND line = 1`},
		{"PostingsDeleted", 4, `DELETE FROM ledger_postings WHERE entry_seq = %d`},
		{"FirstEntryMemoChanged", 1, `UPDATE ledger_entries SET memo = memo || '（改）' WHERE seq = %d`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newMoneyWorld(t)
			for _, amt := range []string{"100.00", "200.00", "300.00", "400.00"} {
				w.fund(amt)
			}
			w.mustVerify()
			for _, sql := range []string{
				`ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only`,
				`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only`,
				fmt.Sprintf(c.sql, c.broken),
				`ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only`,
				`ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_append_only`,
			} {
				if _, err := w.db.Pool.Exec(w.ctx, sql); err != nil {
					t.Fatal(err)
				}
			}
			v, err := w.db.VerifyLedger(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.FirstBad != c.broken || v.Entries != c.broken-1 {
				t.Fatalf("verify = OK %v, first bad %d, intact %d (%s); want first bad %d, intact %d",
					v.OK, v.FirstBad, v.Entries, v.Problem, c.broken, c.broken-1)
			}
			if c.broken > 1 && v.Head.Seq != c.broken-1 {
				t.Fatalf("head after the intact entries = %d, want %d", v.Head.Seq, c.broken-1)
			}
		})
	}
}
