package postgres

import (
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/ledger"
)

// netBalances is the trial balance as each account's net (debit − credit),
// accounts at zero left out: what "back to before" compares.
func (w *moneyWorld) netBalances() map[ledger.AccountKey]string {
	w.t.Helper()
	tb, _, err := w.db.TrialBalance(w.ctx, TrialFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[ledger.AccountKey]string{}
	for _, b := range tb.Lines() {
		if !b.Net().IsZero() {
			out[b.Account] = b.Net().StringFixed(2)
		}
	}
	return out
}

func (w *moneyWorld) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.Pool.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *moneyWorld) disburse(app int64, tranche int, amount, ref string) applications.Disbursement {
	w.t.Helper()
	d, err := w.record(app, tranche, amount, ref)
	if err != nil {
		w.t.Fatal(err)
	}
	if d, err = w.db.ApproveDisbursement(w.ctx, w.approver, d.ID, w.key()); err != nil {
		w.t.Fatal(err)
	}
	return d
}

func (w *moneyWorld) requestReversal(seq int64, reason string) (applications.Reversal, error) {
	return w.db.RequestReversal(w.ctx, w.staff, applications.ReversalInput{EntrySeq: seq, Reason: reason, IdempotencyKey: w.key()})
}

func sameNets(a, b map[ledger.AccountKey]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestReversalOfDisbursement(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("3000000.00")
	app := w.contract("2000000.00")
	before := w.netBalances()
	d := w.disburse(app, 1, "1000000.00", "PZ-2026-001")

	key := w.key()
	in := applications.ReversalInput{EntrySeq: d.EntrySeq, Reason: "银行退票，款项已原路退回", IdempotencyKey: key}
	rv, err := w.db.RequestReversal(w.ctx, w.staff, in)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Status != applications.MoneyPending || rv.Kind != ledger.KindDisbursement || !rv.Amount.Equal(dec("1000000")) ||
		rv.Record != (ledger.RecordRef{Type: applications.RecordDisbursement, ID: d.ID}) {
		t.Fatalf("request = %+v", rv)
	}
	t.Run("DuplicateSubmissionRequestsOnce", func(t *testing.T) {
		again, err := w.db.RequestReversal(w.ctx, w.staff, in)
		if err != nil || again.ID != rv.ID {
			t.Fatalf("retry = %+v, %v", again, err)
		}
		if n := w.count(`SELECT count(*) FROM reversals`); n != 1 {
			t.Fatalf("%d requests", n)
		}
	})
	t.Run("SecondRequestRefused", func(t *testing.T) {
		_, err := w.db.RequestReversal(w.ctx, w.staff2, applications.ReversalInput{EntrySeq: d.EntrySeq, Reason: "重复", IdempotencyKey: w.key()})
		wantKind(t, err, applications.Conflict, "已有待审批的冲正申请")
	})
	t.Run("RequesterApprovingOwnRefused", func(t *testing.T) {
		_, err := w.db.ApproveReversal(w.ctx, w.staff, rv.ID, w.key())
		wantKind(t, err, applications.Forbidden, "不能审批自己经办")
		if n := w.count(`SELECT count(*) FROM audit_log WHERE event = 'reversal_approve' AND outcome = 'refused'`); n != 1 {
			t.Fatalf("refusal audit rows = %d", n)
		}
	})

	checkKey := w.key()
	ok, err := w.db.ApproveReversal(w.ctx, w.approver, rv.ID, checkKey)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Status != applications.MoneyApproved || ok.EntrySeq != d.EntrySeq+1 || ok.CheckedBy != w.approver.ID {
		t.Fatalf("approved = %+v", ok)
	}
	t.Run("DoubleApprovePostsOnce", func(t *testing.T) {
		again, err := w.db.ApproveReversal(w.ctx, w.approver, rv.ID, checkKey)
		if err != nil || again.EntrySeq != ok.EntrySeq {
			t.Fatalf("retry = %+v, %v", again, err)
		}
		_, err = w.db.ApproveReversal(w.ctx, w.approver2, rv.ID, w.key())
		wantKind(t, err, applications.Conflict, "已审批")
		if n := w.count(`SELECT count(*) FROM ledger_entries WHERE kind = 'reversal'`); n != 1 {
			t.Fatalf("%d reversal entries", n)
		}
	})
	t.Run("EntryMirrorsTheOriginal", func(t *testing.T) {
		e, err := w.db.FindEntry(w.ctx, ok.EntrySeq)
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := w.db.FindEntry(w.ctx, d.EntrySeq)
		if e.Entry.Kind != ledger.KindReversal || e.Entry.Reverses != d.EntrySeq || orig.ReversedBy != ok.EntrySeq ||
			e.Entry.Record != (ledger.RecordRef{Type: applications.RecordReversal, ID: rv.ID}) || e.RecordLink != "/ledger/reversals/"+itoa64(rv.ID) ||
			e.Entry.MakerID != w.staff.ID || e.Entry.CheckerID != w.approver.ID || !strings.Contains(e.Entry.Memo, "银行退票") {
			t.Fatalf("reversal entry = %+v", e)
		}
		if len(e.Entry.Postings) != len(orig.Entry.Postings) {
			t.Fatalf("postings %d vs %d", len(e.Entry.Postings), len(orig.Entry.Postings))
		}
		for i, p := range e.Entry.Postings {
			o := orig.Entry.Postings[i]
			if p.Account != o.Account || !p.Amount.Equal(o.Amount) || p.Side != o.Side.Opposite() {
				t.Fatalf("posting %d = %+v, original %+v", i, p, o)
			}
		}
	})
	t.Run("BusinessStateRestored", func(t *testing.T) {
		if after := w.netBalances(); !sameNets(before, after) {
			t.Fatalf("trial balance before %v, after %v", before, after)
		}
		got, _ := w.db.FindDisbursement(w.ctx, d.ID)
		if got.Status != applications.MoneyReversed {
			t.Fatalf("disbursement status %s", got.Status)
		}
		plan, err := w.db.DisbursementPlan(w.ctx, app)
		if err != nil || !plan.Disbursed.IsZero() || !plan.FundBalance.Equal(dec("3000000")) ||
			!plan.Tranches[0].Remaining().Equal(dec("1000000")) || !plan.Tranches[0].Pending.IsZero() {
			t.Fatalf("plan = %+v, %v", plan, err)
		}
		a, _ := w.db.FindApplication(w.ctx, app)
		var disbursed, fundDisbursed string
		_ = w.db.Pool.QueryRow(w.ctx, `SELECT a.disbursed::text, f.disbursed::text FROM applications a
			JOIN programme_funds f ON f.programme_id = a.programme_id WHERE a.id = $1`, app).Scan(&disbursed, &fundDisbursed)
		// Its only disbursement undone, the project is back to contracted
		// (funded means paid), with the reason on its timeline.
		if disbursed != "0.00" || fundDisbursed != "0.00" || a.State != applications.StateContracted {
			t.Fatalf("application disbursed %s, fund disbursed %s, state %s", disbursed, fundDisbursed, a.State)
		}
		timeline, _ := w.db.Timeline(w.ctx, app)
		if last := timeline[len(timeline)-1]; last.From != applications.StateFunded || last.To != applications.StateContracted ||
			!strings.Contains(last.Reason, "冲正") {
			t.Fatalf("last transition %+v", last)
		}
		trail, _ := w.db.RecordAuditTrail(w.ctx, applications.RecordDisbursement, d.ID)
		if last := trail[len(trail)-1]; last.Event != "disbursement_reversed" {
			t.Fatalf("disbursement trail ends with %s", last.Event)
		}
		w.mustVerify()
	})
	t.Run("AlreadyReversedRefused", func(t *testing.T) {
		_, err := w.requestReversal(d.EntrySeq, "再次冲正")
		wantKind(t, err, applications.Conflict, "已由第")
	})
	t.Run("ReversingAReversalRefused", func(t *testing.T) {
		_, err := w.requestReversal(ok.EntrySeq, "冲正错了")
		wantKind(t, err, applications.Conflict, "本身是冲销凭证")
	})
	t.Run("TrancheCanBeDisbursedAgain", func(t *testing.T) {
		// The corrected record may carry the reversed one's reference.
		again := w.disburse(app, 1, "1000000.00", "PZ-2026-001")
		plan, _ := w.db.DisbursementPlan(w.ctx, app)
		if again.Status != applications.MoneyApproved || !plan.Disbursed.Equal(dec("1000000")) || !plan.FundBalance.Equal(dec("2000000")) ||
			plan.App.State != applications.StateFunded {
			t.Fatalf("after disbursing again: %+v / %+v", again, plan)
		}
		w.mustVerify()
	})
}

func TestReversalOfAppropriation(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	a := w.fund("1000000.00")
	rv, err := w.requestReversal(a.EntrySeq, "文号登记错误，应为另一批次的拨款")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.ApproveReversal(w.ctx, w.approver2, rv.ID, w.key()); err != nil {
		t.Fatal(err)
	}
	funds, _ := w.db.ListFunds(w.ctx)
	got, _ := w.db.FindAppropriation(w.ctx, a.ID)
	if !funds[0].Balance.IsZero() || !funds[0].Appropriated.IsZero() || got.Status != applications.MoneyReversed {
		t.Fatalf("funds %+v, appropriation %s", funds, got.Status)
	}
	w.mustVerify()

	b := w.fund("1000000.00")
	app := w.contractSingle("1000000.00")
	w.disburse(app, 1, "600000.00", "PZ-A-1")
	t.Run("DisbursedMoneyRefusedAtRequest", func(t *testing.T) {
		entries, requests, audits := w.count(`SELECT count(*) FROM ledger_entries`), w.count(`SELECT count(*) FROM reversals`),
			w.count(`SELECT count(*) FROM audit_log`)
		_, err := w.requestReversal(b.EntrySeq, "错误登记")
		wantKind(t, err, applications.Conflict, "专项资金余额 400,000.00 元，不足以冲回")
		if w.count(`SELECT count(*) FROM ledger_entries`) != entries || w.count(`SELECT count(*) FROM reversals`) != requests ||
			w.count(`SELECT count(*) FROM audit_log`) != audits {
			t.Fatal("a refused request wrote something")
		}
	})
	t.Run("DisbursedMoneyRefusedAtApproval", func(t *testing.T) {
		c := w.fund("500000.00") // balance 900,000
		rv, err := w.requestReversal(c.EntrySeq, "重复登记")
		if err != nil {
			t.Fatal(err)
		}
		w.disburse(w.contractSingle("400000.01"), 1, "400000.01", "PZ-A-2") // balance 499,999.99
		entries := w.count(`SELECT count(*) FROM ledger_entries`)
		_, err = w.db.ApproveReversal(w.ctx, w.approver, rv.ID, w.key())
		wantKind(t, err, applications.Conflict, "不足以冲回")
		cur, _ := w.db.FindReversal(w.ctx, rv.ID)
		ap, _ := w.db.FindAppropriation(w.ctx, c.ID)
		funds, _ := w.db.ListFunds(w.ctx)
		if w.count(`SELECT count(*) FROM ledger_entries`) != entries || cur.Status != applications.MoneyPending || ap.Status != applications.MoneyApproved ||
			!funds[0].Balance.Equal(dec("499999.99")) {
			t.Fatalf("refused approval wrote something: %s %s %s", cur.Status, ap.Status, funds[0].Balance)
		}
		// Sent back, the entry may be asked for again later.
		if _, err := w.db.RejectReversal(w.ctx, w.approver, rv.ID, w.key(), ""); applications.ErrorKind(err) != applications.Invalid {
			t.Fatalf("send back without a reason: %v", err)
		}
		sent, err := w.db.RejectReversal(w.ctx, w.approver, rv.ID, w.key(), "资金已拨出，先冲正拨付")
		if err != nil || sent.Status != applications.MoneyRejected {
			t.Fatalf("send back = %+v, %v", sent, err)
		}
		w.fund("1.00")
		if _, err := w.requestReversal(c.EntrySeq, "重复登记"); err != nil {
			t.Fatalf("asking again after a send-back: %v", err)
		}
	})
	w.mustVerify()
}

func TestReversalRefusals(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("3000000.00")
	app := w.contractSingle("1000000.00")
	d := w.disburse(app, 1, "1000000.00", "PZ-R-1")

	for _, tc := range []struct {
		name string
		in   applications.ReversalInput
		kind applications.Kind
		frag string
	}{
		{"NoReason", applications.ReversalInput{EntrySeq: d.EntrySeq, Reason: "  ", IdempotencyKey: w.key()}, applications.Invalid, "请填写冲正理由"},
		{"ReasonTooLong", applications.ReversalInput{EntrySeq: d.EntrySeq, Reason: strings.Repeat("错", 301), IdempotencyKey: w.key()}, applications.Invalid, "最多 300 字"},
		{"NoKey", applications.ReversalInput{EntrySeq: d.EntrySeq, Reason: "错"}, applications.Invalid, "防重复提交"},
		{"NoSuchEntry", applications.ReversalInput{EntrySeq: 999, Reason: "错", IdempotencyKey: w.key()}, applications.Invalid, "第 999 号凭证不存在"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.db.RequestReversal(w.ctx, w.staff, tc.in)
			wantKind(t, err, tc.kind, tc.frag)
		})
	}
	t.Run("OtherKindsRefused", func(t *testing.T) {
		var seq int64
		err := w.db.inTx(w.ctx, func(tx pgx.Tx) error {
			e, err := ledger.WriteOff(w.prog.ID, app, ledger.CodeInvested, dec("1.00"))
			if err != nil {
				return err
			}
			e.ValueDate, e.Memo, e.Record = testNow, "核销", ledger.RecordRef{Type: RecordEnding, ID: 1}
			e.MakerID, e.CheckerID, e.IdempotencyKey = w.staff.ID, w.approver.ID, "test/write-off"
			posted, _, err := postEntry(w.ctx, tx, testNow, e)
			seq = posted.Seq
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.requestReversal(seq, "核销有误")
		wantKind(t, err, applications.Invalid, "「核销」凭证")
		if n := w.count(`SELECT count(*) FROM reversals`); n != 0 {
			t.Fatalf("%d requests written", n)
		}
	})
	t.Run("DisbursementAfterFundingStageRefused", func(t *testing.T) {
		if _, err := w.db.Pool.Exec(w.ctx, `UPDATE applications SET state = 'conversion_due' WHERE id = $1`, app); err != nil {
			t.Fatal(err)
		}
		defer w.db.Pool.Exec(w.ctx, `UPDATE applications SET state = 'funded' WHERE id = $1`, app) //nolint:errcheck
		_, err := w.requestReversal(d.EntrySeq, "拨付有误")
		wantKind(t, err, applications.Conflict, "待转股")
	})
	t.Run("EntryPageSaysWhy", func(t *testing.T) {
		opt, err := w.db.FindEntryReversal(w.ctx, d.EntrySeq)
		if err != nil || !opt.Allowed || opt.Open.ID != 0 {
			t.Fatalf("disbursement entry: %+v, %v", opt, err)
		}
		opt, err = w.db.FindEntryReversal(w.ctx, 1)
		if err != nil || opt.Allowed || !strings.Contains(opt.Refusal, "不足以冲回") {
			t.Fatalf("appropriation entry with its money disbursed: %+v, %v", opt, err)
		}
		if _, err := w.db.FindEntryReversal(w.ctx, 999); applications.ErrorKind(err) != applications.NotFound {
			t.Fatalf("missing entry: %v", err)
		}
	})
}

// TestReversalGuards shows the database keeps a reversed record honest
// whatever path writes to it.
func TestReversalGuards(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("1000000.00")
	app := w.contractSingle("500000.00")
	d := w.disburse(app, 1, "500000.00", "PZ-G-1")

	_, err := w.db.Pool.Exec(w.ctx, `UPDATE disbursements SET status = 'reversed' WHERE id = $1`, d.ID)
	if _, c := pgCode(err); c != "money_record_reversed_check" {
		t.Fatalf("marking reversed without a reversal entry: %v", err)
	}
	rv, err := w.requestReversal(d.EntrySeq, "金额登记错误")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.ApproveReversal(w.ctx, w.approver, rv.ID, w.key()); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE disbursements SET status = 'approved' WHERE id = $1`,
		`UPDATE reversals SET reason = '改过的理由' WHERE id = $1`,
		`DELETE FROM reversals WHERE id = $1`,
	} {
		id := d.ID
		if strings.Contains(sql, "reversals") {
			id = rv.ID
		}
		if _, err := w.db.Pool.Exec(w.ctx, sql, id); err == nil {
			t.Errorf("%s: allowed", sql)
		} else if code, _ := pgCode(err); code != "42501" {
			t.Errorf("%s: %v", sql, err)
		}
	}
	w.mustVerify()
}

// TestConcurrentReversals: many requests for one entry make one request;
// two approvers at once post one reversing entry.
func TestConcurrentReversals(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("1000000.00")
	app := w.contractSingle("800000.00")
	d := w.disburse(app, 1, "800000.00", "PZ-C-1")

	const n = 16
	keys := make([]string, n)
	for i := range keys {
		keys[i] = w.key()
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = w.db.RequestReversal(w.ctx, w.staff, applications.ReversalInput{EntrySeq: d.EntrySeq, Reason: "并发", IdempotencyKey: keys[i]})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch k := applications.ErrorKind(err); {
		case err == nil:
			won++
		case k != applications.Conflict:
			t.Fatalf("request: %v", err)
		}
	}
	if won != 1 || w.count(`SELECT count(*) FROM reversals`) != 1 {
		t.Fatalf("%d requests succeeded", won)
	}
	var id int64
	_ = w.db.Pool.QueryRow(w.ctx, `SELECT id FROM reversals`).Scan(&id)
	for i, who := range []int{0, 1, 0, 1, 0, 1} {
		approver := w.approver
		if who == 1 {
			approver = w.approver2
		}
		key := keys[i]
		wg.Go(func() { _, _ = w.db.ApproveReversal(w.ctx, approver, id, key) })
	}
	wg.Wait()
	if k := w.count(`SELECT count(*) FROM ledger_entries WHERE kind = 'reversal'`); k != 1 {
		t.Fatalf("%d reversal entries", k)
	}
	w.mustVerify()
}
