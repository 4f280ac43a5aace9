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
	c.get("/register")
	good := applications.ExampleUSCC(42)
	t.Run("RegistersAndSignsIn", func(t *testing.T) {
		if r := c.post("/register", form(good, "newco")); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d: %s", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		if r := e.client().login("newco", "Register-2026"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("cannot sign in: %d", r.StatusCode)
		}
	})
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
