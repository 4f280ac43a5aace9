package server

import (
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"strconv"
	"time"

	"ite/internal/applications"
)

// panelRoutes: drawing and assigning an application's review panel.
func (s *Server) panelRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/panel/draw", can(applications.ActionManagePanel), s.handlePanelDraw},
		{"POST", "/applications/{id}/panel/assign", can(applications.ActionManagePanel), s.handlePanelAssign},
	}
}

// handlePanelDraw draws the panel at random (POST /applications/{id}/panel/draw).
func (s *Server) handlePanelDraw(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	seed := int64(binary.BigEndian.Uint64(b[:]) >> 1)
	due, err := parseDay("due_on", r.PostFormValue("due_on"))
	if err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	chosen, err := s.DB.DrawPanelDue(r.Context(), actor(r), a.ID, seed, due)
	if err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#panel"), "已随机抽取 "+strconv.Itoa(len(chosen))+" 位专家（抽取种子 "+strconv.FormatInt(seed, 10)+"）。")
}

// handlePanelAssign adds an expert by hand (POST /applications/{id}/panel/assign).
func (s *Server) handlePanelAssign(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	id, err := formID(r, "expert_id")
	if err != nil || id == 0 {
		return s.refuse(w, r, a.ID, applications.FieldError("expert_id", "请选择专家。"))
	}
	if err := s.DB.AssignExpertDue(r.Context(), actor(r), a.ID, id, time.Time{}); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#panel"), "已指定专家。")
}
