package postgres

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
	"ite/internal/postgres/pgtest"
)

func TestAppropriationPostsAndChains(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	a1 := w.fund("3000000.00")
	a2 := w.fund("2000000.00")
	if a1.Status != applications.MoneyApproved || a1.EntrySeq != 1 || a2.EntrySeq != 2 {
		t.Fatalf("appropriations: %+v %+v", a1, a2)
	}
	e2, err := w.db.FindEntry(w.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	e1, _ := w.db.FindEntry(w.ctx, 1)
	if e2.Entry.PrevHash != e1.Entry.Hash || e1.Entry.PrevHash != ledger.GenesisHash {
		t.Fatal("entries are not chained")
	}
	if e2.Entry.Kind != ledger.KindAppropriation || e2.Entry.MakerID != w.staff.ID || e2.Entry.CheckerID != w.approver.ID ||
		e2.RecordLink != "/ledger/appropriations/"+itoa64(a2.ID) || e2.MakerName != "staff" {
		t.Fatalf("entry 2: %+v", e2)
	}
	want := []ledger.Posting{
		{Account: ledger.ProgrammeAccount(ledger.CodeFundBank, w.prog.ID), Side: ledger.Debit, Amount: dec("2000000.00")},
		{Account: ledger.ProgrammeAccount(ledger.CodeAppropriation, w.prog.ID), Side: ledger.Credit, Amount: dec("2000000.00")},
	}
	for i, p := range e2.Entry.Postings {
		if p.Account != want[i].Account || p.Side != want[i].Side || !p.Amount.Equal(want[i].Amount) {
			t.Fatalf("posting %d = %+v, want %+v", i, p, want[i])
		}
	}
	funds, err := w.db.ListFunds(w.ctx)
	if err != nil || len(funds) != 1 || !funds[0].Balance.Equal(dec("5000000")) || !funds[0].Appropriated.Equal(dec("5000000")) {
		t.Fatalf("funds = %+v, %v", funds, err)
	}
	v := w.mustVerify()
	if v.Entries != 2 || v.Postings != 4 || v.Head.Seq != 2 || !v.Debit.Equal(dec("5000000")) {
		t.Fatalf("verify = %+v", v)
	}

	t.Run("RetryReturnsTheSameEntry", func(t *testing.T) {
		err := w.db.inTx(w.ctx, func(tx pgx.Tx) error {
			e, _ := ledger.Appropriation(w.prog.ID, dec("1.00"))
			e.ValueDate, e.Record = testNow, ledger.RecordRef{Type: applications.RecordAppropriation, ID: a1.ID}
			e.MakerID, e.CheckerID, e.IdempotencyKey = w.staff.ID, w.approver.ID, "appropriation/"+itoa64(a1.ID)
			got, posted, err := postEntry(w.ctx, tx, testNow, e)
			if err != nil {
				return err
			}
			if posted || got.Seq != 1 || !got.Postings[0].Amount.Equal(dec("3000000")) {
				t.Fatalf("retry posted=%v got %+v", posted, got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppropriationMakerChecker(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	a, err := w.db.RecordAppropriation(w.ctx, w.admin, AppropriationInput{ProgrammeID: w.prog.ID, Amount: dec("100.00"),
		ValueDate: testNow, Reference: "REF-1", IdempotencyKey: w.key()})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("MakerCannotApprove", func(t *testing.T) {
		_, err := w.db.ApproveAppropriation(w.ctx, w.admin, a.ID, w.key())
		wantKind(t, err, applications.Forbidden, "不能审批自己经办")
		var n int
		_ = w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE event = 'appropriation_approve' AND outcome = 'refused'`).Scan(&n)
		if n != 1 {
			t.Fatalf("refused audit rows = %d", n)
		}
	})
	t.Run("RejectNeedsAReason", func(t *testing.T) {
		_, err := w.db.RejectAppropriation(w.ctx, w.approver, a.ID, w.key(), " ")
		wantKind(t, err, applications.Invalid, "理由")
	})
	t.Run("RejectedCannotBeApproved", func(t *testing.T) {
		if _, err := w.db.RejectAppropriation(w.ctx, w.approver, a.ID, w.key(), "文号有误"); err != nil {
			t.Fatal(err)
		}
		_, err := w.db.ApproveAppropriation(w.ctx, w.approver2, a.ID, w.key())
		wantKind(t, err, applications.Conflict, "已退回")
	})
	t.Run("BadInput", func(t *testing.T) {
		for name, in := range map[string]AppropriationInput{
			"NoKey":       {ProgrammeID: w.prog.ID, Amount: dec("1"), ValueDate: testNow, Reference: "x"},
			"Zero":        {ProgrammeID: w.prog.ID, Amount: dec("0"), ValueDate: testNow, Reference: "x", IdempotencyKey: w.key()},
			"Fen":         {ProgrammeID: w.prog.ID, Amount: dec("1.001"), ValueDate: testNow, Reference: "x", IdempotencyKey: w.key()},
			"Future":      {ProgrammeID: w.prog.ID, Amount: dec("1"), ValueDate: testNow.AddDate(0, 0, 2), Reference: "x", IdempotencyKey: w.key()},
			"NoRef":       {ProgrammeID: w.prog.ID, Amount: dec("1"), ValueDate: testNow, IdempotencyKey: w.key()},
			"NoProgram":   {ProgrammeID: 999999, Amount: dec("1"), ValueDate: testNow, Reference: "x", IdempotencyKey: w.key()},
			"NoDateGiven": {ProgrammeID: w.prog.ID, Amount: dec("1"), Reference: "x", IdempotencyKey: w.key()},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := w.db.RecordAppropriation(w.ctx, w.staff, in)
				wantKind(t, err, applications.Invalid, "")
			})
		}
	})
}

// rawEntry inserts an entry and postings with plain SQL, bypassing the Go
// rules, so the database's own checks are what is tested.
func rawEntry(ctx context.Context, tx pgx.Tx, w *moneyWorld, seq int64, prev string, postings [][3]string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO ledger_entries (seq, value_date, created_at, kind, memo, record_type, record_id,
		maker_id, checker_id, idempotency_key, prev_hash, hash, hash_alg)
		VALUES ($1, '2026-11-01', now(), 'appropriation', '手工', 'test', 1, $2, $3, $4, $5, repeat('a', 64), 'sha256-v1')`,
		seq, w.staff.ID, w.approver.ID, "raw/"+itoa64(seq), prev); err != nil {
		return err
	}
	for i, p := range postings {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (entry_seq, line, account_code, scope, scope_id, side, amount)
			VALUES ($1, $2, $3, 'prog', $4, $5, $6::numeric)`, seq, i+1, p[0], w.prog.ID, p[1], p[2]); err != nil {
			return err
		}
	}
	return nil
}

func pgCode(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

// TestDatabaseRefusesBadLedgerWrites shows the database, not only Go,
// keeping the ledger balanced, insert-only and unforked.
func TestDatabaseRefusesBadLedgerWrites(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("100.00")
	head, _ := w.db.LedgerHead(w.ctx)
	commit := func(fn func(tx pgx.Tx) error) error {
		tx, err := w.db.Pool.Begin(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(w.ctx) //nolint:errcheck
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit(w.ctx)
	}
	t.Run("UnbalancedEntryRefusedAtCommit", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error {
			return rawEntry(w.ctx, tx, w, head.Seq+1, head.Hash, [][3]string{{"1002", "debit", "100.00"}, {"3001", "credit", "99.99"}})
		})
		if code, c := pgCode(err); code != "23514" || c != "ledger_entry_balanced" {
			t.Fatalf("commit err = %v (%s %s), want check violation ledger_entry_balanced", err, code, c)
		}
		wantKind(t, mapError(err), applications.Invalid, "借贷不平衡")
	})
	t.Run("SinglePostingRefused", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error {
			return rawEntry(w.ctx, tx, w, head.Seq+1, head.Hash, [][3]string{{"1002", "debit", "100.00"}})
		})
		if _, c := pgCode(err); c != "ledger_entry_balanced" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("EntryWithoutPostingsRefused", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error { return rawEntry(w.ctx, tx, w, head.Seq+1, head.Hash, nil) })
		if _, c := pgCode(err); c != "ledger_entry_balanced" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("PostingAddedToAnOldEntryRefused", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error {
			_, err := tx.Exec(w.ctx, `INSERT INTO ledger_postings (entry_seq, line, account_code, scope, scope_id, side, amount)
				VALUES (1, 3, '1002', 'prog', $1, 'debit', 5)`, w.prog.ID)
			return err
		})
		if _, c := pgCode(err); c != "ledger_entry_balanced" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ForkRefused", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error {
			return rawEntry(w.ctx, tx, w, head.Seq+1, strings.Repeat("b", 64), [][3]string{{"1002", "debit", "1"}, {"3001", "credit", "1"}})
		})
		if _, c := pgCode(err); c != "ledger_entries_chain" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("GapRefused", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error {
			return rawEntry(w.ctx, tx, w, head.Seq+2, head.Hash, [][3]string{{"1002", "debit", "1"}, {"3001", "credit", "1"}})
		})
		if _, c := pgCode(err); c != "ledger_entries_gapless" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("AccountOutsideTheChartRefused", func(t *testing.T) {
		err := commit(func(tx pgx.Tx) error {
			return rawEntry(w.ctx, tx, w, head.Seq+1, head.Hash, [][3]string{{"1221", "debit", "1"}, {"3001", "credit", "1"}})
		})
		if _, c := pgCode(err); c != "ledger_postings_account_check" {
			t.Fatalf("err = %v", err)
		}
	})
	for name, sql := range map[string]string{
		"UpdatePostingRefused":  `UPDATE ledger_postings SET amount = amount + 1 WHERE entry_seq = 1`,
		"DeletePostingRefused":  `DELETE FROM ledger_postings WHERE entry_seq = 1`,
		"UpdateEntryRefused":    `UPDATE ledger_entries SET memo = '改' WHERE seq = 1`,
		"DeleteEntryRefused":    `DELETE FROM ledger_entries WHERE seq = 1`,
		"TruncateRefused":       `TRUNCATE ledger_postings`,
		"ApprovedRecordIsFinal": `UPDATE appropriations SET amount = amount + 1`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.db.Pool.Exec(w.ctx, sql)
			if code, _ := pgCode(err); code != "42501" {
				t.Fatalf("%s: err = %v, want insufficient_privilege", sql, err)
			}
		})
	}
	w.mustVerify()
}

// TestVerifyCatchesTampering changes a posting as the table owner, who can
// switch the insert-only trigger off, and shows verification naming the
// entry.
func TestVerifyCatchesTampering(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("100.00")
	w.fund("200.00")
	w.fund("300.00")
	w.mustVerify()
	for _, sql := range []string{
		`ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only`,
		`UPDATE ledger_postings SET amount = 2000.00 WHERE entry_seq = 2 AND line = 1`,
		`ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_append_only`,
	} {
		if _, err := w.db.Pool.Exec(w.ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	v, err := w.db.VerifyLedger(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || v.FirstBad != 2 || !strings.Contains(v.Problem, "第 2 号凭证") {
		t.Fatalf("verify after tampering = %+v", v)
	}
	t.Logf("verify: %s", v.Problem)

	// Deleting an entry's postings is caught too (the LEFT JOIN keeps the
	// bare entry in the stream).
	w2 := newMoneyWorld(t)
	w2.fund("100.00")
	w2.fund("200.00")
	for _, sql := range []string{
		`ALTER TABLE ledger_postings DISABLE TRIGGER ledger_postings_append_only`,
		`DELETE FROM ledger_postings WHERE entry_seq = 2`,
		`ALTER TABLE ledger_postings ENABLE TRIGGER ledger_postings_append_only`,
	} {
		if _, err := w2.db.Pool.Exec(w2.ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	v, err = w2.db.VerifyLedger(w2.ctx)
	if err != nil || v.OK || v.FirstBad != 2 {
		t.Fatalf("verify after deleting postings = %+v, %v", v, err)
	}
}

func TestVerifyCatchesBalanceDrift(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("100.00")
	if _, err := w.db.Pool.Exec(w.ctx, `UPDATE programme_funds SET balance = balance + 1`); err != nil {
		t.Fatal(err)
	}
	v, err := w.db.VerifyLedger(w.ctx)
	if err != nil || v.OK || !strings.Contains(v.Problem, "专项资金余额") {
		t.Fatalf("verify = %+v, %v", v, err)
	}
}

// The running totals the dashboard reads (migration 000010) follow every
// posting (reversals, counted under the kind they reverse, are covered by
// the reversal tests' verify), verify catches a total that no longer
// matches the postings, and rebuilding repairs it.
func TestLedgerTotalsFollowPostings(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("5000000.00")
	app := w.contract("2000000.00")
	d, err := w.record(app, 1, "1000000.00", "PZ-T01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.ApproveDisbursement(w.ctx, w.approver, d.ID, w.key()); err != nil {
		t.Fatal(err)
	}
	total := func(code, kind string) string {
		var net string
		err := w.db.Pool.QueryRow(w.ctx, `SELECT COALESCE(sum(net), 0)::text FROM ledger_totals
			WHERE programme_id = $1 AND account_code = $2 AND kind = $3`, w.prog.ID, code, kind).Scan(&net)
		if err != nil {
			t.Fatal(err)
		}
		return net
	}
	for _, c := range []struct{ code, kind, want string }{
		{"1002", "appropriation", "5000000.00"},
		{"1002", "disbursement", "-1000000.00"},
		{"1221", "disbursement", "1000000.00"},
	} {
		if got := total(c.code, c.kind); got != c.want {
			t.Fatalf("total %s %s = %s, want %s", c.code, c.kind, got, c.want)
		}
	}
	w.mustVerify()
	if _, err := w.db.Pool.Exec(w.ctx, `UPDATE ledger_totals SET net = net + 0.01 WHERE account_code = '1221'`); err != nil {
		t.Fatal(err)
	}
	v, err := w.db.VerifyLedger(w.ctx)
	if err != nil || v.OK || !strings.Contains(v.Problem, "台账汇总与分录不符") || !strings.Contains(v.Problem, "科目 1221、拨付类") ||
		!strings.Contains(v.Problem, "rebuild-totals") {
		t.Fatalf("verify after changing a total = %+v, %v", v, err)
	}
	if n, err := w.db.RebuildLedgerTotals(w.ctx, w.staff); err != nil || n < 3 {
		t.Fatalf("rebuild: %d rows, %v", n, err)
	}
	w.mustVerify()
}

// The bulk path (COPY, used by `ledger synthetic` and the benchmarks)
// feeds the running totals like single entries do, after real entries.
func TestSyntheticLedgerVerifies(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("5000000.00")
	app := w.contract("2000000.00")
	if err := w.db.LoadSyntheticLedger(w.ctx, SyntheticLedgerInput{ProgrammeID: w.prog.ID, Projects: []int64{app},
		MakerID: w.staff.ID, CheckerID: w.approver.ID, Postings: 200, ValueDate: testNow}); err != nil {
		t.Fatal(err)
	}
	w.mustVerify()
	var disbursed string
	if err := w.db.Pool.QueryRow(w.ctx, `SELECT net::text FROM ledger_totals
		WHERE programme_id = $1 AND account_code = '1221' AND kind = 'disbursement'`, w.prog.ID).Scan(&disbursed); err != nil ||
		disbursed != "50000.00" {
		t.Fatalf("1221 disbursement total %q, %v; want 50 synthetic disbursements of 1,000.00", disbursed, err)
	}
}

func TestLedgerViews(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	w.fund("5000000.00")
	app := w.contract("2000000.00")
	d, err := w.record(app, 1, "1000000.00", "PZ-001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.ApproveDisbursement(w.ctx, w.approver, d.ID, w.key()); err != nil {
		t.Fatal(err)
	}
	// value dates: appropriation 20 days ago (11-05), disbursement yesterday (11-24)

	t.Run("JournalFilters", func(t *testing.T) {
		for name, c := range map[string]struct {
			f    JournalFilter
			want []int64
		}{
			"All":         {JournalFilter{}, []int64{1, 2}},
			"Programme":   {JournalFilter{ProgrammeID: w.prog.ID}, []int64{1, 2}},
			"OtherProg":   {JournalFilter{ProgrammeID: w.prog.ID + 100}, nil},
			"Project":     {JournalFilter{ApplicationID: app}, []int64{2}},
			"AccountCode": {JournalFilter{Account: "3001"}, []int64{1}},
			"SubAccount":  {JournalFilter{Account: "1221/app/" + itoa64(app)}, []int64{2}},
			"Period":      {JournalFilter{From: testNow.AddDate(0, 0, -2), To: testNow}, []int64{2}},
			"EmptyPeriod": {JournalFilter{From: testNow.AddDate(-1, 0, 0), To: testNow.AddDate(-1, 0, 1)}, nil},
			"AfterKeyset": {JournalFilter{AfterSeq: 1}, []int64{2}},
		} {
			t.Run(name, func(t *testing.T) {
				page, err := w.db.Journal(w.ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, e := range page.Entries {
					got = append(got, e.Entry.Seq)
					if len(e.Entry.Postings) != 2 {
						t.Fatalf("entry %d has %d postings", e.Entry.Seq, len(e.Entry.Postings))
					}
				}
				if len(got) != len(c.want) || (len(got) > 0 && got[len(got)-1] != c.want[len(c.want)-1]) {
					t.Fatalf("seqs = %v, want %v", got, c.want)
				}
			})
		}
		_, err := w.db.Journal(w.ctx, JournalFilter{Account: "9999"})
		wantKind(t, err, applications.Invalid, "科目")
		page, _ := w.db.Journal(w.ctx, JournalFilter{Limit: 1})
		if page.NextSeq != 1 || len(page.Entries) != 1 || page.Head.Seq != 2 {
			t.Fatalf("paging: %+v", page)
		}
	})
	t.Run("TrialBalanceAtADate", func(t *testing.T) {
		tb, head, err := w.db.TrialBalance(w.ctx, TrialFilter{AsOf: testNow.AddDate(0, 0, -10)})
		if err != nil || head.Seq != 2 {
			t.Fatal(err, head)
		}
		if b := tb.Lookup(ledger.ProgrammeAccount(ledger.CodeFundBank, w.prog.ID)); !b.Net().Equal(dec("5000000")) {
			t.Fatalf("1002 ten days ago = %s", b.Net())
		}
		tb, _, _ = w.db.TrialBalance(w.ctx, TrialFilter{AsOf: testNow})
		if b := tb.Lookup(ledger.ProgrammeAccount(ledger.CodeFundBank, w.prog.ID)); !b.Net().Equal(dec("4000000")) {
			t.Fatalf("1002 today = %s", b.Net())
		}
		if err := tb.Check(); err != nil || len(tb.Lines()) != 3 {
			t.Fatalf("lines %d, %v", len(tb.Lines()), err)
		}
		tb, _, _ = w.db.TrialBalance(w.ctx, TrialFilter{AsOf: testNow.AddDate(-1, 0, 0)})
		if len(tb.Lines()) != 0 {
			t.Fatal("a year ago the ledger was empty")
		}
	})
	t.Run("AccountLedger", func(t *testing.T) {
		page, err := w.db.AccountLedger(w.ctx, AccountFilter{Code: ledger.CodeFundBank, Scope: ledger.ScopeProgramme, ScopeID: w.prog.ID})
		if err != nil || len(page.Lines) != 2 || !page.Lines[1].Balance.Equal(dec("4000000")) {
			t.Fatalf("account ledger %+v %v", page, err)
		}
		page, _ = w.db.AccountLedger(w.ctx, AccountFilter{Code: ledger.CodeFundBank, From: testNow.AddDate(0, 0, -2)})
		if !page.Opening.Equal(dec("5000000")) || len(page.Lines) != 1 || !page.Lines[0].Balance.Equal(dec("4000000")) {
			t.Fatalf("from yesterday: %+v", page)
		}
		first, _ := w.db.AccountLedger(w.ctx, AccountFilter{Code: ledger.CodeFundBank, Limit: 1})
		second, _ := w.db.AccountLedger(w.ctx, AccountFilter{Code: ledger.CodeFundBank, Limit: 1, After: first.Next})
		if first.Next.IsZero() || !second.Carry.Equal(dec("5000000")) || len(second.Lines) != 1 || !second.Next.IsZero() {
			t.Fatalf("paging: %+v then %+v", first, second)
		}
	})
	t.Run("Register", func(t *testing.T) {
		page, err := w.db.Register(w.ctx, RegisterFilter{})
		if err != nil || len(page.Rows) != 1 {
			t.Fatal(err, page)
		}
		r := page.Rows[0]
		if r.ApplicationID != app || !r.Approved.Decimal.Equal(dec("2000000")) || !r.Disbursed.Equal(dec("1000000")) ||
			!r.Converted.IsZero() || !r.Outstanding.Equal(dec("1000000")) || r.State != applications.StateFunded {
			t.Fatalf("register row %+v", r)
		}
		page, _ = w.db.Register(w.ctx, RegisterFilter{AsOf: testNow.AddDate(0, 0, -10)})
		if !page.Rows[0].Disbursed.IsZero() {
			t.Fatalf("register ten days ago: %+v", page.Rows[0])
		}
	})
	t.Run("ExportsStream", func(t *testing.T) {
		var buf bytes.Buffer
		rw, _ := ledger.NewRowWriter(ledger.FormatCSV, &buf, ledger.JournalTable)
		row := make([]ledger.Value, 0, 16)
		n := 0
		head, err := w.db.ExportJournal(w.ctx, JournalFilter{}, func(e *ledger.Entry, p ledger.Posting) error {
			n++
			row = ledger.AppendJournalRow(row[:0], e, p)
			return rw.WriteRow(row...)
		})
		if err != nil || n != 4 || head.Seq != 2 {
			t.Fatal(err, n, head)
		}
		if err := rw.Close(head); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "1221/app/"+itoa64(app)) || !strings.Contains(buf.String(), ledger.CSVFooterPrefix+"2 ") {
			t.Fatalf("csv:\n%s", buf.String())
		}
		n = 0
		_, err = w.db.ExportJournal(w.ctx, JournalFilter{From: testNow.AddDate(1, 0, 0)}, func(*ledger.Entry, ledger.Posting) error { n++; return nil })
		if err != nil || n != 0 {
			t.Fatal("empty period", err, n)
		}
		var lines int
		_, err = w.db.ExportAccountLedger(w.ctx, AccountFilter{Code: ledger.CodeInvested},
			func(ledger.Account, decimal.Decimal) error { return nil },
			func(l *AccountLine) error { lines++; return nil })
		if err != nil || lines != 1 {
			t.Fatal(err, lines)
		}
		var regs int
		if _, err := w.db.ExportRegister(w.ctx, RegisterFilter{}, func(*RegisterRow) error { regs++; return nil }); err != nil || regs != 1 {
			t.Fatal(err, regs)
		}
		var audits int
		ah, err := w.db.ExportAudit(w.ctx, AuditExportFilter{Event: "disbursement_approved"}, func(r *audit.Record) error { audits++; return nil })
		if err != nil || audits != 1 || ah.Seq == 0 {
			t.Fatal(err, audits, ah)
		}
	})
	w.mustVerify()
}

// TestRawDecodersMatchPgx checks the export's wire decoders against pgx's
// own decoding, value by value.
func TestRawDecodersMatchPgx(t *testing.T) {
	t.Parallel()
	db := New(pgtest.NewDB(t))
	ctx := testContext(t)
	amounts := []string{"0.00", "0.01", "0.10", "1.00", "9999.99", "10000.00", "10000.01", "100000.50", "1000000.00",
		"-0.01", "-1234567.89", "99999999999999.99", "-99999999999999.99", "12345678.9", "7"}
	rows, err := db.Pool.Query(ctx, `SELECT a::numeric(18,2), a::numeric, '2026-11-25'::date + n::int, now() + n * interval '1 day 1 microsecond'
		FROM unnest($1::text[]) WITH ORDINALITY AS t(a, n)`, amounts)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var dec journalDecoder
	for rows.Next() {
		var want, wantRaw decimal.Decimal
		var day, at time.Time
		if err := rows.Scan(&want, &wantRaw, &day, &at); err != nil {
			t.Fatal(err)
		}
		v := rows.RawValues()
		for i, w := range []decimal.Decimal{want, wantRaw} {
			got, err := dec.numeric(v[i])
			if err != nil || !got.Equal(w) || got.StringFixed(2) != w.StringFixed(2) {
				t.Errorf("numeric %s: got %s, %v", w, got, err)
			}
		}
		if got, err := dec.date(v[2]); err != nil || !got.Equal(day) {
			t.Errorf("date %s: got %s, %v", day, got, err)
		}
		if got, err := dec.timestamptz(v[3]); err != nil || !got.Equal(at) {
			t.Errorf("timestamptz %s: got %s, %v", at, got, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestReversalEntry corrects an entry the only way the ledger allows: a
// reversing entry that names it, posted with the balances it undoes. It
// can be made once.
func TestReversalEntry(t *testing.T) {
	t.Parallel()
	w := newMoneyWorld(t)
	a := w.fund("100.00")
	reverse := func(key string) error {
		return w.db.inTx(w.ctx, func(tx pgx.Tx) error {
			orig, err := findEntry(w.ctx, tx, a.EntrySeq)
			if err != nil {
				return err
			}
			e, err := ledger.Reverse(orig)
			if err != nil {
				return err
			}
			e.ValueDate, e.MakerID, e.CheckerID, e.IdempotencyKey = testNow, w.staff.ID, w.approver.ID, key
			if _, _, err := postEntry(w.ctx, tx, testNow, e); err != nil {
				return err
			}
			_, err = tx.Exec(w.ctx, `UPDATE programme_funds SET balance = balance - 100, appropriated = appropriated - 100
				WHERE programme_id = $1`, w.prog.ID)
			return err
		})
	}
	if err := reverse("reversal/1"); err != nil {
		t.Fatal(err)
	}
	e, err := w.db.FindEntry(w.ctx, 2)
	if err != nil || e.Entry.Kind != ledger.KindReversal || e.Entry.Reverses != 1 || e.Entry.Postings[0].Side != ledger.Credit {
		t.Fatalf("reversal = %+v, %v", e, err)
	}
	if orig, _ := w.db.FindEntry(w.ctx, 1); orig.ReversedBy != 2 {
		t.Fatalf("original does not show its reversal: %+v", orig)
	}
	if err := reverse("reversal/2"); err == nil {
		t.Fatal("an entry was reversed twice")
	} else if _, c := pgCode(err); c != "ledger_entries_reverses_key" {
		t.Fatalf("second reversal: %v", err)
	}
	tb, _, _ := w.db.TrialBalance(w.ctx, TrialFilter{})
	if b := tb.Lookup(ledger.ProgrammeAccount(ledger.CodeFundBank, w.prog.ID)); !b.Net().IsZero() {
		t.Fatalf("1002 after reversal = %s", b.Net())
	}
	// Posted straight into the ledger, not through an approved request
	// (reversals_test.go covers that path): verify names it.
	if v, err := w.db.VerifyLedger(w.ctx); err != nil || v.OK || v.FirstBad != 2 {
		t.Fatalf("verify of a reversal without an approved request = %+v, %v", v, err)
	}
}
