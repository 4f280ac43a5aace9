package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/fixture"
	"ite/internal/seed"
)

// convertedExampleE builds DOMAIN §15 example E's holding: example A's
// funded project under fixture.TermsE (LPR1Y + 0.5%, 0% within 2 years,
// appraisal after 4 years), converted on 2026-01-15 by the demo maker and
// checker.
func convertedExampleE(t *testing.T, a *app) int64 {
	t.Helper()
	ctx := context.Background()
	id := fundedExample(t, a, fixture.TermsE)
	staff := audit.Actor{ID: demoUser(t, a, "jingban"), Name: "李经办"}
	approver := audit.Actor{ID: demoUser(t, a, "shenpi"), Name: "张审批"}
	ev, err := a.DB.ReportEvent(ctx, staff, applications.TriggerEvent{ApplicationID: id, Kind: applications.EventFinancing,
		EventDate: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), Investors: "某创投基金", NewMoney: decimal.RequireFromString("20000000"),
		PreMoneyValuation: decimal.RequireFromString("80000000"), PreMoneyUnits: decimal.RequireFromString("1000000"), Unit: "registered_capital"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DB.VerifyEvent(ctx, staff, ev, true, ""); err != nil {
		t.Fatal(err)
	}
	cid, err := a.DB.PrepareConversion(ctx, staff, id, "", auth.NewToken())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DB.ApproveConversion(ctx, approver, cid); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestJourneyExitExampleE: staff record example E's three tranches through
// the exit form (a team buy-back within 2 years, a listing on a
// property-rights exchange, a team buy-back with an appraisal and its
// report file), a missing appraisal is shown beside its field with the
// values kept, the approver approves each; the exit record shows every
// figure of E with the LPR entry used, and the equity page explains each
// price in words.
func TestJourneyExitExampleE(t *testing.T) {
	a := startApp(t)
	id := convertedExampleE(t, a)
	equityURL := a.URL + "/applications/" + strconv.FormatInt(id, 10) + "/equity"
	report := filepath.Join(t.TempDir(), "评估报告.pdf")
	if err := os.WriteFile(report, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	a.Clock.Set(time.Date(2030, 4, 7, 2, 0, 0, 0, time.UTC))
	staff, approver := newBrowser(t, "staff"), newBrowser(t, "approver")
	staff.login(a.URL, "jingban", seed.DemoPassword)
	approver.login(a.URL, "shenpi", seed.DemoPassword)
	tranches := []map[string]string{
		{"date": "2027-06-30", "units": "12500.00", "buyer_kind": "team", "market_value": "2000000.00"},
		{"date": "2029-01-15", "units": "12500.00", "buyer_kind": "third_party", "exchange": "上海联合产权交易所",
			"listing_no": "G32029SH1000123", "transaction_price": "1600000.00"},
		{"date": "2030-03-31", "rest": "1", "buyer_kind": "team", "appraiser": "某资产评估有限公司", "report_no": "评报字〔2030〕第18号",
			"report_date": "2030-03-01", "appraised_value": "1300000.00", "filing_no": "备2030-0042"},
	}
	fill := func(tr map[string]string, withAppraisal bool) {
		staff.do(chromedp.Navigate(equityURL), chromedp.WaitVisible(chromedp.CSS(`#exit-form`)))
		for _, k := range []string{"date", "units", "buyer_kind", "market_value", "exchange", "listing_no", "transaction_price",
			"appraiser", "report_no", "report_date", "appraised_value", "filing_no"} {
			if v := tr[k]; v != "" && (withAppraisal || k != "appraised_value") {
				staff.do(chromedp.SetValue(chromedp.CSS(`#exit-form [name="`+k+`"]`), v))
			}
		}
		if tr["rest"] != "" {
			staff.do(chromedp.Click(chromedp.CSS(`#f-rest`)))
		}
		if withAppraisal && tr["appraised_value"] != "" {
			staff.do(chromedp.SetUploadFiles(chromedp.CSS(`#f-evidence`), []string{report}))
		}
		staff.do(chromedp.Click(chromedp.CSS(`#prepare-exit`)), chromedp.WaitVisible(chromedp.CSS(`#exit-table`)))
	}
	for i, tr := range tranches {
		if i == 2 {
			// Four years after the conversion the policy requires the appraisal.
			fill(tr, false)
			if msg := staff.text(`#exit-form .has-error`); !strings.Contains(msg, "评估") {
				staff.screenshot("appraisal_missing")
				t.Fatalf("no appraisal: %q", msg)
			}
			kept, err := chromedp.Run(staff.ctx, chromedp.Value(chromedp.CSS(`#exit-form [name="appraiser"]`)))
			if err != nil || kept != tr["appraiser"] {
				t.Fatalf("appraiser not kept: %q %v", kept, err)
			}
			staff.screenshot("appraisal_missing")
		}
		fill(tr, true)
		if msg := staff.text(`main .flash`); !strings.Contains(msg, "已测算") {
			staff.screenshot("exit_refused")
			t.Fatalf("exit %d not recorded: %q", i+1, msg)
		}
		approver.do(chromedp.Navigate(equityURL), chromedp.Click(chromedp.CSS(`form:has(.approve-exit) input[name="confirm"]`)),
			chromedp.Click(chromedp.CSS(`.approve-exit`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	}
	staff.do(chromedp.Navigate(equityURL), chromedp.WaitVisible(chromedp.CSS(`#realised`)))
	staff.screenshot("exited")
	if st := staff.state(); st != "exited" {
		t.Fatalf("after three exits: %s", st)
	}
	for sel, want := range map[string]string{"#total-proceeds": "3,900,000.00", "#total-concession": "1,000,000.00",
		"#total-gain": "900,000.00", "#moic": "1.300000", "#xirr": "6.025647%"} {
		if got := staff.text(sel); !strings.Contains(got, want) {
			t.Fatalf("%s = %q, want %s", sel, got, want)
		}
	}
	table := staff.text(`#exit-table`)
	for _, w := range []string{"持股满 2 年内按本金回购", "按 2025年5月20日 一年期 LPR 3.00% 加 0.50% 计息",
		"第三方通过产权交易所挂牌受让，按成交价", "评估值高于回购价，按评估值"} {
		if !strings.Contains(table, w) {
			t.Fatalf("equity page lacks %q: %s", w, table)
		}
	}
	// The third tranche's record (退出确认单).
	staff.do(chromedp.Click(chromedp.CSS(`#exit-table tbody tr:nth-child(3) .exit-record`)), chromedp.WaitVisible(chromedp.CSS(`#exit-record`)))
	staff.screenshot("exit_record")
	for sel, want := range map[string]string{"#x-rate": "3.50%", "#x-rate-basis": "参考利率",
		"#x-rate-source": "一年期LPR 2025年5月20日 3.00% + 0.50%", "#x-interest": "182,287.67 元", "#x-cap": "1,182,287.67 元",
		"#x-proceeds": "1,300,000.00 元", "#x-gain": "300,000.00 元", "#x-total-interest": "339,931.51 元", "#x-xirr": "6.025647%"} {
		if got := staff.text(sel); !strings.Contains(got, want) {
			t.Fatalf("%s = %q, want %s", sel, got, want)
		}
	}
}
