package ledger

import (
	"strings"
	"testing"
	"time"
)

func TestPeriodRules(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	march := d("2026-03-01")
	if err := CheckOpen(d("2026-03-31"), march); err == nil || err.Error() != "该期间（2026年3月）已结账，更正请记入当前未结账期间。" {
		t.Fatalf("March after close: %v", err)
	}
	if err := CheckOpen(d("2026-02-01"), march); err == nil || !strings.Contains(err.Error(), "2026年2月") {
		t.Fatalf("February after March's close: %v", err)
	}
	if err := CheckOpen(d("2026-04-01"), march); err != nil {
		t.Fatalf("April: %v", err)
	}
	if err := CheckOpen(d("2026-03-01"), time.Time{}); err != nil {
		t.Fatalf("nothing closed: %v", err)
	}
	balanced := NewTrialBalance()
	_ = balanced.Add(Posting{Account: ProgrammeAccount(CodeFundBank, 1), Side: Debit, Amount: dec("5")})
	_ = balanced.Add(Posting{Account: ProgrammeAccount(CodeAppropriation, 1), Side: Credit, Amount: dec("5")})
	unbalanced := NewTrialBalance()
	_ = unbalanced.Add(Posting{Account: ProgrammeAccount(CodeFundBank, 1), Side: Debit, Amount: dec("5")})
	today := d("2026-05-10")
	for name, c := range map[string]struct {
		month, closed, first time.Time
		tb                   *TrialBalance
		want                 string
	}{
		"FirstMonth":       {march, time.Time{}, d("2026-03-05"), balanced, ""},
		"NotFirstMonth":    {d("2026-04-01"), time.Time{}, d("2026-03-05"), balanced, "2026年3月"},
		"Next":             {d("2026-04-01"), march, d("2026-03-05"), balanced, ""},
		"AlreadyClosed":    {march, march, d("2026-03-05"), balanced, "已结账"},
		"Skipping":         {d("2026-05-01"), march, d("2026-03-05"), balanced, "2026年4月"},
		"NotEnded":         {d("2026-05-01"), d("2026-04-01"), d("2026-03-05"), balanced, "尚未结束"},
		"Unbalanced":       {march, time.Time{}, d("2026-03-05"), unbalanced, "试算不平衡"},
		"EmptyLedgerMonth": {d("2026-04-01"), time.Time{}, time.Time{}, balanced, ""},
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckClose(c.month, c.closed, c.first, today, c.tb)
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("CheckClose = %v, want %q", err, c.want)
			}
		})
	}
}
