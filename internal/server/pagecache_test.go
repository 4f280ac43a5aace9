package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/fixture"
	"ite/internal/pagecache"
	"ite/internal/postgres"
)

// withPageCache turns the page cache on and listens for changes until the
// test ends.
func (e *env) withPageCache() {
	e.t.Helper()
	e.srv.PageCache = true
	e.listening()
}

func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// silently changes a title the way nothing in the app does: with triggers
// off, so no change notification is sent. A page that still shows the old
// title afterwards was served from the cache.
func (e *env) silently(appID int64, title string) {
	e.t.Helper()
	ctx := context.Background()
	conn, err := e.db.Pool.Acquire(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		e.t.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET session_replication_role`) //nolint:errcheck
	if _, err := conn.Exec(ctx, `UPDATE applications SET title = $2 WHERE id = $1`, appID, title); err != nil {
		e.t.Fatal(err)
	}
}

// cachedApplication is an env with one application, created by the
// signed-in enterprise, at path, and the page cache on. The set-up (with
// more, run before the cache is on) commits before the change listener
// starts: LISTEN hears only what commits after it, so no notification of
// the set-up can arrive late and move the generation under the test.
func cachedApplication(t *testing.T, more ...func(*env)) (e *env, p applications.Programme, ent *client, id int64, path string) {
	t.Helper()
	e = newEnv(t)
	p = e.openProgramme()
	ent = e.loggedIn("enterprise")
	id = ent.createApplication(p.ID, "3000000.00")
	for _, f := range more {
		f(e)
	}
	e.withPageCache()
	return e, p, ent, id, "/applications/" + strconv.FormatInt(id, 10)
}

func TestPageCacheServesPerSessionAndForgetsOnCommit(t *testing.T) {
	var first, second *client // one user, two sessions
	e, _, _, id, path := cachedApplication(t, func(e *env) { first, second = e.loggedIn("staff"), e.loggedIn("staff") })
	if first.csrf == second.csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	for _, page := range []string{"/applications", path} {
		if r := first.get(page); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "高性能储能材料中试") {
			t.Fatalf("GET %s: %d", page, r.StatusCode)
		}
	}
	if n := e.srv.pages.Len(); n != 2 {
		t.Fatalf("cache holds %d pages, want 2", n)
	}

	// A change that sends no notification is not seen: the pages come from
	// the cache, each with the asking session's token and request ID.
	e.silently(id, "静默修改的标题")
	for _, c := range []*client{first, second} {
		for _, page := range []string{"/applications", path} {
			r := c.get(page)
			if strings.Contains(r.body, "静默修改的标题") || !strings.Contains(r.body, "高性能储能材料中试") {
				t.Fatalf("GET %s was not served from the cache", page)
			}
			if strings.Contains(r.body, string(placeholderPrefix)) {
				t.Fatalf("GET %s: a placeholder was left in the page", page)
			}
			if !strings.Contains(r.body, `name="csrf-token" content="`+c.csrf+`"`) ||
				!strings.Contains(r.body, `name="csrf_token" value="`+c.csrf+`"`) {
				t.Fatalf("GET %s: the page does not carry this session's CSRF token", page)
			}
			if rid := r.Header.Get("X-Request-Id"); rid == "" || !strings.Contains(r.body, "请求编号 "+rid) {
				t.Fatalf("GET %s: the page does not show this request's ID %q", page, rid)
			}
		}
	}
	// The cached page's token works: the second session can post with it.
	if r := second.post(path+"/comments", map[string][]string{"body": {"请补充近三年财务报表。"}}); r.StatusCode >= 400 {
		t.Fatalf("comment with the token of a cached page: %d", r.StatusCode)
	}

	// Any commit (here the comment above) reaches the listener and makes the
	// cached pages unreachable.
	e.waitFor("the cache to forget", func() bool { return !strings.Contains(first.get("/applications").body, "高性能储能材料中试") })
	if r := first.get(path); !strings.Contains(r.body, "静默修改的标题") {
		t.Fatal("the application page was not rendered afresh after a commit")
	}
}

func TestPageCacheWriterSeesOwnChangeAtOnce(t *testing.T) {
	_, p, ent, _, path := cachedApplication(t)
	ent.get(path)

	form := validApplicationForm(p.ID, "3000000.00")
	form.Set("title", "改过的项目名称")
	form.Set("version", "1")
	ent.get(path + "/edit")
	if r := ent.post(path, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", r.StatusCode)
	}
	if ent.cookie(freshCookie) == "" {
		t.Fatal("a write did not mark the browser fresh")
	}
	if r := ent.get(path); !strings.Contains(r.body, "改过的项目名称") {
		t.Fatal("the writer does not see their own change on the next page")
	}
}

func TestPageCacheOffWithoutListener(t *testing.T) {
	e := newEnv(t)
	e.srv.PageCache = true // but nobody listens: the generation is unknown
	p := e.openProgramme()
	ent := e.loggedIn("enterprise")
	id := ent.createApplication(p.ID, "3000000.00")
	staff := e.loggedIn("staff")
	staff.get("/applications")
	e.silently(id, "静默修改的标题")
	if r := staff.get("/applications"); !strings.Contains(r.body, "静默修改的标题") {
		t.Fatal("a page was served from the cache while no change listener was running")
	}
	if n := e.srv.pages.Len(); n != 0 {
		t.Fatalf("cache holds %d pages without a listener", n)
	}
}

func TestSweepDueSkipsOnlyWhileNothingCanHaveChanged(t *testing.T) {
	e := newEnv(t)
	calls, found := 0, 0
	memo := viewSweep{run: func(context.Context) (int, error) { calls++; return found, nil }}
	req := httptest.NewRequest(http.MethodGet, "/applications/1", nil)
	run := func() {
		t.Helper()
		if err := e.srv.sweepDue(req, &memo); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	if calls != 2 {
		t.Fatalf("without a change listener the sweep ran %d times of 2", calls)
	}
	e.withPageCache()
	run()
	run()
	if calls != 3 {
		t.Fatalf("at one generation and day the sweep ran %d times, want once more", calls-2)
	}
	e.srv.gens.Bump() // a commit
	run()
	e.clock.Advance(24 * time.Hour) // a new day
	run()
	if calls != 5 {
		t.Fatalf("after a commit and a new day the sweep ran %d times, want 2", calls-3)
	}
	fresh := req.Clone(req.Context()) // a browser that has just written
	fresh.AddCookie(&http.Cookie{Name: freshCookie, Value: "1"})
	if err := e.srv.sweepDue(fresh, &memo); err != nil || calls != 6 {
		t.Fatalf("a browser that has just written did not sweep (%d calls, %v)", calls, err)
	}
	found = 1 // it changes something: not remembered (its commit is a new generation)
	e.srv.gens.Bump()
	run()
	run()
	if calls != 8 {
		t.Fatalf("a sweep that found work was remembered (%d calls)", calls)
	}
}

// The staff's whole-portfolio report sweep runs at most once a minute
// (of the server's clock), whatever changed; and like every sweep it is
// skipped while nothing can have fallen due.
func TestSweepDueRunsAWholePortfolioSweepAtMostEveryMinute(t *testing.T) {
	e := newEnv(t)
	calls, found := 0, 1
	sw := viewSweep{every: time.Minute, run: func(context.Context) (int, error) { calls++; return found, nil }}
	req := httptest.NewRequest(http.MethodGet, "/reports", nil)
	run := func(want int) {
		t.Helper()
		if err := e.srv.sweepDue(req, &sw); err != nil {
			t.Fatal(err)
		}
		if calls != want {
			t.Fatalf("the sweep ran %d times, want %d", calls, want)
		}
	}
	run(1)
	run(1) // without a listener, only every skips it
	e.clock.Advance(59 * time.Second)
	run(1)
	e.clock.Advance(time.Second)
	run(2)
	e.withPageCache()
	found = 0
	e.clock.Advance(time.Minute)
	run(3) // finds nothing: remembered
	e.srv.gens.Bump()
	run(3) // something changed, but it ran less than a minute ago
	e.clock.Advance(time.Minute)
	run(4) // finds nothing again: remembered
	e.clock.Advance(time.Minute)
	run(4) // a minute later, but nothing can have changed
	e.srv.gens.Bump()
	run(5)
}

// Two tabs showing one cached application page must not share the money
// form's idempotency key: the second disbursement would be taken for a
// retry of the first and silently not recorded.
func TestPageCacheGivesEachResponseItsOwnFormKey(t *testing.T) {
	m := newMoneyEnv(t, "10000000.00", "2000000.00")
	m.withPageCache()
	path := "/applications/" + itoa(m.app)
	tabA, tabB := m.loggedIn(staff), m.loggedIn(staff)
	a := m.disbursementFormAt(tabA, path)
	cached := m.srv.pages.Len()           // the application page (and the home page, also cached)
	b := m.disbursementFormAt(tabB, path) // from the cache
	if cached < 1 || m.srv.pages.Len() != cached {
		t.Fatalf("cache holds %d pages, then %d: tab B's application page was not the cached one", cached, m.srv.pages.Len())
	}
	if a.Get("idempotency_key") == "" || a.Get("idempotency_key") == b.Get("idempotency_key") {
		t.Fatalf("two responses of one cached page carry the key %q and %q", a.Get("idempotency_key"), b.Get("idempotency_key"))
	}
	a.Set("amount", "400000.00")
	a.Set("reference", "BANK-A-0001")
	b.Set("amount", "600000.00")
	b.Set("reference", "BANK-B-0002")
	for _, step := range []struct {
		c    *client
		form url.Values
	}{{tabA, a}, {tabB, b}} {
		if r := step.c.post(path+"/disbursements", step.form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("record disbursement: %d", r.StatusCode)
		}
	}
	var n int
	if err := m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM disbursements WHERE application_id = $1`, m.app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d disbursements recorded from two tabs, want 2", n)
	}
}

// The cache is on only while notifications are seen to arrive: a listener
// whose own heartbeats stop coming back (a pooler that swallows them, a
// half-open connection) turns it off within seconds.
func TestPageCacheOffWhileHeartbeatsDoNotComeBack(t *testing.T) {
	e := newEnv(t)
	var g pagecache.Generations
	var mute atomic.Bool
	notify := func(ctx context.Context, payload string) error {
		if mute.Load() {
			return nil
		}
		return e.db.Notify(ctx, pagecache.Channel, payload)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pagecache.Watch(ctx, &g, e.db.Connect, notify, slog.New(slog.NewTextHandler(io.Discard, nil)))
	live := func() bool { _, ok := g.Current(); return ok }
	e.waitFor("the listener", live)

	before, _ := g.Current()
	if err := e.db.Notify(ctx, pagecache.Channel, "ite-heartbeat:another-server"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if after, _ := g.Current(); after != before {
		t.Fatal("another app server's heartbeat was taken for a change")
	}

	mute.Store(true)
	e.waitFor("the cache to turn off without heartbeats", func() bool { return !live() })
	mute.Store(false)
	e.waitFor("the cache to come back with heartbeats", live)
}

// endedNotice returns an approved application of p whose notice ended
// three days ago, not yet closed: due for the notice sweep.
func (e *env) endedNotice(p applications.Programme) int64 {
	e.t.Helper()
	ctx := context.Background()
	id, err := fixture.ReviewedApplication(ctx, e.db, p, e.people(), "公示期满测试项目", "1000000.00")
	if err != nil {
		e.t.Fatal(err)
	}
	today := e.clock.Now()
	if _, err := e.db.Pool.Exec(ctx, `UPDATE applications SET state = 'approved', notice_starts_on = $2, notice_ends_on = $3
		WHERE id = $1`, id, today.AddDate(0, 0, -10), today.AddDate(0, 0, -3)); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// A notice that ended while another transaction holds its application
// counts as due: that transaction may roll back, and the sweep on access
// must then not have remembered "nothing due".
func TestEndedNoticeHeldElsewhereCountsAsDue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.endedNotice(e.openProgramme())
	holder, err := e.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT 1 FROM applications WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	if n, err := e.srv.closeEndedNotices(ctx); err != nil || n != 1 {
		t.Fatalf("with the row held elsewhere: %d due, %v; want 1", n, err)
	}
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := e.srv.closeEndedNotices(ctx); err != nil || n != 1 {
		t.Fatalf("once released: closed %d, %v; want 1", n, err)
	}
	if n, err := e.db.EndedNoticesDue(ctx); err != nil || n != 0 {
		t.Fatalf("after closing: %d due, %v", n, err)
	}
}

// While the change listener runs, the dashboard's figures survive commits
// to tables they never read (a comment and its audit row) and are
// recomputed after a commit to one they do.
func TestDashboardFiguresIgnoreUnrelatedCommits(t *testing.T) {
	e, p, ent, id, _ := cachedApplication(t)
	ctx := context.Background()
	figures := func() bool {
		t.Helper()
		_, hit, err := e.srv.figures.get(ctx, e.db, &e.srv.gens, postgres.DashboardFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return hit
	}
	settle := func(commit func()) {
		t.Helper()
		before, _ := e.srv.gens.Current()
		commit()
		e.waitFor("the commit's notification", func() bool { now, _ := e.srv.gens.Current(); return now > before })
	}
	if figures() || !figures() {
		t.Fatal("the figures were not computed once and then reused")
	}
	settle(func() {
		if err := e.db.AddComment(ctx, e.people().Staff, id, "", "请补充近三年财务报表。"); err != nil {
			t.Fatal(err)
		}
	})
	if !figures() {
		t.Fatal("a comment made the dashboard recompute")
	}
	settle(func() { ent.createApplication(p.ID, "2000000.00") })
	if figures() {
		t.Fatal("a new application did not make the dashboard recompute")
	}
}

// markTag starts the test's own marks on the change channel. It is a
// heartbeat's prefix (package pagecache), so the server's listener takes
// them for another app server's heartbeats and ignores them.
const markTag = "ite-heartbeat:test-mark:"

// A cached page's handler writes nothing (package pagecache, invariant
// 4): a hit skips it. Every cached route is fetched as every role (and a
// second enterprise) on a fixture with a notice due, with a listener of
// the test's own on the change channel. The view's sweep, which cached
// runs first, may commit: it sends a mark when it ends, and since
// notifications arrive in commit order, a commit heard after that mark
// and before the mark sent once the response is in is the handler's.
func TestCachedPagesNeverWrite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	funded := e.fundedA(termsA)
	ent := e.loggedIn(applications.RoleEnterprise)
	draft := ent.createApplication(p.ID, "2000000.00")
	who := map[string]*client{"enterprise": ent, "other enterprise": e.otherEnterprise()}
	names := map[string]string{"other enterprise": "王五"} // each user's name, shown on their pages
	order := []string{"enterprise", "other enterprise"}
	for _, role := range applications.AllRoles() {
		names[string(role)] = e.users[role].DisplayName
		if role != applications.RoleEnterprise {
			who[string(role)] = e.loggedIn(role)
			order = append(order, string(role))
		}
	}
	// The notice after the sign-ins: a page they land on ("/") sweeps.
	notice := e.endedNotice(p)
	if n, err := e.db.EndedNoticesDue(ctx); err != nil || n != 1 {
		t.Fatalf("the fixture has %d ended notices due, %v; want 1", n, err)
	}
	// Everything above committed before anyone listens (see cachedApplication).
	e.withPageCache()
	conn, err := e.db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+pagecache.Channel); err != nil {
		t.Fatal(err)
	}
	mark := func(ctx context.Context, what string) {
		if err := e.db.Notify(ctx, pagecache.Channel, markTag+what); err != nil {
			t.Error(err)
		}
	}
	for _, sw := range []*viewSweep{&e.srv.notices, &e.srv.lapses, &e.srv.reports} {
		run := sw.run
		sw.run = func(ctx context.Context) (int, error) {
			n, err := run(ctx)
			mark(ctx, "swept")
			return n, err
		}
	}
	// heard returns the tables committed to since the last call, split at
	// the last sweep's end: before it, the sweep's (and the middleware's);
	// after it, the handler's.
	heard := func() (swept, after []string) {
		t.Helper()
		mark(ctx, "end")
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for {
			n, err := conn.WaitForNotification(wctx)
			if err != nil {
				t.Fatalf("waiting for the end mark: %v", err)
			}
			switch {
			case n.Payload == markTag+"end":
				return swept, after
			case n.Payload == markTag+"swept":
				swept, after = append(swept, after...), nil
			case strings.HasPrefix(n.Payload, "ite-heartbeat:"):
			default:
				after = append(after, n.Payload)
			}
		}
	}

	paths := func(pattern string) []string {
		switch pattern {
		case "/applications/{id}": // the notice first (unless "/" swept it)
			return []string{"/applications/" + itoa(notice), "/applications/" + itoa(funded), "/applications/" + itoa(draft)}
		case "/dashboard":
			return []string{"/dashboard", "/dashboard?year=" + strconv.Itoa(p.Year)}
		}
		if strings.Contains(pattern, "{") {
			t.Fatalf("cached route %s has no path in this test's fixture: add one", pattern)
		}
		return []string{pattern}
	}
	var routes []string
	for _, rt := range e.srv.routes() {
		if rt.method == http.MethodGet && cachedPages[rt.pattern] {
			routes = append(routes, rt.pattern)
		}
	}
	if len(routes) != len(cachedPages) {
		t.Fatalf("cached pages %v, routes found %v", cachedPages, routes)
	}
	sweptWrites, pages := 0, 0
	for _, pattern := range routes {
		for _, path := range paths(pattern) {
			for _, name := range order {
				before := e.srv.pages.Len()
				r := who[name].get(path)
				swept, after := heard()
				sweptWrites += len(swept)
				switch {
				case r.StatusCode >= 500:
					t.Errorf("GET %s as %s: %d", path, name, r.StatusCode)
				case r.StatusCode != http.StatusOK:
					// A refusal may write (an audit row) but is never kept.
					if e.srv.pages.Len() > before {
						t.Errorf("GET %s as %s: a %d was kept in the cache", path, name, r.StatusCode)
					}
				case len(after) > 0:
					t.Errorf("GET %s as %s: the cached page's handler committed to %v", path, name, after)
				default:
					pages++
				}
				// Again, from the cache if it was kept: the same answer,
				// and only ever this user's page.
				again := who[name].get(path)
				if _, after := heard(); again.StatusCode == http.StatusOK && len(after) > 0 {
					t.Errorf("GET %s as %s again: committed to %v", path, name, after)
				}
				if again.StatusCode != r.StatusCode {
					t.Errorf("GET %s as %s: %d, then %d", path, name, r.StatusCode, again.StatusCode)
				}
				for _, resp := range []response{r, again} {
					if resp.StatusCode == http.StatusOK && !strings.Contains(resp.body, `class="user-name">`+names[name]+"<") {
						t.Errorf("GET %s as %s: the page is not theirs", path, name)
					}
				}
			}
		}
	}
	if sweptWrites == 0 {
		t.Fatal("no sweep committed anything: the test did not tell a sweep's commits from a handler's")
	}
	if pages == 0 {
		t.Fatal("no cached page was rendered")
	}
	if n, err := e.db.EndedNoticesDue(ctx); err != nil || n != 0 {
		t.Fatalf("after the views %d ended notices are still due, %v", n, err)
	}
}
