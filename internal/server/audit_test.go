package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"ite/internal/applications"
	"ite/internal/audit"
)

func TestAuditChain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.loggedIn(applications.RoleStaff)
	e.client().login("staff", "Wrong-pass-2026")

	t.Run("IntactChainVerifies", func(t *testing.T) {
		n, err := e.db.VerifyAudit(ctx)
		if err != nil || n < 8 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
	t.Run("UpdateRefusedByTrigger", func(t *testing.T) {
		_, err := e.db.Pool.Exec(ctx, `UPDATE audit_log SET actor_name = 'x' WHERE seq = 2`)
		if err == nil || !strings.Contains(err.Error(), "只追加") {
			t.Fatalf("update allowed: %v", err)
		}
		if _, err := e.db.Pool.Exec(ctx, `DELETE FROM audit_log WHERE seq = 2`); err == nil {
			t.Fatal("delete allowed")
		}
	})
	t.Run("VerifyPageReportsOK", func(t *testing.T) {
		r := e.loggedIn(applications.RoleAuditor).get("/audit/verify")
		if !strings.Contains(r.doc(t).Find("#verify-result").Text(), "校验通过") {
			t.Fatalf("verify page: %s", r.body)
		}
	})
	t.Run("TamperAsOwnerCaught", func(t *testing.T) {
		// The table owner can switch the trigger off; the chain still tells.
		for _, sql := range []string{
			`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`,
			`UPDATE audit_log SET outcome = 'success' WHERE seq = 3`,
			`UPDATE audit_log SET actor_name = '篡改者' WHERE seq = 4`,
			`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`,
		} {
			if _, err := e.db.Pool.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.db.VerifyAudit(ctx)
		var ce *audit.ChainError
		if !errors.As(err, &ce) || ce.Seq != 4 {
			// seq 3 was set to the value it already had (success), so the
			// first real change is seq 4.
			t.Fatalf("tampering not reported at seq 4: %v", err)
		}
		r := e.loggedIn(applications.RoleAuditor).get("/audit/verify")
		if !strings.Contains(r.doc(t).Find("#verify-result").Text(), "第 4 条") {
			t.Fatalf("verify page does not name row 4: %s", r.doc(t).Find("#verify-result").Text())
		}
	})
}

func TestAuditLogPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(applications.RoleAuditor)
	r := c.get("/audit?event=login")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	rows := r.doc(t).Find("#audit-table tbody tr")
	if rows.Length() == 0 {
		t.Fatal("no login rows shown")
	}
	// Events, roles, objects and details are named in Chinese (issue 14):
	// the stored event name is the filter's value, not shown; the detail
	// is a field list, not JSON.
	if row := rows.First().Text(); !strings.Contains(row, "登录") || !strings.Contains(row, "审计人员") || strings.Contains(row, "login") ||
		!strings.Contains(row, "用户名：auditor") || strings.Contains(row, "{") {
		t.Fatalf("audit row %q", row)
	}
	if sel := r.doc(t).Find(`#f-event option[selected]`); sel.AttrOr("value", "") != "login" || sel.Text() != "登录" {
		t.Fatalf("the filter shows %q (%q), want 登录", sel.Text(), sel.AttrOr("value", ""))
	}
}
