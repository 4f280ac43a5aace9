package ledger

import (
	"slices"

	"github.com/shopspring/decimal"
)

// The account balance sheet (科目余额表) of a period: per sub-account the
// opening balance, the period's debits and credits and the closing
// balance, each balance split into its debit and credit column as a trial
// balance shows it; a subtotal per first-level account (code); and grand
// totals. Closing = opening + period for every line, and the grand totals
// of the closing columns are the trial balance's debit and credit balances
// at the period's end.

// SheetLine is one line of a balance sheet: a sub-account, a first-level
// subtotal (Account.ID 0, Scope "") or the grand total (Account zero).
type SheetLine struct {
	Account                     AccountKey
	OpeningDebit, OpeningCredit decimal.Decimal // balance before the period, on its side
	Debit, Credit               decimal.Decimal // the period's turnover
	ClosingDebit, ClosingCredit decimal.Decimal // balance at the period's end, on its side
}

// IsSubtotal reports whether l is a first-level subtotal.
func (l SheetLine) IsSubtotal() bool { return l.Account.Code != "" && l.Account.ID == 0 }

// IsTotal reports whether l is the grand total.
func (l SheetLine) IsTotal() bool { return l.Account.Code == "" }

// BalanceSheet is the account balance sheet of a period.
type BalanceSheet struct {
	// Rows are the sub-accounts in chart order, each first-level
	// account's lines followed by its subtotal.
	Rows  []SheetLine
	Total SheetLine
}

// NewBalanceSheet builds the sheet from the trial balance before the
// period (opening: postings dated before its first day) and the trial
// balance of the period itself (postings dated in it).
func NewBalanceSheet(opening, period *TrialBalance) *BalanceSheet {
	keys := map[AccountKey]bool{}
	for k := range opening.lines {
		keys[k] = true
	}
	for k := range period.lines {
		keys[k] = true
	}
	sorted := make([]AccountKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, compareKeys)
	bs := &BalanceSheet{}
	var sub SheetLine
	flush := func() {
		if sub.Account.Code != "" {
			bs.Rows = append(bs.Rows, sub)
		}
	}
	for _, k := range sorted {
		o, p := opening.Lookup(k), period.Lookup(k)
		l := SheetLine{Account: k, Debit: p.Debit, Credit: p.Credit}
		l.OpeningDebit, l.OpeningCredit = split(o.Net())
		l.ClosingDebit, l.ClosingCredit = split(o.Net().Add(p.Net()))
		if k.Code != sub.Account.Code {
			flush()
			sub = SheetLine{Account: AccountKey{Code: k.Code}}
		}
		sub.add(l)
		bs.Total.add(l)
		bs.Rows = append(bs.Rows, l)
	}
	flush()
	return bs
}

// split puts a net balance (debit − credit) on its side.
func split(net decimal.Decimal) (debit, credit decimal.Decimal) {
	if net.Sign() >= 0 {
		return net, decimal.Zero
	}
	return decimal.Zero, net.Neg()
}

// add sums l's columns into s. Balances are summed column by column, as the
// trial balance sums debit and credit balances, so the grand totals tie.
func (s *SheetLine) add(l SheetLine) {
	s.OpeningDebit, s.OpeningCredit = s.OpeningDebit.Add(l.OpeningDebit), s.OpeningCredit.Add(l.OpeningCredit)
	s.Debit, s.Credit = s.Debit.Add(l.Debit), s.Credit.Add(l.Credit)
	s.ClosingDebit, s.ClosingCredit = s.ClosingDebit.Add(l.ClosingDebit), s.ClosingCredit.Add(l.ClosingCredit)
}
