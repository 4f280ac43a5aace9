package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ite/internal/applications"
)

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
