package server

import (
	"context"
	"ite/internal/day"
	"net/http"
	"sync"
	"time"
)

// dueMemo remembers the data generation and China day at which a
// time-driven sweep (ended notices, lapsed conversion windows) last found
// nothing to do: until one of them changes, nothing can have fallen due, so
// a page view need not ask the database again.
type dueMemo struct {
	mu  sync.Mutex
	gen uint64
	day time.Time
	set bool
}

// sweepDue runs a time-driven sweep that a page runs before showing its
// data (the lifecycle job runs them too, but only every minute), skipping
// the database when memo says nothing can have fallen due. Without a
// change listener it always runs. sweep returns how many items it found
// due, handled or not (one locked by another transaction counts).
func (s *Server) sweepDue(r *http.Request, memo *dueMemo, sweep func(context.Context) (int, error)) error {
	ctx := r.Context()
	gen, live := s.gens.Current()
	if c, err := r.Cookie(freshCookie); err == nil && c.Value != "" {
		// The browser has just written: the notification of its commit
		// may not have arrived yet, so the memo cannot be trusted.
		live = false
	}
	day := day.Today(s.Now())
	memo.mu.Lock()
	same := live && memo.set && memo.gen == gen && memo.day.Equal(day)
	memo.mu.Unlock()
	if same {
		return nil
	}
	n, err := sweep(ctx)
	if err != nil || n > 0 || !live {
		return err // what it changed is a new generation
	}
	memo.mu.Lock()
	memo.gen, memo.day, memo.set = gen, day, true
	memo.mu.Unlock()
	return nil
}

// closeEndedNotices closes the notices that ended, for sweepDue: it counts
// as due also the ones another transaction held locked (CloseEndedNotices
// skips them), which may yet roll back.
func (s *Server) closeEndedNotices(ctx context.Context) (int, error) {
	n, err := s.DB.CloseEndedNotices(ctx)
	if err != nil || n > 0 {
		return n, err
	}
	return s.DB.EndedNoticesDue(ctx)
}
