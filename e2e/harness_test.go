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
	clk := &clock{}
	db := postgres.New(pgtest.NewDB(t))
	db.Now = clk.Now
	params := auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	if _, err := seed.Demo(context.Background(), db, false, params); err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Key: []byte("e2e-key-e2e-key-e2e-key-e2e-key!"), PasswordParams: params, Version: "e2e",
		Blobs: blobs, MasterKey: []byte("e2e-master-key-e2e-master-key-32"), Now: clk.Now, PageCache: true})
	// The journeys run with the page cache on, as production does: pages
	// are served from memory until a commit anywhere is reported.
	watch, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go srv.WatchChanges(watch)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &app{URL: hs.URL, DB: db, Clock: clk}
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

// login signs in through the real form.
func (b *browser) login(baseURL, username, password string) {
	b.t.Helper()
	b.do(
		chromedp.Navigate(baseURL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login-form`)),
		chromedp.SendKeys(chromedp.CSS(`#f-username`), username),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), password),
		chromedp.Submit(chromedp.CSS(`#login-form`)),
		chromedp.WaitVisible(chromedp.CSS(`#home-title`)),
	)
}
