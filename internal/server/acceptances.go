package server

import (
	"context"
	"net/http"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/web/page"
)

// acceptanceRoutes: recording a project's acceptance (结题验收, DOMAIN §16);
// the acceptances are shown on the project's equity page.
func (s *Server) acceptanceRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/acceptances", can(applications.ActionRecordAcceptance), s.handleAcceptanceRecord},
	}
}

// acceptanceView is the acceptance section of a project's equity page.
func (s *Server) acceptanceView(ctx context.Context, role applications.Role, a applications.Application) (page.AcceptanceView, error) {
	var v page.AcceptanceView
	var err error
	if v.List, err = s.DB.ListAcceptances(ctx, a.ID); err != nil {
		return v, err
	}
	v.CanRecord = role.Can(applications.ActionRecordAcceptance) && a.State.Acceptable()
	if v.CanRecord {
		p, err := s.DB.FindProgramme(ctx, a.ProgrammeID)
		if err != nil {
			return v, err
		}
		v.RequiresAudit = p.RequiresSpecialAudit
	}
	return v, nil
}

// handleAcceptanceRecord (POST /applications/{id}/acceptances): staff
// record the acceptance with its report files.
func (s *Server) handleAcceptanceRecord(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	form, files, drop, err := s.formWithFiles(w, r, "report", "audit_report")
	if err != nil {
		return s.equityRefuse(w, r, a.ID, err)
	}
	in := applications.AcceptanceInput{Result: applications.AcceptanceResult(form.Get("result")), Conditions: form.Get("conditions")}
	if d, err := day.Parse(form.Get("accepted_on")); err == nil {
		in.AcceptedOn = d
	}
	if _, err = s.DB.RecordAcceptance(r.Context(), actor(r), a.ID, in, form.Get("idempotency_key"), files["report"], files["audit_report"]); err != nil {
		drop()
		return s.equityRefuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/equity"), "已登记结题验收。")
}
