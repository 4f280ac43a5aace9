package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"ite/internal/applications"
	"ite/internal/conversion"
	"ite/internal/postgres"
)

// TestIndicatorsEqualSeededSums seeds two projects of two programmes by the
// store's own paths (disbursements, a verified and an unverified financing
// round, a conversion and three exits, progress reports accepted and not, a
// write-off), computes every indicator in Go from what it seeded, and
// compares them to the fen for several programme × year filters, then
// checks the page and its CSV/XLSX exports.
func TestIndicatorsEqualSeededSums(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // today 2026-11-25
	ctx, who := context.Background(), e.people()
	d := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	dec := decimal.RequireFromString

	// What the test seeds, as it will sum it.
	type money struct {
		prog, app int64
		on        time.Time
		amount    decimal.Decimal
	}
	var disbursed, rounds, proceeds, losses []money
	type report struct {
		prog, app int64
		end       time.Time
		accepted  bool
		f         applications.ReportFigures
	}
	var reports []report
	converted := map[int64]time.Time{}

	// Project B (programme PB): one tranche of 1,000,000.01 paid, reports, a
	// round reported but never verified, then written off.
	pB := e.openProgramme()
	idB := e.contractedProject(pB, "项目乙", "2000000.02", termsA, "财预〔2024〕2号")
	e.disbursed(idB, 1, "1000000.01", d(2024, 3, 1), "BOC-B-1")
	disbursed = append(disbursed, money{pB.ID, idB, d(2024, 3, 1), dec("1000000.01")})
	if _, err := e.db.ReportEvent(ctx, who.Staff, applications.TriggerEvent{ApplicationID: idB, Kind: applications.EventFinancing,
		EventDate: d(2025, 5, 1), Investors: "未核实的基金", Unit: "registered_capital", NewMoney: dec("7000000"),
		PreMoneyValuation: dec("30000000"), PreMoneyUnits: dec("1000000")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.EnsureDueReports(ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	reps, err := e.db.ListReports(ctx, postgres.ReportFilter{ApplicationID: idB})
	if err != nil || len(reps) < 4 {
		t.Fatalf("reports of B: %d %v", len(reps), err)
	}
	byEnd := map[string]applications.ProgressReport{}
	for _, r := range reps {
		byEnd[r.PeriodEnd.Format(time.DateOnly)] = r
	}
	for _, s := range []struct {
		end    string
		accept bool
		f      applications.ReportFigures
	}{
		{"2024-06-30", true, applications.ReportFigures{Revenue: dec("100.10"), RDSpend: dec("50.00"), Headcount: 30, IPCount: 1, RDStaff: 10, Patents: 1, NewFinancing: dec("0")}},
		{"2024-12-31", true, applications.ReportFigures{Revenue: dec("2000000.55"), RDSpend: dec("300000.00"), Headcount: 40, IPCount: 3, RDStaff: 12, Patents: 2, Copyrights: 1, NewFinancing: dec("0")}},
		{"2025-06-30", true, applications.ReportFigures{Revenue: dec("3100000.33"), RDSpend: dec("410000.07"), Headcount: 45, IPCount: 5, RDStaff: 15, Patents: 3, Copyrights: 2, NewFinancing: dec("5000000.00")}},
		{"2025-12-31", false, applications.ReportFigures{Revenue: dec("9999999.99"), RDSpend: dec("1"), Headcount: 99, RDStaff: 1, Patents: 9, NewFinancing: dec("1")}},
	} {
		r, ok := byEnd[s.end]
		if !ok {
			t.Fatalf("no report ending %s: %v", s.end, byEnd)
		}
		if _, err := e.db.SubmitReport(ctx, who.Enterprise, r.ID, applications.ReportInput{Figures: s.f, Narrative: "进展"}, nil); err != nil {
			t.Fatal(err)
		}
		if s.accept {
			if _, err := e.db.ReviewReport(ctx, who.Staff, r.ID, true, "", 0); err != nil {
				t.Fatal(err)
			}
		}
		reports = append(reports, report{pB.ID, idB, r.PeriodEnd, s.accept, s.f})
	}
	staffC := e.loggedIn(applications.RoleStaff)
	pathB := "/applications/" + strconv.FormatInt(idB, 10)
	// Programme B tolerates the loss of all it disbursed, so the write-off
	// below needs no committee minutes (the tolerance gate has its own test).
	if _, err := e.db.Pool.Exec(ctx, `UPDATE programmes SET loss_tolerance = 100 WHERE id = $1`, pB.ID); err != nil {
		t.Fatal(err)
	}
	staffC.get(pathB + "/equity")
	if r := staffC.postMultipart(pathB+"/endings", url.Values{"idempotency_key": {key()}, "kind": {postgres.EndingWriteOff},
		"reason": {"尽职免责：市场变化导致项目失败"}, "value_date": {"2026-06-30"}}, "evidence", "尽职免责.pdf", pdf); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("write-off: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	ends, _ := e.db.ListEndings(ctx, idB)
	if err := e.db.ApproveEnding(ctx, who.Approver, ends[0].ID); err != nil {
		t.Fatal(err)
	}
	losses = append(losses, money{pB.ID, idB, d(2026, 6, 30), dec("1000000.01")}) // the whole 1221 balance

	// Project A (programme PA): example A, a verified round of 20,000,000,
	// converted, exited in three tranches.
	idA := e.fundedA(termsA)
	a, _ := e.db.FindApplication(ctx, idA)
	pA := a.ProgrammeID
	disbursed = append(disbursed, money{pA, idA, d(2024, 1, 15), dec("1500000")}, money{pA, idA, d(2025, 1, 15), dec("1500000")})
	e.convertAndExitA(idA) // the clock is now 2029-02-01
	rounds = append(rounds, money{pA, idA, d(2026, 1, 15), dec("20000000")})
	convs, _ := e.db.ListConversions(ctx, idA)
	for _, c := range convs {
		if c.Status == applications.ConversionApproved {
			converted[idA] = c.ConversionDate
		}
	}
	exits, _ := e.db.ListExits(ctx, idA)
	for _, x := range exits {
		if x.Status != applications.ExitApproved {
			continue
		}
		proceeds = append(proceeds, money{pA, idA, x.Date, x.Proceeds})
		if x.Gain.IsNegative() {
			losses = append(losses, money{pA, idA, x.Date, x.Gain.Neg()})
		}
	}
	if len(converted) != 1 || len(proceeds) != 3 {
		t.Fatalf("seeding: conversions %v, exits %d", converted, len(proceeds))
	}

	// The expected figures of a filter, from the seeded inputs only.
	expect := func(f postgres.IndicatorFilter) postgres.Indicators {
		in := func(prog int64, on time.Time) bool {
			return (f.ProgrammeID == 0 || f.ProgrammeID == prog) && (f.Year == 0 || on.Year() == f.Year)
		}
		toEnd := func(prog int64, on time.Time) bool {
			return (f.ProgrammeID == 0 || f.ProgrammeID == prog) && (f.Year == 0 || on.Year() <= f.Year)
		}
		sum := func(ms []money, keep func(int64, time.Time) bool) decimal.Decimal {
			s := decimal.Zero
			for _, m := range ms {
				if keep(m.prog, m.on) {
					s = s.Add(m.amount)
				}
			}
			return s
		}
		var x postgres.Indicators
		x.Disbursed = sum(disbursed, in)
		x.SocialCapital = sum(rounds, in)
		x.Recycled = sum(proceeds, in)
		x.LossDebits = sum(losses, toEnd)
		x.InvestedDebit = sum(disbursed, toEnd)
		funded := map[int64]bool{}
		for _, m := range disbursed {
			if toEnd(m.prog, m.on) {
				funded[m.app] = true
			}
		}
		x.Funded = len(funded)
		for app, on := range converted {
			if funded[app] && (f.Year == 0 || on.Year() <= f.Year) {
				x.Converted++
			}
		}
		latest := map[int64]report{}
		for _, r := range reports {
			if r.accepted && in(r.prog, r.end) && r.end.After(latest[r.app].end) {
				latest[r.app] = r
			}
		}
		x.Totals = applications.ReportFigures{Revenue: decimal.Zero, RDSpend: decimal.Zero, NewFinancing: decimal.Zero}
		for _, r := range latest {
			x.Totals.Revenue = x.Totals.Revenue.Add(r.f.Revenue)
			x.Totals.RDSpend = x.Totals.RDSpend.Add(r.f.RDSpend)
			x.Totals.NewFinancing = x.Totals.NewFinancing.Add(r.f.NewFinancing)
			x.Totals.Headcount += r.f.Headcount
			x.Totals.RDStaff += r.f.RDStaff
			x.Totals.Patents += r.f.Patents
			x.Totals.Copyrights += r.f.Copyrights
		}
		q := func(a, b decimal.Decimal) string {
			if b.IsZero() {
				return ""
			}
			v, _ := conversion.Quo(a, b, 4)
			return v.StringFixed(4)
		}
		x.Multiple = q(x.SocialCapital, x.Disbursed)
		x.ConversionRate = q(decimal.NewFromInt(int64(x.Converted)), decimal.NewFromInt(int64(x.Funded)))
		x.RecycledShare = q(x.Recycled, x.Disbursed)
		x.LossRatio = q(x.LossDebits, x.InvestedDebit)
		return x
	}
	filters := []postgres.IndicatorFilter{{}, {ProgrammeID: pA}, {ProgrammeID: pB.ID}, {Year: 2024}, {Year: 2025},
		{Year: 2026}, {Year: 2027}, {ProgrammeID: pB.ID, Year: 2025}, {ProgrammeID: pA, Year: 2026}}
	for _, f := range filters {
		t.Run("Programme"+strconv.FormatInt(f.ProgrammeID, 10)+"Year"+strconv.Itoa(f.Year), func(t *testing.T) {
			got, err := e.db.Indicators(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want := expect(f)
			for _, c := range []struct {
				name      string
				got, want decimal.Decimal
			}{
				{"disbursed", got.Disbursed, want.Disbursed}, {"social capital", got.SocialCapital, want.SocialCapital},
				{"recycled", got.Recycled, want.Recycled}, {"losses", got.LossDebits, want.LossDebits},
				{"1221 debits", got.InvestedDebit, want.InvestedDebit}, {"revenue", got.Totals.Revenue, want.Totals.Revenue},
				{"R&D spend", got.Totals.RDSpend, want.Totals.RDSpend}, {"new financing", got.Totals.NewFinancing, want.Totals.NewFinancing},
			} {
				if c.got.StringFixed(2) != c.want.StringFixed(2) {
					t.Errorf("%s = %s, want %s", c.name, c.got.StringFixed(2), c.want.StringFixed(2))
				}
			}
			if got.Funded != want.Funded || got.Converted != want.Converted {
				t.Errorf("funded/converted = %d/%d, want %d/%d", got.Funded, got.Converted, want.Funded, want.Converted)
			}
			g, w := got.Totals, want.Totals
			if g.Headcount != w.Headcount || g.RDStaff != w.RDStaff || g.Patents != w.Patents || g.Copyrights != w.Copyrights {
				t.Errorf("enterprise counts = %+v, want %+v", g, w)
			}
			for _, c := range [][3]string{{"multiple", got.Multiple, want.Multiple}, {"conversion rate", got.ConversionRate, want.ConversionRate},
				{"recycled share", got.RecycledShare, want.RecycledShare}, {"loss ratio", got.LossRatio, want.LossRatio}} {
				if c[1] != c[2] {
					t.Errorf("%s = %q, want %q", c[0], c[1], c[2])
				}
			}
			// Each figure is the sum of the rows its table shows.
			rows := decimal.Zero
			for _, p := range got.Disbursements {
				rows = rows.Add(p.Amount)
			}
			if !rows.Equal(got.Disbursed) {
				t.Errorf("disbursement rows sum to %s, figure %s", rows, got.Disbursed)
			}
		})
	}
	// Sanity of the seeding: the all-time figures are not trivial.
	all := expect(postgres.IndicatorFilter{})
	if all.Disbursed.StringFixed(2) != "4000000.01" || all.SocialCapital.IsZero() || all.Recycled.IsZero() || all.LossDebits.IsZero() ||
		all.Converted != 1 || all.Funded != 2 || all.Totals.Headcount != 45 {
		t.Fatalf("seeding produced trivial expectations: %+v", all)
	}

	aud := e.loggedIn(applications.RoleAuditor)
	t.Run("PageShowsEachTable", func(t *testing.T) {
		r := aud.get("/dashboard/indicators?year=2025&programme=" + strconv.FormatInt(pB.ID, 10))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		doc := r.doc(t)
		for _, k := range []string{"summary", "disbursed", "social", "conversion", "recycled", "enterprises", "losses"} {
			if doc.Find("#"+k+"-table").Length() != 1 || doc.Find("#export-"+k+"-xlsx").Length() != 1 {
				t.Errorf("no table or export for %s", k)
			}
		}
		if got := strings.TrimSpace(doc.Find("#enterprises-table tr.total td").Eq(7).Text()); !strings.HasPrefix(got, "3,100,000.33") {
			t.Errorf("enterprise revenue total %q", got)
		}
		if aud.get("/dashboard").doc(t).Find(`a[href="/dashboard/indicators"]`).Length() != 1 {
			t.Error("the dashboard does not link to the indicators")
		}
	})
	t.Run("ExportsCarryTheFiguresAsNumbers", func(t *testing.T) {
		for _, k := range []string{"summary", "disbursed", "social", "conversion", "recycled", "enterprises", "losses"} {
			for _, format := range []string{"csv", "xlsx"} {
				if r := aud.get("/dashboard/indicators/export/" + k + "?year=2025&format=" + format); r.StatusCode != http.StatusOK {
					t.Errorf("export %s %s: %d", k, format, r.StatusCode)
				}
			}
		}
		if r := aud.get("/dashboard/indicators/export/nothing?format=csv"); r.StatusCode != http.StatusNotFound {
			t.Errorf("unknown section: %d", r.StatusCode)
		}
		want := all.Disbursed.StringFixed(2)
		r := aud.get("/dashboard/indicators/export/disbursed?format=csv")
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, ",,合计,,,,"+want) {
			t.Fatalf("csv %d: %q", r.StatusCode, r.body)
		}
		r = aud.get("/dashboard/indicators/export/summary?format=xlsx")
		f, err := excelize.OpenReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("xlsx: %d %v", r.StatusCode, err)
		}
		defer f.Close()
		rows, _ := f.GetRows("指标汇总")
		if len(rows) < 2 || rows[1][0] != "拨付资金" {
			t.Fatalf("rows %v", rows)
		}
		if typ, _ := f.GetCellType("指标汇总", "B2"); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Fatalf("B2 is of type %v, want a number", typ)
		}
		if v, _ := f.GetCellValue("指标汇总", "B2"); !strings.HasPrefix(strings.ReplaceAll(v, ",", ""), "4000000.01") {
			t.Fatalf("B2 = %q", v)
		}
	})
	t.Run("ForbiddenOutsideTheBureau", func(t *testing.T) {
		for _, role := range []applications.Role{applications.RoleEnterprise, applications.RoleExpert, applications.RoleAdmin} {
			if r := e.loggedIn(role).get("/dashboard/indicators"); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d", role, r.StatusCode)
			}
		}
	})
}
