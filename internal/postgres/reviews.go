package postgres

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
)

// Assignment is one expert on one application's panel.
type Assignment struct {
	ID            int64
	ApplicationID int64
	ExpertID      int64
	ExpertName    string
	Method        string // random | manual | replacement
	Seed          int64
	Status        string // assigned | declared | recused | submitted
	RecusalReason string
	AssignedAt    time.Time
	Title         string // the application's, for the expert's list
	State         applications.State
}

const assignmentColumns = `pa.id, pa.application_id, pa.expert_id, u.display_name, pa.method, COALESCE(pa.draw_seed, 0),
	pa.status, pa.recusal_reason, pa.assigned_at, a.title, a.state`

const assignmentFrom = ` FROM panel_assignments pa JOIN users u ON u.id = pa.expert_id JOIN applications a ON a.id = pa.application_id `

func scanAssignment(row pgx.CollectableRow) (Assignment, error) {
	var x Assignment
	var state string
	err := row.Scan(&x.ID, &x.ApplicationID, &x.ExpertID, &x.ExpertName, &x.Method, &x.Seed, &x.Status,
		&x.RecusalReason, &x.AssignedAt, &x.Title, &state)
	x.State = applications.State(state)
	return x, err
}

// ListAssignments returns an application's panel (staff view).
func (db *DB) ListAssignments(ctx context.Context, appID int64) ([]Assignment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`WHERE pa.application_id = $1 ORDER BY pa.id`, appID)
	xs, err := pgx.CollectRows(rows, scanAssignment)
	return xs, mapError(err)
}

// ListExpertAssignments returns an expert's assignments, open ones first.
func (db *DB) ListExpertAssignments(ctx context.Context, expertID int64) ([]Assignment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`WHERE pa.expert_id = $1
		ORDER BY pa.status IN ('submitted','recused'), pa.id DESC`, expertID)
	xs, err := pgx.CollectRows(rows, scanAssignment)
	return xs, mapError(err)
}

// FindAssignment returns the assignment of an expert to an application.
// Errors: NotFound (the expert is not on that panel).
func (db *DB) FindAssignment(ctx context.Context, appID, expertID int64) (Assignment, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`WHERE pa.application_id = $1 AND pa.expert_id = $2`, appID, expertID)
	x, err := pgx.CollectExactlyOneRow(rows, scanAssignment)
	return x, mapError(err)
}

// eligibleExperts returns the active experts of a sector without a
// conflict with the enterprise (same employer 信用代码, declared tie) and
// not yet on this application's panel (recused ones included), by user ID.
func eligibleExperts(ctx context.Context, tx pgx.Tx, a applications.Application) ([]int64, error) {
	rows, _ := tx.Query(ctx, `
		SELECT u.id FROM users u JOIN expert_profiles x ON x.user_id = u.id
		WHERE u.role = 'expert' AND NOT u.disabled AND x.active
		  AND $1 = ANY (x.sectors)
		  AND x.employer_uscc <> $2
		  AND NOT ($3 = ANY (x.tied_enterprises))
		  AND NOT EXISTS (SELECT 1 FROM panel_assignments pa WHERE pa.application_id = $4 AND pa.expert_id = u.id)
		ORDER BY u.id`, string(a.Sector), a.EnterpriseUSCC, a.EnterpriseID, a.ID)
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// panelOpen counts the assignments still counting toward the panel (not recused).
func panelOpen(ctx context.Context, tx pgx.Tx, appID int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM panel_assignments WHERE application_id = $1 AND status <> 'recused'`, appID).Scan(&n)
	return n, err
}

// DrawPanel draws experts at random to fill the panel up to the
// programme's size (after recusals, the draw is a replacement). The draw
// is a seeded shuffle of the eligible experts in ID order, so it can be
// shown again from the seed recorded on each assignment and in the audit
// log. Errors: NotFound, Conflict (wrong state, not enough experts).
func (db *DB) DrawPanel(ctx context.Context, actor audit.Actor, appID int64, seed int64) ([]int64, error) {
	var chosen []int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateUnderReview {
			return applications.Errorf(applications.Conflict, "只有「专家评审中」的申报可以抽取专家（当前为「%s」）。", a.State.Label())
		}
		p, err := findProgramme(ctx, tx, a.ProgrammeID, false)
		if err != nil {
			return err
		}
		have, err := panelOpen(ctx, tx, appID)
		if err != nil {
			return err
		}
		need := p.PanelSize - have
		if need <= 0 {
			return applications.Errorf(applications.Conflict, "评审专家已满 %d 人，无需再抽取。", p.PanelSize)
		}
		candidates, err := eligibleExperts(ctx, tx, a)
		if err != nil {
			return err
		}
		if len(candidates) < need {
			return applications.Errorf(applications.Conflict, "符合条件（领域匹配、无回避关系、在库启用）的专家只有 %d 人，还需 %d 人。请补充专家库或手动指定。", len(candidates), need)
		}
		shuffled := append([]int64(nil), candidates...)
		rng := rand.New(rand.NewPCG(uint64(seed), 0x1751))
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		chosen = shuffled[:need]
		method := "random"
		if have > 0 {
			method = "replacement"
		}
		for _, id := range chosen {
			if _, err := tx.Exec(ctx, `INSERT INTO panel_assignments (application_id, expert_id, method, draw_seed, assigned_by, assigned_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, appID, id, method, seed, actor.ID, now); err != nil {
				return err
			}
			if err := notify(ctx, tx, now, id, "您被抽取为项目“"+a.Title+"”的评审专家，请先声明是否存在利益冲突。", "/reviews"); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "panel_draw", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"seed": seed, "method": method, "candidates": candidates, "chosen": chosen}})
	})
	return chosen, err
}

// AssignExpert puts a chosen expert on the panel by hand, still refusing
// a conflicted or inactive one. Errors: NotFound, Conflict, Invalid.
func (db *DB) AssignExpert(ctx context.Context, actor audit.Actor, appID, expertID int64) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateUnderReview {
			return applications.Errorf(applications.Conflict, "只有「专家评审中」的申报可以指定专家。")
		}
		p, err := findProgramme(ctx, tx, a.ProgrammeID, false)
		if err != nil {
			return err
		}
		if have, err := panelOpen(ctx, tx, appID); err != nil {
			return err
		} else if have >= p.PanelSize {
			return applications.Errorf(applications.Conflict, "评审专家已满 %d 人。", p.PanelSize)
		}
		eligible, err := eligibleExperts(ctx, tx, a)
		if err != nil {
			return err
		}
		ok := false
		for _, id := range eligible {
			ok = ok || id == expertID
		}
		if !ok {
			return applications.FieldError("expert_id", "该专家不能评审本项目：不在库、领域不符、与申报单位存在回避关系，或已在本项目专家组中。")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO panel_assignments (application_id, expert_id, method, assigned_by, assigned_at)
			VALUES ($1, $2, 'manual', $3, $4)`, appID, expertID, actor.ID, now); err != nil {
			return err
		}
		if err := notify(ctx, tx, now, expertID, "您被指定为项目“"+a.Title+"”的评审专家，请先声明是否存在利益冲突。", "/reviews"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "panel_assign", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success, Detail: map[string]any{"expert_id": expertID}})
	})
}

// Declare records an expert's conflict declaration: no conflict (then the
// materials open) or a recusal with a reason (then staff draw a
// replacement). Errors: NotFound, Conflict (already declared), Invalid.
func (db *DB) Declare(ctx context.Context, actor audit.Actor, appID, expertID int64, recuse bool, reason string) error {
	if recuse && reason == "" {
		return applications.FieldError("reason", "回避须说明理由。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var id int64
		var status string
		if err := tx.QueryRow(ctx, `SELECT id, status FROM panel_assignments WHERE application_id = $1 AND expert_id = $2 FOR UPDATE`,
			appID, expertID).Scan(&id, &status); err != nil {
			return err
		}
		if status != "assigned" {
			return applications.Errorf(applications.Conflict, "您已作出过声明，不能重复声明。")
		}
		newStatus := "declared"
		if recuse {
			newStatus = "recused"
		}
		if _, err := tx.Exec(ctx, `UPDATE panel_assignments SET status = $2, recusal_reason = $3, declared_at = $4 WHERE id = $1`,
			id, newStatus, reason, now); err != nil {
			return err
		}
		if recuse {
			if err := notifyLiaison(ctx, tx, now, appID, "有专家回避，请为该项目补抽专家。"); err != nil {
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
func (db *DB) SubmitReview(ctx context.Context, actor audit.Actor, appID, expertID int64, in applications.ReviewInput) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		var id int64
		var status string
		if err := tx.QueryRow(ctx, `SELECT id, status FROM panel_assignments WHERE application_id = $1 AND expert_id = $2 FOR UPDATE`,
			appID, expertID).Scan(&id, &status); err != nil {
			return err
		}
		switch status {
		case "assigned":
			return applications.Errorf(applications.Conflict, "请先声明是否存在利益冲突。")
		case "recused":
			return applications.Errorf(applications.Conflict, "您已回避本项目，不能评分。")
		case "submitted":
			return applications.Errorf(applications.Conflict, "评审意见已提交并锁定，不能再次提交或修改。")
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
			return notifyRole(ctx, tx, now, "staff", "项目“"+a.Title+"”专家评审已完成，请拟定立项决定。", "/applications/"+strconv.FormatInt(appID, 10))
		}
		return nil
	})
}

// ListReviews returns the submitted reviews of an application.
func (db *DB) ListSubmittedReviews(ctx context.Context, appID int64) ([]StoredReview, error) {
	rows, _ := db.Pool.Query(ctx, `
		SELECT r.assignment_id, pa.expert_id, u.display_name, r.scores, r.comments, r.overall_comment, r.recommendation,
		       r.suggested_amount, r.total, r.submitted_at
		FROM reviews r JOIN panel_assignments pa ON pa.id = r.assignment_id JOIN users u ON u.id = pa.expert_id
		WHERE pa.application_id = $1 ORDER BY r.assignment_id`, appID)
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoredReview, error) {
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
	})
	return rs, mapError(err)
}

// ReviewResult computes the application's result from its locked reviews
// under the rules of its programme p.
func (db *DB) ReviewResult(ctx context.Context, a applications.Application, p applications.Programme) (applications.ReviewResult, []StoredReview, error) {
	rs, err := db.ListSubmittedReviews(ctx, a.ID)
	if err != nil {
		return applications.ReviewResult{}, nil, err
	}
	in := make([]applications.SubmittedReview, len(rs))
	for i, r := range rs {
		in[i] = applications.SubmittedReview{Scores: r.Scores, Total: r.Total, Recommendation: r.Recommendation}
	}
	return p.Aggregate(in), rs, nil
}
