package server

import (
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/conversion"
	"ite/internal/postgres"
	"ite/web/layout"
	"ite/web/page"
	"ite/web/ui"
)

func init() {
	layout.AddNav(layout.NavItem{Label: "专家库", Href: "/experts"}, staff, admin)
	layout.AddNav(layout.NavItem{Label: "我的评审", Href: "/reviews"}, expert)
	layout.AddNav(layout.NavItem{Label: "立项公示", Href: "/notices"}, staff, approver, enterprise, auditor)
	layout.AddNav(layout.NavItem{Label: "节假日", Href: "/calendar"}, admin, staff)
	layout.AddNav(layout.NavItem{Label: "消息", Href: "/inbox"}, applications.AllRoles()...)
}

// reviewRoutes: expert pool, panels, scoring, the funding decision, the
// public notice and the agreement (issue 4).
func (s *Server) reviewRoutes() []route {
	readers := only(enterprise, staff, approver, auditor)
	return []route{
		{"GET", "/experts", only(staff, admin), s.handleExperts},
		{"POST", "/experts", only(staff, admin), s.handleExpertCreate},
		{"GET", "/experts/{id}", only(staff, admin), s.handleExpertEdit},
		{"POST", "/experts/{id}", only(staff, admin), s.handleExpertUpdate},
		{"POST", "/applications/{id}/panel/draw", only(staff), s.handlePanelDraw},
		{"POST", "/applications/{id}/panel/assign", only(staff), s.handlePanelAssign},
		{"GET", "/reviews", only(expert), s.handleReviewInbox},
		{"GET", "/reviews/{id}", only(expert), s.handleReviewShow},
		{"POST", "/reviews/{id}/declare", only(expert), s.handleDeclare},
		{"POST", "/reviews/{id}", only(expert), s.handleReviewSubmit},
		{"GET", "/applications/{id}/scores.xlsx", only(staff, approver, auditor), s.handleScoreSheet},
		{"POST", "/applications/{id}/decision", only(staff), s.handleDecisionPrepare},
		{"POST", "/decisions/{id}/approve", only(approver), s.handleDecisionApprove},
		{"POST", "/decisions/{id}/send-back", only(approver), s.handleDecisionSendBack},
		{"GET", "/notices", public, s.handleNotices},
		{"POST", "/applications/{id}/objections", only(staff), s.handleObjection},
		{"POST", "/objections/{id}/resolve", only(staff), s.handleObjectionResolve},
		{"GET", "/applications/{id}/agreement", readers, s.handleAgreement},
		{"POST", "/applications/{id}/agreement/sign", only(staff), s.handleAgreementSign},
		{"POST", "/applications/{id}/agreement/terms", only(staff), s.handleTermsPropose},
		{"POST", "/agreements/{id}/approve", only(approver), s.handleTermsApprove},
		{"GET", "/inbox", anyRole, s.handleInbox},
		{"GET", "/inbox/{id}", anyRole, s.handleInboxOpen},
		{"GET", "/calendar", only(admin, staff), s.handleCalendar},
		{"POST", "/calendar", only(admin), s.handleCalendarSet},
	}
}

// backTo redirects to an application page with a flash.
func (s *Server) backTo(w http.ResponseWriter, r *http.Request, appID int64, msg, anchor string) error {
	s.flash(w, r, "success", msg)
	http.Redirect(w, r, "/applications/"+strconv.FormatInt(appID, 10)+anchor, http.StatusSeeOther)
	return nil
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

// reviewPart builds the review/decision/notice section for the viewer.
func (s *Server) reviewPart(r *http.Request, a applications.Application, p applications.Programme) (*page.ReviewPart, error) {
	ctx := r.Context()
	u := currentUser(r)
	inReview := a.State != applications.StateDraft && a.State != applications.StateSubmitted && a.State != applications.StateReturned
	if !inReview && a.State != applications.StateRejected && a.State != applications.StateWithdrawn {
		return nil, nil
	}
	v := &page.ReviewPart{AppID: a.ID, State: a.State, App: a, Criteria: p.Criteria, PassScore: p.PassScore.String(),
		NoticeDays: p.NoticeWorkingDays, ShowPanel: u.Role != enterprise,
		CanDraw: u.Role == staff && a.State == applications.StateUnderReview, Errors: ui.Errors{}}
	var err error
	if v.ShowPanel {
		if v.Panel, err = s.DB.ListAssignments(ctx, a.ID); err != nil {
			return nil, err
		}
	}
	if v.CanDraw {
		experts, err := s.DB.ListExperts(ctx)
		if err != nil {
			return nil, err
		}
		v.ExpertOptions = []ui.Option{{Value: "", Label: "选择专家"}}
		for _, e := range experts {
			if e.Active {
				v.ExpertOptions = append(v.ExpertOptions, ui.Option{Value: strconv.FormatInt(e.UserID, 10), Label: e.Name + "（" + e.Employer + "）"})
			}
		}
	}
	result, reviews, err := s.DB.ReviewResult(ctx, a, p)
	if err != nil {
		return nil, err
	}
	// Scores show once the panel is complete; enterprises see the
	// aggregate only, never who gave what.
	if a.State != applications.StateUnderReview {
		v.Result = &result
		if u.Role != enterprise {
			v.Reviews = reviews
		}
	}
	decisions, err := s.DB.ListDecisions(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range decisions {
		if u.Role != enterprise || d.Status == "approved" {
			v.Decisions = append(v.Decisions, d)
		}
		if d.Status == "pending" && u.Role == approver && d.PreparedBy != u.ID {
			v.CanCheck = true
		}
	}
	hasPending := false
	for _, d := range decisions {
		hasPending = hasPending || d.Status == "pending"
	}
	v.CanPrepare = u.Role == staff && a.State == applications.StateReviewed && !hasPending
	v.TermsTemplate, v.RequestedAmount = string(p.TermsTemplate), conversion.FormatMoney(a.RequestedAmount)
	if !a.NoticeStartsOn.IsZero() {
		if v.Objections, err = s.DB.ListObjections(ctx, a.ID); err != nil {
			return nil, err
		}
		v.CanObject = u.Role == staff && a.State == applications.StateApproved && a.NoticeClosedAt.IsZero()
	}
	v.HasAgreement = !a.ApprovedAmount.Decimal.IsZero()
	return v, nil
}

// --- expert pool ---

func expertForm(e postgres.Expert) map[string]string {
	f := map[string]string{"employer": e.Employer, "employer_uscc": e.EmployerUSCC}
	if e.Active {
		f["active"] = "1"
	}
	for _, s := range e.Sectors {
		f["sector_"+string(s)] = "1"
	}
	for _, t := range e.Ties {
		f["tie_"+strconv.FormatInt(t, 10)] = "1"
	}
	return f
}

func parseExpertProfile(r *http.Request) (postgres.ExpertProfile, map[string]string) {
	_ = r.ParseForm()
	p := postgres.ExpertProfile{Employer: strings.TrimSpace(r.PostFormValue("employer")),
		EmployerUSCC: r.PostFormValue("employer_uscc"), Active: r.PostFormValue("active") == "1"}
	f := map[string]string{"employer": p.Employer, "employer_uscc": p.EmployerUSCC,
		"username":     strings.ToLower(strings.TrimSpace(r.PostFormValue("username"))),
		"display_name": strings.TrimSpace(r.PostFormValue("display_name"))}
	if p.Active {
		f["active"] = "1"
	}
	for _, v := range r.PostForm["sectors"] {
		p.Sectors = append(p.Sectors, applications.Sector(v))
		f["sector_"+v] = "1"
	}
	for _, v := range r.PostForm["ties"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			p.Ties = append(p.Ties, id)
			f["tie_"+v] = "1"
		}
	}
	return p, f
}

// handleExperts lists the expert pool (GET /experts).
func (s *Server) handleExperts(w http.ResponseWriter, r *http.Request) error {
	return s.renderExperts(w, r, http.StatusOK, map[string]string{}, nil, "")
}

func (s *Server) renderExperts(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs ui.Errors, msg string) error {
	es, err := s.DB.ListExperts(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.Experts(page.ExpertsView{Experts: es, Form: form, Errors: errs, FormError: msg}))
}

// handleExpertCreate adds an expert account with its profile (POST /experts).
func (s *Server) handleExpertCreate(w http.ResponseWriter, r *http.Request) error {
	p, form := parseExpertProfile(r)
	p.Active = true
	errs := ui.Errors{}
	password := r.PostFormValue("password")
	if err := applications.ValidatePassword(password); err != nil {
		errs["password"] = applications.ErrorMessage(err)
	}
	if form["username"] == "" || form["display_name"] == "" {
		errs["username"] = "请填写用户名和姓名。"
	}
	if len(errs) > 0 {
		return s.renderExperts(w, r, http.StatusUnprocessableEntity, form, errs, "请按提示修改后重新提交。")
	}
	hash, err := auth.HashPassword(password, s.PasswordParams)
	if err != nil {
		return err
	}
	u, err := s.DB.CreateUser(r.Context(), actor(r), postgres.NewUser{Username: form["username"], DisplayName: form["display_name"],
		Role: applications.RoleExpert, PasswordHash: hash})
	if err == nil {
		err = s.DB.SaveExpertProfile(r.Context(), actor(r), u.ID, p)
		if err != nil {
			// The account exists without a usable profile: disable it so it
			// is never drawn, and say what to do.
			disabled := true
			_, _ = s.DB.UpdateUser(r.Context(), actor(r), u.ID, postgres.UserChange{Disabled: &disabled})
		}
	}
	if k := applications.ErrorKind(err); k == applications.Invalid || k == applications.Conflict {
		addFieldError(errs, err)
		return s.renderExperts(w, r, statusOf[k], form, errs, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	s.flash(w, r, "success", "已添加专家 "+form["display_name"]+"。")
	http.Redirect(w, r, "/experts", http.StatusSeeOther)
	return nil
}

// handleExpertEdit shows one expert (GET /experts/{id}).
func (s *Server) handleExpertEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := s.DB.FindExpert(r.Context(), id)
	if err != nil {
		return err
	}
	return s.renderExpertEdit(w, r, http.StatusOK, e, expertForm(e), nil)
}

func (s *Server) renderExpertEdit(w http.ResponseWriter, r *http.Request, status int, e postgres.Expert, form map[string]string, errs ui.Errors) error {
	ents, err := s.DB.ListEnterprises(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.ExpertEdit(page.ExpertView{Expert: e, Form: form, Enterprises: ents, Errors: errs}))
}

// handleExpertUpdate saves a profile, including deactivation and declared
// ties (POST /experts/{id}).
func (s *Server) handleExpertUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := s.DB.FindExpert(r.Context(), id)
	if err != nil {
		return err
	}
	p, form := parseExpertProfile(r)
	if err := s.DB.SaveExpertProfile(r.Context(), actor(r), id, p); applications.ErrorKind(err) == applications.Invalid {
		errs := ui.Errors{}
		addFieldError(errs, err)
		return s.renderExpertEdit(w, r, http.StatusUnprocessableEntity, e, form, errs)
	} else if err != nil {
		return err
	}
	s.flash(w, r, "success", "已保存专家信息。")
	http.Redirect(w, r, "/experts", http.StatusSeeOther)
	return nil
}

// --- panel ---

// handlePanelDraw draws the panel at random (POST /applications/{id}/panel/draw).
func (s *Server) handlePanelDraw(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	seed := int64(binary.BigEndian.Uint64(b[:]) >> 1)
	chosen, err := s.DB.DrawPanel(r.Context(), actor(r), a.ID, seed)
	if err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.backTo(w, r, a.ID, "已随机抽取 "+strconv.Itoa(len(chosen))+" 位专家（抽取种子 "+strconv.FormatInt(seed, 10)+"）。", "#panel")
}

// handlePanelAssign adds an expert by hand (POST /applications/{id}/panel/assign).
func (s *Server) handlePanelAssign(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	id, err := formID(r, "expert_id")
	if err != nil || id == 0 {
		return s.refuse(w, r, a.ID, applications.FieldError("expert_id", "请选择专家。"))
	}
	if err := s.DB.AssignExpert(r.Context(), actor(r), a.ID, id); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.backTo(w, r, a.ID, "已指定专家。", "#panel")
}

// --- the expert's side ---

// handleReviewInbox lists the expert's assignments (GET /reviews).
func (s *Server) handleReviewInbox(w http.ResponseWriter, r *http.Request) error {
	xs, err := s.DB.ListExpertAssignments(r.Context(), currentUser(r).ID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.ExpertInbox(page.ExpertInboxView{Assignments: xs}))
}

// assignment loads the caller's assignment to the route's application; an
// expert not on that panel gets 404.
func (s *Server) assignment(r *http.Request) (postgres.Assignment, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return postgres.Assignment{}, err
	}
	x, err := s.DB.FindAssignment(r.Context(), id, currentUser(r).ID)
	if applications.ErrorKind(err) == applications.NotFound {
		s.audit(r, audit.Event{Name: "access_refused", ObjectType: "application", ObjectID: strconv.FormatInt(id, 10),
			Outcome: audit.Refused, Detail: map[string]any{"reason": "not_assigned"}})
		return x, applications.Errorf(applications.NotFound, "该项目未分配给您评审。")
	}
	return x, err
}

// handleReviewShow is the expert's page for one application
// (GET /reviews/{id}): the declaration first, then materials and scoring.
func (s *Server) handleReviewShow(w http.ResponseWriter, r *http.Request) error {
	return s.renderReview(w, r, http.StatusOK, map[string]string{}, nil, "")
}

func (s *Server) renderReview(w http.ResponseWriter, r *http.Request, status int, form map[string]string, errs ui.Errors, msg string) error {
	x, err := s.assignment(r)
	if err != nil {
		return err
	}
	v := page.ExpertReviewView{Assignment: x, Form: form, Errors: errs, FormError: msg}
	if x.Status == "declared" || x.Status == "submitted" {
		a, err := s.DB.FindApplication(r.Context(), x.ApplicationID)
		if err != nil {
			return err
		}
		p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
		if err != nil {
			return err
		}
		items, err := s.DB.Checklist(r.Context(), a, p)
		if err != nil {
			return err
		}
		for _, it := range items {
			if !it.Material.Sensitive() {
				v.Items = append(v.Items, it)
			}
		}
		v.App, v.Criteria = a, p.Criteria
		if x.Status == "submitted" {
			rs, err := s.DB.ListSubmittedReviews(r.Context(), a.ID)
			if err != nil {
				return err
			}
			for i := range rs {
				if rs[i].ExpertID == x.ExpertID {
					v.Mine = &rs[i]
				}
			}
		}
	}
	return s.render(w, r, status, page.ExpertReview(v))
}

// handleDeclare records the conflict declaration (POST /reviews/{id}/declare).
func (s *Server) handleDeclare(w http.ResponseWriter, r *http.Request) error {
	x, err := s.assignment(r)
	if err != nil {
		return err
	}
	recuse := r.PostFormValue("decision") == "recuse"
	err = s.DB.Declare(r.Context(), actor(r), x.ApplicationID, x.ExpertID, recuse, strings.TrimSpace(r.PostFormValue("reason")))
	if k := applications.ErrorKind(err); k == applications.Conflict || k == applications.Invalid {
		return s.renderReview(w, r, statusOf[k], map[string]string{}, nil, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	msg := "已声明无利益冲突，现在可以查看材料并评分。"
	if recuse {
		msg = "已申请回避，工作人员将另行抽取专家。感谢您的配合。"
	}
	s.flash(w, r, "success", msg)
	http.Redirect(w, r, "/reviews/"+strconv.FormatInt(x.ApplicationID, 10), http.StatusSeeOther)
	return nil
}

// handleReviewSubmit locks the expert's scores (POST /reviews/{id}).
func (s *Server) handleReviewSubmit(w http.ResponseWriter, r *http.Request) error {
	x, err := s.assignment(r)
	if err != nil {
		return err
	}
	_ = r.ParseForm()
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := applications.ReviewInput{Scores: map[string]decimal.Decimal{}, Comments: map[string]string{},
		Overall: form["overall_comment"], Recommendation: form["recommendation"]}
	errs := ui.Errors{}
	for k, v := range form {
		switch {
		case strings.HasPrefix(k, "score_") && v != "":
			d, err := conversion.ParseDecimal(v, 1)
			if err != nil {
				errs[k] = "分数须为数字，可打半分（如 17.5）。"
				continue
			}
			in.Scores[strings.TrimPrefix(k, "score_")] = d
		case strings.HasPrefix(k, "comment_"):
			in.Comments[strings.TrimPrefix(k, "comment_")] = v
		}
	}
	if v := form["suggested_amount"]; v != "" {
		d, err := conversion.ParseMoney(v)
		if err != nil {
			errs["suggested_amount"] = "建议金额须为金额（元），最多两位小数。"
		}
		in.SuggestedAmount = decimal.NewNullDecimal(d)
	}
	if len(errs) == 0 {
		err = s.DB.SubmitReview(r.Context(), actor(r), x.ApplicationID, x.ExpertID, in)
		if err == nil {
			s.flash(w, r, "success", "评审意见已提交并锁定。")
			http.Redirect(w, r, "/reviews/"+strconv.FormatInt(x.ApplicationID, 10), http.StatusSeeOther)
			return nil
		}
		switch applications.ErrorKind(err) {
		case applications.Invalid:
			addFieldError(errs, err)
		case applications.Conflict:
			return s.renderReview(w, r, http.StatusConflict, form, nil, applications.ErrorMessage(err))
		default:
			return err
		}
	}
	return s.renderReview(w, r, http.StatusUnprocessableEntity, form, errs, "请按提示修改后重新提交。")
}

// handleScoreSheet exports the panel's scores (GET /applications/{id}/scores.xlsx).
func (s *Server) handleScoreSheet(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	result, reviews, err := s.DB.ReviewResult(r.Context(), a, p)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := "评分表"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	header := []any{"专家"}
	for _, c := range p.Criteria {
		header = append(header, c.Name+"（"+c.Weight.String()+"）")
	}
	header = append(header, "总分", "推荐意见", "建议金额", "总体意见")
	_ = f.SetSheetRow(sheet, "A1", &header)
	for i, rv := range reviews {
		row := []any{rv.ExpertName}
		for _, c := range p.Criteria {
			v, _ := rv.Scores[c.Code].Float64()
			row = append(row, v)
		}
		total, _ := rv.Total.Float64()
		suggested := ""
		if rv.SuggestedAmount.Valid {
			suggested = rv.SuggestedAmount.Decimal.StringFixed(2)
		}
		row = append(row, total, applications.RecommendationLabel(rv.Recommendation), suggested, rv.Overall)
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		_ = f.SetSheetRow(sheet, cell, &row)
	}
	summary := []any{"平均分"}
	for _, c := range p.Criteria {
		v, _ := result.Means[c.Code].Float64()
		summary = append(summary, v)
	}
	agg, _ := result.Aggregate.Float64()
	summary = append(summary, agg, map[bool]string{true: "通过", false: "未通过"}[result.Passed])
	cell, _ := excelize.CoordinatesToCellName(1, len(reviews)+3)
	_ = f.SetSheetRow(sheet, cell, &summary)
	_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	s.audit(r, audit.Event{Name: "export", ObjectType: "application", ObjectID: strconv.FormatInt(a.ID, 10),
		Outcome: audit.Success, Detail: map[string]any{"what": "score_sheet"}})
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="scores-`+strconv.FormatInt(a.ID, 10)+`.xlsx"`)
	return f.Write(w)
}

// --- decision ---

// handleDecisionPrepare records staff's proposed decision
// (POST /applications/{id}/decision).
func (s *Server) handleDecisionPrepare(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	in := applications.DecisionInput{Approve: r.PostFormValue("kind") != "reject",
		CapOverride: r.PostFormValue("cap_override") == "1", OverrideReason: strings.TrimSpace(r.PostFormValue("override_reason")),
		Terms: []byte(r.PostFormValue("terms")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if in.Approve {
		d, err := conversion.ParseMoney(r.PostFormValue("amount"))
		if err != nil {
			return s.refuse(w, r, a.ID, applications.FieldError("amount", "立项金额须为金额（元），最多两位小数，不带逗号。"))
		}
		in.Amount = d
	}
	if _, err := s.DB.PrepareDecision(r.Context(), actor(r), a.ID, in); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.backTo(w, r, a.ID, "立项决定已提交审批人审批。", "#decisions")
}

func (s *Server) decisionApp(r *http.Request) (int64, int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	var appID int64
	err = s.DB.Pool.QueryRow(r.Context(), `SELECT application_id FROM decisions WHERE id = $1`, id).Scan(&appID)
	if err != nil {
		return 0, 0, applications.Errorf(applications.NotFound, "立项决定不存在。")
	}
	return id, appID, nil
}

// handleDecisionApprove is the approver's sign-off (POST /decisions/{id}/approve).
func (s *Server) handleDecisionApprove(w http.ResponseWriter, r *http.Request) error {
	id, appID, err := s.decisionApp(r)
	if err != nil {
		return err
	}
	if err := s.DB.ApproveDecision(r.Context(), actor(r), id); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.backTo(w, r, appID, "已批准。", "#decisions")
}

// handleDecisionSendBack returns a decision to staff (POST /decisions/{id}/send-back).
func (s *Server) handleDecisionSendBack(w http.ResponseWriter, r *http.Request) error {
	id, appID, err := s.decisionApp(r)
	if err != nil {
		return err
	}
	if err := s.DB.SendBackDecision(r.Context(), actor(r), id, strings.TrimSpace(r.PostFormValue("comment"))); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.backTo(w, r, appID, "已退回经办人。", "#decisions")
}

// --- notice ---

// handleNotices is the public notice board (GET /notices). Ended notices
// are closed on access, so the board is right even between job runs.
func (s *Server) handleNotices(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.DB.CloseEndedNotices(r.Context()); err != nil {
		return err
	}
	ns, err := s.DB.ListCurrentNotices(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Notices(page.NoticesView{Notices: ns}))
}

// handleObjection records an objection (POST /applications/{id}/objections).
func (s *Server) handleObjection(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, r.PostFormValue("received_on"))
	if err != nil {
		return s.refuse(w, r, a.ID, applications.FieldError("received_on", "请填写收到异议的日期。"))
	}
	if err := s.DB.RecordObjection(r.Context(), actor(r), a.ID, day, r.PostFormValue("body")); err != nil {
		return s.refuse(w, r, a.ID, err)
	}
	return s.backTo(w, r, a.ID, "已登记异议。处理完毕前不能签约。", "#notice")
}

// handleObjectionResolve upholds or dismisses an objection
// (POST /objections/{id}/resolve).
func (s *Server) handleObjectionResolve(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var appID int64
	if err := s.DB.Pool.QueryRow(r.Context(), `SELECT application_id FROM objections WHERE id = $1`, id).Scan(&appID); err != nil {
		return applications.Errorf(applications.NotFound, "异议不存在。")
	}
	uphold := r.PostFormValue("uphold") == "1"
	if err := s.DB.ResolveObjection(r.Context(), actor(r), id, uphold, r.PostFormValue("resolution")); err != nil {
		return s.refuse(w, r, appID, err)
	}
	return s.backTo(w, r, appID, "异议已处理。", "#notice")
}

// --- agreement ---

// handleAgreement shows the agreement terms (GET /applications/{id}/agreement).
func (s *Server) handleAgreement(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	return s.renderAgreement(w, r, http.StatusOK, a, nil, "")
}

func (s *Server) renderAgreement(w http.ResponseWriter, r *http.Request, status int, a applications.Application, errs ui.Errors, msg string) error {
	if _, err := s.DB.CloseEndedNotices(r.Context()); err != nil {
		return err
	}
	a, err := s.DB.FindApplication(r.Context(), a.ID)
	if err != nil {
		return err
	}
	versions, err := s.DB.ListAgreements(r.Context(), a.ID)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return applications.Errorf(applications.NotFound, "该项目尚无协议条款（立项决定批准后生成）。")
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	u := currentUser(r)
	v := page.AgreementView{App: a, Versions: versions, Platform: p.HoldingPlatform, Errors: errs, FormError: msg,
		MaxUploadMiB: s.maxUpload() >> 20}
	for i := range versions {
		if versions[i].Status == "signed" {
			v.Current = &versions[i]
		}
	}
	if v.Current == nil {
		v.Current = &versions[len(versions)-1] // the draft frozen at approval (version 1)
		for i := range versions {
			if versions[i].Status == "draft" {
				v.Current = &versions[i]
			}
		}
	}
	v.CanSign = u.Role == staff && a.State == applications.StateApproved && !a.NoticeClosedAt.IsZero()
	v.CanPropose = u.Role == staff && v.Current.Status == "signed" && !a.State.Terminal()
	v.CanApprove = u.Role == approver
	return s.render(w, r, status, page.Agreement(v))
}

// handleAgreementSign uploads the signed agreement and contracts the
// project (POST /applications/{id}/agreement/sign, multipart).
func (s *Server) handleAgreementSign(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload()+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "上传格式不正确，请通过页面表单提交。")
	}
	var signedOn time.Time
	for {
		part, err := mr.NextPart()
		if err != nil {
			return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "没有收到协议文件，请选择文件后重新提交。")
		}
		if part.FormName() == "signed_on" {
			b := make([]byte, 32)
			n, _ := part.Read(b)
			if signedOn, err = time.Parse(time.DateOnly, strings.TrimSpace(string(b[:n]))); err != nil {
				return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "请填写签署日期（年-月-日）。")
			}
			continue
		}
		if part.FormName() != "file" {
			continue
		}
		if signedOn.IsZero() {
			return s.renderAgreement(w, r, http.StatusUnprocessableEntity, a, nil, "请填写签署日期。")
		}
		key := blob.NewKey("docs", s.Now())
		meta, err := blob.Ingest(r.Context(), s.Blobs, key, part, blob.IngestOptions{MaxBytes: s.maxUpload()})
		if err != nil {
			if applications.ErrorKind(err) == applications.Internal {
				return err
			}
			return s.renderAgreement(w, r, statusOf[applications.ErrorKind(err)], a, nil, applications.ErrorMessage(err))
		}
		d := applications.Document{Filename: displayName(part.FileName()), BlobKey: key, Kind: meta.Kind, Size: meta.Size,
			SHA256: meta.SHA256, EncAlg: meta.Algorithm}
		if err := s.DB.SignAgreement(r.Context(), actor(r), a.ID, signedOn, d); err != nil {
			_ = s.Blobs.Delete(r.Context(), key)
			if k := applications.ErrorKind(err); k == applications.Conflict || k == applications.Invalid {
				return s.renderAgreement(w, r, statusOf[k], a, nil, applications.ErrorMessage(err))
			}
			return err
		}
		return s.backTo(w, r, a.ID, "协议已签署，项目进入拨付阶段。", "")
	}
}

// handleTermsPropose drafts a terms change (POST /applications/{id}/agreement/terms).
func (s *Server) handleTermsPropose(w http.ResponseWriter, r *http.Request) error {
	a, err := s.loadApplication(r)
	if err != nil {
		return err
	}
	err = s.DB.ProposeTerms(r.Context(), actor(r), a.ID, []byte(r.PostFormValue("terms")), strings.TrimSpace(r.PostFormValue("reason")))
	if k := applications.ErrorKind(err); k == applications.Conflict || k == applications.Invalid {
		return s.renderAgreement(w, r, statusOf[k], a, nil, applications.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	s.flash(w, r, "success", "条款变更已提交审批人。")
	http.Redirect(w, r, "/applications/"+strconv.FormatInt(a.ID, 10)+"/agreement", http.StatusSeeOther)
	return nil
}

// handleTermsApprove puts a terms change in force (POST /agreements/{id}/approve).
func (s *Server) handleTermsApprove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var appID int64
	if err := s.DB.Pool.QueryRow(r.Context(), `SELECT application_id FROM agreements WHERE id = $1`, id).Scan(&appID); err != nil {
		return applications.Errorf(applications.NotFound, "协议版本不存在。")
	}
	if err := s.DB.ApproveTerms(r.Context(), actor(r), id); err != nil {
		if applications.ErrorKind(err) == applications.Forbidden {
			s.audit(r, audit.Event{Name: "maker_checker_refused", ObjectType: "application", ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Refused})
		}
		return err
	}
	s.flash(w, r, "success", "条款变更已生效，原版本保留可查。")
	http.Redirect(w, r, "/applications/"+strconv.FormatInt(appID, 10)+"/agreement", http.StatusSeeOther)
	return nil
}

// --- inbox and calendar ---

// handleInbox lists the user's notifications (GET /inbox).
func (s *Server) handleInbox(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.DB.ListNotifications(r.Context(), currentUser(r).ID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Inbox(page.InboxView{Items: ns}))
}

// handleInboxOpen marks an item read and follows its link (GET /inbox/{id}).
func (s *Server) handleInboxOpen(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	link, err := s.DB.OpenNotification(r.Context(), currentUser(r).ID, id)
	if err != nil {
		return err
	}
	if safeNext(link) == "" {
		link = "/inbox"
	}
	http.Redirect(w, r, link, http.StatusSeeOther)
	return nil
}

// handleCalendar lists holidays and adjusted working days (GET /calendar).
func (s *Server) handleCalendar(w http.ResponseWriter, r *http.Request) error {
	days, err := s.DB.ListCalendar(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Calendar(page.CalendarView{Days: days}))
}

// handleCalendarSet adds, changes or removes a day (POST /calendar).
func (s *Server) handleCalendarSet(w http.ResponseWriter, r *http.Request) error {
	day, err := time.Parse(time.DateOnly, r.PostFormValue("day"))
	if err != nil {
		return applications.FieldError("day", "请填写日期（年-月-日）。")
	}
	kind := r.PostFormValue("kind")
	if kind != "" && kind != "holiday" && kind != "workday" {
		return applications.FieldError("kind", "类型无效。")
	}
	if err := s.DB.SetCalendarDay(r.Context(), actor(r), day, kind, strings.TrimSpace(r.PostFormValue("name"))); err != nil {
		return err
	}
	s.flash(w, r, "success", "已保存。")
	http.Redirect(w, r, "/calendar", http.StatusSeeOther)
	return nil
}
