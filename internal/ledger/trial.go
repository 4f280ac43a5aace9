package ledger

import (
	"iter"
	"slices"

	"github.com/shopspring/decimal"
)

// Balance is one line of a trial balance: the turnover of a sub-account on
// each side. Which side the balance stands on follows from their difference.
type Balance struct {
	Account AccountKey
	Debit   decimal.Decimal // Σ debit postings (借方发生额)
	Credit  decimal.Decimal // Σ credit postings (贷方发生额)
}

// Net is Debit − Credit: positive for a debit balance, negative for a
// credit balance.
func (b Balance) Net() decimal.Decimal { return b.Debit.Sub(b.Credit) }

// DebitBalance is the balance when it stands on the debit side, else zero.
func (b Balance) DebitBalance() decimal.Decimal {
	if n := b.Net(); n.Sign() > 0 {
		return n
	}
	return decimal.Zero
}

// CreditBalance is the balance when it stands on the credit side, else zero.
func (b Balance) CreditBalance() decimal.Decimal {
	if n := b.Net(); n.Sign() < 0 {
		return n.Neg()
	}
	return decimal.Zero
}

// TrialBalance sums postings per sub-account. It holds one line per
// sub-account, not the postings, so it can be fed a point-in-time query of
// any length from a cursor. The caller decides the point in time (entries
// with a value date on or before it); TrialBalance only adds.
type TrialBalance struct {
	lines         map[AccountKey]*Balance
	debit, credit decimal.Decimal
}

// NewTrialBalance returns an empty trial balance.
func NewTrialBalance() *TrialBalance {
	return &TrialBalance{lines: make(map[AccountKey]*Balance)}
}

// Add adds one posting. It refuses (with an *Error) a posting whose account,
// side or amount breaks the rules, because a trial balance over bad data
// would look balanced while hiding the fault.
func (tb *TrialBalance) Add(p Posting) error {
	if err := p.Account.Check(); err != nil {
		return err
	}
	if !p.Side.valid() {
		return errorf("side", "分录的借贷方向无效")
	}
	if err := checkAmount("amount", p.Amount); err != nil {
		return err
	}
	b := tb.lines[p.Account]
	if b == nil {
		b = &Balance{Account: p.Account}
		tb.lines[p.Account] = b
	}
	if p.Side == Debit {
		b.Debit = b.Debit.Add(p.Amount)
		tb.debit = tb.debit.Add(p.Amount)
	} else {
		b.Credit = b.Credit.Add(p.Amount)
		tb.credit = tb.credit.Add(p.Amount)
	}
	return nil
}

// Lines returns one Balance per sub-account, in chart order (code, scope,
// ID).
func (tb *TrialBalance) Lines() []Balance {
	out := make([]Balance, 0, len(tb.lines))
	for _, b := range tb.lines {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Balance) int { return compareKeys(a.Account, b.Account) })
	return out
}

// Lookup returns the line of one sub-account (zero turnover when it has
// none).
func (tb *TrialBalance) Lookup(k AccountKey) Balance {
	if b := tb.lines[k]; b != nil {
		return *b
	}
	return Balance{Account: k}
}

// Totals returns Σ debits and Σ credits over all postings added.
func (tb *TrialBalance) Totals() (debit, credit decimal.Decimal) { return tb.debit, tb.credit }

// Check reports (with an *Error) when Σ debits ≠ Σ credits. Since every
// entry balances, a difference means postings were lost, added or altered.
func (tb *TrialBalance) Check() error {
	if tb.debit.Cmp(tb.credit) != 0 {
		return errorf("postings", "试算不平衡：借方合计 %s，贷方合计 %s，差额 %s",
			tb.debit.StringFixed(2), tb.credit.StringFixed(2), tb.debit.Sub(tb.credit).StringFixed(2))
	}
	return nil
}

// SumPostings builds the trial balance of a stream of postings and checks
// that it balances. On a bad posting or an imbalance it returns the partial
// trial balance with the error, so a caller can still show what it found.
func SumPostings(postings iter.Seq[Posting]) (*TrialBalance, error) {
	tb := NewTrialBalance()
	for p := range postings {
		if err := tb.Add(p); err != nil {
			return tb, err
		}
	}
	return tb, tb.Check()
}

// Postings yields the postings of a stream of entries, for SumPostings.
func Postings(entries iter.Seq[Entry]) iter.Seq[Posting] {
	return func(yield func(Posting) bool) {
		for e := range entries {
			for _, p := range e.Postings {
				if !yield(p) {
					return
				}
			}
		}
	}
}
