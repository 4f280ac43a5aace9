package server

import (
	"net/http"
	"strings"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/day"
)

// eventRoutes: trigger events: reported by the enterprise or staff, verified
// by staff.
func (s *Server) eventRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/events", can(applications.ActionReportEvent), s.handleEventReport},
		{"POST", "/events/{id}/verify", can(applications.ActionVerifyEvent), s.handleEventVerify},
	}
}

// handleEventReport records a trigger event (POST /applications/{id}/events).
func (s *Server) handleEventReport(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	form, evidence, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	e := applications.TriggerEvent{ApplicationID: a.ID, Kind: form.Get("kind"), Investors: strings.TrimSpace(form.Get("investors")),
		Unit: form.Get("unit"), Description: strings.TrimSpace(form.Get("description"))}
	if d, err := day.Parse(form.Get("event_date")); err == nil {
		e.EventDate = d
	}
	if d, err := day.Parse(form.Get("period_start")); err == nil {
		e.PeriodStart = d
	}
	for field, dst := range map[string]*decimal.Decimal{"new_money": &e.NewMoney, "pre_money_valuation": &e.PreMoneyValuation,
		"pre_money_units": &e.PreMoneyUnits, "amount": &e.Amount} {
		if e.Kind == applications.EventFinancing && field == "amount" || e.Kind != applications.EventFinancing && field != "amount" {
			continue
		}
		d, err := optionalMoney(field, form.Get(field))
		if err != nil {
			drop()
			return s.equityRefuse(w, r, a.ID, err)
		}
		*dst = d
	}
	if e.Kind != applications.EventFinancing {
		e.Unit = ""
	}
	if _, err := s.DB.ReportEvent(r.Context(), actor(r), e, evidence); err != nil {
		drop()
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "已报告，等待经办人员核实。")
}

// handleEventVerify verifies or rejects an event (POST /events/{id}/verify).
func (s *Server) handleEventVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	appID, err := s.DB.EventApplication(r.Context(), id)
	if err != nil {
		return err
	}
	verify := r.PostFormValue("decision") == "verify"
	if err := s.DB.VerifyEvent(r.Context(), actor(r), id, verify, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		return s.equityRefuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/equity"), "已处理。")
}
