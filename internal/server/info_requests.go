package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
)

// infoRequestRoutes: information staff ask an enterprise for on an
// application, and the enterprise's answer (issue 13).
func (s *Server) infoRequestRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/info-requests", can(applications.ActionAskInformation), s.handleInfoRequestAsk},
		{"POST", "/applications/{id}/info-requests/{rid}/answer", can(applications.ActionAnswerInformation), s.handleInfoRequestAnswer},
	}
}

// handleInfoRequestAsk records what staff ask for and by when (POST
// /applications/{id}/info-requests); a refusal re-renders the page with
// the reason and what was typed.
func (s *Server) handleInfoRequestAsk(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	due, err := parseDay("due_on", r.PostFormValue("due_on"))
	if err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	if _, err := s.DB.AskInformation(r.Context(), actor(r), a.ID, strings.TrimSpace(r.PostFormValue("body")), due); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#info"), "已通知企业补充信息，企业答复后您会收到通知。")
}

// handleInfoRequestAnswer records the enterprise's answer, text and/or a
// file (POST /applications/{id}/info-requests/{rid}/answer, multipart).
func (s *Server) handleInfoRequestAnswer(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	rid, err := pathID(r, "rid")
	if err != nil {
		return err
	}
	form, file, drop, err := s.formWithEvidence(w, r)
	if err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	if err := s.DB.AnswerInformation(r.Context(), actor(r), a.ID, rid, form.Get("answer"), file); err != nil {
		drop()
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#info"), "已答复，经办人员会收到通知。")
}
