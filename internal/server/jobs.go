package server

import (
	"context"
	"ite/internal/day"
	"time"
)

// lifecycleEvery is how often time-driven state changes are evaluated.
// Pages that show them also evaluate on access, so a slow job never shows
// a stale state.
const lifecycleEvery = time.Minute

// runLifecycle moves whatever time has moved: notices that ended (ready to
// sign), conversion windows that ended without a trigger (lapsed), and
// progress reports that fell due (created, reminded when overdue).
func (s *Server) runLifecycle(ctx context.Context) {
	if sweep, err := s.DB.EnsureDueReports(ctx, day.Today(s.Now())); err != nil {
		s.Logger.Error("ensure due reports", "err", err)
	} else if sweep.Created+sweep.Reminded > 0 {
		s.Logger.Info("progress reports", "created", sweep.Created, "reminded", sweep.Reminded)
	}
	if n, err := s.DB.CloseEndedNotices(ctx); err != nil {
		s.Logger.Error("close ended notices", "err", err)
	} else if n > 0 {
		s.Logger.Info("notices ended", "count", n)
	}
	if err := s.anchorDaily(ctx); err != nil {
		s.Logger.Error("daily chain anchor", "err", err)
	}
	if n, err := s.DB.EvaluateLapses(ctx); err != nil {
		s.Logger.Error("evaluate lapses", "err", err)
	} else if n > 0 {
		s.Logger.Info("conversion windows lapsed", "count", n)
	}
}
