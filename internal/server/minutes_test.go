package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"ite/internal/applications"
)

// TestCapOverrideNeedsMinutes: a decision above the per-project cap (一事一议)
// is refused at approval until it carries the committee's minutes, which
// the approver then sees on the decision (DOMAIN §7, §8).
func TestCapOverrideNeedsMinutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	id := e.reviewed(p, "9000000.00")
	if _, err := e.db.Pool.Exec(ctx, `UPDATE programmes SET project_cap = 5000000 WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffC, appr := e.loggedIn(applications.RoleStaff), e.loggedIn(applications.RoleApprover)
	staffC.get(path)
	appr.get(path)
	form := termsValues(t, p.TermsTemplate)
	form.Set("kind", "approve")
	form.Set("amount", "8000000.00")
	form.Set("cap_override", "1")
	form.Set("override_reason", "重大产业化项目，一事一议")
	r := staffC.post(path+"/decision", form)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("prepare %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	ds, _ := e.db.ListDecisions(ctx, id)
	did := strconv.FormatInt(ds[0].ID, 10)
	t.Run("RefusedWithoutMinutes", func(t *testing.T) {
		r := appr.post("/decisions/"+did+"/approve", withConfirm(nil))
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.doc(t).Find("[role=alert]").Text(), "会议纪要") {
			t.Fatalf("status %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateReviewed {
			t.Fatalf("state %s", a.State)
		}
	})
	t.Run("ApproverCannotAttach", func(t *testing.T) {
		if r := appr.postMultipart("/decisions/"+did+"/minutes", url.Values{"minutes_number": {"1"}, "minutes_date": {"2026-01-01"}},
			"evidence", "纪要.pdf", pdf); r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("StaffSeesTheForm", func(t *testing.T) {
		if staffC.get(path).doc(t).Find(`[data-record="decision-`+did+`"] .minutes-form`).Length() != 1 {
			t.Fatal("no minutes form on the pending cap override")
		}
	})
	today := e.clock.Now().Format("2006-01-02")
	if r := staffC.postMultipart("/decisions/"+did+"/minutes", url.Values{"minutes_number": {"经开决纪〔2026〕7号"}, "minutes_date": {today}},
		"evidence", "决策联席会纪要.pdf", pdf); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("attach %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	t.Run("ApproverSeesMinutes", func(t *testing.T) {
		d := appr.get(path).doc(t)
		m := d.Find(`[data-record="decision-` + did + `"] .minutes`)
		if m.Find(".minutes-number").Text() != "经开决纪〔2026〕7号" || m.Find("a").Length() != 1 {
			t.Fatalf("minutes on the approval page: %q", m.Text())
		}
	})
	t.Run("SecondMinutesRefused", func(t *testing.T) {
		r := staffC.postMultipart("/decisions/"+did+"/minutes", url.Values{"minutes_number": {"2"}, "minutes_date": {today}}, "evidence", "纪要.pdf", pdf)
		if r.StatusCode != http.StatusConflict {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	if r := appr.post("/decisions/"+did+"/approve", withConfirm(nil)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve with minutes %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateApproved || a.ApprovedAmount.Decimal.StringFixed(2) != "8000000.00" {
		t.Fatalf("state %s %v", a.State, a.ApprovedAmount)
	}
}
