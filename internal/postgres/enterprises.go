package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/day"
)

// Enterprise is the minimal enterprise record the foundation needs to bind
// users; the applications migration extends it.
type Enterprise struct {
	ID   int64
	Name string
	USCC string
}

func scanEnterprise(row pgx.CollectableRow) (Enterprise, error) {
	var e Enterprise
	return e, row.Scan(&e.ID, &e.Name, &e.USCC)
}

// CreateEnterprise inserts an enterprise after validating its 信用代码.
// Errors: Invalid, Conflict (信用代码 already registered).
func (db *DB) CreateEnterprise(ctx context.Context, actor audit.Actor, name, uscc string) (_ Enterprise, err error) {
	return db.CreateEnterpriseWith(ctx, actor, name, uscc, EnterpriseRegistration{})
}

// EnterpriseRegistration is what an admin may record with an enterprise
// besides its name and code, each optional: what the programmes'
// eligibility rules (DOMAIN §3) are checked against.
type EnterpriseRegistration struct {
	FoundedOn         time.Time // 成立日期, zero when unknown
	Address           string    // 注册地址
	RegisteredCapital decimal.NullDecimal
	PaidInCapital     decimal.NullDecimal
	InZone            bool // 注册地在经开区
}

// CreateEnterpriseWith is CreateEnterprise with the registration details.
// Errors: Invalid, Conflict.
func (db *DB) CreateEnterpriseWith(ctx context.Context, actor audit.Actor, name, uscc string, reg EnterpriseRegistration) (_ Enterprise, err error) {
	defer wrap(&err, "CreateEnterprise")
	switch {
	case !reg.FoundedOn.IsZero() && reg.FoundedOn.After(db.Now()):
		return Enterprise{}, applications.FieldError("founded_on", "成立日期不能晚于今天。")
	case reg.RegisteredCapital.Valid && !reg.RegisteredCapital.Decimal.IsPositive():
		return Enterprise{}, applications.FieldError("registered_capital", "注册资本须大于 0。")
	case reg.PaidInCapital.Valid && reg.PaidInCapital.Decimal.IsNegative():
		return Enterprise{}, applications.FieldError("paid_in_capital", "实缴资本不能为负数。")
	}
	var founded *time.Time
	if !reg.FoundedOn.IsZero() {
		founded = &reg.FoundedOn
	}
	uscc = applications.NormalizeUSCC(uscc)
	if err := applications.ValidateUSCC(uscc); err != nil {
		return Enterprise{}, err
	}
	if name == "" {
		return Enterprise{}, applications.FieldError("name", "请填写企业名称。")
	}
	var e Enterprise
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO enterprises (name, uscc, founded_on, address, registered_capital, paid_in_capital, in_zone)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, name, uscc`,
			name, uscc, founded, strings.TrimSpace(reg.Address), reg.RegisteredCapital, reg.PaidInCapital, reg.InZone)
		var err error
		if e, err = pgx.CollectExactlyOneRow(rows, scanEnterprise); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "enterprise_create",
			ObjectType: "enterprise", ObjectID: strconv.FormatInt(e.ID, 10), Outcome: audit.Success,
			Detail: map[string]any{"after": map[string]any{"name": name, "uscc": uscc, "founded_on": day.ISO(reg.FoundedOn),
				"address": reg.Address, "registered_capital": nullMoney(reg.RegisteredCapital),
				"paid_in_capital": nullMoney(reg.PaidInCapital), "in_zone": reg.InZone}}})
	})
	return e, err
}

// ListEnterprises returns enterprises by name.
func (db *DB) ListEnterprises(ctx context.Context) (_ []Enterprise, err error) {
	defer wrap(&err, "ListEnterprises")
	rows, _ := db.Pool.Query(ctx, `SELECT id, name, uscc FROM enterprises ORDER BY name`)
	es, err := pgx.CollectRows(rows, scanEnterprise)
	return es, mapError(err)
}

// RegisterEnterprise is self-registration: the enterprise and its first
// user in one transaction, so there is never an enterprise nobody can sign
// in to, nor a user bound to nothing. Errors: Invalid, Conflict (信用代码
// or username taken).
func (db *DB) RegisterEnterprise(ctx context.Context, actor audit.Actor, p applications.EnterpriseProfile, u NewUser) (_ Enterprise, _ auth.User, err error) {
	defer wrap(&err, "RegisterEnterprise")
	if err := p.Validate(db.Now()); err != nil {
		return Enterprise{}, auth.User{}, err
	}
	var e Enterprise
	var user auth.User
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		err := tx.QueryRow(ctx, `
			INSERT INTO enterprises (name, uscc, legal_rep, registered_capital, founded_on, address, contact_name, contact_mobile, verification)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'pending') RETURNING id, name, uscc`,
			p.Name, p.USCC, p.LegalRep, p.RegisteredCapital, p.FoundedOn, p.Address, p.ContactName, p.ContactMobile).
			Scan(&e.ID, &e.Name, &e.USCC)
		if err != nil {
			return err
		}
		// What the programmes' eligibility rules are checked against (DOMAIN §3).
		if _, err := tx.Exec(ctx, `UPDATE enterprises SET paid_in_capital = $2, in_zone = $3 WHERE id = $1`, e.ID, p.PaidInCapital, p.InZone); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `
			INSERT INTO users (username, display_name, role, password_hash, enterprise_id)
			VALUES ($1, $2, 'enterprise', $3, $4) RETURNING id`,
			strings.ToLower(u.Username), u.DisplayName, u.PasswordHash, e.ID).Scan(&id); err != nil {
			return err
		}
		if user, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		actor.ID, actor.Name, actor.Role = id, user.DisplayName, string(user.Role)
		if err := appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "enterprise_register",
			ObjectType: "enterprise", ObjectID: strconv.FormatInt(e.ID, 10), Outcome: audit.Success,
			Detail: map[string]any{"after": map[string]any{"name": p.Name, "uscc": p.USCC, "legal_rep": p.LegalRep,
				"registered_capital": p.RegisteredCapital.StringFixed(2), "contact_mobile": p.ContactMobile}}}); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "user_create", ObjectType: "user",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"after": map[string]any{"username": user.Username, "role": user.Role, "enterprise_id": e.ID}}}); err != nil {
			return err
		}
		return notifyVerification(ctx, tx, now, e) // staff's to-do (verification.go)
	})
	return e, user, err
}

// EnterpriseDetail is the full profile.
type EnterpriseDetail struct {
	Enterprise
	applications.EnterpriseProfile
}

// FindEnterprise returns an enterprise with its profile. Errors: NotFound.
func (db *DB) FindEnterprise(ctx context.Context, id int64) (_ EnterpriseDetail, err error) {
	defer wrap(&err, "FindEnterprise %d", id)
	var d EnterpriseDetail
	var capital *decimal.Decimal
	var founded *time.Time
	err = db.Pool.QueryRow(ctx, `
		SELECT id, name, uscc, legal_rep, registered_capital, founded_on, address, contact_name, contact_mobile
		FROM enterprises WHERE id = $1`, id).Scan(&d.ID, &d.Enterprise.Name, &d.Enterprise.USCC, &d.LegalRep,
		&capital, &founded, &d.Address, &d.ContactName, &d.ContactMobile)
	if err != nil {
		return d, mapError(err)
	}
	d.EnterpriseProfile.Name, d.EnterpriseProfile.USCC = d.Enterprise.Name, d.Enterprise.USCC
	if capital != nil {
		d.RegisteredCapital = *capital
	}
	if founded != nil {
		d.FoundedOn = *founded
	}
	return d, nil
}

// ListEnterpriseUsers returns the colleagues of an enterprise.
func (db *DB) ListEnterpriseUsers(ctx context.Context, enterpriseID int64) (_ []auth.User, err error) {
	defer wrap(&err, "ListEnterpriseUsers %d", enterpriseID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+userColumns+userFrom+`WHERE u.enterprise_id = $1 ORDER BY u.id`, enterpriseID)
	us, err := pgx.CollectRows(rows, scanUser)
	return us, mapError(err)
}
