package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/auth"
)

// CreateSession stores a new session for userID and deletes the session
// the browser had before (oldToken), so a session ID is never carried
// across a sign-in (fixation).
func (db *DB) CreateSession(ctx context.Context, userID int64, token, csrf, oldToken, ip, userAgent string) (err error) {
	defer wrap(&err, "CreateSession %d", userID)
	now := db.Now()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if oldToken != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, auth.TokenHash(oldToken)); err != nil {
				return err
			}
		}
		p, err := securityPolicy(ctx, tx)
		if err != nil {
			return err
		}
		// Expired sessions of this user are swept here rather than by a job.
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR last_seen_at <= $3)`,
			userID, now, now.Add(-p.IdleTimeout)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
			auth.TokenHash(token), userID, csrf, now, now.Add(p.AbsoluteLifetime), ip, truncate(userAgent, 300))
		return err
	})
}

// FindSession returns the live session for a cookie token and refreshes
// its idle timer (at most once per auth.TouchInterval). An expired session
// is deleted. Errors: Unauthenticated when there is no live session.
func (db *DB) FindSession(ctx context.Context, token string) (_ auth.Session, err error) {
	defer wrap(&err, "FindSession")
	now := db.Now()
	rows, _ := db.Pool.Query(ctx, `
		SELECT `+userColumns+`, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, `+policyColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		LEFT JOIN enterprises e ON e.id = u.enterprise_id
		CROSS JOIN security_policy p
		WHERE s.token_hash = $1`, auth.TokenHash(token))
	s, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (auth.Session, error) {
		var s auth.Session
		var role string
		var pr policyRow
		err := row.Scan(&s.User.ID, &s.User.Username, &s.User.DisplayName, &role, &s.User.EnterpriseID,
			&s.User.Enterprise, &s.User.Email, &s.User.Disabled, &s.User.LockedUntil, &s.User.CreatedAt,
			&s.User.MustChangePassword, &s.User.PasswordChangedAt, &s.User.TOTPEnrolled, &s.User.Platform,
			&s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &pr.minLength, &pr.maxAgeDays, &pr.history,
			&pr.forAll, &pr.idleMinutes, &pr.absoluteMinutes)
		s.User.Role = applications.Role(role)
		s.Policy = pr.policy()
		return s, err
	})
	unauth := &applications.Error{Kind: applications.Unauthenticated, Message: "登录已过期，请重新登录。"}
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Session{}, unauth
	}
	if err != nil {
		return auth.Session{}, err
	}
	if s.Expired(now) || s.User.Disabled {
		_ = db.DeleteSession(ctx, token)
		return auth.Session{}, unauth
	}
	if now.Sub(s.LastSeenAt) >= auth.TouchInterval {
		if _, err := db.Pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`,
			auth.TokenHash(token), now); err != nil {
			return auth.Session{}, err
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// DeleteSession ends a session (sign-out).
func (db *DB) DeleteSession(ctx context.Context, token string) (err error) {
	defer wrap(&err, "DeleteSession")
	_, err = db.Pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, auth.TokenHash(token))
	return err
}

// SweepSessions deletes sessions past their limits; run periodically.
func (db *DB) SweepSessions(ctx context.Context) (_ int64, err error) {
	defer wrap(&err, "SweepSessions")
	now := db.Now()
	tag, err := db.Pool.Exec(ctx, `
		DELETE FROM sessions s USING security_policy p
		WHERE s.expires_at <= $1 OR s.last_seen_at <= $1 - make_interval(mins => p.idle_timeout_minutes)
		   OR s.created_at <= $1 - make_interval(mins => p.absolute_timeout_minutes)`, now)
	if err == nil {
		_, err = db.Pool.Exec(ctx, `DELETE FROM pending_logins WHERE expires_at <= $1`, now)
	}
	return tag.RowsAffected(), err
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
