package postgres

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
)

func TestDisbursementLifecycle(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("3000000.00")
	app := w.contract("2000000.00")

	key := w.key()
	in := applications.DisbursementInput{ApplicationID: app, Tranche: 1, Amount: dec("1000000.00"), ValueDate: testNow.AddDate(0, 0, -1),
		Reference: "PZ-2026-001", IdempotencyKey: key}
	d, err := w.db.RecordDisbursement(w.ctx, w.staff, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("DuplicateSubmissionRecordsOnce", func(t *testing.T) {
		again, err := w.db.RecordDisbursement(w.ctx, w.staff, in)
		if err != nil || again.ID != d.ID {
			t.Fatalf("retry = %+v, %v", again, err)
		}
		other := in
		other.ApplicationID = w.contract("100.00")
		_, err = w.db.RecordDisbursement(w.ctx, w.staff, other)
		wantKind(t, err, applications.Conflict, "表单标识")
	})
	t.Run("MakerApprovingOwnRefused", func(t *testing.T) {
		_, err := w.db.ApproveDisbursement(w.ctx, w.staff, d.ID, w.key())
		wantKind(t, err, applications.Forbidden, "不能审批自己经办")
		var n int
		_ = w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE event = 'disbursement_approve'
			AND outcome = 'refused' AND object_id = $1`, itoa64(d.ID)).Scan(&n)
		if n != 1 {
			t.Fatalf("refusal audit rows = %d", n)
		}
	})
	checkKey := w.key()
	ok, err := w.db.ApproveDisbursement(w.ctx, w.approver, d.ID, checkKey)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Status != applications.MoneyApproved || ok.EntrySeq != 2 || ok.CheckerName != "approver" {
		t.Fatalf("approved = %+v", ok)
	}
	a, _ := w.db.FindApplication(w.ctx, app)
	if a.State != applications.StateFunded {
		t.Fatalf("state after first disbursement = %s", a.State)
	}
	t.Run("DoubleApprovePostsOnce", func(t *testing.T) {
		again, err := w.db.ApproveDisbursement(w.ctx, w.approver, d.ID, checkKey)
		if err != nil || again.EntrySeq != ok.EntrySeq {
			t.Fatalf("retry = %+v, %v", again, err)
		}
		_, err = w.db.ApproveDisbursement(w.ctx, w.approver2, d.ID, w.key())
		wantKind(t, err, applications.Conflict, "已审批")
		var n int
		_ = w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM ledger_entries WHERE kind = 'disbursement'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d disbursement entries", n)
		}
	})
	t.Run("EntryLinksToRecord", func(t *testing.T) {
		e, err := w.db.FindEntry(w.ctx, ok.EntrySeq)
		if err != nil {
			t.Fatal(err)
		}
		if e.Entry.Record != (ledger.RecordRef{Type: applications.RecordDisbursement, ID: d.ID}) || e.RecordLink != "/disbursements/"+itoa64(d.ID) ||
			e.Entry.MakerID != w.staff.ID || e.Entry.CheckerID != w.approver.ID ||
			e.Entry.Postings[0].Account != ledger.ProjectAccount(ledger.CodeInvested, app) ||
			e.Entry.Postings[1].Account != ledger.ProgrammeAccount(ledger.CodeFundBank, w.prog.ID) {
			t.Fatalf("entry = %+v", e)
		}
		trail, _ := w.db.RecordAuditTrail(w.ctx, applications.RecordDisbursement, d.ID)
		var events []string
		for _, r := range trail {
			events = append(events, r.Event+"/"+r.Outcome)
		}
		if got := strings.Join(events, ","); got != "disbursement_recorded/success,disbursement_approve/refused,disbursement_approved/success,disbursement_approve/refused" &&
			got != "disbursement_recorded/success,disbursement_approve/refused,disbursement_approved/success" {
			t.Fatalf("trail = %s", got)
		}
	})
	t.Run("MilestoneGatesTrancheTwo", func(t *testing.T) {
		_, err := w.record(app, 2, "1000000.00", "PZ-2026-002")
		wantKind(t, err, applications.Invalid, "里程碑")
		if err := w.db.ConfirmMilestone(w.ctx, w.staff2, app, 2, "中期检查通过，专家组验收意见见附件。"); err != nil {
			t.Fatal(err)
		}
		err = w.db.ConfirmMilestone(w.ctx, w.staff2, app, 2, "again")
		wantKind(t, err, applications.Conflict, "已于")
		err = w.db.ConfirmMilestone(w.ctx, w.staff2, app, 1, "x")
		wantKind(t, err, applications.Conflict, "不以里程碑")
		d2, err := w.record(app, 2, "1000000.00", "PZ-2026-002")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.ApproveDisbursement(w.ctx, w.approver2, d2.ID, w.key()); err != nil {
			t.Fatal(err)
		}
		a, _ := w.db.FindApplication(w.ctx, app)
		if a.State != applications.StateFunded {
			t.Fatalf("state = %s", a.State)
		}
	})
	t.Run("NothingLeftToDisburse", func(t *testing.T) {
		_, err := w.record(app, 2, "0.01", "PZ-2026-003")
		wantKind(t, err, applications.Invalid, "剩余可拨付")
	})
	plan, err := w.db.DisbursementPlan(w.ctx, app)
	if err != nil || !plan.Disbursed.Equal(dec("2000000")) || len(plan.Disbursements) != 2 || !plan.FundBalance.Equal(dec("1000000")) ||
		!plan.Remaining().IsZero() {
		t.Fatalf("plan = %+v, %v", plan, err)
	}
	w.mustVerify()
}

func TestDisbursementBadInput(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("500000.00")
	app := w.contractSingle("1000000.00")
	app2 := w.contractSingle("1000000.00")

	t.Run("AboveRemainingApprovedAmount", func(t *testing.T) {
		_, err := w.record(app, 1, "1000000.01", "R-1")
		wantKind(t, err, applications.Invalid, "剩余可拨付金额")
	})
	t.Run("AboveFundBalance", func(t *testing.T) {
		_, err := w.record(app, 1, "500000.01", "R-2")
		wantKind(t, err, applications.Invalid, "专项资金余额")
	})
	t.Run("PendingCountsAgainstTheProject", func(t *testing.T) {
		big := w.contractSingle("600000.00")
		if _, err := w.record(big, 1, "400000.00", "R-3"); err != nil {
			t.Fatal(err)
		}
		_, err := w.record(big, 1, "200000.01", "R-4")
		wantKind(t, err, applications.Invalid, "待审批 400,000.00")
	})
	t.Run("FundGuardAtApproval", func(t *testing.T) {
		// Each fits the fund when recorded; together they do not.
		d1, err := w.record(app, 1, "300000.00", "R-5")
		if err != nil {
			t.Fatal(err)
		}
		d2, err := w.record(app2, 1, "300000.00", "R-6")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.ApproveDisbursement(w.ctx, w.approver, d1.ID, w.key()); err != nil {
			t.Fatal(err)
		}
		_, err = w.db.ApproveDisbursement(w.ctx, w.approver, d2.ID, w.key())
		wantKind(t, err, applications.Conflict, "专项资金余额不足")
		got, _ := w.db.FindDisbursement(w.ctx, d2.ID)
		if got.Status != applications.MoneyPending {
			t.Fatalf("refused approval changed the record: %+v", got)
		}
		if _, err := w.db.RejectDisbursement(w.ctx, w.approver, d2.ID, w.key(), "资金不足，待下批拨入后重新登记"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ReferenceUsedTwice", func(t *testing.T) {
		_, err := w.record(app2, 1, "1.00", "R-5")
		wantKind(t, err, applications.Conflict, "凭证号")
	})
	t.Run("NotContracted", func(t *testing.T) {
		if _, err := w.db.Pool.Exec(w.ctx, `UPDATE applications SET state = 'approved' WHERE id = $1`, app2); err != nil {
			t.Fatal(err)
		}
		_, err := w.record(app2, 1, "1.00", "R-7")
		wantKind(t, err, applications.Conflict, "不能拨付")
	})
	t.Run("Fields", func(t *testing.T) {
		for name, in := range map[string]applications.DisbursementInput{
			"NoKey":       {ApplicationID: app, Tranche: 1, Amount: dec("1"), ValueDate: testNow, Reference: "x"},
			"Negative":    {ApplicationID: app, Tranche: 1, Amount: dec("-1"), ValueDate: testNow, Reference: "x", IdempotencyKey: w.key()},
			"ThreeDp":     {ApplicationID: app, Tranche: 1, Amount: dec("1.005"), ValueDate: testNow, Reference: "x", IdempotencyKey: w.key()},
			"Future":      {ApplicationID: app, Tranche: 1, Amount: dec("1"), ValueDate: testNow.AddDate(0, 0, 3), Reference: "x", IdempotencyKey: w.key()},
			"BeforeSign":  {ApplicationID: app, Tranche: 1, Amount: dec("1"), ValueDate: testNow.AddDate(0, -3, 0), Reference: "x", IdempotencyKey: w.key()},
			"NoTranche":   {ApplicationID: app, Tranche: 9, Amount: dec("1"), ValueDate: testNow, Reference: "x", IdempotencyKey: w.key()},
			"NoReference": {ApplicationID: app, Tranche: 1, Amount: dec("1"), ValueDate: testNow, IdempotencyKey: w.key()},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := w.db.RecordDisbursement(w.ctx, w.staff, in)
				wantKind(t, err, applications.Invalid, "")
			})
		}
	})
	t.Run("DatabaseBacksTheCap", func(t *testing.T) {
		_, err := w.db.Pool.Exec(w.ctx, `UPDATE applications SET disbursed = approved_amount + 1 WHERE id = $1`, app)
		if _, c := pgCode(err); c != "applications_disbursed_check" {
			t.Fatalf("err = %v", err)
		}
		_, err = w.db.Pool.Exec(w.ctx, `UPDATE programme_funds SET balance = -1`)
		if _, c := pgCode(err); c != "programme_funds_balance_check" {
			t.Fatalf("err = %v", err)
		}
	})
	w.mustVerify()
}

// TestConcurrentDisbursements has 64 goroutines record and approve
// disbursements on one project and one fund at once, each retrying its
// requests: the fund (1,000,000) is smaller than the approved amount
// (1,500,000), so both guards are contended. Nothing is overspent, nothing
// posts twice, and the ledger verifies.
func TestConcurrentDisbursements(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("1000000.00")
	app := w.contractSingle("1500000.00")
	const workers = 64
	amount := dec("50000.00")
	var wg sync.WaitGroup
	var mu sync.Mutex
	approved := map[int64]int64{} // disbursement → entry
	var unexpected []error
	for i := range workers {
		wg.Go(func() {
			key, check := fmt.Sprintf("conc-record-%04d-xxxxxxxx", i), fmt.Sprintf("conc-check-%04d-xxxxxxxxx", i)
			approver := w.approver
			if i%2 == 1 {
				approver = w.approver2
			}
			in := applications.DisbursementInput{ApplicationID: app, Tranche: 1, Amount: amount, ValueDate: testNow,
				Reference: fmt.Sprintf("CONC-%04d", i), IdempotencyKey: key}
			var d applications.Disbursement
			var err error
			for range 2 { // a retried request
				d, err = w.db.RecordDisbursement(w.ctx, w.staff, in)
			}
			if err != nil {
				if applications.ErrorKind(err) != applications.Invalid {
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
				}
				return
			}
			var got []applications.Disbursement
			for range 2 {
				a, err := w.db.ApproveDisbursement(w.ctx, approver, d.ID, check)
				if err != nil {
					if applications.ErrorKind(err) != applications.Conflict {
						mu.Lock()
						unexpected = append(unexpected, err)
						mu.Unlock()
					}
					return
				}
				got = append(got, a)
			}
			if got[0].EntrySeq != got[1].EntrySeq {
				mu.Lock()
				unexpected = append(unexpected, fmt.Errorf("retry posted again: %d vs %d", got[0].EntrySeq, got[1].EntrySeq))
				mu.Unlock()
			}
			mu.Lock()
			approved[d.ID] = got[0].EntrySeq
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range unexpected {
		t.Error(err)
	}
	if len(approved) != 20 {
		t.Errorf("approved %d disbursements, want 20 (1,000,000 / 50,000)", len(approved))
	}
	var records, pending, entries int
	var disbursed, balance decimal.Decimal
	q := w.db.Pool.QueryRow(w.ctx, `SELECT (SELECT count(*) FROM disbursements), (SELECT count(*) FROM disbursements WHERE status = 'pending'),
		(SELECT count(*) FROM ledger_entries WHERE kind = 'disbursement'), (SELECT disbursed FROM applications WHERE id = $1),
		(SELECT balance FROM programme_funds WHERE programme_id = $2)`, app, w.prog.ID)
	if err := q.Scan(&records, &pending, &entries, &disbursed, &balance); err != nil {
		t.Fatal(err)
	}
	// Recording stops at the approved amount (30 × 50,000); approval stops
	// at the fund (20 × 50,000).
	if records != 30 || entries != 20 || pending != 10 || !disbursed.Equal(dec("1000000")) || !balance.IsZero() {
		t.Fatalf("records %d pending %d entries %d disbursed %s balance %s", records, pending, entries, disbursed, balance)
	}
	v := w.mustVerify()
	if v.Entries != 21 {
		t.Fatalf("verified %d entries", v.Entries)
	}
	_ = audit.Success
}

// TestDisbursementPlanReadsEveryPart: the plan's one batch (queuePlan)
// gives each tranche its own paid and pending sums and its milestone
// confirmation, the programme's fund balance and the records newest
// first; a project without a signed agreement has the fund balance only,
// and an unknown project is NotFound.
func TestDisbursementPlanReadsEveryPart(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("3000000.00")
	app := w.contract("2000000.00")
	first := w.disburse(app, 1, "1000000.00", "PZ-1")
	if err := w.db.ConfirmMilestone(w.ctx, w.staff2, app, 2, "中期检查通过"); err != nil {
		t.Fatal(err)
	}
	pending, err := w.record(app, 2, "600000.00", "PZ-2")
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.db.DisbursementPlan(w.ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if p.AgreementID == 0 || !p.AgreementAmount.Equal(dec("2000000")) || len(p.Tranches) != 2 ||
		!p.Disbursed.Equal(dec("1000000")) || !p.Pending.Equal(dec("600000")) || !p.FundBalance.Equal(dec("2000000")) {
		t.Fatalf("plan = %+v", p)
	}
	one, two := p.Tranches[0], p.Tranches[1]
	if !one.Disbursed.Equal(dec("1000000")) || !one.Pending.IsZero() || one.Confirmation != nil {
		t.Fatalf("tranche 1 = %+v", one)
	}
	if !two.Disbursed.IsZero() || !two.Pending.Equal(dec("600000")) || two.Confirmation == nil ||
		two.Confirmation.Note != "中期检查通过" || two.Confirmation.ConfirmedBy != "staff2" {
		t.Fatalf("tranche 2 = %+v (confirmation %+v)", two, two.Confirmation)
	}
	if p.Acceptance != nil || one.Accepted || two.Accepted {
		t.Fatalf("acceptance %+v before any was recorded", p.Acceptance)
	}
	if len(p.Disbursements) != 2 || p.Disbursements[0].ID != pending.ID || p.Disbursements[1].ID != first.ID {
		t.Fatalf("records = %+v", p.Disbursements)
	}

	draft, err := w.db.CreateApplication(w.ctx, w.staff, applications.Application{ProgrammeID: w.prog.ID,
		EnterpriseID: w.entID, Title: "未签约项目", Sector: applications.SectorNewEnergyMaterials,
		RequestedAmount: dec("1000000.00"), LeadName: "刘负责", LeadMobile: "13800001111",
		Content: applications.Content{Summary: "概述", Technology: "技术", Team: "团队", Market: "市场",
			Budget:     []applications.BudgetLine{{Item: "研发", Amount: dec("1000000.00")}},
			Milestones: []applications.Milestone{{Date: "2025-06-30", Description: "中试"}}}})
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := w.db.DisbursementPlan(w.ctx, draft.ID)
	if err != nil || unsigned.AgreementID != 0 || len(unsigned.Tranches) != 0 || len(unsigned.Disbursements) != 0 ||
		!unsigned.FundBalance.Equal(dec("2000000")) || unsigned.App.ID != draft.ID {
		t.Fatalf("unsigned plan = %+v, %v", unsigned, err)
	}
	_, err = w.db.DisbursementPlan(w.ctx, draft.ID+1000)
	wantKind(t, err, applications.NotFound, "")
}
