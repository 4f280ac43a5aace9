package server

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/day"
	"ite/internal/postgres"
)

// fund puts an application straight into the funded state as of a date,
// the way the first approved disbursement leaves it (the disbursement
// itself is not needed by the reporting rules, which fall back to the
// date of the transition to funded).
func (e *env) fund(appID int64, on time.Time) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `UPDATE applications SET state = 'funded', state_changed_at = $2 WHERE id = $1`, appID, on); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO application_transitions (application_id, from_state, to_state, actor_name, actor_role, at)
		VALUES ($1, 'contracted', 'funded', 'test', 'approver', $2)`, appID, on); err != nil {
		e.t.Fatal(err)
	}
}

// otherEnterprise signs in a user of a second enterprise.
func (e *env) otherEnterprise() *client {
	e.t.Helper()
	ctx := context.Background()
	ent, err := e.db.CreateEnterprise(ctx, audit.Actor{Name: "test"}, "另一家科技有限公司", applications.ExampleUSCC(99))
	if err != nil {
		e.t.Fatal(err)
	}
	hash, _ := auth.HashPassword(testPassword, fastParams)
	if _, err := e.db.CreateUser(ctx, audit.Actor{Name: "test"}, postgres.NewUser{Username: "other.ent", DisplayName: "王五",
		Role: applications.RoleEnterprise, PasswordHash: hash, EnterpriseID: ent.ID}); err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	if r := c.login("other.ent", testPassword); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login other.ent: %d", r.StatusCode)
	}
	return c
}

// reportFile is one attachment of a report submission.
type reportFile struct {
	name    string
	content []byte
}

// submitReport posts the report form as the page does: fields, then files.
func (c *client) submitReport(id int64, fields map[string]string, files ...reportFile) response {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", c.csrf) // first, as the page's form sends it
	for _, k := range []string{"version", "revenue", "rd_spend", "headcount", "ip_count", "narrative"} {
		if v, ok := fields[k]; ok {
			_ = mw.WriteField(k, v)
		}
	}
	if len(files) == 0 {
		_, _ = mw.CreateFormFile("file", "") // a browser's empty file input
	}
	for _, f := range files {
		fw, _ := mw.CreateFormFile("file", f.name)
		_, _ = fw.Write(f.content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.e.http.URL+"/reports/"+itoa(id), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func validReport() map[string]string {
	return map[string]string{"revenue": "1250000.50", "rd_spend": "380000", "headcount": "36", "ip_count": "4",
		"narrative": "中试线已建成并通过验收，完成首批样品交付。"}
}

func reportRows(c *client, path string) map[string]string {
	c.e.t.Helper()
	r := c.get(path)
	if r.StatusCode != http.StatusOK {
		c.e.t.Fatalf("GET %s: %d", path, r.StatusCode)
	}
	rows := map[string]string{}
	r.doc(c.e.t).Find("#report-table tbody tr").Each(func(_ int, tr *goquery.Selection) {
		id, _ := tr.Attr("data-id")
		status, _ := tr.Attr("data-status")
		if tr.HasClass("overdue") {
			status += "+overdue"
		}
		rows[id] = status
	})
	return rows
}

func TestProgressReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	appID := ent.createApplication(p.ID, "1000000.00")
	// Funded on 10 August: the first half-yearly report covers 10 Aug – 31 Dec.
	e.fund(appID, time.Date(2026, 8, 10, 2, 0, 0, 0, time.UTC))
	other := e.otherEnterprise()
	var staffC *client
	// Sessions expire while the clock jumps months ahead: sign in again.
	relogin := func() {
		ent, staffC = e.loggedIn(applications.RoleEnterprise), e.loggedIn(applications.RoleStaff)
		if r := other.login("other.ent", testPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login other.ent: %d", r.StatusCode)
		}
	}

	if rows := reportRows(ent, "/reports"); len(rows) != 0 {
		t.Fatalf("reports before the period ended: %v", rows)
	}

	e.clock.Advance(41 * 24 * time.Hour) // 2027-01-05
	relogin()
	rows := reportRows(ent, "/reports")
	if len(rows) != 1 {
		t.Fatalf("after the period ended: %v, want one due report", rows)
	}
	var idText string
	for k := range rows {
		idText = k
	}
	id, _ := strconv.ParseInt(idText, 10, 64)
	if rows[idText] != "due" {
		t.Fatalf("status %q, want due (not yet overdue)", rows[idText])
	}
	rep, err := e.db.FindReport(context.Background(), id)
	if err != nil || rep.PeriodLabel() != "2026年8月10日 至 2026年12月31日" || rep.DueOn.Format(time.DateOnly) != "2027-01-30" {
		t.Fatalf("report %+v %v", rep, err)
	}
	inbox := ent.get("/inbox").doc(t)
	if link, _ := inbox.Find("#inbox a").First().Attr("href"); link == "" || !strings.Contains(inbox.Find("#inbox").Text(), "进展报告待提交") {
		t.Fatalf("no inbox item for the due report:\n%s", inbox.Find("#inbox").Text())
	}

	t.Run("OtherEnterpriseGets404", func(t *testing.T) {
		if r := other.get("/reports/" + idText); r.StatusCode != http.StatusNotFound {
			t.Fatalf("GET: %d", r.StatusCode)
		}
		if r := other.submitReport(id, validReport()); r.StatusCode != http.StatusNotFound {
			t.Fatalf("POST: %d", r.StatusCode)
		}
		if rows := reportRows(other, "/reports"); len(rows) != 0 {
			t.Fatalf("listed to another enterprise: %v", rows)
		}
		if count(e.auditEvents(), "access_refused") < 2 {
			t.Fatal("refusals not audit-logged")
		}
	})

	t.Run("OverdueListing", func(t *testing.T) {
		e.clock.Advance(27 * 24 * time.Hour) // 2027-02-01: due date 30 Jan has passed
		relogin()
		rows := reportRows(staffC, "/reports?view=overdue")
		if rows[idText] != "due+overdue" {
			t.Fatalf("overdue view: %v", rows)
		}
		od, err := e.db.ListOverdueReports(context.Background(), day.Today(e.clock.Now()))
		if err != nil || len(od) != 1 || od[0].ID != id {
			t.Fatalf("ListOverdueReports = %v, %v", od, err)
		}
		if d := ent.get("/reports/" + idText).doc(t); d.Find(".overdue-badge").Length() != 1 {
			t.Fatal("the enterprise does not see that its report is overdue")
		}
	})

	t.Run("SubmitRefusesBadFiguresBeforeStoringFiles", func(t *testing.T) {
		ent.get("/reports/" + idText)
		bad := validReport()
		bad["revenue"] = "1,25,0000" // not an amount (3,000,000 and 300万 are)
		blobs := e.blobCount()
		r := ent.submitReport(id, bad, reportFile{"报表.pdf", pdf})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		if d.Find(".field.has-error #f-revenue").Length() != 1 || d.Find(`#f-narrative`).Text() != bad["narrative"] {
			t.Fatalf("the form does not point at revenue or lost the narrative:\n%s", d.Find("#submit-report-form").Text())
		}
		if e.blobCount() != blobs {
			t.Fatal("a file was stored for a refused submission")
		}
		if r := ent.submitReport(id, validReport(), reportFile{"evil.exe", []byte("MZ\x90\x00 not a pdf")}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("an executable attachment: %d", r.StatusCode)
		}
		if e.blobCount() != blobs {
			t.Fatal("a refused attachment left its blob")
		}
	})

	var docID string
	t.Run("SubmitWithAttachment", func(t *testing.T) {
		ent.get("/reports/" + idText)
		r := ent.submitReport(id, validReport(), reportFile{"2026年下半年财务报表.pdf", pdf})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/reports/"+idText {
			t.Fatalf("submit: %d %s %s", r.StatusCode, r.Header.Get("Location"), r.doc(t).Find("[role=alert]").Text())
		}
		d := ent.get("/reports/" + idText).doc(t)
		if s, _ := d.Find("#report-status .badge").Attr("data-status"); s != "submitted" {
			t.Fatalf("status %q", s)
		}
		if got := d.Find(`#report-figures [data-field="revenue"]`).Text(); got != "1,250,000.50 元" {
			t.Errorf("revenue shown as %q", got)
		}
		if d.Find("#submit-report-form").Length() != 0 {
			t.Error("the form is still offered after submitting")
		}
		link := d.Find("#report-documents a")
		docID = strings.TrimPrefix(link.AttrOr("href", ""), "/documents/")
		if link.Length() != 1 || link.Text() != "2026年下半年财务报表.pdf" {
			t.Fatalf("attachments: %q", link.Text())
		}
		if r := ent.get("/documents/" + docID); r.StatusCode != http.StatusOK || r.body != string(pdf) {
			t.Fatalf("download: %d", r.StatusCode)
		}
		if r := other.get("/documents/" + docID); r.StatusCode != http.StatusNotFound {
			t.Fatalf("another enterprise downloads the attachment: %d", r.StatusCode)
		}
		if rows := reportRows(staffC, "/reports?view=overdue"); len(rows) != 0 {
			t.Fatalf("still overdue after submitting: %v", rows)
		}
		if !strings.Contains(staffC.get("/inbox").doc(t).Find("#inbox").Text(), "企业已提交进展报告") {
			t.Error("staff were not notified")
		}
		if r := ent.submitReport(id, validReport()); r.StatusCode != http.StatusConflict {
			t.Fatalf("second submission: %d", r.StatusCode)
		}
	})

	t.Run("StaffReturnsWithComment", func(t *testing.T) {
		if rows := reportRows(staffC, "/reports"); rows[idText] != "submitted" {
			t.Fatalf("review queue: %v", rows)
		}
		d := staffC.get("/reports/" + idText).doc(t)
		version := d.Find(`#review-report-form input[name=version]`).AttrOr("value", "")
		if r := e.loggedIn(applications.RoleApprover).post("/reports/"+idText+"/review", url.Values{"decision": {"accept"}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("an approver reviewed: %d", r.StatusCode)
		}
		if r := staffC.post("/reports/"+idText+"/review", url.Values{"decision": {"return"}, "version": {version}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("return without a comment: %d", r.StatusCode)
		}
		r := staffC.post("/reports/"+idText+"/review", url.Values{"decision": {"return"}, "version": {version},
			"comment": {"请补充研发投入明细表。"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("return: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		d = ent.get("/reports/" + idText).doc(t)
		if !strings.Contains(d.Find("#review-comment").Text(), "请补充研发投入明细表。") {
			t.Fatal("the enterprise does not see the comment")
		}
		if v, _ := d.Find("#f-revenue").Attr("value"); v != "1,250,000.50" {
			t.Fatalf("resubmission form not prefilled: revenue %q", v)
		}
		if rows := reportRows(staffC, "/reports?view=overdue"); rows[idText] != "returned+overdue" {
			t.Fatalf("a returned report past its due date is owed again: %v", rows)
		}
	})

	t.Run("ResubmitAndAccept", func(t *testing.T) {
		fields := validReport()
		fields["narrative"] += "已补充研发投入明细。"
		if r := ent.submitReport(id, fields, reportFile{"研发投入明细.pdf", pdf}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("resubmit: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		staffC.get("/reports/" + idText)
		if r := staffC.post("/reports/"+idText+"/review", url.Values{"decision": {"accept"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("accept: %d", r.StatusCode)
		}
		d := ent.get("/reports/" + idText).doc(t)
		if s, _ := d.Find("#report-status .badge").Attr("data-status"); s != "accepted" || d.Find("#report-documents li").Length() != 2 {
			t.Fatalf("status %q with %d attachments", s, d.Find("#report-documents li").Length())
		}
		if !strings.Contains(ent.get("/inbox").doc(t).Find("#inbox").Text(), "进展报告已通过") {
			t.Error("the enterprise was not told")
		}
		if r := staffC.post("/reports/"+idText+"/review", url.Values{"decision": {"return"}, "comment": {"再改"}}); r.StatusCode != http.StatusConflict {
			t.Fatalf("reviewing an accepted report: %d", r.StatusCode)
		}
		events := e.auditEvents()
		if count(events, "progress_report_due") != 1 || count(events, "progress_report_submit") != 2 || count(events, "progress_report_review") != 2 {
			t.Fatalf("audit events: %v", events)
		}
	})
}

func TestReportSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	adm := e.loggedIn(applications.RoleAdmin)
	d := adm.get("/reports/settings").doc(t)
	row := d.Find(`#duty-table tr[data-id="` + itoa(p.ID) + `"]`)
	if v, _ := row.Find(`select[name=cadence] option[selected]`).Attr("value"); v != "6" {
		t.Fatalf("default cadence shown as %q", v)
	}
	if r := adm.post("/programmes/"+itoa(p.ID)+"/reporting", url.Values{"cadence": {"4"}, "grace": {"30"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("cadence 4: %d", r.StatusCode)
	}
	if r := adm.post("/programmes/"+itoa(p.ID)+"/reporting", url.Values{"cadence": {"3"}, "grace": {"15"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", r.StatusCode)
	}
	duties, _ := e.db.ListReportingDuties(context.Background())
	if len(duties) != 1 || duties[0].CadenceMonths != 3 || duties[0].GraceDays != 15 {
		t.Fatalf("duties = %+v", duties)
	}
	if count(e.auditEvents(), "programme_reporting") != 1 {
		t.Fatal("not audit-logged")
	}
}
