package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/day"
)

// DashboardFilter scopes the staff dashboard (DOMAIN §2, §8, §13): the
// programmes of a year (programmes.year, the 申报年度) and/or one
// programme. Zero means all. Every figure of the dashboard belongs to the
// programmes in scope and their projects, so the sections add up.
type DashboardFilter struct {
	Year        int
	ProgrammeID int64
}

// DashboardVersion identifies the state of everything the dashboard reads.
// Every write of the store appends to the audit log in the same
// transaction (and every money movement to the ledger), so the heads of
// the two chains change with any write that could change a figure; the
// day is there because the watchlist depends on today's date. Reads that
// are audited (exports, logins) move it too, which costs a recomputation,
// never a stale figure.
type DashboardVersion struct {
	AuditSeq  int64
	LedgerSeq int64
	Day       time.Time
}

const dashboardVersionSQL = `SELECT COALESCE((SELECT max(seq) FROM audit_log), 0), COALESCE((SELECT max(seq) FROM ledger_entries), 0)`

// DashboardVersion reads the version cheaply (two primary-key lookups).
func (db *DB) DashboardVersion(ctx context.Context) (_ DashboardVersion, err error) {
	defer wrap(&err, "DashboardVersion")
	v := DashboardVersion{Day: day.Today(db.Now())}
	err = db.Pool.QueryRow(ctx, dashboardVersionSQL).Scan(&v.AuditSeq, &v.LedgerSeq)
	return v, mapError(err)
}

// ProgrammeBudget is a programme's budget line on the dashboard.
type ProgrammeBudget struct {
	ProgrammeID int64
	Name        string
	Year        int
	Total       decimal.Decimal
	Committed   decimal.Decimal        // approved amounts of projects not rejected or withdrawn
	Disbursed   decimal.Decimal        // net Dr 1221 of disbursement entries (less their reversals)
	Loss        applications.LossRatio // DOMAIN §16, beside its tolerance
}

// Remaining is the budget not yet committed.
func (b ProgrammeBudget) Remaining() decimal.Decimal { return b.Total.Sub(b.Committed) }

// StateCount is the number of applications in a state.
type StateCount struct {
	State applications.State
	Count int64
}

// SectorFigures are the applications of one sector.
type SectorFigures struct {
	Sector    applications.Sector
	Count     int64
	Requested decimal.Decimal
	Approved  decimal.Decimal // approved amounts of projects not rejected or withdrawn
}

// IssueCount is the number of watchlist items of one kind.
type IssueCount struct {
	Issue string
	Count int
}

// Recycling follows the fund's money round: disbursed (Dr 1221), converted
// (Dr 1511), exited at cost (Cr 1511 by exits), proceeds back in the fund
// (Dr 1002 by exits) and recoveries paid back (Dr 1002 by recovery
// receipts), each net of reversals.
type Recycling struct {
	Disbursed    decimal.Decimal
	Converted    decimal.Decimal
	CostReleased decimal.Decimal
	Proceeds     decimal.Decimal
	Recovered    decimal.Decimal
}

// RealisedReturn is an exited project's outcome by the exit engine.
type RealisedReturn struct {
	ApplicationID int64
	Title         string
	Programme     string
	Cost          decimal.Decimal
	Proceeds      decimal.Decimal
	Gain          decimal.Decimal
	MOIC          string // 6 decimals, "" when undefined
	XIRR          string // 8 decimals, "" when undefined
}

// Dashboard is everything the dashboard shows, read at Version.
type Dashboard struct {
	Version   DashboardVersion
	Budget    []ProgrammeBudget
	Pipeline  []StateCount // lifecycle order, states with applications only
	Sectors   []SectorFigures
	Watch     []IssueCount
	Recycling Recycling
	Exited    []RealisedReturn
	// Portfolio MOIC of the exited projects: Σ proceeds / Σ cost.
	Cost, Proceeds decimal.Decimal
	MOIC           string
}

// DashboardYears lists the programme years, newest first, for the filter.
func (db *DB) DashboardYears(ctx context.Context) (_ []int, err error) {
	defer wrap(&err, "DashboardYears")
	rows, _ := db.Pool.Query(ctx, `SELECT DISTINCT year FROM programmes ORDER BY year DESC`)
	ys, err := pgx.CollectRows(rows, pgx.RowTo[int])
	return ys, mapError(err)
}

// dashboardScope is the programmes in scope ($1 year, $2 programme).
const dashboardScope = `SELECT id FROM programmes WHERE ($1::int = 0 OR year = $1) AND ($2::bigint = 0 OR id = $2)`

// Dashboard computes the dashboard in one read-only snapshot, together
// with the version it was read at, then prices the exited projects with
// the exit engine (their figures no longer change once exited).
func (db *DB) Dashboard(ctx context.Context, f DashboardFilter) (_ Dashboard, err error) {
	defer wrap(&err, "Dashboard")
	var d Dashboard
	d.Version.Day = day.Today(db.Now())
	args := []any{f.Year, f.ProgrammeID}
	var exited []RealisedReturn
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, dashboardVersionSQL).Scan(&d.Version.AuditSeq, &d.Version.LedgerSeq); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			SELECT p.id, p.name, p.year, p.total_budget, p.loss_tolerance,
			       COALESCE(sum(a.approved_amount) FILTER (WHERE a.approved_amount IS NOT NULL AND a.state NOT IN ('rejected','withdrawn')), 0)
			FROM programmes p LEFT JOIN applications a ON a.programme_id = p.id
			WHERE p.id IN (`+dashboardScope+`)
			GROUP BY p.id ORDER BY p.year DESC, p.id`, args...)
		var err error
		d.Budget, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProgrammeBudget, error) {
			var b ProgrammeBudget
			err := r.Scan(&b.ProgrammeID, &b.Name, &b.Year, &b.Total, &b.Loss.Tolerance, &b.Committed)
			return b, err
		})
		if err != nil {
			return err
		}
		// The money round from the ledger, per programme, from the running
		// totals the database keeps with every posting (migration 000010;
		// `ledger verify` checks them against the postings): project
		// accounts belong to their project's programme, and a reversal
		// counts against the kind of entry it reverses.
		rows, _ = tx.Query(ctx, `
			SELECT programme_id, account_code, kind, net FROM ledger_totals
			WHERE account_code IN ('1221','1511','1002','6711') AND programme_id IN (`+dashboardScope+`)`, args...)
		disbursed, losses := map[int64]decimal.Decimal{}, map[int64]decimal.Decimal{}
		err = forEachRow(rows, func(r pgx.Row) error {
			var prog int64
			var code, kind string
			var net decimal.Decimal
			if err := r.Scan(&prog, &code, &kind, &net); err != nil {
				return err
			}
			rc := &d.Recycling
			switch {
			case code == "6711":
				losses[prog] = losses[prog].Add(net)
			case code == "1221" && kind == "disbursement":
				rc.Disbursed = rc.Disbursed.Add(net)
				disbursed[prog] = disbursed[prog].Add(net)
			case code == "1511" && kind == "conversion":
				rc.Converted = rc.Converted.Add(net)
			case code == "1511" && kind == "exit":
				rc.CostReleased = rc.CostReleased.Sub(net)
			case code == "1002" && kind == "exit":
				rc.Proceeds = rc.Proceeds.Add(net)
			case code == "1002" && kind == "recovery_receipt":
				rc.Recovered = rc.Recovered.Add(net)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range d.Budget {
			d.Budget[i].Disbursed = disbursed[d.Budget[i].ProgrammeID]
			d.Budget[i].Loss.Disbursed, d.Budget[i].Loss.Losses = d.Budget[i].Disbursed, losses[d.Budget[i].ProgrammeID]
		}
		rows, _ = tx.Query(ctx, `SELECT state, count(*) FROM applications
			WHERE programme_id IN (`+dashboardScope+`) GROUP BY state`, args...)
		counts := map[applications.State]int64{}
		err = forEachRow(rows, func(r pgx.Row) error {
			var st string
			var n int64
			if err := r.Scan(&st, &n); err != nil {
				return err
			}
			counts[applications.State(st)] = n
			return nil
		})
		if err != nil {
			return err
		}
		for _, st := range applications.AllStates() {
			if counts[st] > 0 {
				d.Pipeline = append(d.Pipeline, StateCount{State: st, Count: counts[st]})
			}
		}
		rows, _ = tx.Query(ctx, `SELECT sector, count(*), sum(requested_amount),
			COALESCE(sum(approved_amount) FILTER (WHERE state NOT IN ('rejected','withdrawn')), 0)
			FROM applications WHERE programme_id IN (`+dashboardScope+`) GROUP BY sector`, args...)
		bySector, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SectorFigures, error) {
			var s SectorFigures
			var code string
			err := r.Scan(&code, &s.Count, &s.Requested, &s.Approved)
			s.Sector = applications.Sector(code)
			return s, err
		})
		if err != nil {
			return err
		}
		order := applications.AllSectors()
		slices.SortStableFunc(bySector, func(a, b SectorFigures) int {
			ia, ib := slices.Index(order, a.Sector), slices.Index(order, b.Sector)
			if ia < 0 {
				ia = len(order)
			}
			if ib < 0 {
				ib = len(order)
			}
			return ia - ib
		})
		d.Sectors = bySector
		rows, _ = tx.Query(ctx, `SELECT a.id, a.title, p.name FROM applications a JOIN programmes p ON p.id = a.programme_id
			WHERE a.state = 'exited' AND a.programme_id IN (`+dashboardScope+`) ORDER BY a.id`, args...)
		exited, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (RealisedReturn, error) {
			var x RealisedReturn
			err := r.Scan(&x.ApplicationID, &x.Title, &x.Programme)
			return x, err
		})
		return err
	})
	if err != nil {
		return d, mapError(err)
	}
	if d.Watch, err = db.watchCounts(ctx, f); err != nil {
		return d, err
	}
	for _, x := range exited {
		p, err := db.PreviewExit(ctx, x.ApplicationID, nil)
		if err != nil {
			return d, err
		}
		if len(p.Result.Tranches) == 0 {
			continue
		}
		t := p.Result.Totals
		x.Cost, _ = decimal.NewFromString(t.CostReleased)
		x.Proceeds, _ = decimal.NewFromString(t.Proceeds)
		x.Gain, _ = decimal.NewFromString(t.Gain)
		if t.MOIC != nil {
			x.MOIC = *t.MOIC
		}
		if t.XIRR != nil {
			x.XIRR = *t.XIRR
		}
		d.Exited = append(d.Exited, x)
		d.Cost, d.Proceeds = d.Cost.Add(x.Cost), d.Proceeds.Add(x.Proceeds)
	}
	if d.Cost.Sign() > 0 {
		d.MOIC = d.Proceeds.DivRound(d.Cost, 6).StringFixed(6)
	}
	return d, nil
}

// issueType folds a watchlist issue into its kind: the dated ones
// ("转股期限将于 2029-01-10 届满", "第 2 期退出计划于 … 到期", "进展报告逾期（…）")
// lose their dates.
func issueType(issue string) string {
	switch {
	case strings.HasPrefix(issue, "转股期限将于"):
		return "转股期限即将届满"
	case strings.Contains(issue, "退出计划于"):
		return "退出计划到期"
	case strings.HasPrefix(issue, "进展报告逾期"):
		return "进展报告逾期"
	}
	return issue
}

// watchCounts counts the watchlist (the same list as /watchlist) by kind
// of issue, for the projects in scope. Event issues ("待核实：…") count
// under their kind.
func (db *DB) watchCounts(ctx context.Context, f DashboardFilter) ([]IssueCount, error) {
	items, err := db.Watchlist(ctx)
	if err != nil {
		return nil, err
	}
	inScope := func(int64) bool { return true }
	if f.Year != 0 || f.ProgrammeID != 0 {
		ids := make([]int64, 0, len(items))
		for _, it := range items {
			ids = append(ids, it.ApplicationID)
		}
		rows, _ := db.Pool.Query(ctx, `SELECT id FROM applications WHERE id = ANY($3) AND programme_id IN (`+dashboardScope+`)`,
			f.Year, f.ProgrammeID, ids)
		keep, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, mapError(err)
		}
		inScope = func(id int64) bool { return slices.Contains(keep, id) }
	}
	var out []IssueCount
	for _, it := range items {
		if !inScope(it.ApplicationID) {
			continue
		}
		issue := issueType(it.Issue)
		if i := slices.IndexFunc(out, func(c IssueCount) bool { return c.Issue == issue }); i >= 0 {
			out[i].Count++
		} else {
			out = append(out, IssueCount{Issue: issue, Count: 1})
		}
	}
	slices.SortStableFunc(out, func(a, b IssueCount) int { return b.Count - a.Count })
	return out, nil
}
