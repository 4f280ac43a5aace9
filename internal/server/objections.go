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

// handleObjectionResolve upholds or dismisses an objection
// (POST /objections/{id}/resolve).
func (s *Server) handleObjectionResolve(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	appID, err := s.DB.ObjectionApplication(r.Context(), id)
	if err != nil {
		return err
	}
	uphold := r.PostFormValue("uphold") == "1"
	if err := s.DB.ResolveObjection(r.Context(), actor(r), id, uphold, r.PostFormValue("resolution")); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(appID, "#notice"), "异议已处理。")
}
