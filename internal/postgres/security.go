package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
)

// The security admin's part of the store (issue 16, 三员分立): the policy
// row, unlocking accounts, resetting second factors and the security
// events page.

const policyColumns = `p.password_min_length, p.password_max_age_days, p.password_history, p.second_factor_for_all,
	p.idle_timeout_minutes, p.absolute_timeout_minutes`

type policyRow struct {
	minLength, maxAgeDays, history int
	forAll                         bool
	idleMinutes, absoluteMinutes   int
}

func (r policyRow) policy() auth.Policy {
	return auth.Policy{PasswordMinLength: r.minLength, PasswordMaxAge: time.Duration(r.maxAgeDays) * 24 * time.Hour,
		PasswordHistory: r.history, SecondFactorForAll: r.forAll,
		IdleTimeout: time.Duration(r.idleMinutes) * time.Minute, AbsoluteLifetime: time.Duration(r.absoluteMinutes) * time.Minute}
}

func securityPolicy(ctx context.Context, q querier) (auth.Policy, error) {
	var r policyRow
	err := q.QueryRow(ctx, `SELECT `+policyColumns+` FROM security_policy p WHERE p.id = 1`).
		Scan(&r.minLength, &r.maxAgeDays, &r.history, &r.forAll, &r.idleMinutes, &r.absoluteMinutes)
	return r.policy(), err
}

// SecurityPolicy returns the policy in force.
func (db *DB) SecurityPolicy(ctx context.Context) (_ auth.Policy, err error) {
	defer wrap(&err, "SecurityPolicy")
	p, err := securityPolicy(ctx, db.Pool)
	return p, mapError(err)
}

func policyDetail(p auth.Policy) map[string]any {
	return map[string]any{"password_min_length": p.PasswordMinLength, "password_max_age_days": int(p.PasswordMaxAge / (24 * time.Hour)),
		"password_history": p.PasswordHistory, "second_factor_for_all": p.SecondFactorForAll,
		"idle_timeout_minutes": int(p.IdleTimeout / time.Minute), "absolute_timeout_minutes": int(p.AbsoluteLifetime / time.Minute)}
}

// SetSecurityPolicy saves the security admin's policy with its before and
// after in the audit log. Shorter session limits apply to running sessions
// at once. Errors: Invalid (auth.Policy.Validate).
func (db *DB) SetSecurityPolicy(ctx context.Context, actor audit.Actor, p auth.Policy) (err error) {
	defer wrap(&err, "SetSecurityPolicy")
	if err := p.Validate(); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		before, err := securityPolicy(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE security_policy SET password_min_length = $1, password_max_age_days = $2, password_history = $3,
			       second_factor_for_all = $4, idle_timeout_minutes = $5, absolute_timeout_minutes = $6, updated_at = $7
			WHERE id = 1`, p.PasswordMinLength, int(p.PasswordMaxAge/(24*time.Hour)), p.PasswordHistory, p.SecondFactorForAll,
			int(p.IdleTimeout/time.Minute), int(p.AbsoluteLifetime/time.Minute), db.Now()); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "security_policy_set", ObjectType: "security_policy",
			ObjectID: "1", Outcome: audit.Success, Detail: map[string]any{"before": policyDetail(before), "after": policyDetail(p)}})
	})
}

// UnlockAccount ends a lockout (failed sign-ins or codes) before its 30
// minutes are over. Errors: NotFound.
func (db *DB) UnlockAccount(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer wrap(&err, "UnlockAccount %d", id)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var until *time.Time
		if err := tx.QueryRow(ctx, `SELECT locked_until FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&until); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $1`, id, db.Now()); err != nil {
			return err
		}
		d := map[string]any{"was_locked": until != nil && db.Now().Before(*until)}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "account_unlock", ObjectType: "user",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success, Detail: d})
	})
}

// ResetSecondFactor removes a user's TOTP secret and recovery codes (a
// lost phone), ends every session and half-finished sign-in of theirs, and
// tells them in their inbox. A role that requires the second factor
// enrols again at the next sign-in. Errors: NotFound, Conflict (not
// enrolled).
func (db *DB) ResetSecondFactor(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer wrap(&err, "ResetSecondFactor %d", id)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var enrolled bool
		if err := tx.QueryRow(ctx, `SELECT totp_secret IS NOT NULL FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&enrolled); err != nil {
			return err
		}
		if !enrolled {
			return applications.Errorf(applications.Conflict, "该用户尚未启用双因素认证，无需重置。")
		}
		now := db.Now()
		for _, q := range []string{
			`UPDATE users SET totp_secret = NULL, totp_enrolled_at = NULL, updated_at = $2 WHERE id = $1`,
			`DELETE FROM recovery_codes WHERE user_id = $1 AND $2::timestamptz IS NOT NULL`,
			`DELETE FROM sessions WHERE user_id = $1 AND $2::timestamptz IS NOT NULL`,
			`DELETE FROM pending_logins WHERE user_id = $1 AND $2::timestamptz IS NOT NULL`,
		} {
			if _, err := tx.Exec(ctx, q, id, now); err != nil {
				return err
			}
		}
		if err := notify(ctx, tx, now, NotifySecurity, id, "安全管理员已重置您的双因素认证（动态验证码），您的所有登录会话已结束。如非您本人申请，请立即联系安全管理员。", "/account"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "second_factor_reset", ObjectType: "user",
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success})
	})
}

// securityEvents are the audit events the security events page shows:
// sign-ins and their failures, lockouts, second-factor failures, CSRF and
// 403 refusals, and the security admin's own actions.
var securityEvents = []string{
	"login", "login_password_accepted", "login_failed", "login_refused_locked", "login_refused_disabled", "logout",
	"account_locked", "account_unlock", "second_factor_failed", "second_factor_enrol", "second_factor_reset",
	"password_change", "password_change_refused", "password_expired", "sessions_end_others",
	"csrf_refused", "access_refused", "security_policy_set", "user_password_reset",
}

// SecurityEventFilter selects rows of the security events page.
type SecurityEventFilter struct {
	Event     string // one of the security events, "" for all
	Outcome   string // success, failure, refused; "" for all
	BeforeSeq int64  // keyset pagination
	Limit     int
}

// ListSecurityEvents returns security events from the audit log, newest
// first.
func (db *DB) ListSecurityEvents(ctx context.Context, f SecurityEventFilter) (_ []audit.Record, err error) {
	defer wrap(&err, "ListSecurityEvents")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT `+auditColumns+` FROM audit_log
		WHERE event = ANY($1) AND ($2 = '' OR event = $2) AND ($3 = '' OR outcome = $3) AND ($4 = 0 OR seq < $4)
		ORDER BY seq DESC LIMIT $5`, securityEvents, f.Event, f.Outcome, f.BeforeSeq, f.Limit)
	if err != nil {
		return nil, err
	}
	rs, err := pgx.CollectRows(rows, scanAudit)
	return rs, mapError(err)
}

// SecurityEventNames lists the events of the security events page.
func SecurityEventNames() []string { return append([]string(nil), securityEvents...) }

// AccountSecurity is one user as the security admin's account list shows
// them.
type AccountSecurity struct {
	User              auth.User
	FailedLogins      int
	SecondFactorSince time.Time // zero when not enrolled
}

// ListAccountSecurity returns every user with their lock and second
// factor state, for the security admin.
func (db *DB) ListAccountSecurity(ctx context.Context) (_ []AccountSecurity, err error) {
	defer wrap(&err, "ListAccountSecurity")
	rows, _ := db.Pool.Query(ctx, `SELECT `+userColumns+`, u.failed_logins, COALESCE(u.totp_enrolled_at, 'epoch'::timestamptz)`+
		userFrom+`ORDER BY u.role, u.username`)
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AccountSecurity, error) {
		var a AccountSecurity
		var role string
		u := &a.User
		err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.EnterpriseID, &u.Enterprise, &u.Email,
			&u.Disabled, &u.LockedUntil, &u.CreatedAt, &u.MustChangePassword, &u.PasswordChangedAt, &u.TOTPEnrolled, &u.Platform,
			&a.FailedLogins, &a.SecondFactorSince)
		u.Role = applications.Role(role)
		if u.LockedUntil.Unix() == 0 {
			u.LockedUntil = time.Time{}
		}
		if a.SecondFactorSince.Unix() == 0 {
			a.SecondFactorSince = time.Time{}
		}
		return a, err
	})
	return as, mapError(err)
}
