package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// reviewRoutes: the experts' scoring and the score sheet.
func (s *Server) reviewRoutes() []route {
	return []route{
		{"GET", "/reviews", can(applications.ActionReviewAsExpert).inMenu(navReviews, "我的评审"), s.handleReviewInbox},
		{"GET", "/reviews/{id}", can(applications.ActionReviewAsExpert), s.handleReviewShow},
		{"POST", "/reviews/{id}/declare", can(applications.ActionReviewAsExpert), s.handleDeclare},
		{"POST", "/reviews/{id}", can(applications.ActionReviewAsExpert), s.handleReviewSubmit},
		{"GET", "/applications/{id}/scores.xlsx", can(applications.ActionExportScores), s.handleScoreSheet},
	}
}

// reviewShown says whether the application page has a review section:
// from expert review on, and for an application rejected or withdrawn.
func reviewShown(a applications.Application) bool {
	return a.State != applications.StateDraft && a.State != applications.StateSubmitted && a.State != applications.StateReturned
}

// activityParts are the review section's lists the page of a reads for u
// in its activity batch (reviewPart shows them).
func activityParts(u *auth.User, a applications.Application) postgres.ActivityParts {
	shown := reviewShown(a)
	return postgres.ActivityParts{Review: shown, Panel: shown && panelShown(u), Objections: shown && !a.NoticeStartsOn.IsZero(),
		Oversight: shown && oversightShown(u)}
}

// panelShown says whether u is shown who is on the expert panel. Not a
// permission: the enterprise never sees its panel.
func panelShown(u *auth.User) bool { return u.Role != enterprise }

// reviewPart builds the review/decision/notice section for the viewer,
// from the lists act read for it (activityParts).
func (s *Server) reviewPart(r *http.Request, a applications.Application, p applications.Programme, act postgres.ApplicationActivity) (*page.ReviewPart, error) {
	ctx := r.Context()
	u := currentUser(r)
	if !reviewShown(a) {
		return nil, nil
	}
	v := &page.ReviewPart{AppID: a.ID, State: a.State, App: a, Criteria: p.Criteria, PassScore: p.PassScore.String(),
		NoticeDays: p.NoticeWorkingDays, ShowPanel: panelShown(u),
		CanDraw: u.Role.Can(applications.ActionManagePanel) && a.State == applications.StateUnderReview, Errors: ui.Errors{}}
	var err error
	if v.ShowPanel {
		v.Panel = act.Panel
	}
	v.Today = day.Today(s.Now())
	if v.CanDraw {
		// The calendar's answer for today, kept for the generation (a
		// calendar change is a commit): it was three round trips a view.
		if v.DefaultDue, err = cachedRef(s, r, "review deadline "+day.ISO(v.Today), func(ctx context.Context) (time.Time, error) {
			return s.DB.DefaultReviewDeadline(ctx, v.Today)
		}); err != nil {
			return nil, err
		}
		experts, err := s.listExperts(r)
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
	result, reviews := postgres.AggregateReviews(p, act.Scores), act.Scores
	// Scores show once the panel is complete; enterprises see the
	// aggregate only, never who gave what.
	if a.State != applications.StateUnderReview {
		v.Result = &result
		if u.Role != enterprise { // not a permission: what of the data the enterprise sees
			v.Reviews = reviews
		}
	}
	decisions := act.Decisions
	v.Oversight = page.Oversight{CanAttach: u.Role.Can(applications.ActionAttachMinutes)}
	if oversightShown(u) {
		v.Oversight.Minutes, v.Oversight.Admission = act.Minutes, act.Eligibility.Admission
	}
	for _, d := range decisions {
		if u.Role != enterprise || d.Status == applications.DecisionApproved { // not a permission: the enterprise sees the approved decision only
			v.Decisions = append(v.Decisions, d)
		}
		if d.Status == applications.DecisionPending && u.Role.Can(applications.ActionApproveDecision) && d.PreparedBy != u.ID {
			v.CanCheck = true
		}
	}
	hasPending := false
	for _, d := range decisions {
		hasPending = hasPending || d.Status == applications.DecisionPending
	}
	v.CanPrepare = u.Role.Can(applications.ActionPrepareDecision) && a.State == applications.StateReviewed && !hasPending
	// The decision form's defaults, only where the form is shown:
	// parsing and checking the programme's terms (a trial exit) was a
	// tenth of the application page's server time (docs/PERFORMANCE.md).
	if v.CanPrepare {
		v.Decision = page.DecisionTyped{Amount: applications.FormatAmount(a.RequestedAmount)}
		if t, err := applications.ParseTerms(p.TermsTemplate); err == nil {
			f := applications.TermsFormOf(t)
			v.Decision.Terms = &f
		}
		if typed, ok := ctx.Value(ctxDecisionTyped{}).(*page.DecisionTyped); ok {
			v.Decision = *typed
		}
	}
	if !a.NoticeStartsOn.IsZero() {
		v.Objections = act.Objections
		v.CanObject = u.Role.Can(applications.ActionHandleObjections) && a.State == applications.StateApproved && a.NoticeClosedAt.IsZero()
		v.CanCheckObjection = u.Role.Can(applications.ActionApproveObjection) && a.State == applications.StateApproved
	}
	v.HasAgreement = !a.ApprovedAmount.Decimal.IsZero()
	v.CanReadPlan = u.Role.Can(applications.ActionReadLedger)
	return v, nil
}

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
	return s.renderReviewNotice(w, r, status, x, form, errs, msg, "")
}

// renderReviewNotice renders the expert's page of assignment x: the
// declaration names the applicant and its people; the scoring form shows
// form as typed, or the saved draft when nothing was posted.
func (s *Server) renderReviewNotice(w http.ResponseWriter, r *http.Request, status int, x postgres.Assignment, form map[string]string,
	errs ui.Errors, msg, notice string) error {
	v := page.ExpertReviewView{Assignment: x, Form: form, Errors: errs, FormError: msg, Notice: notice}
	if x.Status == applications.AssignmentAssigned {
		parties, err := s.DB.FindConflictParties(r.Context(), x.ApplicationID)
		if err != nil {
			return err
		}
		v.Parties = &parties
	}
	if x.Status == applications.AssignmentDeclared && len(form) == 0 {
		draft, at, err := s.DB.FindReviewDraft(r.Context(), x.ApplicationID, x.ExpertID)
		if err != nil {
			return err
		}
		v.Form, v.DraftSavedAt = draft, at
	}
	if x.Status == applications.AssignmentDeclared || x.Status == applications.AssignmentSubmitted {
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
		if x.Status == applications.AssignmentSubmitted {
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
	if e, ok := refused(err); ok {
		return s.renderReview(w, r, statusOf[e.Kind], map[string]string{}, nil, e.Message)
	} else if err != nil {
		return err
	}
	msg := "已声明无利益冲突，现在可以查看材料并评分。"
	if recuse {
		msg = "已申请回避，工作人员将另行抽取专家。感谢您的配合。"
	}
	return s.redirectWithFlash(w, r, "/reviews/"+strconv.FormatInt(x.ApplicationID, 10), msg)
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
		if reviewField(k) {
			form[k] = strings.TrimSpace(r.PostFormValue(k))
		}
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
		d, err := applications.ParseAmount(v)
		if err != nil {
			errs["suggested_amount"] = "建议金额：" + applications.AmountMessage
		}
		in.SuggestedAmount = decimal.NewNullDecimal(d)
	}
	switch r.PostFormValue("action") {
	case "draft":
		// 保存草稿: kept as typed, even half done; nothing is checked or locked.
		if err := s.DB.SaveReviewDraft(r.Context(), actor(r), x.ApplicationID, x.ExpertID, form); err != nil {
			if e, ok := refused(err); ok {
				return s.renderReview(w, r, statusOf[e.Kind], form, nil, e.Message)
			}
			return err
		}
		return s.redirectWithFlash(w, r, "/reviews/"+strconv.FormatInt(x.ApplicationID, 10),
			"草稿已保存，尚未提交：工作人员和其他专家看不到，您可以随时回来继续填写。")
	case "check":
		// 检查: every problem beside its field before the lock, and the
		// form kept as a draft.
		return s.checkReview(w, r, x, form, in, errs)
	}
	if len(errs) == 0 {
		err = s.DB.SubmitReview(r.Context(), actor(r), x.ApplicationID, x.ExpertID, in)
		if err == nil {
			return s.redirectWithFlash(w, r, "/reviews/"+strconv.FormatInt(x.ApplicationID, 10), "评审意见已提交并锁定。")
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

// reviewField reports whether a posted field belongs to the review (and
// so to its draft): not the CSRF token or the button pressed.
func reviewField(k string) bool {
	switch k {
	case "recommendation", "suggested_amount", "overall_comment":
		return true
	}
	return strings.HasPrefix(k, "score_") || strings.HasPrefix(k, "comment_")
}

// checkReview answers the scoring form's 检查 button: the domain's
// CheckReview lists every problem, each shown beside its field (422), or
// the page says the review is ready and the total; the form is saved as
// the draft either way, and nothing is submitted or locked.
func (s *Server) checkReview(w http.ResponseWriter, r *http.Request, x postgres.Assignment, form map[string]string,
	in applications.ReviewInput, errs ui.Errors) error {
	a, err := s.DB.FindApplication(r.Context(), x.ApplicationID)
	if err != nil {
		return err
	}
	p, err := s.DB.FindProgramme(r.Context(), a.ProgrammeID)
	if err != nil {
		return err
	}
	if err := s.DB.SaveReviewDraft(r.Context(), actor(r), x.ApplicationID, x.ExpertID, form); err != nil {
		if e, ok := refused(err); ok {
			return s.renderReview(w, r, statusOf[e.Kind], form, nil, e.Message)
		}
		return err
	}
	x.Status = applications.AssignmentDeclared
	for k, m := range p.CheckReview(in) {
		if errs[k] == "" {
			errs[k] = m
		}
	}
	if len(errs) > 0 {
		return s.renderReviewNotice(w, r, http.StatusUnprocessableEntity, x, form, errs,
			"检查发现 "+strconv.Itoa(len(errs))+" 处需要修改，请按提示修改。评审意见尚未提交，也未锁定；已保存为草稿。", "")
	}
	total, _ := p.ValidateReview(in)
	return s.renderReviewNotice(w, r, http.StatusOK, x, form, nil, "",
		"检查通过：总分 "+total.StringFixed(1)+" 分，已保存为草稿。确认无误后点击“提交评审意见”；提交后将被锁定，不能修改。")
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
		// The suggested amount is a number cell shown as #,##0.00 (style
		// below), like every amount an export holds.
		var suggested any
		if rv.SuggestedAmount.Valid {
			suggested, _ = rv.SuggestedAmount.Decimal.Float64()
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
	if money, err := f.NewStyle(&excelize.Style{NumFmt: 4}); err == nil && len(reviews) > 0 {
		top, _ := excelize.CoordinatesToCellName(len(p.Criteria)+4, 2)
		bottom, _ := excelize.CoordinatesToCellName(len(p.Criteria)+4, len(reviews)+1)
		_ = f.SetCellStyle(sheet, top, bottom, money)
	}
	_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	s.audit(r, audit.Event{Name: "export", ObjectType: "application", ObjectID: strconv.FormatInt(a.ID, 10),
		Outcome: audit.Success, Detail: map[string]any{"what": "score_sheet"}})
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="scores-`+strconv.FormatInt(a.ID, 10)+`.xlsx"`)
	return f.Write(w)
}
