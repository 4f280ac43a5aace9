package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
)

// enterpriseRoutes: the administration of enterprises.
func (s *Server) enterpriseRoutes() []route {
	return []route{
		{"GET", "/admin/enterprises", can(applications.ActionManageEnterprises).inMenu(navEnterprises, "企业管理"), s.handleAdminEnterprises},
		{"POST", "/admin/enterprises", can(applications.ActionManageEnterprises), s.handleAdminEnterpriseCreate},
	}
}

// handleAdminEnterprises lists enterprises (GET /admin/enterprises).
func (s *Server) handleAdminEnterprises(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminEnterprises(w, r, http.StatusOK, page.AdminEnterprisesView{})
}

func (s *Server) renderAdminEnterprises(w http.ResponseWriter, r *http.Request, status int, v page.AdminEnterprisesView) error {
	es, err := s.DB.ListEnterprises(r.Context())
	if err != nil {
		return err
	}
	v.Enterprises = es
	return s.render(w, r, status, page.AdminEnterprises(v))
}

// handleAdminEnterpriseCreate registers an enterprise record
// (POST /admin/enterprises).
func (s *Server) handleAdminEnterpriseCreate(w http.ResponseWriter, r *http.Request) error {
	v := page.AdminEnterprisesView{
		Name: strings.TrimSpace(r.PostFormValue("name")),
		USCC: applications.NormalizeUSCC(r.PostFormValue("uscc")),
		Reg: map[string]string{"founded_on": r.PostFormValue("founded_on"), "address": r.PostFormValue("address"),
			"registered_capital": r.PostFormValue("registered_capital"), "paid_in_capital": r.PostFormValue("paid_in_capital"),
			"in_zone": r.PostFormValue("in_zone")},
	}
	reg, err := enterpriseRegistration(v.Reg)
	if err == nil {
		_, err = s.DB.CreateEnterpriseWith(r.Context(), actor(r), v.Name, v.USCC, reg)
	}
	if e, ok := refused(err); ok {
		v.FormError = e.Message
		return s.renderAdminEnterprises(w, r, statusOf[e.Kind], v)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/admin/enterprises", "已登记企业 "+v.Name+"。")
}

// enterpriseRegistration reads the admin form's optional registration
// details (成立日期, 注册地址, 注册资本, 实缴资本, 注册地在经开区).
func enterpriseRegistration(f map[string]string) (postgres.EnterpriseRegistration, error) {
	reg := postgres.EnterpriseRegistration{Address: f["address"], InZone: f["in_zone"] == "1"}
	if v := strings.TrimSpace(f["founded_on"]); v != "" {
		d, err := day.Parse(v)
		if err != nil {
			return reg, applications.FieldError("founded_on", "成立日期格式不正确（年-月-日）。")
		}
		reg.FoundedOn = d
	}
	var err error
	if reg.RegisteredCapital, err = optionalAmount("registered_capital", f["registered_capital"]); err != nil {
		return reg, err
	}
	reg.PaidInCapital, err = optionalAmount("paid_in_capital", f["paid_in_capital"])
	return reg, err
}
