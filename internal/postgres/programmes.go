package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

const programmeColumns = `id, name, year, status, opens_on, closes_on, total_budget, project_cap,
	cap_override_allowed, sectors, required_materials, credit_report_max_age_days, panel_size, criteria,
	pass_score, aggregation, notice_working_days, terms_template, holding_platform, version, created_at, updated_at,
	requires_special_audit, COALESCE(holding_platform_uscc, '')`

func scanProgramme(row pgx.CollectableRow) (applications.Programme, error) {
	var p applications.Programme
	var status string
	var sectors, materials []string
	var criteria, terms []byte
	err := row.Scan(&p.ID, &p.Name, &p.Year, &status, &p.OpensOn, &p.ClosesOn, &p.TotalBudget, &p.ProjectCap,
		&p.CapOverrideAllowed, &sectors, &materials, &p.CreditReportMaxAgeDays, &p.PanelSize, &criteria,
		&p.PassScore, &p.Aggregation, &p.NoticeWorkingDays, &terms, &p.HoldingPlatform, &p.Version,
		&p.CreatedAt, &p.UpdatedAt, &p.RequiresSpecialAudit, &p.HoldingPlatformUSCC)
	if err != nil {
		return p, err
	}
	p.Status = applications.ProgrammeStatus(status)
	for _, s := range sectors {
		p.Sectors = append(p.Sectors, applications.Sector(s))
	}
	for _, m := range materials {
		p.RequiredMaterials = append(p.RequiredMaterials, applications.Material(m))
	}
	p.TermsTemplate = terms
	return p, json.Unmarshal(criteria, &p.Criteria)
}

func programmeArgs(p applications.Programme) []any {
	sectors := make([]string, len(p.Sectors))
	for i, s := range p.Sectors {
		sectors[i] = string(s)
	}
	materials := make([]string, len(p.RequiredMaterials))
	for i, m := range p.RequiredMaterials {
		materials[i] = string(m)
	}
	criteria, _ := json.Marshal(p.Criteria)
	return []any{p.Name, p.Year, string(p.Status), p.OpensOn, p.ClosesOn, p.TotalBudget, p.ProjectCap,
		p.CapOverrideAllowed, sectors, materials, p.CreditReportMaxAgeDays, p.PanelSize, criteria,
		p.PassScore, p.Aggregation, p.NoticeWorkingDays, []byte(p.TermsTemplate), p.HoldingPlatform, p.RequiresSpecialAudit,
		p.HoldingPlatformUSCC}
}

// programmeAudit is the part of a programme the audit log keeps as
// before/after: every setting.
func programmeAudit(p applications.Programme) map[string]any {
	return map[string]any{"name": p.Name, "year": p.Year, "status": p.Status,
		"opens_on": p.OpensOn.Format(time.DateOnly), "closes_on": p.ClosesOn.Format(time.DateOnly),
		"total_budget": p.TotalBudget.StringFixed(2), "project_cap": p.ProjectCap.StringFixed(2),
		"cap_override_allowed": p.CapOverrideAllowed, "sectors": p.Sectors, "required_materials": p.RequiredMaterials,
		"credit_report_max_age_days": p.CreditReportMaxAgeDays, "panel_size": p.PanelSize, "criteria": p.Criteria,
		"pass_score": p.PassScore.String(), "aggregation": p.Aggregation, "notice_working_days": p.NoticeWorkingDays,
		"terms_template": json.RawMessage(p.TermsTemplate), "holding_platform": p.HoldingPlatform,
		"holding_platform_uscc": p.HoldingPlatformUSCC, "requires_special_audit": p.RequiresSpecialAudit}
}

// CreateProgramme validates and inserts a programme. Errors: Invalid.
func (db *DB) CreateProgramme(ctx context.Context, actor audit.Actor, p applications.Programme) (_ applications.Programme, err error) {
	defer wrap(&err, "CreateProgramme")
	if err := p.Validate(); err != nil {
		return p, err
	}
	var out applications.Programme
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		rows, _ := tx.Query(ctx, `
			INSERT INTO programmes (name, year, status, opens_on, closes_on, total_budget, project_cap,
				cap_override_allowed, sectors, required_materials, credit_report_max_age_days, panel_size, criteria,
				pass_score, aggregation, notice_working_days, terms_template, holding_platform, requires_special_audit, holding_platform_uscc, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,NULLIF($20, ''),$21,$21)
			RETURNING `+programmeColumns, append(programmeArgs(p), now)...)
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, scanProgramme); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "programme_create", ObjectType: "programme",
			ObjectID: strconv.FormatInt(out.ID, 10), Outcome: audit.Success,
			Detail: map[string]any{"after": programmeAudit(out)}})
	})
	return out, err
}

// UpdateProgramme saves an edited programme if nobody saved it since the
// editor loaded it (p.Version). Errors: Invalid, NotFound, Conflict.
func (db *DB) UpdateProgramme(ctx context.Context, actor audit.Actor, p applications.Programme) (_ applications.Programme, err error) {
	defer wrap(&err, "UpdateProgramme %d", p.ID)
	if err := p.Validate(); err != nil {
		return p, err
	}
	var out applications.Programme
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		before, err := findProgramme(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return applications.Errorf(applications.Conflict, "该批次已被他人修改（您打开后又有保存），请刷新页面后重新修改。")
		}
		args := append(programmeArgs(p), now, p.ID)
		rows, _ := tx.Query(ctx, `
			UPDATE programmes SET name=$1, year=$2, status=$3, opens_on=$4, closes_on=$5, total_budget=$6,
				project_cap=$7, cap_override_allowed=$8, sectors=$9, required_materials=$10,
				credit_report_max_age_days=$11, panel_size=$12, criteria=$13, pass_score=$14, aggregation=$15,
				notice_working_days=$16, terms_template=$17, holding_platform=$18, requires_special_audit=$19, holding_platform_uscc=NULLIF($20, ''),
				updated_at=$21, version = version + 1
			WHERE id = $22 RETURNING `+programmeColumns, args...)
		if out, err = pgx.CollectExactlyOneRow(rows, scanProgramme); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "programme_update", ObjectType: "programme",
			ObjectID: strconv.FormatInt(p.ID, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": programmeAudit(before), "after": programmeAudit(out)}})
	})
	return out, err
}

func findProgramme(ctx context.Context, tx pgx.Tx, id int64, lock bool) (applications.Programme, error) {
	q := `SELECT ` + programmeColumns + ` FROM programmes WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	rows, _ := tx.Query(ctx, q, id)
	return pgx.CollectExactlyOneRow(rows, scanProgramme)
}

// FindProgramme returns one programme. Errors: NotFound.
func (db *DB) FindProgramme(ctx context.Context, id int64) (_ applications.Programme, err error) {
	defer wrap(&err, "FindProgramme %d", id)
	rows, _ := db.Pool.Query(ctx, `SELECT `+programmeColumns+` FROM programmes WHERE id = $1`, id)
	p, err := pgx.CollectExactlyOneRow(rows, scanProgramme)
	return p, mapError(err)
}

// ListProgrammes returns programmes, newest first; openOnly keeps those
// with status open.
func (db *DB) ListProgrammes(ctx context.Context, openOnly bool) (_ []applications.Programme, err error) {
	defer wrap(&err, "ListProgrammes")
	rows, _ := db.Pool.Query(ctx, `SELECT `+programmeColumns+` FROM programmes
		WHERE NOT $1 OR status = 'open' ORDER BY year DESC, id DESC`, openOnly)
	ps, err := pgx.CollectRows(rows, scanProgramme)
	return ps, mapError(err)
}
