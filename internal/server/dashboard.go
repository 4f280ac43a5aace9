package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/chart"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/internal/pagecache"
	"ite/internal/postgres"
	"ite/web/format"
	"ite/web/page"
	"ite/web/ui"
)

// dashboardRoutes: the staff dashboard and its exports. Admins
// (IT) do not see money figures; enterprises and experts never do.
func (s *Server) dashboardRoutes() []route {
	return []route{
		{"GET", "/dashboard", can(applications.ActionReadDashboard).inMenu(navDashboard, "看板"), s.handleDashboard},
		{"GET", "/dashboard/export/{section}", can(applications.ActionReadDashboard), s.handleDashboardExport},
	}
}

// The dashboard cache.
//
// The dashboard aggregates the whole portfolio (budget, ledger flows,
// pipeline, watchlist, exit engine), which is too slow to redo on every
// request once there are years of data, and changes only when something
// is written. While the page cache's change listener runs, the version is
// the data generation without the tables the figures never read
// (pagecache.Generations.Except, figuresIgnore; invariant 8 in package
// pagecache) plus today's date, and costs no query. Without it, every
// request runs one cheap version query (the heads of the audit log and of
// the ledger: every write of the store appends to the audit log in the
// same transaction, and every money movement to the ledger; plus today's
// date, on which the watchlist depends). Either way the computed view of
// a (year, programme) is reused while the version is unchanged.
//
// Several app servers may run behind the load balancer: each keeps its own
// copy, and correctness comes from the version check against the shared
// database, not from invalidation messages between servers (there are
// none to lose). A write on any server moves the version, and the next
// request on every server recomputes. A view is stored with the version
// read inside the snapshot it was computed from, so it is never presented
// as newer than it is.
type dashboardCache struct {
	mu      sync.Mutex
	entries map[postgres.DashboardFilter]*dashboardEntry
}

type dashboardEntry struct {
	mu   sync.Mutex // held while computing: concurrent misses wait and share
	ok   bool
	view postgres.Dashboard
	// gen is the page cache's data version the view was computed at, when
	// the change listener was running (see figuresIgnore)
	gen   pagecache.Version
	genOK bool
	day   time.Time
}

// figuresIgnore are the tables the dashboard's figures never read
// (TestDashboardFiguresReadNoIgnoredTable checks it against PostgreSQL's
// table statistics). While
// the page cache's change listener runs, the figures are kept until a
// commit to any other table (or a new day), instead of until the next
// audit row: a comment, a login or an export then costs no recomputation
// (at 100,000 applications one takes about 0.3 s, and a few commits a
// second would otherwise recompute it without end).
var figuresIgnore = []string{"audit_log", "application_comments", "notifications", "email_outbox", "documents",
	"material_reviews", "reviews", "panel_assignments", "expert_profiles", "users", "progress_report_documents"}

// dashboardCacheMax bounds the number of filters kept (the filter comes
// from the URL); when full, the cache starts again.
const dashboardCacheMax = 256

// newDashboardCache returns an empty cache (one per Server, set in New).
func newDashboardCache() *dashboardCache {
	return &dashboardCache{entries: map[postgres.DashboardFilter]*dashboardEntry{}}
}

// get returns the view for f at the current version, computing it on a
// miss; hit reports whether the cached view was reused.
func (c *dashboardCache) get(ctx context.Context, db *postgres.DB, gens *pagecache.Generations, f postgres.DashboardFilter) (d postgres.Dashboard, hit bool, err error) {
	gen, genOK := gens.Except(figuresIgnore...)
	today := day.Today(db.Now())
	var v postgres.DashboardVersion
	if !genOK {
		if v, err = db.DashboardVersion(ctx); err != nil {
			return d, false, err
		}
	}
	c.mu.Lock()
	e := c.entries[f]
	if e == nil {
		if len(c.entries) >= dashboardCacheMax {
			clear(c.entries)
		}
		e = &dashboardEntry{}
		c.entries[f] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.ok && genOK && e.genOK && e.gen == gen && e.day.Equal(today):
		return e.view, true, nil
	case e.ok && !genOK && e.view.Version == v:
		return e.view, true, nil
	}
	if d, err = db.Dashboard(ctx, f); err != nil {
		return d, false, err
	}
	e.view, e.ok, e.gen, e.genOK, e.day = d, true, gen, genOK, today
	return d, false, nil
}

// dashboardFilter reads ?year= and ?programme= (empty or absent: all).
func dashboardFilter(q url.Values) (postgres.DashboardFilter, error) {
	var f postgres.DashboardFilter
	if y := strings.TrimSpace(q.Get("year")); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 2000 || n > 2100 {
			return f, applications.FieldError("year", "年度应为 2000 至 2100 之间的年份。")
		}
		f.Year = n
	}
	if p := strings.TrimSpace(q.Get("programme")); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n <= 0 {
			return f, applications.FieldError("programme", "请选择申报批次。")
		}
		f.ProgrammeID = n
	}
	return f, nil
}

func (s *Server) loadDashboard(w http.ResponseWriter, r *http.Request) (postgres.DashboardFilter, postgres.Dashboard, error) {
	f, err := dashboardFilter(r.URL.Query())
	if err != nil {
		return f, postgres.Dashboard{}, err
	}
	d, hit, err := s.figures.get(r.Context(), s.DB, &s.gens, f)
	if hit {
		w.Header().Set("X-Dashboard-Cache", "hit")
	} else {
		w.Header().Set("X-Dashboard-Cache", "miss")
	}
	return f, d, err
}

// handleDashboard is the staff dashboard (GET /dashboard?year=&programme=).
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	f, d, err := s.loadDashboard(w, r)
	if err != nil {
		return err
	}
	v := page.DashboardView{D: d, Query: url.Values{}, Charts: dashboardCharts(d)}
	if f.Year != 0 {
		v.Year = strconv.Itoa(f.Year)
		v.Query.Set("year", v.Year)
	}
	if f.ProgrammeID != 0 {
		v.Programme = strconv.FormatInt(f.ProgrammeID, 10)
		v.Query.Set("programme", v.Programme)
	}
	years, err := cachedRef(s, r, "programme years", s.DB.DashboardYears) // a round trip a view, as the programme list
	if err != nil {
		return err
	}
	v.Years = []ui.Option{{Value: "", Label: "全部"}}
	for _, y := range years {
		v.Years = append(v.Years, ui.Option{Value: strconv.Itoa(y), Label: strconv.Itoa(y) + " 年"})
	}
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Dashboard(v))
}

func wan(d decimal.Decimal) string { return format.WanYuan(d) }

// dashboardCharts draws each section's chart.
func dashboardCharts(d postgres.Dashboard) map[string]string {
	charts := map[string]string{}
	budget := chart.Bars{ID: "chart-budget", Title: "批次预算执行", Series: []string{"预算总额", "已承诺", "已拨付", "剩余可用"},
		Desc: "各申报批次的预算总额、已承诺、已拨付和剩余可用金额（万元）。"}
	for _, b := range d.Budget {
		budget.Rows = append(budget.Rows, chart.Row{Label: b.Name,
			Values: []decimal.Decimal{b.Total, b.Committed, b.Disbursed, b.Remaining()},
			Notes:  []string{wan(b.Total), wan(b.Committed), wan(b.Disbursed), wan(b.Remaining())}})
	}
	charts["budget"] = budget.SVG()
	funnel := chart.Funnel{ID: "chart-pipeline", Title: "项目流程漏斗", Desc: "按生命周期顺序列出各状态的项目数。"}
	for _, st := range d.Pipeline {
		funnel.Steps = append(funnel.Steps, chart.Step{Label: st.State.Label(), Value: decimal.NewFromInt(st.Count), Note: strconv.FormatInt(st.Count, 10)})
	}
	charts["pipeline"] = funnel.SVG()
	sectors := chart.Bars{ID: "chart-sectors", Title: "领域分布", Series: []string{"申请金额", "批准金额"},
		Desc: "各领域项目的申请金额与批准金额（万元）；项目数见右表。"}
	for _, sf := range d.Sectors {
		sectors.Rows = append(sectors.Rows, chart.Row{Label: sf.Sector.Label() + "（" + strconv.FormatInt(sf.Count, 10) + " 项）",
			Values: []decimal.Decimal{sf.Requested, sf.Approved}, Notes: []string{wan(sf.Requested), wan(sf.Approved)}})
	}
	charts["sectors"] = sectors.SVG()
	watch := chart.Bars{ID: "chart-watchlist", Title: "关注事项", Desc: "关注清单上各类事项的项目数。"}
	for _, c := range d.Watch {
		watch.Rows = append(watch.Rows, chart.Row{Label: c.Issue, Values: []decimal.Decimal{decimal.NewFromInt(int64(c.Count))},
			Notes: []string{strconv.Itoa(c.Count)}})
	}
	charts["watchlist"] = watch.SVG()
	rc := d.Recycling
	recycling := chart.Bars{ID: "chart-recycling", Title: "资金循环", Desc: "已拨付、已转股、已退出（成本）、退出回款和追回款（万元），取自台账。"}
	for _, x := range []struct {
		label string
		v     decimal.Decimal
	}{{"已拨付", rc.Disbursed}, {"已转股", rc.Converted}, {"已退出（成本）", rc.CostReleased}, {"退出回款", rc.Proceeds}, {"追回款", rc.Recovered}} {
		recycling.Rows = append(recycling.Rows, chart.Row{Label: x.label, Values: []decimal.Decimal{x.v}, Notes: []string{wan(x.v)}})
	}
	charts["recycling"] = recycling.SVG()
	returns := chart.Bars{ID: "chart-returns", Title: "已退出项目收益", Series: []string{"成本", "回款"},
		Desc: "各已退出项目的投资成本与退出回款（万元），MOIC 与 XIRR 见右表。"}
	for _, x := range d.Exited {
		returns.Rows = append(returns.Rows, chart.Row{Label: x.Title, Values: []decimal.Decimal{x.Cost, x.Proceeds},
			Notes: []string{wan(x.Cost), wan(x.Proceeds) + " · MOIC " + x.MOIC}})
	}
	charts["returns"] = returns.SVG()
	return charts
}

// dashboardColumns are the columns of each dashboard section's export:
// every figure a number cell in its format (MOIC as 1.25x, XIRR as a
// percentage), so a spreadsheet computes with them.
var dashboardColumns = func() map[string][]ledger.Column {
	text, money, integer := ledger.ColText, ledger.ColMoney, ledger.ColInt
	cols := func(spec ...any) []ledger.Column {
		var out []ledger.Column
		for i := 0; i < len(spec); i += 2 {
			out = append(out, ledger.Column{Title: spec[i].(string), Type: spec[i+1].(ledger.ColumnType)})
		}
		return out
	}
	return map[string][]ledger.Column{
		"budget":    cols("申报批次", text, "年度", integer, "预算总额", money, "已承诺", money, "已拨付", money, "剩余可用", money),
		"pipeline":  cols("状态", text, "项目数", integer),
		"sectors":   cols("领域", text, "项目数", integer, "申请金额", money, "批准金额", money),
		"watchlist": cols("事项", text, "项目数", integer),
		"recycling": cols("环节", text, "台账依据", text, "金额", money),
		"returns": append(cols("项目编号", integer, "项目", text, "申报批次", text, "成本", money, "回款", money, "收益", money),
			ledger.Column{Title: "MOIC", Type: ledger.ColNumber, NumFmt: ledger.NumFmtRatio},
			ledger.Column{Title: "XIRR", Type: ledger.ColNumber, NumFmt: ledger.NumFmtPercent}),
	}
}()

// handleDashboardExport exports one section's table
// (GET /dashboard/export/{section}?year=&programme=&format=csv|xlsx).
func (s *Server) handleDashboardExport(w http.ResponseWriter, r *http.Request) error {
	section := chi.URLParam(r, "section")
	_, d, err := s.loadDashboard(w, r)
	if err != nil {
		return err
	}
	head := func() (ledger.ChainHead, error) { return s.DB.LedgerHead(r.Context()) }
	cols, ok := dashboardColumns[section]
	if !ok {
		return applications.Errorf(applications.NotFound, "没有这个看板栏目。")
	}
	t := ledger.Table{Columns: cols}
	var rows [][]ledger.Value
	switch section {
	case "budget":
		for _, b := range d.Budget {
			rows = append(rows, []ledger.Value{ledger.Text(b.Name), ledger.Int(int64(b.Year)), ledger.Money(b.Total),
				ledger.Money(b.Committed), ledger.Money(b.Disbursed), ledger.Money(b.Remaining())})
		}
	case "pipeline":
		for _, st := range d.Pipeline {
			rows = append(rows, []ledger.Value{ledger.Text(st.State.Label()), ledger.Int(st.Count)})
		}
	case "sectors":
		for _, sf := range d.Sectors {
			rows = append(rows, []ledger.Value{ledger.Text(sf.Sector.Label()), ledger.Int(sf.Count), ledger.Money(sf.Requested), ledger.Money(sf.Approved)})
		}
	case "watchlist":
		for _, c := range d.Watch {
			rows = append(rows, []ledger.Value{ledger.Text(c.Issue), ledger.Int(int64(c.Count))})
		}
	case "recycling":
		rc := d.Recycling
		rows = [][]ledger.Value{
			{ledger.Text("已拨付"), ledger.Text("借 1221（拨付凭证）"), ledger.Money(rc.Disbursed)},
			{ledger.Text("已转股"), ledger.Text("借 1511（转股凭证）"), ledger.Money(rc.Converted)},
			{ledger.Text("已退出（成本）"), ledger.Text("贷 1511（退出凭证）"), ledger.Money(rc.CostReleased)},
			{ledger.Text("退出回款"), ledger.Text("借 1002（退出凭证）"), ledger.Money(rc.Proceeds)},
			{ledger.Text("追回款"), ledger.Text("借 1002（追回收款凭证）"), ledger.Money(rc.Recovered)},
		}
	case "returns":
		for _, x := range d.Exited {
			rows = append(rows, []ledger.Value{ledger.Int(x.ApplicationID), ledger.Text(x.Title), ledger.Text(x.Programme),
				ledger.Money(x.Cost), ledger.Money(x.Proceeds), ledger.Money(x.Gain), fraction(x.MOIC), fraction(x.XIRR)})
		}
	}
	title := page.DashboardSections[0].Title
	for _, sec := range page.DashboardSections {
		if sec.Key == section {
			title = sec.Title
		}
	}
	t.Name = title
	return s.export(w, r, "dashboard_"+section, "看板_"+title, t, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		for _, row := range rows {
			if err := rw.WriteRow(row...); err != nil {
				return ledger.ChainHead{}, err
			}
			*n++
		}
		return head()
	})
}
