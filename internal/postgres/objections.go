package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Objections (异议) received during a decision's public notice, and their
// resolution.

// Objection is one objection raised during a notice.
type Objection struct {
	ID         int64
	ReceivedOn time.Time
	Body       string
	Status     applications.ObjectionStatus
	Resolution string
}

// ListObjections returns an application's objections.
func (db *DB) ListObjections(ctx context.Context, appID int64) (_ []Objection, err error) {
	defer wrap(&err, "ListObjections %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT id, received_on, body, status, resolution FROM objections WHERE application_id = $1 ORDER BY id`, appID)
	os, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Objection, error) {
		var o Objection
		return o, r.Scan(&o.ID, &o.ReceivedOn, &o.Body, &o.Status, &o.Resolution)
	})
	return os, mapError(err)
}

// RecordObjection records an objection received during the notice.
// Errors: NotFound, Conflict (no notice running), Invalid.
func (db *DB) RecordObjection(ctx context.Context, actor audit.Actor, appID int64, receivedOn time.Time, body string) (err error) {
	defer wrap(&err, "RecordObjection %d", appID)
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
		if receivedOn.Before(a.NoticeStartsOn) || receivedOn.After(a.NoticeEndsOn) || receivedOn.After(day.Today(now)) {
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
func (db *DB) ResolveObjection(ctx context.Context, actor audit.Actor, objectionID int64, uphold bool, resolution string) (err error) {
	defer wrap(&err, "ResolveObjection %d", objectionID)
	resolution = strings.TrimSpace(resolution)
	if resolution == "" {
		return applications.FieldError("resolution", "请写明处理意见。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var appID int64
		var status applications.ObjectionStatus
		if err := tx.QueryRow(ctx, `SELECT application_id, status FROM objections WHERE id = $1 FOR UPDATE`, objectionID).Scan(&appID, &status); err != nil {
			return err
		}
		if status != applications.ObjectionOpen {
			return applications.Errorf(applications.Conflict, "该异议已处理。")
		}
		newStatus := applications.ObjectionDismissed
		if uphold {
			newStatus = applications.ObjectionUpheld
		}
		if _, err := tx.Exec(ctx, `UPDATE objections SET status = $2, resolution = $3, resolved_by = $4, resolved_at = $5 WHERE id = $1`,
			objectionID, string(newStatus), resolution, actor.ID, now); err != nil {
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

// ObjectionApplication returns the application of objection id. NotFound.
func (db *DB) ObjectionApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "ObjectionApplication", `SELECT application_id FROM objections WHERE id = $1`, id, "异议不存在。")
}
