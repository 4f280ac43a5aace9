package applications

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/ledger"
)

func TestTranchePlan(t *testing.T) {
	t.Parallel()
	terms := Terms{Tranches: []TrancheTerm{
		{Share: "0.3333", MonthsAfterSigning: 0}, {Share: "0.3333", MonthsAfterSigning: 6, Milestone: "中试"},
		{Share: "0.3334", MonthsAfterSigning: 12}}}
	signed := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	plan, err := TranchePlan(terms, dec("1000000.01"), signed)
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, tr := range plan {
		sum = sum.Add(tr.Amount)
	}
	if !sum.Equal(dec("1000000.01")) {
		t.Fatalf("plan sums to %s", sum)
	}
	// 1000000.01 × 0.3333 = 333300.003333 → 333300.00; the last takes the rest.
	if !plan[0].Amount.Equal(dec("333300.00")) || !plan[2].Amount.Equal(dec("333400.01")) {
		t.Fatalf("plan = %s %s %s", plan[0].Amount, plan[1].Amount, plan[2].Amount)
	}
	if plan[1].Milestone != "中试" || !plan[1].Gated() || plan[0].Gated() || plan[1].DueOn.Format(time.DateOnly) != "2026-07-31" {
		t.Fatalf("tranche 2 = %+v", plan[1])
	}
	// Half-up: 0.005 rounds away from zero.
	plan, _ = TranchePlan(Terms{Tranches: []TrancheTerm{{Share: "0.5"}, {Share: "0.5"}}}, dec("0.05"), signed)
	if !plan[0].Amount.Equal(dec("0.03")) || !plan[1].Amount.Equal(dec("0.02")) {
		t.Fatalf("half-up: %s + %s", plan[0].Amount, plan[1].Amount)
	}
}

// fundedPlan is a contracted project approved for 1,000,000 元 under an
// agreement signed on 2026-01-31: tranche 1 (600,000) is open, tranche 2
// (400,000) waits for the milestone "中试"; the fund holds 800,000.
func fundedPlan(t *testing.T) DisbursementPlan {
	t.Helper()
	signed := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	terms := Terms{Tranches: []TrancheTerm{{Share: "0.6"}, {Share: "0.4", MonthsAfterSigning: 6, Milestone: "中试"}}}
	tranches, err := TranchePlan(terms, dec("1000000"), signed)
	if err != nil {
		t.Fatal(err)
	}
	return DisbursementPlan{
		App:         Application{ID: 7, State: StateContracted},
		AgreementID: 3, AgreementVersion: 1, AgreementAmount: dec("1000000"), SignedOn: signed,
		Approved:  decimal.NullDecimal{Decimal: dec("1000000"), Valid: true},
		Disbursed: decimal.Zero, Pending: decimal.Zero, FundBalance: dec("800000"),
		Tranches: tranches,
	}
}

func wantKind(t *testing.T, err error, kind Kind, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	if ErrorKind(err) != kind {
		t.Fatalf("kind = %s, want %s (%v)", ErrorKind(err), kind, err)
	}
	var e *Error
	if field != "" && (!errors.As(err, &e) || e.Field != field) {
		t.Fatalf("want field %q: %v", field, err)
	}
}

func TestDisbursementPlanCheckRecord(t *testing.T) {
	t.Parallel()
	valid := DisbursementInput{ApplicationID: 7, Tranche: 1, Amount: dec("100000"), ValueDate: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		name  string
		plan  func(*DisbursementPlan)
		in    func(*DisbursementInput)
		kind  Kind // "" when allowed
		field string
	}{
		{name: "Allowed"},
		{name: "AllowedOnTheSigningDay", in: func(in *DisbursementInput) { in.ValueDate = time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC) }},
		{name: "AllowedWhenFunded", plan: func(p *DisbursementPlan) { p.App.State = StateFunded }},
		{name: "RefusedBeforeContract", plan: func(p *DisbursementPlan) { p.App.State = StateApproved }, kind: Conflict},
		{name: "RefusedWithoutAgreement", plan: func(p *DisbursementPlan) { p.AgreementID = 0 }, kind: Conflict},
		{name: "RefusedWithoutApprovedAmount", plan: func(p *DisbursementPlan) { p.Approved = decimal.NullDecimal{} }, kind: Conflict},
		{name: "RefusedUnknownTranche", in: func(in *DisbursementInput) { in.Tranche = 3 }, kind: Invalid, field: "tranche"},
		{name: "RefusedBeforeMilestone", in: func(in *DisbursementInput) { in.Tranche = 2 }, kind: Invalid, field: "tranche"},
		{name: "AllowedAfterMilestone", plan: func(p *DisbursementPlan) {
			p.Tranches[1].Confirmation = &MilestoneConfirmation{Tranche: 2}
		}, in: func(in *DisbursementInput) { in.Tranche = 2 }},
		{name: "RefusedBeforeSigning", in: func(in *DisbursementInput) { in.ValueDate = time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC) },
			kind: Invalid, field: "value_date"},
		{name: "RefusedAboveTranche", in: func(in *DisbursementInput) { in.Amount = dec("600000.01") }, kind: Invalid, field: "amount"},
		{name: "RefusedAboveTrancheCountingPending", plan: func(p *DisbursementPlan) { p.Tranches[0].Pending = dec("550000") },
			kind: Invalid, field: "amount"},
		{name: "RefusedAboveProject", plan: func(p *DisbursementPlan) {
			p.Approved.Decimal = dec("50000")
		}, kind: Invalid, field: "amount"},
		{name: "RefusedAboveFund", plan: func(p *DisbursementPlan) { p.FundBalance = dec("99999.99") }, kind: Invalid, field: "amount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, in := fundedPlan(t), valid
			if c.plan != nil {
				c.plan(&p)
			}
			if c.in != nil {
				c.in(&in)
			}
			err := p.CheckRecord(in)
			if c.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, c.kind, c.field)
		})
	}
}

func TestDisbursementPlanApprove(t *testing.T) {
	t.Parallel()
	pending := Disbursement{ID: 12, ApplicationID: 7, Title: "项目", ProgrammeID: 2, AgreementID: 3, Tranche: 1,
		Amount: dec("600000"), ValueDate: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Reference: "V-1", PreparedBy: 5,
		Status: MoneyPending}
	t.Run("FirstApprovalFundsTheProject", func(t *testing.T) {
		a, err := fundedPlan(t).Approve(pending, 6)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Funded || !a.Amount.Equal(dec("600000")) {
			t.Fatalf("approval = %+v", a)
		}
		e := a.Entry
		if e.Kind != ledger.KindDisbursement || e.Record != (ledger.RecordRef{Type: RecordDisbursement, ID: 12}) ||
			e.MakerID != 5 || e.CheckerID != 6 || e.IdempotencyKey != "disbursement/12" || !e.ValueDate.Equal(pending.ValueDate) {
			t.Fatalf("entry = %+v", e)
		}
		if e.Memo != "拨付先投资金：项目 第 1 笔（V-1）" {
			t.Fatalf("memo = %q", e.Memo)
		}
		if got := a.FundedReason(9); got != "首笔拨付（第 9 号凭证）审批通过" {
			t.Fatalf("reason = %q", got)
		}
	})
	t.Run("LaterApprovalKeepsFunded", func(t *testing.T) {
		p := fundedPlan(t)
		p.App.State = StateFunded
		a, err := p.Approve(pending, 6)
		if err != nil || a.Funded {
			t.Fatalf("approval = %+v, %v", a, err)
		}
	})
	for _, c := range []struct {
		name string
		plan func(*DisbursementPlan)
		d    func(*Disbursement)
	}{
		{name: "RefusedAfterTheStage", plan: func(p *DisbursementPlan) { p.App.State = StateConverted }},
		{name: "RefusedUnderAnotherAgreement", plan: func(p *DisbursementPlan) { p.AgreementID, p.AgreementVersion = 4, 2 }},
		{name: "RefusedBeforeMilestone", d: func(d *Disbursement) { d.Tranche, d.Amount = 2, dec("1") }},
		{name: "RefusedAboveTranche", plan: func(p *DisbursementPlan) { p.Tranches[0].Disbursed = dec("0.01") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, d := fundedPlan(t), pending
			if c.plan != nil {
				c.plan(&p)
			}
			if c.d != nil {
				c.d(&d)
			}
			_, err := p.Approve(d, 6)
			wantKind(t, err, Conflict, "")
		})
	}
}

func TestDisbursementPlanConfirmMilestone(t *testing.T) {
	t.Parallel()
	t.Run("GatedTrancheConfirmed", func(t *testing.T) {
		tr, err := fundedPlan(t).ConfirmMilestone(2)
		if err != nil || tr.Milestone != "中试" {
			t.Fatalf("tranche = %+v, %v", tr, err)
		}
	})
	for _, c := range []struct {
		name    string
		plan    func(*DisbursementPlan)
		tranche int
		kind    Kind
	}{
		{"RefusedOutsideTheStage", func(p *DisbursementPlan) { p.App.State = StateSubmitted }, 2, Conflict},
		{"RefusedWithoutAgreement", func(p *DisbursementPlan) { p.AgreementID = 0 }, 2, Conflict},
		{"RefusedUnknownTranche", nil, 0, Invalid},
		{"RefusedNotGated", nil, 1, Conflict},
		{"RefusedAlreadyConfirmed", func(p *DisbursementPlan) {
			p.Tranches[1].Confirmation = &MilestoneConfirmation{Tranche: 2, ConfirmedBy: "张三"}
		}, 2, Conflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := fundedPlan(t)
			if c.plan != nil {
				c.plan(&p)
			}
			_, err := p.ConfirmMilestone(c.tranche)
			wantKind(t, err, c.kind, "")
		})
	}
	t.Run("RefusedWithoutNote", func(t *testing.T) {
		_, err := CheckMilestoneNote("  ")
		wantKind(t, err, Invalid, "note")
	})
}
