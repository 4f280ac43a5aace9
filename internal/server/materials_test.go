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

// submitted makes an application with every required material uploaded
// and submits it through the enterprise's form.
func (e *env) submitted(p applications.Programme) int64 {
	e.t.Helper()
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "3000000.00")
	e.uploadAll(ent, id)
	path := "/applications/" + strconv.FormatInt(id, 10)
	ent.get(path)
	if r := ent.post(path+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("submit: %d", r.StatusCode)
	}
	return id
}

// verdicts returns each reviewed item's status.
func (e *env) verdicts(appID int64) map[string]string {
	e.t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT item, status FROM material_reviews WHERE application_id = $1`, appID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var item, status string
		_ = rows.Scan(&item, &status)
		out[item] = status
	}
	return out
}

// rowDoc parses an htmx answer that is a table row (an HTML parser drops
// a <tr> outside a table).
func rowDoc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tbody>" + body + "</tbody></table>"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMaterialReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	id := e.submitted(p)
	path := "/applications/" + strconv.FormatInt(id, 10)
	c := e.loggedIn(applications.RoleStaff)
	page := c.get(path).doc(t)
	form := page.Find(`#item-application_form form.review-form`).First()
	if hx, _ := form.Attr("hx-post"); hx != path+"/materials/application_form/review" {
		t.Fatalf("accept form hx-post %q", hx)
	}
	if tgt, _ := form.Attr("hx-target"); tgt != "#item-application_form" {
		t.Fatalf("accept form hx-target %q", tgt)
	}
	if form.Find(`input[name=csrf_token]`).Length() != 1 {
		t.Fatal("the accept form carries no CSRF field (needed without JavaScript)")
	}

	t.Run("HtmxGetsTheRow", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.http.URL+path+"/materials/application_form/review",
			strings.NewReader(url.Values{"decision": {"accept"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", c.csrf) // as app.js adds to every htmx request
		r := c.do(req)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		if !strings.HasPrefix(r.body, "<tr ") || strings.Contains(r.body, "<html") {
			t.Fatalf("not a lone row: %s", r.body)
		}
		d := rowDoc(t, r.body)
		if st, _ := d.Find(`tr#item-application_form`).Attr("data-status"); st != string(applications.MaterialAccepted) {
			t.Fatalf("row status %q", st)
		}
		if e.verdicts(id)["application_form"] != "accepted" {
			t.Fatal("verdict not stored")
		}
	})
	t.Run("HtmxRefusalShownInTheRow", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.http.URL+path+"/materials/integrity_pledge/review",
			strings.NewReader(url.Values{"decision": {"return"}}.Encode())) // no reason
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", c.csrf)
		r := c.do(req)
		if r.StatusCode != http.StatusOK || rowDoc(t, r.body).Find(`tr#item-integrity_pledge .row-error`).Length() != 1 {
			t.Fatalf("status %d body %s", r.StatusCode, r.body)
		}
	})
	t.Run("PlainFormRedirects", func(t *testing.T) {
		r := c.post(path+"/materials/business_license/review", url.Values{"decision": {"accept"}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != path+"#item-business_license" {
			t.Fatalf("status %d location %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("AcceptAllKeepsReturns", func(t *testing.T) {
		if r := c.post(path+"/materials/legal_rep_id/review", url.Values{"decision": {"return"}, "reason": {"复印件不清晰"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("return %d", r.StatusCode)
		}
		r := c.post(path+"/materials/accept-all", nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != path+"#review-outcome" {
			t.Fatalf("status %d location %q", r.StatusCode, r.Header.Get("Location"))
		}
		v := e.verdicts(id)
		for _, m := range applications.DefaultRequiredMaterials {
			want := "accepted"
			if m == applications.MaterialLegalRepID {
				want = "returned"
			}
			if v[string(m)] != want {
				t.Errorf("%s: %q, want %q", m, v[string(m)], want)
			}
		}
		if n := count(e.auditEvents(), "material_review_all"); n != 1 {
			t.Fatalf("%d accept-all audit rows", n)
		}
	})
	t.Run("AcceptAllRefusedForEnterprise", func(t *testing.T) {
		ent := e.loggedIn(applications.RoleEnterprise)
		ent.get(path)
		if r := ent.post(path+"/materials/accept-all", nil); r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}
