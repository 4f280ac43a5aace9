package server

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/web/page"
)

// periodRoutes: the period close (结账) of the ledger.
func (s *Server) periodRoutes() []route {
	return []route{
		{"GET", "/ledger/periods", can(applications.ActionReadLedger), s.handlePeriods},
		{"POST", "/ledger/periods/{month}/close", can(applications.ActionClosePeriod), s.handlePeriodClose},
	}
}

// handlePeriods lists the months with their state, and the trial balance
// of the month that may be closed next (GET /ledger/periods).
func (s *Server) handlePeriods(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.DB.ListPeriods(r.Context())
	if err != nil {
		return err
	}
	u := currentUser(r)
	return s.render(w, r, http.StatusOK, page.Periods(page.PeriodsView{Periods: ps, CanClose: u.Role.Can(applications.ActionClosePeriod),
		Today: day.Today(s.Now())}))
}

// handlePeriodClose closes a month after the store has checked its trial
// balance (POST /ledger/periods/{month}/close, month as 2026-03).
func (s *Server) handlePeriodClose(w http.ResponseWriter, r *http.Request) error {
	m, err := time.Parse("2006-01", chi.URLParam(r, "month"))
	if err != nil {
		return applications.FieldError("month", "期间格式不正确，应为“年-月”，如 2026-03。")
	}
	if err := s.DB.ClosePeriod(r.Context(), actor(r), m); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/ledger/periods", ledger.MonthLabel(m)+"已结账：此后记账日期在该期间及以前的凭证将被拒绝。")
}
