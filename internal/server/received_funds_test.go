package server

import (
	"context"
	"net/http"
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
