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
	days, err := s.DB.ListCalendar(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Calendar(page.CalendarView{Days: days,
		CanSet: currentUser(r).Role.Can(applications.ActionManageCalendar)}))
}

// handleCalendarSet adds, changes or removes a day (POST /calendar).
func (s *Server) handleCalendarSet(w http.ResponseWriter, r *http.Request) error {
	on, err := day.Parse(r.PostFormValue("day"))
	if err != nil {
		return applications.FieldError("day", "请填写日期（年-月-日）。")
	}
	kind := r.PostFormValue("kind")
	if kind != "" && kind != "holiday" && kind != "workday" {
		return applications.FieldError("kind", "类型无效。")
	}
	if err := s.DB.SetCalendarDay(r.Context(), actor(r), on, kind, strings.TrimSpace(r.PostFormValue("name"))); err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/calendar", "已保存。")
}
