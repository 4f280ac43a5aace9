package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres"
)

// convertAndExitA drives example A's funded project through its financing
// round, conversion and three exit tranches by the store's maker–checker
// paths (as TestEquityExampleA does through the pages), ending exited.
func (e *env) convertAndExitA(id int64) {
	e.t.Helper()
	ctx := context.Background()
	staffA := audit.Actor{ID: e.users[applications.RoleStaff].ID, Name: "经办", Role: string(applications.RoleStaff)}
	apprA := audit.Actor{ID: e.users[applications.RoleApprover].ID, Name: "审批", Role: string(applications.RoleApprover)}
	ev, err := e.db.ReportEvent(ctx, staffA, applications.TriggerEvent{ApplicationID: id, Kind: applications.EventFinancing,
		EventDate: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), Investors: "某创投基金", Unit: "registered_capital",
		NewMoney: decimal.RequireFromString("20000000"), PreMoneyValuation: decimal.RequireFromString("80000000"),
		PreMoneyUnits: decimal.RequireFromString("1000000")}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.VerifyEvent(ctx, staffA, ev, true, ""); err != nil {
		e.t.Fatal(err)
	}
	conv, err := e.db.PrepareConversion(ctx, staffA, id, "", key())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.ApproveConversion(ctx, apprA, conv); err != nil {
		e.t.Fatal(err)
	}
	e.clock.mu.Lock()
	e.clock.t = time.Date(2029, 2, 1, 2, 0, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	for i, in := range []postgres.ExitInput{
		{Date: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), Units: "12500.00", MarketValue: "2900000.00", BuyerKind: "new_investor"},
		{Date: time.Date(2028, 1, 15, 0, 0, 0, 0, time.UTC), Units: "12500.00", BuyerKind: "founders"},
		{Date: time.Date(2029, 1, 15, 0, 0, 0, 0, time.UTC), Rest: true, MarketValue: "900000.00", BuyerKind: "founders"},
	} {
		x, err := e.db.PrepareExit(ctx, staffA, id, in, key())
		if err != nil {
			e.t.Fatalf("exit %d: %v", i+1, err)
		}
		if err := e.db.ApproveExit(ctx, apprA, x); err != nil {
			e.t.Fatalf("approve exit %d: %v", i+1, err)
		}
	}
}

func cell(t *testing.T, r response, sel string) string {
	t.Helper()
	return strings.TrimSpace(r.doc(t).Find(sel).First().Text())
}

func TestDashboardAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range applications.AllRoles() {
		want := http.StatusForbidden
		if role == applications.RoleStaff || role == applications.RoleApprover || role == applications.RoleAuditor {
			want = http.StatusOK
		}
		t.Run(string(role), func(t *testing.T) {
			c := e.loggedIn(role)
			if r := c.get("/dashboard"); r.StatusCode != want {
				t.Fatalf("GET /dashboard as %s: %d, want %d", role, r.StatusCode, want)
			}
			if r := c.get("/dashboard/export/budget?format=csv"); r.StatusCode != want {
				t.Fatalf("export as %s: %d, want %d", role, r.StatusCode, want)
			}
			nav := c.get("/").doc(t).Find(`nav a[href="/dashboard"]`).Length()
			if (nav > 0) != (want == http.StatusOK) {
				t.Fatalf("看板 in the menu of %s: %d", role, nav)
			}
		})
	}
	t.Run("SignedOutRedirectedToLogin", func(t *testing.T) {
		if r := e.client().get("/dashboard"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}

func TestDashboardFiguresExampleA(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(termsA)
	a, _ := e.db.FindApplication(ctx, id)
	prog, _ := e.db.FindProgramme(ctx, a.ProgrammeID)
	row := `#budget-table tr[data-programme="` + strconv.FormatInt(prog.ID, 10) + `"] `
	aud := e.loggedIn(applications.RoleAuditor)

	r := aud.get("/dashboard")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	t.Run("BudgetCommittedAndDisbursed", func(t *testing.T) {
		if got := cell(t, r, row+".committed"); got != "3,000,000.00" {
			t.Errorf("committed %q", got)
		}
		if got := cell(t, r, row+".disbursed"); got != "3,000,000.00" {
			t.Errorf("disbursed %q", got)
		}
		want := prog.TotalBudget.Sub(decimal.RequireFromString("3000000"))
		if got := cell(t, r, row+".remaining"); strings.ReplaceAll(got, ",", "") != want.StringFixed(2) {
			t.Errorf("remaining %q, want %s", got, want.StringFixed(2))
		}
		if got := cell(t, r, "#recycling-disbursed"); got != "3,000,000.00" {
			t.Errorf("recycling disbursed %q", got)
		}
	})
	t.Run("DisbursedEqualsTrialBalance1221Debit", func(t *testing.T) {
		tb := aud.get("/ledger/trial-balance").doc(t)
		got := strings.TrimSpace(tb.Find(`#trial-table tr[data-account="1221/app/` + strconv.FormatInt(id, 10) + `"] td`).Eq(3).Text())
		if got != cell(t, r, "#recycling-disbursed") {
			t.Errorf("trial balance 1221 debit %q, dashboard %q", got, cell(t, r, "#recycling-disbursed"))
		}
	})
	t.Run("PipelineAndSectors", func(t *testing.T) {
		if got := cell(t, r, `#pipeline-table tr[data-state="funded"] .count`); got != "1" {
			t.Errorf("funded count %q", got)
		}
		if got := cell(t, r, `#sectors-table tr[data-sector="`+string(a.Sector)+`"] .approved`); got != "3,000,000.00" {
			t.Errorf("sector approved %q", got)
		}
	})
	t.Run("ChartsAreAccessibleSVG", func(t *testing.T) {
		d := r.doc(t)
		if n := d.Find("svg.chart").Length(); n != 6 {
			t.Fatalf("%d charts", n)
		}
		if d.Find("svg.chart title").Length() < 6 || d.Find("svg.chart desc").Length() != 6 {
			t.Fatal("charts lack title/desc")
		}
		if d.Find("#chart-budget rect.bar").Length() != 4 || d.Find("#chart-pipeline rect.bar").Length() != 1 {
			t.Fatalf("bars: budget %d, pipeline %d", d.Find("#chart-budget rect.bar").Length(), d.Find("#chart-pipeline rect.bar").Length())
		}
		if strings.Contains(r.body, "style=") || strings.Contains(r.body, "<script>") {
			t.Fatal("inline style or script would need 'unsafe-inline'")
		}
	})
	t.Run("CachedWhileNothingChanges", func(t *testing.T) {
		if h := aud.get("/dashboard").Header.Get("X-Dashboard-Cache"); h != "hit" {
			t.Fatalf("second request: %q", h)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		other := aud.get("/dashboard?year=" + strconv.Itoa(prog.Year+1))
		if other.doc(t).Find("#budget-table tbody tr").Length() != 0 || cell(t, other, "#recycling-disbursed") != "0.00" {
			t.Fatal("another year shows this programme's figures")
		}
		same := aud.get("/dashboard?year=" + strconv.Itoa(prog.Year) + "&programme=" + strconv.FormatInt(prog.ID, 10))
		if cell(t, same, row+".disbursed") != "3,000,000.00" {
			t.Fatal("filtered dashboard lost the programme")
		}
		if v, _ := same.doc(t).Find(`#f-programme option[selected]`).Attr("value"); v != strconv.FormatInt(prog.ID, 10) {
			t.Fatalf("selected programme %q", v)
		}
		if href, _ := same.doc(t).Find("#export-budget-csv").Attr("href"); !strings.Contains(href, "programme="+strconv.FormatInt(prog.ID, 10)) {
			t.Fatalf("export link loses the filter: %s", href)
		}
		if r := aud.get("/dashboard?year=abc"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad year: %d", r.StatusCode)
		}
	})
	t.Run("Exports", func(t *testing.T) {
		for _, sec := range []string{"budget", "pipeline", "sectors", "watchlist", "recycling", "returns"} {
			csv := aud.get("/dashboard/export/" + sec + "?format=csv")
			if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.body, "\ufeff") || !strings.Contains(csv.Header.Get("Content-Type"), "csv") {
				t.Fatalf("%s csv: %d %q", sec, csv.StatusCode, csv.Header.Get("Content-Type"))
			}
			x := aud.get("/dashboard/export/" + sec + "?format=xlsx")
			if x.StatusCode != http.StatusOK || !strings.HasPrefix(x.body, "PK") {
				t.Fatalf("%s xlsx: %d", sec, x.StatusCode)
			}
		}
		csv := aud.get("/dashboard/export/budget?format=csv").body
		if !strings.Contains(csv, prog.Name) || !strings.Contains(csv, "3000000.00") {
			t.Fatalf("budget csv:\n%s", csv)
		}
		if r := aud.get("/dashboard/export/nothing?format=csv"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown section: %d", r.StatusCode)
		}
		if n := count(e.auditEvents(), "export"); n < 12 {
			t.Fatalf("%d exports audited", n)
		}
	})

	// A write (conversion and exits) moves the version: fresh figures.
	before := aud.get("/dashboard")
	if before.Header.Get("X-Dashboard-Cache") != "hit" && before.Header.Get("X-Dashboard-Cache") != "miss" {
		t.Fatal("no cache header")
	}
	e.convertAndExitA(id)
	aud = e.loggedIn(applications.RoleAuditor) // the clock moved: sign in again
	after := aud.get("/dashboard")
	t.Run("FreshAfterWrite", func(t *testing.T) {
		if h := after.Header.Get("X-Dashboard-Cache"); h != "miss" {
			t.Fatalf("after a write: %q", h)
		}
		want := map[string]string{"#recycling-disbursed": "3,000,000.00", "#recycling-converted": "3,000,000.00",
			"#recycling-cost": "3,000,000.00", "#recycling-proceeds": "3,095,123.29", "#portfolio-moic": "1.031708",
			`#pipeline-table tr[data-state="exited"] .count`: "1"}
		for sel, v := range want {
			if got := cell(t, after, sel); got != v {
				t.Errorf("%s = %q, want %s", sel, got, v)
			}
		}
		if after.doc(t).Find(`#pipeline-table tr[data-state="funded"]`).Length() != 0 {
			t.Error("pipeline still counts the project as funded")
		}
	})
	t.Run("RealisedReturnsOfExampleA", func(t *testing.T) {
		ret := `#returns-table tr[data-app="` + strconv.FormatInt(id, 10) + `"] `
		for sel, v := range map[string]string{".moic": "1.031708", ".xirr": "0.911826%", ".proceeds": "3,095,123.29", ".cost": "3,000,000.00"} {
			if got := cell(t, after, ret+sel); got != v {
				t.Errorf("%s = %q, want %s", sel, got, v)
			}
		}
		if after.doc(t).Find("#chart-returns rect.bar").Length() != 2 {
			t.Error("returns chart lacks the project's bars")
		}
	})
}

// figuresIgnore may name only tables the dashboard's figures never read:
// a commit to one keeps the figures (TestDashboardFiguresIgnoreUnrelatedCommits).
// The figures are computed on a connection of their own and PostgreSQL's
// table statistics say which tables the computation scanned. Two ignored
// tables are read, for no figure: audit_log for the version (the head of
// the log, for the cache without a listener) and users for the display
// names that the shared report and exit loaders join (a user row is never
// deleted, so the join never drops a row).
func TestDashboardFiguresReadNoIgnoredTable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.convertAndExitA(e.fundedA(termsA))
	db, scans := e.oneBackend()
	before := scans()
	for _, f := range []postgres.DashboardFilter{{}, {Year: 2026}} {
		if _, err := db.Dashboard(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	after := scans()
	var read []string
	for name, n := range after {
		if n > before[name] {
			read = append(read, name)
		}
	}
	if !slices.Contains(read, "applications") || !slices.Contains(read, "ledger_entries") {
		t.Fatalf("the statistics did not see the figures' reads (%v): the test cannot tell", read)
	}
	for _, name := range figuresIgnore {
		if name != "audit_log" && name != "users" && slices.Contains(read, name) {
			t.Errorf("the dashboard's figures read %s, which figuresIgnore names (all read: %v)", name, read)
		}
	}
}
