package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/conversion"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// eligibilityRoutes: the programme's eligibility rules (申报条件, DOMAIN §3)
// and loss tolerance; the enterprise's figures they are checked against;
// staff's admission of an application that fails them.
func (s *Server) eligibilityRoutes() []route {
	return []route{
		{"POST", "/applications/{id}/eligibility", can(applications.ActionEditApplication), s.handleEligibilityUpdate},
		{"POST", "/applications/{id}/admit", can(applications.ActionAdmitApplication), s.handleAdmit},
		{"POST", "/applications/{id}/zone-confirm", can(applications.ActionFormalReview), s.handleZoneConfirm},
		{"POST", "/programmes/{id}/rules", can(applications.ActionManageProgrammes), s.handleProgrammeRules},
	}
}

// eligibilityPart is the application page's eligibility section.
func (s *Server) eligibilityPart(r *http.Request, a applications.Application, el postgres.Eligibility) *page.EligibilityPart {
	u := currentUser(r)
	editable := a.State == applications.StateDraft || a.State == applications.StateReturned
	return &page.EligibilityPart{AppID: a.ID, Rules: el.Rules, Facts: el.Facts, Failures: el.Failures, Admission: el.Admission,
		CanEdit:       u.Role.Can(applications.ActionEditApplication) && editable,
		CanAdmit:      u.Role.Can(applications.ActionAdmitApplication) && editable && len(el.Failures) > 0 && el.Admission == nil,
		ZoneConfirmed: el.ZoneConfirmed,
		CanConfirmZone: u.Role.Can(applications.ActionFormalReview) && a.State == applications.StateSubmitted && el.Facts.InZone &&
			el.ZoneConfirmed == nil}
}

// optionalAmount reads an optional amount field: invalid when empty.
func optionalAmount(field, v string) (decimal.NullDecimal, error) {
	if strings.TrimSpace(v) == "" {
		return decimal.NullDecimal{}, nil
	}
	d, err := optionalMoney(field, v)
	return decimal.NewNullDecimal(d), err
}

// handleEligibilityUpdate saves the founders' cash, total budget, paid-in
// capital and zone declaration (POST /applications/{id}/eligibility).
func (s *Server) handleEligibilityUpdate(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	f := applications.EligibilityFacts{InZone: r.PostFormValue("in_zone") == "1"}
	if f.FounderCash, err = optionalAmount("founder_cash", r.PostFormValue("founder_cash")); err == nil {
		if f.TotalBudget, err = optionalAmount("total_budget", r.PostFormValue("total_budget")); err == nil {
			if f.PaidInCapital, err = optionalAmount("paid_in_capital", r.PostFormValue("paid_in_capital")); err == nil {
				err = s.DB.SetApplicationFunding(r.Context(), actor(r), a.ID, f)
			}
		}
	}
	if err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#eligibility"), "申报条件信息已保存。")
}

// handleAdmit admits an application that fails a rule, with the reason
// (POST /applications/{id}/admit).
func (s *Server) handleAdmit(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if err := s.DB.AdmitApplication(r.Context(), actor(r), a.ID, r.PostFormValue("admit_reason")); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#eligibility"), "已准予申报，企业可以提交。")
}

// handleZoneConfirm is staff's confirmation at formal review of the
// enterprise's zone declaration (POST /applications/{id}/zone-confirm).
func (s *Server) handleZoneConfirm(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if err := s.DB.ConfirmZone(r.Context(), actor(r), a.ID); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#eligibility"), "已核实注册地在经开区。")
}

// handleProgrammeRules saves a programme's eligibility rules and loss
// tolerance (POST /programmes/{id}/rules).
func (s *Server) handleProgrammeRules(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rules := applications.ProgrammeRules{RequireInZone: r.PostFormValue("require_in_zone") == "1"}
	rules.Version, _ = atoiField(r.PostFormValue("version"))
	rules.MaxCompanyAgeYears, err = atoiField(r.PostFormValue("max_company_age_years"))
	if err != nil {
		err = applications.FieldError("max_company_age_years", "企业成立年限上限应为整数（年），不限则留空。")
	}
	if err == nil {
		rules.MinFounderCashPct, err = optionalAmount("min_founder_cash_pct", r.PostFormValue("min_founder_cash_pct"))
	}
	if err == nil {
		rules.LossTolerance = applications.DefaultLossTolerance
		if v := strings.TrimSpace(r.PostFormValue("loss_tolerance")); v != "" {
			if rules.LossTolerance, err = conversion.ParseMoney(v); err != nil {
				err = applications.FieldError("loss_tolerance", "容亏率应为 0–100 之间的数（%）。")
			}
		}
	}
	if err == nil {
		err = s.DB.UpdateProgrammeRules(r.Context(), actor(r), id, rules)
	}
	if e, ok := refused(err); ok {
		return s.renderProgrammeRulesError(w, r, id, e)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, "/programmes/"+strconv.FormatInt(id, 10), "申报条件与容亏率已保存。")
}

// atoiField reads an optional whole number: 0 when empty.
func atoiField(v string) (int, error) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, nil
	}
	return strconv.Atoi(v)
}

// renderProgrammeRulesError shows the programme page again with the
// refusal of its rules form.
func (s *Server) renderProgrammeRulesError(w http.ResponseWriter, r *http.Request, id int64, e *applications.Error) error {
	errs := ui.Errors{}
	addFieldError(errs, e)
	return s.renderProgrammeEdit(w, r, statusOf[e.Kind], id, errs, e.Message)
}

// renderProgrammeEdit is the programme's edit page with its rules form.
func (s *Server) renderProgrammeEdit(w http.ResponseWriter, r *http.Request, status int, id int64, rulesErrs ui.Errors, msg string) error {
	p, err := s.DB.FindProgramme(r.Context(), id)
	if err != nil {
		return err
	}
	rules, err := s.DB.ProgrammeRules(r.Context(), id)
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.ProgrammeFormPage(page.ProgrammeFormView{ID: id, Form: programmeForm(p),
		Rules: page.NewRulesForm(rules), RulesErrors: rulesErrs, FormError: msg}))
}
