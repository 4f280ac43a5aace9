package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
	"ite/internal/postgres"
)

// moneyEnv is an env with an open programme, a funded fund and a
// contracted project (default terms: 50% at signing, 50% after a
// milestone).
type moneyEnv struct {
	*env
	prog     applications.Programme
	app      int64
	approved decimal.Decimal
}

func newMoneyEnv(t *testing.T, fund, approved string) *moneyEnv {
	t.Helper()
	e := newEnv(t)
	m := &moneyEnv{env: e, prog: e.openProgramme(), approved: decimal.RequireFromString(approved)}
	ctx := context.Background()
	var err error
	m.app, err = e.db.SyntheticContract(ctx, postgres.SyntheticContractInput{ProgrammeID: m.prog.ID,
		EnterpriseID: e.users[enterprise].EnterpriseID, CreatedBy: e.users[staff].ID, Title: "高性能储能材料中试",
		Approved: m.approved, SignedOn: e.clock.Now().AddDate(0, -1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if fund != "" {
		m.fund(fund)
	}
	return m
}

func (m *moneyEnv) actor(role applications.Role) audit.Actor {
	u := m.users[role]
	return audit.Actor{ID: u.ID, Name: u.DisplayName, Role: string(role)}
}

func (m *moneyEnv) fund(amount string) {
	m.t.Helper()
	ctx := context.Background()
	a, err := m.db.RecordAppropriation(ctx, m.actor(admin), postgres.AppropriationInput{ProgrammeID: m.prog.ID,
		Amount: decimal.RequireFromString(amount), ValueDate: m.clock.Now().AddDate(0, 0, -30), Reference: "内财教〔2026〕8号",
		IdempotencyKey: newFormKey(context.Background())})
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.db.ApproveAppropriation(ctx, m.actor(approver), a.ID, newFormKey(context.Background())); err != nil {
		m.t.Fatal(err)
	}
}

// disbursementForm reads the record form from the project's page, as a
// browser would submit it.
func (m *moneyEnv) disbursementForm(c *client) url.Values {
	m.t.Helper()
	return m.disbursementFormAt(c, "/applications/"+itoa(m.app)+"/disbursements")
}

// disbursementFormAt reads the record form from the page at path (the
// project's disbursement page, or its application page).
func (m *moneyEnv) disbursementFormAt(c *client, path string) url.Values {
	m.t.Helper()
	r := c.get(path)
	if r.StatusCode != http.StatusOK {
		m.t.Fatalf("GET %s: %d", path, r.StatusCode)
	}
	form := url.Values{}
	r.doc(m.t).Find(`#disbursement-form input, #disbursement-form select`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		val, _ := s.Attr("value")
		if s.Is("select") {
			val, _ = s.Find("option[selected]").Attr("value")
		}
		form.Set(name, val)
	})
	if form.Get("idempotency_key") == "" {
		m.t.Fatalf("the disbursement form carries no idempotency key:\n%s", r.body)
	}
	return form
}

func TestAuditorCannotPostAnything(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Signing out and the calculator (a pure computation, POSTed because
	// its input is a JSON body; the terms form's preview) change nothing.
	// Signing a chain anchor only records what the chains hold.
	harmless := map[string]bool{"POST /logout": true, "POST /api/v1/calc": true, "POST /terms/preview": true, "POST /ledger/anchors": true,
		// Their own password, second factor and sessions (issue 16): the
		// auditor's account, not the records they audit.
		"POST /account/password": true, "POST /account/second-factor": true, "POST /account/sessions/end-others": true}
	for _, rt := range e.srv.routes() {
		if rt.method != http.MethodGet && rt.access.allows(auditor) && !harmless[rt.method+" "+rt.pattern] {
			t.Errorf("%s %s admits auditors: auditors read, export and verify, and change nothing", rt.method, rt.pattern)
		}
	}
	c := e.loggedIn(auditor)
	for _, path := range []string{"/ledger/appropriations", "/disbursements/1/approve", "/applications/1/disbursements"} {
		if r := c.post(path, url.Values{"amount": {"1"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("auditor POST %s: %d, want 403", path, r.StatusCode)
		}
	}
	if n := count(e.auditEvents(), "access_refused"); n != 3 {
		t.Errorf("access_refused audit rows = %d, want 3", n)
	}
}

func TestLedgerViewsAndExports(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "3000000.00", "2000000.00")
	ctx := context.Background()
	d, err := m.db.RecordDisbursement(ctx, m.actor(staff), applications.DisbursementInput{ApplicationID: m.app, Tranche: 1,
		Amount: decimal.RequireFromString("1000000.00"), ValueDate: m.clock.Now().AddDate(0, 0, -1), Reference: "PZ-1",
		IdempotencyKey: newFormKey(context.Background())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.ApproveDisbursement(ctx, m.actor(approver), d.ID, newFormKey(context.Background())); err != nil {
		t.Fatal(err)
	}
	c := m.loggedIn(auditor)

	t.Run("Journal", func(t *testing.T) {
		r := c.get("/ledger/journal?project=" + itoa(m.app))
		doc := r.doc(t)
		if r.StatusCode != 200 || doc.Find(`#journal-table tbody.entry`).Length() != 1 {
			t.Fatalf("journal: %d, %d entries", r.StatusCode, doc.Find(`#journal-table tbody.entry`).Length())
		}
		if href, _ := doc.Find(`#journal-table tbody.entry a[href^="/disbursements/"]`).Attr("href"); href != "/disbursements/"+itoa(d.ID) {
			t.Fatalf("entry does not link to its record: %q", href)
		}
		// The sub-accounts by their names, read in the page's batch.
		a, err := m.db.FindApplication(ctx, m.app)
		if err != nil {
			t.Fatal(err)
		}
		if text := doc.Find(`#journal-table tbody.entry`).Text(); !strings.Contains(text, a.Title) || !strings.Contains(text, a.Programme) {
			t.Fatalf("the entry does not name its project %q and programme %q: %s", a.Title, a.Programme, text)
		}
		if r := c.get("/ledger/journal?from=2026-13-01"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad date: %d", r.StatusCode)
		}
	})
	t.Run("EntryShowsApprovals", func(t *testing.T) {
		r := c.get("/ledger/entries/2")
		doc := r.doc(t)
		if r.StatusCode != 200 || !strings.Contains(doc.Find(`#record-trail`).Text(), "拨付审批通过") {
			t.Fatalf("entry page %d:\n%s", r.StatusCode, doc.Find(`#record-trail`).Text())
		}
	})
	t.Run("TrialBalanceAtADate", func(t *testing.T) {
		r := c.get("/ledger/trial-balance?as_of=" + m.clock.Now().AddDate(0, 0, -10).Format(time.DateOnly))
		doc := r.doc(t)
		if doc.Find(`#trial-table tbody tr`).Length() != 2 || doc.Find(`#trial-balanced.flash-success`).Length() != 1 {
			t.Fatalf("trial balance ten days ago:\n%s", doc.Find(`#trial-table`).Text())
		}
		r = c.get("/ledger/trial-balance")
		if n := r.doc(t).Find(`#trial-table tbody tr`).Length(); n != 3 {
			t.Fatalf("trial balance today: %d lines", n)
		}
	})
	t.Run("RegisterAndAccount", func(t *testing.T) {
		r := c.get("/ledger/register")
		row := r.doc(t).Find(`#register-table tr[data-app="` + itoa(m.app) + `"]`)
		if !strings.Contains(row.Text(), "1,000,000.00") || !strings.Contains(row.Text(), "2,000,000.00") {
			t.Fatalf("register row: %q", row.Text())
		}
		r = c.get("/ledger/accounts?account=1002/prog/" + itoa(m.prog.ID))
		if r.StatusCode != 200 || r.doc(t).Find(`#account-table tbody tr`).Length() != 3 {
			t.Fatalf("account ledger: %d", r.StatusCode)
		}
		if r := c.get("/ledger/accounts?account=9999"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("unknown account: %d", r.StatusCode)
		}
	})
	t.Run("ExportsCSVAndXLSX", func(t *testing.T) {
		for _, path := range []string{"/ledger/journal/export", "/ledger/trial-balance/export", "/ledger/accounts/export?account=1221",
			"/ledger/register/export", "/ledger/audit/export"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			wantSeq := "2"
			if path == "/ledger/audit/export" {
				// the audit chain's own head, as it stood before this export's row
				var seq int64
				_ = m.db.Pool.QueryRow(ctx, `SELECT max(seq) FROM audit_log`).Scan(&seq)
				wantSeq = itoa(seq)
			}
			r := c.get(path + sep + "format=csv")
			if r.StatusCode != 200 || !strings.HasPrefix(r.body, "\uFEFF") || !strings.Contains(r.body, ledger.CSVFooterPrefix+wantSeq+" sha256-v1:") ||
				!strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%s csv: %d %q", path, r.StatusCode, r.body)
			}
			r = c.get(path + sep + "format=xlsx")
			f, err := excelize.OpenReader(strings.NewReader(r.body))
			if err != nil {
				t.Fatalf("%s xlsx: %v", path, err)
			}
			head, _ := f.GetCellValue(ledger.ChainSheetName, "B2")
			f.Close()
			if path == "/ledger/audit/export" {
				continue
			}
			if head != "2" {
				t.Fatalf("%s xlsx chain head seq = %q", path, head)
			}
		}
		if n := count(m.auditEvents(), "export"); n != 10 {
			t.Fatalf("export audit rows = %d, want 10", n)
		}
	})
	t.Run("EmptyPeriodIsAValidFileWithHeaders", func(t *testing.T) {
		r := c.get("/ledger/journal/export?format=csv&from=2000-01-01&to=2000-12-31")
		lines := strings.Split(strings.TrimSuffix(r.body, "\r\n"), "\r\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "\uFEFF凭证序号,记账日期") || !strings.HasPrefix(lines[1], ledger.CSVFooterPrefix) {
			t.Fatalf("empty csv: %q", r.body)
		}
		r = c.get("/ledger/journal/export?format=xlsx&from=2000-01-01&to=2000-12-31")
		f, err := excelize.OpenReader(bytes.NewReader([]byte(r.body)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, _ := f.GetRows(ledger.JournalTable.Name)
		if len(rows) != 1 || rows[0][0] != "凭证序号" {
			t.Fatalf("empty xlsx rows: %v", rows)
		}
	})
	t.Run("AuditExportForAdmins", func(t *testing.T) {
		r := m.loggedIn(admin).get("/ledger/audit/export?format=csv&event=disbursement_approved")
		// Filtered by the stored event name, shown by its Chinese one.
		if r.StatusCode != 200 || strings.Count(r.body, "拨付审批通过") != 1 || strings.Contains(r.body, "disbursement_approved") {
			t.Fatalf("audit export: %d %q", r.StatusCode, r.body)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		r := m.loggedIn(admin).get("/ledger/verify")
		if r.doc(t).Find(`#verify-ok`).Length() != 1 {
			t.Fatalf("verify page:\n%s", r.doc(t).Find(`#ledger-verify-result`).Text())
		}
		for _, sql := range []string{
			`ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only`,
			`UPDATE ledger_postings SET amount = 999999.00 WHERE entry_seq = 2 AND line = 2`,
			`ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_append_only`,
		} {
			if _, err := m.db.Pool.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		r = m.loggedIn(admin).get("/ledger/verify")
		if msg := r.doc(t).Find(`#verify-failed`).Text(); !strings.Contains(msg, "第 2 号凭证") {
			t.Fatalf("verify after tampering: %q", msg)
		}
	})
}
