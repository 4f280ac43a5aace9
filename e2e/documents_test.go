package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/seed"
)

// TestJourneyDocuments prints every document a zone signs or an auditor
// files through Chromium, as a user's Ctrl+P would (print.css, the page's
// own @page size), and reads the PDFs: A4 pages, the signature blocks,
// amounts in 大写 and dates as 2026年3月31日. The demo's projects supply one
// record of each kind. The PDFs are kept in E2E_PDFS when set.
func TestJourneyDocuments(t *testing.T) {
	chromiumPath(t)
	a := startDemoWorld(t)
	staff := newBrowser(t, "staff")
	staff.login(a.URL, "jingban", seed.DemoPassword)
	ctx := context.Background()
	one := func(q string) int64 {
		t.Helper()
		var id int64
		if err := a.DB.Pool.QueryRow(ctx, q).Scan(&id); err != nil {
			t.Fatalf("demo record (%s): %v", q, err)
		}
		return id
	}
	app := func(id int64) string { return a.URL + "/applications/" + strconv.FormatInt(id, 10) }
	signedApp := one(`SELECT application_id FROM agreements WHERE status = 'signed' ORDER BY id LIMIT 1`)
	decided := one(`SELECT application_id FROM decisions WHERE kind = 'approve' AND status = 'approved' ORDER BY id LIMIT 1`)
	disbursed := one(`SELECT application_id FROM disbursements WHERE status = 'approved' ORDER BY id LIMIT 1`)
	converted := one(`SELECT id FROM conversions WHERE status = 'approved' ORDER BY id LIMIT 1`)
	exited := one(`SELECT application_id FROM exits WHERE status = 'approved' ORDER BY id LIMIT 1`)
	writtenOff := one(`SELECT application_id FROM endings WHERE kind = 'write_off' AND status = 'approved' ORDER BY id LIMIT 1`)

	// the application form is pre-filled with what the enterprise entered
	var title, enterprise string
	if err := a.DB.Pool.QueryRow(ctx, `SELECT a.title, e.name FROM applications a JOIN enterprises e ON e.id = a.enterprise_id
		WHERE a.id = $1`, signedApp).Scan(&title, &enterprise); err != nil {
		t.Fatal(err)
	}

	dateRE := regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日`)
	upperRE := regexp.MustCompile(`[壹贰叁肆伍陆柒捌玖][零壹贰叁肆伍陆柒捌玖拾佰仟万亿]*元`)
	docs := []struct {
		name, url, ready string
		want             []string // in the PDF's text
		upper, date      bool
	}{
		{"agreement", app(signedApp) + "/agreement", "#agreement-signatures",
			[]string{"协议编号", "ITE-", "甲方", "乙方", "丙方", "丁方", "第一条", "盖章", "法定代表人或授权代表（签字）", "____年__月__日"}, true, true},
		{"decision", app(decided) + "/print/decision", "#printout", []string{"立项的决定", "经办", "复核", "审批", "盖章"}, true, true},
		{"notice", app(decided) + "/print/notice", "#printout", []string{"立项公示", "公示期", "盖章"}, true, true},
		{"disbursement", app(disbursed) + "/print/disbursement", "#printout", []string{"拨付通知", "凭证号", "经办", "审批", "盖章"}, true, true},
		{"certificate", a.URL + "/conversions/" + strconv.FormatInt(converted, 10) + "/certificate", "#certificate-signatures",
			[]string{"转股测算单", "经办", "复核", "审批", "工商变更日期", "验证码", "价格依据"}, true, true},
		{"exit", app(exited) + "/print/exit", "#exit-figures", []string{"股权退出确认书", "退出价款", "经办", "复核", "审批", "受让方"}, true, true},
		{"write-off", app(writtenOff) + "/print/write-off", "#printout", []string{"核销的决定", "经办", "审批", "盖章"}, true, true},
		{"pledge", app(signedApp) + "/templates/integrity_pledge", "#template-doc", []string{"承诺", "盖章"}, false, true},
		{"application-form", app(signedApp) + "/templates/application_form", "#template-doc", []string{"项目概述", "盖章", title, enterprise}, true, true},
		// The auditor's printouts: period, preparer, print time, chain head
		// and the 制表/复核 lines (issue 15 point 3).
		{"journal", a.URL + "/ledger/journal/print", "#print-signatures",
			[]string{"日记账", "期间", "全部期间", "打印时间", "打印人", "李经办", "数据截至链头", "号凭证", "台账凭证总数", "合计", "制表", "复核", "签字"}, false, true},
		{"trial-balance", a.URL + "/ledger/trial-balance/print", "#print-signatures",
			[]string{"试算平衡表", "期间", "打印时间", "打印人", "李经办", "数据截至链头", "号凭证", "借贷平衡", "合计", "制表", "复核", "签字"}, false, true},
	}
	dir := os.Getenv("E2E_PDFS")
	if dir == "" {
		dir = t.TempDir()
	}
	pdftotext, _ := exec.LookPath("pdftotext")
	if pdftotext == "" {
		t.Log("SKIPPED PDF TEXT CHECKS: pdftotext 未安装（poppler-utils）：以 root 运行 scripts/ensure-packages.sh poppler 安装；页面尺寸仍会检查")
	}
	mediaBox := regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]`)
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			staff.do(chromedp.Navigate(d.url), chromedp.WaitVisible(chromedp.CSS(d.ready)))
			yes, no := true, false
			res, err := chromedp.Call(staff.ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &yes, PrintBackground: &no})
			if err != nil {
				t.Fatalf("print %s: %v", d.name, err)
			}
			pdf := []byte(res.Data)
			path := filepath.Join(dir, d.name+".pdf")
			if err := os.WriteFile(path, pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			boxes := mediaBox.FindAllSubmatch(pdf, -1)
			if len(boxes) == 0 {
				t.Fatalf("%s: no /MediaBox in the PDF", path)
			}
			for _, m := range boxes {
				w, _ := strconv.ParseFloat(string(m[1]), 64)
				h, _ := strconv.ParseFloat(string(m[2]), 64)
				if w < 594 || w > 596 || h < 841 || h > 843 {
					t.Errorf("page %.1f×%.1f pt, want A4 595×842", w, h)
				}
			}
			if pdftotext == "" {
				return
			}
			out, err := exec.Command(pdftotext, "-layout", path, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext: %v", err)
			}
			text := string(out)
			flat := strings.Join(strings.Fields(text), "")
			for _, w := range d.want {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), "")) {
					t.Errorf("%s lacks %q", d.name, w)
				}
			}
			if d.upper && !upperRE.MatchString(flat) {
				t.Errorf("%s: no amount in 大写", d.name)
			}
			if d.date && !dateRE.MatchString(flat) {
				t.Errorf("%s: no date written 2026年3月31日", d.name)
			}
			if (d.name == "journal" || d.name == "trial-balance") && !regexp.MustCompile(`打印时间：\d{4}年\d{1,2}月\d{1,2}日\d{2}:\d{2}`).MatchString(flat) {
				t.Errorf("%s: no print time written 2026年3月31日 15:04", d.name)
			}
			// print.css numbers the pages in the @page margin box
			if !strings.Contains(flat, "第1页") {
				t.Errorf("%s: no page number (第 1 页) printed", d.name)
			}
			for _, bad := range []string{"签约后0个月内", "项目项目", "round", "discount", "stake_ceiling", "{{"} {
				if strings.Contains(flat, bad) {
					t.Errorf("%s prints %q", d.name, bad)
				}
			}
			if regexp.MustCompile(`\d{2}-\d{2}\b`).MatchString(flat) && d.name != "certificate" {
				t.Logf("%s: an ISO-looking date remains", d.name)
			}
			if d.name == "certificate" && regexp.MustCompile(`\d{5,}\.\d{2}`).MatchString(flat) {
				t.Errorf("certificate: a number without thousands separators: %q", regexp.MustCompile(`\d{5,}\.\d{2}`).FindString(flat))
			}
			t.Logf("%s: %d bytes, %d pages", path, len(pdf), len(boxes))
		})
	}
	t.Run("CertificateRecomputes", func(t *testing.T) {
		staff.do(
			chromedp.Navigate(fmt.Sprintf("%s/conversions/%d/verify", a.URL, converted)),
			chromedp.WaitVisible(chromedp.CSS(`#check-result`)),
		)
		res, err := chromedp.Run(staff.ctx, chromedp.AttributeValue(chromedp.CSS(`#check-result`), "data-match"))
		if err != nil {
			t.Fatal(err)
		}
		if match := res.Value; match != "true" {
			t.Fatalf("recomputation: %q (%s)", match, staff.text(`#check-result`))
		}
	})
}

// startDemoWorld is startApp over the whole demo (seed.DemoWorld: one
// application in every state, with its decisions, agreements,
// disbursements, conversions, exits and endings).
func startDemoWorld(t *testing.T) *app {
	t.Helper()
	return startAppWith(t, func(db *postgres.DB, params auth.Params, blobs blob.Store, master []byte) error {
		_, err := seed.DemoWorld(context.Background(), db, seed.DemoOptions{PasswordParams: params, Blobs: blobs, MasterKey: master})
		return err
	})
}
