package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/postgres/pgtest"
	"ite/internal/s3local/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.After(pgtest.Main(m))) }

// env builds an injected environment for run. CRYPTO is the one the test
// databases have recorded (pgtest.Crypto, ITE_TEST_CRYPTO) unless given.
func env(kv map[string]string) func(string) string {
	if kv == nil {
		kv = map[string]string{}
	}
	if _, ok := kv["CRYPTO"]; !ok {
		kv["CRYPTO"] = pgtest.Crypto()
	}
	return func(k string) string { return kv[k] }
}

func TestAuditVerifyCommand(t *testing.T) {
	url := pgtest.NewURL(t)
	dir := t.TempDir()
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir})
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"seed"}, getenv, nil, &out, &errb); code != 0 {
		t.Fatalf("seed: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "admin") {
		t.Fatalf("seed printed no logins: %s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"audit", "verify"}, getenv, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "校验通过") {
		t.Fatalf("verify: %d %s %s", code, out.String(), errb.String())
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, sql := range []string{
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
		`UPDATE audit_log SET detail = '{"after":{"username":"mallory"}}' WHERE seq = 3`,
		`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`,
	} {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	code := run(context.Background(), []string{"audit", "verify"}, getenv, nil, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "第 3 条") {
		t.Fatalf("tampering not reported: %d %s", code, out.String())
	}
}

func TestServeRefusesOldSchema(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	var out, errb bytes.Buffer
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir(), "LISTEN_ADDR": "127.0.0.1:0"})
	code := run(context.Background(), []string{"serve"}, getenv, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "migrate") {
		t.Fatalf("served on an unmigrated database: %d %s", code, errb.String())
	}
}

// serveReady runs `server serve args...` in-process with the environment
// kv (and a free LISTEN_ADDR) until /readyz answers 200, and returns the
// channel its exit code arrives on and its stderr.
func serveReady(t *testing.T, ctx context.Context, args []string, kv map[string]string) (<-chan int, *bytes.Buffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	kv["LISTEN_ADDR"] = addr
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() { done <- run(ctx, append([]string{"serve"}, args...), env(kv), nil, &out, &errb) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return done, &errb
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v %s", err, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServeMigratesAndShutsDownGracefully(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	done, errb := serveReady(t, ctx, []string{"-migrate", "-demo"}, map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir()})
	cancel() // what SIGINT/SIGTERM do through signal.NotifyContext
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no graceful shutdown")
	}
}

func TestConfigSecretsGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	c1, err := loadConfig(env(map[string]string{"DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := loadConfig(env(map[string]string{"DATA_DIR": dir}))
	if len(c1.MasterKey) != 32 || !bytes.Equal(c1.MasterKey, c2.MasterKey) || bytes.Equal(c1.AppKey, c1.MasterKey) {
		t.Fatal("keys not generated once and kept")
	}
	st, err := os.Stat(dir + "/secrets/master.key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st, err)
	}
	if _, err := loadConfig(env(map[string]string{"DATA_DIR": dir, "MASTER_KEY": "short"})); err == nil {
		t.Fatal("a malformed MASTER_KEY was accepted")
	}
}

func TestConfigPageCache(t *testing.T) {
	dir := t.TempDir()
	for v, want := range map[string]bool{"": true, "on": true, "off": false} {
		c, err := loadConfig(env(map[string]string{"DATA_DIR": dir, "PAGE_CACHE": v}))
		if err != nil || c.PageCache != want {
			t.Fatalf("PAGE_CACHE=%q: cache %v, err %v; want %v", v, c.PageCache, err, want)
		}
	}
	if _, err := loadConfig(env(map[string]string{"DATA_DIR": dir, "PAGE_CACHE": "yes"})); err == nil ||
		!strings.Contains(err.Error(), "PAGE_CACHE") {
		t.Fatalf("PAGE_CACHE=yes: err %v, want a message naming the variable", err)
	}
}

// TestComposeFileValid loads docker-compose.yml with the Compose
// specification's own loader (no Docker engine needed) and checks the
// deployment's shape: postgres with a volume and health check, a one-shot
// migrate, and the app waiting for it.
func TestComposeFileValid(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithEnv([]string{"POSTGRES_PASSWORD=x", "APP_KEY=" + strings.Repeat("a", 64), "MASTER_KEY=" + strings.Repeat("b", 64)}),
		cli.WithName("ite"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose file invalid: %v", err)
	}
	pg, err := p.GetService("postgres")
	if err != nil || pg.HealthCheck == nil || len(pg.Volumes) == 0 {
		t.Fatalf("postgres service: %+v %v", pg, err)
	}
	mig, err := p.GetService("migrate")
	if err != nil || mig.DependsOn["postgres"].Condition != "service_healthy" {
		t.Fatalf("migrate service: %v", err)
	}
	app, err := p.GetService("app")
	if err != nil || app.DependsOn["migrate"].Condition != "service_completed_successfully" || app.HealthCheck == nil {
		t.Fatalf("app service: %v", err)
	}
	if app.Environment["DATABASE_URL"] == nil || !strings.Contains(*app.Environment["DATABASE_URL"], "@postgres:5432/") {
		t.Fatal("app does not reach the postgres service")
	}
}

func TestSeedRefusedInProduction(t *testing.T) {
	url := pgtest.NewURL(t)
	var out, errb bytes.Buffer
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": t.TempDir(), "APP_ENV": "production"})
	if code := run(context.Background(), []string{"seed"}, getenv, nil, &out, &errb); code == 0 || strings.Contains(out.String(), "Demo@") {
		t.Fatalf("demo accounts created in production: %d %s", code, out.String())
	}
}
