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

// TestEligibility: a programme's rules refuse a submission naming the rule
// (422, nothing written), one rule at a time; staff admit an ineligible
// application with a written reason, the enterprise then submits, and the
// approver sees the admission on the decision (DOMAIN §3).
func TestEligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	admin := e.loggedIn(applications.RoleAdmin)
	prog := "/programmes/" + strconv.FormatInt(p.ID, 10)
	admin.get(prog)
	rules, _ := e.db.ProgrammeRules(ctx, p.ID)
	ruleForm := url.Values{"version": {strconv.Itoa(rules.Version)}, "max_company_age_years": {"5"}, "require_in_zone": {"1"},
		"min_founder_cash_pct": {"10"}, "loss_tolerance": {"80"}}
	t.Run("BadRuleRefused", func(t *testing.T) {
		bad := url.Values{}
		for k, v := range ruleForm {
			bad[k] = v
		}
		bad.Set("min_founder_cash_pct", "150")
		if r := admin.post(prog+"/rules", bad); r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	if r := admin.post(prog+"/rules", ruleForm); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rules: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	if got, _ := admin.get(prog).doc(t).Find(`#rules-form input[name="max_company_age_years"]`).Attr("value"); got != "5" {
		t.Fatalf("rules form shows %q", got)
	}

	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "1000000.00")
	e.uploadAll(ent, id)
	path := "/applications/" + strconv.FormatInt(id, 10)
	today := e.clock.Now()
	setFounded := func(years int) {
		t.Helper()
		if _, err := e.db.Pool.Exec(ctx, `UPDATE enterprises SET founded_on = $2 WHERE id = $1`,
			e.people().EnterpriseID, today.AddDate(-years, 0, -1)); err != nil {
			t.Fatal(err)
		}
	}
	facts := func(cash string, inZone bool) {
		t.Helper()
		f := url.Values{"founder_cash": {cash}, "total_budget": {"2000000.00"}, "paid_in_capital": {"500000.00"}}
		if inZone {
			f.Set("in_zone", "1")
		}
		ent.get(path)
		if r := ent.post(path+"/eligibility", f); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("eligibility form: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
	}
	refused := func(t *testing.T, rule string) {
		t.Helper()
		ent.get(path)
		r := ent.post(path+"/submit", nil)
		if msg := r.doc(t).Find("[role=alert]").Text(); r.StatusCode != 422 || !strings.Contains(msg, rule) {
			t.Fatalf("submit: %d %q, want the rule %q named", r.StatusCode, msg, rule)
		}
		if a, _ := e.db.FindApplication(ctx, id); a.State != applications.StateDraft {
			t.Fatalf("refused submission moved the application to %s", a.State)
		}
	}
	setFounded(2)
	facts("200000.00", true) // 10% of 2,000,000.00 exactly: eligible
	t.Run("CompanyAgeRefused", func(t *testing.T) {
		setFounded(5) // one day more than five years
		defer setFounded(2)
		refused(t, "成立年限（不超过 5 年）")
	})
	t.Run("NotInZoneRefused", func(t *testing.T) {
		facts("200000.00", false)
		defer facts("200000.00", true)
		refused(t, "注册地在经开区")
	})
	facts("199999.99", true)
	t.Run("FounderCashRefused", func(t *testing.T) {
		refused(t, "创始团队自有资金（不低于项目总预算的 10%）")
	})
	staffC := e.loggedIn(applications.RoleStaff)
	t.Run("EnterpriseCannotAdmit", func(t *testing.T) {
		if r := ent.post(path+"/admit", url.Values{"admit_reason": {"自行准入"}}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("AdmissionNeedsReason", func(t *testing.T) {
		if staffC.get(path).doc(t).Find("#admit-form").Length() != 1 {
			t.Fatal("no admit form for staff")
		}
		if r := staffC.post(path+"/admit", url.Values{"admit_reason": {"  "}}); r.StatusCode != 422 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	const reason = "自有资金差 0.01 元，属尾差，经研究准予申报"
	if r := staffC.post(path+"/admit", url.Values{"admit_reason": {reason}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("admit: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	if d := e.auditDetail("application_admit"); d["reason"] != reason {
		t.Fatalf("audit: %v", d)
	}
	ent.get(path)
	if r := ent.post(path+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit after admission: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	for _, st := range []applications.State{applications.StateUnderReview, applications.StateReviewed} {
		if _, err := e.db.TransitionApplication(ctx, sys, id, st, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	staffC.get(path)
	decision := termsValues(t, p.TermsTemplate)
	decision.Set("kind", "approve")
	decision.Set("amount", "1000000.00")
	if r := staffC.post(path+"/decision", decision); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("prepare decision: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	t.Run("ApproverSeesAdmission", func(t *testing.T) {
		d := e.loggedIn(applications.RoleApprover).get(path).doc(t)
		if got := d.Find("#decisions .admission-reason").Text(); got != reason {
			t.Fatalf("admission on the decision: %q", got)
		}
	})
}

// TestEnterpriseEligibilityFields: the registration form and the admin's
// enterprise form record 成立日期, 注册地址, registered and paid-in capital
// and the zone declaration the rules are checked against.
func TestEnterpriseEligibilityFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	read := func(t *testing.T, uscc string) string {
		t.Helper()
		var got string
		if err := e.db.Pool.QueryRow(ctx, `SELECT concat_ws('|', founded_on, address, registered_capital, paid_in_capital, in_zone)
			FROM enterprises WHERE uscc = $1`, uscc).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	t.Run("Registration", func(t *testing.T) {
		c := e.client()
		c.get("/register")
		uscc := applications.ExampleUSCC(77)
		r := c.post("/register", url.Values{"name": {"条件科技有限公司"}, "uscc": {uscc}, "legal_rep": {"周法人"},
			"registered_capital": {"2000000.00"}, "paid_in_capital": {"500000.00"}, "founded_on": {"2021-03-01"},
			"address": {"呼和浩特经开区如意和大街1号"}, "in_zone": {"1"}, "contact_name": {"吴联系"}, "contact_mobile": {"13912345678"},
			"username": {"tiaojian"}, "password": {"Register-2026"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("register: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if got := read(t, uscc); got != "2021-03-01|呼和浩特经开区如意和大街1号|2000000.00|500000.00|t" {
			t.Fatalf("stored %q", got)
		}
	})
	t.Run("AdminForm", func(t *testing.T) {
		admin := e.loggedIn(applications.RoleAdmin)
		admin.get("/admin/enterprises")
		uscc := applications.ExampleUSCC(78)
		r := admin.post("/admin/enterprises", url.Values{"name": {"管理员登记有限公司"}, "uscc": {uscc}, "founded_on": {"2020-05-06"},
			"address": {"经开区金海路2号"}, "registered_capital": {"1000000"}, "paid_in_capital": {"0"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
		}
		if got := read(t, uscc); got != "2020-05-06|经开区金海路2号|1000000.00|0.00|f" {
			t.Fatalf("stored %q", got)
		}
		if r := admin.post("/admin/enterprises", url.Values{"name": {"坏日期公司"}, "uscc": {applications.ExampleUSCC(79)}, "founded_on": {"昨天"}}); r.StatusCode != 422 {
			t.Fatalf("bad date: %d", r.StatusCode)
		}
	})
}

// TestZoneConfirmedAtFormalReview: under a programme that requires
// registration in the zone, formal review cannot pass until staff confirm
// the enterprise's declaration (DOMAIN §3).
func TestZoneConfirmedAtFormalReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	rules, _ := e.db.ProgrammeRules(ctx, p.ID)
	rules.RequireInZone = true
	if err := e.db.UpdateProgrammeRules(ctx, sys, p.ID, rules); err != nil {
		t.Fatal(err)
	}
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "1000000.00")
	e.uploadAll(ent, id)
	path := "/applications/" + strconv.FormatInt(id, 10)
	ent.get(path)
	if r := ent.post(path+"/eligibility", url.Values{"in_zone": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("declare: %d", r.StatusCode)
	}
	if r := ent.post(path+"/submit", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	staffC := e.loggedIn(applications.RoleStaff)
	staffC.get(path)
	for _, m := range applications.DefaultRequiredMaterials {
		if r := staffC.post(path+"/materials/"+string(m)+"/review", url.Values{"decision": {"accept"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("review %s: %d", m, r.StatusCode)
		}
	}
	t.Run("PassRefusedBeforeConfirmation", func(t *testing.T) {
		if r := staffC.post(path+"/review/accept", nil); r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "注册地") {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	if staffC.get(path).doc(t).Find("#zone-confirm-form").Length() != 1 {
		t.Fatal("no confirmation form at formal review")
	}
	if r := staffC.post(path+"/zone-confirm", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
	if staffC.get(path).doc(t).Find("#zone-confirmed").Length() != 1 {
		t.Fatal("confirmation not shown")
	}
	if r := staffC.post(path+"/review/accept", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("pass formal review: %d %s", r.StatusCode, r.doc(t).Find("[role=alert]").Text())
	}
}
