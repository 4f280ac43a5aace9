package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// CloseEndedNotices marks every notice whose last day has passed, with no
// objection left open, as ended (ready to sign), and tells the enterprise
// and the liaison. It runs from a periodic job and whenever a page that
// noticeEnded is the condition of an application whose notice ended ($1
// is today in China) without an open objection, not yet closed.
const noticeEnded = `a.state = 'approved' AND a.notice_closed_at IS NULL AND a.notice_ends_on < $1
	AND NOT EXISTS (SELECT 1 FROM objections o WHERE o.application_id = a.id AND o.status = 'open')`

// EndedNoticesDue counts the notices CloseEndedNotices would close,
// including those another transaction holds (it skips them).
func (db *DB) EndedNoticesDue(ctx context.Context) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM applications a WHERE `+noticeEnded, chinaDay(db.Now())).Scan(&n)
	return n, err
}

// shows notices is opened, so the state is right even between job runs.
func (db *DB) CloseEndedNotices(ctx context.Context) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		rows, _ := tx.Query(ctx, `SELECT a.id, a.title FROM applications a WHERE `+noticeEnded+`
			FOR UPDATE OF a SKIP LOCKED`, chinaDay(now))
		type due struct {
			id    int64
			title string
		}
		ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			return d, r.Scan(&d.id, &d.title)
		})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.Exec(ctx, `UPDATE applications SET notice_closed_at = $2 WHERE id = $1`, d.id, now); err != nil {
				return err
			}
			msg := "项目“" + d.title + "”公示期满且无异议，可以签订投资协议。"
			if err := notifyEnterprise(ctx, tx, now, d.id, msg); err != nil {
				return err
			}
			if err := notifyLiaison(ctx, tx, now, d.id, msg); err != nil {
				return err
			}
			if err := appendAudit(ctx, tx, now, audit.Event{Actor: audit.Actor{Name: "系统", Role: "system"}, Name: "notice_closed",
				ObjectType: "application", ObjectID: itoa64(d.id), Outcome: audit.Success}); err != nil {
				return err
			}
		}
		n = len(ds)
		return nil
	})
	return n, err
}

// chinaDay is today's date in China as a UTC-midnight date value.
func chinaDay(now time.Time) time.Time {
	y, m, d := chinaDate(now).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ListCurrentNotices returns the applications whose notice runs today,
// for the public notice page.
func (db *DB) ListCurrentNotices(ctx context.Context) ([]applications.Application, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+appColumns+appFrom+`
		WHERE a.state = 'approved' AND a.notice_starts_on <= $1 AND a.notice_ends_on >= $1
		ORDER BY a.notice_ends_on, a.id`, chinaDay(db.Now()))
	as, err := pgx.CollectRows(rows, scanApplication)
	return as, mapError(err)
}

// Objection is one objection raised during a notice.
type Objection struct {
	ID         int64
	ReceivedOn time.Time
	Body       string
	Status     string // open | upheld | dismissed
	Resolution string
}

// ListObjections returns an application's objections.
func (db *DB) ListObjections(ctx context.Context, appID int64) ([]Objection, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT id, received_on, body, status, resolution FROM objections WHERE application_id = $1 ORDER BY id`, appID)
	os, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Objection, error) {
		var o Objection
		return o, r.Scan(&o.ID, &o.ReceivedOn, &o.Body, &o.Status, &o.Resolution)
	})
	return os, mapError(err)
}

// RecordObjection records an objection received during the notice.
// Errors: NotFound, Conflict (no notice running), Invalid.
func (db *DB) RecordObjection(ctx context.Context, actor audit.Actor, appID int64, receivedOn time.Time, body string) error {
	body = strings.TrimSpace(body)
	if body == "" {
		return applications.FieldError("body", "请填写异议内容。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateApproved || !a.NoticeClosedAt.IsZero() {
			return applications.Errorf(applications.Conflict, "该项目不在公示期内，不能登记异议。")
		}
		if receivedOn.Before(a.NoticeStartsOn) || receivedOn.After(a.NoticeEndsOn) || receivedOn.After(chinaDay(now)) {
			return applications.FieldError("received_on", "收到异议的日期须在公示期（"+a.NoticeStartsOn.Format(time.DateOnly)+" 至 "+a.NoticeEndsOn.Format(time.DateOnly)+"）内，且不晚于今天。")
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO objections (application_id, received_on, body, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, appID, receivedOn, body, actor.ID, now).Scan(&id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "objection_record", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"objection_id": id}})
	})
}

// ResolveObjection upholds (the application is rejected) or dismisses an
// open objection. Errors: NotFound, Conflict, Invalid.
func (db *DB) ResolveObjection(ctx context.Context, actor audit.Actor, objectionID int64, uphold bool, resolution string) error {
	resolution = strings.TrimSpace(resolution)
	if resolution == "" {
		return applications.FieldError("resolution", "请写明处理意见。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var appID int64
		var status string
		if err := tx.QueryRow(ctx, `SELECT application_id, status FROM objections WHERE id = $1 FOR UPDATE`, objectionID).Scan(&appID, &status); err != nil {
			return err
		}
		if status != "open" {
			return applications.Errorf(applications.Conflict, "该异议已处理。")
		}
		newStatus := "dismissed"
		if uphold {
			newStatus = "upheld"
		}
		if _, err := tx.Exec(ctx, `UPDATE objections SET status = $2, resolution = $3, resolved_by = $4, resolved_at = $5 WHERE id = $1`,
			objectionID, newStatus, resolution, actor.ID, now); err != nil {
			return err
		}
		if uphold {
			if _, err := transitionTx(ctx, tx, now, actor, appID, applications.StateRejected, "公示异议成立："+resolution, nil); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE agreements SET status = 'superseded' WHERE application_id = $1 AND status = 'draft'`, appID); err != nil {
				return err
			}
			if err := notifyEnterprise(ctx, tx, now, appID, "公示期间异议成立，项目不予立项："+resolution); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "objection_resolve", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"objection_id": objectionID, "upheld": uphold, "resolution": resolution}})
	})
}

// CalendarDay is one configured holiday or adjusted working day.
type CalendarDay struct {
	Day  time.Time
	Kind string // holiday | workday
	Name string
}

// ListCalendar returns the configured days.
func (db *DB) ListCalendar(ctx context.Context) ([]CalendarDay, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT day, kind, name FROM calendar_days ORDER BY day`)
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CalendarDay, error) {
		var d CalendarDay
		return d, r.Scan(&d.Day, &d.Kind, &d.Name)
	})
	return ds, mapError(err)
}

// SetCalendarDay adds or changes a day ("" kind removes it), audited.
func (db *DB) SetCalendarDay(ctx context.Context, actor audit.Actor, day time.Time, kind, name string) error {
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
