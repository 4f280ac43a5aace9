package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
	"ite/internal/auth"
)

// passwordStep signs in with the password only and returns the response
// (a redirect to /login/code for an enrolled user).
func (c *client) passwordStep(username string) response {
	c.get("/login")
	return c.post("/login", url.Values{"username": {username}, "password": {testPassword}})
}

// code posts a code to the second step.
func (c *client) code(code string) response {
	c.get("/login/code")
	return c.post("/login/code", url.Values{"code": {code}})
}

func alert(t *testing.T, r response) string {
	t.Helper()
	return r.doc(t).Find(`[role="alert"]`).Text()
}

func TestSecondFactorSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("StaffWithoutTheCodeRefused", func(t *testing.T) {
		c := e.client()
		r := c.passwordStep("staff")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login/code" {
			t.Fatalf("password step: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		if c.cookie(sessionCookie) != "" {
			t.Fatal("a session cookie before the code")
		}
		for _, path := range []string{"/", "/applications", "/account", "/ledger"} {
			if r := c.get(path); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
				t.Fatalf("half signed in, GET %s: %d %s", path, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if r := c.post("/applications", url.Values{"title": {"x"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("half signed in, POST: %d", r.StatusCode)
		}
		if n := count(e.auditEvents(), "login_password_accepted"); n != 1 {
			t.Fatalf("login_password_accepted rows: %d", n)
		}
	})
	t.Run("WrongCodeIs401InChinese", func(t *testing.T) {
		c := e.client()
		c.passwordStep("approver")
		r := c.code("000000")
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(alert(t, r), "动态验证码不正确") {
			t.Fatalf("status %d alert %q", r.StatusCode, alert(t, r))
		}
		if d := e.auditDetail("second_factor_failed"); d["reason"] != "wrong_code" {
			t.Fatalf("audit detail %v", d)
		}
		if r := c.code(e.totpCode("approver")); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("right code after a wrong one: %d", r.StatusCode)
		}
	})
	t.Run("CodeCannotBeReusedInItsWindow", func(t *testing.T) {
		code := e.totpCode("auditor")
		a := e.client()
		a.passwordStep("auditor")
		if r := a.code(code); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use: %d", r.StatusCode)
		}
		b := e.client()
		b.passwordStep("auditor")
		r := b.code(code)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(alert(t, r), "已使用过") {
			t.Fatalf("replay: %d %q", r.StatusCode, alert(t, r))
		}
		if d := e.auditDetail("second_factor_failed"); d["reason"] != "replayed_code" {
			t.Fatalf("audit detail %v", d)
		}
	})
	t.Run("CodeWithoutPasswordStepSentBack", func(t *testing.T) {
		c := e.client()
		c.get("/login")
		r := c.post("/login/code", url.Values{"code": {e.totpCode("staff")}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || c.cookie(sessionCookie) != "" {
			t.Fatalf("status %d location %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("PendingSignInExpires", func(t *testing.T) {
		c := e.client()
		c.passwordStep("admin")
		e.clock.Advance(6 * 60e9)
		r := c.code(e.totpCode("admin"))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" || c.cookie(sessionCookie) != "" {
			t.Fatalf("after 6 minutes: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

// TestCodeTriesSurviveANewPasswordStep: the password step does not give
// the code five fresh tries.
func TestCodeTriesSurviveANewPasswordStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.passwordStep("admin")
	for range 3 {
		c.code("123456")
	}
	c.passwordStep("admin")
	c.code("123456")
	if r := c.code("123456"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fifth wrong code in a row after a new password step: %d", r.StatusCode)
	}
}

func TestSecondFactorLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.passwordStep("staff")
	for i := 1; i <= auth.MaxFailedLogins; i++ {
		r := c.code("123456")
		want := http.StatusUnauthorized
		if i == auth.MaxFailedLogins {
			want = http.StatusTooManyRequests
		}
		if r.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, r.StatusCode, want)
		}
	}
	t.Run("LockedEvenWithTheRightPasswordAndCode", func(t *testing.T) {
		r := e.client().login("staff", testPassword)
		if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(alert(t, r), "已锁定 30 分钟") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		ev := e.auditEvents()
		if count(ev, "second_factor_failed") != 5 || count(ev, "account_locked") != 1 {
			t.Fatalf("events %v", ev)
		}
	})
	t.Run("AdminCannotUnlock", func(t *testing.T) {
		admin := e.loggedIn(applications.RoleAdmin)
		if r := admin.post("/security/accounts/"+itoa(e.users[staff].ID)+"/unlock", nil); r.StatusCode != http.StatusForbidden {
			t.Fatalf("admin unlock: %d", r.StatusCode)
		}
	})
	t.Run("SecurityAdminUnlocks", func(t *testing.T) {
		sa := e.loggedIn(applications.RoleSecurityAdmin)
		if r := sa.post("/security/accounts/"+itoa(e.users[staff].ID)+"/unlock", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("unlock: %d", r.StatusCode)
		}
		if r := e.client().login("staff", testPassword); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("after unlock: %d", r.StatusCode)
		}
		events := sa.get("/security/events")
		for _, ev := range []string{"second_factor_failed", "account_locked", "account_unlock", "access_refused"} {
			if events.doc(t).Find(`#security-events tr[data-event="`+ev+`"]`).Length() == 0 {
				t.Errorf("security events page lacks %s", ev)
			}
		}
	})
}

// enrol walks the enrolment page as c (signed in) and returns the secret
// and the recovery codes shown.
func (e *env) enrol(c *client) (string, []string) {
	e.t.Helper()
	t := e.t
	r := c.get("/account/second-factor")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enrol page: %d", r.StatusCode)
	}
	d := r.doc(t)
	secret := d.Find("#totp-secret").Text()
	signed, _ := d.Find(`#enrol-form input[name="secret"]`).Attr("value")
	if src, _ := d.Find("#totp-qr").Attr("src"); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("no QR code: %.40s", src)
	}
	code, _ := auth.TOTPCode(secret, e.clock.Now())
	r = c.post("/account/second-factor", url.Values{"secret": {signed}, "code": {code}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enrol: %d %s", r.StatusCode, alert(t, r))
	}
	var codes []string
	r.doc(t).Find("#recovery-codes li").Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
	return secret, codes
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(enterprise) // optional for enterprise users: enrols from the account page
	if got := c.get("/account").doc(t).Find("#second-factor-status").Text(); !strings.Contains(got, "未启用（可选）") {
		t.Fatalf("status %q", got)
	}
	t.Run("WrongCodeAtEnrolmentIs422", func(t *testing.T) {
		d := c.get("/account/second-factor").doc(t)
		signed, _ := d.Find(`#enrol-form input[name="secret"]`).Attr("value")
		if r := c.post("/account/second-factor", url.Values{"secret": {signed}, "code": {"000000"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := c.post("/account/second-factor", url.Values{"secret": {"AAAAAAAAAAAAAAAA.forged"}, "code": {"000000"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("forged secret: %d", r.StatusCode)
		}
	})
	secret, codes := e.enrol(c)
	e.secrets["enterprise"] = secret
	if len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	var stored int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM recovery_codes WHERE code_hash = $1`, auth.RecoveryCodeHash(codes[0])).Scan(&stored)
	if stored != 1 {
		t.Fatal("recovery code not stored as its hash")
	}
	t.Run("NowAsksForTheCode", func(t *testing.T) {
		r := e.client().passwordStep("enterprise")
		if r.Header.Get("Location") != "/login/code" {
			t.Fatalf("location %q", r.Header.Get("Location"))
		}
	})
	t.Run("RecoveryCodeWorksOnce", func(t *testing.T) {
		a := e.client()
		a.passwordStep("enterprise")
		if r := a.code(strings.ToUpper(codes[3])); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("first use: %d", r.StatusCode)
		}
		b := e.client()
		b.passwordStep("enterprise")
		r := b.code(codes[3])
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(alert(t, r), "该恢复码已使用过") {
			t.Fatalf("replayed recovery code: %d %q", r.StatusCode, alert(t, r))
		}
		if d := e.auditDetail("second_factor_failed"); d["reason"] != "recovery_code_spent" {
			t.Fatalf("audit %v", d)
		}
	})
	t.Run("SecondEnrolmentRefused", func(t *testing.T) {
		c := e.loggedIn(enterprise)
		if r := c.get("/account/second-factor"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}

func TestSecondFactorReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim := e.loggedIn(staff)
	sa := e.loggedIn(applications.RoleSecurityAdmin)
	accounts := sa.get("/security/accounts")
	if accounts.doc(t).Find(`#account-`+itoa(e.users[staff].ID)+` form[action$="/second-factor/reset"]`).Length() != 1 {
		t.Fatal("no reset button for an enrolled user")
	}
	if r := sa.post("/security/accounts/"+itoa(e.users[staff].ID)+"/second-factor/reset", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.StatusCode)
	}
	t.Run("EndsSessions", func(t *testing.T) {
		if r := victim.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("old session: %d", r.StatusCode)
		}
	})
	t.Run("UserToldAndMustEnrolAgain", func(t *testing.T) {
		c := e.client()
		if r := c.passwordStep("staff"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("password step: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		for _, path := range []string{"/", "/applications", "/inbox"} {
			if r := c.get(path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account/second-factor" {
				t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if r := c.get("/account/second-factor"); !strings.Contains(r.doc(t).Find("#enrol-reason").Text(), "必须启用双因素认证") {
			t.Fatal("no explanation on the enrolment page")
		}
		secret, _ := e.enrol(c)
		e.secrets["staff"] = secret
		inbox := c.get("/inbox")
		if inbox.StatusCode != http.StatusOK || !strings.Contains(inbox.body, "重置您的双因素认证") {
			t.Fatalf("inbox: %d", inbox.StatusCode)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		if count(e.auditEvents(), "second_factor_reset") != 1 || count(e.auditEvents(), "second_factor_enrol") != 1 {
			t.Fatal("reset or enrolment not audited")
		}
	})
}
