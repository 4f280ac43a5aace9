package server

import (
	"net/http"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/audit"
)

// termsRoutes: changes to the terms of a signed agreement.
func (s *Server) termsRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/agreement/terms", can(applications.ActionProposeTerms), s.handleTermsPropose},
		{"POST", "/agreements/{id}/approve", can(applications.ActionApproveTerms), s.handleTermsApprove},
	}
}

// handleTermsPropose drafts a terms change (POST /applications/{id}/agreement/terms).
func (s *Server) handleTermsPropose(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	err = s.DB.ProposeTerms(r.Context(), actor(r), a.ID, []byte(r.PostFormValue("terms")), strings.TrimSpace(r.PostFormValue("reason")))
	if e, ok := refused(err); ok {
		return s.renderAgreement(w, r, statusOf[e.Kind], a, nil, e.Message)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "/agreement"), "条款变更已提交审批人。")
}

// handleTermsApprove puts a terms change in force (POST /agreements/{id}/approve).
func (s *Server) handleTermsApprove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	appID, err := s.DB.AgreementApplication(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.DB.ApproveTerms(r.Context(), actor(r), id); err != nil {
		if applications.ErrorKind(err) == applications.Forbidden {
			s.audit(r, audit.Event{Name: "maker_checker_refused", ObjectType: "application", ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Refused})
		}
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "/agreement"), "条款变更已生效，原版本保留可查。")
}
