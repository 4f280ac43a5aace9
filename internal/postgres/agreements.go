package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Agreement is one version of an application's agreement terms.
type Agreement struct {
	ID             int64
	ApplicationID  int64
	Version        int
	Raw            []byte
	Terms          applications.Terms
	Amount         decimal.Decimal
	Status         applications.AgreementStatus
	SignedOn       time.Time
	DocumentID     int64
	Reason         string
	CreatedBy      int64
	CreatedByName  string
	ApprovedByName string
	CreatedAt      time.Time
	Document       []byte // the generated text frozen with a signed version (JSON applications.AgreementDocument); nil until then
	TemplateID     int64  // the template version it was generated from; 0: the built-in default
}

const agreementColumns = `g.id, g.application_id, g.version, g.terms::text, g.amount, g.status, g.signed_on,
	COALESCE(g.document_id, 0), g.reason, g.created_by, cu.display_name, COALESCE(au.display_name, ''), g.created_at,
	g.document::text, COALESCE(g.template_id, 0)`

const agreementFrom = ` FROM agreements g JOIN users cu ON cu.id = g.created_by LEFT JOIN users au ON au.id = g.approved_by `

func scanAgreement(row pgx.CollectableRow) (Agreement, error) {
	var g Agreement
	var raw string
	var signed *time.Time
	var doc *string
	err := row.Scan(&g.ID, &g.ApplicationID, &g.Version, &raw, &g.Amount, &g.Status, &signed, &g.DocumentID,
		&g.Reason, &g.CreatedBy, &g.CreatedByName, &g.ApprovedByName, &g.CreatedAt, &doc, &g.TemplateID)
	if err != nil {
		return g, err
	}
	if doc != nil {
		g.Document = []byte(*doc)
	}
	if signed != nil {
		g.SignedOn = *signed
	}
	g.Raw = []byte(raw)
	g.Terms, err = applications.ParseTerms(g.Raw)
	return g, err
}

// ListAgreements returns every version, newest first (old ones stay
// readable).
func (db *DB) ListAgreements(ctx context.Context, appID int64) (_ []Agreement, err error) {
	defer wrap(&err, "ListAgreements %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+agreementColumns+agreementFrom+`WHERE g.application_id = $1 ORDER BY g.version DESC`, appID)
	gs, err := pgx.CollectRows(rows, scanAgreement)
	return gs, mapError(err)
}

// SignedAgreement returns the agreement version in force. Errors: NotFound.
func (db *DB) SignedAgreement(ctx context.Context, appID int64) (_ Agreement, err error) {
	defer wrap(&err, "SignedAgreement %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+agreementColumns+agreementFrom+`WHERE g.application_id = $1 AND g.status = 'signed'`, appID)
	g, err := pgx.CollectExactlyOneRow(rows, scanAgreement)
	return g, mapError(err)
}

// SignAgreement records the signed agreement after the notice: the
// uploaded file (already stored as a blob) becomes a document, the draft
// terms version becomes the signed, immutable one, and the application is
// contracted, all in one transaction. Errors: NotFound, Conflict (notice
// not ended, objection open, wrong state), Invalid.
func (db *DB) SignAgreement(ctx context.Context, actor audit.Actor, appID int64, signedOn time.Time, d applications.Document) (err error) {
	defer wrap(&err, "SignAgreement %d", appID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateApproved {
			return applications.Errorf(applications.Conflict, "只有「公示中」且公示期满的项目可以签约（当前为「%s」）。", a.State.Label())
		}
		if a.NoticeClosedAt.IsZero() {
			return applications.Errorf(applications.Conflict, "公示期尚未结束或仍有未处理的异议（公示期 %s 至 %s），暂不能签约。",
				day.Chinese(a.NoticeStartsOn), day.Chinese(a.NoticeEndsOn))
		}
		if signedOn.Before(a.NoticeEndsOn) || signedOn.After(day.Today(now)) {
			return applications.FieldError("signed_on", "签约日期须在公示期结束之后，且不晚于今天。")
		}
		d.ApplicationID, d.Item = appID, applications.MaterialSignedAgreement
		doc, err := insertDocument(ctx, tx, now, actor, d)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE agreements SET status = 'signed', signed_on = $2, document_id = $3
			WHERE application_id = $1 AND status = 'draft'`, appID, signedOn, doc.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return applications.Errorf(applications.Conflict, "没有待签署的协议条款。")
		}
		if _, err := transitionTx(ctx, tx, now, actor, appID, applications.StateContracted, "投资协议已签署并上传", nil); err != nil {
			return err
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyOutcome, appID, "项目“"+a.Title+"”投资协议已签署，进入拨付阶段。", ""); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "agreement_sign", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"signed_on": signedOn.Format(time.DateOnly), "document_id": doc.ID}})
	})
}

// AgreementApplication returns the application of agreement version id.
// NotFound.
func (db *DB) AgreementApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "AgreementApplication", `SELECT application_id FROM agreements WHERE id = $1`, id, "协议版本不存在。")
}

// AgreementNumber returns the application's agreement number (协议编号,
// ITE-2026-0007), assigning the next one of the year the agreement was
// drawn up the first time it is asked for; once assigned it never changes. Errors: NotFound
// (no agreement yet).
func (db *DB) AgreementNumber(ctx context.Context, appID int64) (number string, err error) {
	defer wrap(&err, "AgreementNumber %d", appID)
	err = db.Pool.QueryRow(ctx, `SELECT number FROM agreement_numbers WHERE application_id = $1`, appID).Scan(&number)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return number, mapError(err)
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		// One numbering at a time: the sequence of a year has no gaps.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('agreement_numbers'))`); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT number FROM agreement_numbers WHERE application_id = $1`, appID).Scan(&number)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// The year is the agreement's: when its first version was drawn up.
		var first *time.Time
		if err := tx.QueryRow(ctx, `SELECT min(created_at) FROM agreements WHERE application_id = $1`, appID).Scan(&first); err != nil {
			return err
		}
		if first == nil {
			return applications.Errorf(applications.NotFound, "该项目尚无协议条款（立项决定批准后生成）。")
		}
		year := day.Of(*first).Year()
		var seq int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(seq), 0) + 1 FROM agreement_numbers WHERE year = $1`, year).Scan(&seq); err != nil {
			return err
		}
		number = fmt.Sprintf("ITE-%d-%04d", year, seq)
		_, err = tx.Exec(ctx, `INSERT INTO agreement_numbers (application_id, number, year, seq, assigned_at) VALUES ($1, $2, $3, $4, $5)`,
			appID, number, year, seq, now)
		return err
	})
	return number, err
}

// FreezeAgreementDocument stores the generated text of a signed (or
// superseded) version and the template version it came from, once: a
// version that already has its text keeps it. It reports whether it
// stored. Errors: Conflict (a draft: its text is not final).
func (db *DB) FreezeAgreementDocument(ctx context.Context, agreementID, templateID int64, doc []byte) (stored bool, err error) {
	defer wrap(&err, "FreezeAgreementDocument %d", agreementID)
	var tpl *int64
	if templateID != 0 {
		tpl = &templateID
	}
	tag, err := db.Pool.Exec(ctx, `UPDATE agreements SET document = $2, template_id = $3
		WHERE id = $1 AND document IS NULL AND status <> 'draft'`, agreementID, string(doc), tpl)
	if err != nil {
		return false, mapError(err)
	}
	return tag.RowsAffected() == 1, nil
}
