package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// applicationRoutes: drafts, submission, withdrawal and the formal review of
// materials.
func (s *Server) applicationRoutes() []route {
	return []route{
		{"GET", "/applications", can(applications.ActionReadApplications).inMenu(navApplications, "申报受理").labelFor(enterprise, "我的申报").labelFor(trustee, "持股项目"), s.handleApplications},
		{"GET", "/applications/new", can(applications.ActionEditApplication), s.handleApplicationNew},
		{"POST", "/applications", can(applications.ActionEditApplication), s.handleApplicationCreate},
		{"GET", "/applications/{id}", can(applications.ActionReadApplications), s.handleApplicationShow},
		{"GET", "/applications/{id}/edit", can(applications.ActionEditApplication), s.handleApplicationEdit},
		{"POST", "/applications/{id}", can(applications.ActionEditApplication), s.handleApplicationUpdate},
		{"POST", "/applications/{id}/precheck", can(applications.ActionAskPrecheck), s.handlePrecheckAsk},
		{"POST", "/applications/{id}/submit", can(applications.ActionSubmitApplication), s.handleSubmit},
		{"POST", "/applications/{id}/withdraw", can(applications.ActionWithdrawApplication), s.handleWithdraw},
		{"POST", "/applications/{id}/comments", can(applications.ActionCommentApplication), s.handleComment},
		{"POST", "/applications/{id}/liaison", can(applications.ActionAssignLiaison), s.handleLiaison},
		{"POST", "/applications/{id}/materials/{item}/review", can(applications.ActionFormalReview), s.handleMaterialReview},
		{"POST", "/applications/{id}/materials/accept-all", can(applications.ActionFormalReview), s.handleMaterialAcceptAll},
		{"POST", "/applications/{id}/review/{outcome}", can(applications.ActionFormalReview), s.handleReviewOutcome},
	}
}

// loadApplication finds an application the caller may see. An enterprise
// user asking for another enterprise's application gets 404 (not 403: the
// record's existence is not theirs to learn) and an audit row; experts see
// only applications assigned to them (none before review is set up); a
// trustee only its platform's projects that went through conversion.
func (s *Server) loadApplication(r *http.Request) (applications.Application, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return applications.Application{}, err
	}
	a, err := s.DB.FindApplication(r.Context(), id)
	if err != nil {
		return a, err
	}
	return a, s.checkApplicationAccess(r, a)
}

func (s *Server) checkApplicationAccess(r *http.Request, a applications.Application) error {
	u := currentUser(r)
	notYours := applications.Errorf(applications.NotFound, "申报不存在或您无权查看。")
	switch u.Role {
	case enterprise:
		if u.EnterpriseID == 0 || a.EnterpriseID != u.EnterpriseID {
			s.audit(r, audit.Event{Name: "access_refused", ObjectType: "application",
				ObjectID: strconv.FormatInt(a.ID, 10), Outcome: audit.Refused,
				Detail: map[string]any{"reason": "other_enterprise"}})
			return notYours
		}
	case trustee:
		// DOMAIN §2: the platform's projects from conversion on; nothing
		// of an application before, nor of another platform's programme.
		held, err := s.DB.HeldByPlatform(r.Context(), a.ID, u.Platform)
		if err != nil {
			return err
		}
		if !held {
			s.audit(r, audit.Event{Name: "access_refused", ObjectType: "application",
				ObjectID: strconv.FormatInt(a.ID, 10), Outcome: audit.Refused,
				Detail: map[string]any{"reason": "not_held_by_platform"}})
			return notYours
		}
	case expert:
		// Only after declaring no conflict, and only for their panels.
		x, err := s.DB.FindAssignment(r.Context(), a.ID, u.ID)
		if err != nil || (x.Status != applications.AssignmentDeclared && x.Status != applications.AssignmentSubmitted) {
			return notYours
		}
	}
	return nil
}

// nextStep tells an enterprise what its application needs next.
func nextStep(a applications.Application) string {
	switch a.State {
	case applications.StateDraft:
		return "完善申报内容，上传全部必需材料后提交"
	case applications.StateReturned:
		return "按退回原因补正材料后重新提交"
	case applications.StateSubmitted:
		return "等待形式审查"
	case applications.StateUnderReview:
		return "专家评审中，请耐心等待"
	case applications.StateReviewed:
		return "等待立项决定"
	case applications.StateApproved:
		return "公示中"
	}
	if a.State.Terminal() {
		return "已办结"
	}
	return "按协议执行"
}

// handleApplications is "my applications" for enterprises and the queue
// for staff, approvers and auditors (GET /applications).
func (s *Server) handleApplications(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	if u.Role == enterprise { // not a permission: the enterprise's own list, not the bureau's queue
		return s.handleMyApplications(w, r)
	}
	q := r.URL.Query()
	// The trustee's list is its platform's holdings (Platform is "" for
	// the bureau, who see every application).
	f := postgres.QueueFilter{Search: q.Get("q"), Limit: 50, Platform: u.Platform}
	if u.Role == trustee && u.Platform == "" {
		return applications.Errorf(applications.Forbidden, "您的账号尚未绑定受托管理机构，请联系系统管理员。")
	}
	f.ProgrammeID, _ = strconv.ParseInt(q.Get("programme"), 10, 64)
	f.LiaisonID, _ = strconv.ParseInt(q.Get("liaison"), 10, 64)
	if st, err := applications.ParseState(q.Get("state")); err == nil {
		f.State = st
	}
	if sec, err := applications.ParseSector(q.Get("sector")); err == nil {
		f.Sector = sec
	}
	if after := q.Get("after"); after != "" {
		// cursor: <unix micro>_<id>
		ts, id, ok := strings.Cut(after, "_")
		micros, err1 := strconv.ParseInt(ts, 10, 64)
		aid, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return applications.Errorf(applications.Invalid, "翻页参数无效，请从第一页重新浏览。")
		}
		f.AfterTime, f.AfterID = time.UnixMicro(micros), aid
	}
	apps, err := s.DB.ListApplications(r.Context(), f)
	if err != nil {
		return err
	}
	v := page.QueueView{Applications: apps, Now: s.Now().Unix(),
		Filter: map[string]string{"programme": q.Get("programme"), "state": q.Get("state"), "sector": q.Get("sector"),
			"liaison": q.Get("liaison"), "q": q.Get("q")}}
	if len(apps) == f.Limit {
		last := apps[len(apps)-1]
		next := url.Values{}
		for k, val := range v.Filter {
			if val != "" {
				next.Set(k, val)
			}
		}
		next.Set("after", strconv.FormatInt(last.StateChangedAt.UnixMicro(), 10)+"_"+strconv.FormatInt(last.ID, 10))
		v.NextURL = "/applications?" + next.Encode()
	}
	if v.Programmes, err = s.programmeOptions(r, "全部批次"); err != nil {
		return err
	}
	v.States = []ui.Option{{Value: "", Label: "全部状态"}}
	for _, st := range applications.AllStates() {
		v.States = append(v.States, ui.Option{Value: string(st), Label: st.Label()})
	}
	v.Sectors = append([]ui.Option{{Value: "", Label: "全部领域"}}, sectorOptions()...)
	if v.Liaisons, err = s.staffOptions(r, "全部对接人"); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Queue(v))
}

func (s *Server) handleMyApplications(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	if u.EnterpriseID == 0 {
		return applications.Errorf(applications.Forbidden, "您的账号尚未绑定企业，请联系系统管理员。")
	}
	apps, err := s.DB.ListApplications(r.Context(), postgres.QueueFilter{EnterpriseID: u.EnterpriseID, Limit: 200})
	if err != nil {
		return err
	}
	next := map[int64]string{}
	for _, a := range apps {
		next[a.ID] = nextStep(a)
	}
	open, err := s.DB.ListProgrammes(r.Context(), true)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.MyApplications(page.MyApplicationsView{
		Applications: apps, NextStep: next, CanCreate: u.Role.Can(applications.ActionEditApplication) && len(open) > 0}))
}

func sectorOptions() []ui.Option {
	var opts []ui.Option
	for _, s := range applications.AllSectors() {
		opts = append(opts, ui.Option{Value: string(s), Label: s.Label()})
	}
	return opts
}

func (s *Server) programmeOptions(r *http.Request, all string) ([]ui.Option, error) {
	ps, err := s.listProgrammes(r, all == "")
	if err != nil {
		return nil, err
	}
	var opts []ui.Option
	if all != "" {
		opts = append(opts, ui.Option{Value: "", Label: all})
	}
	for _, p := range ps {
		opts = append(opts, ui.Option{Value: strconv.FormatInt(p.ID, 10), Label: p.Name})
	}
	return opts, nil
}

func (s *Server) staffOptions(r *http.Request, none string) ([]ui.Option, error) {
	// Only staff, not every user: a zone with tens of thousands of
	// enterprise accounts must not load them all for a drop-down.
	staffers, err := s.listStaffMembers(r)
	if err != nil {
		return nil, err
	}
	opts := []ui.Option{{Value: "", Label: none}}
	for _, m := range staffers {
		opts = append(opts, ui.Option{Value: strconv.FormatInt(m.ID, 10), Label: m.Name})
	}
	return opts, nil
}

// blankApplicationForm has empty rows for budget lines and milestones.
func blankApplicationForm() page.ApplicationForm {
	return padRows(page.ApplicationForm{})
}

// padRows leaves a few empty rows to type into.
func padRows(f page.ApplicationForm) page.ApplicationForm {
	for len(f.BudgetItems) < 8 {
		f.BudgetItems, f.BudgetAmounts = append(f.BudgetItems, ""), append(f.BudgetAmounts, "")
	}
	for len(f.MilestoneDates) < 5 {
		f.MilestoneDates, f.MilestoneTexts = append(f.MilestoneDates, ""), append(f.MilestoneTexts, "")
	}
	return f
}

func applicationForm(a applications.Application) page.ApplicationForm {
	f := page.ApplicationForm{ProgrammeID: strconv.FormatInt(a.ProgrammeID, 10), Title: a.Title, Sector: string(a.Sector),
		RequestedAmount: conversion.FormatMoney(a.RequestedAmount), Summary: a.Content.Summary,
		Technology: a.Content.Technology, Team: a.Content.Team, Market: a.Content.Market,
		LeadName: a.LeadName, LeadMobile: a.LeadMobile, Version: strconv.Itoa(a.Version)}
	for _, l := range a.Content.Budget {
		f.BudgetItems = append(f.BudgetItems, l.Item)
		f.BudgetAmounts = append(f.BudgetAmounts, conversion.FormatMoney(l.Amount))
	}
	for _, m := range a.Content.Milestones {
		f.MilestoneDates = append(f.MilestoneDates, m.Date)
		f.MilestoneTexts = append(f.MilestoneTexts, m.Description)
	}
	return padRows(f)
}

// parseApplicationForm reads the form into the typed values (to show back)
// and an Application (to validate and save).
func parseApplicationForm(r *http.Request) (page.ApplicationForm, applications.Application, ui.Errors) {
	_ = r.ParseForm()
	v := r.PostForm
	errs := ui.Errors{}
	f := page.ApplicationForm{ProgrammeID: v.Get("programme_id"), Title: strings.TrimSpace(v.Get("title")),
		Sector: v.Get("sector"), RequestedAmount: strings.TrimSpace(v.Get("requested_amount")),
		Summary: v.Get("summary"), Technology: v.Get("technology"), Team: v.Get("team"), Market: v.Get("market"),
		LeadName: strings.TrimSpace(v.Get("lead_name")), LeadMobile: strings.TrimSpace(v.Get("lead_mobile")),
		BudgetItems: v["budget_item"], BudgetAmounts: v["budget_amount"],
		MilestoneDates: v["milestone_date"], MilestoneTexts: v["milestone_text"], Version: v.Get("version")}
	a := applications.Application{Title: f.Title, Sector: applications.Sector(f.Sector), LeadName: f.LeadName,
		LeadMobile: applications.NormalizeMobile(f.LeadMobile),
		Content:    applications.Content{Summary: f.Summary, Technology: f.Technology, Team: f.Team, Market: f.Market}}
	a.ProgrammeID, _ = strconv.ParseInt(f.ProgrammeID, 10, 64)
	a.Version, _ = strconv.Atoi(f.Version)
	if d, err := applications.ParseAmount(f.RequestedAmount); err == nil {
		a.RequestedAmount = d
	} else {
		errs["requested_amount"] = "申请金额（元）：" + applications.ErrorMessage(err)
	}
	for i := range f.BudgetItems {
		item, amount := strings.TrimSpace(f.BudgetItems[i]), strings.TrimSpace(at(f.BudgetAmounts, i))
		if item == "" && amount == "" {
			continue
		}
		d, err := applications.ParseAmount(amount)
		if err != nil {
			errs["budget"] = "预算明细“" + item + "”的金额：" + applications.AmountMessage
			continue
		}
		a.Content.Budget = append(a.Content.Budget, applications.BudgetLine{Item: item, Amount: d})
	}
	for i := range f.MilestoneDates {
		date, text := strings.TrimSpace(f.MilestoneDates[i]), strings.TrimSpace(at(f.MilestoneTexts, i))
		if date == "" && text == "" {
			continue
		}
		a.Content.Milestones = append(a.Content.Milestones, applications.Milestone{Date: date, Description: text})
	}
	return padRows(f), a, errs
}

// handleApplicationNew shows the create form (GET /applications/new).
func (s *Server) handleApplicationNew(w http.ResponseWriter, r *http.Request) error {
	return s.renderApplicationForm(w, r, http.StatusOK, 0, blankApplicationForm(), nil, "")
}

func (s *Server) renderApplicationForm(w http.ResponseWriter, r *http.Request, status int, id int64, f page.ApplicationForm, errs ui.Errors, msg string) error {
	v := page.ApplicationFormView{ID: id, Form: f, Errors: errs, FormError: msg,
		Sectors: append([]ui.Option{{Value: "", Label: "请选择"}}, sectorOptions()...)}
	if id == 0 {
		opts, err := s.programmeOptions(r, "")
		if err != nil {
			return err
		}
		if len(opts) == 0 {
			return applications.Errorf(applications.Conflict, "当前没有开放申报的批次，请留意经开区科技人才局的通知。")
		}
		v.Programmes = opts
	}
	return s.render(w, r, status, page.ApplicationFormPage(v))
}

// handleApplicationCreate saves a new draft (POST /applications).
func (s *Server) handleApplicationCreate(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	if u.EnterpriseID == 0 {
		return applications.Errorf(applications.Forbidden, "您的账号尚未绑定企业，请联系系统管理员。")
	}
	f, a, errs := parseApplicationForm(r)
	a.EnterpriseID = u.EnterpriseID
	if len(errs) == 0 {
		created, err := s.DB.CreateApplication(r.Context(), actor(r), a)
		if err == nil {
			return s.redirectWithFlash(w, r, applicationPath(created.ID, ""), "申报草稿已保存。请继续上传材料。")
		}
		if applications.ErrorKind(err) == applications.Conflict {
			return s.renderApplicationForm(w, r, http.StatusConflict, 0, f, errs, applications.ErrorMessage(err))
		}
		if !addFieldError(errs, err) {
			return err
		}
	}
	return s.renderApplicationForm(w, r, http.StatusUnprocessableEntity, 0, f, errs, "请按提示修改后重新保存。")
}

// handleApplicationEdit shows the edit form (GET /applications/{id}/edit).
func (s *Server) handleApplicationEdit(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if a.State != applications.StateDraft && a.State != applications.StateReturned {
		return applications.Errorf(applications.Conflict, "申报当前状态为「%s」，不能修改。", a.State.Label())
	}
	return s.renderApplicationForm(w, r, http.StatusOK, a.ID, applicationForm(a), nil, "")
}

// handleApplicationUpdate saves an edit, refusing a stale version
// (POST /applications/{id}).
func (s *Server) handleApplicationUpdate(w http.ResponseWriter, r *http.Request) error {
	cur, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	f, a, errs := parseApplicationForm(r)
	a.ID, a.ProgrammeID = cur.ID, cur.ProgrammeID
	if len(errs) == 0 {
		_, err := s.DB.UpdateDraft(r.Context(), actor(r), a)
		if err == nil {
			return s.redirectWithFlash(w, r, applicationPath(a.ID, ""), "已保存。")
		}
		if applications.ErrorKind(err) == applications.Conflict {
			return s.renderApplicationForm(w, r, http.StatusConflict, a.ID, f, errs, applications.ErrorMessage(err))
		}
		if !addFieldError(errs, err) {
			return err
		}
	}
	return s.renderApplicationForm(w, r, http.StatusUnprocessableEntity, a.ID, f, errs, "请按提示修改后重新保存。")
}

// handleApplicationShow is the application page: summary, checklist with
// uploads or review controls, content, comments and timeline
// (GET /applications/{id}). A cached page: ended notices are closed before
// it is asked for (sweepFirst, pagecache.go).
func (s *Server) handleApplicationShow(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	return s.renderApplication(w, r, http.StatusOK, a, "")
}

func (s *Server) renderApplication(w http.ResponseWriter, r *http.Request, status int, a applications.Application, msg string) error {
	ctx := r.Context()
	u := currentUser(r)
	// One programme read serves the checklist and the review section; the
	// documents, verdicts, timeline, comments, information requests,
	// eligibility, panel, decisions, scores, objections, minutes and loss
	// checks come in one round trip.
	p, err := s.findProgramme(r, a.ProgrammeID)
	if err != nil {
		return err
	}
	act, err := s.DB.ApplicationActivity(ctx, a.ID, activityParts(u, a))
	if err != nil {
		return err
	}
	items, timeline, comments := applications.BuildChecklist(p, act.Documents, act.Verdicts), act.Timeline, act.Comments
	editable := a.State == applications.StateDraft || a.State == applications.StateReturned
	v := page.ApplicationView{App: a, Items: items, Timeline: timeline, Comments: comments, Error: msg,
		CanEdit:        u.Role.Can(applications.ActionEditApplication) && editable,
		CanSubmit:      u.Role.Can(applications.ActionSubmitApplication) && applications.CanTransition(a.State, applications.StateSubmitted),
		CanWithdraw:    u.Role.Can(applications.ActionWithdrawApplication) && applications.CanTransition(a.State, applications.StateWithdrawn),
		CanAskPrecheck: u.Role.Can(applications.ActionAskPrecheck) && editable && a.PrecheckAsked.IsZero(),
		CanReview:      u.Role.Can(applications.ActionFormalReview) && a.State == applications.StateSubmitted,
		CanComment:     u.Role.Can(applications.ActionCommentApplication) && !a.State.Terminal(),
		CanAssign:      u.Role.Can(applications.ActionAssignLiaison) && !a.State.Terminal(),
		ShowVersions:   u.Role != enterprise, // not a permission: the bureau sees earlier versions of a material
		MaxUploadMiB:   s.maxUpload() >> 20,
	}
	if u.Role == trustee {
		// DOMAIN §2: the platform never sees ID copies or credit reports
		// (handleDocument refuses them too); the row stays, its file goes.
		v.Withheld = true
		for i := range v.Items {
			if v.Items[i].Material.Sensitive() {
				v.Items[i].Current, v.Items[i].Versions = nil, nil
			}
		}
	}
	if v.CanAssign {
		if v.StaffOptions, err = s.staffOptions(r, "（未指定）"); err != nil {
			return err
		}
	}
	v.Info.Requests = act.InfoRequests
	v.Info.Today, v.Info.MaxMiB = day.Today(s.Now()), s.maxUpload()>>20
	v.Info.CanAsk = u.Role.Can(applications.ActionAskInformation) && !a.State.Terminal()
	v.Info.CanAnswer = u.Role.Can(applications.ActionAnswerInformation) && !a.State.Terminal()
	if v.Review, err = s.reviewPart(r, a, p, act); err != nil {
		return err
	}
	v.Eligibility = s.eligibilityPart(r, a, act.Eligibility)
	switch {
	// The enterprise sees the money it received (its own 资金到位 section,
	// not a permission: what of the data it sees); readers of the ledger
	// get the disbursement plan and its forms.
	case u.Role == enterprise && signed(a.State):
		plan, err := s.DB.DisbursementPlan(ctx, a.ID)
		if err != nil {
			return err
		}
		funds := page.NewReceivedFunds(plan)
		v.ReceivedFunds = &funds
	case u.Role.Can(applications.ActionReadLedger) && signed(a.State):
		part, err := s.DisbursementPart(r, a)
		if err != nil {
			return err
		}
		v.Disbursement = &part
	}
	return s.render(w, r, status, page.ApplicationShow(v))
}

// signed reports whether an application in state s has had an agreement
// signed: its disbursements are shown from then on (the form to record
// one only while the plan is open), and the enterprise always sees the
// money it received, not least while it is being recovered.
func signed(s applications.State) bool {
	switch s {
	case applications.StateContracted, applications.StateFunded, applications.StateConversionDue,
		applications.StateConverted, applications.StateExiting, applications.StateExited, applications.StateLapsed,
		applications.StateClosedGrant, applications.StateRecovery, applications.StateRecovered, applications.StateWrittenOff:
		return true
	}
	return false
}

// transition runs a state change for the route's application and
// redirects back to it with a flash; a refusal re-renders the page with
// the reason and 409.
func (s *Server) transition(w http.ResponseWriter, r *http.Request, to applications.State, reason, done string, check postgres.TransitionCheck) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	_, err = s.DB.TransitionApplication(r.Context(), actor(r), a.ID, to, reason, check)
	if e, ok := refused(err); ok {
		return s.renderApplication(w, r, statusOf[e.Kind], a, e.Message)
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, ""), done)
}

// handleSubmit submits a complete application (POST /applications/{id}/submit).
func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) error {
	return s.transition(w, r, applications.StateSubmitted, "企业提交申报", "已提交，等待形式审查。", s.DB.SubmitEligibleCheck)
}

// handleWithdraw withdraws an application (POST /applications/{id}/withdraw).
func (s *Server) handleWithdraw(w http.ResponseWriter, r *http.Request) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "企业主动撤回"
	}
	return s.transition(w, r, applications.StateWithdrawn, reason, "申报已撤回。", nil)
}

// handleReviewOutcome ends formal review: return for correction, accept
// into expert review, or reject (POST /applications/{id}/review/{outcome}).
func (s *Server) handleReviewOutcome(w http.ResponseWriter, r *http.Request) error {
	switch chiParam(r, "outcome") {
	case "return":
		return s.transition(w, r, applications.StateReturned, "形式审查：材料退回补正", "已退回企业补正，企业可看到每项退回原因。", postgres.ReviewOutcomeCheck(false))
	case "accept":
		return s.transition(w, r, applications.StateUnderReview, "形式审查通过", "形式审查已通过，进入专家评审。", postgres.ReviewOutcomeCheck(true))
	case "reject":
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" {
			a, err := s.loadApplication(r)
			if err != nil {
				return err
			}
			return s.renderApplication(w, r, http.StatusUnprocessableEntity, a, "不予立项须写明理由。")
		}
		return s.transition(w, r, applications.StateRejected, reason, "已作出不予立项决定。", nil)
	}
	return applications.Errorf(applications.NotFound, "页面不存在。")
}

// handleMaterialReview accepts or returns one item
// (POST /applications/{id}/materials/{item}/review). An htmx request
// (HX-Request) is answered with the item's checklist row alone, the
// refusal shown in it; a plain form post with the page (a 303 back to
// the item, or the page with the refusal).
func (s *Server) handleMaterialReview(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	item, err := applications.ParseMaterial(chiParam(r, "item"))
	if err != nil {
		return err
	}
	accept := r.PostFormValue("decision") == "accept"
	err = s.DB.ReviewMaterial(r.Context(), actor(r), a.ID, item, accept, strings.TrimSpace(r.PostFormValue("reason")))
	e, isRefusal := refused(err)
	if err != nil && !isRefusal {
		return err
	}
	if r.Header.Get("HX-Request") == "true" {
		msg := ""
		if isRefusal {
			msg = e.Message
		}
		return s.renderChecklistRow(w, r, a.ID, item, msg)
	}
	if isRefusal {
		return s.renderApplication(w, r, statusOf[e.Kind], a, e.Message)
	}
	msg := "「" + item.Label() + "」已标记为通过。"
	if !accept {
		msg = "「" + item.Label() + "」已标记为退回。审查完所有材料后，请点击“退回补正”通知企业。"
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#item-"+string(item)), msg)
}

// checklist loads a's programme and its checklist under that programme.
func (s *Server) checklist(r *http.Request, a applications.Application) (applications.Programme, []applications.ChecklistItem, error) {
	p, err := s.findProgramme(r, a.ProgrammeID)
	if err != nil {
		return p, nil, err
	}
	items, err := s.DB.Checklist(r.Context(), a, p)
	return p, items, err
}

// renderChecklistRow answers an htmx review with the item's row as it now
// stands (status 200, so htmx swaps it in, with msg shown when the review
// was refused).
func (s *Server) renderChecklistRow(w http.ResponseWriter, r *http.Request, appID int64, item applications.Material, msg string) error {
	ctx := r.Context()
	a, err := s.DB.FindApplication(ctx, appID)
	if err != nil {
		return err
	}
	_, items, err := s.checklist(r, a)
	if err != nil {
		return err
	}
	v := page.ApplicationView{App: a, CanReview: a.State == applications.StateSubmitted, ShowVersions: true,
		MaxUploadMiB: s.maxUpload() >> 20}
	for _, it := range items {
		if it.Material == item {
			return s.render(w, r, http.StatusOK, page.ChecklistRowError(v, it, msg))
		}
	}
	return applications.Errorf(applications.NotFound, "材料项目不存在，请从材料清单中选择。")
}

// handleMaterialAcceptAll accepts every item not judged yet in one step
// (POST /applications/{id}/materials/accept-all).
func (s *Server) handleMaterialAcceptAll(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	done, err := s.DB.AcceptRemainingMaterials(r.Context(), actor(r), a.ID)
	if e, ok := refused(err); ok {
		return s.renderApplication(w, r, statusOf[e.Kind], a, e.Message)
	} else if err != nil {
		return err
	}
	msg := "没有待审查的材料。"
	if len(done) > 0 {
		msg = fmt.Sprintf("其余 %d 项材料已全部标记为通过。", len(done))
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#review-outcome"), msg)
}

// handlePrecheckAsk asks the liaison for a pre-check
// (POST /applications/{id}/precheck).
func (s *Server) handlePrecheckAsk(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	if err := s.DB.AskPrecheck(r.Context(), actor(r), a.ID); applications.ErrorKind(err) == applications.Conflict {
		return s.renderApplication(w, r, http.StatusConflict, a, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, ""), "已申请预审，对接人会在本页给出逐项意见。")
}

// handleComment adds a liaison's coaching comment
// (POST /applications/{id}/comments).
func (s *Server) handleComment(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	var item applications.Material
	if v := r.PostFormValue("item"); v != "" {
		if item, err = applications.ParseMaterial(v); err != nil {
			return err
		}
	}
	if err := s.DB.AddComment(r.Context(), actor(r), a.ID, item, r.PostFormValue("body")); applications.ErrorKind(err) == applications.Invalid {
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, a, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, "#comments"), "意见已发送，企业可在申报页面看到。")
}

// handleLiaison assigns the liaison officer (POST /applications/{id}/liaison).
func (s *Server) handleLiaison(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	staffID, err := formID(r, "liaison_id")
	if err != nil || staffID == 0 {
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, a, "请选择对接人。")
	}
	if err := s.DB.SetLiaison(r.Context(), actor(r), a.ID, staffID); applications.ErrorKind(err) == applications.Invalid {
		return s.renderApplication(w, r, http.StatusUnprocessableEntity, a, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	return s.redirectWithFlash(w, r, applicationPath(a.ID, ""), "已指定对接人。")
}

// refuse re-renders the application page with a domain refusal; other
// errors go to the error page. Maker-checker refusals are audit-logged.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, appID int64, err error) error {
	k := applications.ErrorKind(err)
	if k == applications.Forbidden {
		s.audit(r, audit.Event{Name: "maker_checker_refused", ObjectType: "application", ObjectID: strconv.FormatInt(appID, 10),
			Outcome: audit.Refused, Detail: map[string]any{"path": r.URL.Path}})
	}
	if k != applications.Conflict && k != applications.Invalid && k != applications.Forbidden {
		return err
	}
	a, ferr := s.DB.FindApplication(r.Context(), appID)
	if ferr != nil {
		return err
	}
	return s.renderApplication(w, r, statusOf[k], a, applications.ErrorMessage(err))
}
