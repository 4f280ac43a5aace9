package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"ite/internal/day"
)

// A viewSweep is a time-driven sweep that a view runs before showing its
// data: ended notices closed, lapsed conversion windows moved on, due
// progress reports created. The lifecycle job runs the same sweeps, but
// only every minute; a view that shows their outcome sweeps on access so
// it is not a minute behind (unless the sweep has an interval, every).
// Every view goes through sweepDue, which
// skips the database while the sweep's memory says nothing can have
// fallen due (the page cache's invariant 7, package pagecache).
//
// run returns how many items it found due, handled or not: one that
// another transaction held (and may yet roll back) counts, or the memory
// would say "nothing due" wrongly.
type viewSweep struct {
	run func(context.Context) (due int, err error)
	// every, when set, also runs the sweep at most this often by the
	// server's clock, whatever may have changed (for a whole-portfolio
	// sweep too costly for every commit; the lifecycle job covers the
	// rest).
	every time.Duration

	mu sync.Mutex
	// gen and day are the data generation and China day at which run last
	// found nothing due (valid when idle): until one of them changes,
	// nothing can have fallen due.
	gen  uint64
	day  time.Time
	idle bool
	// ran is when run last started (valid when started), for every.
	ran     time.Time
	started bool
}

// sweepDue runs sw for a view unless its memory says it need not: the
// generation and the China day are those at which it last found nothing
// due, or (with every) it ran less than every ago. Without a change
// listener the generation is unknown, and after this browser's own write
// its notification may not have arrived: then only every can skip it. A
// viewSweep that is new each time (no memory) always runs.
func (s *Server) sweepDue(r *http.Request, sw *viewSweep) error {
	_, err := s.sweep(r, sw)
	return err
}

// sweep is sweepDue, reporting whether the sweep ran and found something
// due (for the page cache: see sweepFirst).
func (s *Server) sweep(r *http.Request, sw *viewSweep) (due bool, err error) {
	now := s.Now()
	gen, live := s.gens.Current()
	if justWrote(r) {
		live = false
	}
	today := day.Today(now)
	sw.mu.Lock()
	skip := live && sw.idle && sw.gen == gen && sw.day.Equal(today)
	if !skip && sw.every > 0 {
		if d := now.Sub(sw.ran); sw.started && d >= 0 && d < sw.every {
			skip = true
		} else {
			sw.ran, sw.started = now, true // before running: concurrent views do not all sweep
		}
	}
	sw.mu.Unlock()
	if skip {
		return false, nil
	}
	n, err := sw.run(r.Context())
	if err != nil || n > 0 || !live {
		return n > 0, err // what it changed is a new generation
	}
	sw.mu.Lock()
	sw.gen, sw.day, sw.idle = gen, today, true
	sw.mu.Unlock()
	return false, nil
}

// initSweeps gives the server its view sweeps (New calls it).
func (s *Server) initSweeps() {
	s.notices.run = s.closeEndedNotices
	s.lapses.run = func(ctx context.Context) (int, error) { return s.DB.EvaluateLapses(ctx) }
	s.reports.run = func(ctx context.Context) (int, error) {
		sw, err := s.DB.EnsureDueReports(ctx, day.Today(s.Now()))
		return sw.Created + sw.Reminded, err
	}
	s.reports.every = time.Minute
}

// closeEndedNotices closes the notices that ended, for sweepDue: it counts
// as due also the ones another transaction held locked (CloseEndedNotices
// skips them), which may yet roll back. It counts first: almost always
// nothing is due, and the count is one round trip where the closing
// transaction is three (after every commit, each application page and
// home page viewed sweeps until one finds nothing due, docs/PERFORMANCE.md).
func (s *Server) closeEndedNotices(ctx context.Context) (int, error) {
	due, err := s.DB.EndedNoticesDue(ctx)
	if err != nil || due == 0 {
		return due, err
	}
	n, err := s.DB.CloseEndedNotices(ctx)
	if err != nil || n > 0 {
		return n, err
	}
	return s.DB.EndedNoticesDue(ctx)
}

// enterpriseReports is the due-report sweep of one enterprise's own
// projects: cheap, so it has no memory and runs on every visit.
func (s *Server) enterpriseReports(enterpriseID int64) *viewSweep {
	return &viewSweep{run: func(ctx context.Context) (int, error) {
		sw, err := s.DB.EnsureEnterpriseReports(ctx, day.Today(s.Now()), enterpriseID)
		return sw.Created + sw.Reminded, err
	}}
}
