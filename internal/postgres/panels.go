package postgres

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Review panels (DOMAIN §6): the experts eligible for a project, the
// random draw and manual assignment of its panel, and the assignments.

// Assignment is one expert on one application's panel.
type Assignment struct {
	ID            int64
	ApplicationID int64
	ExpertID      int64
	ExpertName    string
	Method        string // random | manual | replacement
	Seed          int64
	Status        applications.AssignmentStatus
	RecusalReason string
	AssignedAt    time.Time
	Due           time.Time // the day to declare and score by; zero for panels drawn before deadlines
	Title         string    // the application's, for the expert's list
	State         applications.State
}

const assignmentColumns = `pa.id, pa.application_id, pa.expert_id, u.display_name, pa.method, COALESCE(pa.draw_seed, 0),
	pa.status, pa.recusal_reason, pa.assigned_at, pa.due_on, a.title, a.state`

const assignmentFrom = ` FROM panel_assignments pa JOIN users u ON u.id = pa.expert_id JOIN applications a ON a.id = pa.application_id `

func scanAssignment(row pgx.CollectableRow) (Assignment, error) {
	var x Assignment
	var state string
	var due *time.Time
	err := row.Scan(&x.ID, &x.ApplicationID, &x.ExpertID, &x.ExpertName, &x.Method, &x.Seed, &x.Status,
		&x.RecusalReason, &x.AssignedAt, &due, &x.Title, &state)
	x.State = applications.State(state)
	if due != nil {
		x.Due = *due
	}
	return x, err
}

// ListAssignments returns an application's panel (staff view).
func (db *DB) ListAssignments(ctx context.Context, appID int64) (_ []Assignment, err error) {
	defer wrap(&err, "ListAssignments %d", appID)
	rows, _ := db.Pool.Query(ctx, assignmentsSQL, appID)
	xs, err := pgx.CollectRows(rows, scanAssignment)
	return xs, mapError(err)
}

const assignmentsSQL = `SELECT ` + assignmentColumns + assignmentFrom + `WHERE pa.application_id = $1 ORDER BY pa.id`

// ListExpertAssignments returns an expert's assignments, open ones first.
func (db *DB) ListExpertAssignments(ctx context.Context, expertID int64) (_ []Assignment, err error) {
	defer wrap(&err, "ListExpertAssignments %d", expertID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`WHERE pa.expert_id = $1
		ORDER BY pa.status IN ('submitted','recused'), pa.id DESC`, expertID)
	xs, err := pgx.CollectRows(rows, scanAssignment)
	return xs, mapError(err)
}

// FindAssignment returns the assignment of an expert to an application.
// Errors: NotFound (the expert is not on that panel).
func (db *DB) FindAssignment(ctx context.Context, appID, expertID int64) (_ Assignment, err error) {
	defer wrap(&err, "FindAssignment %d, expertID %d", appID, expertID)
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

// reviewDeadline is the deadline of experts put on a panel now: due when
// staff set one, else applications.ReviewWorkingDays working days on.
func reviewDeadline(ctx context.Context, tx pgx.Tx, now, due time.Time) (time.Time, error) {
	cal, err := loadCalendar(ctx, tx)
	if err != nil {
		return time.Time{}, err
	}
	return cal.ReviewDeadline(day.Today(now), due)
}

// assignedTitle is the panel notification: what to do and by when.
func assignedTitle(how, title string, due time.Time) string {
	return "您被" + how + "为项目“" + title + "”的评审专家，请于" + day.Chinese(due) + "前声明是否存在利益冲突并完成评分。"
}

// DrawPanel draws with the default deadline (DrawPanelDue).
func (db *DB) DrawPanel(ctx context.Context, actor audit.Actor, appID int64, seed int64) ([]int64, error) {
	return db.DrawPanelDue(ctx, actor, appID, seed, time.Time{})
}

// DrawPanelDue draws experts at random to fill the panel up to the
// programme's size (after recusals, the draw is a replacement). The draw
// is a seeded shuffle of the eligible experts in ID order, so it can be
// shown again from the seed recorded on each assignment and in the audit
// log. Errors: NotFound, Conflict (wrong state, not enough experts).
// The experts drawn have until due (zero: ReviewWorkingDays working days).
func (db *DB) DrawPanelDue(ctx context.Context, actor audit.Actor, appID int64, seed int64, due time.Time) (_ []int64, err error) {
	defer wrap(&err, "DrawPanel %d", appID)
	var chosen []int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
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
		due, err := reviewDeadline(ctx, tx, now, due)
		if err != nil {
			return err
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
			if _, err := tx.Exec(ctx, `INSERT INTO panel_assignments (application_id, expert_id, method, draw_seed, assigned_by, assigned_at, due_on)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, appID, id, method, seed, actor.ID, now, due); err != nil {
				return err
			}
			if err := notify(ctx, tx, now, NotifyPanelAssigned, id, assignedTitle("抽取", a.Title, due), "/reviews"); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "panel_draw", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"seed": seed, "method": method, "candidates": candidates, "chosen": chosen, "due_on": day.ISO(due)}})
	})
	return chosen, err
}

// AssignExpert assigns with the default deadline (AssignExpertDue).
func (db *DB) AssignExpert(ctx context.Context, actor audit.Actor, appID, expertID int64) error {
	return db.AssignExpertDue(ctx, actor, appID, expertID, time.Time{})
}

// AssignExpertDue puts a chosen expert on the panel by hand, still refusing
// a conflicted or inactive one; the expert has until due (zero:
// ReviewWorkingDays working days). Errors: NotFound, Conflict, Invalid.
func (db *DB) AssignExpertDue(ctx context.Context, actor audit.Actor, appID, expertID int64, due time.Time) (err error) {
	defer wrap(&err, "AssignExpert %d, expertID %d", appID, expertID)
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
		due, err := reviewDeadline(ctx, tx, now, due)
		if err != nil {
			return err
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
		if _, err := tx.Exec(ctx, `INSERT INTO panel_assignments (application_id, expert_id, method, assigned_by, assigned_at, due_on)
			VALUES ($1, $2, 'manual', $3, $4, $5)`, appID, expertID, actor.ID, now, due); err != nil {
			return err
		}
		if err := notify(ctx, tx, now, NotifyPanelAssigned, expertID, assignedTitle("指定", a.Title, due), "/reviews"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "panel_assign", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success, Detail: map[string]any{"expert_id": expertID, "due_on": day.ISO(due)}})
	})
}

// DefaultReviewDeadline is the deadline a panel drawn on China day today
// gets when staff set none (applications.ReviewWorkingDays working days
// on), for the draw form's hint. The caller names the day, so a hint kept
// for a day is the one computed for it.
func (db *DB) DefaultReviewDeadline(ctx context.Context, today time.Time) (_ time.Time, err error) {
	defer wrap(&err, "DefaultReviewDeadline")
	var due time.Time
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		cal, err := loadCalendar(ctx, tx)
		if err == nil {
			due, err = cal.ReviewDeadline(today, time.Time{})
		}
		return err
	})
	return due, err
}
