package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"ite/internal/applications"
)

// TestRouteTable walks the real router: every registered route must be in
// the route table, and every route × role (and anonymous) must get exactly
// the access the table declares.
func TestRouteTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	declared := map[string]route{}
	for _, rt := range e.srv.routes() {
		declared[rt.method+" "+rt.pattern] = rt
	}
	err := chi.Walk(e.srv.Router(), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if _, ok := declared[method+" "+pattern]; !ok {
			t.Errorf("route %s %s is registered without an access declaration", method, pattern)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	clients := map[applications.Role]*client{}
	for _, role := range applications.AllRoles() {
		clients[role] = e.loggedIn(role)
	}
	concrete := func(pattern string) string {
		p := strings.ReplaceAll(pattern, "{id}", itoa(e.users[applications.RoleExpert].ID))
		p = strings.NewReplacer("{item}", "business_license", "{outcome}", "accept").Replace(p)
		return strings.ReplaceAll(p, "*", "app.css")
	}
	for _, rt := range e.srv.routes() {
		path := concrete(rt.pattern)
		if rt.pattern == "/logout" {
			continue // ends the session the loop depends on; covered in TestSession
		}
		for _, role := range applications.AllRoles() {
			t.Run(rt.method+" "+rt.pattern+" as "+string(role), func(t *testing.T) {
				c := clients[role]
				var r response
				if rt.method == "GET" {
					r = c.get(path)
				} else {
					r = c.post(path, url.Values{})
				}
				allowed := rt.access.public() || rt.access.allows(role)
				if allowed && r.StatusCode == http.StatusForbidden {
					t.Fatalf("allowed role refused: %d", r.StatusCode)
				}
				if !allowed && r.StatusCode != http.StatusForbidden {
					t.Fatalf("role not in the table got %d, want 403", r.StatusCode)
				}
				if r.StatusCode >= 500 {
					t.Fatalf("server error %d", r.StatusCode)
				}
			})
		}
		t.Run(rt.method+" "+rt.pattern+" anonymous", func(t *testing.T) {
			c := e.client()
			c.get("/login") // a pre-session CSRF token, so POSTs reach the gate
			var r response
			if rt.method == "GET" {
				r = c.get(path)
			} else {
				r = c.post(path, url.Values{})
			}
			switch {
			case rt.access.public():
				if r.StatusCode == http.StatusForbidden || r.StatusCode == http.StatusUnauthorized {
					t.Fatalf("public route refused: %d", r.StatusCode)
				}
			case rt.method == "GET":
				if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
					t.Fatalf("anonymous GET: %d %s", r.StatusCode, r.Header.Get("Location"))
				}
			default:
				if r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("anonymous POST: %d", r.StatusCode)
				}
			}
		})
	}
}

func TestUndeclaredAccessRefusesEveryone(t *testing.T) {
	t.Parallel()
	var a access
	for _, role := range applications.AllRoles() {
		if a.public() || a.allows(role) {
			t.Fatalf("zero access admits %s", role)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRoutesGetOfAFormAddress: a form refused is shown again at its POST
// address, so a GET of that address (Enter in the address bar, a refresh)
// must never answer 405 "不支持该请求方式": every POST-only address of the
// route table redirects to a page of the route table, the nearest ancestor
// page where there is one; and that page opens.
func TestRoutesGetOfAFormAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	router := e.srv.Router()
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	app := ent.createApplication(p.ID, "1000000.00")
	gets := map[string]bool{}
	for _, rt := range e.srv.routes() {
		if rt.method == http.MethodGet {
			gets[rt.pattern] = true
		}
	}
	concrete := func(pattern string) string {
		p := strings.ReplaceAll(pattern, "{id}", itoa(app))
		p = strings.ReplaceAll(p, "{item}", string(applications.MaterialBusinessLicense))
		p = strings.ReplaceAll(p, "{kind}", "exit")
		return strings.ReplaceAll(p, "{outcome}", "pass")
	}
	// Where a refused form's address leads back to (a sample; the rest
	// must only land on some page).
	want := map[string]string{
		"/applications/{id}/submit":                  "/applications/{id}",
		"/applications/{id}/panel/draw":              "/applications/{id}",
		"/applications/{id}/materials/{item}/review": "/applications/{id}",
		"/applications/{id}/agreement/sign":          "/applications/{id}/agreement",
		"/admin/users/{id}/password":                 "/admin/users/{id}",
		"/ledger/appropriations/{id}/approve":        "/ledger/appropriations/{id}",
		"/reports/{id}/review":                       "/reports/{id}",
		"/decisions/{id}/approve":                    "/",
	}
	for _, rt := range e.srv.routes() {
		if rt.method != http.MethodPost || gets[rt.pattern] {
			continue
		}
		t.Run(rt.pattern, func(t *testing.T) {
			r := ent.get(concrete(rt.pattern))
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("GET %s: %d %q, want a redirect to the form's page", concrete(rt.pattern), r.StatusCode, r.doc(t).Find("h1").Text())
			}
			loc := r.Header.Get("Location")
			if !router.Match(chi.NewRouteContext(), http.MethodGet, loc) {
				t.Fatalf("GET %s → %s, which is no page", concrete(rt.pattern), loc)
			}
			if w, ok := want[rt.pattern]; ok && loc != concrete(w) {
				t.Errorf("GET %s → %s, want %s", concrete(rt.pattern), loc, concrete(w))
			}
		})
	}
	t.Run("TheFormsPageOpens", func(t *testing.T) {
		r := ent.get("/applications/" + itoa(app) + "/submit")
		if r = ent.get(r.Header.Get("Location")); r.StatusCode != http.StatusOK {
			t.Fatalf("the application page after a GET of its submit address: %d", r.StatusCode)
		}
	})
	t.Run("OtherMethodsStill405", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, e.http.URL+"/applications/"+itoa(app)+"/submit", nil)
		if r := ent.do(req); r.StatusCode == http.StatusSeeOther || r.StatusCode == http.StatusOK {
			t.Fatalf("DELETE of a form address: %d", r.StatusCode)
		}
	})
}
