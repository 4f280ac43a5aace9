package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/day"
)

// WatchItem is one thing on the staff watchlist.
type WatchItem struct {
	ApplicationID int64
	Title         string
	Enterprise    string
	Issue         string
	Date          time.Time
	Link          string
}

// windowWarning is how far ahead a closing conversion window is flagged.
const windowWarning = 180 * 24 * time.Hour

// Watchlist gathers projects that need attention: unverified events,
// conversion due, windows ending within 180 days, lapsed windows, and
// exits due within 30 days by the agreed schedule.
func (db *DB) Watchlist(ctx context.Context) (_ []WatchItem, err error) {
	defer wrap(&err, "Watchlist")
	today := day.Today(db.Now())
	var items []WatchItem
	equityLink := func(id int64) string { return "/applications/" + itoa64(id) + "/equity" }
	rows, _ := db.Pool.Query(ctx, `
		SELECT a.id, a.title, e.name, t.kind, t.reported_at
		FROM trigger_events t JOIN applications a ON a.id = t.application_id JOIN enterprises e ON e.id = a.enterprise_id
		WHERE t.status = 'reported'
		UNION ALL
		SELECT a.id, a.title, e.name, a.state, a.state_changed_at
		FROM applications a JOIN enterprises e ON e.id = a.enterprise_id
		WHERE a.state IN ('conversion_due', 'lapsed')`)
	err = forEachRow(rows, func(r pgx.Row) error {
		var it WatchItem
		var what string
		if err := r.Scan(&it.ApplicationID, &it.Title, &it.Enterprise, &what, &it.Date); err != nil {
			return err
		}
		switch what {
		case "conversion_due":
			it.Issue = "满足转股条件，待办理转股"
		case "lapsed":
			it.Issue = "转股期限已届满，待按协议处理"
		default:
			it.Issue = "待核实：" + applications.EventKindLabel(what)
		}
		it.Link = equityLink(it.ApplicationID)
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, _ = db.Pool.Query(ctx, `
		SELECT a.id, a.title, e.name, a.state, g.signed_on, g.terms::text, c.conversion_date,
		       (SELECT count(*) FROM exits x WHERE x.application_id = a.id AND x.status = 'approved')
		FROM applications a JOIN enterprises e ON e.id = a.enterprise_id
		JOIN agreements g ON g.application_id = a.id AND g.status = 'signed'
		LEFT JOIN conversions c ON c.application_id = a.id AND c.status = 'approved'
		WHERE a.state IN ('funded', 'converted', 'exiting')`)
	err = forEachRow(rows, func(r pgx.Row) error {
		var it WatchItem
		var state, raw string
		var signed time.Time
		var converted *time.Time
		var exited int
		if err := r.Scan(&it.ApplicationID, &it.Title, &it.Enterprise, &state, &signed, &raw, &converted, &exited); err != nil {
			return err
		}
		t, err := applications.ParseTerms([]byte(raw))
		if err != nil {
			return err
		}
		it.Link = equityLink(it.ApplicationID)
		if state == "funded" {
			end := t.WindowEnd(signed)
			if !end.Before(today) && end.Sub(today) <= windowWarning {
				it.Issue, it.Date = "转股期限将于 "+day.Chinese(end)+" 届满", end
				items = append(items, it)
			}
			return nil
		}
		if converted == nil || exited >= len(t.ExitSchedule) {
			return nil
		}
		due := converted.AddDate(t.ExitSchedule[exited].YearsAfterConversion, 0, 0)
		if due.Sub(today) <= 30*24*time.Hour {
			it.Issue, it.Date = fmt.Sprintf("第 %d 期退出计划于 %s 到期", exited+1, day.Chinese(due)), due
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	overdue, err := db.ListOverdueReports(ctx, today)
	for _, r := range overdue {
		items = append(items, WatchItem{ApplicationID: r.ApplicationID, Title: r.AppTitle, Enterprise: r.Enterprise,
			Issue: "进展报告逾期（" + day.Chinese(r.PeriodStart) + " 至 " + day.Chinese(r.PeriodEnd) + "）",
			Date:  r.DueOn, Link: "/reports/" + itoa64(r.ID)})
	}
	return items, err
}

// forEachRow runs fn for every row and closes rows.
func forEachRow(rows pgx.Rows, fn func(pgx.Row) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
