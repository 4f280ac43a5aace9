package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// Verified enterprises (issue 16.4): a self-registered enterprise may
// draft but not submit until staff have checked its licence copy against
// the 统一社会信用代码, name and legal representative, or refused it with a
// reason the enterprise sees.

// Verification states of an enterprise.
const (
	VerificationPending  = "pending"
	VerificationVerified = "verified"
	VerificationRefused  = "refused"
)

// EnterpriseVerification is an enterprise as the staff's verification page
// shows it, with the licence copies its applications carry.
type EnterpriseVerification struct {
	Enterprise
	LegalRep    string
	Status      string
	Note        string
	CreatedAt   time.Time
	LicenceDocs []int64 // documents of the business licence item, newest first
}

// notifyVerification puts a newly registered enterprise on staff's to-do
// (their inbox).
func notifyVerification(ctx context.Context, tx pgx.Tx, now time.Time, e Enterprise) error {
	return notifyRole(ctx, tx, now, NotifyVerification, applications.RoleStaff,
		"新注册企业待核验："+e.Name+"（"+e.USCC+"）", "/enterprises/verification")
}

// ListEnterpriseVerifications returns the enterprises awaiting
// verification or refused, oldest first.
func (db *DB) ListEnterpriseVerifications(ctx context.Context) (_ []EnterpriseVerification, err error) {
	defer wrap(&err, "ListEnterpriseVerifications")
	rows, _ := db.Pool.Query(ctx, `
		SELECT e.id, e.name, e.uscc, COALESCE(e.legal_rep, ''), e.verification, e.verification_note, e.created_at,
		       COALESCE((SELECT array_agg(d.id ORDER BY d.id DESC) FROM documents d JOIN applications a ON a.id = d.application_id
		                 WHERE a.enterprise_id = e.id AND d.item = $1), '{}')
		FROM enterprises e WHERE e.verification <> 'verified' ORDER BY e.verification, e.created_at, e.id`,
		string(applications.MaterialBusinessLicense))
	vs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (EnterpriseVerification, error) {
		var v EnterpriseVerification
		return v, row.Scan(&v.ID, &v.Name, &v.USCC, &v.LegalRep, &v.Status, &v.Note, &v.CreatedAt, &v.LicenceDocs)
	})
	return vs, mapError(err)
}

// EnterpriseVerificationStatus returns an enterprise's verification state
// and the refusal's reason. Errors: NotFound.
func (db *DB) EnterpriseVerificationStatus(ctx context.Context, id int64) (status, note string, err error) {
	defer wrap(&err, "EnterpriseVerificationStatus %d", id)
	err = db.Pool.QueryRow(ctx, `SELECT verification, verification_note FROM enterprises WHERE id = $1`, id).Scan(&status, &note)
	return status, note, mapError(err)
}

// VerifyEnterprise records staff's check of an enterprise: verified, or
// refused with a reason; the enterprise's users are told in their inbox
// and the decision is audited. Errors: Invalid (a refusal without a
// reason), NotFound.
func (db *DB) VerifyEnterprise(ctx context.Context, actor audit.Actor, id int64, verify bool, reason string) (err error) {
	defer wrap(&err, "VerifyEnterprise %d", id)
	reason = strings.TrimSpace(reason)
	if !verify && reason == "" {
		return applications.FieldError("reason", "不予通过时须写明原因，企业将看到该原因。")
	}
	status, event, title := VerificationVerified, "enterprise_verify", "企业信息已通过核验，可以提交申报。"
	if !verify {
		status, event, title = VerificationRefused, "enterprise_verify_refused", "企业信息未通过核验："+reason
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var before string
		if err := tx.QueryRow(ctx, `SELECT verification FROM enterprises WHERE id = $1 FOR UPDATE`, id).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE enterprises SET verification = $2, verification_note = $3, verified_by = $4, verified_at = $5
			WHERE id = $1`, id, status, reason, actor.ID, now); err != nil {
			return err
		}
		if _, err := insertNotifications(ctx, tx, `SELECT id, $2::text, $3::text, $4::timestamptz, $5::text FROM users
			WHERE enterprise_id = $1 AND NOT disabled`, id, title, "/applications", now, string(NotifyOutcome)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: event, ObjectType: "enterprise",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": before, "after": status, "reason": reason}})
	})
}

// verifiedCheck refuses an enterprise's submission until staff have
// verified it (issue 16.4).
func verifiedCheck(ctx context.Context, tx pgx.Tx, a applications.Application) error {
	var status, note string
	if err := tx.QueryRow(ctx, `SELECT verification, verification_note FROM enterprises WHERE id = $1`, a.EnterpriseID).
		Scan(&status, &note); err != nil {
		return err
	}
	switch status {
	case VerificationPending:
		return applications.Errorf(applications.Conflict, "贵企业的注册信息尚待经办人员核验（营业执照与统一社会信用代码、企业名称、法定代表人是否一致），核验通过后方可提交申报；草稿可继续填写。")
	case VerificationRefused:
		return applications.Errorf(applications.Conflict, "贵企业的注册信息未通过核验，暂不能提交申报。原因：%s。请按原因更正（如重新上传营业执照）后联系经办人员重新核验。", note)
	}
	return nil
}
