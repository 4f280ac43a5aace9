package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// The China working-day calendar (holidays and adjusted working days)
// that notice periods count on.

// CalendarDay is one configured holiday or adjusted working day.
type CalendarDay struct {
	Day  time.Time
	Kind string // holiday | workday
	Name string
}

// ListCalendar returns the configured days.
func (db *DB) ListCalendar(ctx context.Context) (_ []CalendarDay, err error) {
	defer wrap(&err, "ListCalendar")
	rows, _ := db.Pool.Query(ctx, `SELECT day, kind, name FROM calendar_days ORDER BY day`)
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CalendarDay, error) {
		var d CalendarDay
		return d, r.Scan(&d.Day, &d.Kind, &d.Name)
	})
	return ds, mapError(err)
}

// SetCalendarDay adds or changes a day ("" kind removes it), audited.
func (db *DB) SetCalendarDay(ctx context.Context, actor audit.Actor, day time.Time, kind, name string) (err error) {
	defer wrap(&err, "SetCalendarDay %s", day.Format(time.DateOnly))
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if kind == "" {
			_, err = tx.Exec(ctx, `DELETE FROM calendar_days WHERE day = $1`, day)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)
				ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name`, day, kind, name)
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "calendar_set", ObjectType: "calendar",
			ObjectID: day.Format(time.DateOnly), Outcome: audit.Success, Detail: map[string]any{"kind": kind, "name": name}})
	})
}

func loadCalendar(ctx context.Context, tx pgx.Tx) (applications.Calendar, error) {
	cal := applications.Calendar{Holidays: map[string]bool{}, Workdays: map[string]bool{}}
	rows, err := tx.Query(ctx, `SELECT day, kind FROM calendar_days`)
	if err != nil {
		return cal, err
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var kind string
		if err := rows.Scan(&day, &kind); err != nil {
			return cal, err
		}
		if kind == "holiday" {
			cal.Holidays[day.Format(time.DateOnly)] = true
		} else {
			cal.Workdays[day.Format(time.DateOnly)] = true
		}
	}
	return cal, rows.Err()
}
