package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
)

// The second factor (issue 16): half-finished sign-ins, checking a code,
// enrolment.

// PendingLoginLifetime is how long the code page waits after the password.
const PendingLoginLifetime = 5 * time.Minute

// CreatePendingLogin records a sign-in whose password was right and whose
// code is still to come. It grants no page: only VerifySecondFactor reads
// it. Earlier pending sign-ins of the user are dropped.
func (db *DB) CreatePendingLogin(ctx context.Context, userID int64, token, next string) (err error) {
	defer wrap(&err, "CreatePendingLogin %d", userID)
	now := db.Now()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pending_logins WHERE user_id = $1 OR expires_at <= $2`, userID, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO pending_logins (token_hash, user_id, next_path, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, auth.TokenHash(token), userID, next, now, now.Add(PendingLoginLifetime))
		return err
	})
}

// PendingLoginUser returns the username of a live pending sign-in, for the
// code page. Errors: Unauthenticated when there is none.
func (db *DB) PendingLoginUser(ctx context.Context, token string) (_ string, err error) {
	defer wrap(&err, "PendingLoginUser")
	var name string
	err = db.Pool.QueryRow(ctx, `SELECT u.username FROM pending_logins p JOIN users u ON u.id = p.user_id
		WHERE p.token_hash = $1 AND p.expires_at > $2`, auth.TokenHash(token), db.Now()).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errPendingGone
	}
	return name, err
}

var errPendingGone = &applications.Error{Kind: applications.Unauthenticated, Message: "登录已超时，请重新输入用户名和密码。"}

// SecondFactorResult says how a code ended.
type SecondFactorResult int

// Outcomes of VerifySecondFactor.
const (
	SecondFactorOK SecondFactorResult = iota
	SecondFactorWrong
	SecondFactorReplayed     // a right code whose step was already used
	SecondFactorRecoveryUsed // a recovery code already spent
	SecondFactorLocked       // locked now or still locked
)

// SecondFactorInput is what the code page submitted: a TOTP code checked
// by Match against the stored secret, or a recovery code's hash.
type SecondFactorInput struct {
	Match        func(secret string, lastStep int64) (step int64, ok, replayed bool)
	RecoveryHash []byte // nil unless a recovery code was typed
}

// VerifySecondFactor completes a pending sign-in: under the user's row
// lock it checks the code, refuses a replayed TOTP code or a spent
// recovery code, counts failures with the password's (auth.MaxFailedLogins
// consecutive failures lock the account for auth.LockoutDuration) and
// writes the audit row. On success the pending sign-in is consumed and the
// caller creates the session. Errors: Unauthenticated when the pending
// sign-in is unknown or expired.
func (db *DB) VerifySecondFactor(ctx context.Context, actor audit.Actor, token string, in SecondFactorInput) (_ auth.User, next string, _ SecondFactorResult, err error) {
	defer wrap(&err, "VerifySecondFactor")
	var u auth.User
	result := SecondFactorWrong
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var id, lastStep int64
		var secret *string
		var failed int
		var locked *time.Time
		err := tx.QueryRow(ctx, `
			SELECT u.id, p.next_path, u.totp_secret, COALESCE(s.last_step, 0), u.failed_logins, u.locked_until
			FROM pending_logins p JOIN users u ON u.id = p.user_id LEFT JOIN totp_steps s ON s.user_id = u.id
			WHERE p.token_hash = $1 AND p.expires_at > $2 AND NOT u.disabled
			FOR UPDATE OF u`, auth.TokenHash(token), now).Scan(&id, &next, &secret, &lastStep, &failed, &locked)
		if errors.Is(err, pgx.ErrNoRows) {
			return errPendingGone
		}
		if err != nil {
			return err
		}
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		ev := audit.Event{Actor: actor, ObjectType: "user", ObjectID: strconv.FormatInt(id, 10),
			Detail: map[string]any{"username": u.Username}}
		ev.Actor.ID, ev.Actor.Name, ev.Actor.Role = id, u.DisplayName, string(u.Role)
		dropPending := func() error {
			_, err := tx.Exec(ctx, `DELETE FROM pending_logins WHERE user_id = $1`, id)
			return err
		}
		if locked != nil && now.Before(*locked) {
			result = SecondFactorLocked
			ev.Name, ev.Outcome = "login_refused_locked", audit.Refused
			ev.Detail["step"] = "second_factor"
			if err := dropPending(); err != nil {
				return err
			}
			return appendAudit(ctx, tx, now, ev)
		}
		method, ok := "totp", false
		switch {
		case in.RecoveryHash != nil:
			method = "recovery_code"
			tag, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
				id, in.RecoveryHash, now)
			if err != nil {
				return err
			}
			ok = tag.RowsAffected() == 1
			if !ok {
				var spent bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = $1 AND code_hash = $2)`,
					id, in.RecoveryHash).Scan(&spent); err != nil {
					return err
				}
				if spent {
					result = SecondFactorRecoveryUsed
				}
			}
		case secret != nil:
			step, match, replayed := in.Match(*secret, lastStep)
			ok = match
			if ok {
				if err := storeTOTPStep(ctx, tx, id, step); err != nil {
					return err
				}
			} else if replayed {
				result = SecondFactorReplayed
			}
		}
		ev.Detail["method"] = method
		if !ok {
			ev.Name, ev.Outcome = "second_factor_failed", audit.Failure
			ev.Detail["reason"] = map[SecondFactorResult]string{SecondFactorWrong: "wrong_code",
				SecondFactorReplayed: "replayed_code", SecondFactorRecoveryUsed: "recovery_code_spent"}[result]
			ev.Detail["step"] = "second_factor"
			lockedNow, err := countFailure(ctx, tx, now, id, failed, ev)
			if err != nil || !lockedNow {
				return err
			}
			result = SecondFactorLocked
			return dropPending()
		}
		result = SecondFactorOK
		if err := resetFailures(ctx, tx, id, failed, locked, true); err != nil {
			return err
		}
		if err := dropPending(); err != nil {
			return err
		}
		if method == "recovery_code" {
			var left int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, id).Scan(&left); err != nil {
				return err
			}
			ev.Detail["recovery_codes_left"] = left
		}
		ev.Name, ev.Outcome = "login", audit.Success
		return appendAudit(ctx, tx, now, ev)
	})
	if err != nil {
		return auth.User{}, "", SecondFactorWrong, err
	}
	return u, next, result, nil
}

// EnrolSecondFactor stores a confirmed TOTP secret (step: the step of the
// code that confirmed it, so that code cannot sign in again) and the
// hashes of ten fresh recovery codes. Enrolling ends the user's other
// sessions, as any change of how they sign in does. Errors: Conflict when
// already enrolled (the security admin resets a lost factor first).
func (db *DB) EnrolSecondFactor(ctx context.Context, actor audit.Actor, userID int64, secret string, step int64, recovery [][]byte, keepToken string) (err error) {
	defer wrap(&err, "EnrolSecondFactor %d", userID)
	now := db.Now()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var enrolled bool
		if err := tx.QueryRow(ctx, `SELECT totp_secret IS NOT NULL FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&enrolled); err != nil {
			return err
		}
		if enrolled {
			return applications.Errorf(applications.Conflict, "您已启用双因素认证。如需更换手机或验证器，请联系安全管理员重置。")
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET totp_secret = $2, totp_enrolled_at = $3, updated_at = $3 WHERE id = $1`,
			userID, secret, now); err != nil {
			return err
		}
		if err := storeTOTPStep(ctx, tx, userID, step); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, h := range recovery {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`, userID, h, now); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, auth.TokenHash(keepToken)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "second_factor_enrol", ObjectType: "user",
			ObjectID: strconv.FormatInt(userID, 10), Outcome: audit.Success,
			Detail: map[string]any{"method": "totp", "recovery_codes": len(recovery)}})
	})
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID int64) (_ int, err error) {
	defer wrap(&err, "RecoveryCodesLeft %d", userID)
	var n int
	err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}

// storeTOTPStep keeps step as the user's last accepted one. It is a table
// of its own, not a column of users, so a sign-in does not renew what is
// read from users (migration 23).
func storeTOTPStep(ctx context.Context, tx pgx.Tx, userID, step int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO totp_steps (user_id, last_step) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET last_step = EXCLUDED.last_step`, userID, step)
	return err
}
