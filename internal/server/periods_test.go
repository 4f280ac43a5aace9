package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/postgres"
)

// TestPeriodClose closes March over HTTP; an entry dated in March is then
// refused with the Chinese message and nothing is written, one dated in
// April is posted.
func TestPeriodClose(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "", "1000000.00")
	ctx := context.Background()
	record := func(date string) int64 {
		t.Helper()
		d, _ := time.Parse(time.DateOnly, date)
		a, err := m.db.RecordAppropriation(ctx, m.actor(staff), postgres.AppropriationInput{ProgrammeID: m.prog.ID,
			Amount: decimal.RequireFromString("1000.00"), ValueDate: d, Reference: "内财教〔2026〕" + date,
			IdempotencyKey: newFormKey(ctx)})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	approverC := m.loggedIn(approver)
	approve := func(id int64) response {
		t.Helper()
		loc := "/ledger/appropriations/" + itoa(id)
		k, _ := approverC.get(loc).doc(t).Find(`#approve-form input[name=idempotency_key]`).Attr("value")
		return approverC.post(loc+"/approve", url.Values{"idempotency_key": {k}})
	}
	if r := approve(record("2026-03-10")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve March before the close: %d", r.StatusCode)
	}
	staffC := m.loggedIn(staff)
	r := staffC.get("/ledger/periods")
	if r.StatusCode != http.StatusOK || r.doc(t).Find(`tr[data-month="2026-03"][data-state="待结账"] #period-close-form`).Length() != 1 {
		t.Fatalf("periods page: %d\n%s", r.StatusCode, r.body)
	}
	if r := m.loggedIn(approver).post("/ledger/periods/2026-03/close", nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("approver closes: %d, want 403", r.StatusCode)
	}
	t.Run("OutOfOrderRefused", func(t *testing.T) {
		r := staffC.post("/ledger/periods/2026-04/close", nil)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "2026年3月") {
			t.Fatalf("close April first: %d", r.StatusCode)
		}
	})
	if r := staffC.post("/ledger/periods/2026-03/close", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("close March: %d %s", r.StatusCode, r.body)
	}
	if n := count(m.auditEvents(), "ledger_period_close"); n != 1 {
		t.Fatalf("close audited %d times", n)
	}
	if r := staffC.get("/ledger/periods"); r.doc(t).Find(`tr[data-month="2026-03"][data-state="已结账"]`).Length() != 1 {
		t.Fatalf("March not shown closed:\n%s", r.body)
	}
	head, _ := m.db.LedgerHead(ctx)

	t.Run("MarchRefused", func(t *testing.T) {
		id := record("2026-03-20")
		r := approve(id)
		const msg = "该期间（2026年3月）已结账，更正请记入当前未结账期间。"
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, msg) {
			t.Fatalf("approve March after the close: %d\n%s", r.StatusCode, r.body)
		}
		if h, _ := m.db.LedgerHead(ctx); h != head {
			t.Fatalf("an entry was written: head %v, was %v", h, head)
		}
		if a, _ := m.db.FindAppropriation(ctx, id); a.Status != applications.MoneyPending {
			t.Fatalf("appropriation %+v", a)
		}
	})
	t.Run("AprilAccepted", func(t *testing.T) {
		if r := approve(record("2026-04-01")); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve April: %d %s", r.StatusCode, r.body)
		}
		if h, _ := m.db.LedgerHead(ctx); h.Seq != head.Seq+1 {
			t.Fatalf("head %v", h)
		}
	})
	t.Run("CorrectionGoesIntoTheOpenPeriod", func(t *testing.T) {
		// Reversing March's entry 1 posts today (November), not in March.
		rv, err := m.db.RequestReversal(ctx, m.actor(staff), applications.ReversalInput{EntrySeq: 1, Reason: "文号登记错误",
			IdempotencyKey: newFormKey(ctx)})
		if err != nil {
			t.Fatal(err)
		}
		if rv, err = m.db.ApproveReversal(ctx, m.actor(approver), rv.ID, newFormKey(ctx)); err != nil {
			t.Fatal(err)
		}
		e, _ := m.db.FindEntry(ctx, rv.EntrySeq)
		if e.Entry.Reverses != 1 || e.Entry.ValueDate.Format(time.DateOnly) != "2026-11-25" {
			t.Fatalf("reversal %+v", e.Entry)
		}
	})
	if v, err := m.db.VerifyLedger(ctx); err != nil || !v.OK {
		t.Fatalf("verify %+v %v", v, err)
	}
}
