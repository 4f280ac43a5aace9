package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/web/page"
)

// noticeRoutes: the public notice board.
func (s *Server) noticeRoutes() []route {
	return []route{
		{"GET", "/notices", can(applications.ActionReadNotices).inMenu(navNotices, "立项公示").menuFor(enterprise, staff, approver, auditor), s.handleNotices},
	}
}

// handleNotices is the public notice board (GET /notices). Ended notices
// are closed on access, so the board is right even between job runs.
func (s *Server) handleNotices(w http.ResponseWriter, r *http.Request) error {
	if err := s.sweepDue(r, &s.notices); err != nil {
		return err
	}
	ns, err := s.DB.ListCurrentNotices(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Notices(page.NoticesView{Notices: ns}))
}
