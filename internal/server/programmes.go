package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/web/page"
	"ite/web/ui"
)

// programmeRoutes: the calls for applications and their settings.
func (s *Server) programmeRoutes() []route {
	return []route{
		{"GET", "/programmes", can(applications.ActionReadProgrammes).inMenu(navProgrammes, "申报批次"), s.handleProgrammes},
		{"GET", "/programmes/new", can(applications.ActionManageProgrammes), s.handleProgrammeNew},
		{"POST", "/programmes", can(applications.ActionManageProgrammes), s.handleProgrammeCreate},
		{"GET", "/programmes/{id}", can(applications.ActionManageProgrammes), s.handleProgrammeEdit},
		{"POST", "/programmes/{id}", can(applications.ActionManageProgrammes), s.handleProgrammeUpdate},
	}
}

// handleProgrammes lists programmes (GET /programmes).
func (s *Server) handleProgrammes(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.DB.ListProgrammes(r.Context(), false)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Programmes(page.ProgrammesView{Programmes: ps, CanEdit: currentUser(r).Role.Can(applications.ActionManageProgrammes)}))
}

// handleProgrammeNew shows the form with every default (GET /programmes/new).
func (s *Server) handleProgrammeNew(w http.ResponseWriter, r *http.Request) error {
	now := s.Now()
	p := applications.NewProgramme(now.Year(), now)
	p.Name = strconv.Itoa(now.Year()) + "年度经开区“先投后股”科技项目"
	return s.render(w, r, http.StatusOK, page.ProgrammeFormPage(page.ProgrammeFormView{Form: programmeForm(p)}))
}

// handleProgrammeCreate saves a new programme (POST /programmes).
func (s *Server) handleProgrammeCreate(w http.ResponseWriter, r *http.Request) error {
	form, p, errs := parseProgrammeForm(r)
	if form.TermsEdit {
		return s.render(w, r, http.StatusOK, page.ProgrammeFormPage(page.ProgrammeFormView{Form: form}))
	}
	if len(errs) == 0 {
		created, err := s.DB.CreateProgramme(r.Context(), actor(r), p)
		if err == nil {
			return s.redirectWithFlash(w, r, "/programmes", "已创建申报批次“"+created.Name+"”。")
		}
		if !addFieldError(errs, err) {
			return err
		}
	}
	return s.render(w, r, http.StatusUnprocessableEntity, page.ProgrammeFormPage(page.ProgrammeFormView{
		Form: form, Errors: errs, FormError: "请按提示修改后重新保存。"}))
}

// handleProgrammeEdit shows a programme's settings (GET /programmes/{id}).
func (s *Server) handleProgrammeEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.renderProgrammeEdit(w, r, http.StatusOK, id, nil, "")
}

// handleProgrammeUpdate saves edited settings (POST /programmes/{id}).
func (s *Server) handleProgrammeUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	form, p, errs := parseProgrammeForm(r)
	p.ID = id
	if form.TermsEdit {
		return s.render(w, r, http.StatusOK, page.ProgrammeFormPage(page.ProgrammeFormView{ID: id, Form: form}))
	}
	status := http.StatusUnprocessableEntity
	formErr := "请按提示修改后重新保存。"
	if len(errs) == 0 {
		_, err := s.DB.UpdateProgramme(r.Context(), actor(r), p)
		if err == nil {
			return s.redirectWithFlash(w, r, "/programmes", "已保存申报批次设置。")
		}
		switch applications.ErrorKind(err) {
		case applications.Conflict:
			status, formErr = http.StatusConflict, applications.ErrorMessage(err)
		case applications.Invalid:
			addFieldError(errs, err)
		default:
			return err
		}
	}
	return s.render(w, r, status, page.ProgrammeFormPage(page.ProgrammeFormView{ID: id, Form: form, Errors: errs, FormError: formErr}))
}

func programmeForm(p applications.Programme) page.ProgrammeForm {
	f := page.ProgrammeForm{
		Name: p.Name, Year: strconv.Itoa(p.Year), Status: string(p.Status),
		OpensOn: p.OpensOn.Format(time.DateOnly), ClosesOn: p.ClosesOn.Format(time.DateOnly),
		TotalBudget: moneyOrEmpty(p.TotalBudget), ProjectCap: moneyOrEmpty(p.ProjectCap),
		CapOverride: p.CapOverrideAllowed, Sectors: map[string]bool{}, Materials: map[string]bool{},
		CreditMaxAge: strconv.Itoa(p.CreditReportMaxAgeDays), PanelSize: strconv.Itoa(p.PanelSize),
		PassScore: p.PassScore.String(), Aggregation: p.Aggregation, NoticeDays: strconv.Itoa(p.NoticeWorkingDays),
		HoldingPlatform: p.HoldingPlatform, HoldingPlatformUSCC: p.HoldingPlatformUSCC, Version: strconv.Itoa(p.Version),
		SpecialAudit: p.RequiresSpecialAudit,
	}
	if t, err := applications.ParseTerms(p.TermsTemplate); err == nil {
		f.Terms = applications.TermsFormOf(t)
	}
	for _, s := range p.Sectors {
		f.Sectors[string(s)] = true
	}
	for _, m := range p.RequiredMaterials {
		f.Materials[string(m)] = true
	}
	for _, c := range p.Criteria {
		f.Criteria = append(f.Criteria, page.CriterionForm{Code: c.Code, Name: c.Name, Weight: c.Weight.String()})
	}
	for len(f.Criteria) < 7 { // spare rows for added criteria
		f.Criteria = append(f.Criteria, page.CriterionForm{})
	}
	return f
}

// parseProgrammeForm reads the form. Parse problems become field errors;
// rules are then checked by Programme.Validate in the store.
func parseProgrammeForm(r *http.Request) (page.ProgrammeForm, applications.Programme, ui.Errors) {
	_ = r.ParseForm()
	errs := ui.Errors{}
	v := r.PostForm
	f := page.ProgrammeForm{
		Name: strings.TrimSpace(v.Get("name")), Year: v.Get("year"), Status: v.Get("status"),
		OpensOn: v.Get("opens_on"), ClosesOn: v.Get("closes_on"), TotalBudget: strings.TrimSpace(v.Get("total_budget")),
		ProjectCap: strings.TrimSpace(v.Get("project_cap")), CapOverride: v.Get("cap_override") == "1",
		Sectors: map[string]bool{}, Materials: map[string]bool{},
		CreditMaxAge: v.Get("credit_report_max_age_days"), PanelSize: v.Get("panel_size"),
		PassScore: v.Get("pass_score"), Aggregation: v.Get("aggregation"), NoticeDays: v.Get("notice_working_days"),
		HoldingPlatform: strings.TrimSpace(v.Get("holding_platform")), HoldingPlatformUSCC: applications.NormalizeUSCC(v.Get("holding_platform_uscc")), Version: v.Get("version"),
		SpecialAudit: v.Get("requires_special_audit") == "1",
	}
	raw, terms, terrs, edit := parseTerms(r, applications.TermsContext{})
	f.Terms, f.TermsEdit = terms, edit
	for k, m := range terrs {
		errs[k] = m
	}
	p := applications.Programme{Name: f.Name, Status: applications.ProgrammeStatus(f.Status),
		CapOverrideAllowed: f.CapOverride, Aggregation: f.Aggregation, HoldingPlatform: f.HoldingPlatform, HoldingPlatformUSCC: f.HoldingPlatformUSCC,
		TermsTemplate: json.RawMessage(raw), RequiresSpecialAudit: f.SpecialAudit}
	atoi := func(field, s string) int {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			errs[field] = "请填写整数。"
		}
		return n
	}
	p.Year = atoi("year", f.Year)
	p.CreditReportMaxAgeDays = atoi("credit_report_max_age_days", f.CreditMaxAge)
	p.PanelSize = atoi("panel_size", f.PanelSize)
	p.NoticeWorkingDays = atoi("notice_working_days", f.NoticeDays)
	p.Version, _ = strconv.Atoi(f.Version)
	date := func(field, s string) time.Time {
		d, err := day.Parse(s)
		if err != nil {
			errs[field] = "请填写日期（年-月-日）。"
		}
		return d
	}
	p.OpensOn, p.ClosesOn = date("opens_on", f.OpensOn), date("closes_on", f.ClosesOn)
	money := func(field, s string) decimal.Decimal {
		d, err := applications.ParseAmount(s)
		if err != nil {
			errs[field] = applications.AmountMessage
		}
		return d
	}
	p.TotalBudget, p.ProjectCap = money("total_budget", f.TotalBudget), money("project_cap", f.ProjectCap)
	if d, err := decimal.NewFromString(strings.TrimSpace(f.PassScore)); err == nil {
		p.PassScore = d
	} else {
		errs["pass_score"] = "请填写 0–100 的分数。"
	}
	for _, s := range v["sectors"] {
		f.Sectors[s] = true
		p.Sectors = append(p.Sectors, applications.Sector(s))
	}
	for _, m := range v["materials"] {
		f.Materials[m] = true
		p.RequiredMaterials = append(p.RequiredMaterials, applications.Material(m))
	}
	codes, names, weights := v["criterion_code"], v["criterion_name"], v["criterion_weight"]
	for i := range codes {
		c := page.CriterionForm{Code: strings.TrimSpace(codes[i]), Name: strings.TrimSpace(at(names, i)), Weight: strings.TrimSpace(at(weights, i))}
		f.Criteria = append(f.Criteria, c)
		if c.Code == "" && c.Name == "" && c.Weight == "" {
			continue
		}
		w, err := decimal.NewFromString(c.Weight)
		if err != nil {
			errs["criteria"] = "评审标准分值须为数字。"
			continue
		}
		p.Criteria = append(p.Criteria, applications.Criterion{Code: c.Code, Name: c.Name, Weight: w})
	}
	return f, p, errs
}
