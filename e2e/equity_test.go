package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"ite/internal/audit"
	"ite/internal/fixture"
	"ite/internal/seed"
)

// fundedExampleA builds DOMAIN §15 example A's funded project
// (fixture.FundedExampleA) with the demo users: maker jingban, checker shenpi.
func fundedExampleA(t *testing.T, a *app) int64 {
	t.Helper()
	return fundedExample(t, a, fixture.TermsA)
}

// fundedExample is example A's funded project under terms.
func fundedExample(t *testing.T, a *app, terms string) int64 {
	t.Helper()
	ctx := context.Background()
	entID := demoUser(t, a, "qiye")
	ent, _ := a.DB.FindUser(ctx, entID)
	id, err := fixture.FundedExampleA(ctx, a.DB, openProgramme(t, a), fixture.People{EnterpriseID: ent.EnterpriseID,
		Enterprise: audit.Actor{ID: entID, Name: ent.DisplayName},
		Staff:      audit.Actor{ID: demoUser(t, a, "jingban"), Name: "李经办"},
		Approver:   audit.Actor{ID: demoUser(t, a, "shenpi"), Name: "张审批"}}, terms)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestJourneyEquity: a funded project reports a financing round; staff
// verify it; the conversion preview matches example A; the approver
// approves; the certificate prints; three exit tranches are executed and
// approved; the project is exited with example A's totals; the trial
// balance shows 1221 and 1511 at zero and the gains in 6111.
func TestJourneyEquity(t *testing.T) {
	a := startApp(t)
	id := fundedExampleA(t, a)
	equityURL := a.URL + "/applications/" + strconv.FormatInt(id, 10) + "/equity"

	ent := newBrowser(t, "enterprise")
	ent.login(a.URL, "qiye", seed.DemoPassword)
	ent.do(chromedp.Navigate(equityURL), chromedp.WaitVisible(chromedp.CSS(`#event-form`)),
		chromedp.SetValue(chromedp.CSS(`#f-event_date`), "2026-01-15"),
		chromedp.SetValue(chromedp.CSS(`#f-investors`), "某创投基金"),
		chromedp.SetValue(chromedp.CSS(`#f-new_money`), "20000000"),
		chromedp.SetValue(chromedp.CSS(`#f-pre_money_valuation`), "80000000"),
		chromedp.SetValue(chromedp.CSS(`#f-pre_money_units`), "1000000"),
		chromedp.Click(chromedp.CSS(`#report-event`)), chromedp.WaitVisible(chromedp.CSS(`#event-table tbody tr`)))
	ent.screenshot("round_reported")

	staff := newBrowser(t, "staff")
	staff.login(a.URL, "jingban", seed.DemoPassword)
	staff.do(chromedp.Navigate(equityURL), chromedp.Click(chromedp.CSS(`.verify-event`)), chromedp.WaitVisible(chromedp.CSS(`#conv-price`)))
	for sel, want := range map[string]string{"#conv-price": "80.000000", "#conv-units": "37500.00", "#conv-reserve": "2,962,500.00",
		"#conv-post": "1287500.00", "#conv-stake": "2.912621%"} {
		if got := staff.text(sel); !strings.Contains(got, want) {
			t.Fatalf("preview %s = %q, want %s", sel, got, want)
		}
	}
	staff.screenshot("conversion_preview")
	staff.do(chromedp.Click(chromedp.CSS(`#prepare-conversion`)), chromedp.WaitVisible(chromedp.CSS(`.certificate-link`)))

	approver := newBrowser(t, "approver")
	approver.login(a.URL, "shenpi", seed.DemoPassword)
	approver.do(chromedp.Navigate(equityURL), chromedp.Click(chromedp.CSS(`form:has(#approve-conversion) input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`#approve-conversion`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if flash := approver.text(`.flash`); !strings.Contains(flash, "转股已批准") || !strings.Contains(flash, "工商变更") {
		t.Fatalf("after the conversion's approval: %q", flash)
	}
	if st := approver.state(); st != "converted" {
		t.Fatalf("after approval: %s", st)
	}
	staff.do(chromedp.Navigate(equityURL), chromedp.Click(chromedp.CSS(`.certificate-link`)), chromedp.WaitVisible(chromedp.CSS(`#certificate`)))
	if cert := staff.text(`#certificate`); !strings.Contains(cert, "叁佰万元整") || !strings.Contains(cert, "37,500.00") { // one number format (issue 15)
		t.Fatalf("certificate: %q", cert)
	}
	staff.screenshot("certificate")

	// Exits in 2027–2029: move the clock; sessions idle out, so sign in again.
	a.Clock.Set(time.Date(2029, 2, 1, 2, 0, 0, 0, time.UTC))
	staff2, approver2 := newBrowser(t, "staff_2029"), newBrowser(t, "approver_2029")
	staff2.login(a.URL, "jingban", seed.DemoPassword)
	approver2.login(a.URL, "shenpi", seed.DemoPassword)
	tranches := []map[string]string{
		{"date": "2027-01-15", "units": "12500.00", "market_value": "2900000.00", "buyer_kind": "team"},
		{"date": "2028-01-15", "units": "12500.00", "buyer_kind": "team"},
		{"date": "2029-01-15", "rest": "1", "market_value": "900000.00", "buyer_kind": "team"},
	}
	for i, tr := range tranches {
		staff2.do(chromedp.Navigate(equityURL), chromedp.WaitVisible(chromedp.CSS(`#exit-form`)),
			chromedp.SetValue(chromedp.CSS(`#f-date`), tr["date"]), chromedp.SetValue(chromedp.CSS(`#f-buyer_kind`), tr["buyer_kind"]))
		if tr["units"] != "" {
			staff2.do(chromedp.SetValue(chromedp.CSS(`#f-units`), tr["units"]))
		}
		if tr["rest"] != "" {
			staff2.do(chromedp.Click(chromedp.CSS(`#f-rest`)))
		}
		if tr["market_value"] != "" {
			staff2.do(chromedp.SetValue(chromedp.CSS(`#f-market_value`), tr["market_value"]))
		}
		staff2.do(chromedp.Click(chromedp.CSS(`#prepare-exit`)), chromedp.WaitVisible(chromedp.CSS(`#exit-table`)))
		if msg := staff2.text(`main .flash`); !strings.Contains(msg, "已测算") {
			staff2.screenshot("exit_refused")
			t.Fatalf("exit %d not recorded: %q", i+1, msg)
		}
		approver2.do(chromedp.Navigate(equityURL), chromedp.Click(chromedp.CSS(`form:has(.approve-exit) input[name="confirm"]`)),
			chromedp.Click(chromedp.CSS(`.approve-exit`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
		if i == 0 {
			approver2.screenshot("first_exit")
		}
	}
	staff2.do(chromedp.Navigate(equityURL), chromedp.WaitVisible(chromedp.CSS(`#realised`)))
	if st := staff2.state(); st != "exited" {
		t.Fatalf("after three exits: %s", st)
	}
	for sel, want := range map[string]string{"#total-proceeds": "3,095,123.29", "#total-concession": "1,809,917.81",
		"#total-gain": "95,123.29", "#moic": "1.031708", "#xirr": "0.911826%"} {
		if got := staff2.text(sel); !strings.Contains(got, want) {
			t.Fatalf("%s = %q, want %s", sel, got, want)
		}
	}
	staff2.screenshot("exited_totals")

	auditor := newBrowser(t, "auditor")
	auditor.login(a.URL, "shenji", seed.DemoPassword)
	auditor.do(chromedp.Navigate(a.URL+"/ledger/trial-balance?date=2029-02-01"), chromedp.WaitVisible(chromedp.CSS(`#trial-table`)))
	app := strconv.FormatInt(id, 10)
	rowText := func(account string) string {
		s, err := chromedp.Run(auditor.ctx, chromedp.Evaluate[string](`(document.querySelector('#trial-table tr[data-account="`+account+`"]')||{innerText:"(none)"}).innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, acct := range []string{"1221/app/" + app, "1511/app/" + app} {
		cells := strings.Fields(rowText(acct))
		// debit turnover, credit turnover, no balance on either side
		if len(cells) < 4 || strings.Contains(strings.Join(cells[len(cells)-2:], ""), ".") && cells[len(cells)-1] != "—" && cells[len(cells)-1] != "" {
			t.Logf("row %s: %v", acct, cells)
		}
	}
	body := auditor.text(`#trial-table`)
	if !strings.Contains(body, "195,123.29") || !strings.Contains(body, "100,000.00") {
		t.Fatalf("trial balance lacks the exit gains/loss: %s", body)
	}
	auditor.screenshot("trial_balance")
	v, err := a.DB.VerifyLedger(context.Background())
	if err != nil || !v.OK {
		t.Fatalf("ledger verify: %+v %v", v, err)
	}
	bal := func(code string) string {
		var d decimal.Decimal
		_ = a.DB.Pool.QueryRow(context.Background(), `SELECT COALESCE(sum(CASE side WHEN 'debit' THEN amount ELSE -amount END), 0)
			FROM ledger_postings WHERE account_code = $1 AND scope = 'app' AND scope_id = $2`, code, id).Scan(&d)
		return d.StringFixed(2)
	}
	if bal("1221") != "0.00" || bal("1511") != "0.00" {
		t.Fatalf("1221 %s, 1511 %s", bal("1221"), bal("1511"))
	}
}
