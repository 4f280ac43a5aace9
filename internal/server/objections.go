package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/internal/day"
)

// objectionRoutes: objections raised during the public notice.
func (s *Server) objectionRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/objections", can(applications.ActionHandleObjections), s.handleObjection},
		{"POST", "/objections/{id}/resolve", can(applications.ActionHandleObjections), s.handleObjectionResolve},
		{"POST", "/objections/{id}/approve", can(applications.ActionApproveObjection), s.handleObjectionApprove},
		{"POST", "/objections/{id}/send-back", can(applications.ActionApproveObjection), s.handleObjectionSendBack},
	}
}

// handleObjection records an objection (POST /applications/{id}/objections).
func (s *Server) handleObjection(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	receivedOn, err := day.Parse(r.PostFormValue("received_on"))
	if err != nil {
		return s.refuse(w, r, a.ID, applications.FieldError("received_on", "请填写收到异议的日期。"))
	}
	if err := s.DB.RecordObjection(r.Context(), actor(r), a.ID, receivedOn, r.PostFormValue("body")); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#notice"), "已登记异议。处理完毕前不能签约。")
}

// handleObjectionResolve dismisses an objection, or proposes to uphold
// it for an approver (POST /objections/{id}/resolve).
func (s *Server) handleObjectionResolve(w http.ResponseWriter, r *http.Request) error {
	uphold := r.PostFormValue("uphold") == "1"
	msg := "异议已认定不成立。"
	if uphold {
		msg = "已提交审批人：审批通过后异议成立，项目不予立项。"
	}
	return s.checkObjection(w, r, func(id int64) error {
		return s.DB.ResolveObjection(r.Context(), actor(r), id, uphold, r.PostFormValue("resolution"))
	}, msg)
}

// handleObjectionApprove approves staff's proposal to uphold an objection,
// which rejects the application (POST /objections/{id}/approve).
func (s *Server) handleObjectionApprove(w http.ResponseWriter, r *http.Request) error {
	return s.checkObjection(w, r, func(id int64) error { return s.DB.ApproveObjection(r.Context(), actor(r), id) },
		"已批准：异议成立，项目不予立项。")
}

// handleObjectionSendBack returns the proposal to staff with a reason
// (POST /objections/{id}/send-back).
func (s *Server) handleObjectionSendBack(w http.ResponseWriter, r *http.Request) error {
	return s.checkObjection(w, r, func(id int64) error {
		return s.DB.SendBackObjection(r.Context(), actor(r), id, r.PostFormValue("comment"))
	},
		"已退回经办人。")
}

// checkObjection runs an action on the route's objection and answers with
// the application page: its notice with the flash done, or the refusal.
func (s *Server) checkObjection(w http.ResponseWriter, r *http.Request, act func(id int64) error, done string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	appID, err := s.DB.ObjectionApplication(r.Context(), id)
	if err != nil {
		return err
	}
	if err := act(id); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "#notice"), done)
}
