package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestNewDBIsolated(t *testing.T) {
	a, b := NewDB(t), NewDB(t)
	if _, err := a.Exec(ctx(t), `CREATE TABLE note (body text); INSERT INTO note VALUES ('only in a')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.QueryRow(ctx(t), `SELECT count(*) FROM note`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("a: count = %d, %v", n, err)
	}
	var found *string
	if err := b.QueryRow(ctx(t), `SELECT to_regclass('note')::text`).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != nil {
		t.Fatal("a table created in one test database is visible in another")
	}
	for name, pool := range map[string]interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}{"a": a, "b": b} {
		var version int64
		var dirty bool
		if err := pool.QueryRow(ctx(t), `SELECT version, dirty FROM schema_migrations`).Scan(&version, &dirty); err != nil || dirty || version < 1 {
			t.Errorf("%s: schema version %d dirty=%v err=%v, want migrated", name, version, dirty, err)
		}
	}
}

func TestDatabaseDroppedWhenTestEnds(t *testing.T) {
	var name string
	t.Run("UsesDatabase", func(t *testing.T) {
		pool := NewDB(t)
		if err := pool.QueryRow(ctx(t), `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "t_") {
			t.Errorf("database %q, want t_*", name)
		}
	})
	s := get(t)
	var exists bool
	if err := s.admin.QueryRow(ctx(t), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestTemplateBuiltOnceAndReused(t *testing.T) {
	for range 3 {
		NewDB(t)
	}
	s := get(t)
	if templateBuilds > 1 {
		t.Errorf("template built %d times, want at most once per server", templateBuilds)
	}
	built, err := ensureTemplate(ctx(t), s.admin, s.url, s.template)
	if err != nil || built {
		t.Fatalf("ensureTemplate again: built=%v err=%v, want reuse", built, err)
	}
	suffix := "" // ITE_TEST_CRYPTO=gm has a template of its own, "tpl_<hash>_gm"
	if c := Crypto(); c != "" {
		suffix = "_" + c
	}
	if !strings.HasPrefix(s.template, "tpl_") || len(s.template) != len("tpl_")+12+len(suffix) ||
		!strings.HasSuffix(s.template, suffix) || s.template != templateName() {
		t.Errorf("template name %q", s.template)
	}
	var isTemplate, allowConn bool
	if err := s.admin.QueryRow(ctx(t), `SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1`, s.template).Scan(&isTemplate, &allowConn); err != nil {
		t.Fatal(err)
	}
	if !isTemplate || allowConn {
		t.Errorf("template: datistemplate=%v datallowconn=%v, want true, false", isTemplate, allowConn)
	}
}

// TestConcurrentBuildersBuildOnce stands for test binaries sharing one
// server through TEST_DATABASE_URL and starting together.
func TestConcurrentBuildersBuildOnce(t *testing.T) {
	s := get(t)
	name := "tpl_concurrent_" + strings.ToLower(rand.Text()[:8])
	t.Cleanup(func() {
		conn, err := s.admin.Acquire(context.Background())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Release()
		if err := dropDatabase(context.Background(), conn, name); err != nil {
			t.Error(err)
		}
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	builds := 0
	for range 4 {
		wg.Go(func() {
			built, err := ensureTemplate(ctx(t), s.admin, s.url, name)
			if err != nil {
				t.Error(err)
			}
			if built {
				mu.Lock()
				builds++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if builds != 1 {
		t.Errorf("%d builders built the template, want 1", builds)
	}
	if _, err := s.admin.Exec(ctx(t), `CREATE DATABASE `+ident(name+"_copy")+` TEMPLATE `+ident(name)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.Exec(ctx(t), `DROP DATABASE `+ident(name+"_copy")); err != nil {
		t.Fatal(err)
	}
}

func TestNewEmptyURLHasNoSchema(t *testing.T) {
	conn, err := pgx.Connect(ctx(t), NewEmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var found *string
	if err := conn.QueryRow(ctx(t), `SELECT to_regclass('schema_migrations')::text`).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != nil {
		t.Error("empty database has schema_migrations")
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres@/ite?host=/tmp/itepg-1&port=5432&sslmode=disable", "postgres://postgres@/t_x?host=/tmp/itepg-1&port=5432&sslmode=disable"},
		{"postgresql://u:p%40ss@db:5433/app?sslmode=require", "postgresql://u:p%40ss@db:5433/t_x?sslmode=require"},
		{"postgres://u@db/app?dbname=other", "postgres://u@db/t_x"},
		{"host=db user=u dbname=app", "host=db user=u dbname=app dbname='t_x'"},
	} {
		got, err := withDatabase(tc.in, "t_x")
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil || cfg.Database != "t_x" {
			t.Errorf("pgx reads %q as database %v (%v)", got, cfg, err)
		}
	}
}

func TestParallelTestsGetTheirOwnDatabases(t *testing.T) {
	names := make(chan string, 8)
	t.Run("Group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				var name string
				if err := NewDB(t).QueryRow(ctx(t), `SELECT current_database()`).Scan(&name); err != nil {
					t.Fatal(err)
				}
				names <- name
			})
		}
	})
	close(names)
	seen := map[string]bool{}
	for n := range names {
		if seen[n] {
			t.Errorf("database %s handed out twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 8 {
		t.Errorf("%d databases, want 8", len(seen))
	}
}
