package e2e

import (
	"context"
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

// demoActor is a demo account as the store sees it.
func demoActor(t *testing.T, a *app, role applications.Role) (audit.Actor, seed.Login) {
	t.Helper()
	for _, l := range seed.DemoLogins {
		if l.Role == role {
			var id int64
			if err := a.DB.Pool.QueryRow(context.Background(), `SELECT id FROM users WHERE username = $1`, l.Username).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return audit.Actor{ID: id, Name: l.Name, Role: string(role)}, l
		}
	}
	t.Fatalf("no demo login for %s", role)
	return audit.Actor{}, seed.Login{}
}

// contractedProject makes, directly through the store, a contracted
// project (2,000,000 approved, signed ten days ago) of the demo enterprise
// in a programme whose fund holds 5,000,000 appropriated and approved:
// the review, decision and notice journeys are tested elsewhere.
func contractedProject(t *testing.T, a *app, adminA, staffA, approverA audit.Actor) int64 {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	p := applications.NewProgramme(now.Year(), now)
	p.Name, p.TotalBudget = "2026年度先投后股科技项目", decimal.RequireFromString("50000000")
	p, err := a.DB.CreateProgramme(ctx, adminA, p)
	if err != nil {
		t.Fatal(err)
	}
	var entID int64
	if err := a.DB.Pool.QueryRow(ctx, `SELECT id FROM enterprises WHERE uscc = $1`, seed.DemoEnterpriseUSCC).Scan(&entID); err != nil {
		t.Fatal(err)
	}
	appID, err := a.DB.SyntheticContract(ctx, postgres.SyntheticContractInput{ProgrammeID: p.ID, EnterpriseID: entID,
		CreatedBy: staffA.ID, Title: "低空物流无人机中试", Approved: decimal.RequireFromString("2000000"),
		SignedOn: now.AddDate(0, 0, -10)})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := a.DB.RecordAppropriation(ctx, adminA, postgres.AppropriationInput{ProgrammeID: p.ID,
		Amount: decimal.RequireFromString("5000000"), ValueDate: now.AddDate(0, 0, -20), Reference: "内财教〔2026〕12号",
		IdempotencyKey: "e2e-appropriation-0001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.ApproveAppropriation(ctx, approverA, ap.ID, "e2e-appropriation-check-0001"); err != nil {
		t.Fatal(err)
	}
	return appID
}

// TestJourneyLedger: staff record a disbursement of a contracted project,
// an approver approves it, and an auditor finds the entry in the journal
// and the trial balance, exports CSV and XLSX, and verifies the ledger.
func TestJourneyLedger(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	adminA, _ := demoActor(t, a, applications.RoleAdmin)
	staffA, staffL := demoActor(t, a, applications.RoleStaff)
	approverA, approverL := demoActor(t, a, applications.RoleApprover)
	_, auditorL := demoActor(t, a, applications.RoleAuditor)

	appID := contractedProject(t, a, adminA, staffA, approverA)
	app := strconv.FormatInt(appID, 10)

	// Staff record tranche 1 from the plan.
	sb := newBrowser(t, "staff")
	sb.login(a.URL, staffL.Username, staffL.Password)
	sb.do(
		chromedp.Navigate(a.URL+"/applications/"+app+"/disbursements"),
		chromedp.WaitVisible(chromedp.CSS(`#disbursement-form`)),
	)
	if amount, err := chromedp.Run(sb.ctx, chromedp.Value(chromedp.CSS(`#f-amount`))); err != nil || amount != "1,000,000.00" {
		t.Fatalf("tranche 1 default amount %q %v", amount, err)
	}
	sb.screenshot("plan")
	sb.do(
		chromedp.SendKeys(chromedp.CSS(`#f-reference`), "PZ-2026-0815"),
		chromedp.Click(chromedp.CSS(`#disbursement-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#record-title`)),
	)
	if status := sb.text(`#record-title .badge`); status != "待审批" {
		t.Fatalf("after recording: %q", status)
	}
	sb.screenshot("recorded")

	// An approver finds it in the queue and approves it.
	ab := newBrowser(t, "approver")
	ab.login(a.URL, approverL.Username, approverL.Password)
	ab.do(
		openMenu("/disbursements"), chromedp.Click(chromedp.CSS(`.mainnav a[href="/disbursements"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#disbursement-table`)),
		chromedp.Click(chromedp.CSS(`#disbursement-table tbody tr td a`)),
		chromedp.WaitVisible(chromedp.CSS(`#approve-button`)),
	)
	ab.screenshot("to_approve")
	// Approving pays out money for good: the approver confirms the amount,
	// written in 大写, by ticking the box; the browser requires it.
	if text := ab.text(`#approve-form [data-confirm-text]`); !strings.Contains(text, "您将批准拨付 人民币") || !strings.Contains(text, "（¥") {
		t.Fatalf("confirmation %q", text)
	}
	ab.do(
		chromedp.Click(chromedp.CSS(`#approve-form input[name="confirm"]`)),
		chromedp.Click(chromedp.CSS(`#approve-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#record-entry`)),
	)
	if flash := ab.text(`.flash`); !strings.Contains(flash, "下一步") {
		t.Fatalf("after the approval: %q", flash)
	}
	if status, entry := ab.text(`#record-title .badge`), ab.text(`#record-entry`); status != "已审批" || entry != "第 2 号" {
		t.Fatalf("after approval: %q %q", status, entry)
	}
	ab.screenshot("approved")

	// The auditor: journal, trial balance, exports, verification.
	au := newBrowser(t, "auditor")
	au.login(a.URL, auditorL.Username, auditorL.Password)
	au.do(
		openMenu("/ledger"), chromedp.Click(chromedp.CSS(`.mainnav a[href="/ledger"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ledger-views`)),
		chromedp.Click(chromedp.CSS(`#ledger-views a[href="/ledger/journal"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#journal-table tbody.entry[data-seq="2"]`)),
	)
	if row := au.text(`#journal-table tbody.entry[data-seq="2"]`); !strings.Contains(row, "拨付先投资金") ||
		!strings.Contains(row, "项目 低空物流无人机中试") || strings.Contains(row, "1221/app/") || !strings.Contains(row, "1,000,000.00") {
		t.Fatalf("journal entry 2: %q", row)
	}
	au.screenshot("journal")

	// Both downloads, fetched by the page itself with the auditor's session.
	type download struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Text   string `json:"text"`
		Size   int    `json:"size"`
		Magic  string `json:"magic"`
	}
	fetch := func(sel string) download {
		t.Helper()
		d, err := chromedp.Run(au.ctx, chromedp.Evaluate[download](`(async () => {
			const r = await fetch(document.querySelector('`+sel+`').href);
			const buf = new Uint8Array(await r.arrayBuffer());
			return {status: r.status, type: r.headers.get('content-type'), size: buf.length,
				text: new TextDecoder().decode(buf), magic: String.fromCharCode(buf[0], buf[1])};
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch %s: %v", sel, err)
		}
		return d
	}
	csv := fetch(`#export-csv`)
	if csv.Status != 200 || !strings.HasPrefix(csv.Type, "text/csv") || !strings.Contains(csv.Text, "拨付先投资金") ||
		!strings.Contains(csv.Text, "# 链头: 2 sha256-v1:") {
		t.Fatalf("csv export: %d %s\n%s", csv.Status, csv.Type, csv.Text)
	}
	xlsx := fetch(`#export-xlsx`)
	if xlsx.Status != 200 || !strings.Contains(xlsx.Type, "spreadsheetml") || xlsx.Magic != "PK" || xlsx.Size < 1000 {
		t.Fatalf("xlsx export: %d %s %d bytes, starts %q", xlsx.Status, xlsx.Type, xlsx.Size, xlsx.Magic)
	}

	au.do(
		chromedp.Navigate(a.URL+"/ledger"),
		chromedp.WaitVisible(chromedp.CSS(`#ledger-views`)),
		chromedp.Click(chromedp.CSS(`#ledger-views a[href="/ledger/trial-balance"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#trial-table tr[data-account="1221/app/`+app+`"]`)),
	)
	if row := au.text(`#trial-table tr[data-account="1221/app/` + app + `"]`); !strings.Contains(row, "1,000,000.00") {
		t.Fatalf("trial balance 1221: %q", row)
	}
	if ok := au.text(`#trial-balanced`); !strings.Contains(ok, "借贷平衡") {
		t.Fatalf("trial balance: %q", ok)
	}
	au.screenshot("trial_balance")
	// The sub-account by its project, never its key (issue 14).
	if tb := fetch(`#export-csv`); tb.Status != 200 || !strings.Contains(tb.Text, "项目 低空物流无人机中试") || strings.Contains(tb.Text, "1221/app/") {
		t.Fatalf("trial balance csv: %d\n%s", tb.Status, tb.Text)
	}

	au.do(
		openMenu("/ledger/verify"), chromedp.Click(chromedp.CSS(`.mainnav a[href="/ledger/verify"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#verify-ok`)),
	)
	if msg := au.text(`#verify-ok`); !strings.Contains(msg, "共 2 张凭证") {
		t.Fatalf("verify: %q", msg)
	}
	au.screenshot("verify")

	var exports int
	if err := a.DB.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE event = 'export'`).Scan(&exports); err != nil || exports != 3 {
		t.Fatalf("export audit rows = %d, %v", exports, err)
	}
}

// TestJourneyCorrection: a disbursement was paid to a wrong account and
// came back. Staff ask for its correction (冲正) from the entry's page, an
// approver approves it, the mirror entry is posted and the project is back
// to signed, and the auditor finds the reversing entry and a ledger that
// still verifies.
func TestJourneyCorrection(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	adminA, _ := demoActor(t, a, applications.RoleAdmin)
	staffA, staffL := demoActor(t, a, applications.RoleStaff)
	approverA, approverL := demoActor(t, a, applications.RoleApprover)
	_, auditorL := demoActor(t, a, applications.RoleAuditor)
	appID := contractedProject(t, a, adminA, staffA, approverA)
	d, err := a.DB.RecordDisbursement(ctx, staffA, applications.DisbursementInput{ApplicationID: appID, Tranche: 1,
		Amount: decimal.RequireFromString("1000000"), ValueDate: time.Now().AddDate(0, 0, -1), Reference: "PZ-2026-0901",
		IdempotencyKey: "e2e-disbursement-0001"})
	if err != nil {
		t.Fatal(err)
	}
	if d, err = a.DB.ApproveDisbursement(ctx, approverA, d.ID, "e2e-disbursement-check-0001"); err != nil || d.EntrySeq != 2 {
		t.Fatalf("disbursement entry %d, %v", d.EntrySeq, err)
	}

	sb := newBrowser(t, "staff")
	sb.login(a.URL, staffL.Username, staffL.Password)
	sb.do(
		chromedp.Navigate(a.URL+"/ledger/entries/2"),
		chromedp.WaitVisible(chromedp.CSS(`#reversal-form`)),
		chromedp.SendKeys(chromedp.CSS(`#f-reason`), "银行退票：收款账号有误，款项已原路退回"),
	)
	sb.screenshot("request")
	sb.do(
		chromedp.Click(chromedp.CSS(`#reversal-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#record-title`)),
	)
	if status := sb.text(`#record-title .badge`); status != "待审批" {
		t.Fatalf("after the request: %q", status)
	}

	ab := newBrowser(t, "approver")
	ab.login(a.URL, approverL.Username, approverL.Password)
	ab.do(
		chromedp.Navigate(a.URL+"/ledger"),
		chromedp.Click(chromedp.CSS(`a[href="/ledger/reversals?status=pending"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#reversal-table`)),
		chromedp.Click(chromedp.CSS(`#reversal-table tbody tr td a`)),
		chromedp.WaitVisible(chromedp.CSS(`#approve-button`)),
	)
	if reason := ab.text(`#reversal-reason`); !strings.Contains(reason, "银行退票") {
		t.Fatalf("the approver sees the reason %q", reason)
	}
	ab.screenshot("to_approve")
	ab.do(
		chromedp.Click(chromedp.CSS(`#approve-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#record-entry`)),
	)
	if status, entry := ab.text(`#record-title .badge`), ab.text(`#record-entry`); status != "已审批" || entry != "第 3 号" {
		t.Fatalf("after approval: %q %q", status, entry)
	}
	ab.screenshot("approved")
	if p, err := a.DB.FindApplication(ctx, appID); err != nil || p.State != applications.StateContracted {
		t.Fatalf("project state %s, %v: its only disbursement was undone", p.State, err)
	}

	au := newBrowser(t, "auditor")
	au.login(a.URL, auditorL.Username, auditorL.Password)
	au.do(
		chromedp.Navigate(a.URL+"/ledger/journal"),
		chromedp.WaitVisible(chromedp.CSS(`#journal-table tbody.entry[data-seq="3"]`)),
	)
	if row := au.text(`#journal-table tbody.entry[data-seq="3"]`); !strings.Contains(row, "冲正第 2 号凭证") ||
		!strings.Contains(row, "1,000,000.00") {
		t.Fatalf("journal entry 3: %q", row)
	}
	au.screenshot("journal")
	au.do(
		chromedp.Navigate(a.URL+"/ledger/verify"),
		chromedp.WaitVisible(chromedp.CSS(`#verify-ok`)),
	)
	if msg := au.text(`#verify-ok`); !strings.Contains(msg, "共 3 张凭证") {
		t.Fatalf("verify: %q", msg)
	}
}
