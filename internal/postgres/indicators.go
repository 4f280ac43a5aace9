package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/conversion"
)

// Performance indicators (绩效, DOMAIN §16), per programme and year, each
// summed from the rows it shows: the ledger's postings, verified financing
// rounds and accepted progress reports. Nothing is typed in.
//
// The year is the calendar year of the records (an entry's value date, a
// round's date, a report period's end); 0 means every year to date. Flows
// (money disbursed, social capital, money recycled) count the records of
// the year; stocks (projects funded and converted, the loss ratio) count
// everything up to the year's end. A reversal counts against the kind of
// entry it reverses (as in ledger_totals), so the flows are net of
// corrections; the loss ratio is literally Σ debits of 6711 ÷ Σ debits of
// 1221 (DOMAIN §16).

// IndicatorFilter scopes the indicators: one programme (0: all) and one
// calendar year (0: all years to date).
type IndicatorFilter struct {
	ProgrammeID int64
	Year        int
}

// bounds are the first and last day the filter's flows count.
func (f IndicatorFilter) bounds() (time.Time, time.Time) {
	if f.Year == 0 {
		return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(f.Year, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(f.Year, 12, 31, 0, 0, 0, 0, time.UTC)
}

// IndicatorPosting is one ledger posting an indicator sums, signed
// (debit positive, credit negative).
type IndicatorPosting struct {
	Seq           int64
	ValueDate     time.Time
	Kind          string // the entry's kind; a reversal's is the kind it reverses
	Reversal      bool
	ApplicationID int64
	Title         string
	Programme     string
	Amount        decimal.Decimal
}

// FinancingRound is a verified financing round of a funded project.
type FinancingRound struct {
	EventID       int64
	Date          time.Time
	ApplicationID int64
	Title         string
	Programme     string
	Investors     string
	NewMoney      decimal.Decimal
}

// FundedProject is a project paid to the period's end, with its
// conversion if it converted by then.
type FundedProject struct {
	ApplicationID  int64
	Title          string
	Programme      string
	FirstDisbursed time.Time
	Disbursed      decimal.Decimal
	ConvertedOn    time.Time // zero when not converted
}

// EnterpriseFigures is the latest accepted progress report of a project
// in the period.
type EnterpriseFigures struct {
	ReportID      int64
	ApplicationID int64
	Title         string
	Programme     string
	Enterprise    string
	PeriodStart   time.Time
	PeriodEnd     time.Time
	Figures       applications.ReportFigures
}

// Indicators are the figures and the rows each one sums. A ratio is ""
// when its denominator is 0.
type Indicators struct {
	Filter IndicatorFilter

	Disbursements []IndicatorPosting // 1221 by disbursements
	Disbursed     decimal.Decimal

	Rounds        []FinancingRound
	SocialCapital decimal.Decimal
	Multiple      string // social capital ÷ money disbursed, 4 places

	Projects       []FundedProject
	Funded         int
	Converted      int
	ConversionRate string // converted ÷ funded, 4 places

	Recycling      []IndicatorPosting // 1002 by exits and recovery receipts
	Recycled       decimal.Decimal
	RecycledShare  string // money recycled ÷ money disbursed, 4 places
	ExitProceeds   decimal.Decimal
	RecoveredMoney decimal.Decimal

	Enterprises []EnterpriseFigures
	Totals      applications.ReportFigures // Σ of Enterprises (IPCount included)

	Losses        []IndicatorPosting // 6711 debits to the period's end
	LossDebits    decimal.Decimal
	InvestedDebit decimal.Decimal // 1221 debits to the period's end
	LossRatio     string          // LossDebits ÷ InvestedDebit, 4 places
}

// ratio is a ÷ b to 4 places, "" when b is 0.
func ratio(a, b decimal.Decimal) string {
	if b.Sign() == 0 {
		return ""
	}
	q, err := conversion.Quo(a, b, 4)
	if err != nil {
		return ""
	}
	return q.StringFixed(4)
}

// indicatorPostingsSQL lists the postings of one account ($1), one side
// ($2, ” both, signed), of entries whose kind (a reversal's: the kind it
// reverses) is in $3 ('{}': any), of the projects of programme $4 (0: all)
// with value dates from $5 to $6. A programme-scoped posting belongs to
// the project of its entry's project-scoped posting.
const indicatorPostingsSQL = `
	SELECT e.seq, e.value_date, COALESCE(o.kind, e.kind), e.kind = 'reversal', a.id, a.title, p.name,
	       CASE n.side WHEN 'debit' THEN n.amount ELSE -n.amount END
	FROM ledger_postings n
	JOIN ledger_entries e ON e.seq = n.entry_seq
	LEFT JOIN ledger_entries o ON o.seq = e.reverses
	JOIN applications a ON a.id = CASE n.scope WHEN 'app' THEN n.scope_id ELSE
		(SELECT m.scope_id FROM ledger_postings m WHERE m.entry_seq = n.entry_seq AND m.scope = 'app' ORDER BY m.line LIMIT 1) END
	JOIN programmes p ON p.id = a.programme_id
	WHERE n.account_code = $1 AND ($2 = '' OR n.side = $2)
	  AND (cardinality($3::text[]) = 0 OR COALESCE(o.kind, e.kind) = ANY($3))
	  AND ($4::bigint = 0 OR a.programme_id = $4) AND e.value_date BETWEEN $5 AND $6
	ORDER BY e.seq, n.line`

func indicatorPostings(ctx context.Context, tx pgx.Tx, code, side string, kinds []string, programme int64, from, to time.Time) ([]IndicatorPosting, decimal.Decimal, error) {
	if kinds == nil {
		kinds = []string{}
	}
	rows, _ := tx.Query(ctx, indicatorPostingsSQL, code, side, kinds, programme, from, to)
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (IndicatorPosting, error) {
		var p IndicatorPosting
		err := r.Scan(&p.Seq, &p.ValueDate, &p.Kind, &p.Reversal, &p.ApplicationID, &p.Title, &p.Programme, &p.Amount)
		return p, err
	})
	sum := decimal.Zero
	for _, p := range ps {
		sum = sum.Add(p.Amount)
	}
	return ps, sum, err
}

// Indicators computes the indicators for f in one read-only snapshot.
// Errors: Internal only.
func (db *DB) Indicators(ctx context.Context, f IndicatorFilter) (_ Indicators, err error) {
	defer wrap(&err, "Indicators")
	d := Indicators{Filter: f, Disbursed: decimal.Zero, SocialCapital: decimal.Zero, Recycled: decimal.Zero,
		ExitProceeds: decimal.Zero, RecoveredMoney: decimal.Zero, LossDebits: decimal.Zero, InvestedDebit: decimal.Zero,
		Totals: applications.ReportFigures{Revenue: decimal.Zero, RDSpend: decimal.Zero, NewFinancing: decimal.Zero}}
	from, to := f.bounds()
	start, _ := IndicatorFilter{}.bounds()
	prog := f.ProgrammeID
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if d.Disbursements, d.Disbursed, err = indicatorPostings(ctx, tx, "1221", "", []string{"disbursement"}, prog, from, to); err != nil {
			return err
		}
		if d.Recycling, d.Recycled, err = indicatorPostings(ctx, tx, "1002", "", []string{"exit", "recovery_receipt"}, prog, from, to); err != nil {
			return err
		}
		for _, p := range d.Recycling {
			if p.Kind == "exit" {
				d.ExitProceeds = d.ExitProceeds.Add(p.Amount)
			} else {
				d.RecoveredMoney = d.RecoveredMoney.Add(p.Amount)
			}
		}
		if d.Losses, d.LossDebits, err = indicatorPostings(ctx, tx, "6711", "debit", nil, prog, start, to); err != nil {
			return err
		}
		if _, d.InvestedDebit, err = indicatorPostings(ctx, tx, "1221", "debit", nil, prog, start, to); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `
			SELECT ev.id, ev.event_date, a.id, a.title, p.name, ev.investors, ev.new_money
			FROM trigger_events ev JOIN applications a ON a.id = ev.application_id JOIN programmes p ON p.id = a.programme_id
			WHERE ev.kind = 'financing' AND ev.status = 'verified' AND ev.new_money IS NOT NULL
			  AND ev.event_date BETWEEN $2 AND $3 AND ($1::bigint = 0 OR a.programme_id = $1)
			  AND EXISTS (SELECT 1 FROM disbursements d WHERE d.application_id = a.id AND d.status = 'approved')
			ORDER BY ev.event_date, ev.id`, prog, from, to)
		if d.Rounds, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (FinancingRound, error) {
			var x FinancingRound
			err := r.Scan(&x.EventID, &x.Date, &x.ApplicationID, &x.Title, &x.Programme, &x.Investors, &x.NewMoney)
			return x, err
		}); err != nil {
			return err
		}
		for _, x := range d.Rounds {
			d.SocialCapital = d.SocialCapital.Add(x.NewMoney)
		}
		rows, _ = tx.Query(ctx, `
			WITH signed AS (
				SELECT n.scope_id AS app, n.account_code AS code, COALESCE(o.kind, e.kind) AS kind, e.value_date,
				       CASE n.side WHEN 'debit' THEN n.amount ELSE -n.amount END AS amount
				FROM ledger_postings n JOIN ledger_entries e ON e.seq = n.entry_seq LEFT JOIN ledger_entries o ON o.seq = e.reverses
				WHERE n.scope = 'app' AND n.account_code IN ('1221','1511') AND e.value_date <= $2),
			paid AS (SELECT app, min(value_date) AS first, sum(amount) AS amount FROM signed
				WHERE code = '1221' AND kind = 'disbursement' GROUP BY app HAVING sum(amount) > 0),
			conv AS (SELECT app, min(value_date) AS on_date FROM signed
				WHERE code = '1511' AND kind = 'conversion' GROUP BY app HAVING sum(amount) > 0)
			SELECT a.id, a.title, p.name, paid.first, paid.amount, conv.on_date
			FROM paid JOIN applications a ON a.id = paid.app JOIN programmes p ON p.id = a.programme_id
			LEFT JOIN conv ON conv.app = paid.app
			WHERE ($1::bigint = 0 OR a.programme_id = $1) ORDER BY a.id`, prog, to)
		if d.Projects, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (FundedProject, error) {
			var x FundedProject
			var conv *time.Time
			err := r.Scan(&x.ApplicationID, &x.Title, &x.Programme, &x.FirstDisbursed, &x.Disbursed, &conv)
			if conv != nil {
				x.ConvertedOn = *conv
			}
			return x, err
		}); err != nil {
			return err
		}
		d.Funded = len(d.Projects)
		for _, x := range d.Projects {
			if !x.ConvertedOn.IsZero() {
				d.Converted++
			}
		}
		rows, _ = tx.Query(ctx, `
			SELECT DISTINCT ON (r.application_id) r.id, a.id, a.title, p.name, e.name, r.period_start, r.period_end,
			       r.revenue, r.rd_spend, r.headcount, r.ip_count, COALESCE(r.rd_staff, 0), COALESCE(r.patents, 0),
			       COALESCE(r.copyrights, 0), COALESCE(r.new_financing, 0)
			FROM progress_reports r JOIN applications a ON a.id = r.application_id
			JOIN programmes p ON p.id = a.programme_id JOIN enterprises e ON e.id = a.enterprise_id
			WHERE r.status = 'accepted' AND r.period_end BETWEEN $2 AND $3 AND ($1::bigint = 0 OR a.programme_id = $1)
			ORDER BY r.application_id, r.period_end DESC`, prog, from, to)
		d.Enterprises, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EnterpriseFigures, error) {
			var x EnterpriseFigures
			g := &x.Figures
			err := r.Scan(&x.ReportID, &x.ApplicationID, &x.Title, &x.Programme, &x.Enterprise, &x.PeriodStart, &x.PeriodEnd,
				&g.Revenue, &g.RDSpend, &g.Headcount, &g.IPCount, &g.RDStaff, &g.Patents, &g.Copyrights, &g.NewFinancing)
			return x, err
		})
		return err
	})
	if err != nil {
		return d, mapError(err)
	}
	for _, x := range d.Enterprises {
		t, g := &d.Totals, x.Figures
		t.Revenue, t.RDSpend, t.NewFinancing = t.Revenue.Add(g.Revenue), t.RDSpend.Add(g.RDSpend), t.NewFinancing.Add(g.NewFinancing)
		t.Headcount, t.IPCount, t.RDStaff = t.Headcount+g.Headcount, t.IPCount+g.IPCount, t.RDStaff+g.RDStaff
		t.Patents, t.Copyrights = t.Patents+g.Patents, t.Copyrights+g.Copyrights
	}
	d.Multiple = ratio(d.SocialCapital, d.Disbursed)
	d.ConversionRate = ratio(decimal.NewFromInt(int64(d.Converted)), decimal.NewFromInt(int64(d.Funded)))
	d.RecycledShare = ratio(d.Recycled, d.Disbursed)
	d.LossRatio = ratio(d.LossDebits, d.InvestedDebit)
	return d, nil
}
