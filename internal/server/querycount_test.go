package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ite/internal/applications"
	"ite/internal/pagecache"
)

// queryCounter is a pgx tracer that counts the statements sent to
// PostgreSQL (each Query, QueryRow, Exec and batch item is one round trip
// unless batched), and keeps their first lines to show what a page asks.
type queryCounter struct {
	mu   sync.Mutex
	on   bool
	n    int
	sqls []string
}

func (q *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	q.mu.Lock()
	if q.on && requestIDFrom(ctx) != "" { // a request's, not the change listener's heartbeat
		q.n++
		q.sqls = append(q.sqls, strings.Join(strings.Fields(d.SQL), " "))
	}
	q.mu.Unlock()
	return ctx
}

func (q *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (q *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	q.mu.Lock()
	if q.on && requestIDFrom(ctx) != "" {
		q.n++ // a batch is one round trip, whatever it holds
		queued := make([]string, 0, d.Batch.Len())
		for _, qq := range d.Batch.QueuedQueries {
			queued = append(queued, strings.Join(strings.Fields(qq.SQL), " "))
		}
		q.sqls = append(q.sqls, "batch of "+strconv.Itoa(d.Batch.Len())+": "+strings.Join(queued, "; "))
	}
	q.mu.Unlock()
	return ctx
}
func (q *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (q *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// count runs fn and returns the statements it sent.
func (q *queryCounter) count(fn func()) (int, []string) {
	q.mu.Lock()
	q.on, q.n, q.sqls = true, 0, nil
	q.mu.Unlock()
	fn()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.on = false
	return q.n, q.sqls
}

// countQueries swaps the env's pool for one on the same database whose
// connections report to a queryCounter.
func (e *env) countQueries() *queryCounter {
	e.t.Helper()
	q := &queryCounter{}
	cfg := e.db.Pool.Config()
	cfg.ConnConfig.Tracer = q
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	e.db.Pool = pool
	return q
}

// Statements the generation's caches answer on a second view.
const (
	todoSQL     = "SELECT (SELECT count(*)" // CountToDo
	todoListSQL = "SELECT kind, id, title"  // ListToDo's rows
	staffSQL    = "role = 'staff'"          // ListStaffMembers
)

// settle waits until every change notification sent so far has reached
// the server: a NOTIFY of its own, counted after all earlier ones
// (PostgreSQL delivers a channel's notifications in commit order).
func (e *env) settle() {
	e.t.Helper()
	before, _ := e.srv.gens.Current()
	if err := e.db.Notify(context.Background(), pagecache.Channel, "settle"); err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("the settling notification", func() bool { g, live := e.srv.gens.Current(); return live && g > before })
}

// TestPageQueryCounts pins the round trips of the busiest pages on the
// miss path (page cache off, the change listener on as RunJobs runs it):
// the reference lists (programmes, staff, experts), the to-do count and
// the view sweep are kept per data generation, and so is the panel form's
// default deadline. A page that starts asking the database
// again for any of them, or a new per-row query, fails here
// (docs/PERFORMANCE.md, "The miss path").
func TestPageQueryCounts(t *testing.T) {
	e := newEnv(t)
	id := e.fundedA(termsA)
	early := e.submitted(e.openProgramme())
	drawing := e.submitted(e.openProgramme())
	if _, err := e.db.TransitionApplication(context.Background(), e.people().Staff, drawing, applications.StateUnderReview, "", nil); err != nil {
		t.Fatal(err)
	}
	q := e.countQueries()
	e.listening()
	staff := e.loggedIn(applications.RoleStaff)
	auditor := e.loggedIn(applications.RoleAuditor)
	owner := e.loggedIn(applications.RoleEnterprise)
	for _, tc := range []struct {
		c    *client
		path string
		max  int
		want []string // statements that must still be sent (the page's own data)
		// never are what the generation's caches answer: the to-do
		// count, the staff and programme lists, the notice sweep
		never []string
	}{
		// the session, the queue
		{staff, "/applications", 2, []string{"FROM sessions", "FROM applications"},
			[]string{todoSQL, staffSQL, "FROM programmes"}},
		// the session, the application, one batch of its documents,
		// verdicts, timeline, comments, information requests,
		// eligibility, panel, decisions, scores, objections and minutes
		// (the loss checks are the equity page's), then the disbursement part's snapshot in one batch
		// (begin, the application, the fund, the agreement, the
		// acceptance, the tranches' sums, the milestones, the
		// disbursements, commit)
		{staff, applicationPath(id, ""), 4, []string{"FROM sessions", "batch of 11", "FROM application_comments", "FROM objections",
			"FROM committee_minutes", "FROM reviews r", "batch of 9: BEGIN", "FROM milestone_confirmations"},
			[]string{todoSQL, staffSQL, "SELECT id, name, year, status", "notice_closed_at IS NULL", "FROM loss_checks"}},
		// the enterprise's page of it: no panel, minutes or loss checks
		// (it is shown none of them), and the money it received
		{owner, applicationPath(id, ""), 4, []string{"FROM sessions", "batch of 9: SELECT d.id", "FROM reviews r", "batch of 9: BEGIN"},
			[]string{"FROM panel_assignments", "FROM committee_minutes", "FROM loss_checks", todoSQL}},
		// under review, with the form to draw its panel: the calendar
		// behind its default deadline is read once a generation
		{staff, applicationPath(drawing, ""), 3, []string{"FROM sessions", "FROM panel_assignments"},
			[]string{"FROM calendar_days", todoSQL, staffSQL}},
		// an application before expert review has no review section: its
		// batch leaves out the panel, decisions, scores, objections and
		// oversight records
		{staff, applicationPath(early, ""), 3, []string{"FROM sessions", "batch of 6", "FROM application_comments"},
			[]string{"FROM panel_assignments", "FROM decisions", "FROM reviews r", "FROM objections", "FROM committee_minutes",
				todoSQL, staffSQL}},
		// the dashboard: the session; its figures and the programme
		// years are kept for the generation
		{staff, "/dashboard", 1, []string{"FROM sessions"}, []string{"DISTINCT year", todoSQL}},
		// the session, then the journal's snapshot in one batch (begin,
		// head, entries, their postings, commit); then the names of the
		// sub-accounts the page shows
		{auditor, "/ledger/journal", 3, []string{"FROM sessions", "batch of 5: BEGIN", "JOIN ledger_postings"},
			[]string{todoSQL, "SELECT id, name, year, status"}},
	} {
		// The first view fills the generation's caches; the second is
		// the miss path as users meet it between commits. (A GET
		// commits nothing, so both are at one generation.)
		e.settle()
		for view := 1; view <= 2; view++ {
			var r response
			n, sqls := q.count(func() { r = tc.c.get(tc.path) })
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", tc.path, r.StatusCode)
			}
			if view == 1 {
				continue
			}
			all := strings.Join(sqls, "\n")
			short := make([]string, len(sqls))
			for i, s := range sqls {
				short[i] = s[:min(len(s), 120)]
			}
			shown := strings.Join(short, "\n")
			if n > tc.max {
				t.Errorf("%s sent %d statements, want at most %d:\n%s", tc.path, n, tc.max, shown)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("%s: no statement reads %q (is the tracer counting?):\n%s", tc.path, w, shown)
				}
			}
			for _, c := range tc.never {
				if strings.Contains(all, c) {
					t.Errorf("%s read %q again at the same generation:\n%s", tc.path, c, shown)
				}
			}
		}
	}
	// At a new generation the page's notice sweep runs again; with
	// nothing due it only counts, without its closing transaction.
	e.settle()
	_, sqls := q.count(func() { staff.get(applicationPath(early, "")) })
	all := strings.Join(sqls, "\n")
	if !strings.Contains(all, "notice_closed_at IS NULL") || strings.Contains(all, "SKIP LOCKED") {
		t.Errorf("the notice sweep at a new generation, with nothing due, sent:\n%s", all)
	}
}
