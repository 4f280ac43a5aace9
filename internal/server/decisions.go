package server

import (
	"context"
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/web/page"
	"ite/web/ui"
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
// (POST /applications/{id}/decision). The agreement terms come from the
// structured terms form; a refusal shows the application page again with
// everything typed and each error beside its field.
func (s *Server) handleDecisionPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return applications.Errorf(applications.BadRequest, "表单无法读取，请重新提交。")
	}
	in := applications.DecisionInput{Approve: r.PostFormValue("kind") != "reject",
		CapOverride: r.PostFormValue("cap_override") == "1", OverrideReason: strings.TrimSpace(r.PostFormValue("override_reason")),
		Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	typed := page.DecisionTyped{Amount: strings.TrimSpace(r.PostFormValue("amount")), Reject: !in.Approve, CapOverride: in.CapOverride,
		OverrideReason: in.OverrideReason, Reason: in.Reason, Errors: ui.Errors{}}
	again := func(status int, msg string) error {
		return s.renderApplication(w, r.WithContext(context.WithValue(r.Context(), ctxDecisionTyped{}, &typed)), status, a, msg)
	}
	amountErr := error(nil)
	if in.Approve {
		in.Amount, amountErr = applications.AmountField("amount", typed.Amount)
		if amountErr != nil {
			typed.Errors["amount"] = applications.ErrorMessage(amountErr)
		}
	}
	raw, f, errs, edit := parseTerms(r, applications.TermsContext{Amount: in.Amount})
	typed.Terms = &f
	if edit {
		return again(http.StatusOK, "")
	}
	if in.Approve {
		for k, m := range errs {
			typed.Errors[k] = m
		}
		in.Terms = raw
	}
	if len(typed.Errors) > 0 {
		return again(http.StatusUnprocessableEntity, "立项决定有误，请按提示修改。")
	}
	if _, err := s.DB.PrepareDecision(r.Context(), actor(r), a.ID, in); err != nil {
		if e, ok := refused(err); ok {
			if e.Field != "" {
				typed.Errors[e.Field] = e.Message
			}
			return again(statusOf[e.Kind], e.Message)
		}
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#decisions"), "立项决定已提交审批人审批。")
}

// ctxDecisionTyped carries a refused decision form to the application
// page that shows it again.
type ctxDecisionTyped struct{}

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
	ds, err := s.DB.ListDecisions(r.Context(), appID)
	if err != nil {
		return err
	}
	funding := false
	for _, d := range ds {
		funding = funding || d.ID == id && d.Approve
	}
	if funding {
		// Approving funds cannot be undone: the approver must have seen
		// the amount in 大写 (page.Confirmation) and ticked it.
		if err := confirmed(r); err != nil {
			return s.refuse(w, r, appID, err)
		}
	}
	if err := s.DB.ApproveDecision(r.Context(), actor(r), id); err != nil {
		return s.refuse(w, r, appID, err)
	}
	done := "不予立项决定已批准，企业可在申报页面查看评审结果和理由。"
	if funding {
		a, err := s.DB.FindApplication(r.Context(), appID)
		if err != nil {
			return err
		}
		done = "立项决定已批准，项目进入公示期（至 " + day.Chinese(a.NoticeEndsOn) + "）。下一步：公示期间如有异议，由经办人登记处理；" +
			"公示期满无异议成立的，由经办人与企业签订投资协议并上传已签署的协议，之后按拨付计划登记拨付，由审批人审批。"
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "#decisions"), done)
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
