package server

import (
	"net/http"
	"strconv"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/web/page"
	"ite/web/ui"
)

// agreementTemplateRoutes: a programme's agreement template, changed like
// a terms change (staff propose, an approver other than the proposer puts
// it in force).
func (s *Server) agreementTemplateRoutes() []route {
	return []route{
		{"GET", "/programmes/{id}/agreement-template", can(applications.ActionReadProgrammes), s.handleAgreementTemplate},
		{"POST", "/programmes/{id}/agreement-template", can(applications.ActionProposeTerms), s.handleAgreementTemplatePropose},
		{"POST", "/agreement-templates/{id}/approve", can(applications.ActionApproveTerms), s.handleAgreementTemplateDecide(true)},
		{"POST", "/agreement-templates/{id}/reject", can(applications.ActionApproveTerms), s.handleAgreementTemplateDecide(false)},
	}
}

func agreementTemplatePath(programmeID int64) string {
	return "/programmes/" + strconv.FormatInt(programmeID, 10) + "/agreement-template"
}

// handleAgreementTemplate shows the template in force, the pending version
// and the history (GET /programmes/{id}/agreement-template).
func (s *Server) handleAgreementTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderAgreementTemplate(w, r, http.StatusOK, id, nil, nil, "")
}

func (s *Server) renderAgreementTemplate(w http.ResponseWriter, r *http.Request, status int, programmeID int64, form map[string]string, errs ui.Errors, msg string) error {
	p, err := s.DB.FindProgramme(r.Context(), programmeID)
	if err != nil {
		return err
	}
	current, err := s.DB.CurrentAgreementTemplate(r.Context(), programmeID)
	if err != nil {
		return err
	}
	versions, err := s.DB.ListAgreementTemplates(r.Context(), programmeID)
	if err != nil {
		return err
	}
	u := currentUser(r)
	v := page.AgreementTemplateView{Programme: p, Current: current, Versions: versions, Errors: errs, FormError: msg,
		CanPropose: u.Role.Can(applications.ActionProposeTerms), CanApprove: u.Role.Can(applications.ActionApproveTerms),
		Form: form}
	for _, t := range versions {
		if t.Status == "pending" {
			v.Pending = &t
			break
		}
	}
	if v.Form == nil {
		v.Form = map[string]string{"bureau": current.Bureau, "body": current.Body}
	}
	return s.render(w, r, status, page.AgreementTemplate(v))
}

// handleAgreementTemplatePropose proposes a new version
// (POST /programmes/{id}/agreement-template).
func (s *Server) handleAgreementTemplatePropose(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	form := map[string]string{"bureau": r.PostFormValue("bureau"), "body": r.PostFormValue("body"), "reason": r.PostFormValue("reason")}
	err = s.DB.ProposeAgreementTemplate(r.Context(), actor(r), id, form["bureau"], form["body"], form["reason"])
	if e, ok := refused(err); ok {
		errs := ui.Errors{}
		if e.Field != "" {
			errs[e.Field] = e.Message
		}
		return s.renderAgreementTemplate(w, r, statusOf[e.Kind], id, form, errs, e.Message)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, agreementTemplatePath(id), "协议模板修改已提交审批人。")
}

// handleAgreementTemplateDecide approves or rejects a pending version
// (POST /agreement-templates/{id}/approve, /reject).
func (s *Server) handleAgreementTemplateDecide(approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		progID, err := s.DB.AgreementTemplateProgramme(r.Context(), id)
		if err != nil {
			return err
		}
		if err := s.DB.DecideAgreementTemplate(r.Context(), actor(r), id, approve); err != nil {
			if applications.ErrorKind(err) == applications.Forbidden {
				s.audit(r, audit.Event{Name: "maker_checker_refused", ObjectType: "programme", ObjectID: strconv.FormatInt(progID, 10), Outcome: audit.Refused})
			}
			return err
		}
		msg := "协议模板已生效；此后生成的协议使用新模板，已签署的协议不变。"
		if !approve {
			msg = "协议模板修改已退回。"
		}
		return s.redirectWithFlash(w, r, agreementTemplatePath(progID), msg)
	}
}
