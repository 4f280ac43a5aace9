package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
)

// ledgerChainLock is the advisory lock key that serialises ledger appends:
// from reading the chain head until commit only one transaction may hold
// it, so the chain never forks and the sequence never skips a number.
const ledgerChainLock = 7_301_002

// ledgerConstraintMessages are the user-facing messages for the money and
// ledger constraints of migration 000004. They catch what the Go checks
// miss: races, and anything that writes to the tables some other way.
var ledgerConstraintMessages = map[string]string{
	"ledger_entry_balanced":              "凭证借贷不平衡，数据库拒绝记账。",
	"ledger_entries_chain":               "台账哈希链校验失败，数据库拒绝记账。",
	"ledger_entries_gapless":             "台账凭证序号不连续，数据库拒绝记账。",
	"ledger_entries_maker_checker":       "经办人与审批人不能是同一人。",
	"ledger_postings_amount_check":       "分录金额必须大于零。",
	"ledger_postings_account_check":      "科目不在科目表中。",
	"programme_funds_balance_check":      "专项资金余额不足，不能拨付。",
	"applications_disbursed_check":       "累计拨付金额不能超过批准金额。",
	"disbursements_maker_checker":        "经办人与审批人不能是同一人。",
	"appropriations_maker_checker":       "经办人与审批人不能是同一人。",
	"disbursements_reference_key":        "该凭证号/银行流水号已用于另一笔拨付，请核对。",
	"disbursements_idempotency_key":      "该表单已提交过，请勿重复提交。",
	"appropriations_idempotency_key":     "该表单已提交过，请勿重复提交。",
	"milestone_confirmations_key":        "该笔拨付的里程碑已确认过。",
	"ledger_entries_idempotency_key":     "该业务已记账，请勿重复提交。",
	"disbursements_comment_check":        "退回时须填写理由。",
	"appropriations_comment_check":       "退回时须填写理由。",
	"milestone_confirmations_note_check": "请填写里程碑确认说明。",
	"ledger_entries_period_closed":       "该期间已结账，更正请记入当前未结账期间。",
	"ledger_periods_pkey":                "该期间已结账。",
	"ledger_periods_balanced":            "试算不平衡，不能结账。",
}

// ledgerHead reads the chain head inside tx; the genesis head when the
// ledger is empty.
func ledgerHead(ctx context.Context, q pgx.Tx) (ledger.ChainHead, error) {
	return scanLedgerHead(q.QueryRow(ctx, ledgerHeadSQL))
}

const ledgerHeadSQL = `SELECT seq, hash, hash_alg FROM ledger_entries ORDER BY seq DESC LIMIT 1`

// scanLedgerHead reads ledgerHeadSQL's row: the genesis head when the
// ledger is empty.
func scanLedgerHead(row pgx.Row) (ledger.ChainHead, error) {
	h := ledger.Genesis()
	err := row.Scan(&h.Seq, &h.Hash, &h.Algorithm)
	if errors.Is(err, pgx.ErrNoRows) {
		return ledger.Genesis(), nil
	}
	return h, err
}

// LedgerHead returns the current chain head.
func (db *DB) LedgerHead(ctx context.Context) (_ ledger.ChainHead, err error) {
	defer wrap(&err, "LedgerHead")
	var h ledger.ChainHead
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		h, err = ledgerHead(ctx, tx)
		return err
	})
	return h, mapError(err)
}

// postEntry appends e to the ledger inside tx: it takes the chain lock,
// returns the entry already posted under e's idempotency key if there is
// one (posted = false: a retry posts nothing), and otherwise reads the
// head, seals e after it (sequence, previous hash, and hash under the
// recorded CRYPTO's algorithm) and inserts the entry and its postings. The
// lock is held until tx ends, so the business change, its entry and its
// audit row commit together or not at all; the database checks the balance
// again at commit.
func postEntry(ctx context.Context, tx pgx.Tx, now time.Time, e ledger.Entry) (out ledger.Entry, posted bool, err error) {
	alg, err := lockChain(ctx, tx, ledgerChainLock)
	if err != nil {
		return out, false, err
	}
	var seq int64
	err = tx.QueryRow(ctx, `SELECT seq FROM ledger_entries WHERE idempotency_key = $1`, e.IdempotencyKey).Scan(&seq)
	switch {
	case err == nil:
		out, err = findEntry(ctx, tx, seq)
		return out, false, err
	case !errors.Is(err, pgx.ErrNoRows):
		return out, false, err
	}
	if err := checkPeriodOpen(ctx, tx, e.ValueDate); err != nil {
		return out, false, err
	}
	head, err := ledgerHead(ctx, tx)
	if err != nil {
		return out, false, err
	}
	e.CreatedAt, e.HashAlg = now, alg
	sealed, err := ledger.Seal(head, e)
	if err != nil {
		return out, false, applications.InvalidLedger(err)
	}
	var reverses *int64
	if sealed.Reverses > 0 {
		reverses = &sealed.Reverses
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO ledger_entries (seq, value_date, created_at, kind, memo, record_type, record_id, maker_id,
			checker_id, reverses, idempotency_key, prev_hash, hash, hash_alg)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		sealed.Seq, day.Date(sealed.ValueDate), sealed.CreatedAt, string(sealed.Kind), sealed.Memo,
		sealed.Record.Type, sealed.Record.ID, sealed.MakerID, sealed.CheckerID, reverses,
		sealed.IdempotencyKey, sealed.PrevHash, sealed.Hash, sealed.HashAlg); err != nil {
		return out, false, err
	}
	n := len(sealed.Postings)
	lines, codes, scopes, ids, sides, amounts := make([]int16, n), make([]string, n), make([]string, n),
		make([]int64, n), make([]string, n), make([]string, n)
	for i, p := range sealed.Postings {
		lines[i], codes[i], scopes[i], ids[i] = int16(i+1), string(p.Account.Code), string(p.Account.Scope), p.Account.ID
		sides[i], amounts[i] = string(p.Side), p.Amount.StringFixed(2)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO ledger_postings (entry_seq, line, account_code, scope, scope_id, side, amount)
		SELECT $1, t.line, t.code, t.scope, t.id, t.side, t.amount
		FROM unnest($2::smallint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::numeric[])
			AS t(line, code, scope, id, side, amount)`,
		sealed.Seq, lines, codes, scopes, ids, sides, amounts); err != nil {
		return out, false, err
	}
	return sealed, true, nil
}

const entryColumns = `e.seq, e.value_date, e.created_at, e.kind, e.memo, e.record_type, e.record_id, e.maker_id,
	e.checker_id, COALESCE(e.reverses, 0), e.idempotency_key, e.prev_hash, e.hash, e.hash_alg`

// scanEntryInto reads entryColumns into e (postings are read separately).
func scanEntryInto(row pgx.Row, e *ledger.Entry, extra ...any) error {
	var kind string
	dst := append([]any{&e.Seq, &e.ValueDate, &e.CreatedAt, &kind, &e.Memo, &e.Record.Type, &e.Record.ID,
		&e.MakerID, &e.CheckerID, &e.Reverses, &e.IdempotencyKey, &e.PrevHash, &e.Hash, &e.HashAlg}, extra...)
	if err := row.Scan(dst...); err != nil {
		return err
	}
	e.Kind = ledger.Kind(kind)
	return nil
}

// postingRow is the scan target of one posting.
type postingRow struct {
	code, scope, side string
	id                int64
	amount            decimal.Decimal
}

func (p postingRow) posting() ledger.Posting {
	return ledger.Posting{Account: ledger.AccountKey{Code: ledger.Code(p.code), Scope: ledger.Scope(p.scope), ID: p.id},
		Side: ledger.Side(p.side), Amount: p.amount}
}

type ledgerQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// findEntry loads one entry with its postings in line order.
func findEntry(ctx context.Context, q ledgerQuerier, seq int64) (ledger.Entry, error) {
	var e ledger.Entry
	if err := scanEntryInto(q.QueryRow(ctx, `SELECT `+entryColumns+` FROM ledger_entries e WHERE e.seq = $1`, seq), &e); err != nil {
		return e, err
	}
	rows, err := q.Query(ctx, `SELECT account_code, scope, scope_id, side, amount FROM ledger_postings
		WHERE entry_seq = $1 ORDER BY line`, seq)
	if err != nil {
		return e, err
	}
	defer rows.Close()
	for rows.Next() {
		var p postingRow
		if err := rows.Scan(&p.code, &p.scope, &p.id, &p.side, numericInto{&p.amount}); err != nil {
			return e, err
		}
		e.Postings = append(e.Postings, p.posting())
	}
	return e, rows.Err()
}

// EntryDetail is one entry as the auditor's entry page shows it: the entry,
// who made and checked it, the entry that reverses it, if any, and the
// business record behind it.
type EntryDetail struct {
	Entry       ledger.Entry
	MakerName   string
	CheckerName string
	ReversedBy  int64 // seq of the reversal, 0 when none
	// RecordLink is the page of the business record ("" when none exists).
	RecordLink string
}

// FindEntry returns one entry with its postings. Errors: NotFound.
func (db *DB) FindEntry(ctx context.Context, seq int64) (_ EntryDetail, err error) {
	defer wrap(&err, "FindEntry %d", seq)
	var d EntryDetail
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if d.Entry, err = findEntry(ctx, tx, seq); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT (SELECT display_name FROM users WHERE id = $1), (SELECT display_name FROM users WHERE id = $2),
			COALESCE((SELECT seq FROM ledger_entries WHERE reverses = $3), 0)`,
			d.Entry.MakerID, d.Entry.CheckerID, seq).Scan(&d.MakerName, &d.CheckerName, &d.ReversedBy); err != nil {
			return err
		}
		d.RecordLink = RecordLink(d.Entry.Record)
		return nil
	})
	return d, mapError(err)
}

// RecordLink is the page of the business record an entry links to.
func RecordLink(r ledger.RecordRef) string {
	id := strconv.FormatInt(r.ID, 10)
	switch r.Type {
	case applications.RecordAppropriation:
		return "/ledger/appropriations/" + id
	case applications.RecordDisbursement:
		return "/disbursements/" + id
	case applications.RecordReversal:
		return "/ledger/reversals/" + id
	case "conversion":
		return "/conversions/" + id + "/certificate"
	}
	return ""
}

// RecordLabel is the Chinese name of a record type.
func RecordLabel(t string) string { return audit.ObjectLabel(t) }

// RecordText is a business record as a person reads it: "拨付 BF-12",
// "转股测算单 ZG-1", never the stored "disbursement#12".
func RecordText(r ledger.RecordRef) string {
	if r.Type == "conversion" {
		return "转股测算单 " + applications.RecordNumber(r)
	}
	return RecordLabel(r.Type) + " " + applications.RecordNumber(r)
}

// ParseRecordRef reads the stored "type#id" form back.
func ParseRecordRef(s string) (ledger.RecordRef, bool) {
	t, id, ok := strings.Cut(s, "#")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || t == "" {
		return ledger.RecordRef{}, false
	}
	return ledger.RecordRef{Type: t, ID: n}, true
}

// checkValueDate refuses a missing, far-past or future value date.
func checkValueDate(field string, d, now time.Time) error {
	switch {
	case d.IsZero():
		return applications.FieldError(field, "请填写记账日期（资金实际到账或付出的日期）。")
	case d.Year() < 2000:
		return applications.FieldError(field, "记账日期不能早于 2000 年。")
	case day.Date(d).After(day.Today(now)):
		return applications.FieldError(field, fmt.Sprintf("记账日期不能晚于今天（%s）。", day.Chinese(day.Today(now))))
	}
	return nil
}

// Record types of the 后股 half.
const (
	RecordConversion = "conversion"
	RecordExit       = "exit"
	RecordEnding     = "ending"
)
