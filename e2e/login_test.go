package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"ite/internal/seed"
)

// TestJourneyLogin signs in as every role through the real login form and
// checks each role's home page.
func TestJourneyLogin(t *testing.T) {
	a := startApp(t)
	for _, l := range seed.DemoLogins {
		t.Run(string(l.Role), func(t *testing.T) {
			b := newBrowser(t, string(l.Role))
			b.login(a.URL, l.Username, l.Password)
			title, badge, duties := b.text(`#home-title`), b.text(`.role-badge`), b.text(`ul.duties`)
			if !strings.Contains(title, l.Name) || badge != l.Role.Label() || duties == "" {
				t.Fatalf("home page: title %q badge %q duties %q", title, badge, duties)
			}
			b.screenshot("home")
			b.do(chromedp.Click(chromedp.CSS(`button.link`)), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
			if got := b.text(`.flash`); !strings.Contains(got, "已安全退出") {
				t.Fatalf("after logout: flash %q", got)
			}
		})
	}
}
