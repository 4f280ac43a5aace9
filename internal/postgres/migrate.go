package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"ite/migrations"
)

// Schema errors, returned wrapped with the versions involved. The server
// refuses to start on either unless asked to migrate.
var (
	// ErrSchemaOutdated: the database lacks migrations this program has.
	ErrSchemaOutdated = errors.New("database schema is out of date")
	// ErrSchemaDirty: a migration failed part-way (or its process died)
	// and the schema needs repair by hand before anything else runs.
	ErrSchemaDirty = errors.New("database schema is dirty")
)

// Migrate applies the embedded migrations that the database lacks, in
// order. It is safe to run from several processes at once: golang-migrate
// holds a PostgreSQL advisory lock while it works.
//
// Each file runs as one Exec of the whole file (x-multi-statement is left
// off); pgx sends it with the simple query protocol, which PostgreSQL runs
// as one implicit transaction, so a failing file leaves nothing behind and
// needs no BEGIN/COMMIT. golang-migrate then records the schema as dirty at
// that version and Migrate returns the SQL error; later calls return
// ErrSchemaDirty until someone repairs it. (Splitting files on ";", as
// x-multi-statement does, would give up that atomicity and break
// dollar-quoted function bodies.)
//
// Cancelling ctx stops after the migration in progress.
func Migrate(ctx context.Context, databaseURL string) error {
	return migrateFS(ctx, databaseURL, migrations.FS)
}

func migrateFS(ctx context.Context, databaseURL string, fsys fs.FS) error {
	src, err := iofs.New(fsys, ".")
	if err != nil {
		return fmt.Errorf("migrate: read migrations: %w", err)
	}
	cfg, err := parseConnConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Through WithInstance rather than a pgx5:// URL: the connection string
	// is parsed by pgx alone, so any form pgx takes works unchanged.
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("migrate: connect: %w", err)
	}
	driver, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	if err != nil {
		db.Close()
		return fmt.Errorf("migrate: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		driver.Close()
		return fmt.Errorf("migrate: %w", err)
	}
	defer m.Close()
	stop := context.AfterFunc(ctx, func() { m.GracefulStop <- true })
	defer stop()

	err = m.Up()
	var dirty migrate.ErrDirty
	switch {
	case errors.Is(err, migrate.ErrNoChange):
		return nil
	case errors.As(err, &dirty):
		return fmt.Errorf("%w: migration %d failed part-way earlier; repair the database by hand, then record the version reached with golang-migrate's force", ErrSchemaDirty, dirty.Version)
	case err != nil:
		return fmt.Errorf("migrate: %w", err)
	}
	// A graceful stop returns nil having skipped the rest.
	return ctx.Err()
}

// CheckSchema returns nil when the database has every embedded migration
// applied and none failed; otherwise an error wrapping ErrSchemaOutdated or
// ErrSchemaDirty, or the connection error. A database ahead of this
// program is accepted: during a rolling deploy old servers keep running on
// the new, backward-compatible schema. It only reads.
func CheckSchema(ctx context.Context, databaseURL string) error {
	cfg, err := parseConnConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("check schema: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("check schema: connect: %w", err)
	}
	defer conn.Close(context.Background())
	return schemaCurrent(ctx, conn, LatestVersion())
}

// querier is what schemaCurrent needs: a *pgx.Conn or a *pgxpool.Pool (for
// a readiness check on the server's own pool).
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaCurrent(ctx context.Context, q querier, latest uint) error {
	// golang-migrate's table: one row, the version reached and whether the
	// migration to it failed part-way.
	var version int64
	var dirty bool
	err := q.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&version, &dirty)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && pgErr.Code == "42P01": // undefined_table
		if latest == 0 {
			return nil
		}
		return fmt.Errorf("%w: the database has no schema yet, this program needs version %d: run the migrate command", ErrSchemaOutdated, latest)
	case err != nil:
		return fmt.Errorf("check schema: %w", err)
	case dirty:
		return fmt.Errorf("%w: migration %d failed part-way; repair the database by hand, then record the version reached with golang-migrate's force", ErrSchemaDirty, version)
	case version < int64(latest):
		return fmt.Errorf("%w: the database is at version %d, this program needs %d: run the migrate command", ErrSchemaOutdated, version, latest)
	}
	return nil
}

// LatestVersion is the version of the newest embedded migration, 0 if
// there is none: the version CheckSchema requires.
func LatestVersion() uint { return latestVersion() }

var latestVersion = sync.OnceValue(func() uint { return newestVersion(migrations.FS) })

// newestVersion reads file names the way golang-migrate does; files that do
// not parse are ignored by it, and so here.
func newestVersion(fsys fs.FS) uint {
	entries, _ := fs.ReadDir(fsys, ".")
	var newest uint
	for _, e := range entries {
		if m, err := source.DefaultParse(e.Name()); err == nil && m.Version > newest {
			newest = m.Version
		}
	}
	return newest
}

// parseConnConfig accepts what pgx accepts (postgres:// and postgresql://
// URLs, key=value strings) and golang-migrate's pgx5:// spelling.
func parseConnConfig(databaseURL string) (*pgx.ConnConfig, error) {
	if rest, ok := strings.CutPrefix(databaseURL, "pgx5://"); ok {
		databaseURL = "postgres://" + rest
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	return cfg, nil
}
