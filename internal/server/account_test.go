package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
)

func changePassword(c *client, old, pw string) response {
	c.get("/account/password")
	return c.post("/account/password", url.Values{"old_password": {old}, "password": {pw}, "password2": {pw}})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(expert)
	t.Run("PageExplainsThePolicy", func(t *testing.T) {
		d := c.get("/account/password").doc(t)
		if rules := d.Find("#password-rules li").Text(); !strings.Contains(rules, "至少 10 个字符") || !strings.Contains(rules, "最近 5 次") {
			t.Fatalf("rules %q", rules)
		}
	})
	t.Run("WrongOldPasswordIs401", func(t *testing.T) {
		if r := changePassword(c, "Wrong-pass-2026", "Another-pass-77"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("MismatchIs422", func(t *testing.T) {
		c.get("/account/password")
		r := c.post("/account/password", url.Values{"old_password": {testPassword}, "password": {"Another-pass-77"}, "password2": {"Another-pass-78"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "两次输入的新密码不一致") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("WeakIs422", func(t *testing.T) {
		if r := changePassword(c, testPassword, "short"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	other := e.loggedIn(expert)
	passwords := []string{"Second-pass-1", "Third-pass-22", "Fourth-pass-3", "Fifth-pass-44"}
	old := testPassword
	for i, pw := range passwords {
		if r := changePassword(c, old, pw); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("change %d: %d %s", i, r.StatusCode, r.doc(t).Find(".error").Text())
		}
		old = pw
	}
	t.Run("EndsOtherSessionsOnly", func(t *testing.T) {
		if r := other.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("other session survived: %d", r.StatusCode)
		}
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			t.Fatalf("own session ended: %d", r.StatusCode)
		}
	})
	t.Run("LastFiveCannotBeReused", func(t *testing.T) {
		for _, pw := range append([]string{testPassword}, passwords...) {
			r := changePassword(c, old, pw)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "最近 5 次") {
				t.Fatalf("reuse of %s: %d", pw, r.StatusCode)
			}
		}
		if d := e.auditDetail("password_change_refused"); d["reason"] != "reused" {
			t.Fatalf("audit %v", d)
		}
	})
	t.Run("SixthBackIsAllowed", func(t *testing.T) {
		if r := changePassword(c, old, "Sixth-pass-666"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := changePassword(c, "Sixth-pass-666", testPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("the sixth-last password refused: %d", r.StatusCode)
		}
	})
}

func TestForcedPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.loggedIn(applications.RoleAdmin)
	admin.get("/admin/users/" + itoa(e.users[expert].ID))
	if r := admin.post("/admin/users/"+itoa(e.users[expert].ID)+"/password", url.Values{"password": {"Reset-by-admin-1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	c := e.client()
	if r := c.login("expert", "Reset-by-admin-1"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	t.Run("EveryPageSendsToTheChangePage", func(t *testing.T) {
		for _, path := range []string{"/", "/reviews", "/inbox", "/account"} {
			if r := c.get(path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/password" {
				t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Header.Get("Location"))
			}
		}
		page := c.get("/account/password")
		if !strings.Contains(page.doc(t).Find("#password-reason").Text(), "由他人设置或重置") {
			t.Fatal("no reason on the change page")
		}
		if r := c.post("/api/v1/calc", nil); r.StatusCode != http.StatusForbidden {
			t.Fatalf("POST elsewhere: %d", r.StatusCode)
		}
	})
	t.Run("TheResetPasswordCannotBeKept", func(t *testing.T) {
		if r := changePassword(c, "Reset-by-admin-1", "Reset-by-admin-1"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("AfterTheChangeThePagesOpen", func(t *testing.T) {
		if r := changePassword(c, "Reset-by-admin-1", "My-own-pass-2026"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("change: %d", r.StatusCode)
		}
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			t.Fatalf("home: %d", r.StatusCode)
		}
	})
	t.Run("NewStaffChangesPasswordThenEnrols", func(t *testing.T) {
		admin.get("/admin/users")
		if r := admin.post("/admin/users", url.Values{"username": {"lisi"}, "display_name": {"李四"}, "role": {"staff"}, "password": {"Strong-pass-1"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d", r.StatusCode)
		}
		n := e.client()
		n.login("lisi", "Strong-pass-1")
		if r := n.get("/"); r.Header.Get("Location") != "/account/password" {
			t.Fatalf("first: %s", r.Header.Get("Location"))
		}
		if r := changePassword(n, "Strong-pass-1", "Lisi-own-pass-9"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("change: %d", r.StatusCode)
		}
		if r := n.get("/"); r.Header.Get("Location") != "/account/second-factor" {
			t.Fatalf("then: %s", r.Header.Get("Location"))
		}
		secret, _ := e.enrol(n)
		e.secrets["lisi"] = secret
		if r := n.get("/applications"); r.StatusCode != http.StatusOK {
			t.Fatalf("after enrolment: %d", r.StatusCode)
		}
	})
}

func TestPasswordExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sa := e.loggedIn(applications.RoleSecurityAdmin)
	sa.get("/security")
	policy := url.Values{"password_min_length": {"10"}, "password_max_age_days": {"90"}, "password_history": {"5"},
		"idle_timeout_minutes": {"30"}, "absolute_timeout_minutes": {"720"}}
	if r := sa.post("/security/policy", policy); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("policy: %d %s", r.StatusCode, alert(t, r))
	}
	t.Run("FreshPasswordNotExpired", func(t *testing.T) {
		if r := e.loggedIn(expert).get("/"); r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	e.clock.Advance(91 * 24 * time.Hour)
	c := e.loggedIn(expert)
	t.Run("ExpiredSendsToTheChangePage", func(t *testing.T) {
		r := c.get("/reviews")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/password" {
			t.Fatalf("status %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		if !strings.Contains(c.get("/account/password").doc(t).Find("#password-reason").Text(), "已过期") {
			t.Fatal("no expiry reason")
		}
		if count(e.auditEvents(), "password_expired") != 1 {
			t.Fatal("expiry not audited")
		}
	})
	t.Run("ChangeLifts", func(t *testing.T) {
		if r := changePassword(c, testPassword, "Renewed-pass-91"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("change: %d", r.StatusCode)
		}
		if r := c.get("/reviews"); r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}

func TestMySessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.loggedIn(staff), e.loggedIn(staff)
	d := a.get("/account").doc(t)
	if n := d.Find("#sessions-table tbody tr").Length(); n != 2 {
		t.Fatalf("%d sessions listed", n)
	}
	if d.Find("#sessions-table .badge").Length() != 1 || !strings.Contains(d.Find("#sessions-table").Text(), "其他客户端") {
		t.Fatal("current session or browser not shown")
	}
	if r := a.post("/account/sessions/end-others", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end others: %d", r.StatusCode)
	}
	if r := b.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("other session survived: %d", r.StatusCode)
	}
	if r := a.get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("own session ended: %d", r.StatusCode)
	}
}
