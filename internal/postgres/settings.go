package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"ite/internal/audit"
)

// A user's settings: which kinds of notification they want by email.

// EmailOptOuts returns the kinds whose email the user has turned off.
func (db *DB) EmailOptOuts(ctx context.Context, userID int64) (_ map[NotifyKind]bool, err error) {
	defer wrap(&err, "EmailOptOuts %d", userID)
	rows, _ := db.Pool.Query(ctx, `SELECT kind FROM email_opt_outs WHERE user_id = $1`, userID)
	kinds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapError(err)
	}
	out := make(map[NotifyKind]bool, len(kinds))
	for _, k := range kinds {
		out[NotifyKind(k)] = true
	}
	return out, nil
}

// SetEmailOptOuts replaces the kinds whose email the user does not want
// (the in-app notification always stays), with an audit row. Unknown
// kinds are ignored.
func (db *DB) SetEmailOptOuts(ctx context.Context, actor audit.Actor, userID int64, off []NotifyKind) (err error) {
	defer wrap(&err, "SetEmailOptOuts %d", userID)
	known := map[NotifyKind]bool{}
	for _, k := range AllNotifyKinds() {
		known[k] = true
	}
	var kinds []string
	for _, k := range off {
		if known[k] {
			kinds = append(kinds, string(k))
		}
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM email_opt_outs WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO email_opt_outs (user_id, kind) SELECT $1, k FROM unnest($2::text[]) k
			ON CONFLICT DO NOTHING`, userID, kinds); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "email_settings", ObjectType: "user",
			ObjectID: strconv.FormatInt(userID, 10), Outcome: audit.Success, Detail: map[string]any{"email_off": kinds}})
	})
}
