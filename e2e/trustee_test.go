package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ite/internal/seed"
)

// approveExitInBrowser is the approver's step of an exit: open the
// project's equity page and press 批准. One helper, so a confirmation the
// approval may come to ask for is added in one place.
func approveExitInBrowser(approver *browser, equityURL string) {
	approver.do(chromedp.Navigate(equityURL), chromedp.Click(chromedp.CSS(`form:has(.approve-exit) input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`.approve-exit`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
}

// TestJourneyTrusteeExit: the holding platform's trustee signs in with its
// second factor, opens the converted project from its home page's to-do
// list (an exit the schedule has made due), prepares the exit, and an
// approver signs in and approves it; the trustee then records the receipt.
func TestJourneyTrusteeExit(t *testing.T) {
	a := startApp(t)
	id := convertedExampleE(t, a)
	equityPath := "/applications/" + strconv.FormatInt(id, 10) + "/equity"
	a.Clock.Set(time.Date(2027, 7, 1, 2, 0, 0, 0, time.UTC))

	trustee := newBrowser(t, "trustee")
	trustee.login(a.URL, "shoutuo", seed.DemoPassword)
	trustee.do(chromedp.WaitVisible(chromedp.CSS(`a[href="` + equityPath + `"]`)))
	trustee.screenshot("home")
	trustee.do(chromedp.Click(chromedp.CSS(`a[href="`+equityPath+`"]`)), chromedp.WaitVisible(chromedp.CSS(`#exit-form`)))
	for k, v := range map[string]string{"date": "2027-06-30", "units": "12500.00", "buyer_kind": "team", "market_value": "2000000.00"} {
		trustee.do(chromedp.SetValue(chromedp.CSS(`#exit-form [name="`+k+`"]`), v))
	}
	trustee.do(chromedp.Click(chromedp.CSS(`#prepare-exit`)), chromedp.WaitVisible(chromedp.CSS(`#exit-table`)))
	if msg := trustee.text(`main .flash`); !strings.Contains(msg, "已测算") {
		trustee.screenshot("exit_refused")
		t.Fatalf("the trustee's exit not recorded: %q", msg)
	}
	if n, err := chromedp.Run(trustee.ctx, chromedp.Evaluate[int](`document.querySelectorAll(".approve-exit").length`)); err != nil || n != 0 {
		t.Fatalf("the trustee is offered the approval of its own exit: %d %v", n, err)
	}

	approver := newBrowser(t, "approver")
	approver.login(a.URL, "shenpi", seed.DemoPassword)
	approveExitInBrowser(approver, a.URL+equityPath)
	if st := approver.state(); st != "exiting" {
		approver.screenshot("approved")
		t.Fatalf("after the approval: %s", st)
	}

	trustee.do(chromedp.Navigate(a.URL+equityPath), chromedp.WaitVisible(chromedp.CSS(`.receipt-form`)))
	trustee.do(chromedp.SetValue(chromedp.CSS(`.receipt-form [name="received_on"]`), "2027-07-01"),
		chromedp.SendKeys(chromedp.CSS(`.receipt-form [name="reference"]`), "BOC-2027-0701"),
		chromedp.Click(chromedp.CSS(`.record-receipt`)), chromedp.WaitVisible(chromedp.CSS(`.exit-receipt`)))
	trustee.screenshot("receipt")
	if got := trustee.text(`.exit-receipt`); !strings.Contains(got, "BOC-2027-0701") {
		t.Fatalf("receipt shown as %q", got)
	}
}
