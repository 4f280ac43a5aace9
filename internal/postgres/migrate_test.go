package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/golang-migrate/migrate/v4/source"
	"github.com/jackc/pgx/v5"

	"ite/internal/postgres/pgtest"
	"ite/migrations"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(testContext(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(testContext(t), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestMigrateAndCheckSchema(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	ctx := testContext(t)
	latest := LatestVersion()

	if err := CheckSchema(ctx, url); !errors.Is(err, ErrSchemaOutdated) {
		t.Fatalf("fresh database: CheckSchema = %v, want ErrSchemaOutdated", err)
	}
	if err := Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := CheckSchema(ctx, url); err != nil {
		t.Fatalf("after Migrate: CheckSchema = %v", err)
	}
	t.Run("SecondMigrateChangesNothing", func(t *testing.T) {
		if err := Migrate(ctx, url); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OlderVersionRefused", func(t *testing.T) {
		execSQL(t, url, fmt.Sprintf(`UPDATE schema_migrations SET version = %d`, latest-1))
		defer execSQL(t, url, fmt.Sprintf(`UPDATE schema_migrations SET version = %d`, latest))
		if err := CheckSchema(ctx, url); !errors.Is(err, ErrSchemaOutdated) {
			t.Fatalf("CheckSchema = %v, want ErrSchemaOutdated", err)
		}
	})
	t.Run("NewerVersionAccepted", func(t *testing.T) {
		// A rolling deploy runs old servers on the new schema for a while.
		execSQL(t, url, fmt.Sprintf(`UPDATE schema_migrations SET version = %d`, latest+1))
		defer execSQL(t, url, fmt.Sprintf(`UPDATE schema_migrations SET version = %d`, latest))
		if err := CheckSchema(ctx, url); err != nil {
			t.Fatalf("CheckSchema = %v, want nil", err)
		}
	})
	t.Run("DirtyRefused", func(t *testing.T) {
		execSQL(t, url, `UPDATE schema_migrations SET dirty = true`)
		defer execSQL(t, url, `UPDATE schema_migrations SET dirty = false`)
		if err := CheckSchema(ctx, url); !errors.Is(err, ErrSchemaDirty) {
			t.Fatalf("CheckSchema = %v, want ErrSchemaDirty", err)
		}
		if err := Migrate(ctx, url); !errors.Is(err, ErrSchemaDirty) {
			t.Fatalf("Migrate = %v, want ErrSchemaDirty", err)
		}
	})
	t.Run("UnreachableDatabaseIsAnError", func(t *testing.T) {
		gone := strings.Replace(url, "/t_", "/missing_t_", 1)
		if err := CheckSchema(ctx, gone); err == nil || errors.Is(err, ErrSchemaOutdated) {
			t.Fatalf("CheckSchema on a missing database = %v, want a connection error", err)
		}
	})
}

func TestURLSchemes(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	rest, ok := strings.CutPrefix(url, "postgres://")
	if !ok {
		t.Skipf("pgtest URL %q is not a postgres:// URL", url)
	}
	ctx := testContext(t)
	if err := Migrate(ctx, "pgx5://"+rest); err != nil {
		t.Fatalf("Migrate(pgx5://...): %v", err)
	}
	if err := CheckSchema(ctx, "postgresql://"+rest); err != nil {
		t.Fatalf("CheckSchema(postgresql://...): %v", err)
	}
}

// TestMigrationFileIsAtomic shows that a file needs no BEGIN/COMMIT: when
// a statement fails, the file's earlier statements are rolled back too.
func TestMigrationFileIsAtomic(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	ctx := testContext(t)
	fsys := fstest.MapFS{
		"000001_a.up.sql":   {Data: []byte("CREATE TABLE a (x int);")},
		"000001_a.down.sql": {Data: []byte("DROP TABLE a;")},
		"000002_b.up.sql":   {Data: []byte("CREATE TABLE b (x int);\nINSERT INTO b VALUES (1);\nSELECT 1/0;\n")},
		"000002_b.down.sql": {Data: []byte("DROP TABLE b;")},
	}
	if err := migrateFS(ctx, url, fsys); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("migrateFS = %v, want the division by zero", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var a, b *string
	if err := conn.QueryRow(ctx, `SELECT to_regclass('a')::text, to_regclass('b')::text`).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a == nil || b != nil {
		t.Errorf("table a exists: %v, table b exists: %v; want migration 1 applied and all of migration 2 rolled back", a != nil, b != nil)
	}
	if err := schemaCurrent(ctx, conn, newestVersion(fsys)); !errors.Is(err, ErrSchemaDirty) {
		t.Errorf("after a failed migration: schemaCurrent = %v, want ErrSchemaDirty", err)
	}
	if err := migrateFS(ctx, url, fsys); !errors.Is(err, ErrSchemaDirty) {
		t.Errorf("migrating a dirty database: %v, want ErrSchemaDirty", err)
	}
}

// TestTemplateMatchesMigrate checks that pgtest's databases (migrated by
// its own copy of the golang-migrate calls) equal what Migrate produces.
func TestTemplateMatchesMigrate(t *testing.T) {
	ctx := testContext(t)
	fromTemplate := pgtest.NewURL(t)
	if err := CheckSchema(ctx, fromTemplate); err != nil {
		t.Fatalf("pgtest database: %v", err)
	}
	migrated := pgtest.NewEmptyURL(t)
	if err := Migrate(ctx, migrated); err != nil {
		t.Fatal(err)
	}
	if a, b := describeSchema(t, fromTemplate), describeSchema(t, migrated); a != b {
		t.Errorf("pgtest template and Migrate differ:\n%s\n---\n%s", a, b)
	}
}

// describeSchema lists the public schema's columns, constraints and
// triggers in a stable order.
func describeSchema(t *testing.T, url string) string {
	t.Helper()
	conn, err := pgx.Connect(testContext(t), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(testContext(t), `
		SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL
		SELECT conrelid::regclass::text || ' ' || conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		UNION ALL
		SELECT tgrelid::regclass::text || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestEmbeddedMigrationsWellFormed catches mistakes golang-migrate would
// pass over silently (a misnamed file is skipped) or report only at run
// time.
func TestEmbeddedMigrationsWellFormed(t *testing.T) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	ups, downs := map[uint]string{}, map[uint]string{}
	for _, e := range entries {
		m, err := source.DefaultParse(e.Name())
		if err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			t.Errorf("%s: not NNNNNN_name.up.sql or NNNNNN_name.down.sql; golang-migrate would skip it", e.Name())
			continue
		}
		byDirection := ups
		if m.Direction == source.Down {
			byDirection = downs
		}
		if prev, dup := byDirection[m.Version]; dup {
			t.Errorf("version %d used by %s and %s", m.Version, prev, e.Name())
		}
		byDirection[m.Version] = e.Name()
		body, _ := fs.ReadFile(migrations.FS, e.Name())
		if strings.Contains(strings.ToUpper(string(body)), "CONCURRENTLY") {
			t.Errorf("%s: CONCURRENTLY cannot run inside the transaction each migration file runs in", e.Name())
		}
	}
	for v := uint(1); v <= LatestVersion(); v++ {
		if ups[v] == "" {
			t.Errorf("no up migration for version %d: versions must be sequential", v)
		}
		if downs[v] == "" {
			t.Errorf("no down migration for version %d (%s)", v, ups[v])
		}
	}
	if len(ups) == 0 {
		t.Error("no migrations embedded")
	}
}
