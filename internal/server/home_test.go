package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/day"
	"ite/internal/fixture"
	"ite/internal/postgres"
)

func TestHomePerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range applications.AllRoles() {
		t.Run(string(role), func(t *testing.T) {
			d := e.loggedIn(role).get("/").doc(t)
			if d.Find("ul.duties li").Length() == 0 {
				t.Fatal("no duties listed")
			}
			if !strings.Contains(d.Find(".role-badge").Text(), role.Label()) {
				t.Fatalf("badge %q", d.Find(".role-badge").Text())
			}
			// every nav link works for this role
			d.Find(".mainnav a").Each(func(_ int, a *goquery.Selection) {
				href, _ := a.Attr("href")
				if r := e.loggedIn(role).get(href); r.StatusCode != http.StatusOK {
					t.Errorf("nav link %s: %d", href, r.StatusCode)
				}
			})
		})
	}
}

// todoRows returns the home page's lists: kind → the links of its rows in
// order, and the list's stated count; and the navigation's to-do count.
func todoRows(t *testing.T, d *goquery.Document) (map[string][]string, map[string]int, int) {
	t.Helper()
	links, counts := map[string][]string{}, map[string]int{}
	d.Find(".todo-list").Each(func(_ int, l *goquery.Selection) {
		id, _ := l.Attr("id")
		kind := strings.TrimPrefix(id, "todo-")
		n, _ := strconv.Atoi(l.AttrOr("data-count", ""))
		counts[kind] = n
		l.Find("tr.todo-item a.todo-link").Each(func(_ int, a *goquery.Selection) {
			links[kind] = append(links[kind], a.AttrOr("href", ""))
		})
	})
	nav := 0
	if s := d.Find(`.mainnav a[href="/"] .nav-count`).Text(); s != "" {
		nav, _ = strconv.Atoi(strings.TrimSpace(s))
	}
	return links, counts, nav
}

// TestHomeToDoLists builds one item (or two, to see the order) of several
// lists of each role and checks each role's home page: the right items,
// oldest first, linking to the page where the work is done, and the
// navigation's count equal to the lists' lengths.
func TestHomeToDoLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	st, ap := audit.Actor{ID: e.users[staff].ID, Name: "经办"}, audit.Actor{ID: e.users[approver].ID, Name: "审批"}
	app := func(id int64, tail string) string { return "/applications/" + strconv.FormatInt(id, 10) + tail }
	hour := func() { e.clock.Advance(time.Hour) }

	// Staff: two submissions (the older first), a pre-check, a reviewed
	// application, a decision sent back. Enterprise: a return. Approver: a
	// decision and an uphold proposal. Expert: a declaration.
	sub1 := e.submitted(p)
	hour()
	sub2 := e.submitted(p)
	hour()
	ent := e.loggedIn(enterprise)
	draft := ent.createApplication(p.ID, "1000000.00")
	if err := e.db.AskPrecheck(ctx, audit.Actor{ID: e.users[enterprise].ID}, draft); err != nil {
		t.Fatal(err)
	}
	hour()
	ret := e.submitted(p)
	if _, err := e.db.TransitionApplication(ctx, st, ret, applications.StateReturned, "退回", nil); err != nil {
		t.Fatal(err)
	}
	hour()
	rev := e.reviewed(p, "2000000.00")
	hour()
	back := e.reviewed(p, "2000000.00")
	did, err := e.db.PrepareDecision(ctx, st, back, applications.DecisionInput{Approve: true, Amount: decimal.RequireFromString("2000000"), Terms: p.TermsTemplate})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SendBackDecision(ctx, ap, did, "请补充依据"); err != nil {
		t.Fatal(err)
	}
	hour()
	pend := e.reviewed(p, "2000000.00")
	if _, err := e.db.PrepareDecision(ctx, st, pend, applications.DecisionInput{Approve: true, Amount: decimal.RequireFromString("2000000"), Terms: p.TermsTemplate}); err != nil {
		t.Fatal(err)
	}
	hour()
	nopanel := e.underReview(p, "2000000.00") // a panel to draw
	hour()
	ur := e.underReview(p, "2000000.00") // a panel being drawn by hand
	_, experts := e.experts(2, applications.SectorNewEnergyMaterials, "todoex")
	for _, ex := range experts {
		if err := e.db.AssignExpert(ctx, st, ur, ex); err != nil {
			t.Fatal(err)
		}
	}
	hour()
	if err := e.db.Declare(ctx, audit.Actor{ID: experts[1]}, ur, experts[1], true, "曾在该企业任职"); err != nil {
		t.Fatal(err) // a recusal to refill
	}
	hour()
	if err := e.db.RecordAudit(ctx, audit.Event{Actor: audit.Actor{ID: e.users[auditor].ID}, Name: "ledger_verify", Outcome: audit.Failure}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE users SET locked_until = $2 WHERE id = $1`, experts[0], e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	want := map[applications.Role]map[string][]string{
		staff: {
			"submitted": {app(sub1, "#checklist"), app(sub2, "#checklist")},
			"precheck":  {app(draft, "#comments")},
			"panel":     {app(nopanel, "#panel"), app(ur, "#panel")},
			"reviewed":  {app(rev, "#decisions")},
			"sent_back": {app(back, "#decisions")},
		},
		approver:   {"approve_decision": {app(pend, "#decisions")}},
		enterprise: {"returned": {app(ret, "#checklist")}},
		auditor:    {"verify_failed": {"/ledger/verify"}},
		admin:      {"locked": {"/admin/users/" + strconv.FormatInt(experts[0], 10)}},
	}
	for role, lists := range want {
		t.Run(string(role), func(t *testing.T) {
			d := e.loggedIn(role).get("/").doc(t)
			links, counts, nav := todoRows(t, d)
			total := 0
			for kind, n := range counts {
				total += n
				if n != len(links[kind]) {
					t.Errorf("%s: count %d, %d rows", kind, n, len(links[kind]))
				}
			}
			for kind, ls := range lists {
				if !slices.Equal(links[kind], ls) {
					t.Errorf("%s: %v, want %v (oldest first)", kind, links[kind], ls)
				}
			}
			for kind := range links {
				if _, ok := lists[kind]; !ok {
					t.Errorf("unexpected list %s: %v", kind, links[kind])
				}
			}
			if nav != total {
				t.Errorf("navigation count %d, lists hold %d", nav, total)
			}
			// Each row leads to a page the role may open.
			c := e.loggedIn(role)
			for _, ls := range links {
				for _, l := range ls {
					if r := c.get(strings.SplitN(l, "#", 2)[0]); r.StatusCode != http.StatusOK {
						t.Errorf("%s: %d", l, r.StatusCode)
					}
				}
			}
		})
	}
	t.Run("expert", func(t *testing.T) {
		c := e.client()
		if _, err := e.db.Pool.Exec(ctx, `UPDATE users SET locked_until = NULL WHERE id = $1`, experts[0]); err != nil {
			t.Fatal(err)
		}
		c.login("todoex0", testPassword)
		links, counts, nav := todoRows(t, c.get("/").doc(t))
		if !slices.Equal(links["declare"], []string{"/reviews/" + strconv.FormatInt(ur, 10)}) || counts["declare"] != 1 || nav != 1 {
			t.Fatalf("expert lists %v counts %v nav %d", links, counts, nav)
		}
	})
	t.Run("NavCountOnOtherPages", func(t *testing.T) {
		_, _, nav := todoRows(t, e.loggedIn(staff).get("/inbox").doc(t))
		if nav != 7 {
			t.Fatalf("navigation count on the inbox page %d, want 7", nav)
		}
	})
}

// TestNavCountFollowsCommits: with the page cache on, the menu's to-do
// count is kept per data generation, and any commit brings the new count.
func TestNavCountFollowsCommits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withPageCache()
	p := e.openProgramme()
	c := e.loggedIn(staff)
	navOn := func(path string) int {
		_, _, n := todoRows(t, c.get(path).doc(t))
		return n
	}
	if n := navOn("/inbox"); n != 0 {
		t.Fatalf("count %d before any work", n)
	}
	id := e.submitted(p) // another browser's commit
	e.waitFor("the new count", func() bool { return navOn("/inbox") == 1 })
	if n := navOn("/applications"); n != 1 { // a cached page, rendered at the new generation
		t.Fatalf("count on the queue %d", n)
	}
	if _, err := e.db.TransitionApplication(context.Background(), sys, id, applications.StateUnderReview, "", nil); err != nil {
		t.Fatal(err)
	}
	// Under review with no panel: still one thing to do, of another kind.
	e.waitFor("the count after the move", func() bool {
		links, _, n := todoRows(t, c.get("/").doc(t))
		return n == 1 && len(links["panel"]) == 1
	})
}

// unrelatedCommits commits what no to-do list reads (a staff comment on
// application id, an audit row) and waits until the listener has seen both.
func (e *env) unrelatedCommits(id int64) {
	t, ctx := e.t, context.Background()
	t.Helper()
	author := audit.Actor{Name: "staff", Role: string(staff)}
	if err := e.db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE username = 'staff'`).Scan(&author.ID); err != nil {
		t.Fatal(err)
	}
	before, _ := e.srv.gens.Current()
	if err := e.db.AddComment(ctx, author, id, "", "请补充近三年财务报表。"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.RecordAudit(ctx, audit.Event{Actor: sys, Name: "export", ObjectType: "ledger_journal", Outcome: audit.Success}); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if now, _ := e.srv.gens.Current(); now < before+3 { // the two commits and the settling notification
		t.Fatalf("generation %d after %d: the commits were not seen", now, before)
	}
}

// TestToDoCountKeptAcrossUnrelatedCommits: the staff to-do count is kept
// until a commit to a table it reads (postgres.ToDoTables): a comment and
// an audit row leave it alone, a new submitted application recounts.
func TestToDoCountKeptAcrossUnrelatedCommits(t *testing.T) {
	e := newEnv(t)
	p := e.openProgramme()
	id := e.submitted(p)
	q := e.countQueries()
	e.listening()
	c := e.loggedIn(staff)
	view := func() (int, bool) {
		t.Helper()
		var n int
		_, sqls := q.count(func() { _, _, n = todoRows(t, c.get("/inbox").doc(t)) })
		return n, strings.Contains(strings.Join(sqls, "\n"), todoSQL)
	}
	e.settle()
	if n, _ := view(); n != 1 { // counted here, or already by the login's first page
		t.Fatalf("first view: count %d", n)
	}
	if n, counted := view(); n != 1 || counted {
		t.Fatalf("second view at the same data: count %d, counted again %v", n, counted)
	}
	e.unrelatedCommits(id)
	if n, counted := view(); n != 1 || counted {
		t.Fatalf("after a comment and an audit row: count %d, counted again %v", n, counted)
	}
	e.submitted(p)
	e.settle()
	if n, counted := view(); n != 2 || !counted {
		t.Fatalf("after a second submission: count %d, counted %v", n, counted)
	}
}

// TestToDoListsKeptAcrossUnrelatedCommits: the home page's lists are read
// once per version of the tables they read: a comment and an audit row
// leave them (no list statement on the next view), a submission reads them
// again, and so does the writer's own next page (the fresh cookie).
func TestToDoListsKeptAcrossUnrelatedCommits(t *testing.T) {
	e := newEnv(t)
	p := e.openProgramme()
	id := e.submitted(p)
	q := e.countQueries()
	e.listening()
	c := e.loggedIn(staff)
	view := func() (int, bool) {
		t.Helper()
		var links map[string][]string
		_, sqls := q.count(func() { links, _, _ = todoRows(t, c.get("/").doc(t)) })
		return len(links["submitted"]), strings.Contains(strings.Join(sqls, "\n"), todoListSQL)
	}
	e.settle()
	if n, _ := view(); n != 1 {
		t.Fatalf("first view: %d submitted listed", n)
	}
	if n, read := view(); n != 1 || read {
		t.Fatalf("second view at the same data: %d listed, read again %v", n, read)
	}
	e.unrelatedCommits(id)
	if n, read := view(); n != 1 || read {
		t.Fatalf("after a comment and an audit row: %d listed, read again %v", n, read)
	}
	// The lists show people's names, so they read users; a sign-in with
	// no failures to clear writes nothing there.
	if !slices.Contains(postgres.ToDoListTables(applications.RoleStaff), "users") {
		t.Fatal("the staff lists no longer read users: this step checks nothing")
	}
	e.loggedIn(approver)                    // with a second factor: password, then code
	e.loggedIn(applications.RoleEnterprise) // a password only
	e.settle()
	if n, read := view(); n != 1 || read {
		t.Fatalf("after another user signed in: %d listed, read again %v", n, read)
	}
	e.submitted(p)
	e.settle()
	if n, read := view(); n != 2 || !read {
		t.Fatalf("after a second submission: %d listed, read %v", n, read)
	}
	base, _ := url.Parse(e.http.URL)
	c.hc.Jar.SetCookies(base, []*http.Cookie{{Name: freshCookie, Value: "1", Path: "/"}})
	if _, read := view(); !read {
		t.Fatalf("the writer's own next page did not read its lists afresh")
	}
}

// TestToDoListWhileAnotherReads: right after a commit, while one request
// of the user reads the lists again, the user's other requests get the
// lists from before the commit instead of waiting; once the read is done
// the new lists are shown.
func TestToDoListWhileAnotherReads(t *testing.T) {
	e := newEnv(t)
	p := e.openProgramme()
	e.submitted(p)
	e.listening()
	c := e.loggedIn(staff)
	e.settle()
	if links, _, _ := todoRows(t, c.get("/").doc(t)); len(links["submitted"]) != 1 {
		t.Fatalf("first view: %v", links["submitted"])
	}
	e.submitted(p)
	e.settle()
	var uid int64
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT id FROM users WHERE username = 'staff'`).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	gen, _ := e.srv.gens.Only(postgres.ToDoListTables(applications.RoleStaff)...)
	key := todoFlightKey("list", todoWho{id: uid, role: applications.RoleStaff}, gen, day.Today(e.clock.Now()).Format("20060102"))
	e.srv.todoFlights.Store(key, &todoFlight{done: make(chan struct{})}) // a read that does not end
	done := make(chan int, 1)
	go func() { links, _, _ := todoRows(t, c.get("/").doc(t)); done <- len(links["submitted"]) }()
	select {
	case n := <-done:
		if n != 1 {
			t.Fatalf("during the other read: %d listed, want the 1 from before the commit", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the page waited for the other read")
	}
	e.srv.todoFlights.Delete(key)
	if links, _, _ := todoRows(t, c.get("/").doc(t)); len(links["submitted"]) != 2 {
		t.Fatalf("after the read: %v", links["submitted"])
	}
}

// TestToDoListFollowsTheUsersEnterprise: a user moved to another
// enterprise signs in again, and its home page at once lists the new
// enterprise's work, not the kept lists of the old one (nothing the lists
// read changed, and the user is the same, so only the key's enterprise
// part can tell).
func TestToDoListFollowsTheUsersEnterprise(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	ret := e.submitted(p)
	if _, err := e.db.TransitionApplication(ctx, e.people().Staff, ret, applications.StateReturned, "退回", nil); err != nil {
		t.Fatal(err)
	}
	e.listening()
	c := e.loggedIn(enterprise)
	e.settle()
	for range 2 { // read, then kept
		if links, _, _ := todoRows(t, c.get("/").doc(t)); len(links["returned"]) != 1 {
			t.Fatalf("the enterprise's returned list: %v", links["returned"])
		}
	}
	other, err := e.db.CreateEnterprise(ctx, audit.Actor{Name: "test"}, "另一家科技有限公司", applications.ExampleUSCC(98))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateUser(ctx, audit.Actor{Name: "test"}, e.users[enterprise].ID, postgres.UserChange{EnterpriseID: &other.ID}); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session survived the move to another enterprise: %d", r.StatusCode)
	}
	c = e.loggedIn(enterprise)
	if links, _, nav := todoRows(t, c.get("/").doc(t)); len(links["returned"]) != 0 || nav != 0 {
		t.Fatalf("after the move to another enterprise: returned %v, count %d", links["returned"], nav)
	}
}

// TestToDoListLinksToTheQueue: a list longer than the rows the home page
// shows says so and links to the queue with the list's state.
func TestToDoListLinksToTheQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	for range postgres.ToDoListMax + 1 {
		e.submitted(p)
	}
	d := e.loggedIn(staff).get("/").doc(t)
	links, counts, _ := todoRows(t, d)
	if len(links["submitted"]) != postgres.ToDoListMax || counts["submitted"] != postgres.ToDoListMax+1 {
		t.Fatalf("submitted: %d rows shown of %d, want %d of %d", len(links["submitted"]), counts["submitted"],
			postgres.ToDoListMax, postgres.ToDoListMax+1)
	}
	more := d.Find("#todo-submitted a.todo-more")
	if href, _ := more.Attr("href"); href != "/applications?state=submitted" || !strings.Contains(more.Text(), "该状态的全部申报") {
		t.Fatalf("the long list links to %q (%q)", href, more.Text())
	}
	if d.Find("#todo-precheck a.todo-more").Length() != 0 {
		t.Fatalf("a short list links to the queue")
	}
}

// TestToDoCountReadsOnlyToDoTables: what CountToDo and ListToDo read, per
// role, by PostgreSQL's table statistics, is within postgres.ToDoTables and
// ToDoListTables, so a count or a home page kept until a commit to those
// tables is never stale; and the staff count does not read the tables every
// request writes.
func TestToDoCountReadsOnlyToDoTables(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.convertAndExitA(e.fundedA(termsA))
	e.submitted(e.openProgramme())
	db, scans := e.oneBackend()
	for _, role := range []applications.Role{applications.RoleStaff, applications.RoleApprover, applications.RoleEnterprise,
		applications.RoleExpert, applications.RoleAuditor, applications.RoleAdmin} {
		var uid int64
		if err := e.db.Pool.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, string(role)).Scan(&uid); err != nil {
			t.Fatal(role, err)
		}
		u, err := db.FindUser(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what   string
			read   func(context.Context, auth.User) (postgres.ToDo, error)
			tables []string
		}{{"count", db.CountToDo, postgres.ToDoTables(role)}, {"lists", db.ListToDo, postgres.ToDoListTables(role)}} {
			before := scans()
			if _, err := c.read(ctx, u); err != nil {
				t.Fatal(err)
			}
			after := scans()
			var read []string
			for name, n := range after {
				if n > before[name] {
					read = append(read, name)
					if !slices.Contains(c.tables, name) {
						t.Errorf("%s: the %s read %s, which its tables do not name (%v)", role, c.what, name, c.tables)
					}
				}
			}
			if len(read) == 0 {
				t.Errorf("%s: the statistics saw no read of the %s: the test cannot tell", role, c.what)
			}
		}
	}
	for _, name := range []string{"audit_log", "application_comments", "sessions", "users", "notifications"} {
		if slices.Contains(postgres.ToDoTables(applications.RoleStaff), name) {
			t.Errorf("the staff count reads %s, which most requests write", name)
		}
	}
}

// TestHomeRegistrationToDo: an approved conversion is on staff's list
// until they record its 工商变更 date (the approval's flash names it as
// their next step), and on nobody else's; recording the date takes it off
// the list and the navigation's count.
func TestHomeRegistrationToDo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := e.fundedA(fixture.TermsA)
	cid := e.preparedConversion(id)
	staffC := e.loggedIn(staff)
	links, _, _ := todoRows(t, staffC.get("/").doc(t))
	if len(links["registration"]) != 0 {
		t.Fatalf("registration listed before the conversion's approval: %v", links["registration"])
	}
	if err := e.db.ApproveConversion(ctx, e.people().Approver, cid); err != nil {
		t.Fatal(err)
	}
	d := staffC.get("/").doc(t)
	links, counts, nav := todoRows(t, d)
	want := []string{"/applications/" + strconv.FormatInt(id, 10) + "/equity#conversion"}
	if !slices.Equal(links["registration"], want) || counts["registration"] != 1 {
		t.Fatalf("staff's registration list %v (count %d), want %v", links["registration"], counts["registration"], want)
	}
	if row := d.Find("#todo-registration tr.todo-item").Text(); !strings.Contains(row, "转股日 2026年1月15日") {
		t.Fatalf("registration row %q", row)
	}
	for _, role := range []applications.Role{approver, enterprise, auditor} {
		if links, _, _ := todoRows(t, e.loggedIn(role).get("/").doc(t)); len(links["registration"]) != 0 {
			t.Errorf("%s sees the registration: %v", role, links["registration"])
		}
	}
	// The row leads to the form, and recording the date ends the item.
	eq := staffC.get(strings.SplitN(want[0], "#", 2)[0]).doc(t)
	if eq.Find(`#conversion form[action="/conversions/`+strconv.FormatInt(cid, 10)+`/registration"]`).Length() != 1 {
		t.Fatal("the row's page has no registration form")
	}
	r := staffC.postMultipart("/conversions/"+strconv.FormatInt(cid, 10)+"/registration",
		url.Values{"registration_date": {"2026-02-10"}}, "evidence", "变更登记通知书.pdf", pdf)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("registration: %d", r.StatusCode)
	}
	links, _, after := todoRows(t, staffC.get("/").doc(t))
	if len(links["registration"]) != 0 || after != nav-1 {
		t.Fatalf("after recording the date: list %v, navigation %d (was %d)", links["registration"], after, nav)
	}
}
