package server

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/day"
	"ite/internal/postgres"
	"ite/web/page"
	"ite/web/ui"
)

// reportRoutes: enterprise progress reports, their review, and the
// programmes' reporting duty.
func (s *Server) reportRoutes() []route {
	return []route{
		{"GET", "/reports", can(applications.ActionReadReports).inMenu(navReports, "进展报告"), s.handleReports},
		{"GET", "/reports/settings", can(applications.ActionManageReporting).inMenu(navReportSettings, "报告设置"), s.handleReportSettings},
		{"GET", "/reports/{id}", can(applications.ActionReadReports), s.handleReportShow},
		{"POST", "/reports/{id}", can(applications.ActionSubmitReport), s.handleReportSubmit},
		{"POST", "/reports/{id}/review", can(applications.ActionReviewReport), s.handleReportReview},
		{"POST", "/programmes/{id}/reporting", can(applications.ActionManageReporting), s.handleReportingDuty},
	}
}

// Limits of a report submission.
const (
	maxReportFiles      = 5
	maxReportFieldBytes = 64 << 10 // the narrative: 10,000 characters of Chinese fit
)

// ensureReports runs the due-report sweep for what the viewer is about to
// see (sweepDue): an enterprise's own projects on every visit (cheap),
// everything for staff at most once a minute and only when something can
// have fallen due. The periodic job covers the rest.
func (s *Server) ensureReports(r *http.Request) error {
	u := currentUser(r)
	if u.Role != enterprise {
		return s.sweepDue(r, &s.reports)
	}
	if u.EnterpriseID == 0 {
		return nil
	}
	return s.sweepDue(r, s.enterpriseReports(u.EnterpriseID))
}

var reportViews = []ui.Option{
	{Value: "review", Label: "待审核"},
	{Value: "overdue", Label: "已逾期"},
	{Value: "due", Label: "待提交"},
	{Value: "all", Label: "全部"},
}

// handleReports lists progress reports (GET /reports): an enterprise's
// own, or for staff, approvers and auditors one view (?view=review, the
// default, overdue, due or all).
func (s *Server) handleReports(w http.ResponseWriter, r *http.Request) error {
	if err := s.ensureReports(r); err != nil {
		return err
	}
	u := currentUser(r)
	today := day.Today(s.Now())
	v := page.ReportListView{Today: today, Enterprise: u.Role == enterprise, Views: reportViews} // not a permission: the enterprise's own reports
	f := postgres.ReportFilter{}
	if v.Enterprise {
		if u.EnterpriseID == 0 {
			return s.render(w, r, http.StatusOK, page.ReportList(v))
		}
		f.EnterpriseID = u.EnterpriseID
	} else {
		v.View = r.URL.Query().Get("view")
		switch v.View {
		case "overdue":
			f.OverdueOn = today
		case "due":
			f.Status = applications.ReportDue
		case "all":
		default:
			v.View, f.Status = "review", applications.ReportSubmitted
		}
	}
	var err error
	if v.Reports, err = s.DB.ListReports(r.Context(), f); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.ReportList(v))
}

// loadReport finds the route's report if the caller may see its project
// (the application's rule: another enterprise gets 404 and an audit row).
func (s *Server) loadReport(r *http.Request) (applications.ProgressReport, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return applications.ProgressReport{}, err
	}
	rep, err := s.DB.FindReport(r.Context(), id)
	if err != nil {
		return rep, err
	}
	a, err := s.DB.FindApplication(r.Context(), rep.ApplicationID)
	if err != nil {
		return rep, err
	}
	if err := s.checkApplicationAccess(r, a); err != nil {
		return rep, applications.Errorf(applications.NotFound, "报告不存在或您无权查看。")
	}
	return rep, nil
}

// handleReportShow shows one report with the form the viewer may use
// (GET /reports/{id}).
func (s *Server) handleReportShow(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.loadReport(r)
	if err != nil {
		return err
	}
	return s.renderReport(w, r, http.StatusOK, rep, reportForm(rep), nil, "")
}

func reportForm(rep applications.ProgressReport) map[string]string {
	f := map[string]string{"narrative": rep.Narrative}
	if rep.Figures != nil {
		f["revenue"] = rep.Figures.Revenue.StringFixed(2)
		f["rd_spend"] = rep.Figures.RDSpend.StringFixed(2)
		f["headcount"] = strconv.Itoa(rep.Figures.Headcount)
		f["ip_count"] = strconv.Itoa(rep.Figures.IPCount)
		f["rd_staff"] = strconv.Itoa(rep.Figures.RDStaff)
		f["patents"] = strconv.Itoa(rep.Figures.Patents)
		f["copyrights"] = strconv.Itoa(rep.Figures.Copyrights)
		f["new_financing"] = rep.Figures.NewFinancing.StringFixed(2)
	}
	return f
}

func (s *Server) renderReport(w http.ResponseWriter, r *http.Request, status int, rep applications.ProgressReport, form map[string]string, errs ui.Errors, msg string) error {
	u := currentUser(r)
	v := page.ReportView{Report: rep, Today: day.Today(s.Now()), Form: form, Errors: errs, FormError: msg,
		CanSubmit:    u.Role.Can(applications.ActionSubmitReport) && rep.Open(),
		CanReview:    u.Role.Can(applications.ActionReviewReport) && rep.Status == applications.ReportSubmitted,
		MaxUploadMiB: s.maxUpload() >> 20, MaxFiles: maxReportFiles}
	return s.render(w, r, status, page.ReportShow(v))
}

// refuseReport re-renders the report with a domain refusal (Invalid or
// Conflict, with the field's message beside it); other errors go to the
// error page.
func (s *Server) refuseReport(w http.ResponseWriter, r *http.Request, rep applications.ProgressReport, form map[string]string, err error) error {
	k := applications.ErrorKind(err)
	if k != applications.Invalid && k != applications.Conflict && k != applications.TooLarge {
		return err
	}
	if fresh, ferr := s.DB.FindReport(r.Context(), rep.ID); ferr == nil {
		rep = fresh
	}
	errs := ui.Errors{}
	var ae *applications.Error
	msg := applications.ErrorMessage(err)
	if errors.As(err, &ae) && ae.Field != "" {
		errs[ae.Field], msg = ae.Message, "提交的内容有误，请按提示修改。"
	}
	return s.renderReport(w, r, statusOf[k], rep, form, errs, msg)
}

// handleReportSubmit records an enterprise's report with its attachments
// (POST /reports/{id}, multipart: the fields, then up to five files named
// "file"). The fields are checked before a byte of any file is stored;
// files go through blob.Ingest (size limit, SHA-256, type by content) and
// are deleted again if the report does not commit.
func (s *Server) handleReportSubmit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.loadReport(r)
	if err != nil {
		return err
	}
	form := reportForm(rep)
	if !rep.Open() {
		return s.refuseReport(w, r, rep, form, applications.Errorf(applications.Conflict, "该报告当前为「%s」，不能再提交。", rep.Status.Label()))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxReportFiles*s.maxUpload()+2*maxReportFieldBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return s.refuseReport(w, r, rep, form, applications.Errorf(applications.Invalid, "提交格式不正确，请通过页面上的表单提交。"))
	}
	var stored []applications.Document
	cleanup := func() {
		for _, d := range stored {
			if derr := s.Blobs.Delete(r.Context(), d.BlobKey); derr != nil {
				s.Logger.Error("delete orphan blob", "key", d.BlobKey, "err", derr)
			}
		}
	}
	var in applications.ReportInput
	checked := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			cleanup()
			return s.refuseReport(w, r, rep, form, uploadReadError(err))
		}
		if part.FormName() != "file" {
			b, err := io.ReadAll(io.LimitReader(part, maxReportFieldBytes+1))
			if err != nil {
				cleanup()
				return s.refuseReport(w, r, rep, form, uploadReadError(err))
			}
			if len(b) > maxReportFieldBytes {
				cleanup()
				return s.refuseReport(w, r, rep, form, applications.FieldError(part.FormName(), "内容过长。"))
			}
			form[part.FormName()] = string(b)
			if r.PostForm == nil {
				r.PostForm = url.Values{}
			}
			r.PostForm.Set(part.FormName(), string(b)) // for a refusal's page (keepTyped)
			continue
		}
		if !checked {
			if in, err = parseReportForm(form); err != nil {
				return s.refuseReport(w, r, rep, form, err)
			}
			checked = true
		}
		if part.FileName() == "" {
			continue // the browser's empty part when no file was chosen
		}
		if len(stored) == maxReportFiles {
			cleanup()
			return s.refuseReport(w, r, rep, form, applications.FieldError("file", "附件最多 "+strconv.Itoa(maxReportFiles)+" 个，请合并后上传。"))
		}
		key := blob.NewKey("docs", s.Now())
		meta, err := blob.Ingest(r.Context(), s.Blobs, key, part, blob.IngestOptions{MaxBytes: s.maxUpload(), MasterKey: s.MasterKey})
		if err != nil {
			cleanup()
			if k := applications.ErrorKind(err); k == applications.Invalid || k == applications.TooLarge {
				err = &applications.Error{Kind: k, Field: "file", Message: "附件「" + displayName(part.FileName()) + "」：" + applications.ErrorMessage(err)}
			}
			return s.refuseReport(w, r, rep, form, err)
		}
		stored = append(stored, applications.Document{Filename: displayName(part.FileName()), BlobKey: key, Kind: meta.Kind,
			Size: meta.Size, SHA256: meta.SHA256, Encrypted: meta.Encrypted, EncAlg: meta.Algorithm, WrappedKey: meta.WrappedKey})
	}
	if !checked {
		if in, err = parseReportForm(form); err != nil {
			return s.refuseReport(w, r, rep, form, err)
		}
	}
	if _, err := s.DB.SubmitReport(r.Context(), actor(r), rep.ID, in, stored); err != nil {
		cleanup()
		return s.refuseReport(w, r, rep, form, err)
	}
	return s.redirectWithFlash(w, r, "/reports/"+strconv.FormatInt(rep.ID, 10), "进展报告已提交，等待经办人员审核。")
}

// parseReportForm reads the figures and the narrative. Errors: Invalid,
// naming the field.
func parseReportForm(form map[string]string) (applications.ReportInput, error) {
	var in applications.ReportInput
	var err error
	if in.Figures.Revenue, err = applications.ParseAmount(form["revenue"]); err != nil {
		return in, applications.FieldError("revenue", "营业收入："+applications.AmountMessage+"；没有收入请填 0。")
	}
	if in.Figures.RDSpend, err = applications.ParseAmount(form["rd_spend"]); err != nil {
		return in, applications.FieldError("rd_spend", "研发投入："+applications.AmountMessage+"；没有请填 0。")
	}
	if in.Figures.Headcount, err = strconv.Atoi(strings.TrimSpace(form["headcount"])); err != nil || in.Figures.Headcount < 0 {
		return in, applications.FieldError("headcount", "从业人数须为 0 或正整数。")
	}
	if in.Figures.IPCount, err = strconv.Atoi(strings.TrimSpace(form["ip_count"])); err != nil || in.Figures.IPCount < 0 {
		return in, applications.FieldError("ip_count", "知识产权件数须为 0 或正整数。")
	}
	// The indicator figures (DOMAIN §16); blank is 0, so a form opened
	// before they existed still submits.
	count := func(field, msg string, n *int) error {
		v := strings.TrimSpace(form[field])
		if v == "" {
			return nil
		}
		if *n, err = strconv.Atoi(v); err != nil || *n < 0 {
			return applications.FieldError(field, msg)
		}
		return nil
	}
	f := &in.Figures
	for _, c := range []struct {
		field, msg string
		n          *int
	}{{"rd_staff", "研发人员数须为 0 或正整数。", &f.RDStaff}, {"patents", "授权专利件数须为 0 或正整数。", &f.Patents},
		{"copyrights", "软件著作权件数须为 0 或正整数。", &f.Copyrights}} {
		if err := count(c.field, c.msg, c.n); err != nil {
			return in, err
		}
	}
	if v := strings.TrimSpace(form["new_financing"]); v != "" {
		if f.NewFinancing, err = applications.ParseAmount(v); err != nil {
			return in, applications.FieldError("new_financing", "新增融资："+applications.AmountMessage+"；没有请填 0。")
		}
	}
	in.Narrative = form["narrative"]
	in.Version, _ = strconv.Atoi(form["version"])
	return in, in.Validate()
}

// handleReportReview accepts a submitted report or returns it with a
// comment (POST /reports/{id}/review; decision=accept|return).
func (s *Server) handleReportReview(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.loadReport(r)
	if err != nil {
		return err
	}
	decision := r.PostFormValue("decision")
	if decision != "accept" && decision != "return" {
		return s.refuseReport(w, r, rep, reportForm(rep), applications.Errorf(applications.Invalid, "请选择“审核通过”或“退回修改”。"))
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	if _, err := s.DB.ReviewReport(r.Context(), actor(r), rep.ID, decision == "accept", r.PostFormValue("comment"), version); err != nil {
		return s.refuseReport(w, r, rep, reportForm(rep), err)
	}
	msg := "报告已审核通过，已通知企业。"
	if decision == "return" {
		msg = "报告已退回，企业会看到您的意见。"
	}
	return s.redirectWithFlash(w, r, "/reports/"+strconv.FormatInt(rep.ID, 10), msg)
}

var cadenceOptions = []ui.Option{
	{Value: "1", Label: "每月"}, {Value: "3", Label: "每季度"}, {Value: "6", Label: "每半年"}, {Value: "12", Label: "每年"},
}

// handleReportSettings lists the programmes' reporting duties
// (GET /reports/settings).
func (s *Server) handleReportSettings(w http.ResponseWriter, r *http.Request) error {
	return s.renderReportSettings(w, r, http.StatusOK, "")
}

func (s *Server) renderReportSettings(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	duties, err := s.DB.ListReportingDuties(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, r, status, page.ReportSettings(page.ReportSettingsView{Duties: duties, Cadences: cadenceOptions, FormError: msg}))
}

// handleReportingDuty sets a programme's reporting cadence and grace
// period (POST /programmes/{id}/reporting).
func (s *Server) handleReportingDuty(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cadence, err1 := strconv.Atoi(r.PostFormValue("cadence"))
	grace, err2 := strconv.Atoi(strings.TrimSpace(r.PostFormValue("grace")))
	if err1 != nil || err2 != nil {
		return s.renderReportSettings(w, r, http.StatusUnprocessableEntity, "请选择报告周期并填写提交期限（天数）。")
	}
	if err := s.DB.SetReportingDuty(r.Context(), actor(r), id, cadence, grace); err != nil {
		if applications.ErrorKind(err) == applications.Invalid {
			return s.renderReportSettings(w, r, http.StatusUnprocessableEntity, applications.ErrorMessage(err))
		}
		return err
	}
	return s.redirectWithFlash(w, r, "/reports/settings", "报告设置已保存。")
}
