package e2e

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/postgres"
	"ite/internal/seed"
)

// TestLayoutFits opens each role's pages at the size it works at: the
// enterprise and the expert on a phone (390×844), staff, approver and
// auditor on a laptop (1280×800). No page may scroll sideways
// (scrollWidth ≤ innerWidth), and on the laptop the menu stays on one
// line. Every page is saved as a screenshot (E2E_SCREENSHOTS keeps them).
func TestLayoutFits(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	fundedID := fundedExampleA(t, a)
	funded := strconv.FormatInt(fundedID, 10)
	// A reported round, so the equity page has its table of events.
	if _, err := a.DB.ReportEvent(ctx, audit.Actor{ID: demoUser(t, a, "qiye"), Name: "王企业"}, applications.TriggerEvent{
		ApplicationID: fundedID, Kind: applications.EventFinancing, EventDate: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
		Investors: "某创投基金（有限合伙）", NewMoney: decimal.RequireFromString("20000000"),
		PreMoneyValuation: decimal.RequireFromString("80000000"), PreMoneyUnits: decimal.RequireFromString("1000000"),
		Unit: "registered_capital"}, nil); err != nil {
		t.Fatal(err)
	}

	// Under review with the demo expert on its panel.
	staffA := audit.Actor{ID: demoUser(t, a, "jingban"), Name: "李经办"}
	p, err := a.DB.FindProgramme(ctx, mustApp(t, a, fundedID).ProgrammeID)
	if err != nil {
		t.Fatal(err)
	}
	rev := underReview(t, a, p, "高纯石英砂提纯工艺产业化", applications.SectorNewEnergyMaterials, "6000000.00")
	expertID := demoUser(t, a, "zhuanjia")
	if err := a.DB.SaveExpertProfile(ctx, staffA, expertID, postgres.ExpertProfile{Employer: "内蒙古大学",
		Sectors: []applications.Sector{applications.SectorNewEnergyMaterials}, Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.DB.AssignExpert(ctx, staffA, rev.ID, expertID); err != nil {
		t.Fatal(err)
	}
	review := strconv.FormatInt(rev.ID, 10)

	cases := []struct {
		username      string
		width, height int64
		pages         []string // besides the menu's
	}{
		{"qiye", 390, 844, []string{"/applications/new", "/applications/" + funded, "/applications/" + funded + "/equity",
			"/applications/" + funded + "/agreement", "/applications/" + funded + "/disbursements", "/applications/" + review}},
		{"zhuanjia", 390, 844, []string{"/reviews/" + review}},
		{"jingban", 1280, 800, []string{"/applications/" + funded, "/applications/" + funded + "/equity", "/applications/" + review,
			"/applications/" + funded + "/disbursements"}},
		{"shenpi", 1280, 800, []string{"/applications/" + funded, "/applications/" + funded + "/equity"}},
		{"shenji", 1280, 800, []string{"/applications/" + funded}},
	}
	for _, tc := range cases {
		t.Run(tc.username, func(t *testing.T) {
			b := newBrowser(t, tc.username)
			b.login(a.URL, tc.username, seed.DemoPassword)
			b.do(chromedp.EmulateViewport(tc.width, tc.height))
			b.do(chromedp.Navigate(a.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#home-title`)))
			menu, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("nav.mainnav a")).map(a => a.getAttribute("href"))`))
			if err != nil {
				t.Fatal(err)
			}
			// measure checks the page the browser shows; label names its
			// screenshot.
			measure := func(path, label string) {
				m, err := chromedp.Run(b.ctx, chromedp.Evaluate[layoutMetrics](measureJS))
				if err != nil {
					t.Fatal(err)
				}
				shot := b.screenshot(strconv.FormatInt(tc.width, 10) + strings.NewReplacer("/", "_", "?", "_").Replace(label))
				if m.ScrollWidth > m.InnerWidth {
					t.Errorf("%s %s at %d×%d: the page is %.0f px wide, the window %.0f px (sticking out: %s; %s)",
						tc.username, path, tc.width, tc.height, m.ScrollWidth, m.InnerWidth, strings.Join(m.Wide, ", "), shot)
				}
				if tc.width >= 1280 && m.NavHeight > m.RowHeight*1.5 {
					t.Errorf("%s %s at %d×%d: the menu is %.0f px high, more than one row (%.0f px): it wraps (%s)",
						tc.username, path, tc.width, tc.height, m.NavHeight, m.RowHeight, shot)
				}
			}
			seen := map[string]bool{}
			for _, path := range append(menu, tc.pages...) {
				if seen[path] || !strings.HasPrefix(path, "/") {
					continue
				}
				seen[path] = true
				b.do(chromedp.Navigate(a.URL+path), chromedp.WaitReady(chromedp.CSS(`footer`)))
				measure(path, path)
			}
			if tc.username == "zhuanjia" {
				// The scoring form and the materials, after the declaration.
				b.do(chromedp.Navigate(a.URL+"/reviews/"+review), chromedp.Click(chromedp.CSS(`#declare-none`)),
					chromedp.WaitVisible(chromedp.CSS(`#score-form`)))
				measure("/reviews/"+review, "/reviews/"+review+"/scoring")
				// 检查 on an empty form: every field carries its error, and
				// the page still fits.
				b.do(chromedp.Click(chromedp.CSS(`#check-review`)), chromedp.WaitVisible(chromedp.CSS(`#score-form .field.has-error`)))
				measure("/reviews/"+review, "/reviews/"+review+"/checked")
			}
			if tc.width >= 1280 {
				// A heading's drop-down opens inside the window.
				b.do(chromedp.Navigate(a.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#home-title`)))
				right, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`(() => {
					const ds = Array.from(document.querySelectorAll("details.navgroup"));
					let right = 0;
					for (const d of ds) { d.open = true; right = Math.max(right, d.querySelector(".navmenu").getBoundingClientRect().right); d.open = false; }
					if (ds.length) ds[ds.length - 1].open = true;
					return right;
				})()`))
				if err != nil {
					t.Fatal(err)
				}
				shot := b.screenshot("menu_open")
				if right > float64(tc.width) {
					t.Errorf("%s: a menu drop-down ends at %.0f px, outside the %d px window (%s)", tc.username, right, tc.width, shot)
				}
			}
			if len(menu) == 0 || !slices.ContainsFunc(menu, func(h string) bool { u, _ := url.Parse(h); return u.Path == "/" }) {
				t.Errorf("%s: menu %v", tc.username, menu)
			}
		})
	}
}

// measureJS measures the page for TestLayoutFits (layoutMetrics).
const measureJS = `(() => {
	const nav = document.querySelector("nav.mainnav");
	const item = nav && nav.querySelector(":scope > a, :scope > details > summary");
	const w = window.innerWidth;
	// What sticks out, outermost first, for the failure message.
	const wide = Array.from(document.querySelectorAll("main *"))
		.filter(e => e.getBoundingClientRect().right > w + 0.5)
		.filter(e => !(e.parentElement && e.parentElement.getBoundingClientRect().right > w + 0.5))
		.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
			(e.className ? "." + String(e.className).split(" ").join(".") : "") + " " + Math.round(e.getBoundingClientRect().right) + "px");
	return {ScrollWidth: document.documentElement.scrollWidth, InnerWidth: w,
		NavHeight: nav ? nav.getBoundingClientRect().height : 0,
		RowHeight: item ? item.getBoundingClientRect().height : 0, Wide: wide};
})()`

// layoutMetrics is what TestLayoutFits measures on a page.
type layoutMetrics struct {
	ScrollWidth, InnerWidth float64
	NavHeight, RowHeight    float64
	Wide                    []string // elements sticking out on the right
}

func mustApp(t *testing.T, a *app, id int64) applications.Application {
	t.Helper()
	app, err := a.DB.FindApplication(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return app
}
