package server

import (
	"net/http"
	"strings"

	"ite/internal/applications"
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
	}
	_, err := s.DB.CreateEnterprise(r.Context(), actor(r), v.Name, v.USCC)
	if e, ok := refused(err); ok {
		v.FormError = e.Message
		return s.renderAdminEnterprises(w, r, statusOf[e.Kind], v)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/admin/enterprises", "已登记企业 "+v.Name+"。")
}
