package applications

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"ite/internal/ledger"
)

func TestReversalCandidateCheck(t *testing.T) {
	t.Parallel()
	appropriation := ledger.Entry{Seq: 4, Kind: ledger.KindAppropriation, Record: ledger.RecordRef{Type: RecordAppropriation, ID: 1}}
	disbursement := ledger.Entry{Seq: 5, Kind: ledger.KindDisbursement, Record: ledger.RecordRef{Type: RecordDisbursement, ID: 2}}
	for _, c := range []struct {
		name string
		c    ReversalCandidate
		want string // the record type; "" when refused
		kind Kind
	}{
		{name: "AppropriationUndone", c: ReversalCandidate{Entry: appropriation}, want: RecordAppropriation},
		{name: "DisbursementUndone", c: ReversalCandidate{Entry: disbursement}, want: RecordDisbursement},
		{name: "RefusedForAReversal", c: ReversalCandidate{Entry: ledger.Entry{Seq: 6, Kind: ledger.KindReversal}}, kind: Conflict},
		{name: "RefusedWhenReversed", c: ReversalCandidate{Entry: disbursement, ReversedBy: 9}, kind: Conflict},
		{name: "RefusedWhenRequested", c: ReversalCandidate{Entry: disbursement, OpenID: 3, OpenStatus: MoneyPending}, kind: Conflict},
		{name: "RefusedForAForeignRecord", c: ReversalCandidate{Entry: ledger.Entry{Seq: 7, Kind: ledger.KindDisbursement,
			Record: ledger.RecordRef{Type: "import", ID: 1}}}, kind: Invalid},
		{name: "RefusedForOtherKinds", c: ReversalCandidate{Entry: ledger.Entry{Seq: 8, Kind: ledger.KindConversion}}, kind: Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.c.Check()
			if c.kind == "" {
				if err != nil || got != c.want {
					t.Fatalf("record type = %q, %v; want %q", got, err, c.want)
				}
				return
			}
			wantKind(t, err, c.kind, "")
		})
	}
}

func TestReversalTargetCheck(t *testing.T) {
	t.Parallel()
	appropriation := ReversalTarget{Record: ledger.RecordRef{Type: RecordAppropriation, ID: 1}, Found: true,
		Status: MoneyApproved, EntrySeq: 4, Amount: dec("500"), FundBalance: dec("500")}
	disbursement := ReversalTarget{Record: ledger.RecordRef{Type: RecordDisbursement, ID: 2}, Found: true,
		Status: MoneyApproved, EntrySeq: 4, Amount: dec("300"), AppState: StateFunded, AppDisbursed: dec("300")}
	for _, c := range []struct {
		name    string
		t       ReversalTarget
		change  func(*ReversalTarget)
		refused bool
	}{
		{name: "AppropriationAllowed", t: appropriation},
		{name: "DisbursementAllowed", t: disbursement},
		{name: "RefusedWhenMissing", t: appropriation, change: func(t *ReversalTarget) { t.Found = false }, refused: true},
		{name: "RefusedWhenNotApproved", t: disbursement, change: func(t *ReversalTarget) { t.Status = MoneyReversed }, refused: true},
		{name: "RefusedForAnotherEntry", t: disbursement, change: func(t *ReversalTarget) { t.EntrySeq = 3 }, refused: true},
		{name: "RefusedWhenMoneyDisbursed", t: appropriation, change: func(t *ReversalTarget) { t.FundBalance = dec("499.99") }, refused: true},
		{name: "RefusedAfterTheFundingStage", t: disbursement, change: func(t *ReversalTarget) { t.AppState = StateConverted }, refused: true},
		{name: "RefusedWithEndingPending", t: disbursement, change: func(t *ReversalTarget) { t.EndingPending = true }, refused: true},
		{name: "RefusedWhenProjectShort", t: disbursement, change: func(t *ReversalTarget) { t.AppDisbursed = dec("299") }, refused: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := c.t
			if c.change != nil {
				c.change(&target)
			}
			err := target.Check(4)
			if !c.refused {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, Conflict, "")
		})
	}
}

func TestReversalEntry(t *testing.T) {
	t.Parallel()
	orig, err := ledger.Disbursement(2, 7, dec("300"))
	if err != nil {
		t.Fatal(err)
	}
	orig.Seq, orig.ValueDate = 4, isoDay("2026-03-10")
	target := ReversalTarget{Record: ledger.RecordRef{Type: RecordDisbursement, ID: 2}}
	r := Reversal{ID: 11, Reason: "金额有误", PreparedBy: 5}
	t.Run("DatedToday", func(t *testing.T) {
		e, err := target.Entry(orig, r, 6, isoDay("2026-03-12"))
		if err != nil {
			t.Fatal(err)
		}
		if !e.ValueDate.Equal(isoDay("2026-03-12")) || e.Record != (ledger.RecordRef{Type: RecordReversal, ID: 11}) ||
			e.MakerID != 5 || e.CheckerID != 6 || e.IdempotencyKey != "reversal/11" {
			t.Fatalf("entry = %+v", e)
		}
		if e.Memo != "冲正第 4 号凭证（拨付 BF-2）：金额有误" {
			t.Fatalf("memo = %q", e.Memo)
		}
	})
	t.Run("DatedLikeAFutureOriginal", func(t *testing.T) {
		e, err := target.Entry(orig, r, 6, isoDay("2026-03-01"))
		if err != nil || !e.ValueDate.Equal(orig.ValueDate) {
			t.Fatalf("value date = %s, %v", e.ValueDate, err)
		}
	})
}

func TestReversalRequestRules(t *testing.T) {
	t.Parallel()
	t.Run("RefusedWithoutReason", func(t *testing.T) {
		_, err := CheckReversalReason(" ")
		wantKind(t, err, Invalid, "reason")
	})
	t.Run("RefusedLongReason", func(t *testing.T) {
		_, err := CheckReversalReason(strings.Repeat("字", maxReversalReason+1))
		wantKind(t, err, Invalid, "reason")
	})
	t.Run("AdminRefused", func(t *testing.T) {
		// Issue 12: the admin moves no money (DOMAIN §2), so asks for no
		// correction, of an appropriation either (until then allowed).
		wantKind(t, CheckReversalRequester(RoleAdmin), Forbidden, "")
	})
	t.Run("OnlyStaffAllowed", func(t *testing.T) {
		for _, role := range AllRoles() {
			err := CheckReversalRequester(role)
			if (err == nil) != (role == RoleStaff) {
				t.Errorf("%s: %v", role, err)
			}
		}
	})
	t.Run("OnlyDisbursementUndoesFunding", func(t *testing.T) {
		if !UndoesFunding(StateFunded, decimal.Zero) || UndoesFunding(StateFunded, dec("1")) || UndoesFunding(StateContracted, decimal.Zero) {
			t.Fatal("wrong funding rule")
		}
	})
}
