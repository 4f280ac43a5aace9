package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"ite/internal/seed"
)

// TestJourneyDashboard: with example A's project funded (3,000,000
// approved and disbursed), the auditor opens the dashboard: the six SVG
// charts render with bars, and the committed and disbursed figures match
// the approval and the trial balance's 1221 debit turnover, for the
// programme and for the whole portfolio.
func TestJourneyDashboard(t *testing.T) {
	a := startApp(t)
	id := fundedExampleA(t, a)
	app, err := a.DB.FindApplication(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	prog := strconv.FormatInt(app.ProgrammeID, 10)

	auditor := newBrowser(t, "auditor")
	auditor.login(a.URL, "shenji", seed.DemoPassword)
	auditor.do(chromedp.Navigate(a.URL+"/"), openMenu("/dashboard"), chromedp.Click(chromedp.CSS(`nav a[href="/dashboard"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#dashboard-title`)))
	auditor.do(chromedp.SetValue(chromedp.CSS(`#f-programme`), prog), chromedp.Submit(chromedp.CSS(`#dashboard-filter`)),
		chromedp.WaitVisible(chromedp.CSS(`#budget-table tr[data-programme="`+prog+`"]`)))
	eval := func(b *browser, js string) int {
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := eval(auditor, `document.querySelectorAll('main svg.chart').length`); n != 6 {
		t.Fatalf("%d charts", n)
	}
	// Every chart is laid out (has a box) and the money charts have bars.
	if n := eval(auditor, `[...document.querySelectorAll('svg.chart')].filter(s => s.getBoundingClientRect().width > 200).length`); n != 6 {
		t.Fatalf("%d charts laid out", n)
	}
	for _, c := range []string{"chart-budget", "chart-pipeline", "chart-sectors", "chart-recycling"} {
		if n := eval(auditor, `[...document.querySelectorAll('#`+c+` rect.bar')].filter(r => r.getBBox().width > 0).length`); n == 0 {
			t.Fatalf("%s has no bars", c)
		}
	}
	auditor.screenshot("dashboard")

	row := `#budget-table tr[data-programme="` + prog + `"] `
	if got := auditor.text(row + ".committed"); got != "3,000,000.00" {
		t.Fatalf("committed %q", got)
	}
	disbursed := auditor.text(row + ".disbursed")
	if disbursed != "3,000,000.00" || auditor.text(`#recycling-disbursed`) != disbursed {
		t.Fatalf("disbursed %q, recycling %q", disbursed, auditor.text(`#recycling-disbursed`))
	}
	auditor.do(chromedp.Navigate(a.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS(`#recycling-disbursed`)))
	allDisbursed := auditor.text(`#recycling-disbursed`)

	// The trial balance's 1221 debit turnover (column 4), summed over the
	// projects' sub-accounts, for the programme and for everything.
	debit1221 := func(query string) string {
		auditor.do(chromedp.Navigate(a.URL+"/ledger/trial-balance"+query), chromedp.WaitVisible(chromedp.CSS(`#trial-table`)))
		cells, err := chromedp.Run(auditor.ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll('#trial-table tr[data-account^="1221/"] td:nth-child(4)')].map(td => td.innerText)`))
		if err != nil {
			t.Fatal(err)
		}
		sum := decimal.Zero
		for _, c := range cells {
			sum = sum.Add(decimal.RequireFromString(strings.ReplaceAll(strings.TrimSpace(c), ",", "")))
		}
		return sum.StringFixed(2)
	}
	plain := func(s string) string { return strings.ReplaceAll(s, ",", "") }
	if tb := debit1221("?programme=" + prog); tb != plain(disbursed) {
		t.Fatalf("programme: trial balance 1221 debit %s, dashboard disbursed %s", tb, disbursed)
	}
	auditor.screenshot("trial_balance")
	if tb := debit1221(""); tb != plain(allDisbursed) {
		t.Fatalf("portfolio: trial balance 1221 debit %s, dashboard disbursed %s", tb, allDisbursed)
	}
}
