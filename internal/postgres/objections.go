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
	ID           int64
	ReceivedOn   time.Time
	Body         string
	Status       applications.ObjectionStatus // open | proposed (uphold awaiting an approver) | upheld | dismissed
	Resolution   string
	ProposedBy   int64  // the staff member who proposed upholding it, 0 if none
	CheckComment string // an approver's reason for sending a proposal back
}

// ListObjections returns an application's objections.
func (db *DB) ListObjections(ctx context.Context, appID int64) (_ []Objection, err error) {
	defer wrap(&err, "ListObjections %d", appID)
	rows, _ := db.Pool.Query(ctx, objectionsSQL, appID)
	os, err := pgx.CollectRows(rows, scanObjection)
	return os, mapError(err)
}

const objectionsSQL = `SELECT id, received_on, body, status, resolution, COALESCE(proposed_by, 0), check_comment
	FROM objections WHERE application_id = $1 ORDER BY id`

func scanObjection(r pgx.CollectableRow) (Objection, error) {
	var o Objection
	return o, r.Scan(&o.ID, &o.ReceivedOn, &o.Body, &o.Status, &o.Resolution, &o.ProposedBy, &o.CheckComment)
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
			return applications.FieldError("received_on", "收到异议的日期须在公示期（"+day.Chinese(a.NoticeStartsOn)+" 至 "+day.Chinese(a.NoticeEndsOn)+"）内，且不晚于今天。")
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

// ResolveObjection is staff's handling of an open objection. Dismissing
// it is staff's decision alone and final. Upholding it would end the
// project, so it is only proposed (status proposed) and waits for an
// approver (ApproveObjection); the approvers are told. While proposed the
// notice cannot end. Errors: NotFound, Conflict (not open), Invalid.
func (db *DB) ResolveObjection(ctx context.Context, actor audit.Actor, objectionID int64, uphold bool, resolution string) (err error) {
	defer wrap(&err, "ResolveObjection %d", objectionID)
	resolution = strings.TrimSpace(resolution)
	if resolution == "" {
		return applications.FieldError("resolution", "请写明处理意见。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		appID, status, _, err := lockObjection(ctx, tx, objectionID)
		if err != nil {
			return err
		}
		if status != applications.ObjectionOpen {
			return applications.Errorf(applications.Conflict, "该异议已处理或已报审批。")
		}
		if uphold {
			a, err := findApplication(ctx, tx, appID, false)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE objections SET status = $5, resolution = $2, proposed_by = $3, proposed_at = $4,
				checked_by = NULL, checked_at = NULL WHERE id = $1`, objectionID, resolution, actor.ID, now, string(applications.ObjectionProposed)); err != nil {
				return err
			}
			if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveObjection, "公示异议拟认定成立（不予立项）待审批：“"+a.Title+"”", "/applications/"+itoa64(appID)+"#notice"); err != nil {
				return err
			}
			return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "objection_propose", ObjectType: "application",
				ObjectID: itoa64(appID), Outcome: audit.Success,
				Detail: map[string]any{"objection_id": objectionID, "upheld": true, "resolution": resolution}})
		}
		if _, err := tx.Exec(ctx, `UPDATE objections SET status = $5, resolution = $2, resolved_by = $3, resolved_at = $4 WHERE id = $1`,
			objectionID, resolution, actor.ID, now, string(applications.ObjectionDismissed)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "objection_resolve", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"objection_id": objectionID, "upheld": false, "resolution": resolution}})
	})
}

// lockObjection locks an objection's row and returns its application,
// status and proposer (0 when none).
func lockObjection(ctx context.Context, tx pgx.Tx, id int64) (appID int64, status applications.ObjectionStatus, proposedBy int64, err error) {
	err = tx.QueryRow(ctx, `SELECT application_id, status, COALESCE(proposed_by, 0) FROM objections WHERE id = $1 FOR UPDATE`, id).
		Scan(&appID, &status, &proposedBy)
	return appID, status, proposedBy, err
}

// lockProposedObjection locks an objection an approver acts on and returns
// its application and proposer, refusing one with nothing proposed
// (Conflict) and the proposer (Forbidden, through chk).
func lockProposedObjection(ctx context.Context, tx pgx.Tx, chk *checker, id int64) (appID, proposedBy int64, err error) {
	appID, status, proposedBy, err := lockObjection(ctx, tx, id)
	if err != nil {
		return 0, 0, err
	}
	if status != applications.ObjectionProposed {
		return 0, 0, applications.Errorf(applications.Conflict, "该异议没有待审批的处理意见。请刷新页面查看最新状态。")
	}
	return appID, proposedBy, chk.notMaker(proposedBy, "异议处理意见")
}

// ApproveObjection is an approver's approval of staff's proposal to uphold
// an objection: the objection is upheld and the application rejected, in
// one transaction, and the enterprise is told. The proposer can never
// approve it. Errors: NotFound, Forbidden (the proposer), Conflict (not
// proposed, or the application no longer in its notice).
func (db *DB) ApproveObjection(ctx context.Context, actor audit.Actor, objectionID int64) (err error) {
	defer wrap(&err, "ApproveObjection %d", objectionID)
	err = db.checkTx(ctx, actor, "objection", objectionID, "approve", func(tx pgx.Tx, now time.Time, chk *checker) error {
		appID, proposedBy, err := lockProposedObjection(ctx, tx, chk, objectionID)
		if err != nil {
			return err
		}
		var resolution string
		if err := tx.QueryRow(ctx, `UPDATE objections SET status = $4, checked_by = $2, checked_at = $3, resolved_by = $2, resolved_at = $3
			WHERE id = $1 RETURNING resolution`, objectionID, actor.ID, now, string(applications.ObjectionUpheld)).Scan(&resolution); err != nil {
			return err
		}
		if _, err := transitionTx(ctx, tx, now, actor, appID, applications.StateRejected, "公示异议成立："+resolution, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE agreements SET status = 'superseded' WHERE application_id = $1 AND status = 'draft'`, appID); err != nil {
			return err
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyOutcome, appID, "公示期间异议成立，项目不予立项："+resolution, ""); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "objection_approve", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"objection_id": objectionID, "upheld": true, "resolution": resolution, "proposed_by": proposedBy}})
	})
	return mapError(err)
}

// SendBackObjection returns staff's proposal to uphold an objection: the
// objection is open again, with the approver's comment, and its proposer
// is told. Errors: NotFound, Forbidden (the proposer), Conflict, Invalid.
func (db *DB) SendBackObjection(ctx context.Context, actor audit.Actor, objectionID int64, comment string) (err error) {
	defer wrap(&err, "SendBackObjection %d", objectionID)
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return applications.FieldError("comment", "退回须写明原因。")
	}
	err = db.checkTx(ctx, actor, "objection", objectionID, "send_back", func(tx pgx.Tx, now time.Time, chk *checker) error {
		appID, proposedBy, err := lockProposedObjection(ctx, tx, chk, objectionID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE objections SET status = $5, checked_by = $2, checked_at = $3, check_comment = $4
			WHERE id = $1`, objectionID, actor.ID, now, comment, string(applications.ObjectionOpen)); err != nil {
			return err
		}
		if err := notify(ctx, tx, now, NotifySentBack, proposedBy, "异议处理意见被审批人退回："+comment, "/applications/"+itoa64(appID)+"#notice"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "objection_send_back", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"objection_id": objectionID, "comment": comment}})
	})
	return mapError(err)
}

// ObjectionApplication returns the application of objection id. NotFound.
func (db *DB) ObjectionApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "ObjectionApplication", `SELECT application_id FROM objections WHERE id = $1`, id, "异议不存在。")
}
