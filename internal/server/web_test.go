package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
)

func TestReadyz(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if r := c.get("/readyz"); r.StatusCode != http.StatusOK {
		t.Fatalf("ready with a database: %d %s", r.StatusCode, r.body)
	}
	if r := c.get("/healthz"); r.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", r.StatusCode)
	}
	t.Run("FailsWhenSchemaIsOld", func(t *testing.T) {
		if _, err := e.db.Pool.Exec(context.Background(), `UPDATE schema_migrations SET version = version - 1`); err != nil {
			t.Fatal(err)
		}
		defer e.db.Pool.Exec(context.Background(), `UPDATE schema_migrations SET version = version + 1`) //nolint:errcheck
		if r := c.get("/readyz"); r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("FailsWhenDatabaseIsGone", func(t *testing.T) {
		e.db.Pool.Close()
		if r := c.get("/readyz"); r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := c.get("/healthz"); r.StatusCode != http.StatusOK {
			t.Fatalf("healthz should not depend on the database: %d", r.StatusCode)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.client().get("/login")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for k, v := range want {
		if !strings.Contains(r.Header.Get(k), v) {
			t.Errorf("%s = %q, want %q", k, r.Header.Get(k), v)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("CSP lacks frame-ancestors 'none'")
	}
	if lang, _ := r.doc(t).Find("html").Attr("lang"); lang != "zh-CN" {
		t.Errorf("lang %q", lang)
	}
}

func TestErrorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(applications.RoleExpert)
	cases := []struct {
		name, path string
		status     int
		text       string
	}{
		{"NotFoundInChinese", "/no/such/page", 404, "页面不存在"},
		{"ForbiddenInChinese", "/admin/users", 403, "无权访问"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.get(tc.path)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d", r.StatusCode)
			}
			d := r.doc(t)
			if !strings.Contains(d.Find("h1").Text(), tc.text) {
				t.Fatalf("h1 %q", d.Find("h1").Text())
			}
			id := r.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(d.Find(".footer").Text(), id) {
				t.Fatal("request ID not shown on the page")
			}
		})
	}
	t.Run("BadIDIs404Not500", func(t *testing.T) {
		if r := e.loggedIn(applications.RoleAdmin).get("/admin/users/abc"); r.StatusCode != 404 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}

func TestHomePerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range applications.AllRoles() {
		t.Run(string(role), func(t *testing.T) {
			d := e.loggedIn(role).get("/").doc(t)
			if d.Find("ul.duties li").Length() == 0 {
				t.Fatal("no duties listed")
			}
			if !strings.Contains(d.Find(".role-badge").Text(), role.Label()) {
				t.Fatalf("badge %q", d.Find(".role-badge").Text())
			}
			// every nav link works for this role
			d.Find(".mainnav a").Each(func(_ int, a *goquery.Selection) {
				href, _ := a.Attr("href")
				if r := e.loggedIn(role).get(href); r.StatusCode != http.StatusOK {
					t.Errorf("nav link %s: %d", href, r.StatusCode)
				}
			})
		})
	}
}

func TestAdminUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c := e.loggedIn(applications.RoleAdmin)
	c.get("/admin/users")

	t.Run("WeakPasswordRefused", func(t *testing.T) {
		r := c.post("/admin/users", url.Values{"username": {"lisi"}, "display_name": {"李四"}, "role": {"staff"}, "password": {"short1A"}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r.doc(t).Find(".field.has-error .error").Length() == 0 {
			t.Fatal("no field error shown")
		}
		users, _ := e.db.ListUsers(ctx)
		for _, u := range users {
			if u.Username == "lisi" {
				t.Fatal("refused user was written")
			}
		}
	})
	t.Run("CreateThenSignIn", func(t *testing.T) {
		r := c.post("/admin/users", url.Values{"username": {"LiSi"}, "display_name": {"李四"}, "role": {"staff"}, "password": {"Strong-pass-1"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d: %s", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		if r := e.client().login("lisi", "Strong-pass-1"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("new user cannot sign in: %d", r.StatusCode)
		}
	})
	t.Run("DuplicateUsernameRefused", func(t *testing.T) {
		r := c.post("/admin/users", url.Values{"username": {"lisi"}, "display_name": {"李四"}, "role": {"staff"}, "password": {"Strong-pass-1"}})
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "用户名已被使用") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	target := e.users[applications.RoleExpert]
	path := "/admin/users/" + itoa(target.ID)
	t.Run("RoleChangeAuditedAndEndsSessions", func(t *testing.T) {
		victim := e.loggedIn(applications.RoleExpert)
		r := c.post(path, url.Values{"role": {"staff"}, "enterprise_id": {"0"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
		u, _ := e.db.FindUser(ctx, target.ID)
		if u.Role != applications.RoleStaff {
			t.Fatalf("role %s", u.Role)
		}
		var detail string
		_ = e.db.Pool.QueryRow(ctx, `SELECT detail::text FROM audit_log WHERE event = 'user_role_change' ORDER BY seq DESC LIMIT 1`).Scan(&detail)
		if !strings.Contains(detail, `"before"`) || !strings.Contains(detail, "expert") || !strings.Contains(detail, "staff") {
			t.Fatalf("audit detail %s", detail)
		}
		if r := victim.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatal("old session survived a role change")
		}
	})
	t.Run("EmailSavedAndBadEmailRefused", func(t *testing.T) {
		if r := c.post(path, url.Values{"role": {"staff"}, "enterprise_id": {"0"}, "email": {"not-an-address"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad email: %d", r.StatusCode)
		}
		if r := c.post(path, url.Values{"role": {"staff"}, "enterprise_id": {"0"}, "email": {"lisi@example.com"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("good email: %d", r.StatusCode)
		}
		if u, _ := e.db.FindUser(ctx, target.ID); u.Email != "lisi@example.com" {
			t.Fatalf("email %q", u.Email)
		}
	})
	t.Run("BindingNonEnterpriseRefused", func(t *testing.T) {
		ents, _ := e.db.ListEnterprises(ctx)
		r := c.post(path, url.Values{"role": {"staff"}, "enterprise_id": {itoa(ents[0].ID)}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("DisableBlocksLogin", func(t *testing.T) {
		if r := c.post(path+"/status", url.Values{"disabled": {"true"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := e.client().login("expert", testPassword); r.StatusCode != http.StatusForbidden {
			t.Fatalf("disabled user signed in: %d", r.StatusCode)
		}
		c.post(path+"/status", url.Values{"disabled": {"false"}})
		if r := e.client().login("expert", testPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("re-enabled user cannot sign in: %d", r.StatusCode)
		}
	})
	t.Run("PasswordReset", func(t *testing.T) {
		if r := c.post(path+"/password", url.Values{"password": {"Brand-new-pass-9"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := e.client().login("expert", testPassword); r.StatusCode != http.StatusUnauthorized {
			t.Fatal("old password still works")
		}
		if r := e.client().login("expert", "Brand-new-pass-9"); r.StatusCode != http.StatusSeeOther {
			t.Fatal("new password does not work")
		}
	})
	t.Run("AdminCannotDemoteThemselves", func(t *testing.T) {
		r := c.post("/admin/users/"+itoa(e.users[applications.RoleAdmin].ID), url.Values{"role": {"staff"}, "enterprise_id": {"0"}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("EnterpriseWithBadUSCCRefused", func(t *testing.T) {
		r := c.post("/admin/enterprises", url.Values{"name": {"坏代码公司"}, "uscc": {"91150100314159268A"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "校验位") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}
