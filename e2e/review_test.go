package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/fixture"
	"ite/internal/postgres"
	"ite/internal/seed"
)

// openProgramme creates an open programme whose window contains today.
func openProgramme(t *testing.T, a *app) applications.Programme {
	t.Helper()
	p, err := fixture.OpenProgramme(context.Background(), a.DB, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// underReview is the demo enterprise's application, submitted and under
// review, with no panel yet.
func underReview(t *testing.T, a *app, p applications.Programme, title string, sector applications.Sector, amount string) applications.Application {
	t.Helper()
	app := draft(t, a, p, title, sector, amount)
	for _, st := range []applications.State{applications.StateSubmitted, applications.StateUnderReview} {
		if _, err := a.DB.TransitionApplication(context.Background(), audit.Actor{Name: "e2e"}, app.ID, st, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// draft is the demo enterprise's application as its form saves it: a
// draft with no materials yet.
func draft(t *testing.T, a *app, p applications.Programme, title string, sector applications.Sector, amount string) applications.Application {
	t.Helper()
	ctx := context.Background()
	entUser := demoUser(t, a, "qiye")
	ent, err := a.DB.FindUser(ctx, entUser)
	if err != nil {
		t.Fatal(err)
	}
	app, err := a.DB.CreateApplication(ctx, audit.Actor{ID: entUser, Name: ent.DisplayName}, applications.Application{
		ProgrammeID: p.ID, EnterpriseID: ent.EnterpriseID, Title: title, Sector: sector,
		RequestedAmount: decimal.RequireFromString(amount), LeadName: "刘负责", LeadMobile: "13800001111",
		Content: applications.Content{Summary: "概述", Technology: "技术", Team: "团队", Market: "市场",
			Budget:     []applications.BudgetLine{{Item: "研发", Amount: decimal.RequireFromString(amount)}},
			Milestones: []applications.Milestone{{Date: "2027-06-30", Description: "样机"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// demoUser finds a demo account by username.
func demoUser(t *testing.T, a *app, username string) int64 {
	t.Helper()
	users, err := a.DB.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Username == username {
			return u.ID
		}
	}
	t.Fatalf("no user %s", username)
	return 0
}

// acceptConfirms makes window.confirm answer yes on the current page, as a
// user clicking OK would.
func (b *browser) acceptConfirms() {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("(window.confirm = () => true, true)")); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) logout() {
	b.do(chromedp.Click(chromedp.CSS(`button.link`)), chromedp.WaitVisible(chromedp.CSS(`#login-form`)))
}

func (b *browser) state() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#app-title .badge").dataset.state`))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// TestJourneyReview: staff draw five experts; each declares no conflict
// and scores; the application reaches reviewed; staff prepare an 8,000,000
// approval; an approver approves; the notice ends (moved clock); the
// signed agreement is uploaded; the application is contracted; the
// enterprise sees the result.
func TestJourneyReview(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	app := underReview(t, a, openProgramme(t, a), "低空物流无人机飞控系统", applications.SectorLowAltitude, "9000000.00")
	params := auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	for i := range 5 {
		hash, _ := auth.HashPassword(seed.DemoPassword, params)
		u, err := a.DB.CreateUser(ctx, audit.Actor{Name: "e2e"}, postgres.NewUser{Username: "expert" + strconv.Itoa(i),
			DisplayName: "评审专家" + strconv.Itoa(i), Role: applications.RoleExpert, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.DB.SaveExpertProfile(ctx, audit.Actor{Name: "e2e"}, u.ID, postgres.ExpertProfile{Employer: "内蒙古工业大学",
			Sectors: []applications.Sector{applications.SectorLowAltitude}, Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	appURL := a.URL + "/applications/" + strconv.FormatInt(app.ID, 10)

	staff := newBrowser(t, "staff")
	staff.login(a.URL, "jingban", seed.DemoPassword)
	staff.do(chromedp.Navigate(appURL), chromedp.Click(chromedp.CSS(`#draw-panel`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel-table`)))
	if rows, _ := chromedp.Run(staff.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#panel-table tbody tr").length`)); rows != 5 {
		t.Fatalf("panel of %d", rows)
	}
	staff.screenshot("panel_drawn")

	panel, _ := a.DB.ListAssignments(ctx, app.ID)
	ex := newBrowser(t, "experts")
	for i, x := range panel {
		u, _ := a.DB.FindUser(ctx, x.ExpertID)
		ex.login(a.URL, u.Username, seed.DemoPassword)
		ex.do(chromedp.Navigate(a.URL+"/reviews/"+strconv.FormatInt(app.ID, 10)),
			chromedp.Click(chromedp.CSS(`#declare-none`)), chromedp.WaitVisible(chromedp.CSS(`#score-form`)))
		scores := map[string]string{"technology": "25", "team": "16", "market": "15", "plan": "16", "local_fit": strconv.Itoa(6 + i)}
		for code, v := range scores {
			ex.do(chromedp.SetValue(chromedp.CSS(`#f-score_`+code), v))
		}
		ex.do(chromedp.SetValue(chromedp.CSS(`#f-recommendation`), "approve"),
			chromedp.SetValue(chromedp.CSS(`#f-overall_comment`), "技术可行，团队扎实。"))
		if i == 0 {
			ex.screenshot("expert_scoring")
		}
		ex.acceptConfirms()
		ex.do(chromedp.Click(chromedp.CSS(`#submit-review`)), chromedp.WaitVisible(chromedp.CSS(`#my-review`)))
		ex.logout()
	}

	staff.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.CSS(`#review-result`)))
	if st := staff.state(); st != "reviewed" {
		t.Fatalf("after five reviews: %s", st)
	}
	// The decision's terms are the structured form: a typo is refused beside
	// its field and everything typed stays (the amount too). It is sent by
	// pressing Enter in the field, which submits the form (ui.DefaultSubmit),
	// not the first tranche row's 删除.
	staff.do(chromedp.SetValue(chromedp.CSS(`#f-amount`), "8,000,000"), chromedp.SetValue(chromedp.CSS(`#f-discount`), "2O"),
		chromedp.SendKeys(chromedp.CSS(`#f-discount`), kb.Enter), chromedp.WaitVisible(chromedp.CSS(`.field.has-error #f-discount`)))
	if rows, err := chromedp.Run(staff.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#tranche-table tbody tr').length`)); err != nil || rows != 2 {
		t.Fatalf("Enter in the form left %d tranche rows (%v), want the 2 of the template", rows, err)
	}
	if msg := staff.text(`#f-discount ~ .error`); !strings.Contains(msg, "折扣") {
		t.Fatalf("discount error %q", msg)
	}
	if amount, err := chromedp.Run(staff.ctx, chromedp.Value(chromedp.CSS(`#f-amount`))); err != nil || amount != "8,000,000.00" {
		t.Fatalf("amount after the refusal %q %v", amount, err)
	}
	staff.screenshot("decision_refused")
	// The journey goes on ON THE REFUSED PAGE, as a person would: the
	// discount is corrected there, the live preview answers and "add a row"
	// works on the page the refusal rendered.
	staff.do(chromedp.SetValue(chromedp.CSS(`#f-discount`), "15"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-discount').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`#pv-units`)))
	if pv := staff.text(`#terms-preview`); !strings.Contains(pv, "元") || !strings.Contains(pv, "%") {
		t.Fatalf("preview on the refused page %q", pv)
	}
	// A third tranche ("add a row" posts the form back), the plan in amounts.
	staff.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#add-tranche').click()`),
		chromedp.WaitVisible(chromedp.CSS(`#tranche-table tbody tr:nth-child(3)`)))
	row := func(n int, field string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`#tranche-table tbody tr:nth-child(%d) input[name="%s"]`, n, field))
	}
	staff.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('#tranche-table input[name="tranche_share"]').forEach(function (e) { e.value = ""; })`),
		chromedp.SetValue(row(1, "tranche_amount"), "200万"), chromedp.SetValue(row(2, "tranche_amount"), "3,000,000"),
		chromedp.SetValue(row(3, "tranche_amount"), "３００万"), chromedp.SetValue(row(3, "tranche_months"), "24"),
		chromedp.SetValue(row(3, "tranche_milestone"), "实现量产"), chromedp.SetValue(chromedp.CSS(`#f-discount`), "15"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#f-discount').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`#pv-units`)))
	if pv := staff.text(`#terms-preview`); !strings.Contains(pv, "元") || !strings.Contains(pv, "%") {
		t.Fatalf("preview %q", pv)
	}
	staff.screenshot("decision_preview")
	staff.do(chromedp.Click(chromedp.CSS(`#prepare-decision`)), chromedp.WaitVisible(chromedp.CSS(`#decisions .decision`)))
	staff.screenshot("decision_prepared")

	approver := newBrowser(t, "approver")
	approver.login(a.URL, "shenpi", seed.DemoPassword)
	approver.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.CSS(`#approve-decision`)))
	if text := approver.text(`form:has(#approve-decision) [data-confirm-text]`); !strings.Contains(text, "人民币捌佰万元整（¥8,000,000.00）") {
		t.Fatalf("decision confirmation %q", text)
	}
	approver.do(chromedp.Click(chromedp.CSS(`form:has(#approve-decision) input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`#approve-decision`)), chromedp.WaitVisible(chromedp.CSS(`#notice`)))
	if st := approver.state(); st != "approved" {
		t.Fatalf("after approval: %s", st)
	}
	approver.screenshot("approved_notice")

	// The notice ends: move the clock past its last day (10:00 Beijing time).
	got, _ := a.DB.FindApplication(ctx, app.ID)
	end := got.NoticeEndsOn
	a.Clock.Set(time.Date(end.Year(), end.Month(), end.Day()+1, 2, 0, 0, 0, time.UTC))
	staff2 := newBrowser(t, "staff_after_notice")
	staff2.login(a.URL, "jingban", seed.DemoPassword) // sessions idled out over the notice
	pdfPath := filepath.Join(t.TempDir(), "投资协议-已签署.pdf")
	if err := os.WriteFile(pdfPath, []byte("%PDF-1.4\n% signed agreement\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	staff2.do(chromedp.Navigate(appURL+"/agreement"), chromedp.WaitVisible(chromedp.CSS(`#sign-form`)))
	if amount := staff2.text(`#agreement-amount`); !strings.Contains(amount, "捌佰万元整") {
		t.Fatalf("agreement amount %q", amount)
	}
	if plan := staff2.text(`#agreement .doc-table`); !strings.Contains(plan, "3,000,000.00") || !strings.Contains(plan, "实现量产") ||
		!strings.Contains(staff2.text(`#agreement`), "15%") {
		t.Fatalf("agreement terms: %q", plan)
	}
	staff2.screenshot("agreement")
	staff2.do(chromedp.SetValue(chromedp.CSS(`#f-signed_on`), a.Clock.Now().Format(time.DateOnly)),
		chromedp.SetUploadFiles(chromedp.CSS(`#sign-form input[type=file]`), []string{pdfPath}),
		chromedp.Submit(chromedp.CSS(`#sign-form`)), chromedp.WaitVisible(chromedp.CSS(`#app-title`)))
	if st := staff2.state(); st != "contracted" {
		t.Fatalf("after signing: %s (%s)", st, staff2.text("main"))
	}

	entB := newBrowser(t, "enterprise")
	entB.login(a.URL, "qiye", seed.DemoPassword)
	entB.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.CSS(`#aggregate-score`)))
	if score := entB.text(`#aggregate-score`); !strings.Contains(score, "80.00") {
		t.Fatalf("enterprise sees score %q", score)
	}
	if n, _ := chromedp.Run(entB.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#expert-scores, #panel").length`)); n != 0 {
		t.Fatal("the enterprise sees who scored")
	}
	entB.screenshot("enterprise_result")
}
