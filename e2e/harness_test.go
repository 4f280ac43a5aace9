// Package e2e drives the real application in a real browser (the system
// Chromium through chromedp) along the main journeys.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/postgres/pgtest"
	"ite/internal/seed"
	"ite/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// app is a running server over its own database, with the demo accounts.
// Its clock can be moved (notice periods, lapse windows).
type app struct {
	URL   string
	DB    *postgres.DB
	Clock *clock
}

// clock is now plus an offset that a journey can move forward.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Set moves the clock so that Now is t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = time.Until(t)
	c.mu.Unlock()
}

func startApp(t *testing.T) *app {
	t.Helper()
	return startAppWith(t, func(db *postgres.DB, params auth.Params, _ blob.Store, _ []byte) error {
		_, err := seed.Demo(context.Background(), db, false, params)
		return err
	})
}

// startAppWith is startApp with its own seeding of the fresh database (the
// demo accounts, or seed.DemoWorld's whole demo).
func startAppWith(t *testing.T, seedDB func(db *postgres.DB, params auth.Params, blobs blob.Store, masterKey []byte) error) *app {
	t.Helper()
	clk := &clock{}
	db := postgres.New(pgtest.NewDB(t))
	db.Now = clk.Now
	params := auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	master := []byte("e2e-master-key-e2e-master-key-32")
	if err := seedDB(db, params, blobs, master); err != nil {
		t.Fatal(err)
	}
	// The journeys move the clock years ahead (exits in 2029): a 90-day
	// password expiry would stop every later sign-in at the change page.
	if _, err := db.Pool.Exec(context.Background(), `UPDATE security_policy SET password_max_age_days = 0`); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Key: []byte("e2e-key-e2e-key-e2e-key-e2e-key!"), PasswordParams: params, Version: "e2e",
		Blobs: blobs, MasterKey: master, Now: clk.Now, PageCache: true})
	// The journeys run with the page cache on, as production does: pages
	// are served from memory until a commit anywhere is reported.
	watch, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go srv.WatchChanges(watch)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	a := &app{URL: hs.URL, DB: db, Clock: clk}
	apps.Store(hs.URL, a)
	t.Cleanup(func() { apps.Delete(hs.URL) })
	return a
}

// apps finds a running app by its URL, for the sign-in's second step.
var apps sync.Map

// totpCode returns a code of a demo user's published secret that the app
// takes now (its clock): the first step of the window after the last one
// used, waiting for the next step when the window is spent.
func (a *app) totpCode(t *testing.T, username string) string {
	t.Helper()
	secret := ""
	for _, l := range seed.DemoLogins {
		if l.Username == username {
			secret = l.TOTPSecret
		}
	}
	if secret == "" {
		t.Fatalf("no published TOTP secret for %s", username)
	}
	for {
		var last int64
		if err := a.DB.Pool.QueryRow(context.Background(), `SELECT COALESCE((SELECT s.last_step FROM totp_steps s JOIN users u ON u.id = s.user_id WHERE u.username = $1), 0)`, username).Scan(&last); err != nil {
			t.Fatal(err)
		}
		cur := auth.TOTPStep(a.Clock.Now())
		for step := cur - 1; step <= cur+1; step++ {
			if step > last {
				code, err := auth.TOTPCode(secret, time.Unix(step*int64(auth.TOTPPeriod/time.Second), 0))
				if err != nil {
					t.Fatal(err)
				}
				return code
			}
		}
		time.Sleep(time.Second)
	}
}

// chromiumPath finds the system browser. Without one the browser tests
// skip loudly, except under CI=true where that is a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium 未安装，浏览器测试无法运行：请运行 sudo apt-get install -y chromium（以 root 运行 make test 会自动安装）"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED BROWSER TESTS: " + msg)
	return ""
}

// browser is one isolated headless Chromium (its own profile, so its own
// cookies) for one user of a journey.
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	prefix string
}

func newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		dir = os.Getenv("ITE_ARTIFACTS")
	}
	if dir == "" {
		// Kept when the test fails, so its screenshots can be looked at.
		d, err := os.MkdirTemp("", "ite-e2e-shots-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("screenshots kept in %s", d)
				return
			}
			_ = os.RemoveAll(d)
		})
	}
	b := &browser{t: t, ctx: ctx, shots: dir, prefix: strings.ReplaceAll(t.Name(), "/", "_") + "_" + name}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot("failure")
		}
	})
	return b
}

// do runs steps in order and fails the test (with a screenshot) on error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.screenshot("error")
		b.t.Fatal(err)
	}
}

// text returns the visible text of the first element matching a CSS
// selector.
func (b *browser) text(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.screenshot("error")
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// screenshot saves the whole page as PNG and returns its path.
func (b *browser) screenshot(label string) string {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", label, err)
		return ""
	}
	p := filepath.Join(b.shots, b.prefix+"_"+label+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("save screenshot: %v", err)
		return ""
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// openMenu opens the menu heading that holds the link to href, as a user
// clicks 资金台账 ▾ before 台账 (a link of its own needs nothing).
func openMenu(href string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const a = document.querySelector('.mainnav a[href=%q]');
		const d = a && a.closest("details");
		if (d && !d.open) d.querySelector("summary").click();
	})()`, href))
}

// login signs in through the real form, and when the account has a
// second factor, through the code page with the code the test computes
// from the published secret.
func (b *browser) login(baseURL, username, password string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login-form`)),
		chromedp.SendKeys(chromedp.CSS(`#f-username`), username),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), password),
		chromedp.Submit(chromedp.CSS(`#login-form`)),
		chromedp.WaitVisible(chromedp.CSS(`#home-title, #totp-form`)),
	)
	onCodePage, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("#totp-form") !== null`))
	if err != nil {
		b.t.Fatal(err)
	}
	if !onCodePage {
		return
	}
	v, ok := apps.Load(baseURL)
	if !ok {
		b.t.Fatalf("no app at %s", baseURL)
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#f-code`), v.(*app).totpCode(b.t, username)),
		chromedp.Submit(chromedp.CSS(`#totp-form`)),
		chromedp.WaitVisible(chromedp.CSS(`#home-title`)),
	)
}
