package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/conversion"
)

// decisionRoutes: the funding decision: prepared by staff, approved by an
// approver.
func (s *Server) decisionRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/decision", can(applications.ActionPrepareDecision), s.handleDecisionPrepare},
		{"POST", "/decisions/{id}/approve", can(applications.ActionApproveDecision), s.handleDecisionApprove},
		{"POST", "/decisions/{id}/send-back", can(applications.ActionApproveDecision), s.handleDecisionSendBack},
	}
}

// handleDecisionPrepare records staff's proposed decision
// (POST /applications/{id}/decision).
func (s *Server) handleDecisionPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	in := applications.DecisionInput{Approve: r.PostFormValue("kind") != "reject",
		CapOverride: r.PostFormValue("cap_override") == "1", OverrideReason: strings.TrimSpace(r.PostFormValue("override_reason")),
		Terms: []byte(r.PostFormValue("terms")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if in.Approve {
		d, err := conversion.ParseMoney(r.PostFormValue("amount"))
		if err != nil {
			return s.refuse(w, r, a.ID, applications.FieldError("amount", "立项金额须为金额（元），最多两位小数，不带逗号。"))
		}
		in.Amount = d
	}
	if _, err := s.DB.PrepareDecision(r.Context(), actor(r), a.ID, in); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#decisions"), "立项决定已提交审批人审批。")
}

func (s *Server) decisionApp(r *http.Request) (int64, int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	appID, err := s.DB.DecisionApplication(r.Context(), id)
	if err != nil {
		return 0, 0, err
	}
	return id, appID, nil
}

// handleDecisionApprove is the approver's sign-off (POST /decisions/{id}/approve).
func (s *Server) handleDecisionApprove(w http.ResponseWriter, r *http.Request) error {
	id, appID, err := s.decisionApp(r)
	if err != nil {
		return err
	}
	if err := s.DB.ApproveDecision(r.Context(), actor(r), id); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "#decisions"), "已批准。")
}

// handleDecisionSendBack returns a decision to staff (POST /decisions/{id}/send-back).
func (s *Server) handleDecisionSendBack(w http.ResponseWriter, r *http.Request) error {
	id, appID, err := s.decisionApp(r)
	if err != nil {
		return err
	}
	if err := s.DB.SendBackDecision(r.Context(), actor(r), id, strings.TrimSpace(r.PostFormValue("comment"))); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "#decisions"), "已退回经办人。")
}
