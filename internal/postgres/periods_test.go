package postgres

import (
	"strings"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/ledger"
)

// TestPeriodCloseInTheStore closes a month through the store, then shows
// the trigger refusing an entry inserted behind the store's back, and
// verify flagging an entry posted into a period already closed.
func TestPeriodCloseInTheStore(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("100.00") // dated 2026-11-05
	t.Run("OpenMonthRefused", func(t *testing.T) {
		err := w.db.ClosePeriod(w.ctx, w.staff, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		wantKind(t, err, applications.Invalid, "尚未结束")
	})
	// Planted: November "closed" an hour before entry 1 was posted, as a
	// script writing both tables directly would leave it.
	if _, err := w.db.Pool.Exec(w.ctx, `INSERT INTO ledger_periods (month, closed_at, closed_by, debit, credit, head_seq, head_hash)
		VALUES ('2026-11-01', $1, $2, 0, 0, 0, $3)`, testNow.Add(-time.Hour), w.staff.ID, ledger.GenesisHash); err != nil {
		t.Fatal(err)
	}
	v, err := w.db.VerifyLedger(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || v.FirstBad != 1 || v.Entries != 0 || !strings.Contains(v.Problem, "结账后记入") {
		t.Fatalf("verify = %+v", v)
	}
	t.Run("StoreRefuses", func(t *testing.T) {
		a, err := w.db.RecordAppropriation(w.ctx, w.staff, AppropriationInput{ProgrammeID: w.prog.ID, Amount: dec("1.00"),
			ValueDate: testNow.AddDate(0, 0, -1), Reference: "REF-CLOSED", IdempotencyKey: w.key()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.db.ApproveAppropriation(w.ctx, w.approver, a.ID, w.key())
		wantKind(t, err, applications.Invalid, "该期间（2026年11月）已结账，更正请记入当前未结账期间。")
	})
	t.Run("TriggerRefuses", func(t *testing.T) {
		e, _ := w.db.FindEntry(w.ctx, 1)
		_, err := w.db.Pool.Exec(w.ctx, `INSERT INTO ledger_entries (seq, value_date, created_at, kind, memo, record_type, record_id,
			maker_id, checker_id, idempotency_key, prev_hash, hash, hash_alg)
			VALUES (2, '2026-11-06', now(), 'appropriation', 'x', 'appropriation', 1, $1, $2, 'planted', $3, $3, 'sha256-v1')`,
			w.staff.ID, w.approver.ID, e.Entry.Hash)
		if code, constraint := pgCode(err); code != "23514" || constraint != "ledger_entries_period_closed" {
			t.Fatalf("direct insert: %v", err)
		}
	})
}
