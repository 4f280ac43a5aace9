package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
)

// Changes of an agreement's terms: proposed by staff, approved by an
// approver, as a new agreement version.

// ProposeTerms drafts a new terms version for a signed agreement (a change
// needs an approver). Errors: NotFound, Conflict, Invalid.
func (db *DB) ProposeTerms(ctx context.Context, actor audit.Actor, appID int64, raw []byte, reason string) (err error) {
	defer wrap(&err, "ProposeTerms %d", appID)
	if _, err := applications.ParseTerms(raw); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return applications.FieldError("reason", "请写明变更理由。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if _, err := findApplication(ctx, tx, appID, true); err != nil {
			return err
		}
		var version int
		var amount decimal.Decimal
		err := tx.QueryRow(ctx, `SELECT version, amount FROM agreements WHERE application_id = $1 AND status = 'signed'`, appID).Scan(&version, &amount)
		if errors.Is(err, pgx.ErrNoRows) {
			return applications.Errorf(applications.Conflict, "协议尚未签署，条款可直接在立项决定中调整。")
		}
		if err != nil {
			return err
		}
		var drafts int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM agreements WHERE application_id = $1 AND status = 'draft'`, appID).Scan(&drafts); err != nil {
			return err
		}
		if drafts > 0 {
			return applications.Errorf(applications.Conflict, "已有待审批的条款变更，请先审批或作废。")
		}
		var max int
		if err := tx.QueryRow(ctx, `SELECT max(version) FROM agreements WHERE application_id = $1`, appID).Scan(&max); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO agreements (application_id, version, terms, amount, status, reason, created_by, created_at)
			VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7)`, appID, max+1, raw, amount, reason, actor.ID, now); err != nil {
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveTerms, "协议条款变更待审批", "/applications/"+itoa64(appID)+"/agreement"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "terms_propose", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"version": max + 1, "reason": reason}})
	})
}

// ApproveTerms puts a proposed version in force; the previous one is kept,
// marked superseded. Errors: NotFound, Forbidden (the proposer), Conflict.
func (db *DB) ApproveTerms(ctx context.Context, actor audit.Actor, agreementID int64) (err error) {
	defer wrap(&err, "ApproveTerms %d", agreementID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var appID, createdBy int64
		var status applications.AgreementStatus
		var version int
		if err := tx.QueryRow(ctx, `SELECT application_id, created_by, status, version FROM agreements WHERE id = $1 FOR UPDATE`, agreementID).
			Scan(&appID, &createdBy, &status, &version); err != nil {
			return err
		}
		if createdBy == actor.ID {
			return applications.Errorf(applications.Forbidden, "经办与审批须分离：您不能审批自己提出的条款变更。")
		}
		if status != applications.AgreementDraft || version == 1 {
			return applications.Errorf(applications.Conflict, "该版本不是待审批的条款变更。")
		}
		// The amended version keeps the agreement's signing date: the
		// conversion window still runs from the original signing.
		var signedOn time.Time
		if err := tx.QueryRow(ctx, `UPDATE agreements SET status = 'superseded' WHERE application_id = $1 AND status = 'signed'
			RETURNING signed_on`, appID).Scan(&signedOn); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE agreements SET status = 'signed', signed_on = $2, approved_by = $3 WHERE id = $1`,
			agreementID, signedOn, actor.ID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "terms_approve", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"version": version}})
	})
}
