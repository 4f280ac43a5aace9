package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ite/internal/applications"
)

func TestRegisterEnterprise(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := func(uscc, username string) url.Values {
		return url.Values{"name": {"新注册科技有限公司"}, "uscc": {uscc}, "legal_rep": {"周法人"},
			"registered_capital": {"2000000.00"}, "founded_on": {"2021-03-01"}, "address": {"呼和浩特经开区如意和大街1号"},
			"contact_name": {"吴联系"}, "contact_mobile": {"13912345678"}, "username": {username}, "password": {"Register-2026"}}
	}
	c := e.client()
	t.Run("LoginPageLinksToRegistration", func(t *testing.T) {
		d := c.get("/login").doc(t)
		link := d.Find(`a#register-link[href="/register"]`)
		if link.Length() != 1 || !strings.Contains(link.Text(), "注册") {
			t.Fatalf("login page has %d registration links", link.Length())
		}
		if r := c.get(link.AttrOr("href", "")); r.StatusCode != http.StatusOK || r.doc(t).Find(`form[action="/register"]`).Length() != 1 {
			t.Fatalf("the link leads to %d", r.StatusCode)
		}
	})
	good := applications.ExampleUSCC(42)
	t.Run("RegistersAndIsSignedIn", func(t *testing.T) {
		before := e.auditEvents()
		r := c.post("/register", form(good, "newco"))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
			t.Fatalf("status %d to %q: %s", r.StatusCode, r.Header.Get("Location"), r.doc(t).Find(`[role=alert]`).Text())
		}
		home := c.get("/")
		d := home.doc(t)
		if home.StatusCode != http.StatusOK || d.Find(`form[action="/logout"]`).Length() == 0 || d.Find(`form#login-form`).Length() != 0 ||
			!strings.Contains(d.Find("body").Text(), "吴联系") || !strings.Contains(d.Find("body").Text(), "注册成功，已为您登录") {
			t.Fatalf("home after registering: %d %s", home.StatusCode, d.Find("main").Text())
		}
		// The enterprise's own pages are open to the session.
		if r := c.get("/enterprise/colleagues"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "newco") {
			t.Fatalf("colleagues page: %d", r.StatusCode)
		}
		// Signed in the way the login form signs in: one login row.
		after := e.auditEvents()[len(before):]
		if count(after, "login") != 1 || count(after, "login_failed") != 0 {
			t.Fatalf("audit rows of registering: %v", after)
		}
		var sessions int
		_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'newco'`).Scan(&sessions)
		if sessions != 1 {
			t.Fatalf("%d sessions for newco", sessions)
		}
		if r := e.client().login("newco", "Register-2026"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("cannot sign in again: %d", r.StatusCode)
		}
	})
	t.Run("LoginFormFilledFromQuery", func(t *testing.T) {
		d := e.client().get("/login?username=newco").doc(t)
		if v := d.Find(`input[name="username"]`).AttrOr("value", ""); v != "newco" {
			t.Fatalf("username field %q", v)
		}
	})
	c = e.client()
	t.Run("DuplicateUSCCRefused", func(t *testing.T) {
		c.get("/register")
		r := c.post("/register", form(good, "newco2"))
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "已注册") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("WrongCheckDigitRefused", func(t *testing.T) {
		bad := good[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", good[17])+1)%31])
		c.get("/register")
		r := c.post("/register", form(bad, "newco3"))
		if r.StatusCode != http.StatusUnprocessableEntity || r.doc(t).Find(".field.has-error").Length() == 0 {
			t.Fatalf("status %d", r.StatusCode)
		}
		users, _ := e.db.ListUsers(context.Background())
		for _, u := range users {
			if u.Username == "newco3" {
				t.Fatal("user written despite refusal")
			}
		}
	})
}
