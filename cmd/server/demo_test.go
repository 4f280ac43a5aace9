package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ite/internal/postgres/pgtest"
	"ite/internal/seed"
)

// TestServeDemo is `make run` as a newcomer meets it: serve -migrate -demo
// on an empty database prints a login for every role, every demo login
// signs in, each demo application's pages open for the enterprise, staff,
// the approver and the auditor, `ledger verify` and `audit verify` pass,
// and a second start adds nothing.
func TestServeDemo(t *testing.T) {
	url := pgtest.NewEmptyURL(t)
	dataDir := t.TempDir()
	serve := func(t *testing.T, check func(base string, out string)) {
		t.Helper()
		srv := startServe(t, []string{"serve", "-migrate", "-demo"}, map[string]string{"DATABASE_URL": url, "DATA_DIR": dataDir})
		defer srv.stop(t)
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(srv.out.String(), "ITE 已启动") {
			if time.Now().After(deadline) {
				t.Fatalf("server not ready: %s %s", srv.out.String(), srv.errb.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		check("http://"+srv.addr, srv.out.String())
	}
	getenv := env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dataDir})
	verify := func(t *testing.T, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, getenv, nil, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d %s %s", args, code, out.String(), errb.String())
		}
		return out.String()
	}

	var auditBefore string
	t.Run("FirstStartSeedsEveryScreen", func(t *testing.T) {
		serve(t, func(base, out string) {
			for _, l := range append(seed.DemoLogins, seed.DemoExperts...) {
				if !strings.Contains(out, "用户名 "+l.Username+" ") {
					t.Errorf("login %s not printed:\n%s", l.Username, out)
				}
			}
			ids := demoIDs(t, login(t, base, "jingban"), base)
			if len(ids) != len(seed.DemoCases) {
				t.Fatalf("staff queue lists %d demo applications, want %d", len(ids), len(seed.DemoCases))
			}
			pages := map[string][]string{
				"qiye":     {"", "/equity", "/agreement"},
				"jingban":  {"", "/equity", "/disbursements", "/agreement"},
				"shenpi":   {"", "/equity"},
				"shenji":   {"", "/equity"},
				"zhuanjia": nil,
			}
			for user, suffixes := range pages {
				c := login(t, base, user)
				if r, body := get(t, c, base+"/"); r != http.StatusOK || !strings.Contains(body, "退出") {
					t.Errorf("%s: home %d", user, r)
				}
				for _, id := range ids {
					for _, sfx := range suffixes {
						path := "/applications/" + strconv.FormatInt(id, 10) + sfx
						if st, _ := get(t, c, base+path); st != http.StatusOK && !(sfx != "" && (st == http.StatusNotFound || st == http.StatusConflict)) {
							t.Errorf("%s GET %s: %d", user, path, st)
						}
					}
				}
			}
			c := login(t, base, "zhuanjia")
			if st, body := get(t, c, base+"/reviews"); st != http.StatusOK || !strings.Contains(body, "风光储一体化能量管理系统") {
				t.Errorf("expert's reviews %d: the application under review is missing", st)
			}
			for _, p := range []string{"/ledger/appropriations", "/ledger/trial-balance", "/equity", "/disbursements", "/notices", "/experts"} {
				if st, _ := get(t, login(t, base, "jingban"), base+p); st != http.StatusOK {
					t.Errorf("staff GET %s: %d", p, st)
				}
			}
		})
		if out := verify(t, "ledger", "verify"); !strings.Contains(out, "通过") {
			t.Errorf("ledger verify: %s", out)
		}
		auditBefore = verify(t, "audit", "verify")
		if !strings.Contains(auditBefore, "校验通过") {
			t.Errorf("audit verify: %s", auditBefore)
		}
	})
	t.Run("SecondStartAddsNothing", func(t *testing.T) {
		serve(t, func(base, out string) {
			if !strings.Contains(out, "用户名 qiye ") {
				t.Errorf("logins not printed again:\n%s", out)
			}
		})
		if after := verify(t, "audit", "verify"); after != auditBefore {
			t.Errorf("audit before %q, after %q", auditBefore, after)
		}
	})
}

// served is a `server serve` running in the background on a free port.
type served struct {
	addr      string
	out, errb *syncBuffer
	cancel    func()
	done      chan int
}

// startServe runs args (a serve command) with the environment vars plus
// LISTEN_ADDR and BASE_URL on a free local port.
func startServe(t *testing.T, args []string, vars map[string]string) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &served{addr: ln.Addr().String(), out: &syncBuffer{}, errb: &syncBuffer{}, done: make(chan int, 1)}
	ln.Close()
	kv := map[string]string{"LISTEN_ADDR": s.addr, "BASE_URL": "http://" + s.addr}
	for k, v := range vars {
		kv[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- run(ctx, args, env(kv), nil, s.out, s.errb) }()
	return s
}

// stop cancels the context, as SIGINT/SIGTERM do through
// signal.NotifyContext, and fails the test unless the server exits 0
// within 20 seconds.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, s.errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Error("no graceful shutdown")
	}
}

// login signs in through the form and returns the client with its session.
func login(t *testing.T, base, username string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, body := get(t, c, base+"/login")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	resp, err := c.PostForm(base+"/login", url.Values{"csrf_token": {m[1]}, "username": {username}, "password": {seed.DemoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", username, resp.StatusCode)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// demoIDs reads the application IDs from the staff queue.
func demoIDs(t *testing.T, c *http.Client, base string) []int64 {
	t.Helper()
	_, body := get(t, c, base+"/applications?limit=100")
	seen := map[int64]bool{}
	var ids []int64
	for _, m := range regexp.MustCompile(`href="/applications/(\d+)"`).FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// syncBuffer is a bytes.Buffer the server goroutine writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
