package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
	"ite/internal/fixture"
)

// termsValues are the structured terms form's fields for stored terms, as
// the page offers them.
func termsValues(t *testing.T, raw json.RawMessage) url.Values {
	t.Helper()
	terms, err := applications.ParseTerms(raw)
	if err != nil {
		t.Fatal(err)
	}
	return applications.TermsFormOf(terms).Values()
}

// inputValues are the values of the inputs named name, in page order.
func inputValues(d *goquery.Document, name string) []string {
	var out []string
	d.Find(`input[name="` + name + `"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		out = append(out, v)
	})
	return out
}

// errorBeside is the error shown in the input's own field or cell.
func errorBeside(d *goquery.Document, key string) string {
	return d.Find(`[data-field="` + key + `"], #f-` + key + ` ~ .error`).First().Text()
}

func TestTermsForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	staffC := e.loggedIn(applications.RoleStaff)

	t.Run("DecisionKeepsWhatWasTyped", func(t *testing.T) {
		id := e.reviewed(p, "3000000.00")
		path := "/applications/" + strconv.FormatInt(id, 10)
		staffC.get(path)
		form := termsValues(t, p.TermsTemplate)
		form.Set("kind", "approve")
		form.Set("amount", "2,500,000")
		form["tranche_milestone"] = []string{"签约", "完成样机"}
		form.Set("discount", "abc")
		r := staffC.post(path+"/decision", form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		if msg := errorBeside(d, "discount"); !strings.Contains(msg, "折扣") {
			t.Fatalf("discount error %q", msg)
		}
		if v := inputValues(d, "amount"); len(v) != 1 || v[0] != "2,500,000.00" {
			t.Fatalf("amount not kept: %v", v)
		}
		if v := inputValues(d, "tranche_milestone"); strings.Join(v, "|") != "签约|完成样机" {
			t.Fatalf("tranche rows not kept: %v", v)
		}
		if v := inputValues(d, "tranche_share"); strings.Join(v, "|") != "50|50" {
			t.Fatalf("tranche shares not kept: %v", v)
		}
		if v := inputValues(d, "discount"); v[0] != "abc" {
			t.Fatalf("typed discount not kept: %v", v)
		}
		if v := inputValues(d, "revenue_min"); v[0] != "20,000,000.00" {
			t.Fatalf("revenue trigger not kept: %v", v)
		}
		t.Run("AddARowWithoutJS", func(t *testing.T) {
			form.Set("discount", "20")
			form.Set("terms_add", "tranche")
			r := staffC.post(path+"/decision", form)
			if r.StatusCode != http.StatusOK || r.doc(t).Find(".tranche-row").Length() != 3 {
				t.Fatalf("add row: %d, %d rows", r.StatusCode, r.doc(t).Find(".tranche-row").Length())
			}
			form.Del("terms_add")
		})
		t.Run("AmountTranchesMustSumToTheAmount", func(t *testing.T) {
			form["tranche_share"] = []string{"", ""}
			form["tranche_amount"] = []string{"100万", "100万"}
			r := staffC.post(path+"/decision", form)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorBeside(r.doc(t), "tranches"), "立项金额") {
				t.Fatalf("status %d %q", r.StatusCode, errorBeside(r.doc(t), "tranches"))
			}
		})
		t.Run("Saved", func(t *testing.T) {
			form["tranche_amount"] = []string{"100万", "150万"}
			if r := staffC.post(path+"/decision", form); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
			}
		})
	})

	t.Run("ProgrammeKeepsWhatWasTyped", func(t *testing.T) {
		c := e.loggedIn(applications.RoleAdmin)
		form := termsValues(t, p.TermsTemplate)
		for k, v := range map[string]string{"name": "模板测试批次", "year": "2026", "status": "draft", "opens_on": "2026-12-01",
			"closes_on": "2027-01-31", "total_budget": "5000万", "project_cap": "1,000万", "panel_size": "5", "pass_score": "70",
			"aggregation": "trimmed_mean", "notice_working_days": "5", "credit_report_max_age_days": "90", "holding_platform": "平台公司"} {
			form.Set(k, v)
		}
		form.Set("window_years", "99")
		form.Set("pricing_method", "fixed_stake")
		form.Set("stake", "5")
		form.Set("discount", "junk of another method") // ignored: not the chosen method's
		c.get("/programmes/new")
		r := c.post("/programmes", form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		d := r.doc(t)
		if msg := errorBeside(d, "window_years"); !strings.Contains(msg, "1–15") {
			t.Fatalf("window error %q", msg)
		}
		if msg := errorBeside(d, "discount"); msg != "" {
			t.Fatalf("a field of another method was judged: %q", msg)
		}
		if v := inputValues(d, "total_budget"); v[0] != "50,000,000.00" {
			t.Fatalf("budget not kept: %v", v)
		}
		if v := inputValues(d, "stake"); v[0] != "5" {
			t.Fatalf("stake not kept: %v", v)
		}
		if v := inputValues(d, "tranche_milestone"); strings.Join(v, "|") != strings.Join(form["tranche_milestone"], "|") {
			t.Fatalf("tranche rows not kept: %v", v)
		}
	})

	t.Run("TermsChangeKeepsWhatWasTyped", func(t *testing.T) {
		id := e.fundedA(fixture.TermsA)
		path := "/applications/" + strconv.FormatInt(id, 10) + "/agreement"
		d := staffC.get(path).doc(t)
		if d.Find(`#terms-form input[name="tranche_share"]`).Length() == 0 || d.Find(`#terms-form textarea[name="terms"]`).Length() != 0 {
			t.Fatal("the terms change is not the structured form")
		}
		form := termsValues(t, json.RawMessage(fixture.TermsA))
		form.Set("return_basis", "reference")
		form.Set("reference_series", "")
		form.Set("spread", "0.5")
		form.Set("reason", "改按参考利率")
		r := staffC.post(path+"/terms", form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		d = r.doc(t)
		if msg := errorBeside(d, "reference_series"); !strings.Contains(msg, "LPR1Y") {
			t.Fatalf("series error %q", msg)
		}
		if v := inputValues(d, "spread"); v[0] != "0.5" {
			t.Fatalf("spread not kept: %v", v)
		}
		if v := inputValues(d, "reason"); v[0] != "改按参考利率" {
			t.Fatalf("reason not kept: %v", v)
		}
		if v := inputValues(d, "tranche_share"); strings.Join(v, "|") != strings.Join(form["tranche_share"], "|") {
			t.Fatalf("tranche rows not kept: %v, sent %v", v, form["tranche_share"])
		}
		form.Set("reference_series", "LPR1Y")
		if r := staffC.post(path+"/terms", form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("propose %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
	})

	t.Run("PreviewAnswersAFragment", func(t *testing.T) {
		form := termsValues(t, json.RawMessage(fixture.TermsA))
		staffC.get("/applications")
		r := staffC.post("/terms/preview", form)
		if r.StatusCode != http.StatusOK || strings.Contains(r.body, "<html") {
			t.Fatalf("status %d, a whole page: %v", r.StatusCode, strings.Contains(r.body, "<html"))
		}
		d := r.doc(t)
		if d.Find("#pv-units").Length() != 1 || !strings.Contains(d.Find("#pv-amount").Text(), "元") ||
			!strings.Contains(d.Find("#pv-units").Text(), "%") || d.Find("#pv-proceeds").Text() == "" {
			t.Fatalf("preview %s", r.body)
		}
		// Units and price are grouped as every figure on the page: no run
		// of four digits before a point or the unit.
		if u := d.Find("#pv-units").Text() + d.Find("#pv-price").Text(); regexp.MustCompile(`(?:^|[^\d.,])\d{4,}`).MatchString(u) {
			t.Errorf("ungrouped figures in %q", u)
		}
		t.Run("TranchesInTheDecisionsAmount", func(t *testing.T) {
			form := termsValues(t, json.RawMessage(fixture.TermsA))
			form.Set("amount", "800万")
			form["tranche_share"] = []string{""}
			form["tranche_amount"] = []string{"8,000,000"}
			form["tranche_months"] = []string{"0"}
			form["tranche_date"] = []string{""}
			form["tranche_milestone"] = []string{""}
			if r := staffC.post("/terms/preview", form); r.doc(t).Find("#pv-units").Length() != 1 {
				t.Fatalf("preview %s", r.body)
			}
		})
		form.Set("stake", "x")
		form.Set("pricing_method", "fixed_stake")
		if r := staffC.post("/terms/preview", form); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "持股比例") {
			t.Fatalf("preview of a bad form %d %s", r.StatusCode, r.body)
		}
	})
}

func TestAppraisedValueNormalised(t *testing.T) {
	for in, want := range map[string]string{"1,500万": "15000000.00", "15000000": "15000000.00", "": "", "junk": "junk"} {
		if got := typedAmount(in); got != want {
			t.Errorf("typedAmount(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEnterSubmitsTermsForms: in every form with the structured terms,
// whose rows carry their own 删除 and 添加 buttons, the first submit button
// (the one Enter in a field presses) is the form's plain submit, with no
// name, so Enter submits the form instead of deleting the first row.
func TestEnterSubmitsTermsForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staffC := e.loggedIn(staff)
	p := e.openProgramme()
	funded := e.fundedA(fixture.TermsA)
	reviewed := e.reviewed(p, "1000000.00")
	for _, c := range []struct {
		client *client
		path   string
		form   string
	}{
		{staffC, "/applications/" + strconv.FormatInt(funded, 10) + "/agreement", "#terms-form"},
		{staffC, "/applications/" + strconv.FormatInt(reviewed, 10), "#decision-form"},
		{e.loggedIn(applications.RoleAdmin), "/programmes/new", "#programme-form"},
	} {
		d := c.client.get(c.path).doc(t)
		form := d.Find(c.form)
		if form.Find(`button[name="terms_remove"]`).Length() == 0 {
			t.Fatalf("%s on %s has no row buttons: the test cannot tell", c.form, c.path)
		}
		first := form.Find(`button[type="submit"], input[type="submit"]`).First()
		if name, named := first.Attr("name"); named || !first.HasClass("default-submit") {
			t.Errorf("%s on %s: Enter presses %q (name %q)", c.form, c.path, strings.TrimSpace(first.Text()), name)
		}
	}
}
