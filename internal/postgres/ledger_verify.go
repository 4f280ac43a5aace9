package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/audit"
	"ite/internal/blob"
	"ite/internal/ledger"
)

// LedgerVerification is the result of VerifyLedger.
type LedgerVerification struct {
	Entries  int64 // entries that verified
	Postings int64
	Head     ledger.ChainHead // the head after the last entry that verified
	Debit    decimal.Decimal  // Σ debits over the whole ledger
	Credit   decimal.Decimal
	OK       bool
	// FirstBad is the sequence number of the first bad entry (0 when the
	// chain is intact, or when the fault is in a balance, not an entry).
	FirstBad int64
	Problem  string // Chinese; "" when OK
}

// VerifyLedger checks the whole ledger in one snapshot, streaming it from
// a cursor so memory stays flat: every entry balances and follows the
// rules of internal/ledger, the sequence has no gap and the hash chain
// recomputes; Σ debits = Σ credits; and the balances the money rules keep
// (each programme's fund, each project's disbursed total, each approved
// appropriation and disbursement, and each reversal) equal what the
// postings say. It reports the first problem; err is for a failure to
// read, not for a bad ledger.
func (db *DB) VerifyLedger(ctx context.Context) (_ LedgerVerification, err error) {
	defer wrap(&err, "VerifyLedger")
	v := LedgerVerification{Debit: decimal.Zero, Credit: decimal.Zero}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		if err := verifyChain(ctx, tx, &v); err != nil || !v.OK {
			return err
		}
		if err := verifyBalances(ctx, tx, &v); err != nil || !v.OK {
			return err
		}
		return verifyPeriods(ctx, tx, &v)
	})
	return v, err
}

func verifyChain(ctx context.Context, tx pgx.Tx, v *LedgerVerification) error {
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+`, p.line, p.account_code, p.scope, p.scope_id, p.side, p.amount
		FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_seq = e.seq ORDER BY e.seq, p.line`)
	if err != nil {
		return err
	}
	defer rows.Close()
	ver := ledger.NewVerifier()
	tb := ledger.NewTrialBalance()
	var cur ledger.Entry
	have := false
	fail := func(seq int64, reason string) {
		v.OK, v.FirstBad, v.Problem = false, seq, reason
		// Entries and Head say how far the ledger is intact: the entries
		// that verified before the first bad one (not 0, as when only a
		// clean run set them).
		v.Entries, v.Head = ver.Count(), ver.Head()
		if seq > 0 && v.Entries >= seq {
			v.Entries = seq - 1 // seq chained but broke a later check
		}
	}
	flush := func() bool {
		if !have {
			return true
		}
		if err := ver.Add(cur); err != nil {
			var ce *ledger.ChainError
			if errors.As(err, &ce) {
				fail(ce.Seq, ce.Error())
			} else {
				fail(cur.Seq, err.Error())
			}
			return false
		}
		for _, p := range cur.Postings {
			if err := tb.Add(p); err != nil {
				fail(cur.Seq, fmt.Sprintf("第 %d 号凭证：%s", cur.Seq, err.Error()))
				return false
			}
			v.Postings++
		}
		return true
	}
	var next ledger.Entry
	var line *int16
	var code, scope, side *string
	var id *int64
	var amount decimal.Decimal
	for rows.Next() {
		next.Postings = nil
		var kind string
		if err := rows.Scan(&next.Seq, &next.ValueDate, &next.CreatedAt, &kind, &next.Memo, &next.Record.Type,
			&next.Record.ID, &next.MakerID, &next.CheckerID, &next.Reverses, &next.IdempotencyKey, &next.PrevHash,
			&next.Hash, &next.HashAlg, &line, &code, &scope, &id, &side, nullNumericInto{&amount}); err != nil {
			return err
		}
		next.Kind = ledger.Kind(kind)
		if !have || next.Seq != cur.Seq {
			if !flush() {
				return nil
			}
			cur, have = next, true
			cur.Postings = make([]ledger.Posting, 0, 4)
		}
		if line != nil {
			if int(*line) != len(cur.Postings)+1 {
				fail(cur.Seq, fmt.Sprintf("第 %d 号凭证：分录行号不连续（缺少第 %d 行）", cur.Seq, len(cur.Postings)+1))
				return nil
			}
			cur.Postings = append(cur.Postings, ledger.Posting{
				Account: ledger.AccountKey{Code: ledger.Code(*code), Scope: ledger.Scope(*scope), ID: *id},
				Side:    ledger.Side(*side), Amount: amount})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !flush() {
		return nil
	}
	v.Entries, v.Head = ver.Count(), ver.Head()
	v.Debit, v.Credit = tb.Totals()
	if err := tb.Check(); err != nil {
		fail(0, err.Error())
		return nil
	}
	var total int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM ledger_postings`).Scan(&total); err != nil {
		return err
	}
	if total != v.Postings {
		fail(0, fmt.Sprintf("分录表有 %d 条分录，其中 %d 条不属于任何凭证", total, total-v.Postings))
		return nil
	}
	v.OK = true
	return nil
}

// totalsCheck names the check of the running totals (migration 000010),
// which has its own message.
const totalsCheck = "台账汇总"

// balanceChecks compare what the money rules keep with the postings; each
// returns one row describing the first mismatch, or none.
var balanceChecks = []struct {
	name string
	sql  string
}{
	{"专项资金余额", `
		SELECT f.programme_id, f.balance::text, COALESCE(s.net, 0)::text FROM programme_funds f LEFT JOIN (
			SELECT p.scope_id, sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END) AS net
			FROM ledger_postings p WHERE p.account_code = '1002' GROUP BY p.scope_id) s ON s.scope_id = f.programme_id
		WHERE f.balance <> COALESCE(s.net, 0) ORDER BY f.programme_id LIMIT 1`},
	{"专项资金财政拨入累计", `
		SELECT f.programme_id, f.appropriated::text, COALESCE(s.net, 0)::text FROM programme_funds f LEFT JOIN (
			SELECT p.scope_id, sum(CASE WHEN p.side = 'credit' THEN p.amount ELSE -p.amount END) AS net
			FROM ledger_postings p WHERE p.account_code = '3001' GROUP BY p.scope_id) s ON s.scope_id = f.programme_id
		WHERE f.appropriated <> COALESCE(s.net, 0) ORDER BY f.programme_id LIMIT 1`},
	{"专项资金拨付累计", `
		SELECT f.programme_id, f.disbursed::text, COALESCE(s.net, 0)::text FROM programme_funds f LEFT JOIN (
			SELECT a.programme_id, sum(CASE WHEN e.kind = 'reversal' THEN -p.amount ELSE p.amount END) AS net
			FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq
				LEFT JOIN ledger_entries o ON o.seq = e.reverses JOIN applications a ON a.id = p.scope_id
			WHERE p.account_code = '1221' AND COALESCE(o.kind, e.kind) = 'disbursement'
			GROUP BY a.programme_id) s ON s.programme_id = f.programme_id
		WHERE f.disbursed <> COALESCE(s.net, 0) ORDER BY f.programme_id LIMIT 1`},
	{"项目累计拨付", `
		SELECT a.id, a.disbursed::text, COALESCE(s.net, 0)::text FROM applications a LEFT JOIN (
			SELECT p.scope_id, sum(CASE WHEN e.kind = 'reversal' THEN -p.amount ELSE p.amount END) AS net
			FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq
				LEFT JOIN ledger_entries o ON o.seq = e.reverses
			WHERE p.account_code = '1221' AND COALESCE(o.kind, e.kind) = 'disbursement'
			GROUP BY p.scope_id) s ON s.scope_id = a.id
		WHERE a.disbursed <> COALESCE(s.net, 0) ORDER BY a.id LIMIT 1`},
	{"已审批拨付与凭证", `
		SELECT d.id, d.amount::text, COALESCE((SELECT sum(amount) FROM ledger_postings q
			WHERE q.entry_seq = e.seq AND q.side = 'debit'), 0)::text
		FROM disbursements d LEFT JOIN ledger_entries e ON e.seq = d.entry_seq
		WHERE d.status IN ('approved','reversed') AND (e.seq IS NULL OR e.record_type <> 'disbursement' OR e.record_id <> d.id
			OR d.amount <> (SELECT sum(amount) FROM ledger_postings q WHERE q.entry_seq = e.seq AND q.side = 'debit'))
		ORDER BY d.id LIMIT 1`},
	{"已审批财政拨入与凭证", `
		SELECT x.id, x.amount::text, COALESCE((SELECT sum(amount) FROM ledger_postings q
			WHERE q.entry_seq = e.seq AND q.side = 'debit'), 0)::text
		FROM appropriations x LEFT JOIN ledger_entries e ON e.seq = x.entry_seq
		WHERE x.status IN ('approved','reversed') AND (e.seq IS NULL OR e.record_type <> 'appropriation' OR e.record_id <> x.id
			OR x.amount <> (SELECT sum(amount) FROM ledger_postings q WHERE q.entry_seq = e.seq AND q.side = 'debit'))
		ORDER BY x.id LIMIT 1`},
	{"凭证与业务单据", `
		SELECT e.seq, e.record_type, e.record_id::text FROM ledger_entries e
		WHERE (e.record_type = 'disbursement' AND e.kind = 'disbursement' AND NOT EXISTS (
				SELECT 1 FROM disbursements d WHERE d.id = e.record_id AND d.entry_seq = e.seq AND (d.status = 'approved'
					OR d.status = 'reversed' AND EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses = e.seq))))
		   OR (e.record_type = 'appropriation' AND e.kind = 'appropriation' AND NOT EXISTS (
				SELECT 1 FROM appropriations x WHERE x.id = e.record_id AND x.entry_seq = e.seq AND (x.status = 'approved'
					OR x.status = 'reversed' AND EXISTS (SELECT 1 FROM ledger_entries r WHERE r.reverses = e.seq))))
		   -- a reversing entry, and only one, links to the approved request for it
		   OR ((e.record_type = 'reversal' OR e.kind = 'reversal') AND NOT EXISTS (
				SELECT 1 FROM reversals v WHERE v.id = e.record_id AND v.entry_seq = e.seq AND v.status = 'approved'
					AND v.original_seq = e.reverses))
		ORDER BY e.seq LIMIT 1`},
	// Last: the dashboard's running totals (migration 000010).
	{totalsCheck, `
		SELECT COALESCE(t.programme_id, p.programme_id),
		       COALESCE(t.account_code, p.account_code) || '|' || COALESCE(t.kind, p.kind) || '|' || COALESCE(t.net, 0)::text,
		       COALESCE(p.net, 0)::text
		FROM ledger_totals t FULL JOIN ledger_totals_from_postings p
		  ON p.programme_id = t.programme_id AND p.account_code = t.account_code AND p.kind = t.kind
		WHERE COALESCE(t.net, 0) <> COALESCE(p.net, 0)
		ORDER BY 1, 2 LIMIT 1`},
}

func verifyBalances(ctx context.Context, tx pgx.Tx, v *LedgerVerification) error {
	for _, c := range balanceChecks {
		var id int64
		var kept, posted string
		err := tx.QueryRow(ctx, c.sql).Scan(&id, &kept, &posted)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		v.OK = false
		if c.name == totalsCheck {
			code, rest, _ := strings.Cut(kept, "|")
			kind, total, _ := strings.Cut(rest, "|")
			v.Problem = fmt.Sprintf("台账汇总与分录不符：申报批次 %d、科目 %s、%s类分录的汇总为 %s，分录合计为 %s。"+
				"看板的资金循环读取该汇总；请运行 server ledger rebuild-totals 按分录重建，并查明汇总被改动的原因。",
				id, code, ledger.Kind(kind).Label(), total, posted)
		} else if c.name == "凭证与业务单据" {
			v.FirstBad = id
			v.Entries = min(v.Entries, id-1)
			v.Problem = fmt.Sprintf("第 %d 号凭证：关联的业务单据 %s#%s 不存在、未审批或状态与凭证不符", id, kept, posted)
		} else {
			v.Problem = fmt.Sprintf("%s与分录不符（编号 %d）：业务表记为 %s，分录合计为 %s", c.name, id, kept, posted)
		}
		return nil
	}
	return nil
}

// BlobVerification is the result of VerifyBlobs.
type BlobVerification struct {
	Checked int64
	Bytes   int64
	// Problems lists the documents whose blob is missing, unreadable or
	// does not hash to the recorded SHA-256, at most 100 of them.
	Problems []string
	Failed   int64
}

// VerifyBlobs re-reads every document blob, decrypting encrypted ones with
// masterKey, and compares its size and SHA-256 with the documents row: the
// blob store of a restored backup must hold exactly what the database
// recorded. Rows stream from a cursor; each blob streams through the hash.
func (db *DB) VerifyBlobs(ctx context.Context, store blob.Store, masterKey []byte) (_ BlobVerification, err error) {
	defer wrap(&err, "VerifyBlobs")
	var v BlobVerification
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, blob_key, size_bytes, sha256, encrypted, enc_alg, wrapped_key
			FROM documents ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var m blob.Meta
			var key string
			if err := rows.Scan(&id, &key, &m.Size, &m.SHA256, &m.Encrypted, &m.Algorithm, &m.WrappedKey); err != nil {
				return err
			}
			v.Checked++
			n, err := hashBlob(ctx, store, key, m, masterKey)
			v.Bytes += n
			if err != nil {
				v.Failed++
				if len(v.Problems) < 100 {
					v.Problems = append(v.Problems, fmt.Sprintf("文件 %d（%s）：%v", id, key, err))
				}
			}
		}
		return rows.Err()
	})
	return v, err
}

func hashBlob(ctx context.Context, store blob.Store, key string, m blob.Meta, masterKey []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	rc, err := blob.OpenDecrypted(ctx, store, key, m, masterKey)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	// OpenDecrypted compares size and SHA-256 when the stream ends.
	return io.Copy(io.Discard, rc)
}

// RebuildLedgerTotals recomputes the running totals (migration 000010)
// from the postings, for when `ledger verify` reports them out of step
// (say, after a data-only restore on top of a migrated schema). It holds
// the ledger chain lock, so no entry is posted meanwhile, and writes an
// audit row; it returns the number of total rows.
func (db *DB) RebuildLedgerTotals(ctx context.Context, actor audit.Actor) (_ int64, err error) {
	defer wrap(&err, "RebuildLedgerTotals")
	var n int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ledgerChainLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ledger_totals`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO ledger_totals (programme_id, account_code, kind, net)
			SELECT programme_id, account_code, kind, net FROM ledger_totals_from_postings`)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "ledger_totals_rebuilt", Outcome: audit.Success,
			Detail: map[string]any{"rows": n}})
	})
	return n, err
}
