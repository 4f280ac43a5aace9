package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Eligibility is an application's standing against its programme's rules
// (DOMAIN §3): the rules, the facts, what fails today and staff's
// admission, if any.
type Eligibility struct {
	Rules     applications.ProgrammeRules
	Facts     applications.EligibilityFacts
	Failures  []string
	Admission *applications.Admission
	// ZoneConfirmed is staff's confirmation at formal review of the
	// enterprise's declaration 注册地在经开区 (who and when); nil before.
	ZoneConfirmed *applications.Admission
}

// programmeRules reads a programme's rules.
func programmeRules(ctx context.Context, q ledgerQuerier, programmeID int64) (applications.ProgrammeRules, error) {
	var r applications.ProgrammeRules
	var rs rulesScan
	err := q.QueryRow(ctx, `SELECT `+rulesColumns+` FROM programmes p WHERE p.id = $1`, programmeID).Scan(rs.into(&r)...)
	rs.done()
	return r, err
}

// rulesColumns are a programme p's eligibility rules, read by rulesScan.
const rulesColumns = `p.max_company_age_years, p.require_in_zone, p.min_founder_cash_pct, p.loss_tolerance, p.version`

// rulesScan scans rulesColumns into a ProgrammeRules; done sets the age
// limit, which is NULL when the programme has none.
type rulesScan struct {
	r   *applications.ProgrammeRules
	age *int
}

func (s *rulesScan) into(r *applications.ProgrammeRules) []any {
	s.r = r
	return []any{&s.age, &r.RequireInZone, &r.MinFounderCashPct, &r.LossTolerance, &r.Version}
}

func (s *rulesScan) done() {
	if s.age != nil {
		s.r.MaxCompanyAgeYears = *s.age
	}
}

// ProgrammeRules returns a programme's eligibility rules and loss
// tolerance. Errors: NotFound.
func (db *DB) ProgrammeRules(ctx context.Context, programmeID int64) (_ applications.ProgrammeRules, err error) {
	defer wrap(&err, "ProgrammeRules %d", programmeID)
	r, err := programmeRules(ctx, db.Pool, programmeID)
	return r, mapError(err)
}

// eligibilityOf reads an application's eligibility on today: its
// programme's rules and its facts in one statement (the application page
// has it in its batch, ApplicationActivity).
func eligibilityOf(ctx context.Context, q ledgerQuerier, a applications.Application, today time.Time) (Eligibility, error) {
	return scanEligibility(q.QueryRow(ctx, eligibilitySQL, a.ID), today)
}

// eligibilitySQL reads an application's facts and its programme's rules.
const eligibilitySQL = `SELECT ` + rulesColumns + `,
		e.founded_on, e.in_zone, e.paid_in_capital, a.founder_cash, a.total_budget,
		a.admitted_reason, COALESCE(u.display_name, ''), a.admitted_at, COALESCE(z.display_name, ''), a.zone_confirmed_at
	FROM applications a JOIN programmes p ON p.id = a.programme_id JOIN enterprises e ON e.id = a.enterprise_id
	LEFT JOIN users u ON u.id = a.admitted_by LEFT JOIN users z ON z.id = a.zone_confirmed_by
	WHERE a.id = $1`

// scanEligibility scans eligibilitySQL's row and judges it on today.
func scanEligibility(row pgx.Row, today time.Time) (Eligibility, error) {
	var el Eligibility
	var founded *time.Time
	var reason, by, zoneBy string
	var at, zoneAt *time.Time
	var rs rulesScan
	err := row.Scan(append(rs.into(&el.Rules),
		&founded, &el.Facts.InZone, &el.Facts.PaidInCapital, &el.Facts.FounderCash, &el.Facts.TotalBudget,
		&reason, &by, &at, &zoneBy, &zoneAt)...)
	if err != nil {
		return el, err
	}
	rs.done()
	if founded != nil {
		el.Facts.FoundedOn = *founded
	}
	if reason != "" && at != nil {
		el.Admission = &applications.Admission{Reason: reason, By: by, At: *at}
	}
	if zoneAt != nil {
		el.ZoneConfirmed = &applications.Admission{Reason: "注册地在经开区", By: zoneBy, At: *zoneAt}
	}
	el.Failures = el.Rules.Failures(el.Facts, today)
	return el, nil
}

// eligibilityCheck refuses a submission that fails a rule of the
// programme, unless staff admitted it (part of SubmitEligibleCheck).
func eligibilityCheck(ctx context.Context, tx pgx.Tx, a applications.Application, now time.Time) error {
	el, err := eligibilityOf(ctx, tx, a, day.Today(now))
	if err != nil {
		return err
	}
	return applications.CheckEligibility(el.Rules, el.Facts, el.Admission, day.Today(now))
}

// SubmitEligibleCheck (a TransitionCheck) is SubmitCheck and the
// programme's eligibility rules on the store's today (eligibilityCheck).
func (db *DB) SubmitEligibleCheck(ctx context.Context, tx pgx.Tx, a applications.Application) error {
	if err := SubmitCheck(ctx, tx, a); err != nil {
		return err
	}
	return eligibilityCheck(ctx, tx, a, db.Now())
}

// lockInState locks an application in one of states; refusal is the
// Conflict's message when it is in another.
func lockInState(ctx context.Context, tx pgx.Tx, appID int64, refusal string, states ...applications.State) (applications.Application, error) {
	a, err := findApplication(ctx, tx, appID, true)
	if err == nil && !slices.Contains(states, a.State) {
		err = applications.Errorf(applications.Conflict, "%s（当前为「%s」）。", refusal, a.State.Label())
	}
	return a, err
}

// unsubmitted are the states in which what a submission is checked against
// may still change.
var unsubmitted = []applications.State{applications.StateDraft, applications.StateReturned}

// SetApplicationFunding records the application's founders' cash and total
// budget and the enterprise's paid-in capital and zone declaration, while
// the application is a draft or returned. Errors: Invalid, NotFound, Conflict.
func (db *DB) SetApplicationFunding(ctx context.Context, actor audit.Actor, appID int64, f applications.EligibilityFacts) (err error) {
	defer wrap(&err, "SetApplicationFunding %d", appID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := lockInState(ctx, tx, appID, "申报已提交，不能再修改申报条件信息", unsubmitted...)
		if err != nil {
			return err
		}
		if err := f.ValidateFunding(a.RequestedAmount); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE applications SET founder_cash = $2, total_budget = $3, updated_at = $4 WHERE id = $1`,
			appID, f.FounderCash, f.TotalBudget, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE enterprises SET paid_in_capital = $2, in_zone = $3 WHERE id = $1`,
			a.EnterpriseID, f.PaidInCapital, f.InZone); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "application_funding", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"founder_cash": nullMoney(f.FounderCash),
				"total_budget": nullMoney(f.TotalBudget), "paid_in_capital": nullMoney(f.PaidInCapital), "in_zone": f.InZone}})
	})
}

// AdmitApplication is staff's admission of an application that fails a
// rule, with the written reason, so the enterprise can submit it. Errors:
// Invalid, NotFound, Conflict (submitted already, eligible, admitted).
func (db *DB) AdmitApplication(ctx context.Context, actor audit.Actor, appID int64, reason string) (err error) {
	defer wrap(&err, "AdmitApplication %d", appID)
	reason = strings.TrimSpace(reason)
	if err := applications.ValidateAdmission(reason); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := lockInState(ctx, tx, appID, "只有未提交（草稿或退回修改）的申报可以准予申报", unsubmitted...)
		if err != nil {
			return err
		}
		el, err := eligibilityOf(ctx, tx, a, day.Today(now))
		if err != nil {
			return err
		}
		if el.Admission != nil {
			return applications.Errorf(applications.Conflict, "该申报已准予申报。")
		}
		if len(el.Failures) == 0 {
			return applications.Errorf(applications.Conflict, "该申报符合本批次申报条件，无须准予。")
		}
		if _, err := tx.Exec(ctx, `UPDATE applications SET admitted_reason = $2, admitted_by = $3, admitted_at = $4, updated_at = $4 WHERE id = $1`,
			appID, reason, actor.ID, now); err != nil {
			return err
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyOutcome, appID, "项目“"+a.Title+"”已由经办人员准予申报，可以提交。", ""); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "application_admit", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"reason": reason, "failures": el.Failures}})
	})
}

// UpdateProgrammeRules saves a programme's eligibility rules and loss
// tolerance if nobody saved the programme since the editor loaded it.
// Errors: Invalid, NotFound, Conflict.
func (db *DB) UpdateProgrammeRules(ctx context.Context, actor audit.Actor, programmeID int64, r applications.ProgrammeRules) (err error) {
	defer wrap(&err, "UpdateProgrammeRules %d", programmeID)
	if err := r.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if _, err := tx.Exec(ctx, `SELECT 1 FROM programmes WHERE id = $1 FOR UPDATE`, programmeID); err != nil {
			return err
		}
		before, err := programmeRules(ctx, tx, programmeID)
		if errors.Is(err, pgx.ErrNoRows) {
			return applications.Errorf(applications.NotFound, "批次不存在。")
		} else if err != nil {
			return err
		}
		if before.Version != r.Version {
			return applications.Errorf(applications.Conflict, "该批次已被他人修改（您打开后又有保存），请刷新页面后重新修改。")
		}
		var age *int
		if r.MaxCompanyAgeYears > 0 {
			age = &r.MaxCompanyAgeYears
		}
		if _, err := tx.Exec(ctx, `UPDATE programmes SET max_company_age_years = $2, require_in_zone = $3, min_founder_cash_pct = $4,
			loss_tolerance = $5, updated_at = $6, version = version + 1 WHERE id = $1`,
			programmeID, age, r.RequireInZone, r.MinFounderCashPct, r.LossTolerance, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "programme_rules_update", ObjectType: "programme",
			ObjectID: strconv.FormatInt(programmeID, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": rulesAudit(before), "after": rulesAudit(r)}})
	})
}

func rulesAudit(r applications.ProgrammeRules) map[string]any {
	return map[string]any{"max_company_age_years": r.MaxCompanyAgeYears, "require_in_zone": r.RequireInZone,
		"min_founder_cash_pct": nullMoney(r.MinFounderCashPct), "loss_tolerance": r.LossTolerance.String()}
}

// nullMoney is an optional amount for the audit log, "" when absent.
func nullMoney(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return d.Decimal.String()
}

// ConfirmZone is staff's confirmation at formal review that the enterprise
// is registered in the zone, as it declared (DOMAIN §3). Errors: NotFound,
// Conflict (not in formal review, not declared, confirmed already).
func (db *DB) ConfirmZone(ctx context.Context, actor audit.Actor, appID int64) (err error) {
	defer wrap(&err, "ConfirmZone %d", appID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := lockInState(ctx, tx, appID, "只有「待形式审查」的申报可以核实注册地", applications.StateSubmitted)
		if err != nil {
			return err
		}
		el, err := eligibilityOf(ctx, tx, a, day.Today(now))
		switch {
		case err != nil:
			return err
		case !el.Facts.InZone:
			return applications.Errorf(applications.Conflict, "企业未声明注册地在经开区，无可核实的声明。")
		case el.ZoneConfirmed != nil:
			return applications.Errorf(applications.Conflict, "注册地已核实。")
		}
		if _, err := tx.Exec(ctx, `UPDATE applications SET zone_confirmed_by = $2, zone_confirmed_at = $3 WHERE id = $1`, appID, actor.ID, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "zone_confirm", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success})
	})
}

// zoneCheck refuses to pass formal review of an application to a programme
// that requires registration in the zone before staff confirmed it (an
// admitted application is exempt). Part of ReviewOutcomeCheck.
func zoneCheck(ctx context.Context, tx pgx.Tx, a applications.Application) error {
	el, err := eligibilityOf(ctx, tx, a, time.Time{})
	if err != nil || !el.Rules.RequireInZone || el.ZoneConfirmed != nil || el.Admission != nil {
		return err
	}
	return applications.Errorf(applications.Conflict, "本批次要求注册地在经开区：请先核实企业的注册地声明，再通过形式审查。")
}
