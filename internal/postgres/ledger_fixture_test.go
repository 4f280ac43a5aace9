package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres/pgtest"
)

// moneyWorld is a database with a programme, an enterprise and one user
// per money role, for the ledger, appropriation and disbursement tests.
type moneyWorld struct {
	t         *testing.T
	db        *DB
	ctx       context.Context
	staff     audit.Actor
	staff2    audit.Actor
	approver  audit.Actor
	approver2 audit.Actor
	admin     audit.Actor
	prog      applications.Programme
	entID     int64
	keys      int
}

var testNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func newMoneyWorld(t *testing.T) *moneyWorld {
	t.Helper()
	db := New(pgtest.NewDB(t))
	db.Now = func() time.Time { return testNow }
	w := &moneyWorld{t: t, db: db, ctx: testContext(t)}
	mk := func(username string, role applications.Role) audit.Actor {
		u, err := db.CreateUser(w.ctx, audit.Actor{Name: "test"}, NewUser{Username: username, DisplayName: username,
			Role: role, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return audit.Actor{ID: u.ID, Name: username, Role: string(role)}
	}
	w.staff, w.staff2 = mk("staff", applications.RoleStaff), mk("staff2", applications.RoleStaff)
	w.approver, w.approver2 = mk("approver", applications.RoleApprover), mk("approver2", applications.RoleApprover)
	w.admin = mk("admin", applications.RoleAdmin)
	p := applications.NewProgramme(2026, testNow)
	p.Name, p.Status = "2026年度先投后股", applications.ProgrammeOpen
	p.TotalBudget = decimal.RequireFromString("50000000.00")
	var err error
	if w.prog, err = db.CreateProgramme(w.ctx, audit.Actor{Name: "test"}, p); err != nil {
		t.Fatal(err)
	}
	ent, err := db.CreateEnterprise(w.ctx, audit.Actor{Name: "test"}, "测试科技有限公司", applications.ExampleUSCC(1))
	if err != nil {
		t.Fatal(err)
	}
	w.entID = ent.ID
	return w
}

func (w *moneyWorld) key() string {
	w.keys++
	return "test-key-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + itoa64(int64(w.keys))
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// contract makes a contracted project with the default two-tranche terms
// (50% at signing, 50% after a milestone) for approved yuan.
func (w *moneyWorld) contract(approved string) int64 {
	w.t.Helper()
	id, err := w.db.SyntheticContract(w.ctx, SyntheticContractInput{ProgrammeID: w.prog.ID, EnterpriseID: w.entID,
		CreatedBy: w.staff.ID, Title: "储能材料中试", Approved: dec(approved), SignedOn: testNow.AddDate(0, -1, 0)})
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// contractSingle makes a contracted project whose whole amount is one
// ungated tranche.
func (w *moneyWorld) contractSingle(approved string) int64 {
	w.t.Helper()
	terms, err := applications.ParseTerms(applications.DefaultTermsTemplate())
	if err != nil {
		w.t.Fatal(err)
	}
	terms.Tranches = []applications.TrancheTerm{{Share: "1", MonthsAfterSigning: 0}}
	id, err := w.db.SyntheticContract(w.ctx, SyntheticContractInput{ProgrammeID: w.prog.ID, EnterpriseID: w.entID,
		CreatedBy: w.staff.ID, Title: "单笔拨付项目", Approved: dec(approved), Terms: &terms, SignedOn: testNow.AddDate(0, -1, 0)})
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// fund records and approves an appropriation into the programme's fund.
func (w *moneyWorld) fund(amount string) Appropriation {
	w.t.Helper()
	a, err := w.db.RecordAppropriation(w.ctx, w.staff, AppropriationInput{ProgrammeID: w.prog.ID, Amount: dec(amount),
		ValueDate: testNow.AddDate(0, 0, -20), Reference: "内财教〔2026〕" + itoa64(int64(w.keys+1)) + "号", IdempotencyKey: w.key()})
	if err != nil {
		w.t.Fatal(err)
	}
	if a, err = w.db.ApproveAppropriation(w.ctx, w.approver, a.ID, w.key()); err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *moneyWorld) record(app int64, tranche int, amount, ref string) (applications.Disbursement, error) {
	return w.db.RecordDisbursement(w.ctx, w.staff, applications.DisbursementInput{ApplicationID: app, Tranche: tranche,
		Amount: dec(amount), ValueDate: testNow.AddDate(0, 0, -1), Reference: ref, IdempotencyKey: w.key()})
}

func wantKind(t *testing.T, err error, kind applications.Kind, fragment string) {
	t.Helper()
	if applications.ErrorKind(err) != kind {
		t.Fatalf("err = %v, want kind %s", err, kind)
	}
	if fragment != "" && !strings.Contains(applications.ErrorMessage(err), fragment) {
		t.Fatalf("message %q does not mention %q", applications.ErrorMessage(err), fragment)
	}
}

// mustVerify fails the test unless the ledger verifies.
func (w *moneyWorld) mustVerify() LedgerVerification {
	w.t.Helper()
	v, err := w.db.VerifyLedger(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if !v.OK {
		w.t.Fatalf("ledger verify: %s (first bad %d)", v.Problem, v.FirstBad)
	}
	return v
}
