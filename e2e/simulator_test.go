package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"ite/internal/applications"
	"ite/internal/seed"
)

// TestJourneySimulator opens the simulator as staff (example A is
// pre-filled), breaks the discount and sees the calculator's Chinese error
// next to the field, fixes it and sees the result update in place, with the
// scenario in the address bar; the copied address opens the same result.
func TestJourneySimulator(t *testing.T) {
	a := startApp(t)
	var staff seed.Login
	for _, l := range seed.DemoLogins {
		if l.Role == applications.RoleStaff {
			staff = l
		}
	}
	b := newBrowser(t, "staff")
	b.login(a.URL, staff.Username, staff.Password)
	b.do(
		openMenu("/simulator"), chromedp.Click(chromedp.CSS(`.mainnav a[href="/simulator"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sim-price`)),
	)
	if p, u := b.text(`#sim-price`), b.text(`#sim-units`); p != "80.000000" || u != "37,500.00" {
		t.Fatalf("example A: price %q units %q", p, u)
	}
	b.screenshot("example_a")

	// A discount of 1.5 is refused: the error appears next to the field
	// (an out-of-band swap) and the results give way to the alert.
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#f-discount`), "1.5\t"),
		chromedp.WaitVisible(chromedp.CSS(`#err-discount`)),
		chromedp.WaitVisible(chromedp.CSS(`#sim-error`)),
	)
	if msg := b.text(`#err-discount`); !strings.Contains(msg, "折扣") {
		t.Fatalf("error next to the discount: %q", msg)
	}
	b.screenshot("bad_discount")

	// 0.2 is accepted: the price drops to 64 and the error slot empties.
	b.do(
		// SetValue fires input and change, as an edit does (Clear would only
		// reset the value attribute, not what was typed).
		chromedp.SetValue(chromedp.CSS(`#f-discount`), "0.2"),
		chromedp.WaitVisible(chromedp.CSS(`#sim-price`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#err-discount`)),
	)
	if p, basis := b.text(`#sim-price`), b.text(`#sim-basis`); p != "64.000000" || basis != "折扣价格" {
		t.Fatalf("after the fix: price %q basis %q", p, basis)
	}
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/simulator" || u.Query().Get("discount") != "0.2" {
		t.Fatalf("address bar %q: want the page URL carrying the scenario", loc)
	}

	// The address opens the same scenario, rendered by the server.
	b.do(chromedp.Navigate(loc), chromedp.WaitVisible(chromedp.CSS(`#sim-price`)))
	if p, units := b.text(`#sim-price`), b.text(`#sim-units`); p != "64.000000" || units != "46,875.00" {
		t.Fatalf("shared address: price %q units %q", p, units)
	}
}
