package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// Expert is a reviewer of the expert pool.
type Expert struct {
	UserID       int64
	Username     string
	Name         string
	Employer     string
	EmployerUSCC string
	Sectors      []applications.Sector
	Ties         []int64 // enterprises the expert declared a tie with
	Active       bool
}

// ExpertProfile is the editable part.
type ExpertProfile struct {
	Employer     string
	EmployerUSCC string
	Sectors      []applications.Sector
	Ties         []int64
	Active       bool
}

func (p *ExpertProfile) validate() error {
	if p.Ties == nil {
		p.Ties = []int64{}
	}
	p.EmployerUSCC = applications.NormalizeUSCC(p.EmployerUSCC)
	if p.EmployerUSCC != "" {
		if err := applications.ValidateUSCC(p.EmployerUSCC); err != nil {
			return &applications.Error{Kind: applications.Invalid, Field: "employer_uscc", Message: applications.ErrorMessage(err)}
		}
	}
	if strings.TrimSpace(p.Employer) == "" {
		return applications.FieldError("employer", "请填写专家的工作单位（用于回避）。")
	}
	if len(p.Sectors) == 0 {
		return applications.FieldError("sectors", "请至少选择一个擅长领域。")
	}
	for _, s := range p.Sectors {
		if !s.Valid() {
			return applications.FieldError("sectors", "擅长领域无效。")
		}
	}
	return nil
}

func sectorStrings(ss []applications.Sector) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

const expertColumns = `u.id, u.username, u.display_name, COALESCE(x.employer, ''), COALESCE(x.employer_uscc, ''),
	COALESCE(x.sectors, '{}'), COALESCE(x.tied_enterprises, '{}'), COALESCE(x.active, false) AND NOT u.disabled`

const expertFrom = ` FROM users u LEFT JOIN expert_profiles x ON x.user_id = u.id WHERE u.role = 'expert' `

func scanExpert(row pgx.CollectableRow) (Expert, error) {
	var e Expert
	var sectors []string
	err := row.Scan(&e.UserID, &e.Username, &e.Name, &e.Employer, &e.EmployerUSCC, &sectors, &e.Ties, &e.Active)
	for _, s := range sectors {
		e.Sectors = append(e.Sectors, applications.Sector(s))
	}
	return e, err
}

// ListExperts returns the expert pool.
func (db *DB) ListExperts(ctx context.Context) (_ []Expert, err error) {
	defer wrap(&err, "ListExperts")
	rows, _ := db.Pool.Query(ctx, `SELECT `+expertColumns+expertFrom+`ORDER BY u.display_name`)
	es, err := pgx.CollectRows(rows, scanExpert)
	return es, mapError(err)
}

// FindExpert returns one expert. Errors: NotFound.
func (db *DB) FindExpert(ctx context.Context, userID int64) (_ Expert, err error) {
	defer wrap(&err, "FindExpert %d", userID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+expertColumns+expertFrom+`AND u.id = $1`, userID)
	e, err := pgx.CollectExactlyOneRow(rows, scanExpert)
	return e, mapError(err)
}

// SaveExpertProfile creates or replaces an expert's profile, with the
// before/after in the audit log. Errors: Invalid, NotFound.
func (db *DB) SaveExpertProfile(ctx context.Context, actor audit.Actor, userID int64, p ExpertProfile) (err error) {
	defer wrap(&err, "SaveExpertProfile %d", userID)
	if err := p.validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var role string
		if err := tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&role); err != nil {
			return err
		}
		if role != "expert" {
			return applications.Errorf(applications.Invalid, "该用户不是评审专家。")
		}
		rows, _ := tx.Query(ctx, `SELECT `+expertColumns+expertFrom+`AND u.id = $1`, userID)
		before, err := pgx.CollectExactlyOneRow(rows, scanExpert)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO expert_profiles (user_id, employer, employer_uscc, sectors, tied_enterprises, active, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (user_id) DO UPDATE SET employer = EXCLUDED.employer, employer_uscc = EXCLUDED.employer_uscc,
				sectors = EXCLUDED.sectors, tied_enterprises = EXCLUDED.tied_enterprises, active = EXCLUDED.active,
				updated_at = EXCLUDED.updated_at`,
			userID, p.Employer, p.EmployerUSCC, sectorStrings(p.Sectors), p.Ties, p.Active, db.Now()); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "expert_profile", ObjectType: "user",
			ObjectID: strconv.FormatInt(userID, 10), Outcome: audit.Success,
			Detail: map[string]any{
				"before": map[string]any{"employer": before.Employer, "employer_uscc": before.EmployerUSCC, "sectors": before.Sectors, "ties": before.Ties, "active": before.Active},
				"after":  map[string]any{"employer": p.Employer, "employer_uscc": p.EmployerUSCC, "sectors": p.Sectors, "ties": p.Ties, "active": p.Active},
			}})
	})
}
