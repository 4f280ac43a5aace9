package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// complete fills in the business fields a builder leaves to the caller.
func complete(e Entry) Entry {
	e.ValueDate = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	e.Record = RecordRef{Type: "disbursement", ID: 9}
	e.MakerID, e.CheckerID = 2, 3
	e.IdempotencyKey = "k-" + string(e.Kind)
	return e
}

// must(t)(Builder(...)) fails the test when a builder refuses.
func must(t testing.TB) func(Entry, error) Entry {
	return func(e Entry, err error) Entry {
		t.Helper()
		if err != nil {
			t.Fatalf("builder: %v", err)
		}
		return e
	}
}

func wantError(t *testing.T, err error, fragment string) {
	t.Helper()
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want *Error containing %q", err, fragment)
	}
	if !strings.Contains(le.Message, fragment) {
		t.Fatalf("message %q, want it to contain %q", le.Message, fragment)
	}
}

func TestValidate(t *testing.T) {
	fund := ProgrammeAccount(CodeFundBank, 7)
	inv := ProjectAccount(CodeInvested, 123)
	base := func(ps ...Posting) Entry {
		return complete(Entry{Kind: KindDisbursement, Memo: "拨付", Postings: ps})
	}
	cases := []struct {
		name string
		e    Entry
		want string // "" means valid
	}{
		{"Valid", base(dr(inv, dec("100.00")), cr(fund, dec("100"))), ""},
		{"ValidSplitPostings", base(dr(inv, dec("60.5")), dr(inv, dec("39.50")), cr(fund, dec("100"))), ""},
		{"RefusedOnePosting", base(dr(inv, dec("100"))), "至少要有两条分录"},
		{"RefusedNoPostings", base(), "至少要有两条分录"},
		{"RefusedZeroAmount", base(dr(inv, dec("0")), cr(fund, dec("0"))), "金额必须大于零"},
		{"RefusedNegativeAmount", base(dr(inv, dec("-5")), cr(fund, dec("-5"))), "金额必须大于零"},
		{"RefusedThreeDecimals", base(dr(inv, dec("1.005")), cr(fund, dec("1.005"))), "最多保留两位小数"},
		{"RefusedTooLarge", base(dr(inv, dec("10000000000000000")), cr(fund, dec("10000000000000000"))), "超出上限"},
		{"RefusedUnbalanced", base(dr(inv, dec("100.00")), cr(fund, dec("99.99"))), "借贷不平衡"},
		{"RefusedUnknownAccount", base(dr(AccountKey{Code: "9999", Scope: ScopeProject, ID: 1}, dec("1")), cr(fund, dec("1"))), "不在科目表中"},
		{"RefusedScopeMismatch", base(dr(ProgrammeAccount(CodeInvested, 7), dec("1")), cr(fund, dec("1"))), "应按项目设明细"},
		{"RefusedMissingID", base(dr(ProjectAccount(CodeInvested, 0), dec("1")), cr(fund, dec("1"))), "缺少项目编号"},
		{"RefusedWrongAccountForKind", base(dr(ProjectAccount(CodeEquity, 123), dec("1")), cr(fund, dec("1"))), "不能借记科目 1511"},
		{"RefusedWrongSideForKind", base(cr(inv, dec("1")), dr(fund, dec("1"))), "不能贷记科目 1221"},
		{"RefusedUnknownKind", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.Kind = "gift"; return e }(), "未知的凭证类型"},
		{"RefusedNoMaker", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.MakerID = 0; return e }(), "缺少制单人"},
		{"RefusedNoChecker", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.CheckerID = 0; return e }(), "缺少复核人"},
		{"RefusedNoRecord", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.Record.ID = 0; return e }(), "未关联业务单据"},
		{"RefusedNoIdempotencyKey", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.IdempotencyKey = ""; return e }(), "幂等键不能为空"},
		{"RefusedNoValueDate", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.ValueDate = time.Time{}; return e }(), "缺少记账日期"},
		{"RefusedNULInMemo", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.Memo = "a\x00b"; return e }(), "无效字符"},
		{"RefusedReferenceOnNonReversal", func() Entry { e := base(dr(inv, dec("1")), cr(fund, dec("1"))); e.Reverses = 4; return e }(), "只有冲销凭证"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.e.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantError(t, err, c.want)
		})
	}
}

// sides flattens postings into "D 1221/app/5 100.00" lines for comparison.
func sides(e Entry) []string {
	var out []string
	for _, p := range e.Postings {
		s := "D"
		if p.Side == Credit {
			s = "C"
		}
		out = append(out, s+" "+p.Account.String()+" "+p.Amount.StringFixed(2))
	}
	return out
}

func TestBuilders(t *testing.T) {
	cases := []struct {
		name  string
		build func() (Entry, error)
		kind  Kind
		want  []string
	}{
		{"Appropriation", func() (Entry, error) { return Appropriation(7, dec("5000000")) }, KindAppropriation,
			[]string{"D 1002/prog/7 5000000.00", "C 3001/prog/7 5000000.00"}},
		{"Disbursement", func() (Entry, error) { return Disbursement(7, 123, dec("1000000.5")) }, KindDisbursement,
			[]string{"D 1221/app/123 1000000.50", "C 1002/prog/7 1000000.50"}},
		{"Conversion", func() (Entry, error) { return Conversion(123, dec("3000000")) }, KindConversion,
			[]string{"D 1511/app/123 3000000.00", "C 1221/app/123 3000000.00"}},
		{"ExitWithGain", func() (Entry, error) { return Exit(7, 123, dec("1200000"), dec("1000000")) }, KindExit,
			[]string{"D 1002/prog/7 1200000.00", "C 1511/app/123 1000000.00", "C 6111/prog/7 200000.00"}},
		{"ExitWithLoss", func() (Entry, error) { return Exit(7, 123, dec("800000"), dec("1000000")) }, KindExit,
			[]string{"D 1002/prog/7 800000.00", "C 1511/app/123 1000000.00", "D 6711/prog/7 200000.00"}},
		{"ExitAtCostPostsNoGainOrLoss", func() (Entry, error) { return Exit(7, 123, dec("1000000"), dec("1000000.00")) }, KindExit,
			[]string{"D 1002/prog/7 1000000.00", "C 1511/app/123 1000000.00"}},
		{"ExitForNothingIsAllLoss", func() (Entry, error) { return Exit(7, 123, decimal.Zero, dec("1000000")) }, KindExit,
			[]string{"C 1511/app/123 1000000.00", "D 6711/prog/7 1000000.00"}},
		{"LapseToGrant", func() (Entry, error) { return LapseToGrant(7, 123, dec("250000")) }, KindLapseGrant,
			[]string{"D 6401/prog/7 250000.00", "C 1221/app/123 250000.00"}},
		{"RecoveryReceivable", func() (Entry, error) { return RecoveryReceivable(123, dec("250000")) }, KindRecovery,
			[]string{"D 1131/app/123 250000.00", "C 1221/app/123 250000.00"}},
		{"RecoveryReceipt", func() (Entry, error) { return RecoveryReceipt(7, 123, dec("250000")) }, KindRecoveryReceipt,
			[]string{"D 1002/prog/7 250000.00", "C 1131/app/123 250000.00"}},
		{"WriteOffInvested", func() (Entry, error) { return WriteOff(7, 123, CodeInvested, dec("10")) }, KindWriteOff,
			[]string{"D 6711/prog/7 10.00", "C 1221/app/123 10.00"}},
		{"WriteOffEquity", func() (Entry, error) { return WriteOff(7, 123, CodeEquity, dec("10")) }, KindWriteOff,
			[]string{"D 6711/prog/7 10.00", "C 1511/app/123 10.00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := must(t)(c.build())
			if e.Kind != c.kind {
				t.Errorf("kind %q, want %q", e.Kind, c.kind)
			}
			if got := strings.Join(sides(e), "; "); got != strings.Join(c.want, "; ") {
				t.Errorf("postings\n got %s\nwant %s", got, strings.Join(c.want, "; "))
			}
			if e.Memo == "" {
				t.Error("no default memo")
			}
			e = complete(e)
			if err := e.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestBuildersRefuseBadInput(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"ZeroAmount", second(Appropriation(7, decimal.Zero)), "金额必须大于零"},
		{"NegativeAmount", second(Disbursement(7, 123, dec("-1"))), "金额必须大于零"},
		{"ThreeDecimals", second(Conversion(123, dec("0.001"))), "最多保留两位小数"},
		{"NoProgramme", second(Disbursement(0, 123, dec("1"))), "缺少专项批次编号"},
		{"NoProject", second(Disbursement(7, 0, dec("1"))), "缺少项目编号"},
		{"ExitZeroCost", second(Exit(7, 123, dec("5"), decimal.Zero)), "金额必须大于零"},
		{"ExitNegativeProceeds", second(Exit(7, 123, dec("-5"), dec("5"))), "金额必须大于零"},
		{"WriteOffFromFund", second(WriteOff(7, 123, CodeFundBank, dec("5"))), "只能从科目"},
		{"ReverseUnposted", second(Reverse(Entry{Kind: KindDisbursement})), "只能冲销已记账的凭证"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, c.err, c.want) })
	}
}

func second(_ Entry, err error) error { return err }

func TestReverseNetsToZero(t *testing.T) {
	orig := complete(must(t)(Exit(7, 123, dec("1200000"), dec("1000000"))))
	orig.Seq = 5
	rev := must(t)(Reverse(orig))
	if rev.Kind != KindReversal || rev.Reverses != 5 || rev.Record != orig.Record {
		t.Fatalf("reversal header: kind %q reverses %d record %v", rev.Kind, rev.Reverses, rev.Record)
	}
	rev.ValueDate, rev.MakerID, rev.CheckerID, rev.IdempotencyKey = orig.ValueDate, 2, 3, "rev-5"
	if err := rev.Validate(); err != nil {
		t.Fatalf("Validate reversal: %v", err)
	}
	tb := NewTrialBalance()
	for _, e := range []Entry{orig, rev} {
		for _, p := range e.Postings {
			if err := tb.Add(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, b := range tb.Lines() {
		if !b.Net().IsZero() {
			t.Errorf("%s nets to %s after reversal", b.Account, b.Net())
		}
	}
	t.Run("RefusedReversingAReversal", func(t *testing.T) {
		rev.Seq = 6
		_, err := Reverse(rev)
		wantError(t, err, "不能再冲销")
	})
}

func TestAccountKey(t *testing.T) {
	for _, s := range []string{"1002/prog/7", "1221/app/123", "6711/prog/1"} {
		k, err := ParseAccountKey(s)
		if err != nil {
			t.Fatalf("ParseAccountKey(%q): %v", s, err)
		}
		if k.String() != s {
			t.Errorf("round trip %q → %q", s, k.String())
		}
	}
	for _, s := range []string{"1002/app/7", "1221/prog/1", "9999/app/1", "1221/app/0", "1221/app/007", "1221/app/-1", "1221/app", "1221 /app/1", ""} {
		if _, err := ParseAccountKey(s); err == nil {
			t.Errorf("ParseAccountKey(%q) accepted", s)
		}
	}
	if len(Chart()) != 8 {
		t.Fatalf("chart has %d accounts", len(Chart()))
	}
	for _, a := range Chart() {
		if a.Name == "" || !a.Normal.valid() || (a.Scope != ScopeProgramme && a.Scope != ScopeProject) {
			t.Errorf("incomplete chart line %+v", a)
		}
	}
}
