package ledger

import "testing"

func TestBalanceSheetTiesToTrialBalance(t *testing.T) {
	post := func(tb *TrialBalance, k AccountKey, s Side, amount string) {
		t.Helper()
		if err := tb.Add(Posting{Account: k, Side: s, Amount: dec(amount)}); err != nil {
			t.Fatal(err)
		}
	}
	bank, approp := ProgrammeAccount(CodeFundBank, 1), ProgrammeAccount(CodeAppropriation, 1)
	inv5, inv6 := ProjectAccount(CodeInvested, 5), ProjectAccount(CodeInvested, 6)
	opening, period, all := NewTrialBalance(), NewTrialBalance(), NewTrialBalance()
	both := func(tb *TrialBalance, k AccountKey, s Side, amount string) {
		post(tb, k, s, amount)
		post(all, k, s, amount)
	}
	both(opening, bank, Debit, "1000.00")
	both(opening, approp, Credit, "1000.00")
	both(opening, inv5, Debit, "300.00")
	both(opening, bank, Credit, "300.00")
	both(period, inv6, Debit, "200.50")
	both(period, bank, Credit, "200.50")
	bs := NewBalanceSheet(opening, period)
	var codes []string
	for _, r := range bs.Rows {
		c := r.Account.String()
		if r.IsSubtotal() {
			c = string(r.Account.Code) + " 小计"
		}
		codes = append(codes, c)
	}
	want := "[1002/prog/1 1002 小计 1221/app/5 1221/app/6 1221 小计 3001/prog/1 3001 小计]"
	if got := fmtSlice(codes); got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
	b := bs.Rows[0]
	if !b.OpeningDebit.Equal(dec("700")) || !b.Credit.Equal(dec("200.50")) || !b.ClosingDebit.Equal(dec("499.50")) {
		t.Fatalf("1002: %+v", b)
	}
	sub := bs.Rows[4]
	if !sub.IsSubtotal() || !sub.OpeningDebit.Equal(dec("300")) || !sub.Debit.Equal(dec("200.50")) || !sub.ClosingDebit.Equal(dec("500.50")) {
		t.Fatalf("1221 subtotal: %+v", sub)
	}
	var dBal, cBal = dec("0"), dec("0")
	for _, l := range all.Lines() {
		dBal, cBal = dBal.Add(l.DebitBalance()), cBal.Add(l.CreditBalance())
	}
	tot := bs.Total
	if !tot.ClosingDebit.Equal(dBal) || !tot.ClosingCredit.Equal(cBal) || !tot.ClosingDebit.Equal(tot.ClosingCredit) {
		t.Fatalf("totals %+v do not tie to the trial balance %s / %s", tot, dBal, cBal)
	}
	pd, pc := period.Totals()
	if !tot.Debit.Equal(pd) || !tot.Credit.Equal(pc) || !tot.OpeningDebit.Equal(tot.OpeningCredit) {
		t.Fatalf("period totals %+v", tot)
	}
}

func fmtSlice(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
