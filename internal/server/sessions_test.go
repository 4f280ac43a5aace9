package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/auth"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("RightPasswordSignsIn", func(t *testing.T) {
		c := e.client()
		r := c.login("staff", testPassword)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("status %d location %q", r.StatusCode, r.Header.Get("Location"))
		}
		home := c.get("/")
		if got := home.doc(t).Find("#home-title").Text(); !strings.Contains(got, "经办人员甲") {
			t.Fatalf("home title %q", got)
		}
	})
	t.Run("WrongPasswordRefusedInChinese", func(t *testing.T) {
		r := e.client().login("staff", "Wrong-pass-2026")
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", r.StatusCode)
		}
		if msg := r.doc(t).Find(`[role="alert"]`).Text(); !strings.Contains(msg, "用户名或密码不正确") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("UnknownUserAuditedWithoutPassword", func(t *testing.T) {
		e.client().login("nobody", "Secret-pass-77")
		var detail string
		err := e.db.Pool.QueryRow(context.Background(),
			`SELECT detail::text FROM audit_log WHERE event = 'login_failed' ORDER BY seq DESC LIMIT 1`).Scan(&detail)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(detail, "Secret-pass-77") || !strings.Contains(detail, "unknown_user") {
			t.Fatalf("audit detail %s", detail)
		}
	})
	t.Run("NextRedirectStaysOnSite", func(t *testing.T) {
		c := e.client()
		c.get("/login")
		r := c.finishLogin(c.post("/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"//evil.example/x"}}), "admin")
		if r.Header.Get("Location") != "/" {
			t.Fatalf("redirected to %q", r.Header.Get("Location"))
		}
	})
	t.Run("AnonymousSentToLogin", func(t *testing.T) {
		r := e.client().get("/admin/users")
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
			t.Fatalf("status %d location %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	for i := 1; i <= auth.MaxFailedLogins; i++ {
		r := c.login("expert", "Wrong-pass-2026")
		want := http.StatusUnauthorized
		if i == auth.MaxFailedLogins {
			want = http.StatusTooManyRequests
		}
		if r.StatusCode != want {
			t.Fatalf("attempt %d: status %d, want %d", i, r.StatusCode, want)
		}
	}
	t.Run("SixthAttemptRefusedWithRightPassword", func(t *testing.T) {
		r := c.login("expert", testPassword)
		if r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d", r.StatusCode)
		}
		if !strings.Contains(r.doc(t).Find(`[role="alert"]`).Text(), "已锁定 30 分钟") {
			t.Fatal("no lockout message")
		}
	})
	t.Run("Audited", func(t *testing.T) {
		ev := e.auditEvents()
		if count(ev, "login_failed") != 5 || count(ev, "account_locked") != 1 || count(ev, "login_refused_locked") != 1 {
			t.Fatalf("audit events %v", ev)
		}
	})
	t.Run("StillLockedAt29Minutes", func(t *testing.T) {
		e.clock.Advance(29 * time.Minute)
		if r := c.login("expert", testPassword); r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("UnlockedAfter30Minutes", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		if r := c.login("expert", testPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("SuccessResetsTheCount", func(t *testing.T) {
		other := e.client()
		for range auth.MaxFailedLogins - 1 {
			other.login("auditor", "Wrong-pass-2026")
		}
		other.login("auditor", testPassword)
		if r := other.login("auditor", "Wrong-pass-2026"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a single failure after a success locked the account: %d", r.StatusCode)
		}
	})
}

func TestSession(t *testing.T) {
	t.Parallel()
	t.Run("IDRenewedAtLogin", func(t *testing.T) {
		e := newEnv(t)
		c := e.loggedIn(applications.RoleStaff)
		first := c.cookie(sessionCookie)
		c.login("staff", testPassword)
		second := c.cookie(sessionCookie)
		if first == "" || first == second {
			t.Fatalf("session cookie not renewed: %q → %q", first, second)
		}
		var n int
		_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE token_hash = $1`, auth.TokenHash(first)).Scan(&n)
		if n != 0 {
			t.Fatal("the pre-login session still exists")
		}
	})
	t.Run("CookieFlags", func(t *testing.T) {
		e := newEnv(t)
		c := e.client()
		c.get("/login")
		r := c.finishLogin(c.post("/login", url.Values{"username": {"staff"}, "password": {testPassword}}), "staff")
		var found bool
		for _, ck := range r.Cookies() {
			if ck.Name == sessionCookie && ck.Value != "" {
				found = true
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
					t.Fatalf("cookie flags %+v", ck)
				}
			}
		}
		if !found {
			t.Fatal("no session cookie")
		}
	})
	t.Run("IdleTimeoutAfter30Minutes", func(t *testing.T) {
		e := newEnv(t)
		c := e.loggedIn(applications.RoleStaff)
		e.clock.Advance(29 * time.Minute)
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			t.Fatalf("at 29 min: status %d", r.StatusCode)
		}
		e.clock.Advance(30 * time.Minute) // 30 minutes after the last request
		if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("after 30 idle min: status %d", r.StatusCode)
		}
	})
	t.Run("AbsoluteLifetime12Hours", func(t *testing.T) {
		e := newEnv(t)
		c := e.loggedIn(applications.RoleStaff)
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
			e.clock.Advance(20 * time.Minute)
			if r := c.get("/"); r.StatusCode != http.StatusOK {
				t.Fatalf("active session dropped at %v", elapsed+20*time.Minute)
			}
		}
		e.clock.Advance(20 * time.Minute) // now 12h after login
		if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("session outlived 12 hours: status %d", r.StatusCode)
		}
	})
	t.Run("LogoutEndsSession", func(t *testing.T) {
		e := newEnv(t)
		c := e.loggedIn(applications.RoleStaff)
		token := c.cookie(sessionCookie)
		if r := c.post("/logout", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout status %d", r.StatusCode)
		}
		if _, err := e.db.FindSession(context.Background(), token); err == nil {
			t.Fatal("session still valid after logout")
		}
		if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("after logout: status %d", r.StatusCode)
		}
	})
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(applications.RoleAdmin)
	cases := []struct {
		name  string
		token string
		hdr   map[string]string
	}{
		{"MissingTokenRefused", "", nil},
		{"WrongTokenRefused", "not-the-token", nil},
		{"OtherSessionsTokenRefused", e.loggedIn(applications.RoleStaff).csrf, nil},
		{"CrossSiteRefusedEvenWithToken", c.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := count(e.auditEvents(), "csrf_refused")
			form := url.Values{"csrf_token": {tc.token}, "name": {"某某公司"}, "uscc": {applications.ExampleUSCC(7)}}
			req, _ := http.NewRequest("POST", e.http.URL+"/admin/enterprises", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			r := c.do(req)
			if r.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", r.StatusCode)
			}
			if !strings.Contains(r.body, "请刷新页面后重新提交") {
				t.Fatal("no Chinese explanation")
			}
			if after := count(e.auditEvents(), "csrf_refused"); after != before+1 {
				t.Fatalf("csrf_refused rows %d → %d", before, after)
			}
			ents, _ := e.db.ListEnterprises(context.Background())
			if len(ents) != 1 {
				t.Fatal("refused request wrote an enterprise")
			}
		})
	}
	t.Run("LoginFormWithoutTokenRefused", func(t *testing.T) {
		fresh := e.client()
		r := fresh.post("/login", url.Values{"username": {"admin"}, "password": {testPassword}})
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("ValidTokenAccepted", func(t *testing.T) {
		r := c.post("/admin/enterprises", url.Values{"name": {"某某公司"}, "uscc": {applications.ExampleUSCC(7)}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d: %s", r.StatusCode, r.body)
		}
	})
}
