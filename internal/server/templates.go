package server

import (
	"net/http"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/web/format"
	"ite/web/page"
)

// templateRoutes: the printable templates of the materials.
func (s *Server) templateRoutes() []route {
	return []route{
		{"GET", "/applications/{id}/templates/{item}", can(applications.ActionDownloadTemplates), s.handleTemplate},
	}
}

// handleTemplate renders a printable template filled with the enterprise's
// name and 信用代码 (GET /applications/{id}/templates/{item}).
func (s *Server) handleTemplate(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	item, err := applications.ParseMaterial(chiParam(r, "item"))
	if err != nil || !item.HasTemplate() {
		return applications.Errorf(applications.NotFound, "该材料没有模板。")
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	ent, err := s.DB.FindEnterprise(r.Context(), a.EnterpriseID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.TemplatePrint(page.TemplateView{
		Kind: string(item), Title: item.Label(), Enterprise: a.Enterprise, USCC: a.EnterpriseUSCC,
		Project: a.Title, Programme: p.Name, Amount: format.Yuan(a.RequestedAmount) + "（" + format.Uppercase(a.RequestedAmount) + "）",
		Platform: p.HoldingPlatform, Today: day.Chinese(day.Today(s.Now())),
		Lead: a.LeadName, LegalRep: ent.LegalRep, Content: a.Content,
	}))
}
