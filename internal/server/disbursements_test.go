package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"ite/internal/applications"
)

// The enterprise sees the money its project received, and only that: not
// the fund's balance, vouchers, who prepared and approved, or ledger links.
func TestEnterpriseSeesReceivedFunds(t *testing.T) {
	e := newEnv(t)
	id := e.fundedA(termsA)
	path := "/applications/" + strconv.FormatInt(id, 10)
	var reference string
	if err := e.db.Pool.QueryRow(context.Background(),
		`SELECT reference FROM disbursements WHERE application_id = $1 ORDER BY id LIMIT 1`, id).Scan(&reference); err != nil {
		t.Fatal(err)
	}

	r := e.loggedIn(applications.RoleEnterprise).get(path)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enterprise GET %s: %d", path, r.StatusCode)
	}
	d := r.doc(t)
	if got := strings.TrimSpace(d.Find("#received-total").Text()); got != "3,000,000.00 元" {
		t.Fatalf("received total %q, want 3,000,000.00 元", got)
	}
	if n := d.Find("#receipts tbody tr").Length(); n != 2 {
		t.Fatalf("%d receipts shown, want the two tranches paid", n)
	}
	if n := d.Find("#received-tranches tbody tr").Length(); n != 2 {
		t.Fatalf("%d tranches in the plan, want 2", n)
	}
	for _, internal := range []string{"专项资金余额", reference, `href="/disbursements/`, `href="/ledger/entries/`, "disbursement-section"} {
		if strings.Contains(r.body, internal) {
			t.Fatalf("the enterprise's page shows %q", internal)
		}
	}

	// While the money is being recovered the enterprise needs its receipts
	// most: the section stays after the equity phase ends.
	if _, err := e.db.Pool.Exec(context.Background(), `UPDATE applications SET state = 'recovery' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if d := e.loggedIn(applications.RoleEnterprise).get(path).doc(t); d.Find("#receipts tbody tr").Length() != 2 {
		t.Fatal("the enterprise does not see its receipts while the money is recovered")
	}

	staff := e.loggedIn(applications.RoleStaff).get(path).doc(t)
	if staff.Find("#disbursement-section").Length() != 1 || staff.Find("#received-funds").Length() != 0 {
		t.Fatal("staff do not see the full disbursement section")
	}
}

func TestDisbursementOverHTTP(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "3000000.00", "2000000.00")
	staffC, approverC := m.loggedIn(staff), m.loggedIn(approver)
	path := "/applications/" + itoa(m.app) + "/disbursements"

	t.Run("AboveRemainingRefused", func(t *testing.T) {
		form := m.disbursementForm(staffC)
		form.Set("amount", "1000000.01") // tranche 1 is 1,000,000.00
		form.Set("reference", "PZ-X")
		r := staffC.post(path, form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", r.StatusCode)
		}
		if msg := r.doc(t).Find(`.field.has-error .error`).Text(); !strings.Contains(msg, "剩余可拨付金额 1,000,000.00 元") {
			t.Fatalf("error next to amount: %q", msg)
		}
	})
	t.Run("PlanReadsShares", func(t *testing.T) {
		if share := staffC.get(path).doc(t).Find(`#tranche-table tr[data-tranche="1"] td:nth-child(2)`).Text(); share != "50%" {
			t.Fatalf("tranche 1's share %q, want 50%%", share)
		}
	})

	form := m.disbursementForm(staffC)
	if form.Get("amount") != "1,000,000.00" || form.Get("tranche") != "1" {
		t.Fatalf("form defaults: %v", form)
	}
	form.Set("reference", "PZ-2026-0001")
	first := staffC.post(path, form)
	second := staffC.post(path, form) // a double click: same idempotency key
	if first.StatusCode != http.StatusSeeOther || second.StatusCode != http.StatusSeeOther ||
		first.Header.Get("Location") != second.Header.Get("Location") {
		t.Fatalf("double submit: %d %s / %d %s", first.StatusCode, first.Header.Get("Location"), second.StatusCode, second.Header.Get("Location"))
	}
	var n int
	_ = m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM disbursements`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d disbursements recorded, want 1", n)
	}
	loc := first.Header.Get("Location")
	id, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/disbursements/"), 10, 64)

	t.Run("MakerApprovingOwnIs403", func(t *testing.T) {
		// The maker becomes an approver; the record still names them.
		if _, err := m.db.Pool.Exec(context.Background(), `UPDATE users SET role = 'approver' WHERE id = $1`, m.users[staff].ID); err != nil {
			t.Fatal(err)
		}
		defer m.db.Pool.Exec(context.Background(), `UPDATE users SET role = 'staff' WHERE id = $1`, m.users[staff].ID) //nolint:errcheck
		page := staffC.get(loc)
		if page.doc(t).Find(`#approve-form`).Length() != 0 || page.doc(t).Find(`#maker-note`).Length() != 1 {
			t.Fatal("the maker is offered the approve form")
		}
		r := staffC.post(loc+"/approve", url.Values{"idempotency_key": {newFormKey(context.Background())}, "confirm": {"1"}})
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "不能审批自己经办的事项") {
			t.Fatalf("maker approve: %d", r.StatusCode)
		}
		if c := count(m.auditEvents(), "disbursement_approve"); c != 1 {
			t.Fatalf("refusal audit rows = %d", c)
		}
	})

	page := approverC.get(loc)
	t.Run("ConfirmationShowsTheAmountInCapitals", func(t *testing.T) {
		text := page.doc(t).Find(`#approve-form [data-confirm-text]`).Text()
		if !strings.Contains(text, "您将批准拨付 人民币壹佰万元整（¥1,000,000.00）") {
			t.Fatalf("confirmation %q", text)
		}
		if _, ok := page.doc(t).Find(`#approve-form input[type=checkbox][name=confirm]`).Attr("required"); !ok {
			t.Fatal("the confirmation checkbox is not required")
		}
	})
	t.Run("ApprovalWithoutConfirmationRefused", func(t *testing.T) {
		k, _ := page.doc(t).Find(`#approve-form input[name=idempotency_key]`).Attr("value")
		r := approverC.post(loc+"/approve", url.Values{"idempotency_key": {k}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find(`.confirm-box .error`).Text(), "勾选") {
			t.Fatalf("status %d %q", r.StatusCode, r.doc(t).Find(`.confirm-box .error`).Text())
		}
		var entries int
		_ = m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries WHERE kind = 'disbursement'`).Scan(&entries)
		d, _ := m.db.FindDisbursement(context.Background(), id)
		if entries != 0 || d.Status != applications.MoneyPending {
			t.Fatalf("unconfirmed approval wrote: %d entries, %s", entries, d.Status)
		}
	})
	key, ok := page.doc(t).Find(`#approve-form input[name=idempotency_key]`).Attr("value")
	if !ok || key == "" {
		t.Fatalf("approver sees no approve form with a key:\n%s", page.body)
	}
	a1 := approverC.post(loc+"/approve", url.Values{"idempotency_key": {key}, "confirm": {"1"}})
	a2 := approverC.post(loc+"/approve", url.Values{"idempotency_key": {key}, "confirm": {"1"}}) // retried
	if a1.StatusCode != http.StatusSeeOther || a2.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d / %d", a1.StatusCode, a2.StatusCode)
	}
	if flash := approverC.get(loc).doc(t).Find(`.flash`).Text(); !strings.Contains(flash, "拨付已批准并记账") || !strings.Contains(flash, "下一步：企业按期报送进展报告") {
		t.Fatalf("after the approval: %q", flash)
	}
	_ = m.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries WHERE kind = 'disbursement'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d disbursement entries, want 1", n)
	}
	d, _ := m.db.FindDisbursement(context.Background(), id)
	if d.Status != applications.MoneyApproved || d.EntrySeq != 2 {
		t.Fatalf("disbursement %+v", d)
	}
	if a, _ := m.db.FindApplication(context.Background(), m.app); a.State != applications.StateFunded {
		t.Fatalf("state %s", a.State)
	}
	again := approverC.post(loc+"/approve", url.Values{"idempotency_key": {newFormKey(context.Background())}, "confirm": {"1"}})
	if again.StatusCode != http.StatusConflict {
		t.Fatalf("approve with a new key after approval: %d", again.StatusCode)
	}

	t.Run("AboveFundRefused", func(t *testing.T) {
		// Tranche 2 needs its milestone, then only 2,000,000 is left in the fund.
		r := staffC.post("/applications/"+itoa(m.app)+"/milestones", url.Values{"tranche": {"2"}, "note": {"中期检查通过"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("milestone: %d %s", r.StatusCode, r.doc(t).Find(`[role=alert]`).Text())
		}
		if _, err := m.db.Pool.Exec(context.Background(), `UPDATE programme_funds SET balance = 999999.99, appropriated = appropriated WHERE programme_id = $1`, m.prog.ID); err != nil {
			t.Fatal(err)
		}
		form := m.disbursementForm(staffC)
		form.Set("reference", "PZ-2026-0002")
		r = staffC.post(path, form)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.doc(t).Find(`.error`).Text(), "专项资金余额") {
			t.Fatalf("above fund: %d", r.StatusCode)
		}
	})
}
