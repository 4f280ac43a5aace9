package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/postgres"
	"ite/internal/seed"
)

// clickToDo opens the acting person's home page by its menu link (no URL
// typed) and clicks the oldest item of the to-do list kind.
func (b *browser) clickToDo(kind string) {
	b.t.Helper()
	// Signing in lands on the home page; from any other page the header's
	// link leads there (clicked only then: a click that reloads the page
	// under our feet would leave the wait below holding a stale node).
	path, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		b.t.Fatal(err)
	}
	if path != "/" {
		b.do(chromedp.Click(chromedp.CSS(`a.brand`)))
	}
	b.do(chromedp.WaitVisible(chromedp.CSS(`#todo-` + kind + ` a.todo-link`)))
	b.screenshot("todo_" + kind)
	b.do(chromedp.Click(chromedp.CSS(`#todo-` + kind + ` a.todo-link`)))
}

// approveDecision is the approver's step on a decision (one helper, so the
// confirmation step another branch adds lands in one place).
func approveDecision(b *browser) {
	b.do(chromedp.Click(chromedp.CSS(`#approve-decision`)), chromedp.WaitVisible(chromedp.CSS(`#notice`)))
}

// TestJourneyToDo: each step reached only by signing in and clicking the
// item on the acting person's home page. Covered so far: the panel
// (staff), declarations and scores (each expert, with the deadline on the
// row), the decision (staff, from "评审完成"), its approval (approver), and
// after the notice (moved clock) the agreement (staff, from "公示期满"),
// and the first disbursement's form (staff, from "已签约"). Not yet: the
// disbursement's approval, the financing round, the conversion and the
// exit.
func TestJourneyToDo(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	app := underReview(t, a, openProgramme(t, a), "草原牧场智能巡检机器人", applications.SectorLowAltitude, "6000000.00")
	params := auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	for i := range 5 {
		hash, _ := auth.HashPassword(seed.DemoPassword, params)
		u, err := a.DB.CreateUser(ctx, audit.Actor{Name: "e2e"}, postgres.NewUser{Username: "todoexpert" + strconv.Itoa(i),
			DisplayName: "待办专家" + strconv.Itoa(i), Role: applications.RoleExpert, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.DB.SaveExpertProfile(ctx, audit.Actor{Name: "e2e"}, u.ID, postgres.ExpertProfile{Employer: "内蒙古农业大学",
			Sectors: []applications.Sector{applications.SectorLowAltitude}, Active: true}); err != nil {
			t.Fatal(err)
		}
	}

	staff := newBrowser(t, "todo_staff")
	staff.login(a.URL, "jingban", seed.DemoPassword)
	staff.clickToDo("panel")
	staff.do(chromedp.WaitVisible(chromedp.CSS(`#draw-panel`)), chromedp.Click(chromedp.CSS(`#draw-panel`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel-table td.due`)))
	staff.screenshot("todo_panel_drawn")

	panel, _ := a.DB.ListAssignments(ctx, app.ID)
	if len(panel) != 5 {
		t.Fatalf("panel of %d", len(panel))
	}
	ex := newBrowser(t, "todo_experts")
	for i, x := range panel {
		u, _ := a.DB.FindUser(ctx, x.ExpertID)
		ex.login(a.URL, u.Username, seed.DemoPassword)
		if due := ex.text(`#todo-declare tr.todo-item td:nth-child(5)`); due == "" {
			t.Fatal("the expert's to-do row has no deadline")
		}
		ex.clickToDo("declare")
		ex.do(chromedp.WaitVisible(chromedp.CSS(`#declare-none`)), chromedp.Click(chromedp.CSS(`#declare-none`)),
			chromedp.WaitVisible(chromedp.CSS(`#score-form`)))
		scores := map[string]string{"technology": "25", "team": "16", "market": "15", "plan": "16", "local_fit": strconv.Itoa(6 + i)}
		for code, v := range scores {
			ex.do(chromedp.SetValue(chromedp.CSS(`#f-score_`+code), v))
		}
		ex.do(chromedp.SetValue(chromedp.CSS(`#f-recommendation`), "approve"),
			chromedp.SetValue(chromedp.CSS(`#f-overall_comment`), "技术可行，团队扎实。"))
		ex.acceptConfirms()
		ex.do(chromedp.Click(chromedp.CSS(`#submit-review`)), chromedp.WaitVisible(chromedp.CSS(`#my-review`)))
		ex.logout()
	}

	staff.clickToDo("reviewed")
	staff.do(chromedp.WaitVisible(chromedp.CSS(`#f-amount`)), chromedp.SetValue(chromedp.CSS(`#f-amount`), "5,000,000"),
		chromedp.Click(chromedp.CSS(`#prepare-decision`)), chromedp.WaitVisible(chromedp.CSS(`#decisions .decision`)))
	staff.screenshot("todo_decision_prepared")

	approver := newBrowser(t, "todo_approver")
	approver.login(a.URL, "shenpi", seed.DemoPassword)
	approver.clickToDo("approve_decision")
	approveDecision(approver)
	if st := approver.state(); st != "approved" {
		t.Fatalf("after approval: %s", st)
	}
	approver.screenshot("todo_approved")

	// The notice ends: the clock moves past its last day; staff sign in
	// again (the sessions idled out) and find the agreement to sign.
	got, _ := a.DB.FindApplication(ctx, app.ID)
	end := got.NoticeEndsOn
	a.Clock.Set(time.Date(end.Year(), end.Month(), end.Day()+1, 2, 0, 0, 0, time.UTC))
	staff2 := newBrowser(t, "todo_staff_after_notice")
	staff2.login(a.URL, "jingban", seed.DemoPassword)
	staff2.clickToDo("notice_ended")
	pdfPath := filepath.Join(t.TempDir(), "投资协议-已签署.pdf")
	if err := os.WriteFile(pdfPath, []byte("%PDF-1.4\n% signed agreement\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	staff2.do(chromedp.WaitVisible(chromedp.CSS(`#sign-form`)),
		chromedp.SetValue(chromedp.CSS(`#f-signed_on`), a.Clock.Now().Format(time.DateOnly)),
		chromedp.SetUploadFiles(chromedp.CSS(`#sign-form input[type=file]`), []string{pdfPath}),
		chromedp.Submit(chromedp.CSS(`#sign-form`)), chromedp.WaitVisible(chromedp.CSS(`#app-title`)))
	if st := staff2.state(); st != "contracted" {
		t.Fatalf("after signing: %s", st)
	}
	staff2.screenshot("todo_contracted")
	// The first tranche is on staff's list once signed.
	staff2.clickToDo("contracted")
	staff2.do(chromedp.WaitVisible(chromedp.CSS(`#disbursement-form`)))
	staff2.screenshot("todo_disbursement_form")
}
