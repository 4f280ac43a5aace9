package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
	"ite/internal/s3local/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.After(pgtest.Main(m))) }

// fastParams keep argon2id cheap in tests; production uses DefaultParams.
var fastParams = auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

const testPassword = "Test-pass-2026"

// clock is a settable time source shared by the server and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one test's world: its own database, server and clock, with one
// user per role (username = role name).
type env struct {
	t     *testing.T
	db    *postgres.DB
	srv   *Server
	http  *httptest.Server
	clock *clock
	users map[applications.Role]auth.User
	// secrets are the TOTP secrets of the users enrolled in the second
	// factor, by username (every role that requires it).
	secrets map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := pgtest.NewDB(t)
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	db := postgres.New(pool)
	db.Now = clk.Now
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Key: []byte("0123456789abcdef0123456789abcdef"), Now: clk.Now, PasswordParams: fastParams, Version: "test",
		Blobs: blobs, MasterKey: []byte("master-key-master-key-master-key")})
	e := &env{t: t, db: db, srv: srv, clock: clk, users: map[applications.Role]auth.User{}, secrets: map[string]string{}}
	e.http = httptest.NewServer(srv)
	t.Cleanup(e.http.Close)
	ctx := context.Background()
	ent, err := db.CreateEnterprise(ctx, audit.Actor{Name: "test"}, "测试科技有限公司", applications.ExampleUSCC(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range applications.AllRoles() {
		hash, _ := auth.HashPassword(testPassword, fastParams)
		n := postgres.NewUser{Username: string(role), DisplayName: role.Label() + "甲", Role: role, PasswordHash: hash}
		if role == applications.RoleTrustee {
			n.Platform = applications.DefaultHoldingPlatformUSCC // the platform openProgramme's programmes name
		}
		if role == applications.RoleEnterprise {
			n.EnterpriseID = ent.ID
		}
		if auth.DefaultPolicy.RequiresSecondFactor(role) {
			n.TOTPSecret = auth.NewTOTPSecret()
			e.secrets[n.Username] = n.TOTPSecret
		}
		u, err := db.CreateUser(ctx, audit.Actor{Name: "test"}, n)
		if err != nil {
			t.Fatal(err)
		}
		e.users[role] = u
	}
	// The tests travel years ahead (lapse windows, exits); a 90-day expiry
	// would send every later sign-in to the change-password page. Expiry
	// has its own test (TestPasswordExpiry), which sets it back.
	if _, err := db.Pool.Exec(ctx, `UPDATE security_policy SET password_max_age_days = 0`); err != nil {
		t.Fatal(err)
	}
	return e
}

// totpCode returns a code of username's secret that the server will take
// now: the first step of the window (now ± 30 s) after the last one used,
// moving the clock on by a step when the window is spent (a test that
// signs the same user in again and again at one instant).
func (e *env) totpCode(username string) string {
	e.t.Helper()
	secret, ok := e.secrets[strings.ToLower(username)]
	if !ok {
		e.t.Fatalf("no TOTP secret for %s", username)
	}
	var last int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT COALESCE((SELECT s.last_step FROM totp_steps s JOIN users u ON u.id = s.user_id WHERE u.username = $1), 0)`,
		strings.ToLower(username)).Scan(&last); err != nil {
		e.t.Fatal(err)
	}
	for {
		cur := auth.TOTPStep(e.clock.Now())
		for step := cur - 1; step <= cur+1; step++ {
			if step > last {
				code, err := auth.TOTPCode(secret, time.Unix(step*int64(auth.TOTPPeriod/time.Second), 0))
				if err != nil {
					e.t.Fatal(err)
				}
				return code
			}
		}
		e.clock.Advance(auth.TOTPPeriod)
	}
}

// finishLogin completes the second step of a sign-in whose password was
// accepted (a redirect to /login/code) with the user's current code, and
// returns the code step's response; any other response is returned as is.
func (c *client) finishLogin(r response, username string) response {
	c.e.t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login/code" {
		return r
	}
	c.get("/login/code")
	return c.post("/login/code", url.Values{"code": {c.e.totpCode(username)}})
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects, so tests see every 303.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	*http.Response
	body string
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

func (c *client) get(path string) response {
	req, _ := http.NewRequest("GET", c.e.http.URL+path, nil)
	r := c.do(req)
	if tok, ok := r.doc(c.e.t).Find(`meta[name="csrf-token"]`).Attr("content"); ok {
		c.csrf = tok
	} else if tok, ok := r.doc(c.e.t).Find(`input[name="csrf_token"]`).Attr("value"); ok {
		c.csrf = tok
	}
	return r
}

// post submits a form with the client's current CSRF token (unless the
// form sets csrf_token itself).
func (c *client) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if _, set := form["csrf_token"]; !set {
		form.Set("csrf_token", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.e.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login signs in through the real form, with the TOTP code as the second
// step when the user is enrolled, and returns the last response (a
// redirect when signed in).
func (c *client) login(username, password string) response {
	c.e.t.Helper()
	c.get("/login")
	r := c.finishLogin(c.post("/login", url.Values{"username": {username}, "password": {password}}), username)
	if r.StatusCode == http.StatusSeeOther {
		c.get("/") // pick up the session's CSRF token
	}
	return r
}

func (e *env) loggedIn(role applications.Role) *client {
	e.t.Helper()
	c := e.client()
	if r := c.login(string(role), testPassword); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login as %s: status %d", role, r.StatusCode)
	}
	return c
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.e.http.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// auditEvents returns the audit event names in order.
func (e *env) auditEvents() []string {
	rows, err := e.db.Pool.Query(context.Background(), `SELECT event FROM audit_log ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func count(events []string, name string) int {
	n := 0
	for _, e := range events {
		if e == name {
			n++
		}
	}
	return n
}

// withConfirm adds the ticked confirmation an irreversible money approval
// carries (page.Confirmation: the approver has seen the amount in 大写).
func withConfirm(v url.Values) url.Values {
	if v == nil {
		v = url.Values{}
	}
	v.Set("confirm", "1")
	return v
}

// listening runs the server's change listener for the rest of the test.
func (e *env) listening() {
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	go e.srv.WatchChanges(ctx)
	e.waitFor("the change listener", func() bool { _, live := e.srv.gens.Current(); return live })
}

// oneBackend is a store on a pool of one connection to the test database,
// and a reading of PostgreSQL's per-table scan counts: with one backend,
// what moves between two readings is what the store's statements read.
func (e *env) oneBackend() (*postgres.DB, func() map[string]int64) {
	t, ctx := e.t, context.Background()
	cfg := e.db.Pool.Config()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := postgres.New(pool)
	db.Now = e.clock.Now
	return db, func() map[string]int64 {
		t.Helper()
		if _, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		rows, _ := pool.Query(ctx, `SELECT relname, seq_scan + COALESCE(idx_scan, 0) FROM pg_stat_user_tables`)
		n := map[string]int64{}
		for rows.Next() {
			var name string
			var c int64
			if err := rows.Scan(&name, &c); err != nil {
				t.Fatal(err)
			}
			n[name] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
}
