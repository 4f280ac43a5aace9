package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
)

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
			form.Add(name, v)
			return
		}
		if s.Is("textarea") {
			form.Set(name, s.Text())
			return
		}
		v, _ := s.Attr("value")
		form.Add(name, v)
	})
	if form.Get("project_cap") != "10,000,000.00" || form.Get("panel_size") != "5" || form.Get("pass_score") != "70" ||
		form.Get("notice_working_days") != "5" || form.Get("credit_report_max_age_days") != "90" || len(form["materials"]) != 8 {
		t.Fatalf("defaults not offered: %v", form)
	}
	form.Set("total_budget", "50000000.00")
	t.Run("BadTermsRefused", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("discount", "150") // a discount of 150%
		r := c.post("/programmes", bad)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find(".field.has-error").Text(), "折扣") {
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
