package server

import (
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
)

func TestWatchlist(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.fundedA(termsA)
	e.clock.t = time.Date(2028, 9, 1, 2, 0, 0, 0, time.UTC) // window ends 2029-01-10: within 180 days
	c := e.loggedIn(applications.RoleStaff)
	d := c.get("/watchlist").doc(t)
	if !strings.Contains(d.Find("#watchlist").Text(), "转股期限将于 2029年1月10日 届满") {
		t.Fatalf("watchlist: %q", d.Find("#watchlist").Text())
	}
	r := c.get("/watchlist?format=csv")
	if r.StatusCode != 200 || !strings.HasPrefix(r.body, "\ufeff") || !strings.Contains(r.body, "2029-01-10") {
		t.Fatalf("csv %d %q", r.StatusCode, r.body)
	}
	_ = id
}
