package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/internal/postgres"
	"ite/web/page"
)

// settingsRoutes: a user's own settings.
func (s *Server) settingsRoutes() []route {
	return []route{
		{"GET", "/settings/notifications", can(applications.ActionSetNotifications), s.handleNotificationSettings},
		{"POST", "/settings/notifications", can(applications.ActionSetNotifications), s.handleNotificationSettingsSave},
	}
}

// handleNotificationSettings shows, for each kind of event the user's
// role is notified of, whether it is also emailed
// (GET /settings/notifications).
func (s *Server) handleNotificationSettings(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	off, err := s.DB.EmailOptOuts(r.Context(), u.ID)
	if err != nil {
		return err
	}
	email, err := s.DB.UserEmail(r.Context(), u.ID)
	if err != nil {
		return err
	}
	v := page.NotificationSettingsView{Email: email}
	for _, k := range postgres.NotifyKindsFor(u.Role) {
		v.Kinds = append(v.Kinds, page.NotificationSetting{Kind: string(k), Label: k.Label(), Email: !off[k]})
	}
	return s.render(w, r, http.StatusOK, page.NotificationSettings(v))
}

// handleNotificationSettingsSave stores the kinds left unticked as turned
// off (POST /settings/notifications; one "email" field per ticked kind).
func (s *Server) handleNotificationSettingsSave(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	if err := r.ParseForm(); err != nil {
		return err
	}
	on := map[string]bool{}
	for _, k := range r.PostForm["email"] {
		on[k] = true
	}
	var off []postgres.NotifyKind
	for _, k := range postgres.NotifyKindsFor(u.Role) {
		if !on[string(k)] {
			off = append(off, k)
		}
	}
	if err := s.DB.SetEmailOptOuts(r.Context(), actor(r), u.ID, off); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/settings/notifications", "通知设置已保存。")
}
