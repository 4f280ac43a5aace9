package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Acceptance (结题验收, DOMAIN §16): staff record it with its report files;
// the latest one decides whether a lapse may close as a grant and whether
// an acceptance-gated tranche may be paid.

const acceptanceColumns = `c.id, c.application_id, c.accepted_on, c.result, c.conditions, c.report_doc,
	COALESCE(c.audit_doc, 0), u.display_name, c.recorded_at`

func scanAcceptance(row pgx.CollectableRow) (applications.Acceptance, error) {
	var a applications.Acceptance
	err := row.Scan(&a.ID, &a.ApplicationID, &a.AcceptedOn, &a.Result, &a.Conditions, &a.ReportDoc, &a.AuditDoc,
		&a.RecordedBy, &a.RecordedAt)
	return a, err
}

// ListAcceptances returns a project's acceptances, newest first.
func (db *DB) ListAcceptances(ctx context.Context, appID int64) (_ []applications.Acceptance, err error) {
	defer wrap(&err, "ListAcceptances %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+acceptanceColumns+` FROM acceptances c JOIN users u ON u.id = c.recorded_by
		WHERE c.application_id = $1 ORDER BY c.id DESC`, appID)
	as, err := pgx.CollectRows(rows, scanAcceptance)
	return as, mapError(err)
}

// latestAcceptanceSQL reads a project's latest acceptance (no row when none).
const latestAcceptanceSQL = `SELECT ` + acceptanceColumns + ` FROM acceptances c JOIN users u ON u.id = c.recorded_by
	WHERE c.application_id = $1 ORDER BY c.id DESC LIMIT 1`

// latestAcceptance is a project's latest acceptance, nil when none.
func latestAcceptance(ctx context.Context, q ledgerQuerier, appID int64) (*applications.Acceptance, error) {
	rows, _ := q.Query(ctx, latestAcceptanceSQL, appID)
	a, err := pgx.CollectExactlyOneRow(rows, scanAcceptance)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// RecordAcceptance records staff's acceptance of a project with the
// acceptance report and, where the programme requires one, the special
// audit report; a retried request (same key) records nothing more.
// Errors: NotFound, Conflict (state), Invalid (naming the field).
func (db *DB) RecordAcceptance(ctx context.Context, actor audit.Actor, appID int64, in applications.AcceptanceInput, key string,
	report, auditReport *applications.Document) (_ int64, err error) {
	defer wrap(&err, "RecordAcceptance %d", appID)
	if err := checkIdempotencyKey(key); err != nil {
		return 0, err
	}
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if err := tx.QueryRow(ctx, `SELECT id FROM acceptances WHERE idempotency_key = $1`, key).Scan(&id); err == nil {
			return nil
		}
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		var requiresAudit bool
		if err := tx.QueryRow(ctx, `SELECT requires_special_audit FROM programmes WHERE id = $1`, a.ProgrammeID).Scan(&requiresAudit); err != nil {
			return err
		}
		if in, err = applications.CheckAcceptance(a.State, in, day.Today(now), report != nil, auditReport != nil, requiresAudit); err != nil {
			return err
		}
		reportID, err := insertEvidence(ctx, tx, now, actor, appID, report)
		if err != nil {
			return err
		}
		auditID, err := insertEvidence(ctx, tx, now, actor, appID, auditReport)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO acceptances (application_id, accepted_on, result, conditions, report_doc, audit_doc,
			recorded_by, recorded_at, idempotency_key) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`,
			appID, day.Date(in.AcceptedOn), string(in.Result), in.Conditions, reportID, auditID, actor.ID, now, key).Scan(&id); err != nil {
			return err
		}
		detail := map[string]any{"application_id": appID, "accepted_on": day.Date(in.AcceptedOn).Format("2006-01-02"),
			"result": in.Result, "conditions": in.Conditions, "report_doc": *reportID}
		if auditID != nil {
			detail["audit_doc"] = *auditID
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "acceptance_record", ObjectType: "acceptance",
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: detail})
	})
	return id, mapError(err)
}

// checkGrantEnding refuses closing a lapse as a grant unless the project's
// latest acceptance passed (DOMAIN §16). Errors: Conflict.
func checkGrantEnding(ctx context.Context, tx pgx.Tx, appID int64) error {
	acc, err := latestAcceptance(ctx, tx, appID)
	if err != nil {
		return err
	}
	return applications.CheckGrantEnding(acc)
}
