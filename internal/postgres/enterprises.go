package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
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
func (db *DB) CreateEnterprise(ctx context.Context, actor audit.Actor, name, uscc string) (Enterprise, error) {
	uscc = applications.NormalizeUSCC(uscc)
	if err := applications.ValidateUSCC(uscc); err != nil {
		return Enterprise{}, err
	}
	if name == "" {
		return Enterprise{}, applications.FieldError("name", "请填写企业名称。")
	}
	var e Enterprise
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO enterprises (name, uscc) VALUES ($1, $2) RETURNING id, name, uscc`, name, uscc)
		var err error
		if e, err = pgx.CollectExactlyOneRow(rows, scanEnterprise); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{Actor: actor, Name: "enterprise_create",
			ObjectType: "enterprise", ObjectID: strconv.FormatInt(e.ID, 10), Outcome: audit.Success,
			Detail: map[string]any{"after": map[string]any{"name": name, "uscc": uscc}}})
	})
	return e, err
}

// ListEnterprises returns enterprises by name.
func (db *DB) ListEnterprises(ctx context.Context) ([]Enterprise, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT id, name, uscc FROM enterprises ORDER BY name`)
	es, err := pgx.CollectRows(rows, scanEnterprise)
	return es, mapError(err)
}
