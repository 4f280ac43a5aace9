package postgres

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/audit"
	"ite/internal/auth"
)

// A user's own account (issue 16): password life and their sessions.

// rememberPassword keeps a hash in the user's password history.
func rememberPassword(ctx context.Context, tx pgx.Tx, userID int64, hash string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)`,
		userID, hash, now)
	return err
}

// RecentPasswordHashes returns the hashes of the user's last n passwords,
// the current one first (the policy's "last n passwords cannot be
// reused"). A user from before the history began has only the current.
func (db *DB) RecentPasswordHashes(ctx context.Context, userID int64, n int) (_ []string, err error) {
	defer wrap(&err, "RecentPasswordHashes %d", userID)
	var current string
	if err := db.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&current); err != nil {
		return nil, mapError(err)
	}
	rows, _ := db.Pool.Query(ctx, `SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, userID, n)
	hs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapError(err)
	}
	if !slices.Contains(hs, current) {
		hs = append([]string{current}, hs...)
	}
	return hs[:min(n, len(hs))], nil
}

// PasswordHash returns a user's current hash, for checking the old
// password on the change page. Errors: NotFound.
func (db *DB) PasswordHash(ctx context.Context, userID int64) (_ string, err error) {
	defer wrap(&err, "PasswordHash %d", userID)
	var h string
	err = db.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&h)
	return h, mapError(err)
}

// ChangePassword sets the user's own new password (already checked
// against the policy and the history), clears a forced change, keeps the
// hash in the history and ends every other session of theirs: only the
// browser that changed it (keepToken) stays signed in. reason is why the
// change was asked ("reset", "expired" or "" when the user chose to).
func (db *DB) ChangePassword(ctx context.Context, actor audit.Actor, userID int64, hash, keepToken, reason string) (err error) {
	defer wrap(&err, "ChangePassword %d", userID)
	now := db.Now()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE users SET password_hash = $2, password_changed_at = $3, must_change_password = false, updated_at = $3
			WHERE id = $1`, userID, hash, now); err != nil {
			return err
		}
		if err := rememberPassword(ctx, tx, userID, hash, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, auth.TokenHash(keepToken))
		if err != nil {
			return err
		}
		d := map[string]any{"other_sessions_ended": tag.RowsAffected()}
		if reason != "" {
			d["reason"] = reason
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "password_change", ObjectType: "user",
			ObjectID: strconv.FormatInt(userID, 10), Outcome: audit.Success, Detail: d})
	})
}

// SessionInfo is one signed-in browser of a user, for "my sessions".
type SessionInfo struct {
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
	Current    bool
}

// ListSessions returns the user's live sessions, newest first, marking the
// one of currentToken.
func (db *DB) ListSessions(ctx context.Context, userID int64, currentToken string) (_ []SessionInfo, err error) {
	defer wrap(&err, "ListSessions %d", userID)
	now := db.Now()
	rows, _ := db.Pool.Query(ctx, `
		SELECT s.created_at, s.last_seen_at, s.ip, s.user_agent, s.token_hash = $2
		FROM sessions s CROSS JOIN security_policy p
		WHERE s.user_id = $1 AND s.expires_at > $3
		  AND s.last_seen_at > $3 - make_interval(mins => p.idle_timeout_minutes)
		  AND s.created_at > $3 - make_interval(mins => p.absolute_timeout_minutes)
		ORDER BY s.created_at DESC`, userID, auth.TokenHash(currentToken), now)
	ss, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SessionInfo, error) {
		var s SessionInfo
		return s, row.Scan(&s.CreatedAt, &s.LastSeenAt, &s.IP, &s.UserAgent, &s.Current)
	})
	return ss, mapError(err)
}

// EndOtherSessions signs the user out everywhere but keepToken and returns
// how many sessions ended.
func (db *DB) EndOtherSessions(ctx context.Context, actor audit.Actor, userID int64, keepToken string) (_ int64, err error) {
	defer wrap(&err, "EndOtherSessions %d", userID)
	var n int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, auth.TokenHash(keepToken))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "sessions_end_others", ObjectType: "user",
			ObjectID: strconv.FormatInt(userID, 10), Outcome: audit.Success, Detail: map[string]any{"ended": n}})
	})
	return n, err
}
