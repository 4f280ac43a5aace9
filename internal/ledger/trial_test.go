package ledger

import (
	"slices"
	"testing"
)

func TestTrialBalance(t *testing.T) {
	entries := []Entry{
		must(t)(Appropriation(7, dec("5000000"))),
		must(t)(Disbursement(7, 123, dec("1000000"))),
		must(t)(Disbursement(7, 124, dec("500000"))),
		must(t)(Conversion(123, dec("1000000"))),
		must(t)(Exit(7, 123, dec("1200000"), dec("1000000"))),
		must(t)(LapseToGrant(7, 124, dec("500000"))),
	}

	t.Run("Balances", func(t *testing.T) {
		tb, err := SumPostings(Postings(slices.Values(entries)))
		if err != nil {
			t.Fatal(err)
		}
		d, c := tb.Totals()
		if !d.Equal(dec("9200000")) || !c.Equal(d) {
			t.Fatalf("totals %s / %s", d, c)
		}
		want := map[string][2]string{ // account → debit balance, credit balance
			"1002/prog/7":  {"4700000", "0"},
			"1221/app/123": {"0", "0"},
			"1221/app/124": {"0", "0"},
			"1511/app/123": {"0", "0"},
			"3001/prog/7":  {"0", "5000000"},
			"6111/prog/7":  {"0", "200000"},
			"6401/prog/7":  {"500000", "0"},
		}
		lines := tb.Lines()
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d", len(lines), len(want))
		}
		for i, b := range lines {
			w, ok := want[b.Account.String()]
			if !ok || !b.DebitBalance().Equal(dec(w[0])) || !b.CreditBalance().Equal(dec(w[1])) {
				t.Errorf("%s: debit balance %s, credit balance %s; want %v", b.Account, b.DebitBalance(), b.CreditBalance(), w)
			}
			if i > 0 && compareKeys(lines[i-1].Account, b.Account) >= 0 {
				t.Errorf("lines out of order at %s", b.Account)
			}
		}
		total := TrialBalanceTotalRow(tb)
		dBal, cBal := total[5].d, total[6].d
		if !dBal.Equal(dec("5200000")) || !cBal.Equal(dBal) {
			t.Errorf("total balances %s / %s, want 5200000 each", dBal, cBal)
		}
	})

	t.Run("RefusesImbalance", func(t *testing.T) {
		tb := NewTrialBalance()
		_ = tb.Add(dr(ProgrammeAccount(CodeFundBank, 7), dec("10")))
		_ = tb.Add(cr(ProgrammeAccount(CodeAppropriation, 7), dec("9.99")))
		wantError(t, tb.Check(), "试算不平衡")
	})

	t.Run("RefusesBadPosting", func(t *testing.T) {
		_, err := SumPostings(slices.Values([]Posting{dr(ProgrammeAccount(CodeInvested, 7), dec("1"))}))
		wantError(t, err, "应按项目设明细")
	})
}
