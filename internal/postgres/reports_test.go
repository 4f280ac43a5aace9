package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/postgres/pgtest"
)

func isoDay(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// reportWorld is a funded project (funded 2026-01-15) with one enterprise
// user and a staff member; the clock is settable.
type reportWorld struct {
	t      *testing.T
	ctx    context.Context
	db     *DB
	now    time.Time
	appID  int64
	entID  int64
	user   audit.Actor
	staff  audit.Actor
	progID int64
}

func newReportWorld(t *testing.T) *reportWorld {
	t.Helper()
	ctx := context.Background()
	w := &reportWorld{t: t, ctx: ctx, db: New(pgtest.NewDB(t)), now: time.Date(2026, 7, 10, 2, 0, 0, 0, time.UTC)}
	w.db.Now = func() time.Time { return w.now }
	sys := audit.Actor{Name: "test"}
	p := applications.NewProgramme(2026, w.now)
	p.Name, p.TotalBudget = "2026年度先投后股科技项目", decimal.RequireFromString("50000000.00")
	p, err := w.db.CreateProgramme(ctx, sys, p)
	if err != nil {
		t.Fatal(err)
	}
	w.progID = p.ID
	ent, err := w.db.CreateEnterprise(ctx, sys, "测试科技有限公司", applications.ExampleUSCC(3))
	if err != nil {
		t.Fatal(err)
	}
	w.entID = ent.ID
	u, err := w.db.CreateUser(ctx, sys, NewUser{Username: "ent.user", DisplayName: "张三", Role: applications.RoleEnterprise,
		PasswordHash: "x", EnterpriseID: ent.ID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.db.CreateUser(ctx, sys, NewUser{Username: "staff.user", DisplayName: "王经办", Role: applications.RoleStaff, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	w.user = audit.Actor{ID: u.ID, Name: u.DisplayName, Role: "enterprise"}
	w.staff = audit.Actor{ID: s.ID, Name: s.DisplayName, Role: "staff"}
	w.appID = w.project("funded", time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC))
	return w
}

// project inserts an application in a state, with its funded transition.
func (w *reportWorld) project(state string, funded time.Time) int64 {
	w.t.Helper()
	var id int64
	err := w.db.Pool.QueryRow(w.ctx, `
		INSERT INTO applications (programme_id, enterprise_id, title, sector, requested_amount, content, state,
			state_changed_at, created_by, created_at, updated_at)
		VALUES ($1, $2, '高性能储能材料中试', 'new_energy_materials', 1000000, '{}', $3, $4, $5, $4, $4)
		RETURNING id`, w.progID, w.entID, state, funded, w.user.ID).Scan(&id)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.Pool.Exec(w.ctx, `INSERT INTO application_transitions (application_id, from_state, to_state, actor_name, actor_role, at)
		VALUES ($1, 'contracted', 'funded', 'test', 'approver', $2)`, id, funded); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *reportWorld) ensure() ReportSweep {
	w.t.Helper()
	s, err := w.db.EnsureDueReports(w.ctx, day.Today(w.now))
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func TestEnsureDueReports(t *testing.T) {
	t.Parallel()
	w := newReportWorld(t)
	ended := w.project("exited", time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)) // owes nothing any more

	if s := w.ensure(); s.Created != 1 || s.Reminded != 0 {
		t.Fatalf("first sweep: %+v, want one report", s)
	}
	if s := w.ensure(); s.Created != 0 {
		t.Fatalf("second sweep created %d more", s.Created)
	}
	rs, err := w.db.ListReports(w.ctx, ReportFilter{EnterpriseID: w.entID})
	if err != nil || len(rs) != 1 {
		t.Fatalf("reports: %v %v", rs, err)
	}
	r := rs[0]
	if r.ApplicationID != w.appID || r.PeriodLabel() != "2026年1月15日 至 2026年6月30日" || r.DueOn.Format(time.DateOnly) != "2026-07-30" ||
		r.Status != applications.ReportDue || r.Figures != nil {
		t.Fatalf("report = %+v", r)
	}
	var notices int
	_ = w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM notifications WHERE user_id = $1 AND link = $2`, w.user.ID, reportLink(r.ID)).Scan(&notices)
	if notices != 1 {
		t.Fatalf("%d notices to the enterprise, want 1", notices)
	}

	t.Run("OverdueAfterTheDueDate", func(t *testing.T) {
		if od, _ := w.db.ListOverdueReports(w.ctx, isoDay("2026-07-30")); len(od) != 0 {
			t.Fatalf("overdue on the due date itself: %v", od)
		}
		w.now = time.Date(2026, 7, 31, 2, 0, 0, 0, time.UTC)
		od, err := w.db.ListOverdueReports(w.ctx, day.Today(w.now))
		if err != nil || len(od) != 1 || od[0].ID != r.ID || !od[0].Overdue(day.Today(w.now)) {
			t.Fatalf("overdue: %v %v", od, err)
		}
		if n, _ := w.db.CountOverdueReports(w.ctx, day.Today(w.now)); n != 1 {
			t.Fatalf("count = %d", n)
		}
		if s := w.ensure(); s.Reminded != 1 {
			t.Fatalf("sweep after the due date: %+v, want one reminder", s)
		}
		if s := w.ensure(); s.Reminded != 0 {
			t.Fatal("reminded twice")
		}
	})

	t.Run("SubmittedIsNoLongerOverdue", func(t *testing.T) {
		in := applications.ReportInput{Figures: applications.ReportFigures{Revenue: decimal.RequireFromString("1200000.50"), RDSpend: decimal.RequireFromString("300000"),
			Headcount: 42, IPCount: 3}, Narrative: "中试线建成。", Version: r.Version}
		got, err := w.db.SubmitReport(w.ctx, w.user, r.ID, in, nil)
		if err != nil || got.Status != applications.ReportSubmitted || got.Figures == nil || got.Figures.Headcount != 42 || got.SubmittedBy != "张三" {
			t.Fatalf("submit: %+v %v", got, err)
		}
		if _, err := w.db.SubmitReport(w.ctx, w.user, r.ID, in, nil); applications.ErrorKind(err) != applications.Conflict {
			t.Fatalf("second submit: %v, want Conflict", err)
		}
		if od, _ := w.db.ListOverdueReports(w.ctx, day.Today(w.now)); len(od) != 0 {
			t.Fatalf("still overdue: %v", od)
		}
		if _, err := w.db.ReviewReport(w.ctx, w.staff, r.ID, false, "  ", 0); applications.ErrorKind(err) != applications.Invalid {
			t.Fatalf("return without comment: %v", err)
		}
		back, err := w.db.ReviewReport(w.ctx, w.staff, r.ID, false, "请补充研发费用明细。", got.Version)
		if err != nil || back.Status != applications.ReportReturned || back.ReviewedBy != "王经办" {
			t.Fatalf("return: %+v %v", back, err)
		}
		if od, _ := w.db.ListOverdueReports(w.ctx, day.Today(w.now)); len(od) != 1 {
			t.Fatal("a returned report past its due date is owed again")
		}
	})

	t.Run("ExitedProjectOwesNothing", func(t *testing.T) {
		if rs, _ := w.db.ListReports(w.ctx, ReportFilter{ApplicationID: ended}); len(rs) != 0 {
			t.Fatalf("exited project got reports: %v", rs)
		}
	})

	t.Run("CadenceChange", func(t *testing.T) {
		if err := w.db.SetReportingDuty(w.ctx, w.staff, w.progID, 4, 30); applications.ErrorKind(err) != applications.Invalid {
			t.Fatalf("cadence 4: %v", err)
		}
		if err := w.db.SetReportingDuty(w.ctx, w.staff, w.progID, 3, 15); err != nil {
			t.Fatal(err)
		}
		w.now = time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC)
		if s := w.ensure(); s.Created != 1 {
			t.Fatalf("quarterly sweep: %+v", s)
		}
		rs, _ := w.db.ListReports(w.ctx, ReportFilter{ApplicationID: w.appID, Status: applications.ReportDue})
		if len(rs) != 1 || rs[0].PeriodLabel() != "2026年7月1日 至 2026年9月30日" || rs[0].DueOn.Format(time.DateOnly) != "2026-10-15" {
			t.Fatalf("quarterly report: %+v", rs)
		}
	})
}
