package server

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/fixture"
	"ite/internal/postgres"
)

// pdf is a small file that sniffs as PDF.
var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// openProgramme creates an open programme whose window contains the test
// clock's date.
func (e *env) openProgramme() applications.Programme {
	e.t.Helper()
	p, err := fixture.OpenProgramme(context.Background(), e.db, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// validApplicationForm is a valid form for the given amount (budget in two lines).
func validApplicationForm(programmeID int64, amount string) url.Values {
	d := decimal.RequireFromString(amount)
	half := d.Div(decimal.NewFromInt(2)).Truncate(2)
	return url.Values{
		"programme_id": {strconv.FormatInt(programmeID, 10)}, "title": {"高性能储能材料中试"},
		"sector": {"new_energy_materials"}, "requested_amount": {amount},
		"lead_name": {"刘负责"}, "lead_mobile": {"13800001111"},
		"summary": {"项目概述"}, "technology": {"技术"}, "team": {"团队"}, "market": {"市场"},
		"budget_item":    {"设备", "研发人员"},
		"budget_amount":  {half.StringFixed(2), d.Sub(half).StringFixed(2)},
		"milestone_date": {"2027-06-30"},
		"milestone_text": {"完成中试线"},
	}
}

// createApplication posts the form as the enterprise and returns the new ID.
func (c *client) createApplication(programmeID int64, amount string) int64 {
	c.e.t.Helper()
	c.get("/applications/new")
	r := c.post("/applications", validApplicationForm(programmeID, amount))
	if r.StatusCode != http.StatusSeeOther {
		c.e.t.Fatalf("create application: %d %s", r.StatusCode, r.doc(c.e.t).Find(`[role=alert]`).Text())
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(r.Header.Get("Location"), "/applications/"), 10, 64)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return id
}

// upload sends one file the way the page's XHR does.
func (c *client) upload(appID int64, item applications.Material, fields map[string]string, filename string, content io.Reader) response {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", filename)
	_, _ = io.Copy(fw, content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.e.http.URL+"/applications/"+strconv.FormatInt(appID, 10)+"/documents?item="+string(item), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Upload", "1")
	req.Header.Set("X-CSRF-Token", c.csrf)
	return c.do(req)
}

// validFields gives each material the structured value it needs.
func (e *env) validFields(item applications.Material, uscc string) map[string]string {
	switch item.Field() {
	case applications.FieldUSCCOnItem:
		return map[string]string{"uscc": uscc}
	case applications.FieldIDOnItem:
		return map[string]string{"id_number": "11010519491231002X"}
	case applications.FieldIssueOnItem:
		return map[string]string{"issue_date": e.clock.Now().AddDate(0, 0, -10).Format(time.DateOnly)}
	}
	return nil
}

func (e *env) uploadAll(c *client, appID int64) {
	e.t.Helper()
	a, _ := e.db.FindApplication(context.Background(), appID)
	for _, m := range applications.DefaultRequiredMaterials {
		if r := c.upload(appID, m, e.validFields(m, a.EnterpriseUSCC), string(m)+".pdf", bytes.NewReader(pdf)); r.StatusCode != http.StatusOK {
			e.t.Fatalf("upload %s: %d %s", m, r.StatusCode, r.body)
		}
	}
}

func (e *env) blobCount() int {
	n := 0
	_ = filepath.WalkDir(e.srv.Blobs.(*blob.Local).Dir(), func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}

// multipartWriter writes a one-file multipart body and returns its
// content type.
func multipartWriter(body *bytes.Buffer, field, filename string, content []byte) string {
	mw := multipart.NewWriter(body)
	fw, _ := mw.CreateFormFile(field, filename)
	_, _ = fw.Write(content)
	_ = mw.Close()
	return mw.FormDataContentType()
}

// multipartWriterFields writes fields then one file; returns the content
// type. A csrf_token field goes first, as the page's forms send it.
func multipartWriterFields(body *strings.Builder, fields map[string]string, field, filename string, content []byte) string {
	mw := multipart.NewWriter(body)
	if tok, ok := fields["csrf_token"]; ok {
		_ = mw.WriteField("csrf_token", tok)
	}
	for k, v := range fields {
		if k == "csrf_token" {
			continue
		}
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, filename)
	_, _ = fw.Write(content)
	_ = mw.Close()
	return mw.FormDataContentType()
}

// postMultipart sends a form with one file as a plain browser form would
// (the CSRF token as the first part, never in the URL).
func (c *client) postMultipart(path string, form url.Values, field, filename string, content []byte) response {
	c.e.t.Helper()
	var body strings.Builder
	fields := map[string]string{"csrf_token": c.csrf}
	for k := range form {
		fields[k] = form.Get(k)
	}
	ct := multipartWriterFields(&body, fields, field, filename, content)
	req, _ := http.NewRequest("POST", c.e.http.URL+path, strings.NewReader(body.String()))
	req.Header.Set("Content-Type", ct)
	return c.do(req)
}

func TestApplicationBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	c := e.loggedIn(applications.RoleEnterprise)
	c.get("/applications/new")
	cases := []struct {
		name   string
		change func(url.Values)
		field  string
		text   string
	}{
		{"AmountOverCap", func(v url.Values) {
			v.Set("requested_amount", "10000000.01")
			v["budget_amount"] = []string{"5000000.00", "5000000.01"}
		}, "requested_amount", "上限"},
		{"AmountWithThreeDecimals", func(v url.Values) { v.Set("requested_amount", "1000.005") }, "requested_amount", "两位小数"},
		{"BudgetNotSumming", func(v url.Values) { v["budget_amount"] = []string{"1.00", "2.00"} }, "budget", "不一致"},
		{"BadMobile", func(v url.Values) { v.Set("lead_mobile", "12345") }, "lead_mobile", "手机"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := validApplicationForm(p.ID, "8000000.00")
			tc.change(form)
			r := c.post("/applications", form)
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", r.StatusCode)
			}
			msg := r.doc(t).Find("#f-" + tc.field).Parent().Find(".error").Text()
			if tc.field == "budget" {
				msg = r.doc(t).Find("#budget-table").Parent().Find(".error").Text()
			}
			if !strings.Contains(msg, tc.text) {
				t.Fatalf("field %s error %q, want it to mention %q", tc.field, msg, tc.text)
			}
		})
	}
	t.Run("NothingWritten", func(t *testing.T) {
		apps, _ := e.db.ListApplications(context.Background(), postgres.QueueFilter{})
		if len(apps) != 0 {
			t.Fatalf("%d applications written by refused forms", len(apps))
		}
	})
	t.Run("ClosedProgrammeRefused", func(t *testing.T) {
		closed := p
		closed.Status, closed.Version = applications.ProgrammeClosed, p.Version
		if _, err := e.db.UpdateProgramme(context.Background(), audit.Actor{Name: "t"}, closed); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cur, _ := e.db.FindProgramme(context.Background(), p.ID)
			cur.Status = applications.ProgrammeOpen
			_, _ = e.db.UpdateProgramme(context.Background(), audit.Actor{Name: "t"}, cur)
		}()
		r := c.post("/applications", validApplicationForm(p.ID, "8000000.00"))
		if r.StatusCode != http.StatusConflict || !(strings.Contains(r.body, "暂不接受申报") || strings.Contains(r.body, "没有开放申报的批次")) {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}

func TestApplicationOptimisticLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	c := e.loggedIn(applications.RoleEnterprise)
	id := c.createApplication(p.ID, "8000000.00")
	path := "/applications/" + strconv.FormatInt(id, 10)
	tab1 := validApplicationForm(p.ID, "8000000.00")
	tab1.Set("version", "1")
	tab2 := validApplicationForm(p.ID, "6000000.00")
	tab2["budget_amount"] = []string{"3000000.00", "3000000.00"}
	tab2.Set("version", "1")
	tab1.Set("title", "第一个窗口的标题")
	if r := c.post(path, tab1); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first save %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	r := c.post(path, tab2)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "刷新页面") {
		t.Fatalf("second tab overwrote: %d", r.StatusCode)
	}
	a, _ := e.db.FindApplication(context.Background(), id)
	if a.Title != "第一个窗口的标题" || a.RequestedAmount.StringFixed(2) != "8000000.00" {
		t.Fatalf("stored %q %s", a.Title, a.RequestedAmount)
	}
}

func TestApplicationJourney(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "8000000.00")
	path := "/applications/" + strconv.FormatInt(id, 10)

	t.Run("SubmitRefusedWhileMaterialsMissing", func(t *testing.T) {
		ent.get(path)
		r := ent.post(path+"/submit", nil)
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "营业执照复印件") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	e.uploadAll(ent, id)
	t.Run("IDNumberMaskedAndEncrypted", func(t *testing.T) {
		d := ent.get(path).doc(t)
		if got := d.Find("#item-legal_rep_id").Text(); !strings.Contains(got, "1101**********002X") || strings.Contains(got, "19491231") {
			t.Fatalf("legal rep row: %q", got)
		}
		var plain int
		_ = e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE id_cipher::text LIKE '%19491231%' OR id_masked LIKE '%19491231%'`).Scan(&plain)
		if plain != 0 {
			t.Fatal("ID number stored in the clear")
		}
	})
	t.Run("SensitiveBlobEncryptedAtRest", func(t *testing.T) {
		docs, _ := e.db.ListDocuments(ctx, id)
		for _, d := range docs {
			raw, err := os.ReadFile(filepath.Join(e.srv.Blobs.(interface{ Dir() string }).Dir(), d.BlobKey))
			if err != nil {
				t.Fatal(err)
			}
			if d.Item.Sensitive() != d.Encrypted || (d.Encrypted && bytes.Contains(raw, []byte("%PDF"))) {
				t.Fatalf("%s: encrypted=%v, plaintext visible=%v", d.Item, d.Encrypted, bytes.Contains(raw, []byte("%PDF")))
			}
		}
	})
	ent.get(path)
	if r := ent.post(path+"/precheck", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("precheck %d", r.StatusCode)
	}
	staffC := e.loggedIn(applications.RoleStaff)
	staffC.get(path)
	if r := staffC.post(path+"/comments", url.Values{"item": {"business_license"}, "body": {"请上传加盖公章的版本"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("comment %d", r.StatusCode)
	}
	if r := ent.post(path+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	t.Run("EnterpriseCannotUploadAfterSubmit", func(t *testing.T) {
		r := ent.upload(id, applications.MaterialOther, nil, "x.pdf", bytes.NewReader(pdf))
		if r.StatusCode != http.StatusConflict {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	staffC.get(path)
	t.Run("CannotFinishWithItemsUnjudged", func(t *testing.T) {
		if r := staffC.post(path+"/review/accept", nil); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "未审查") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	for _, m := range applications.DefaultRequiredMaterials {
		form := url.Values{"decision": {"accept"}}
		if m == applications.MaterialIntegrityPledge {
			form = url.Values{"decision": {"return"}, "reason": {"缺少公章，请盖章后重新扫描上传"}}
		}
		if r := staffC.post(path+"/materials/"+string(m)+"/review", form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("review %s: %d", m, r.StatusCode)
		}
	}
	t.Run("ReturnWithoutReasonRefused", func(t *testing.T) {
		r := staffC.post(path+"/materials/authenticity_declaration/review", url.Values{"decision": {"return"}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	if r := staffC.post(path+"/review/return", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("return %d %s", r.StatusCode, r.body)
	}
	t.Run("EnterpriseSeesReasonBesideItem", func(t *testing.T) {
		d := ent.get(path).doc(t)
		row := d.Find("#item-integrity_pledge")
		if st, _ := row.Attr("data-status"); st != "returned" || !strings.Contains(row.Find(".return-reason").Text(), "缺少公章") {
			t.Fatalf("row status %q text %q", st, row.Text())
		}
		if st, _ := d.Find("#app-title .badge").Attr("data-state"); st != "returned" {
			t.Fatalf("state %q", st)
		}
	})
	if r := ent.upload(id, applications.MaterialIntegrityPledge, nil, "pledge-sealed.pdf", bytes.NewReader(pdf)); r.StatusCode != 200 {
		t.Fatalf("replace %d %s", r.StatusCode, r.body)
	}
	ent.get(path)
	if r := ent.post(path+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resubmit %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	staffC.get(path)
	if r := staffC.post(path+"/materials/integrity_pledge/review", url.Values{"decision": {"accept"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept replaced: %d", r.StatusCode)
	}
	if r := staffC.post(path+"/review/accept", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept review %d %s", r.StatusCode, r.body)
	}
	t.Run("ReachesUnderReviewWithTimeline", func(t *testing.T) {
		a, _ := e.db.FindApplication(ctx, id)
		if a.State != applications.StateUnderReview {
			t.Fatalf("state %s", a.State)
		}
		tl, _ := e.db.Timeline(ctx, id)
		var got []string
		for _, tr := range tl {
			got = append(got, string(tr.To))
		}
		want := "draft submitted returned submitted under_review"
		if strings.Join(got, " ") != want {
			t.Fatalf("timeline %v", got)
		}
		if n := staffC.get(path).doc(t).Find("#timeline li").Length(); n != 5 {
			t.Fatalf("timeline shows %d entries", n)
		}
	})
	t.Run("OldVersionsReadableByStaff", func(t *testing.T) {
		docs, _ := e.db.ListDocuments(ctx, id)
		for _, d := range docs {
			if d.Item == applications.MaterialIntegrityPledge && d.Version == 1 {
				r := staffC.get("/documents/" + strconv.FormatInt(d.ID, 10))
				if r.StatusCode != 200 || r.body != string(pdf) {
					t.Fatalf("old version: %d", r.StatusCode)
				}
				return
			}
		}
		t.Fatal("no version 1")
	})
	t.Run("TwoStaffActingAtOnceOneWins", func(t *testing.T) {
		a, _ := e.db.FindApplication(ctx, id)
		_, err1 := e.db.TransitionApplication(ctx, audit.Actor{Name: "a"}, id, applications.StateReviewed, "", nil)
		_, err2 := e.db.TransitionApplication(ctx, audit.Actor{Name: "b"}, id, applications.StateReviewed, "", nil)
		if (err1 == nil) == (err2 == nil) || a.State != applications.StateUnderReview {
			t.Fatalf("err1=%v err2=%v", err1, err2)
		}
	})
}

func TestApplicationAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	owner := e.loggedIn(applications.RoleEnterprise)
	id := owner.createApplication(p.ID, "8000000.00")
	e.uploadAll(owner, id)
	docs, _ := e.db.ListDocuments(ctx, id)
	var idCopy, form int64
	for _, d := range docs {
		switch d.Item {
		case applications.MaterialLegalRepID:
			idCopy = d.ID
		case applications.MaterialApplicationForm:
			form = d.ID
		}
	}
	// a second enterprise with its own user
	rival, err := e.db.CreateEnterprise(ctx, audit.Actor{Name: "t"}, "竞争对手有限公司", applications.ExampleUSCC(77))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(testPassword, fastParams)
	if _, err := e.db.CreateUser(ctx, audit.Actor{Name: "t"}, postgres.NewUser{Username: "rival", DisplayName: "对手",
		Role: applications.RoleEnterprise, PasswordHash: hash, EnterpriseID: rival.ID}); err != nil {
		t.Fatal(err)
	}
	other := e.client()
	other.login("rival", testPassword)
	cases := []struct {
		name   string
		c      *client
		path   string
		status int
	}{
		{"OtherEnterpriseApplication404", other, "/applications/" + strconv.FormatInt(id, 10), 404},
		{"OtherEnterpriseDocument404", other, "/documents/" + strconv.FormatInt(form, 10), 404},
		{"ExpertIDCopy403", e.loggedIn(applications.RoleExpert), "/documents/" + strconv.FormatInt(idCopy, 10), 403},
		{"ExpertUnassignedApplication404", e.loggedIn(applications.RoleExpert), "/documents/" + strconv.FormatInt(form, 10), 404},
		{"OwnerDocument200", owner, "/documents/" + strconv.FormatInt(idCopy, 10), 200},
		{"AuditorDocument200", e.loggedIn(applications.RoleAuditor), "/documents/" + strconv.FormatInt(idCopy, 10), 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.get(tc.path)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d", r.StatusCode)
			}
			if tc.status == 200 {
				if r.body != string(pdf) || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
					!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
					t.Fatalf("download headers %v", r.Header)
				}
			}
		})
	}
	t.Run("StaffPreviewInline", func(t *testing.T) {
		staffC := e.loggedIn(applications.RoleStaff)
		href, ok := staffC.get("/applications/" + strconv.FormatInt(id, 10)).doc(t).Find("#item-application_form .preview-link").Attr("href")
		if !ok {
			t.Fatal("no preview link for staff")
		}
		r := staffC.get(href)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") || r.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("preview: %d %v", r.StatusCode, r.Header)
		}
		if owner.get("/applications/"+strconv.FormatInt(id, 10)).doc(t).Find(".preview-link").Length() != 0 {
			t.Fatal("preview offered to the enterprise")
		}
	})
	t.Run("Audited", func(t *testing.T) {
		ev := e.auditEvents()
		if count(ev, "access_refused") < 2 || count(ev, "document_view_refused") != 1 || count(ev, "document_view") != 2 {
			t.Fatalf("audit: refused=%d view_refused=%d views=%d", count(ev, "access_refused"), count(ev, "document_view_refused"), count(ev, "document_view"))
		}
	})
}

func TestQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	var ids []int64
	for i := range 55 {
		e.clock.Advance(time.Minute)
		ids = append(ids, ent.createApplication(p.ID, strconv.Itoa(1000000+i)+".00"))
	}
	c := e.loggedIn(applications.RoleStaff)
	r := c.get("/applications")
	rows := r.doc(t).Find("#queue-table tbody tr")
	if rows.Length() != 50 {
		t.Fatalf("first page has %d rows", rows.Length())
	}
	if first, _ := rows.First().Attr("data-id"); first != strconv.FormatInt(ids[0], 10) {
		t.Fatalf("longest waiting not first: %s", first)
	}
	next, ok := r.doc(t).Find("#next-page").Attr("href")
	if !ok {
		t.Fatal("no next page link")
	}
	if n := c.get(next).doc(t).Find("#queue-table tbody tr").Length(); n != 5 {
		t.Fatalf("second page has %d rows", n)
	}
	a, _ := e.db.FindApplication(ctx, ids[0])
	for _, q := range []string{"uscc", "name"} {
		term := a.EnterpriseUSCC
		if q == "name" {
			term = "测试科技"
		}
		if n := c.get("/applications?q=" + url.QueryEscape(term)).doc(t).Find("#queue-table tbody tr").Length(); n != 50 {
			t.Fatalf("search by %s: %d rows", q, n)
		}
	}
	if n := c.get("/applications?q=" + url.QueryEscape("不存在的公司")).doc(t).Find("#queue-table tbody tr").Length(); n != 0 {
		t.Fatalf("search for nothing: %d rows", n)
	}
	if n := c.get("/applications?state=submitted").doc(t).Find("#queue-table tbody tr").Length(); n != 0 {
		t.Fatalf("state filter: %d rows", n)
	}
	if r := c.get("/applications?after=garbage"); r.StatusCode != 422 {
		t.Fatalf("bad cursor: %d", r.StatusCode)
	}
	t.Run("EnterpriseSeesNextStep", func(t *testing.T) {
		d := ent.get("/applications").doc(t)
		if !strings.Contains(d.Find("#my-applications tbody tr").First().Text(), "上传全部必需材料") {
			t.Fatal("no next step shown")
		}
	})
}
