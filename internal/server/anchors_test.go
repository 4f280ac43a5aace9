package server

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ite/internal/ledger"
)

// TestAnchorPages signs anchors daily and on demand, and offers the newest
// for download on both verify pages, checked against the chains.
func TestAnchorPages(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "1000000.00", "500000.00")
	key := ed25519.NewKeyFromSeed([]byte(strings.Repeat("a", ed25519.SeedSize)))
	m.srv.AnchorKey, m.srv.AnchorDir = key, t.TempDir()
	ctx := context.Background()
	c := m.loggedIn(auditor)
	if r := c.get("/ledger/verify"); r.doc(t).Find(`#anchor-none`).Length() != 1 {
		t.Fatalf("no anchor yet:\n%s", r.body)
	}
	for range 2 {
		if err := m.srv.anchorDaily(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(m.srv.AnchorDir, "*.json")); len(files) != 1 {
		t.Fatalf("two daily runs on one day wrote %d anchors", len(files))
	}
	m.clock.Advance(24 * time.Hour)
	if err := m.srv.anchorDaily(ctx); err != nil {
		t.Fatal(err)
	}
	c = m.loggedIn(auditor) // the session of yesterday has expired
	if r := c.post("/ledger/anchors", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("anchor now: %d %s", r.StatusCode, r.body)
	}
	if files, _ := filepath.Glob(filepath.Join(m.srv.AnchorDir, "*.json")); len(files) != 3 {
		t.Fatalf("anchors written: %d", len(files))
	}
	for _, path := range []string{"/ledger/verify", "/audit/verify"} {
		d := c.get(path).doc(t)
		if d.Find(`#anchor-ok`).Length() != 1 || d.Find(`#anchor-public-key`).Text() != m.srv.AnchorPublicKey() {
			t.Fatalf("%s: anchor panel missing or failing:\n%s", path, c.get(path).body)
		}
	}
	href, _ := c.get("/ledger/verify").doc(t).Find(`#anchor-download`).Attr("href")
	r := c.get(href)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download %s: %d", href, r.StatusCode)
	}
	a, err := ledger.ParseAnchor([]byte(r.body))
	if err != nil || a.Verify(key.Public().(ed25519.PublicKey)) != nil || a.Reason != "manual" {
		t.Fatalf("downloaded anchor %+v: %v", a, err)
	}
	if r := m.loggedIn(staff).get("/ledger/anchors/latest.json"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("staff download: %d", r.StatusCode)
	}
}
