package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
)

// The lookups below answer "which project does this record belong to?" for
// the handlers addressed by a child record's ID (a decision, an objection,
// an agreement version, a trigger event) that go back to the project's
// page. Each returns NotFound only when the record does not exist; any other
// failure (a dropped connection, a cancelled request) is wrapped with the
// operation and the ID, so it is reported as a 500, never as "not found".

// DecisionApplication returns the application of decision id. NotFound.
func (db *DB) DecisionApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "DecisionApplication", `SELECT application_id FROM decisions WHERE id = $1`, id, "立项决定不存在。")
}

// ObjectionApplication returns the application of objection id. NotFound.
func (db *DB) ObjectionApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "ObjectionApplication", `SELECT application_id FROM objections WHERE id = $1`, id, "异议不存在。")
}

// AgreementApplication returns the application of agreement version id.
// NotFound.
func (db *DB) AgreementApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "AgreementApplication", `SELECT application_id FROM agreements WHERE id = $1`, id, "协议版本不存在。")
}

// EventApplication returns the application of trigger event id. NotFound.
func (db *DB) EventApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "EventApplication", `SELECT application_id FROM trigger_events WHERE id = $1`, id, "事项不存在。")
}

// applicationOf runs a one-row application_id lookup: pgx.ErrNoRows is
// NotFound with the message given, anything else an error naming op and id.
func (db *DB) applicationOf(ctx context.Context, op, query string, id int64, notFound string) (int64, error) {
	var appID int64
	err := db.Pool.QueryRow(ctx, query, id).Scan(&appID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, applications.Errorf(applications.NotFound, "%s", notFound)
	case err != nil:
		return 0, fmt.Errorf("%s %d: %w", op, id, err)
	}
	return appID, nil
}

// SchemaReady reports whether the database answers and its schema is the
// one this binary expects (CheckSchemaPool over db's pool), for /readyz.
func (db *DB) SchemaReady(ctx context.Context) error {
	return CheckSchemaPool(ctx, db.Pool)
}
