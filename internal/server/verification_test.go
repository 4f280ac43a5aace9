package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ite/internal/applications"
)

// TestVerifiedEnterprises (issue 16.4): a self-registered enterprise
// drafts but cannot submit until staff verify it; a refusal's reason
// reaches the enterprise; decisions are audited.
func TestVerifiedEnterprises(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.openProgramme()
	reg := e.client()
	reg.get("/register")
	form := url.Values{"name": {"自注册科技有限公司"}, "uscc": {applications.ExampleUSCC(4242)}, "legal_rep": {"周法人"},
		"registered_capital": {"2000000.00"}, "founded_on": {"2021-03-01"}, "address": {"呼和浩特经开区如意和大街1号"},
		"contact_name": {"吴联系"}, "contact_mobile": {"13912345678"}, "username": {"selfreg"}, "password": {"Register-2026"}}
	if r := reg.post("/register", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d", r.StatusCode)
	}
	ent := e.client()
	if r := ent.login("selfreg", "Register-2026"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	id := ent.createApplication(p.ID, "1000000.00") // drafting is allowed
	e.uploadAll(ent, id)
	path := "/applications/" + itoa(id)
	submit := func() response {
		ent.get(path)
		return ent.post(path+"/submit", nil)
	}
	t.Run("SubmitRefusedUntilVerified", func(t *testing.T) {
		r := submit()
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "尚待经办人员核验") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	staffC := e.loggedIn(staff)
	var entID int64
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT id FROM enterprises WHERE name = '自注册科技有限公司'`).Scan(&entID)
	card := "#enterprise-" + itoa(entID)
	t.Run("OnStaffsToDo", func(t *testing.T) {
		d := staffC.get("/enterprises/verification").doc(t)
		if d.Find(card).Length() != 1 || d.Find(card+` a[href^="/documents/"]`).Length() == 0 {
			t.Fatal("enterprise or its licence copy not listed")
		}
		if !strings.Contains(staffC.get("/inbox").body, "新注册企业待核验") {
			t.Fatal("staff not told")
		}
		if r := e.loggedIn(approver).get("/enterprises/verification"); r.StatusCode != http.StatusForbidden {
			t.Fatalf("approver: %d", r.StatusCode)
		}
	})
	verifyPath := "/enterprises/" + itoa(entID) + "/verification"
	t.Run("RefusalNeedsAReason", func(t *testing.T) {
		if r := staffC.post(verifyPath, url.Values{"decision": {"refuse"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("RefusalReasonReachesTheEnterprise", func(t *testing.T) {
		if r := staffC.post(verifyPath, url.Values{"decision": {"refuse"}, "reason": {"营业执照上的法定代表人与注册信息不一致"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("refuse: %d", r.StatusCode)
		}
		if !strings.Contains(ent.get("/inbox").body, "法定代表人与注册信息不一致") {
			t.Fatal("enterprise not told the reason")
		}
		r := submit()
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "法定代表人与注册信息不一致") {
			t.Fatalf("submit after refusal: %d", r.StatusCode)
		}
	})
	t.Run("VerifiedSubmits", func(t *testing.T) {
		staffC.get("/enterprises/verification")
		if r := staffC.post(verifyPath, url.Values{"decision": {"verify"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("verify: %d", r.StatusCode)
		}
		if r := submit(); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %d %s", r.StatusCode, alert(t, r))
		}
		ev := e.auditEvents()
		if count(ev, "enterprise_verify") != 1 || count(ev, "enterprise_verify_refused") != 1 {
			t.Fatal("decisions not audited")
		}
	})
}
