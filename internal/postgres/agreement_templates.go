package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// AgreementTemplate is one version of a programme's agreement template.
// ID 0 is the built-in default (applications.DefaultAgreementTemplate),
// in force while a programme has no approved version.
type AgreementTemplate struct {
	ID             int64
	ProgrammeID    int64
	Version        int
	Bureau         string
	Body           string
	Status         string // pending | approved | superseded | rejected; "approved" for the default
	Reason         string
	CreatedBy      int64
	CreatedByName  string
	ApprovedByName string
	CreatedAt      time.Time
	DecidedAt      time.Time
}

// Default reports whether t is the built-in default.
func (t AgreementTemplate) Default() bool { return t.ID == 0 }

const agreementTemplateColumns = `t.id, t.programme_id, t.version, t.bureau, t.body, t.status, t.reason, t.created_by,
	cu.display_name, COALESCE(au.display_name, ''), t.created_at, t.decided_at`

const agreementTemplateFrom = ` FROM agreement_templates t JOIN users cu ON cu.id = t.created_by
	LEFT JOIN users au ON au.id = t.approved_by `

func scanAgreementTemplate(row pgx.CollectableRow) (AgreementTemplate, error) {
	var t AgreementTemplate
	var decided *time.Time
	err := row.Scan(&t.ID, &t.ProgrammeID, &t.Version, &t.Bureau, &t.Body, &t.Status, &t.Reason, &t.CreatedBy,
		&t.CreatedByName, &t.ApprovedByName, &t.CreatedAt, &decided)
	if decided != nil {
		t.DecidedAt = *decided
	}
	return t, err
}

func defaultAgreementTemplate(programmeID int64) AgreementTemplate {
	return AgreementTemplate{ProgrammeID: programmeID, Bureau: applications.DefaultBureau,
		Body: applications.DefaultAgreementTemplate, Status: "approved", CreatedByName: "系统默认"}
}

// ListAgreementTemplates returns a programme's template versions, newest
// first (the built-in default is not listed).
func (db *DB) ListAgreementTemplates(ctx context.Context, programmeID int64) (_ []AgreementTemplate, err error) {
	defer wrap(&err, "ListAgreementTemplates %d", programmeID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+agreementTemplateColumns+agreementTemplateFrom+
		`WHERE t.programme_id = $1 ORDER BY t.version DESC`, programmeID)
	ts, err := pgx.CollectRows(rows, scanAgreementTemplate)
	return ts, mapError(err)
}

// CurrentAgreementTemplate returns the version in force for a programme:
// the approved one, or the built-in default.
func (db *DB) CurrentAgreementTemplate(ctx context.Context, programmeID int64) (_ AgreementTemplate, err error) {
	defer wrap(&err, "CurrentAgreementTemplate %d", programmeID)
	return currentAgreementTemplate(ctx, db.Pool, programmeID)
}

func currentAgreementTemplate(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, programmeID int64) (AgreementTemplate, error) {
	rows, _ := q.Query(ctx, `SELECT `+agreementTemplateColumns+agreementTemplateFrom+
		`WHERE t.programme_id = $1 AND t.status = 'approved'`, programmeID)
	t, err := pgx.CollectExactlyOneRow(rows, scanAgreementTemplate)
	if errors.Is(err, pgx.ErrNoRows) {
		return defaultAgreementTemplate(programmeID), nil
	}
	return t, mapError(err)
}

// ProposeAgreementTemplate drafts a new template version (pending until an
// approver other than the proposer puts it in force). Errors: Invalid,
// NotFound (programme), Conflict (a version is already pending).
func (db *DB) ProposeAgreementTemplate(ctx context.Context, actor audit.Actor, programmeID int64, bureau, body, reason string) (err error) {
	defer wrap(&err, "ProposeAgreementTemplate %d", programmeID)
	bureau, body = strings.TrimSpace(bureau), strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if err := applications.ValidateAgreementTemplate(bureau, body); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return applications.FieldError("reason", "请写明修改理由。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM programmes WHERE id = $1 FOR UPDATE`, programmeID).Scan(&id); err != nil {
			return err
		}
		var pending int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM agreement_templates WHERE programme_id = $1 AND status = 'pending'`,
			programmeID).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return applications.Errorf(applications.Conflict, "已有待审批的协议模板，请先审批或退回。")
		}
		var version int
		if err := tx.QueryRow(ctx, `INSERT INTO agreement_templates (programme_id, version, bureau, body, status, reason, created_by, created_at)
			SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, 'pending', $4, $5, $6 FROM agreement_templates WHERE programme_id = $1
			RETURNING version`, programmeID, bureau, body, strings.TrimSpace(reason), actor.ID, now).Scan(&version); err != nil {
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveTerms, "协议模板修改待审批",
			"/programmes/"+itoa64(programmeID)+"/agreement-template"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "agreement_template_propose", ObjectType: "programme",
			ObjectID: itoa64(programmeID), Outcome: audit.Success, Detail: map[string]any{"version": version, "reason": reason}})
	})
}

// DecideAgreementTemplate approves (the previous version becomes
// superseded) or rejects a pending version. Errors: NotFound, Forbidden
// (the proposer), Conflict (not pending).
func (db *DB) DecideAgreementTemplate(ctx context.Context, actor audit.Actor, id int64, approve bool) (err error) {
	defer wrap(&err, "DecideAgreementTemplate %d", id)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var programmeID, createdBy int64
		var status string
		var version int
		if err := tx.QueryRow(ctx, `SELECT programme_id, created_by, status, version FROM agreement_templates WHERE id = $1 FOR UPDATE`, id).
			Scan(&programmeID, &createdBy, &status, &version); err != nil {
			return err
		}
		if createdBy == actor.ID {
			return applications.Errorf(applications.Forbidden, "经办与审批须分离：您不能审批自己提出的协议模板。")
		}
		if status != "pending" {
			return applications.Errorf(applications.Conflict, "该版本不是待审批的协议模板。")
		}
		name, to := "agreement_template_reject", "rejected"
		if approve {
			name, to = "agreement_template_approve", "approved"
			if _, err := tx.Exec(ctx, `UPDATE agreement_templates SET status = 'superseded' WHERE programme_id = $1 AND status = 'approved'`,
				programmeID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE agreement_templates SET status = $2, approved_by = $3, decided_at = $4 WHERE id = $1`,
			id, to, actor.ID, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: name, ObjectType: "programme",
			ObjectID: itoa64(programmeID), Outcome: audit.Success, Detail: map[string]any{"version": version}})
	})
}

// AgreementTemplateProgramme returns the programme of template version id.
// NotFound.
func (db *DB) AgreementTemplateProgramme(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "AgreementTemplateProgramme", `SELECT programme_id FROM agreement_templates WHERE id = $1`, id, "协议模板版本不存在。")
}
