package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/web/format"
)

// TestLedgerPrintouts: the journal and the trial balance each link to a
// printable page (for staff and the auditor, who may read the ledger) that
// carries what the auditor files: the period, the preparer (the signed-in
// user), the print time as 2026年3月31日 15:04, the chain head (shortened
// hash of the last entry and the entry count) and the 制表/复核 lines, with
// every entry or account of the selection and totals that tie to the page.
func TestLedgerPrintouts(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "3000000.00", "2000000.00")
	m.disburseApproved("987654.32", nil)
	ctx := context.Background()
	head, err := m.db.LedgerHead(ctx)
	if err != nil || head.Seq < 2 {
		t.Fatalf("head %+v %v", head, err)
	}
	var entries int
	var posted decimal.Decimal
	if err := m.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_entries),
		(SELECT sum(amount) FROM ledger_postings WHERE side = 'debit')`).Scan(&entries, &posted); err != nil {
		t.Fatal(err)
	}
	text := func(d *goquery.Document, sel string) string { return strings.TrimSpace(d.Find(sel).Text()) }
	checkCommon := func(t *testing.T, d *goquery.Document, who applications.Role) {
		t.Helper()
		if got, want := text(d, "#print-preparer"), m.users[who].DisplayName; got != want || got == "" {
			t.Errorf("preparer %q, want %q", got, want)
		}
		if got, want := text(d, "#print-time"), format.ChineseDateTime(m.clock.Now()); got != want {
			t.Errorf("print time %q, want %q", got, want)
		}
		h := text(d, "#print-head")
		for _, want := range []string{"第 " + itoa(head.Seq) + " 号凭证", head.Hash[:16], head.Hash[len(head.Hash)-8:]} {
			if !strings.Contains(h, want) {
				t.Errorf("chain head %q lacks %q", h, want)
			}
		}
		if got := text(d, "#print-count"); got != itoa(head.Seq)+" 张" {
			t.Errorf("entry count %q, want %d 张", got, head.Seq)
		}
		sig := text(d, "#print-signatures")
		if !strings.Contains(sig, "制表") || !strings.Contains(sig, "复核") || !strings.Contains(sig, "签字") {
			t.Errorf("signature lines %q", sig)
		}
	}
	follow := func(t *testing.T, c *client, from, link string) *goquery.Document {
		t.Helper()
		href, ok := c.get(from).doc(t).Find(link).Attr("href")
		if !ok {
			t.Fatalf("%s offers no %s", from, link)
		}
		r := c.get(href)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", href, r.StatusCode)
		}
		return r.doc(t)
	}
	for _, who := range []applications.Role{auditor, staff} {
		c := m.loggedIn(who)
		t.Run("Journal_"+string(who), func(t *testing.T) {
			d := follow(t, c, "/ledger/journal", "#print-journal")
			checkCommon(t, d, who)
			if n := d.Find("#journal-print-table tbody.entry").Length(); n != entries {
				t.Errorf("%d entries printed, the ledger has %d", n, entries)
			}
			total := d.Find("#journal-print-total th")
			debit, credit := strings.TrimSpace(total.Eq(1).Text()), strings.TrimSpace(total.Eq(2).Text())
			if debit != strings.TrimSuffix(format.Yuan(posted), " 元") || credit != debit {
				t.Errorf("totals debit %q credit %q, want %s", debit, credit, strings.TrimSuffix(format.Yuan(posted), " 元"))
			}
			if got := text(d, "#print-period"); got != "全部期间" {
				t.Errorf("period %q", got)
			}
		})
		t.Run("TrialBalance_"+string(who), func(t *testing.T) {
			page := c.get("/ledger/trial-balance").doc(t)
			d := follow(t, c, "/ledger/trial-balance", "#print-trial")
			checkCommon(t, d, who)
			if got, want := d.Find("#trial-print-table tbody tr[data-account]").Length(), page.Find("#trial-table tbody tr").Length(); got != want || got == 0 {
				t.Errorf("%d accounts printed, the page lists %d", got, want)
			}
			var printed, shown []string
			d.Find("#trial-print-total th.num").Each(func(_ int, s *goquery.Selection) { printed = append(printed, strings.TrimSpace(s.Text())) })
			page.Find("#trial-total th.num").Each(func(_ int, s *goquery.Selection) { shown = append(shown, strings.TrimSpace(s.Text())) })
			if strings.Join(printed, "|") != strings.Join(shown, "|") || len(printed) != 4 {
				t.Errorf("printed totals %q, the page's %q", printed, shown)
			}
			if text(d, "#trial-print-balanced") != "借贷平衡。" {
				t.Errorf("balance line %q", text(d, "#trial-print-balanced"))
			}
		})
	}
	c := m.loggedIn(auditor)
	t.Run("PeriodPrinted", func(t *testing.T) {
		d := c.get("/ledger/journal/print?from=2000-01-01&to=2000-01-31").doc(t)
		if got := text(d, "#print-period"); got != "2000年1月1日至2000年1月31日" {
			t.Errorf("period %q", got)
		}
		if n := d.Find("#journal-print-table tbody.entry").Length(); n != 0 {
			t.Errorf("%d entries in a period before any", n)
		}
		asOf := m.clock.Now().AddDate(0, 0, -10)
		d = c.get("/ledger/trial-balance/print?as_of=" + asOf.Format(time.DateOnly)).doc(t)
		if got := text(d, "#print-period"); !strings.Contains(got, "截至"+asOf.In(time.UTC).Format("2006年1月2日")) {
			t.Errorf("trial period %q", got)
		}
	})
	t.Run("BadFilterRefused", func(t *testing.T) {
		for _, path := range []string{"/ledger/journal/print?from=2026-13-01", "/ledger/trial-balance/print?as_of=abc", "/ledger/journal/print?programme=x"} {
			r := c.get(path)
			if r.StatusCode != http.StatusUnprocessableEntity || strings.Contains(r.body, "Internal") {
				t.Errorf("%s: %d", path, r.StatusCode)
			}
		}
	})
	t.Run("EnterpriseRefused", func(t *testing.T) {
		ent := m.loggedIn(enterprise)
		for _, path := range []string{"/ledger/journal/print", "/ledger/trial-balance/print"} {
			if r := ent.get(path); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
				t.Errorf("enterprise %s: %d", path, r.StatusCode)
			}
		}
	})
}
