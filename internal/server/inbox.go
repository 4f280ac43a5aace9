package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/web/page"
)

// inboxRoutes: every user's notifications.
func (s *Server) inboxRoutes() []route {
	return []route{
		{"GET", "/inbox", can(applications.ActionReadInbox).inMenu(navInbox, "消息"), s.handleInbox},
		{"GET", "/inbox/{id}", can(applications.ActionReadInbox), s.handleInboxOpen},
	}
}

// handleInbox lists the user's notifications (GET /inbox).
func (s *Server) handleInbox(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.DB.ListNotifications(r.Context(), currentUser(r).ID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Inbox(page.InboxView{Items: ns, CanSettings: currentUser(r).Role.Can(applications.ActionSetNotifications)}))
}

// handleInboxOpen marks an item read and follows its link (GET /inbox/{id}).
func (s *Server) handleInboxOpen(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	link, err := s.DB.OpenNotification(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	if safeNext(link) == "" {
		link = "/inbox"
	}
	http.Redirect(w, r, link, http.StatusSeeOther)
	return nil
}
