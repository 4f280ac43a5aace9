package server

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/fixture"
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

func TestRegisterEnterprise(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := func(uscc, username string) url.Values {
		return url.Values{"name": {"新注册科技有限公司"}, "uscc": {uscc}, "legal_rep": {"周法人"},
			"registered_capital": {"2000000.00"}, "founded_on": {"2021-03-01"}, "address": {"呼和浩特经开区如意和大街1号"},
			"contact_name": {"吴联系"}, "contact_mobile": {"13912345678"}, "username": {username}, "password": {"Register-2026"}}
	}
	c := e.client()
	c.get("/register")
	good := applications.ExampleUSCC(42)
	t.Run("RegistersAndSignsIn", func(t *testing.T) {
		if r := c.post("/register", form(good, "newco")); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d: %s", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		if r := e.client().login("newco", "Register-2026"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("cannot sign in: %d", r.StatusCode)
		}
	})
	t.Run("DuplicateUSCCRefused", func(t *testing.T) {
		c.get("/register")
		r := c.post("/register", form(good, "newco2"))
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "已注册") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("WrongCheckDigitRefused", func(t *testing.T) {
		bad := good[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", good[17])+1)%31])
		c.get("/register")
		r := c.post("/register", form(bad, "newco3"))
		if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(".field.has-error").Length() == 0 {
			t.Fatalf("status %d", r.StatusCode)
		}
		users, _ := e.db.ListUsers(context.Background())
		for _, u := range users {
			if u.Username == "newco3" {
				t.Fatal("user written despite refusal")
			}
		}
	})
}

func TestProgrammeSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(applications.RoleAdmin)
	d := c.get("/programmes/new").doc(t)
	if href, _ := d.Find("#report-settings-link a").Attr("href"); href != "/reports/settings" {
		t.Fatalf("the programme form does not point to the report settings (href %q)", href)
	}
	form := url.Values{}
	d.Find("#programme-form input, #programme-form textarea, #programme-form select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		if name == "" || name == "csrf_token" {
			return
		}
		if typ, _ := s.Attr("type"); typ == "checkbox" {
			if _, checked := s.Attr("checked"); checked {
				v, _ := s.Attr("value")
				form.Add(name, v)
			}
			return
		}
		if s.Is("select") {
			v, _ := s.Find("option[selected]").Attr("value")
			form.Set(name, v)
			return
		}
		if s.Is("textarea") {
			form.Set(name, s.Text())
			return
		}
		v, _ := s.Attr("value")
		form.Add(name, v)
	})
	if form.Get("project_cap") != "10000000.00" || form.Get("panel_size") != "5" || form.Get("pass_score") != "70" ||
		form.Get("notice_working_days") != "5" || form.Get("credit_report_max_age_days") != "90" || len(form["materials"]) != 8 {
		t.Fatalf("defaults not offered: %v", form)
	}
	form.Set("total_budget", "50000000.00")
	t.Run("BadTermsRefused", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("terms_template", strings.Replace(form.Get("terms_template"), `"0.20"`, `"1.5"`, 1))
		r := c.post("/programmes", bad)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find(".field.has-error").Text(), "协议条款") {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find(".field.has-error").Text())
		}
	})
	t.Run("CriteriaMustSumTo100", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		w := bad["criterion_weight"]
		bad["criterion_weight"] = append([]string{"35"}, w[1:]...)
		if r := c.post("/programmes", bad); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("DefaultsSave", func(t *testing.T) {
		if r := c.post("/programmes", form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find(".error").Text())
		}
		ps, _ := e.db.ListProgrammes(context.Background(), false)
		if len(ps) != 1 || !ps[0].ProjectCap.Equal(applications.DefaultProjectCap) || len(ps[0].Criteria) != 5 {
			t.Fatalf("saved %+v", ps)
		}
	})
	t.Run("StaleEditRefused", func(t *testing.T) {
		ps, _ := e.db.ListProgrammes(context.Background(), false)
		path := "/programmes/" + strconv.FormatInt(ps[0].ID, 10)
		form.Set("version", strconv.Itoa(ps[0].Version))
		form.Set("status", "open")
		if r := c.post(path, form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first save %d", r.StatusCode)
		}
		if r := c.post(path, form); r.StatusCode != http.StatusConflict {
			t.Fatalf("second save with the old version: %d", r.StatusCode)
		}
	})
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

// multipartWriterFields writes fields then one file; returns the content type.
func multipartWriterFields(body *strings.Builder, fields map[string]string, field, filename string, content []byte) string {
	mw := multipart.NewWriter(body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, filename)
	_, _ = fw.Write(content)
	_ = mw.Close()
	return mw.FormDataContentType()
}

// postMultipart sends a form with one file as a plain browser form would
// (the CSRF token in the query, since multipart bodies are not parsed for
// it).
func (c *client) postMultipart(path string, form url.Values, field, filename string, content []byte) response {
	c.e.t.Helper()
	var body strings.Builder
	fields := map[string]string{}
	for k := range form {
		fields[k] = form.Get(k)
	}
	ct := multipartWriterFields(&body, fields, field, filename, content)
	req, _ := http.NewRequest("POST", c.e.http.URL+path+"?csrf_token="+url.QueryEscape(c.csrf), strings.NewReader(body.String()))
	req.Header.Set("Content-Type", ct)
	return c.do(req)
}
