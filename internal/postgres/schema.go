package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckSchemaPool is CheckSchema over an open pool, cheap enough for
// /readyz: one query against golang-migrate's bookkeeping table.
func CheckSchemaPool(ctx context.Context, pool *pgxpool.Pool) error {
	var version int64
	var dirty bool
	if err := pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if dirty {
		return fmt.Errorf("schema version %d is dirty: a migration failed half-way", version)
	}
	// A newer schema is fine (a rolling deploy migrates before the last old
	// server stops); an older one lacks what this build needs.
	if uint(version) < LatestVersion() {
		return fmt.Errorf("schema version %d, this build expects %d", version, LatestVersion())
	}
	return nil
}

// SchemaReady reports whether the database answers and its schema is the
// one this binary expects (CheckSchemaPool over db's pool), for /readyz.
func (db *DB) SchemaReady(ctx context.Context) error {
	return CheckSchemaPool(ctx, db.Pool)
}
