package server

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/shopspring/decimal"
)

func TestAppropriationOverHTTP(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "", "1000000.00")
	staffC := m.loggedIn(staff)
	r := staffC.get("/ledger/appropriations")
	key, _ := r.doc(t).Find(`#appropriation-form input[name=idempotency_key]`).Attr("value")
	form := url.Values{"programme_id": {itoa(m.prog.ID)}, "amount": {"5000000"}, "value_date": {"2026-11-20"},
		"reference": {"内财教〔2026〕12号"}, "idempotency_key": {key}}
	// Admins cannot move money (DOMAIN §2): they may not record one. (Until
	// issue 12 this test recorded as the admin.)
	if r := m.loggedIn(admin).post("/ledger/appropriations", maps.Clone(form)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("admin records an appropriation: %d, want 403", r.StatusCode)
	}
	r1, r2 := staffC.post("/ledger/appropriations", form), staffC.post("/ledger/appropriations", form)
	if r1.StatusCode != http.StatusSeeOther || r1.Header.Get("Location") != r2.Header.Get("Location") {
		t.Fatalf("record: %d %s / %s", r1.StatusCode, r1.Header.Get("Location"), r2.Header.Get("Location"))
	}
	loc := r1.Header.Get("Location")
	approverC := m.loggedIn(approver)
	k, _ := approverC.get(loc).doc(t).Find(`#approve-form input[name=idempotency_key]`).Attr("value")
	if r := approverC.post(loc+"/approve", url.Values{"idempotency_key": {k}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	funds, _ := m.db.ListFunds(context.Background())
	if len(funds) != 1 || !funds[0].Balance.Equal(decimal.RequireFromString("5000000")) {
		t.Fatalf("funds %+v", funds)
	}
	bad := url.Values{"programme_id": {itoa(m.prog.ID)}, "amount": {"1,00,0"}, "value_date": {"2026-11-20"},
		"reference": {"x"}, "idempotency_key": {newFormKey(context.Background())}}
	if r := staffC.post("/ledger/appropriations", bad); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad amount: %d", r.StatusCode)
	}
}
