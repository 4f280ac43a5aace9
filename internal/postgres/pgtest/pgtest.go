// Package pgtest gives each test its own migrated PostgreSQL database.
//
// If TEST_DATABASE_URL is set, its server is used (the role needs
// CREATEDB; PostgreSQL 13 or newer). Otherwise the first test that asks
// starts a private throwaway cluster (pglocal, fsync off, in a temp
// directory) for the whole test binary. Either way the migrations run once
// per server into a template database named after a hash of the migration
// files, and every NewDB is a `CREATE DATABASE ... TEMPLATE` copy of it
// (tens of milliseconds), dropped when the test ends. Tests never share
// rows.
//
// Use it from a package's TestMain, so the private cluster is stopped and
// its directory removed when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without PostgreSQL (none installed, and not root to install it) tests
// that need a database are skipped, except under CI=true, where they fail.
//
// ITE_TEST_CRYPTO=gm (or intl) makes every migrated database an
// installation that has recorded that CRYPTO choice (its template gets the
// crypto_settings row), so the same storage and chain tests run with SM3
// chains; unset, the databases record nothing and chain as intl does.
// Tests that start the command pass Crypto() on as CRYPTO.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"ite/internal/pglocal"
	"ite/migrations"
)

// EnvURL names the variable holding an existing server's URL.
const EnvURL = "TEST_DATABASE_URL"

// EnvCrypto names the variable choosing the CRYPTO the test databases
// have recorded: "", "intl" or "gm".
const EnvCrypto = "ITE_TEST_CRYPTO"

// Crypto is the CRYPTO the test databases have recorded ("" for none).
func Crypto() string { return os.Getenv(EnvCrypto) }

// server is the PostgreSQL server of this test binary, set up once.
type server struct {
	url      string        // a database to connect to for CREATE/DROP DATABASE
	admin    *pgxpool.Pool // on url
	template string
	cluster  *pglocal.Cluster // nil with TEST_DATABASE_URL
	dir      string           // the private cluster's directory
}

var (
	mu       sync.Mutex
	srv      *server
	setupErr error
	setUp    bool
)

// Main runs the tests, then stops the private cluster (if one was started)
// and removes its directory. It returns m.Run's exit code, or 1 if the
// tests passed but the clean-up failed. A TestMain may just call it (Go
// then exits with m.Run's code) or os.Exit with its result.
//
// Should the test binary die without returning here (a panic, -timeout),
// the cluster still stops: it receives a signal when its parent dies, and
// the next test run removes the directory.
func Main(m *testing.M) int {
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func shutdown() error {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return nil
	}
	srv.admin.Close()
	var err error
	if srv.cluster != nil {
		err = srv.cluster.Stop()
	}
	if srv.dir != "" {
		err = errors.Join(err, os.RemoveAll(srv.dir))
	}
	srv = nil
	return err
}

// get returns the server, setting it up on first use. It skips or fails
// the test when there is none.
func get(t testing.TB) *server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !setUp {
		setUp = true
		srv, setupErr = setup()
	}
	if setupErr != nil {
		if errors.Is(setupErr, pglocal.ErrNotInstalled) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: no PostgreSQL for this test (set %s to use a server, or install PostgreSQL; under CI=true this fails): %v", EnvURL, setupErr)
		}
		t.Fatalf("pgtest: %v", setupErr)
	}
	return srv
}

func setup() (*server, error) {
	// Long enough for apt-get to install PostgreSQL on a fresh machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := &server{template: templateName()}
	s.url = os.Getenv(EnvURL)
	if s.url == "" {
		if err := s.startCluster(ctx); err != nil {
			return nil, err
		}
	}
	var err error
	if s.admin, err = pgxpool.New(ctx, s.url); err == nil {
		err = s.admin.Ping(ctx)
	}
	if err == nil {
		_, err = ensureTemplate(ctx, s.admin, s.url, s.template)
	}
	if err != nil {
		if s.admin != nil {
			s.admin.Close()
		}
		if s.cluster != nil {
			_ = s.cluster.Stop()
			_ = os.RemoveAll(s.dir)
		}
		return nil, err
	}
	return s, nil
}

// dirPrefix names the private clusters' directories, so that those of
// test binaries that died can be found and removed.
const dirPrefix = "ite-pgtest-"

func (s *server) startCluster(ctx context.Context) error {
	sweep()
	dir, err := os.MkdirTemp(clusterParent(), dirPrefix)
	if err != nil {
		return err
	}
	// Reachable by the postgres user when we are root (MkdirTemp gives 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return err
	}
	var log lockedBuffer
	c, err := pglocal.Start(ctx, pglocal.Options{Dir: dir, Database: "postgres", Ephemeral: true, Log: &log})
	if err != nil {
		os.RemoveAll(dir)
		if errors.Is(err, pglocal.ErrNotInstalled) {
			return err
		}
		return fmt.Errorf("start a private PostgreSQL (or set %s): %w\n%s", EnvURL, err, log.String())
	}
	s.cluster, s.dir, s.url = c, dir, c.URL
	return nil
}

// clusterParent is where private clusters go: /dev/shm when it is a
// tmpfs with room, because CREATE and DROP DATABASE there take ~20 ms
// against hundreds on a disk (measured on the CI machine, even with fsync
// off); otherwise the temp directory. A container's default 64 MB /dev/shm
// is too small.
func clusterParent() string {
	const shm, need = "/dev/shm", 1 << 30
	var st syscall.Statfs_t
	if syscall.Statfs(shm, &st) == nil && uint64(st.Bavail)*uint64(st.Bsize) >= need && syscall.Access(shm, 2 /* W_OK */) == nil {
		return shm
	}
	return os.TempDir()
}

// sweep removes the directories of private clusters whose test binary
// died before Main could remove them (their servers died with it).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	more, _ := filepath.Glob(filepath.Join("/dev/shm", dirPrefix+"*"))
	for _, d := range append(dirs, more...) {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue // being set up right now, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// templateName is tpl_ and 12 hex digits of a SHA-256 over the migration
// files' names and contents: a changed or added migration gets a new
// template, an unchanged set reuses the one already on the server.
func templateName() string {
	h := sha256.New()
	entries, err := fs.ReadDir(migrations.FS, ".") // sorted by name
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	for _, e := range entries {
		b, err := fs.ReadFile(migrations.FS, e.Name())
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	name := "tpl_" + hex.EncodeToString(h.Sum(nil))[:12]
	if c := Crypto(); c != "" {
		name += "_" + c
	}
	return name
}

// templateBuilds counts templates this process built, for tests.
var templateBuilds int

// ensureTemplate creates the migrated template database unless it exists.
// Test binaries sharing a server (TEST_DATABASE_URL) run this at the same
// time, so it holds an advisory lock; the template is built under another
// name and renamed when complete, so a binary that dies mid-build never
// leaves a half-migrated template that others would copy.
func ensureTemplate(ctx context.Context, admin *pgxpool.Pool, adminURL, name string) (built bool, err error) {
	conn, err := admin.Acquire(ctx) // advisory locks belong to a session
	if err != nil {
		return false, err
	}
	defer conn.Release()
	const lockKey = `hashtextextended('ite/pgtest/' || $1, 0)`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`, name); err != nil {
		return false, fmt.Errorf("lock template %s: %w", name, err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+lockKey+`)`, name); uerr != nil {
			// A session still holding the lock would block others.
			conn.Hijack().Close(context.Background())
		}
	}()

	if exists, err := databaseExists(ctx, conn, name); err != nil || exists {
		return false, err
	}
	build := name + "_build"
	if err := dropDatabase(ctx, conn, build); err != nil { // left by a binary that died
		return false, err
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident(build)); err != nil {
		return false, fmt.Errorf("create %s: %w", build, err)
	}
	buildURL, err := withDatabase(adminURL, build)
	if err == nil {
		err = migrateDatabase(ctx, buildURL)
	}
	if c := Crypto(); err == nil && c != "" {
		err = recordCrypto(ctx, buildURL, c)
	}
	if err == nil {
		// No connections, ever: CREATE DATABASE ... TEMPLATE fails while
		// anyone is connected to the template. IS_TEMPLATE guards it
		// against an accidental DROP.
		_, err = conn.Exec(ctx, `ALTER DATABASE `+ident(build)+` WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`)
	}
	if err == nil {
		err = renameDatabase(ctx, conn, build, name)
	}
	if err != nil {
		_ = dropDatabase(context.Background(), conn, build)
		return false, fmt.Errorf("build template %s: %w", name, err)
	}
	templateBuilds++
	return true, nil
}

// migrateDatabase runs the embedded migrations with golang-migrate, as
// postgres.Migrate does. It is not shared with it because the postgres
// package's own tests use pgtest, and pgtest importing postgres would make
// an import cycle; TestTemplateMatchesMigrate in package postgres checks
// the two agree.
func migrateDatabase(ctx context.Context, databaseURL string) error {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return err
	}
	driver, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	if err != nil {
		db.Close()
		return err
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		driver.Close()
		return err
	}
	err = m.Up()
	srcErr, dbErr := m.Close()
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	return errors.Join(err, srcErr, dbErr)
}

// recordCrypto records mode as the database's CRYPTO choice, as the first
// start of the command would (postgres.RecordCrypto, without its audit row).
func recordCrypto(ctx context.Context, databaseURL, mode string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `INSERT INTO crypto_settings (mode) VALUES ($1)`, mode); err != nil {
		return fmt.Errorf("%s=%s: %w", EnvCrypto, mode, err)
	}
	return nil
}

func renameDatabase(ctx context.Context, conn *pgxpool.Conn, from, to string) error {
	// The migration's connections are closed, but their server processes
	// may not have exited yet; ALTER ... RENAME fails while they are there.
	for {
		_, err := conn.Exec(ctx, `ALTER DATABASE `+ident(from)+` RENAME TO `+ident(to))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			return err
		}
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, from); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func databaseExists(ctx context.Context, conn *pgxpool.Conn, name string) (bool, error) {
	var exists bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	return exists, err
}

// dropDatabase drops name if it exists, template or not, even with
// sessions connected.
func dropDatabase(ctx context.Context, conn *pgxpool.Conn, name string) error {
	if exists, err := databaseExists(ctx, conn, name); err != nil || !exists {
		return err
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+ident(name)+` WITH IS_TEMPLATE false`); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident(name)+` WITH (FORCE)`)
	return err
}

// NewURL creates a database for this test, a copy of the migrated
// template, and returns its URL. The database is dropped when the test
// ends.
func NewURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, get(t).template)
}

// NewEmptyURL is NewURL without the migrations: a database as CREATE
// DATABASE makes it, for testing the migrations themselves.
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "template0")
}

// NewDB creates a database for this test like NewURL and returns a pool on
// it, closed and the database dropped when the test ends.
func NewDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := NewURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Registered after the drop, so it runs before it.
	t.Cleanup(pool.Close)
	return pool
}

func newDatabase(t testing.TB, template string) string {
	t.Helper()
	s := get(t)
	name := "t_" + rand.Text()[:16]
	name = strings.ToLower(name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.Exec(ctx, `CREATE DATABASE `+ident(name)+` TEMPLATE `+ident(template)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE: a test may leave connections open (a server it started
		// and did not stop); they must not keep the database alive.
		if _, err := s.admin.Exec(ctx, `DROP DATABASE IF EXISTS `+ident(name)+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dbURL, err := withDatabase(s.url, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// withDatabase returns connString pointing at another database. URLs get
// their path replaced; key=value strings get a dbname appended, which
// overrides an earlier one.
func withDatabase(connString, database string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvURL, err)
		}
		u.Path, u.RawPath = "/"+database, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	return connString + " dbname='" + database + "'", nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// lockedBuffer collects pglocal's progress log for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
