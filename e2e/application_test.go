package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/seed"
)

// TestJourneyApplication follows one application through formal review in
// two browsers. The enterprise registers through /register (which signs it in),
// creates the application through the form and uploads the eight required
// items through the page (the XHR upload: its <progress> must show and
// reach 100 before the page reloads with the item uploaded), asks for a
// pre-check; staff verify the new enterprise, and it submits. Staff open it from the queue, return one item
// with a reason, accept the rest and click 退回补正; the enterprise sees the
// reason beside the item, replaces the file and resubmits; staff accept
// it and click 通过形式审查, and both see the state under_review
// (专家评审中). Screenshots are saved at every stage.
func TestJourneyApplication(t *testing.T) {
	a := startApp(t)
	ctx := context.Background()
	// The demo seed has no programme: open one whose window is today.
	now := time.Now()
	p := applications.NewProgramme(now.Year(), now)
	p.Name, p.Status = "2026年度先投后股科技项目", applications.ProgrammeOpen
	p.OpensOn, p.ClosesOn = now.AddDate(0, 0, -10).Truncate(24*time.Hour), now.AddDate(0, 1, 0).Truncate(24*time.Hour)
	p.TotalBudget = decimal.RequireFromString("50000000.00")
	if _, err := a.DB.CreateProgramme(ctx, audit.Actor{Name: "e2e"}, p); err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()

	ent := newBrowser(t, "enterprise")
	ent.acceptDialogs()
	uscc := applications.ExampleUSCC(2026_1125)
	const username, password = "qingcheng", "Qingcheng@2026"

	// 1. Registration and sign-in.
	ent.do(chromedp.Navigate(a.URL+"/register"), chromedp.WaitVisible(chromedp.CSS(`#register-form`)))
	for field, value := range map[string]string{
		"name": "青城智造科技有限公司", "uscc": uscc, "legal_rep": "周法人", "registered_capital": "2000000.00",
		"founded_on": "2021-03-01", "address": "呼和浩特经济技术开发区如意和大街1号", "contact_name": "吴联系",
		"contact_mobile": "13912345678", "username": username, "password": password,
	} {
		ent.do(chromedp.SetValue(chromedp.CSS(`#f-`+field), value))
	}
	ent.screenshot("01_register")
	// Registering signs the new user in: the enterprise's home follows.
	ent.do(
		chromedp.Click(chromedp.CSS(`#register-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#home-title`)),
	)
	if msg := ent.text(`.flash`); !strings.Contains(msg, "注册成功") {
		t.Fatalf("after registering: flash %q", msg)
	}
	if title := ent.text(`#home-title`); !strings.Contains(title, "吴联系") {
		t.Fatalf("after registering: home %q", title)
	}

	// 2. The application, through the form.
	ent.do(
		chromedp.Navigate(a.URL+"/applications"),
		chromedp.Click(chromedp.CSS(`#new-application`)),
		chromedp.WaitVisible(chromedp.CSS(`#application-form`)),
		chromedp.SetValue(chromedp.CSS(`#f-title`), "高性能储能材料中试"),
		chromedp.SetValue(chromedp.CSS(`#f-sector`), string(applications.SectorNewEnergyMaterials)),
		chromedp.SetValue(chromedp.CSS(`#f-requested_amount`), "8000000.00"),
		chromedp.SetValue(chromedp.CSS(`#f-lead_name`), "刘负责"),
		chromedp.SetValue(chromedp.CSS(`#f-lead_mobile`), "13800001111"),
		chromedp.SetValue(chromedp.CSS(`#f-summary`), "建设储能正极材料中试线。"),
		chromedp.SetValue(chromedp.CSS(`#f-technology`), "低成本连续化制备工艺，已申请发明专利 3 项。"),
		chromedp.SetValue(chromedp.CSS(`#f-team`), "团队 12 人，博士 2 人。"),
		chromedp.SetValue(chromedp.CSS(`#f-market`), "面向风电和光伏储能运营商。"),
		chromedp.SetValue(chromedp.CSS(`#budget-table tbody tr:nth-child(1) input[name=budget_item]`), "设备购置费"),
		chromedp.SetValue(chromedp.CSS(`#budget-table tbody tr:nth-child(1) input[name=budget_amount]`), "5000000.00"),
		chromedp.SetValue(chromedp.CSS(`#budget-table tbody tr:nth-child(2) input[name=budget_item]`), "研发人员费用"),
		chromedp.SetValue(chromedp.CSS(`#budget-table tbody tr:nth-child(2) input[name=budget_amount]`), "3000000.00"),
		chromedp.SetValue(chromedp.CSS(`#milestone-table tbody tr:nth-child(1) input[name=milestone_date]`), "2027-06-30"),
		chromedp.SetValue(chromedp.CSS(`#milestone-table tbody tr:nth-child(1) input[name=milestone_text]`), "建成中试线"),
	)
	ent.screenshot("02_application_form")
	ent.do(
		chromedp.Click(chromedp.CSS(`#application-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#checklist`)),
	)
	appURL, err := chromedp.Run(ent.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if st := ent.appState(); st != applications.StateDraft {
		t.Fatalf("new application is %s", st)
	}

	// 3. The eight required items, each through its upload form.
	fields := func(m applications.Material) map[string]string {
		switch m.Field() {
		case applications.FieldUSCCOnItem:
			return map[string]string{"uscc": uscc}
		case applications.FieldIDOnItem:
			return map[string]string{"id_number": applications.ExampleIDNumber(7, time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC))}
		case applications.FieldIssueOnItem:
			return map[string]string{"issue_date": time.Now().AddDate(0, 0, -10).Format(time.DateOnly)}
		}
		return nil
	}
	for i, m := range applications.DefaultRequiredMaterials {
		ent.uploadItem(m, fields(m), writeTempPDF(t, files, string(m)+".pdf", i))
	}
	ent.screenshot("03_all_uploaded")

	// 4. A pre-check, then submission (its form asks to confirm).
	ent.do(
		chromedp.Click(chromedp.CSS(`#precheck-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#precheck-pending`)),
	)
	ent.screenshot("04_precheck_asked")

	// A self-registered enterprise submits once staff have verified it
	// (issue 16.4): its licence copy against the 信用代码, name and legal
	// representative.
	var staffLogin seed.Login
	for _, l := range seed.DemoLogins {
		if l.Role == applications.RoleStaff {
			staffLogin = l
		}
	}
	staff := newBrowser(t, "staff")
	staff.acceptDialogs()
	staff.login(a.URL, staffLogin.Username, seed.DemoPassword)
	staff.do(
		chromedp.Navigate(a.URL+"/enterprises/verification"),
		chromedp.WaitVisible(chromedp.CSS(`.verify-form`)),
		chromedp.Click(chromedp.CSS(`.verify-form button[value="verify"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#verification-empty`)),
	)
	staff.screenshot("04b_enterprise_verified")
	ent.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.CSS(`#submit-button`)))
	ent.do(chromedp.Click(chromedp.CSS(`#submit-button`)), ent.waitAppState(applications.StateSubmitted))
	ent.screenshot("05_submitted")

	// 5. Staff open it from the queue, return one item and accept the rest.
	appPath := strings.TrimPrefix(appURL, a.URL)
	staff.do(
		chromedp.Navigate(a.URL+"/applications"),
		chromedp.WaitVisible(chromedp.CSS(`#queue-table`)),
		chromedp.Click(chromedp.CSS(`#queue-table a[href="`+appPath+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#review-outcome`)),
	)
	staff.screenshot("06_review_opened")
	const reason = "诚信承诺书缺少公章，请盖章后重新扫描上传"
	returnedItem := applications.MaterialIntegrityPledge
	row := `#item-` + string(returnedItem)
	staff.do(
		chromedp.SendKeys(chromedp.CSS(row+` input.reason-input`), reason),
		chromedp.Click(chromedp.CSS(row+` .return-button`)),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status=returned]`)),
	)
	// Accepting an item swaps its row in place (htmx): a marker set on
	// the page survives every acceptance, so the page was never reloaded.
	staff.do(chromedp.Evaluate[chromedp.Void](`window.iteNoReload = true`))
	for _, m := range applications.DefaultRequiredMaterials {
		if m == returnedItem {
			continue
		}
		staff.do(
			chromedp.Click(chromedp.CSS(`#item-`+string(m)+` .accept-button`)),
			chromedp.WaitVisible(chromedp.CSS(`#item-`+string(m)+`[data-status=accepted]`)),
		)
	}
	if still, err := chromedp.Run(staff.ctx, chromedp.Evaluate[bool](`window.iteNoReload === true`)); err != nil || !still {
		t.Fatalf("accepting an item reloaded the page (marker %v, %v)", still, err)
	}
	staff.screenshot("07_items_judged")
	staff.do(chromedp.Click(chromedp.CSS(`#send-return`)), staff.waitAppState(applications.StateReturned))
	staff.screenshot("08_returned")

	// 6. The enterprise sees the reason beside the item, replaces the
	// file and resubmits.
	ent.do(chromedp.Navigate(appURL), ent.waitAppState(applications.StateReturned))
	if got := ent.text(row + ` .return-reason`); !strings.Contains(got, reason) {
		t.Fatalf("reason beside the item: %q", got)
	}
	ent.screenshot("09_reason_seen")
	ent.uploadItem(returnedItem, nil, writeTempPDF(t, files, "pledge-sealed.pdf", 99))
	if got := ent.text(row + ` .doc-link`); got != "pledge-sealed.pdf" {
		t.Fatalf("current version of the replaced item: %q", got)
	}
	ent.do(chromedp.Click(chromedp.CSS(`#submit-button`)), ent.waitAppState(applications.StateSubmitted))
	ent.screenshot("10_resubmitted")

	// 7. Staff accept the replacement and pass formal review.
	staff.do(
		chromedp.Navigate(appURL),
		staff.waitAppState(applications.StateSubmitted),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status=uploaded]`)),
		chromedp.Click(chromedp.CSS(row+` .accept-button`)),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status=accepted]`)),
	)
	staff.do(chromedp.Click(chromedp.CSS(`#accept-review`)), staff.waitAppState(applications.StateUnderReview))
	if label := staff.text(`#app-title .badge`); label != "专家评审中" {
		t.Fatalf("state label %q", label)
	}
	staff.screenshot("11_under_review")
	ent.do(chromedp.Navigate(appURL), ent.waitAppState(applications.StateUnderReview))
	ent.screenshot("12_enterprise_sees_under_review")

	var timeline []string
	for _, tr := range timelineOf(t, a, appPath) {
		timeline = append(timeline, string(tr.To))
	}
	if got := strings.Join(timeline, " "); got != "draft submitted returned submitted under_review" {
		t.Fatalf("timeline %s", got)
	}
}

// uploadItem fills one checklist row's structured fields, attaches file
// through the file input and clicks 上传. It watches the row's <progress>
// with a MutationObserver whose record survives the reload in
// sessionStorage, then checks that the bar was shown, reached 100, and
// that the reloaded page shows the new version as uploaded.
func (b *browser) uploadItem(m applications.Material, fields map[string]string, file string) {
	b.t.Helper()
	row := `#item-` + string(m)
	form := row + ` form.upload-form`
	for name, value := range fields {
		b.do(chromedp.SetValue(chromedp.CSS(form+` input[name=`+name+`]`), value))
	}
	key := "e2e-progress-" + string(m)
	b.do(
		chromedp.SetUploadFiles(chromedp.CSS(form+` input[type=file]`), []string{file}),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function () {
			var form = document.querySelector(%q), bar = form.querySelector("progress");
			var rec = {shown: false, max: 0, uploaded: false};
			sessionStorage.removeItem(%q);
			new MutationObserver(function () {
				if (!bar.hidden) rec.shown = true;
				rec.max = Math.max(rec.max, Number(bar.value));
				rec.uploaded = rec.uploaded || form.getAttribute("data-uploaded") === "1";
				sessionStorage.setItem(%q, JSON.stringify(rec));
			}).observe(form, {attributes: true, subtree: true, attributeFilter: ["hidden", "value", "data-uploaded"]});
		})()`, form, key, key)),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
		// The old page shows the row as missing or returned; this matches
		// only once the page has reloaded.
		chromedp.WaitVisible(chromedp.CSS(row+`[data-status=uploaded]`)),
	)
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`sessionStorage.getItem(`+fmt.Sprintf("%q", key)+`) || ""`))
	if err != nil {
		b.t.Fatal(err)
	}
	var rec struct {
		Shown    bool    `json:"shown"`
		Max      float64 `json:"max"`
		Uploaded bool    `json:"uploaded"`
	}
	if err := json.Unmarshal([]byte(raw), &rec); err != nil || !rec.Shown || rec.Max != 100 || !rec.Uploaded {
		b.screenshot("upload_" + string(m))
		b.t.Fatalf("upload of %s: progress bar record %q (want shown, reaching 100, form marked uploaded)", m, raw)
	}
	b.t.Logf("upload of %s: progress bar %s", m, raw)
}

// acceptDialogs answers every window.confirm (forms with data-confirm)
// with OK, as a user going ahead would.
func (b *browser) acceptDialogs() {
	if err := chromedp.Do(b.ctx); err != nil { // start the browser so the tab exists
		b.t.Fatal(err)
	}
	dialogs := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.t.Logf("confirm: %s", ev.Message)
			_, _ = chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

// appState reads the application page's state badge.
func (b *browser) appState() applications.State {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`#app-title .badge`), "data-state"))
	if err != nil {
		b.t.Fatal(err)
	}
	return applications.State(res.Value)
}

// waitAppState waits until the application page shows state s.
func (b *browser) waitAppState(s applications.State) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`#app-title .badge[data-state="` + string(s) + `"]`))
}

// writeTempPDF writes a small distinct PDF into dir.
func writeTempPDF(t *testing.T, dir, name string, n int) string {
	t.Helper()
	body := fmt.Sprintf("%%PDF-1.4\n%% e2e file %d\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n", n)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func timelineOf(t *testing.T, a *app, path string) []applications.TransitionRecord {
	t.Helper()
	var id int64
	if _, err := fmt.Sscanf(path, "/applications/%d", &id); err != nil {
		t.Fatalf("application path %q: %v", path, err)
	}
	tl, err := a.DB.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}
