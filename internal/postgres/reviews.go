package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
)

// Declare records an expert's conflict declaration: no conflict (then the
// materials open) or a recusal with a reason (then staff draw a
// replacement). Errors: NotFound, Conflict (already declared), Invalid.
func (db *DB) Declare(ctx context.Context, actor audit.Actor, appID, expertID int64, recuse bool, reason string) (err error) {
	defer wrap(&err, "Declare %d, expertID %d", appID, expertID)
	if recuse && reason == "" {
		return applications.FieldError("reason", "回避须说明理由。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var id int64
		var status applications.AssignmentStatus
		if err := tx.QueryRow(ctx, `SELECT id, status FROM panel_assignments WHERE application_id = $1 AND expert_id = $2 FOR UPDATE`,
			appID, expertID).Scan(&id, &status); err != nil {
			return err
		}
		if status != applications.AssignmentAssigned {
			return applications.Errorf(applications.Conflict, "您已作出过声明，不能重复声明。")
		}
		newStatus := applications.AssignmentDeclared
		if recuse {
			newStatus = applications.AssignmentRecused
		}
		if _, err := tx.Exec(ctx, `UPDATE panel_assignments SET status = $2, recusal_reason = $3, declared_at = $4 WHERE id = $1`,
			id, string(newStatus), reason, now); err != nil {
			return err
		}
		if recuse {
			if err := notifyLiaison(ctx, tx, now, NotifyPanelRefill, appID, "有专家回避，请为该项目补抽专家。", "/applications/"+strconv.FormatInt(appID, 10)+"#panel"); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "conflict_declaration", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"assignment_id": id, "recused": recuse, "reason": reason}})
	})
}

// StoredReview is a submitted review with its scores.
type StoredReview struct {
	AssignmentID    int64
	ExpertID        int64
	ExpertName      string
	Scores          map[string]decimal.Decimal
	Comments        map[string]string
	Overall         string
	Recommendation  string
	SuggestedAmount decimal.NullDecimal
	Total           decimal.Decimal
	SubmittedAt     time.Time
}

// SubmitReview locks an expert's scores. When it completes the panel (as
// many submitted reviews as the panel size, none outstanding) the
// application moves to reviewed in the same transaction. Errors:
// NotFound, Conflict (not declared, already submitted), Invalid.
func (db *DB) SubmitReview(ctx context.Context, actor audit.Actor, appID, expertID int64, in applications.ReviewInput) (err error) {
	defer wrap(&err, "SubmitReview %d, expertID %d", appID, expertID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		id, err := lockScorableAssignment(ctx, tx, appID, expertID, "评审意见已提交并锁定，不能再次提交或修改。")
		if err != nil {
			return err
		}
		if a.State != applications.StateUnderReview {
			return applications.Errorf(applications.Conflict, "本项目已不在评审阶段。")
		}
		p, err := findProgramme(ctx, tx, a.ProgrammeID, false)
		if err != nil {
			return err
		}
		total, err := p.ValidateReview(in)
		if err != nil {
			return err
		}
		scores, _ := json.Marshal(in.Scores)
		comments, _ := json.Marshal(in.Comments)
		if _, err := tx.Exec(ctx, `INSERT INTO reviews (assignment_id, scores, comments, overall_comment, recommendation, suggested_amount, total, submitted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, scores, comments, in.Overall, in.Recommendation, in.SuggestedAmount, total, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE panel_assignments SET status = 'submitted' WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM review_drafts WHERE assignment_id = $1`, id); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "review_submit", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"assignment_id": id, "total": total.String(), "recommendation": in.Recommendation}}); err != nil {
			return err
		}
		var submitted, outstanding int
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'submitted'), count(*) FILTER (WHERE status IN ('assigned','declared'))
			FROM panel_assignments WHERE application_id = $1`, appID).Scan(&submitted, &outstanding); err != nil {
			return err
		}
		if submitted >= p.PanelSize && outstanding == 0 {
			if _, err := transitionTx(ctx, tx, now, audit.Actor{Name: "系统", Role: "system"}, appID, applications.StateReviewed, "全部专家已提交评审意见", nil); err != nil {
				return err
			}
			return notifyLiaison(ctx, tx, now, NotifyReviewsComplete, appID, "项目“"+a.Title+"”专家评审已完成，请拟定立项决定。", "/applications/"+strconv.FormatInt(appID, 10)+"#decisions")
		}
		return nil
	})
}

// ListReviews returns the submitted reviews of an application.
func (db *DB) ListSubmittedReviews(ctx context.Context, appID int64) (_ []StoredReview, err error) {
	defer wrap(&err, "ListSubmittedReviews %d", appID)
	rows, _ := db.Pool.Query(ctx, submittedReviewsSQL, appID)
	rs, err := pgx.CollectRows(rows, scanStoredReview)
	return rs, mapError(err)
}

// submittedReviewsSQL reads an application's locked reviews with their
// experts' names, in assignment order.
const submittedReviewsSQL = `
	SELECT r.assignment_id, pa.expert_id, u.display_name, r.scores, r.comments, r.overall_comment, r.recommendation,
	       r.suggested_amount, r.total, r.submitted_at
	FROM reviews r JOIN panel_assignments pa ON pa.id = r.assignment_id JOIN users u ON u.id = pa.expert_id
	WHERE pa.application_id = $1 ORDER BY r.assignment_id`

// scanStoredReview scans a row of submittedReviewsSQL, its scores and
// comments from their JSON.
func scanStoredReview(row pgx.CollectableRow) (StoredReview, error) {
	var r StoredReview
	var scores, comments []byte
	err := row.Scan(&r.AssignmentID, &r.ExpertID, &r.ExpertName, &scores, &comments, &r.Overall, &r.Recommendation,
		&r.SuggestedAmount, &r.Total, &r.SubmittedAt)
	if err == nil {
		err = json.Unmarshal(scores, &r.Scores)
	}
	if err == nil {
		err = json.Unmarshal(comments, &r.Comments)
	}
	return r, err
}

// ReviewResult computes the application's result from its locked reviews
// under the rules of its programme p.
func (db *DB) ReviewResult(ctx context.Context, a applications.Application, p applications.Programme) (_ applications.ReviewResult, _ []StoredReview, err error) {
	defer wrap(&err, "ReviewResult %d", a.ID)
	rs, err := db.ListSubmittedReviews(ctx, a.ID)
	if err != nil {
		return applications.ReviewResult{}, nil, err
	}
	return AggregateReviews(p, rs), rs, nil
}

// AggregateReviews is the result of locked reviews rs under the rules of
// programme p.
func AggregateReviews(p applications.Programme, rs []StoredReview) applications.ReviewResult {
	in := make([]applications.SubmittedReview, len(rs))
	for i, r := range rs {
		in[i] = applications.SubmittedReview{Scores: r.Scores, Total: r.Total, Recommendation: r.Recommendation}
	}
	return p.Aggregate(in)
}

// SaveReviewDraft keeps what an expert typed in the scoring form without
// submitting it (保存草稿): nothing is locked, nothing counts towards the
// result, staff do not see it. Saving again replaces the draft. Errors:
// NotFound (not on the panel), Conflict (not declared yet, recused, or
// already submitted).
func (db *DB) SaveReviewDraft(ctx context.Context, actor audit.Actor, appID, expertID int64, form map[string]string) (err error) {
	defer wrap(&err, "SaveReviewDraft %d, expertID %d", appID, expertID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		id, err := lockScorableAssignment(ctx, tx, appID, expertID, "评审意见已提交并锁定，不能再保存草稿。")
		if err != nil {
			return err
		}
		b, err := json.Marshal(form)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO review_drafts (assignment_id, form, saved_at) VALUES ($1, $2, $3)
			ON CONFLICT (assignment_id) DO UPDATE SET form = EXCLUDED.form, saved_at = EXCLUDED.saved_at`, id, b, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "review_draft_saved", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success, Detail: map[string]any{"assignment_id": id}})
	})
}

// FindReviewDraft returns the expert's saved draft of the scoring form and
// when it was saved; no draft is an empty form and the zero time.
func (db *DB) FindReviewDraft(ctx context.Context, appID, expertID int64) (_ map[string]string, _ time.Time, err error) {
	defer wrap(&err, "FindReviewDraft %d, expertID %d", appID, expertID)
	var b []byte
	var at time.Time
	err = db.Pool.QueryRow(ctx, `SELECT d.form, d.saved_at FROM review_drafts d JOIN panel_assignments x ON x.id = d.assignment_id
		WHERE x.application_id = $1 AND x.expert_id = $2`, appID, expertID).Scan(&b, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return map[string]string{}, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	form := map[string]string{}
	if err := json.Unmarshal(b, &form); err != nil {
		return nil, time.Time{}, err
	}
	return form, at, nil
}

// ConflictParties is whom an expert declares a conflict about: the
// applicant enterprise and its people as recorded on its profile and on
// the application (the team section names founders and members).
type ConflictParties struct {
	Enterprise, USCC string
	LegalRep         string
	Contact          string
	Lead             string
	Team             string
}

// FindConflictParties reads the parties of an application. Errors: NotFound.
func (db *DB) FindConflictParties(ctx context.Context, appID int64) (_ ConflictParties, err error) {
	defer wrap(&err, "FindConflictParties %d", appID)
	var c ConflictParties
	err = db.Pool.QueryRow(ctx, `SELECT e.name, e.uscc, COALESCE(e.legal_rep, ''), COALESCE(e.contact_name, ''), a.lead_name,
		COALESCE(a.content->>'team', '')
		FROM applications a JOIN enterprises e ON e.id = a.enterprise_id WHERE a.id = $1`, appID).
		Scan(&c.Enterprise, &c.USCC, &c.LegalRep, &c.Contact, &c.Lead, &c.Team)
	return c, mapError(err)
}

// lockScorableAssignment locks the expert's assignment on the panel and
// returns its id when the expert may score now: declared, not recused, not
// yet submitted (lockedMsg says what a submitted review can no longer do).
// Submitting and saving a draft take the same lock in the same order.
func lockScorableAssignment(ctx context.Context, tx pgx.Tx, appID, expertID int64, lockedMsg string) (int64, error) {
	var id int64
	var status applications.AssignmentStatus
	if err := tx.QueryRow(ctx, `SELECT id, status FROM panel_assignments WHERE application_id = $1 AND expert_id = $2 FOR UPDATE`,
		appID, expertID).Scan(&id, &status); err != nil {
		return 0, err
	}
	switch status {
	case applications.AssignmentAssigned:
		return 0, applications.Errorf(applications.Conflict, "请先声明是否存在利益冲突。")
	case applications.AssignmentRecused:
		return 0, applications.Errorf(applications.Conflict, "您已回避本项目，不能评分。")
	case applications.AssignmentSubmitted:
		return 0, applications.Errorf(applications.Conflict, "%s", lockedMsg)
	}
	return id, nil
}
