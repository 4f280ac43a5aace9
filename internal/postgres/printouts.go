package postgres

import (
	"context"
	"time"
)

// decidedAtQueries read when an approver decided a maker–checker record,
// for the date a printed decision bears.
var decidedAtQueries = map[string]string{
	"decision": `SELECT checked_at FROM decisions WHERE id = $1`,
	"exit":     `SELECT checked_at FROM exits WHERE id = $1`,
	"ending":   `SELECT checked_at FROM endings WHERE id = $1`,
}

// DecidedAt returns when record id of kind (decision, exit, ending) was
// approved or rejected; the zero time while it is pending. Errors:
// NotFound.
func (db *DB) DecidedAt(ctx context.Context, kind string, id int64) (_ time.Time, err error) {
	defer wrap(&err, "DecidedAt %s %d", kind, id)
	q, ok := decidedAtQueries[kind]
	if !ok {
		panic("postgres.DecidedAt: unknown kind " + kind)
	}
	var at *time.Time
	if err := db.Pool.QueryRow(ctx, q, id).Scan(&at); err != nil {
		return time.Time{}, mapError(err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return *at, nil
}
