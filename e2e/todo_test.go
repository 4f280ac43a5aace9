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
	"ite/internal/day"
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

// approve is the approver's step on any maker–checker record: tick the
// confirmation box of the form that holds button (approvals of money and
// holdings ask for it) and click it, then wait for done. One helper, so a
// change to the confirmation step lands in one place.
func approve(b *browser, button, done string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(button)), chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.querySelector(`+strconv.Quote(button)+`).closest("form");
		const c = f && f.querySelector('input[name="confirm"]');
		if (c && !c.checked) c.click();
	})()`), chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(done)))
}

// TestJourneyToDo: from submission to an approved exit, each step reached
// only by signing in and clicking on the acting person's pages, starting
// from the item on their home page (chromedp.Navigate goes only to the
// login page; the test clock moves past the notice and to the planned
// exit). The enterprise opens its draft from its home page's links,
// uploads the items and submits; staff click the submission, accept every
// item in one step and pass formal review; staff draw the panel; each
// expert declares and scores (the deadline on the row); staff prepare the
// decision from "评审完成"; the approver approves it; after the notice
// staff sign the agreement ("公示期满") and record the first tranche
// ("已签约"); the approver approves the disbursement; the enterprise
// reports a financing round; staff verify it ("转股事项待核实") and
// prepare the conversion ("满足转股条件"); the approver approves it; staff
// record the 工商变更 date ("待登记工商变更", a list this journey
// added); a year on, staff prepare
// the exit the schedule plans ("按退出计划到期"); the approver approves
// it. The ledger then holds the disbursement, the conversion and the exit,
// balanced and verified.
func TestJourneyToDo(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	prog := openProgramme(t, a)
	staffA := audit.Actor{ID: demoUser(t, a, "jingban"), Name: "李经办"}
	approverA := audit.Actor{ID: demoUser(t, a, "shenpi"), Name: "张审批"}
	// The fund holds money before any project is paid (the appropriation
	// is not this journey's subject).
	ap, err := a.DB.RecordAppropriation(ctx, staffA, postgres.AppropriationInput{ProgrammeID: prog.ID,
		Amount: decimal.RequireFromString("50000000"), ValueDate: day.Today(a.Clock.Now()).AddDate(0, 0, -5),
		Reference: "内财教〔2026〕30号", IdempotencyKey: auth.NewToken()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.ApproveAppropriation(ctx, approverA, ap.ID, auth.NewToken()); err != nil {
		t.Fatal(err)
	}
	app := draft(t, a, prog, "草原牧场智能巡检机器人", applications.SectorLowAltitude, "6000000.00")
	appPath := "/applications/" + strconv.FormatInt(app.ID, 10)
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

	// The enterprise: its home page's link to its applications, the
	// draft's row, each item uploaded through its form, then 提交申报.
	ent := newBrowser(t, "todo_enterprise")
	ent.login(a.URL, "qiye", seed.DemoPassword)
	ent.screenshot("home")
	ent.do(chromedp.Click(chromedp.CSS(`.grid a.card[href="/applications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="`+appPath+`"]`)),
		chromedp.Click(chromedp.CSS(`main a[href="`+appPath+`"]`)), ent.waitAppState(applications.StateDraft))
	files := t.TempDir()
	for i, m := range applications.DefaultRequiredMaterials {
		var fields map[string]string
		switch m.Field() {
		case applications.FieldUSCCOnItem:
			fields = map[string]string{"uscc": seed.DemoEnterpriseUSCC}
		case applications.FieldIDOnItem:
			fields = map[string]string{"id_number": applications.ExampleIDNumber(7, time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC))}
		case applications.FieldIssueOnItem:
			fields = map[string]string{"issue_date": a.Clock.Now().AddDate(0, 0, -10).Format(time.DateOnly)}
		}
		ent.uploadItem(m, fields, writeTempPDF(t, files, string(m)+".pdf", i))
	}
	ent.acceptConfirms()
	ent.do(chromedp.Click(chromedp.CSS(`#submit-button`)), ent.waitAppState(applications.StateSubmitted))
	ent.screenshot("submitted")

	// Staff: the submission on their list, every item accepted in one
	// step, formal review passed.
	staff := newBrowser(t, "todo_staff")
	staff.login(a.URL, "jingban", seed.DemoPassword)
	staff.clickToDo("submitted")
	last := applications.DefaultRequiredMaterials[len(applications.DefaultRequiredMaterials)-1]
	staff.do(chromedp.WaitVisible(chromedp.CSS(`#accept-all`)), chromedp.Click(chromedp.CSS(`#accept-all`)),
		chromedp.WaitVisible(chromedp.CSS(`#item-`+string(last)+`[data-status=accepted]`)))
	staff.acceptConfirms()
	staff.do(chromedp.Click(chromedp.CSS(`#accept-review`)), staff.waitAppState(applications.StateUnderReview))
	staff.screenshot("todo_under_review")
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
	approve(approver, `#approve-decision`, `#notice`)
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
	staff2.do(chromedp.SendKeys(chromedp.CSS(`#f-reference`), "PZ-2026-1203"),
		chromedp.Click(chromedp.CSS(`#disbursement-submit`)), chromedp.WaitVisible(chromedp.CSS(`#record-title`)))

	// The approver: the disbursement on the list, approved with the
	// amount confirmed.
	approver2 := newBrowser(t, "todo_approver_after_notice")
	approver2.login(a.URL, "shenpi", seed.DemoPassword)
	approver2.clickToDo("approve_disbursement")
	approve(approver2, `#approve-button`, `#record-entry`)
	if status := approver2.text(`#record-title .badge`); status != "已审批" {
		t.Fatalf("disbursement after approval: %q", status)
	}
	approver2.screenshot("todo_disbursement_approved")

	// The enterprise reports a financing round from its own pages: its
	// home page's link to its applications, the project, 投后管理.
	today := a.Clock.Now().Format(time.DateOnly)
	ent2 := newBrowser(t, "todo_enterprise_funded")
	ent2.login(a.URL, "qiye", seed.DemoPassword)
	ent2.screenshot("home_funded")
	ent2.do(chromedp.Click(chromedp.CSS(`.grid a.card[href="/applications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="`+appPath+`"]`)),
		chromedp.Click(chromedp.CSS(`main a[href="`+appPath+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#equity-link`)), chromedp.Click(chromedp.CSS(`#equity-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#event-form`)),
		chromedp.SetValue(chromedp.CSS(`#f-event_date`), today),
		chromedp.SetValue(chromedp.CSS(`#f-investors`), "某创投基金"),
		chromedp.SetValue(chromedp.CSS(`#f-new_money`), "20000000"),
		chromedp.SetValue(chromedp.CSS(`#f-pre_money_valuation`), "80000000"),
		chromedp.SetValue(chromedp.CSS(`#f-pre_money_units`), "1000000"),
		chromedp.Click(chromedp.CSS(`#report-event`)), chromedp.WaitVisible(chromedp.CSS(`#event-table tbody tr`)))
	ent2.screenshot("todo_round_reported")

	// Staff verify the round, then prepare the conversion it makes due.
	staff2.clickToDo("trigger")
	staff2.do(chromedp.WaitVisible(chromedp.CSS(`.verify-event`)), chromedp.Click(chromedp.CSS(`.verify-event`)),
		chromedp.WaitVisible(chromedp.CSS(`#conv-price`)))
	if st := staff2.state(); st != "conversion_due" {
		t.Fatalf("after the round's verification: %s", st)
	}
	staff2.clickToDo("conversion_due")
	staff2.do(chromedp.WaitVisible(chromedp.CSS(`#prepare-conversion`)), chromedp.Click(chromedp.CSS(`#prepare-conversion`)),
		chromedp.WaitVisible(chromedp.CSS(`.certificate-link`)))
	staff2.screenshot("todo_conversion_prepared")

	approver2.clickToDo("approve_conversion")
	approve(approver2, `#approve-conversion`, `.flash`)
	if st := approver2.state(); st != "converted" {
		t.Fatalf("after the conversion's approval: %s", st)
	}
	approver2.screenshot("todo_conversion_approved")

	// Staff record the 工商变更 date the approval asked for.
	staff2.clickToDo("registration")
	staff2.do(chromedp.WaitVisible(chromedp.CSS(`#f-registration_date`)),
		chromedp.SetValue(chromedp.CSS(`#f-registration_date`), today),
		chromedp.Submit(chromedp.CSS(`#f-registration_date`)), chromedp.WaitVisible(chromedp.CSS(`#registration`)))
	staff2.screenshot("todo_registered")

	// The exit the schedule plans a year after the conversion: the clock
	// moves there; staff and the approver sign in again.
	a.Clock.Set(a.Clock.Now().AddDate(1, 0, 2))
	staff3 := newBrowser(t, "todo_staff_exit")
	staff3.login(a.URL, "jingban", seed.DemoPassword)
	staff3.clickToDo("exit_planned")
	staff3.do(chromedp.WaitVisible(chromedp.CSS(`#exit-form`)),
		chromedp.SetValue(chromedp.CSS(`#f-date`), a.Clock.Now().Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`#f-buyer_kind`), applications.BuyerTeam), chromedp.Click(chromedp.CSS(`#f-rest`)),
		chromedp.Click(chromedp.CSS(`#prepare-exit`)), chromedp.WaitVisible(chromedp.CSS(`#exit-table`)))
	if msg := staff3.text(`main .flash`); !strings.Contains(msg, "已测算") {
		staff3.screenshot("exit_refused")
		t.Fatalf("exit not recorded: %q", msg)
	}
	staff3.screenshot("todo_exit_prepared")

	approver3 := newBrowser(t, "todo_approver_exit")
	approver3.login(a.URL, "shenpi", seed.DemoPassword)
	approver3.clickToDo("approve_exit")
	approve(approver3, `.approve-exit`, `.flash`)
	if flash := approver3.text(`.flash`); !strings.Contains(flash, "退出已批准") {
		t.Fatalf("after the exit's approval: %q", flash)
	}
	if n, err := chromedp.Run(approver3.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#exit-table tr[data-status="approved"]').length`)); err != nil || n != 1 {
		t.Fatalf("approved exits on the page: %d %v", n, err)
	}
	if st := approver3.state(); st != "exited" {
		t.Fatalf("after the exit's approval: %s", st)
	}
	approver3.screenshot("todo_exit_approved")

	// The ledger: the disbursement, the conversion and the exit, each an
	// entry of this project, and the chain verifies.
	var kinds []string
	rows, err := a.DB.Pool.Query(ctx, `SELECT DISTINCT e.kind FROM ledger_entries e JOIN ledger_postings p ON p.entry_seq = e.seq
		WHERE p.scope = 'app' AND p.scope_id = $1 ORDER BY 1`, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	if got := strings.Join(kinds, " "); got != "conversion disbursement exit" {
		t.Fatalf("ledger entries of the project: %s", got)
	}
	if v, err := a.DB.VerifyLedger(ctx); err != nil || !v.OK {
		t.Fatalf("ledger verify: %+v %v", v, err)
	}
}
