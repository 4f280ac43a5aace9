package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/web/page"
)

// calendarRoutes: the working-day calendar (holidays and make-up days).
func (s *Server) calendarRoutes() []route {
	return []route{
		{"GET", "/calendar", can(applications.ActionReadCalendar).inMenu(navCalendar, "节假日"), s.handleCalendar},
		{"POST", "/calendar", can(applications.ActionManageCalendar), s.handleCalendarSet},
	}
}

// handleCalendar lists holidays and adjusted working days (GET /calendar).
func (s *Server) handleCalendar(w http.ResponseWriter, r *http.Request) error {
	return s.renderCalendar(w, r, http.StatusOK, nil)
}

// renderCalendar shows the calendar; after a refused change, with its error
// beside its field (what was typed is put back by keepTyped).
func (s *Server) renderCalendar(w http.ResponseWriter, r *http.Request, status int, refusal error) error {
	days, err := s.DB.ListCalendar(r.Context())
	if err != nil {
		return err
	}
	v := page.CalendarView{Days: days, CanSet: currentUser(r).Role.Can(applications.ActionManageCalendar)}
	if refusal != nil {
		v.Errors, v.FormError = fieldErrors(refusal)
	}
	return s.render(w, r, status, page.Calendar(v))
}

// handleCalendarSet adds, changes or removes a day (POST /calendar).
func (s *Server) handleCalendarSet(w http.ResponseWriter, r *http.Request) error {
	on, err := day.Parse(r.PostFormValue("day"))
	if err != nil {
		return s.renderCalendar(w, r, http.StatusUnprocessableEntity, applications.FieldError("day", "请填写日期（年-月-日）。"))
	}
	kind := r.PostFormValue("kind")
	if kind != "" && kind != "holiday" && kind != "workday" {
		return s.renderCalendar(w, r, http.StatusUnprocessableEntity, applications.FieldError("kind", "类型无效。"))
	}
	if err := s.DB.SetCalendarDay(r.Context(), actor(r), on, kind, strings.TrimSpace(r.PostFormValue("name"))); err != nil {
		if e, ok := refused(err); ok {
			return s.renderCalendar(w, r, statusOf[e.Kind], e)
		}
		return err
	}
	return s.redirectWithFlash(w, r, "/calendar", "已保存。")
}
