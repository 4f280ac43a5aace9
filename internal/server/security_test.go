package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
)

// TestThreeSeparatedAdministrators: the admin reaches no security page,
// the security admin no business or administration page (三员分立).
func TestThreeSeparatedAdministrators(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, sa := e.loggedIn(applications.RoleAdmin), e.loggedIn(applications.RoleSecurityAdmin)
	for _, path := range []string{"/security", "/security/accounts", "/security/events"} {
		if r := admin.get(path); r.StatusCode != http.StatusForbidden {
			t.Errorf("admin GET %s: %d", path, r.StatusCode)
		}
		if r := e.loggedIn(auditor).get(path); r.StatusCode != http.StatusForbidden {
			t.Errorf("auditor GET %s: %d", path, r.StatusCode)
		}
		if r := sa.get(path); r.StatusCode != http.StatusOK {
			t.Errorf("security admin GET %s: %d", path, r.StatusCode)
		}
	}
	if r := admin.post("/security/policy", url.Values{"idle_timeout_minutes": {"5"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("admin POST policy: %d", r.StatusCode)
	}
	for _, path := range []string{"/applications", "/admin/users", "/admin/enterprises", "/ledger", "/dashboard", "/programmes", "/audit", "/experts"} {
		if r := sa.get(path); r.StatusCode != http.StatusForbidden {
			t.Errorf("security admin GET %s: %d", path, r.StatusCode)
		}
	}
	t.Run("AdminCannotAppointOrTouchASecurityAdmin", func(t *testing.T) {
		admin.get("/admin/users")
		if r := admin.post("/admin/users", url.Values{"username": {"sa2"}, "display_name": {"冒充"}, "role": {"security_admin"}, "password": {"Strong-pass-1"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("create security admin: %d", r.StatusCode)
		}
		if r := admin.post("/admin/users/"+itoa(e.users[staff].ID), url.Values{"role": {"security_admin"}, "enterprise_id": {"0"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("promote to security admin: %d", r.StatusCode)
		}
		sid := itoa(e.users[applications.RoleSecurityAdmin].ID)
		if r := admin.post("/admin/users/"+sid+"/password", url.Values{"password": {"Taken-over-pass-1"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("reset the security admin's password: %d", r.StatusCode)
		}
		if r := admin.post("/admin/users/"+sid+"/status", url.Values{"disabled": {"true"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("disable the security admin: %d", r.StatusCode)
		}
	})
	t.Run("OneRoleEachByConstraint", func(t *testing.T) {
		_, err := e.db.Pool.Exec(context.Background(), `UPDATE users SET role = 'admin,security_admin' WHERE username = 'staff'`)
		if err == nil || !strings.Contains(err.Error(), "users_role_check") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("AuditorReadsTheSecurityAdminsActions", func(t *testing.T) {
		sa.get("/security/accounts")
		sa.post("/security/accounts/"+itoa(e.users[expert].ID)+"/unlock", nil)
		r := e.loggedIn(auditor).get("/audit?event=account_unlock")
		if r.StatusCode != http.StatusOK || r.doc(t).Find("#audit-table tbody tr").Length() != 1 {
			t.Fatalf("auditor's audit log: %d", r.StatusCode)
		}
	})
}

func TestSecurityPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sa := e.loggedIn(applications.RoleSecurityAdmin)
	form := func(idle, absolute string) url.Values {
		return url.Values{"password_min_length": {"12"}, "password_max_age_days": {"60"}, "password_history": {"8"},
			"idle_timeout_minutes": {idle}, "absolute_timeout_minutes": {absolute}, "second_factor_for_all": {"true"}}
	}
	t.Run("BadValuesAre422", func(t *testing.T) {
		sa.get("/security")
		for _, f := range []url.Values{form("2", "720"), form("x", "720"), form("600", "300")} {
			if r := sa.post("/security/policy", f); r.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%v: %d", f, r.StatusCode)
			}
		}
	})
	staffC := e.loggedIn(staff)
	if r := sa.post("/security/policy", form("10", "60")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.StatusCode, alert(t, r))
	}
	p, _ := e.db.SecurityPolicy(context.Background())
	if p.PasswordMinLength != 12 || p.PasswordHistory != 8 || p.IdleTimeout != 10*time.Minute || !p.SecondFactorForAll {
		t.Fatalf("policy %+v", p)
	}
	if d := e.auditDetail("security_policy_set"); d["before"] == nil || d["after"] == nil {
		t.Fatalf("audit %v", d)
	}
	t.Run("ShorterIdleTimeoutAppliesAtOnce", func(t *testing.T) {
		e.clock.Advance(11 * time.Minute)
		if r := staffC.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("after 11 idle minutes: %d", r.StatusCode)
		}
	})
	t.Run("PasswordLengthFromThePolicy", func(t *testing.T) {
		c := e.client()
		c.login("expert", testPassword)
		// second factor for all: the expert must enrol first
		if r := c.get("/"); r.Header.Get("Location") != "/account/second-factor" {
			t.Fatalf("expert not sent to enrol: %s", r.Header.Get("Location"))
		}
		e.secrets["expert"], _ = e.enrol(c)
		if r := changePassword(c, testPassword, "Eleven-ch-1"); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "至少需要12个字符") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}

// TestRefusalsOnTheSecurityEventsPage: wrong password, 403 and CSRF
// refusals each leave an audit row the security admin sees.
func TestRefusalsOnTheSecurityEventsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.client().login("staff", "Wrong-pass-2026")
	ent := e.loggedIn(enterprise)
	ent.get("/ledger")
	ent.post("/applications", url.Values{"csrf_token": {"stale"}})
	sa := e.loggedIn(applications.RoleSecurityAdmin)
	d := sa.get("/security/events").doc(t)
	for _, ev := range []string{"login_failed", "access_refused", "csrf_refused", "login", "login_password_accepted"} {
		if d.Find(`#security-events tr[data-event="`+ev+`"]`).Length() == 0 {
			t.Errorf("no %s row", ev)
		}
	}
	filtered := sa.get("/security/events?outcome=refused").doc(t)
	if filtered.Find(`#security-events tr[data-event="login"]`).Length() != 0 || filtered.Find(`#security-events tr[data-event="csrf_refused"]`).Length() == 0 {
		t.Error("outcome filter")
	}
	e.mustVerifyAudit()
}
