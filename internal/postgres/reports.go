package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Enterprise reporting duties (DOMAIN §2: enterprises report revenue and
// progress). A funded project owes a progress report for every reporting
// period of its programme; the periods, their generation, submission,
// review and the overdue list live here.

func reportingStateCodes() []string {
	out := make([]string, len(applications.ReportingStates))
	for i, s := range applications.ReportingStates {
		out[i] = string(s)
	}
	return out
}

const reportColumns = `r.id, r.application_id, a.title, a.state, a.programme_id, p.name, a.enterprise_id, e.name,
	COALESCE(a.liaison_id, 0), r.period_start, r.period_end, r.due_on, r.status, r.revenue, r.rd_spend,
	r.headcount, r.ip_count, r.narrative, COALESCE(su.display_name, ''), r.submitted_at,
	COALESCE(ru.display_name, ''), r.reviewed_at, r.review_comment, r.version, r.created_at,
	COALESCE(r.rd_staff, 0), COALESCE(r.patents, 0), COALESCE(r.copyrights, 0), COALESCE(r.new_financing, 0)`

const reportFrom = ` FROM progress_reports r JOIN applications a ON a.id = r.application_id
	JOIN programmes p ON p.id = a.programme_id JOIN enterprises e ON e.id = a.enterprise_id
	LEFT JOIN users su ON su.id = r.submitted_by LEFT JOIN users ru ON ru.id = r.reviewed_by `

func scanReport(row pgx.CollectableRow) (applications.ProgressReport, error) {
	var r applications.ProgressReport
	var state, status string
	var revenue, rd decimal.NullDecimal
	var headcount, ips *int
	var submitted, reviewed *time.Time
	var more applications.ReportFigures // the indicator figures (migration 000018)
	err := row.Scan(&r.ID, &r.ApplicationID, &r.AppTitle, &state, &r.ProgrammeID, &r.Programme, &r.EnterpriseID,
		&r.Enterprise, &r.LiaisonID, &r.PeriodStart, &r.PeriodEnd, &r.DueOn, &status, &revenue, &rd,
		&headcount, &ips, &r.Narrative, &r.SubmittedBy, &submitted, &r.ReviewedBy, &reviewed, &r.ReviewComment,
		&r.Version, &r.CreatedAt, &more.RDStaff, &more.Patents, &more.Copyrights, &more.NewFinancing)
	r.AppState, r.Status = applications.State(state), applications.ReportStatus(status)
	if revenue.Valid && rd.Valid && headcount != nil && ips != nil {
		r.Figures = &applications.ReportFigures{Revenue: revenue.Decimal, RDSpend: rd.Decimal, Headcount: *headcount, IPCount: *ips,
			RDStaff: more.RDStaff, Patents: more.Patents, Copyrights: more.Copyrights, NewFinancing: more.NewFinancing}
	}
	if submitted != nil {
		r.SubmittedAt = *submitted
	}
	if reviewed != nil {
		r.ReviewedAt = *reviewed
	}
	return r, err
}

// reportQuerier is a pool or a transaction.
type reportQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func findReport(ctx context.Context, q reportQuerier, id int64, lock bool) (applications.ProgressReport, error) {
	sql := `SELECT ` + reportColumns + reportFrom + `WHERE r.id = $1`
	if lock {
		sql += ` FOR UPDATE OF r`
	}
	rows, _ := q.Query(ctx, sql, id)
	return pgx.CollectExactlyOneRow(rows, scanReport)
}

// FindReport returns one report with its attachments. Callers check who
// may see it (the application's rule). Errors: NotFound.
func (db *DB) FindReport(ctx context.Context, id int64) (_ applications.ProgressReport, err error) {
	defer wrap(&err, "FindReport %d", id)
	r, err := findReport(ctx, db.Pool, id, false)
	if err != nil {
		return r, mapError(err)
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+docColumns+docFrom+`
		JOIN progress_report_documents rd ON rd.document_id = d.id WHERE rd.report_id = $1 ORDER BY d.id`, id)
	r.Documents, err = pgx.CollectRows(rows, scanDocument)
	return r, mapError(err)
}

// ReportFilter selects reports for a list.
type ReportFilter struct {
	EnterpriseID  int64                     // enterprise users: only their own
	ApplicationID int64                     // one project
	Status        applications.ReportStatus // "" for any
	OverdueOn     time.Time                 // non-zero: only reports overdue on that date
	Limit         int
}

// ListReports returns reports, the most pressing first: open ones by due
// date, then the rest newest period first.
func (db *DB) ListReports(ctx context.Context, f ReportFilter) (_ []applications.ProgressReport, err error) {
	defer wrap(&err, "ListReports")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.EnterpriseID != 0 {
		where = append(where, "a.enterprise_id = "+arg(f.EnterpriseID))
	}
	if f.ApplicationID != 0 {
		where = append(where, "r.application_id = "+arg(f.ApplicationID))
	}
	if f.Status != "" {
		where = append(where, "r.status = "+arg(string(f.Status)))
	}
	if !f.OverdueOn.IsZero() {
		where = append(where, "r.status IN ('due','returned') AND r.due_on < "+arg(day.Date(f.OverdueOn)),
			"a.state = ANY("+arg(reportingStateCodes())+")")
	}
	sql := `SELECT ` + reportColumns + reportFrom
	if len(where) > 0 {
		sql += "WHERE " + strings.Join(where, " AND ")
	}
	sql += ` ORDER BY r.status IN ('due','returned') DESC,
		CASE WHEN r.status IN ('due','returned') THEN r.due_on END, r.period_end DESC, r.id DESC LIMIT ` + arg(f.Limit)
	rows, _ := db.Pool.Query(ctx, sql, args...)
	rs, err := pgx.CollectRows(rows, scanReport)
	return rs, mapError(err)
}

// ListOverdueReports returns the reports still owed after their due date
// on today (China's calendar date): status due or returned, of projects
// that still owe reports (applications.ReportingStates), longest overdue first. This is
// the conversion watchlist's "overdue reports" line.
func (db *DB) ListOverdueReports(ctx context.Context, today time.Time) (_ []applications.ProgressReport, err error) {
	defer wrap(&err, "ListOverdueReports")
	rows, _ := db.Pool.Query(ctx, `SELECT `+reportColumns+reportFrom+`
		WHERE r.status IN ('due','returned') AND r.due_on < $1 AND a.state = ANY($2)
		ORDER BY r.due_on, r.id`, day.Date(today), reportingStateCodes())
	rs, err := pgx.CollectRows(rows, scanReport)
	return rs, mapError(err)
}

// CountOverdueReports is len(ListOverdueReports) without loading them,
// for dashboard counters.
func (db *DB) CountOverdueReports(ctx context.Context, today time.Time) (_ int, err error) {
	defer wrap(&err, "CountOverdueReports")
	var n int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM progress_reports r JOIN applications a ON a.id = r.application_id
		WHERE r.status IN ('due','returned') AND r.due_on < $1 AND a.state = ANY($2)`,
		day.Date(today), reportingStateCodes()).Scan(&n)
	return n, mapError(err)
}

// ReportSweep says what EnsureDueReports did.
type ReportSweep struct {
	Created  int // new due reports (each notified to the enterprise)
	Reminded int // overdue reminders sent
}

// EnsureDueReports makes sure every project that owes reports has a row
// for each reporting period that has ended before today (China's calendar
// date), notifying the enterprise of each new one, and sends a one-time
// reminder for each report that became overdue. It is idempotent and safe
// to run concurrently (a period is inserted once; the database refuses
// overlapping periods), so it runs both periodically (the server's jobs)
// and when someone opens the reports pages.
//
// A project's first period starts on its first approved disbursement's
// value date (failing that, the day it became funded); see applications.ReportPeriods.
func (db *DB) EnsureDueReports(ctx context.Context, today time.Time) (_ ReportSweep, err error) {
	defer wrap(&err, "EnsureDueReports")
	return db.ensureDueReports(ctx, today, 0)
}

// EnsureEnterpriseReports is EnsureDueReports for one enterprise's
// projects only: cheap enough to run whenever its users open their
// reports.
func (db *DB) EnsureEnterpriseReports(ctx context.Context, today time.Time, enterpriseID int64) (_ ReportSweep, err error) {
	defer wrap(&err, "EnsureEnterpriseReports %d", enterpriseID)
	if enterpriseID == 0 {
		return ReportSweep{}, nil
	}
	return db.ensureDueReports(ctx, today, enterpriseID)
}

// ensureDueReports is EnsureDueReports, limited to one enterprise's
// projects when enterpriseID is not 0.
func (db *DB) ensureDueReports(ctx context.Context, today time.Time, enterpriseID int64) (ReportSweep, error) {
	var sweep ReportSweep
	today = day.Date(today)
	// Candidates: projects whose next calendar period has ended. The
	// SQL test is the calendar rule without the short-period merge, so it
	// may pick a project that has nothing to add yet, never miss one.
	// AT TIME ZONE 'Asia/Shanghai' is the database's side of day.Of (an
	// instant's China day; see internal/day).
	rows, _ := db.Pool.Query(ctx, `
		SELECT a.id FROM applications a JOIN programmes p ON p.id = a.programme_id
		CROSS JOIN LATERAL (SELECT COALESCE(
			(SELECT max(period_end) + 1 FROM progress_reports r WHERE r.application_id = a.id),
			(SELECT min(value_date) FROM disbursements d WHERE d.application_id = a.id AND d.status = 'approved'),
			(SELECT min(t.at AT TIME ZONE 'Asia/Shanghai')::date FROM application_transitions t
			 WHERE t.application_id = a.id AND t.to_state = 'funded'),
			(a.state_changed_at AT TIME ZONE 'Asia/Shanghai')::date) AS s) nx
		WHERE a.state = ANY($1) AND ($3 = 0 OR a.enterprise_id = $3)
		  AND (make_date(extract(year FROM nx.s)::int,
		                 (extract(month FROM nx.s)::int - 1) / p.report_cadence_months * p.report_cadence_months + 1, 1)
		       + make_interval(months => p.report_cadence_months) - interval '1 day')::date < $2
		ORDER BY a.id`, reportingStateCodes(), today, enterpriseID)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return sweep, mapError(err)
	}
	// One transaction per project: a project that fails (and is retried
	// on the next run) does not hold up the others.
	var errs []error
	for _, id := range ids {
		n, err := db.ensureProjectReports(ctx, id, today)
		if err != nil {
			errs = append(errs, fmt.Errorf("ensure reports of application %d: %w", id, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		sweep.Created += n
	}
	reminded, err := db.remindOverdue(ctx, today, enterpriseID)
	sweep.Reminded = reminded
	return sweep, errors.Join(append(errs, err)...)
}

// ensureProjectReports inserts one project's missing periods in one
// transaction, with a notice to the enterprise and an audit row for each.
func (db *DB) ensureProjectReports(ctx context.Context, appID int64, today time.Time) (int, error) {
	created := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		created = 0
		now := db.Now()
		var title, state string
		var cadence, grace int
		var anchor time.Time
		var lastEnd *time.Time
		// AT TIME ZONE 'Asia/Shanghai': day.Of on the database's side.
		err := tx.QueryRow(ctx, `
			SELECT a.title, a.state, p.report_cadence_months, p.report_grace_days,
				COALESCE(
					(SELECT min(value_date) FROM disbursements d WHERE d.application_id = a.id AND d.status = 'approved'),
					(SELECT min(t.at AT TIME ZONE 'Asia/Shanghai')::date FROM application_transitions t
					 WHERE t.application_id = a.id AND t.to_state = 'funded'),
					(a.state_changed_at AT TIME ZONE 'Asia/Shanghai')::date),
				(SELECT max(period_end) FROM progress_reports r WHERE r.application_id = a.id)
			FROM applications a JOIN programmes p ON p.id = a.programme_id WHERE a.id = $1`, appID).
			Scan(&title, &state, &cadence, &grace, &anchor, &lastEnd)
		if err != nil {
			return err
		}
		if !applications.State(state).OwesReports() {
			return nil
		}
		var last time.Time
		if lastEnd != nil {
			last = *lastEnd
		}
		for _, p := range applications.ReportPeriods(anchor, last, cadence, today) {
			due := p.DueOn(grace)
			var id int64
			err := tx.QueryRow(ctx, `
				INSERT INTO progress_reports (application_id, period_start, period_end, due_on, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id`,
				appID, p.Start, p.End, due, now).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // another run inserted it first
			}
			if err != nil {
				return err
			}
			created++
			msg := fmt.Sprintf("进展报告待提交：「%s」%s 至 %s，请于 %s 前提交", title,
				day.Chinese(p.Start), day.Chinese(p.End), day.Chinese(due))
			if err := notifyEnterprise(ctx, tx, now, NotifyReportDue, appID, msg, reportLink(id)); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, now, audit.Event{Actor: systemActor, Name: "progress_report_due",
				ObjectType: "progress_report", ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
				Detail: map[string]any{"application_id": appID, "period_start": p.Start.Format(time.DateOnly),
					"period_end": p.End.Format(time.DateOnly), "due_on": due.Format(time.DateOnly)}}); err != nil {
				return err
			}
		}
		return nil
	})
	return created, err
}

func reportLink(id int64) string { return "/reports/" + strconv.FormatInt(id, 10) }

// remindOverdue sends the one-time overdue reminder to the enterprise and
// the liaison of each report that passed its due date unsubmitted.
func (db *DB) remindOverdue(ctx context.Context, today time.Time, enterpriseID int64) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		now := db.Now()
		rows, _ := tx.Query(ctx, `
			UPDATE progress_reports r SET reminded_at = $3
			FROM applications a
			WHERE a.id = r.application_id AND r.id IN (
				SELECT r2.id FROM progress_reports r2 JOIN applications a2 ON a2.id = r2.application_id
				WHERE r2.status IN ('due','returned') AND r2.due_on < $1 AND r2.reminded_at IS NULL
				  AND a2.state = ANY($2) AND ($4 = 0 OR a2.enterprise_id = $4)
				ORDER BY r2.id LIMIT 500 FOR UPDATE OF r2 SKIP LOCKED)
			RETURNING r.id, r.application_id, a.title, r.period_start, r.period_end, r.due_on`,
			today, reportingStateCodes(), now, enterpriseID)
		type due struct {
			id, appID         int64
			title             string
			start, end, dueOn time.Time
		}
		ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (due, error) {
			var d due
			return d, row.Scan(&d.id, &d.appID, &d.title, &d.start, &d.end, &d.dueOn)
		})
		if err != nil {
			return err
		}
		for _, d := range ds {
			msg := fmt.Sprintf("进展报告已逾期：「%s」%s 至 %s，应于 %s 前提交", d.title,
				day.Chinese(d.start), day.Chinese(d.end), day.Chinese(d.dueOn))
			if err := notifyEnterprise(ctx, tx, now, NotifyReportOverdue, d.appID, msg, reportLink(d.id)); err != nil {
				return err
			}
			if err := notifyLiaison(ctx, tx, now, NotifyReportOverdue, d.appID, msg, reportLink(d.id)); err != nil {
				return err
			}
		}
		n = len(ds)
		return nil
	})
	return n, err
}

func reportAudit(r applications.ProgressReport) map[string]any {
	m := map[string]any{"status": r.Status, "version": r.Version}
	if r.Figures != nil {
		m["revenue"] = r.Figures.Revenue.StringFixed(2)
		m["rd_spend"] = r.Figures.RDSpend.StringFixed(2)
		m["headcount"] = r.Figures.Headcount
		m["ip_count"] = r.Figures.IPCount
		m["rd_staff"], m["patents"], m["copyrights"] = r.Figures.RDStaff, r.Figures.Patents, r.Figures.Copyrights
		m["new_financing"] = r.Figures.NewFinancing.StringFixed(2)
		m["narrative_chars"] = utf8.RuneCountInString(r.Narrative)
	}
	if r.ReviewComment != "" {
		m["review_comment"] = r.ReviewComment
	}
	return m
}

// SubmitReport records an enterprise's report with its attachments
// (document versions whose blobs are already stored; item
// progress_report), if the report is still open and unchanged since the
// form was loaded, and notifies the liaison. Whether the actor belongs to
// the project's enterprise is the caller's check. Errors: Invalid,
// NotFound, Conflict (already submitted, or changed meanwhile).
func (db *DB) SubmitReport(ctx context.Context, actor audit.Actor, id int64, in applications.ReportInput, attachments []applications.Document) (_ applications.ProgressReport, err error) {
	defer wrap(&err, "SubmitReport %d", id)
	in.Narrative = strings.TrimSpace(in.Narrative)
	if err := in.Validate(); err != nil {
		return applications.ProgressReport{}, err
	}
	var out applications.ProgressReport
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		before, err := findReport(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := before.CheckSubmit(in); err != nil {
			return err
		}
		f := in.Figures
		if _, err := tx.Exec(ctx, `
			UPDATE progress_reports SET status = 'submitted', revenue = $2, rd_spend = $3, headcount = $4, ip_count = $5,
				narrative = $6, submitted_by = $7, submitted_at = $8, version = version + 1,
				rd_staff = $9, patents = $10, copyrights = $11, new_financing = $12
			WHERE id = $1`, id, f.Revenue, f.RDSpend, f.Headcount, f.IPCount, in.Narrative, actor.ID, now,
			f.RDStaff, f.Patents, f.Copyrights, f.NewFinancing); err != nil {
			return err
		}
		var docIDs []int64
		for _, d := range attachments {
			d.ApplicationID, d.Item = before.ApplicationID, applications.Material("progress_report")
			doc, err := insertDocument(ctx, tx, now, actor, d)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO progress_report_documents (report_id, document_id) VALUES ($1, $2)`, id, doc.ID); err != nil {
				return err
			}
			docIDs = append(docIDs, doc.ID)
		}
		if out, err = findReport(ctx, tx, id, false); err != nil {
			return err
		}
		msg := fmt.Sprintf("企业已提交进展报告：「%s」%s", before.AppTitle, before.PeriodLabel())
		if err := notifyLiaison(ctx, tx, now, NotifyReportSubmitted, before.ApplicationID, msg, reportLink(id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "progress_report_submit", ObjectType: "progress_report",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"application_id": before.ApplicationID, "before": reportAudit(before),
				"after": reportAudit(out), "documents": docIDs}})
	})
	return out, err
}

// ReviewReport records staff's verdict on a submitted report: accepted, or
// returned with a comment the enterprise sees (it then submits again).
// The enterprise is notified. Errors: Invalid (a return without a
// comment), NotFound, Conflict (not awaiting review, or changed meanwhile).
func (db *DB) ReviewReport(ctx context.Context, actor audit.Actor, id int64, accept bool, comment string, version int) (_ applications.ProgressReport, err error) {
	defer wrap(&err, "ReviewReport %d", id)
	comment, err = applications.CheckReviewComment(accept, comment)
	if err != nil {
		return applications.ProgressReport{}, err
	}
	var out applications.ProgressReport
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		before, err := findReport(ctx, tx, id, true)
		if err != nil {
			return err
		}
		review, err := before.Review(accept, version)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE progress_reports SET status = $2, reviewed_by = $3, reviewed_at = $4, review_comment = $5,
				version = version + 1
			WHERE id = $1`, id, string(review.Status), actor.ID, now, comment); err != nil {
			return err
		}
		if out, err = findReport(ctx, tx, id, false); err != nil {
			return err
		}
		msg := fmt.Sprintf("进展报告%s：「%s」%s", review.Verb, before.AppTitle, before.PeriodLabel())
		if err := notifyEnterprise(ctx, tx, now, NotifyReportReviewed, before.ApplicationID, msg, reportLink(id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "progress_report_review", ObjectType: "progress_report",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"application_id": before.ApplicationID, "before": reportAudit(before), "after": reportAudit(out)}})
	})
	return out, err
}

// ReportingDuty is a programme's reporting settings.
type ReportingDuty struct {
	ProgrammeID   int64
	Programme     string
	Year          int
	CadenceMonths int
	GraceDays     int
}

// ListReportingDuties returns every programme's reporting settings,
// newest programme first.
func (db *DB) ListReportingDuties(ctx context.Context) (_ []ReportingDuty, err error) {
	defer wrap(&err, "ListReportingDuties")
	rows, _ := db.Pool.Query(ctx, `SELECT id, name, year, report_cadence_months, report_grace_days
		FROM programmes ORDER BY year DESC, id DESC`)
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReportingDuty, error) {
		var d ReportingDuty
		return d, row.Scan(&d.ProgrammeID, &d.Programme, &d.Year, &d.CadenceMonths, &d.GraceDays)
	})
	return ds, mapError(err)
}

// SetReportingDuty changes a programme's reporting cadence and grace
// period. Periods already generated keep their dates; later ones follow
// the new cadence from the end of the last one. Errors: Invalid, NotFound.
func (db *DB) SetReportingDuty(ctx context.Context, actor audit.Actor, programmeID int64, cadenceMonths, graceDays int) (err error) {
	defer wrap(&err, "SetReportingDuty %d", programmeID)
	if err := applications.CheckReportingDuty(cadenceMonths, graceDays); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var before ReportingDuty
		if err := tx.QueryRow(ctx, `SELECT report_cadence_months, report_grace_days FROM programmes WHERE id = $1 FOR UPDATE`,
			programmeID).Scan(&before.CadenceMonths, &before.GraceDays); err != nil {
			return err
		}
		now := db.Now()
		if _, err := tx.Exec(ctx, `UPDATE programmes SET report_cadence_months = $2, report_grace_days = $3, updated_at = $4
			WHERE id = $1`, programmeID, cadenceMonths, graceDays, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "programme_reporting", ObjectType: "programme",
			ObjectID: strconv.FormatInt(programmeID, 10), Outcome: audit.Success,
			Detail: map[string]any{
				"before": map[string]any{"report_cadence_months": before.CadenceMonths, "report_grace_days": before.GraceDays},
				"after":  map[string]any{"report_cadence_months": cadenceMonths, "report_grace_days": graceDays}}})
	})
}
