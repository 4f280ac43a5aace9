package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// CloseEndedNotices marks every notice whose last day has passed, with no
// objection left open, as ended (ready to sign), and tells the enterprise
// and the liaison. It runs from a periodic job and whenever a page that
// noticeEnded is the condition of an application whose notice ended ($1
// is today in China) without an open objection, not yet closed.
const noticeEnded = `a.state = 'approved' AND a.notice_closed_at IS NULL AND a.notice_ends_on < $1
	AND NOT EXISTS (SELECT 1 FROM objections o WHERE o.application_id = a.id AND o.status IN ('open','proposed'))`

// EndedNoticesDue counts the notices CloseEndedNotices would close,
// including those another transaction holds (it skips them).
func (db *DB) EndedNoticesDue(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "EndedNoticesDue")
	var n int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM applications a WHERE `+noticeEnded, day.Today(db.Now())).Scan(&n)
	return n, err
}

// shows notices is opened, so the state is right even between job runs.
func (db *DB) CloseEndedNotices(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "CloseEndedNotices")
	n := 0
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		rows, _ := tx.Query(ctx, `SELECT a.id, a.title FROM applications a WHERE `+noticeEnded+`
			FOR UPDATE OF a SKIP LOCKED`, day.Today(now))
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
			if err := notifyEnterprise(ctx, tx, now, NotifyNoticeEnded, d.id, msg, "/applications/"+itoa64(d.id)+"/agreement"); err != nil {
				return err
			}
			if err := notifyLiaison(ctx, tx, now, NotifyNoticeEnded, d.id, msg, "/applications/"+itoa64(d.id)+"/agreement"); err != nil {
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

// ListCurrentNotices returns the applications whose notice runs today,
// for the public notice page.
func (db *DB) ListCurrentNotices(ctx context.Context) (_ []applications.Application, err error) {
	defer wrap(&err, "ListCurrentNotices")
	rows, _ := db.Pool.Query(ctx, `SELECT `+appColumns+appFrom+`
		WHERE a.state = 'approved' AND a.notice_starts_on <= $1 AND a.notice_ends_on >= $1
		ORDER BY a.notice_ends_on, a.id`, day.Today(db.Now()))
	as, err := pgx.CollectRows(rows, scanApplication)
	return as, mapError(err)
}
