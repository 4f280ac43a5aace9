package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
)

// The auditor's views (DOMAIN §13). Every view reads one consistent
// snapshot (REPEATABLE READ, read-only) so that a page or an export and
// the chain head it reports describe the same ledger. Exports hand their
// rows to a callback straight from the cursor: nothing is collected, so
// memory stays flat whatever the size.

// snapshot runs fn in a read-only REPEATABLE READ transaction.
func (db *DB) snapshot(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return mapError(pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn))
}

// snapshotBatch is snapshot in one round trip: the statements queue puts
// on the batch, between the transaction's BEGIN and COMMIT. Its results
// start with BEGIN's and end with COMMIT's. A failure leaves the
// connection inside the transaction; the pool closes such a connection
// when it is released.
func snapshotBatch(queue func(b *pgx.Batch)) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	queue(b)
	b.Queue(`COMMIT`)
	return b
}

// numericInto scans a numeric column straight from pgx's binary form into
// a decimal, without the text round trip of decimal's sql.Scanner: the
// exports and the verifier read a million amounts.
type numericInto struct{ d *decimal.Decimal }

func (s numericInto) ScanNumeric(n pgtype.Numeric) error {
	if !n.Valid || n.NaN || n.InfinityModifier != pgtype.Finite || n.Int == nil {
		return errors.New("numeric: not a finite number")
	}
	*s.d = decimal.NewFromBigInt(n.Int, n.Exp)
	return nil
}

// nullNumericInto is numericInto for a column that may be NULL (a LEFT
// JOIN); a NULL leaves the decimal zero.
type nullNumericInto struct{ d *decimal.Decimal }

func (s nullNumericInto) ScanNumeric(n pgtype.Numeric) error {
	if !n.Valid {
		*s.d = decimal.Decimal{}
		return nil
	}
	return numericInto(s).ScanNumeric(n)
}

// nullDecimalInto is numericInto for a decimal.NullDecimal: a NULL is
// not Valid.
type nullDecimalInto struct{ d *decimal.NullDecimal }

func (s nullDecimalInto) ScanNumeric(n pgtype.Numeric) error {
	if !n.Valid {
		*s.d = decimal.NullDecimal{}
		return nil
	}
	s.d.Valid = true
	return numericInto{&s.d.Decimal}.ScanNumeric(n)
}

// ledgerArgs builds a positional argument list for a dynamic WHERE clause.
type ledgerArgs []any

func (a *ledgerArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ParseAccountFilter accepts an account code ("1221") or a sub-account in
// canonical form ("1221/app/5"). An empty string is no filter. Errors:
// Invalid.
func ParseAccountFilter(s string) (ledger.Code, ledger.Scope, int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", 0, nil
	}
	if !strings.Contains(s, "/") {
		a, ok := ledger.LookupAccount(ledger.Code(s))
		if !ok {
			return "", "", 0, applications.FieldError("account", "科目 "+s+" 不在科目表中。")
		}
		return a.Code, "", 0, nil
	}
	k, err := ledger.ParseAccountKey(s)
	if err != nil {
		return "", "", 0, applications.FieldError("account", err.Error())
	}
	return k.Code, k.Scope, k.ID, nil
}

// JournalFilter selects journal entries. An entry is in the journal of a
// programme, project or account when any of its postings is.
type JournalFilter struct {
	From, To      time.Time // value dates, inclusive; zero = open-ended
	ProgrammeID   int64
	ApplicationID int64
	Account       string // "1221" or "1221/app/5"; "" = any
	AfterSeq      int64  // keyset: entries after this one
	Limit         int
}

func (f JournalFilter) where(args *ledgerArgs) (string, error) {
	var w []string
	if !f.From.IsZero() {
		w = append(w, "e.value_date >= "+args.add(day.Date(f.From)))
	}
	if !f.To.IsZero() {
		w = append(w, "e.value_date <= "+args.add(day.Date(f.To)))
	}
	if f.ProgrammeID > 0 {
		id := args.add(f.ProgrammeID)
		w = append(w, `EXISTS (SELECT 1 FROM ledger_postings q WHERE q.entry_seq = e.seq AND
			((q.scope = 'prog' AND q.scope_id = `+id+`) OR
			 (q.scope = 'app' AND q.scope_id IN (SELECT id FROM applications WHERE programme_id = `+id+`))))`)
	}
	if f.ApplicationID > 0 {
		w = append(w, `EXISTS (SELECT 1 FROM ledger_postings q WHERE q.entry_seq = e.seq AND q.scope = 'app' AND q.scope_id = `+
			args.add(f.ApplicationID)+`)`)
	}
	code, scope, id, err := ParseAccountFilter(f.Account)
	if err != nil {
		return "", err
	}
	if code != "" {
		c := `q.account_code = ` + args.add(string(code))
		if scope != "" {
			c += ` AND q.scope = ` + args.add(string(scope)) + ` AND q.scope_id = ` + args.add(id)
		}
		w = append(w, `EXISTS (SELECT 1 FROM ledger_postings q WHERE q.entry_seq = e.seq AND `+c+`)`)
	}
	if f.AfterSeq > 0 {
		w = append(w, "e.seq > "+args.add(f.AfterSeq))
	}
	if len(w) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(w, " AND "), nil
}

// JournalEntry is one entry of a journal page.
type JournalEntry struct {
	Entry       ledger.Entry
	MakerName   string
	CheckerName string
}

// JournalPage is one page of the journal, in sequence order.
type JournalPage struct {
	Entries []JournalEntry
	Head    ledger.ChainHead
	NextSeq int64 // keyset cursor of the next page; 0 when this is the last
}

// Journal returns one page of entries with their postings. Errors: Invalid
// (a bad account filter).
func (db *DB) Journal(ctx context.Context, f JournalFilter) (_ JournalPage, err error) {
	defer wrap(&err, "Journal")
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	return db.journal(ctx, f)
}

// MaxPrintedEntries is the most entries one printed journal holds: a
// period's journal is printed whole or not at all (a printout that stops
// part-way would read as complete).
const MaxPrintedEntries = 2000

// PrintJournal returns every entry f selects (f.AfterSeq and f.Limit are
// ignored), for the printed journal. Errors: Invalid (a bad account
// filter, or more than MaxPrintedEntries entries: a shorter period must be
// printed).
func (db *DB) PrintJournal(ctx context.Context, f JournalFilter) (_ JournalPage, err error) {
	defer wrap(&err, "PrintJournal")
	f.AfterSeq, f.Limit = 0, MaxPrintedEntries
	page, err := db.journal(ctx, f)
	if err == nil && page.NextSeq > 0 {
		return JournalPage{}, applications.Errorf(applications.Invalid,
			"所选期间的凭证超过 %d 张，一次打印不下：请缩小记账日期范围（如按月）后分期打印。", MaxPrintedEntries)
	}
	return page, err
}

// journal reads up to f.Limit entries after f.AfterSeq with their
// postings and the chain head, in one snapshot and one round trip: the
// transaction's BEGIN and COMMIT, the head, the entries and their postings
// go to PostgreSQL as one batch (five round trips before, docs/PERFORMANCE.md).
// The postings statement selects the page's entries again by the same
// filter, as it cannot wait for their numbers; in the same snapshot it
// finds the same ones.
func (db *DB) journal(ctx context.Context, f JournalFilter) (JournalPage, error) {
	var page JournalPage
	var args ledgerArgs
	where, err := f.where(&args)
	if err != nil {
		return page, err
	}
	pageSQL := `SELECT ` + entryColumns + `, mu.display_name, cu.display_name FROM ledger_entries e
		JOIN users mu ON mu.id = e.maker_id JOIN users cu ON cu.id = e.checker_id` + where +
		// written in, as the queue's (ListApplications)
		// One entry more than the page, to know there is a next page.
		` ORDER BY e.seq LIMIT ` + strconv.Itoa(f.Limit+1)
	b := snapshotBatch(func(b *pgx.Batch) {
		b.Queue(ledgerHeadSQL)
		b.Queue(pageSQL, args...)
		// The page's entries by the same filter, without the one more.
		b.Queue(`SELECT p.entry_seq, p.account_code, p.scope, p.scope_id, p.side, p.amount
			FROM (SELECT e.seq FROM ledger_entries e`+where+` ORDER BY e.seq LIMIT `+strconv.Itoa(f.Limit)+`) e
			JOIN ledger_postings p ON p.entry_seq = e.seq ORDER BY p.entry_seq, p.line`, args...)
	})
	br := db.Pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return page, mapError(err)
	}
	if page.Head, err = scanLedgerHead(br.QueryRow()); err != nil {
		return page, mapError(err)
	}
	rows, err := br.Query()
	if err != nil {
		return page, mapError(err)
	}
	index := map[int64]int{}
	for rows.Next() {
		var je JournalEntry
		if err := scanEntryInto(rows, &je.Entry, &je.MakerName, &je.CheckerName); err != nil {
			rows.Close()
			return page, err
		}
		if len(page.Entries) == f.Limit {
			page.NextSeq = page.Entries[len(page.Entries)-1].Entry.Seq
			continue // the next page's first entry: only its presence counts
		}
		index[je.Entry.Seq] = len(page.Entries)
		page.Entries = append(page.Entries, je)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, mapError(err)
	}
	prows, err := br.Query()
	if err != nil {
		return page, mapError(err)
	}
	for prows.Next() {
		var seq int64
		var p postingRow
		if err := prows.Scan(&seq, &p.code, &p.scope, &p.id, &p.side, numericInto{&p.amount}); err != nil {
			prows.Close()
			return page, err
		}
		if k, ok := index[seq]; ok {
			e := &page.Entries[k].Entry
			e.Postings = append(e.Postings, p.posting())
		}
	}
	prows.Close()
	if err := prows.Err(); err != nil {
		return page, mapError(err)
	}
	if _, err := br.Exec(); err != nil {
		return page, mapError(err)
	}
	return page, nil
}

// ExportJournal streams the journal selected by f (AfterSeq and Limit are
// ignored) one posting at a time, in sequence and line order, to fn, and
// returns the chain head of the same snapshot. The *ledger.Entry passed to
// fn is reused between calls and carries no postings. Errors: Invalid (a
// bad filter), or fn's error.
func (db *DB) ExportJournal(ctx context.Context, f JournalFilter, fn func(e *ledger.Entry, p ledger.Posting) error) (_ ledger.ChainHead, err error) {
	defer wrap(&err, "ExportJournal")
	f.AfterSeq = 0
	var head ledger.ChainHead
	var args ledgerArgs
	where, err := f.where(&args)
	if err != nil {
		return head, err
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT e.seq, e.value_date, e.created_at, e.kind, e.memo, e.record_type, e.record_id,
			e.maker_id, e.checker_id, COALESCE(e.reverses, 0), e.hash,
			p.account_code, p.scope, p.scope_id, p.side, p.amount
			FROM ledger_entries e JOIN ledger_postings p ON p.entry_seq = e.seq`+where+` ORDER BY e.seq, p.line`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var e ledger.Entry
		var kind, code, scope, side string
		var p ledger.Posting
		raw := rawColumns(rows, pgtype.Int8OID, pgtype.DateOID, pgtype.TimestamptzOID, pgtype.TextOID, pgtype.TextOID,
			pgtype.TextOID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.Int8OID, pgtype.TextOID, pgtype.TextOID,
			pgtype.TextOID, pgtype.Int8OID, pgtype.TextOID, pgtype.NumericOID)
		var dec journalDecoder
		for rows.Next() {
			var err error
			if raw {
				err = dec.row(rows.RawValues(), &e, &p)
			} else {
				err = rows.Scan(&e.Seq, &e.ValueDate, &e.CreatedAt, &kind, &e.Memo, &e.Record.Type, &e.Record.ID,
					&e.MakerID, &e.CheckerID, &e.Reverses, &e.Hash, &code, &scope, &p.Account.ID, &side,
					numericInto{&p.Amount})
				e.Kind, p.Account.Code, p.Account.Scope, p.Side = ledger.Kind(kind), ledger.Code(code), ledger.Scope(scope), ledger.Side(side)
			}
			if err != nil {
				return err
			}
			if err := fn(&e, p); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return head, err
}

// row reads one row of ExportJournal's query from its binary
// values into e and p, reusing e's strings where the row repeats them.
func (d *journalDecoder) row(v [][]byte, e *ledger.Entry, p *ledger.Posting) error {
	for _, b := range v {
		if b == nil {
			return errRawFormat
		}
	}
	var err error
	ints := [...]*int64{&e.Seq, &e.Record.ID, &e.MakerID, &e.CheckerID, &e.Reverses, &p.Account.ID}
	for i, col := range [...]int{0, 6, 7, 8, 9, 13} {
		if *ints[i], err = rawInt8(v[col]); err != nil {
			return err
		}
	}
	if e.ValueDate, err = d.date(v[1]); err != nil {
		return err
	}
	if e.CreatedAt, err = d.timestamptz(v[2]); err != nil {
		return err
	}
	e.Kind = ledger.Kind(internKind(v[3]))
	e.Memo = rawString(v[4], e.Memo)
	e.Record.Type = rawString(v[5], e.Record.Type)
	e.Hash = rawString(v[10], e.Hash)
	p.Account.Code = ledger.Code(internCode(v[11]))
	p.Account.Scope = ledger.Scope(internScope(v[12]))
	p.Side = ledger.Side(internSide(v[14]))
	p.Amount, err = d.numeric(v[15])
	return err
}

// TrialFilter chooses the point in time (and optionally the programme) of
// a trial balance.
type TrialFilter struct {
	AsOf        time.Time // entries with a value date on or before it; zero = all
	ProgrammeID int64     // the programme's fund and its projects; 0 = all
}

// TrialBalance sums postings per sub-account at a point in time (value
// date on or before f.AsOf), from a cursor over the per-account sums,
// and returns the chain head of the same snapshot.
func (db *DB) TrialBalance(ctx context.Context, f TrialFilter) (_ *ledger.TrialBalance, _ ledger.ChainHead, err error) {
	defer wrap(&err, "TrialBalance")
	tb := ledger.NewTrialBalance()
	var head ledger.ChainHead
	var args ledgerArgs
	var w []string
	if !f.AsOf.IsZero() {
		w = append(w, "e.value_date <= "+args.add(day.Date(f.AsOf)))
	}
	if f.ProgrammeID > 0 {
		id := args.add(f.ProgrammeID)
		w = append(w, `((p.scope = 'prog' AND p.scope_id = `+id+`) OR
			(p.scope = 'app' AND p.scope_id IN (SELECT id FROM applications WHERE programme_id = `+id+`)))`)
	}
	where := ""
	if len(w) > 0 {
		where = " WHERE " + strings.Join(w, " AND ")
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		return sumTrial(ctx, tx, tb, where, args)
	})
	return tb, head, err
}

// sumTrial adds to tb the per-account sums of the postings selected by
// where (over ledger_postings p JOIN ledger_entries e).
func sumTrial(ctx context.Context, q ledgerQuerier, tb *ledger.TrialBalance, where string, args []any) error {
	rows, err := q.Query(ctx, `SELECT p.account_code, p.scope, p.scope_id, p.side, sum(p.amount)
		FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq`+where+`
		GROUP BY p.account_code, p.scope, p.scope_id, p.side`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r postingRow
		if err := rows.Scan(&r.code, &r.scope, &r.id, &r.side, &r.amount); err != nil {
			return err
		}
		if err := tb.Add(r.posting()); err != nil {
			return fmt.Errorf("trial balance: %w", err)
		}
	}
	return rows.Err()
}

// AccountFilter selects the postings of one account (all its sub-accounts
// when ScopeID is 0) over a period, for an account ledger (明细账).
type AccountFilter struct {
	Code     ledger.Code
	Scope    ledger.Scope // with ScopeID: one sub-account
	ScopeID  int64
	From, To time.Time // value dates, inclusive; zero = open-ended
	After    AccountCursor
	Limit    int
}

// AccountCursor is the keyset position in an account ledger, which runs in
// (value date, entry, line) order.
type AccountCursor struct {
	ValueDate time.Time
	Seq       int64
	Line      int
}

// IsZero reports whether the cursor is the start.
func (c AccountCursor) IsZero() bool { return c.Seq == 0 }

// AccountLine is one posting of an account ledger with the balance after
// it, on the account's normal side.
type AccountLine struct {
	ValueDate time.Time
	Seq       int64
	Line      int
	Kind      ledger.Kind
	Memo      string
	Record    ledger.RecordRef
	Account   ledger.AccountKey
	Side      ledger.Side
	Amount    decimal.Decimal
	Balance   decimal.Decimal
}

// AccountPage is one page of an account ledger.
type AccountPage struct {
	Account ledger.Account
	Opening decimal.Decimal // balance before the period, normal side
	Carry   decimal.Decimal // balance before this page
	Lines   []AccountLine
	Head    ledger.ChainHead
	Next    AccountCursor // zero when this is the last page
}

func (f AccountFilter) where(args *ledgerArgs, beforeFrom bool) string {
	w := []string{"p.account_code = " + args.add(string(f.Code))}
	if f.ScopeID > 0 {
		w = append(w, "p.scope = "+args.add(string(f.Scope)), "p.scope_id = "+args.add(f.ScopeID))
	}
	if beforeFrom {
		w = append(w, "e.value_date < "+args.add(day.Date(f.From)))
		return " WHERE " + strings.Join(w, " AND ")
	}
	if !f.From.IsZero() {
		w = append(w, "e.value_date >= "+args.add(day.Date(f.From)))
	}
	if !f.To.IsZero() {
		w = append(w, "e.value_date <= "+args.add(day.Date(f.To)))
	}
	return " WHERE " + strings.Join(w, " AND ")
}

// signedSum is Σ amount on the account's normal side minus the other.
func signedSum(normal ledger.Side) string {
	return `COALESCE(sum(CASE WHEN p.side = '` + string(normal) + `' THEN p.amount ELSE -p.amount END), 0)`
}

const accountLineColumns = `e.value_date, e.seq, p.line, e.kind, e.memo, e.record_type, e.record_id,
	p.account_code, p.scope, p.scope_id, p.side, p.amount`

func scanAccountLine(rows pgx.Rows, l *AccountLine) error {
	var kind, code, scope, side string
	if err := rows.Scan(&l.ValueDate, &l.Seq, &l.Line, &kind, &l.Memo, &l.Record.Type, &l.Record.ID,
		&code, &scope, &l.Account.ID, &side, numericInto{&l.Amount}); err != nil {
		return err
	}
	l.Kind, l.Account.Code, l.Account.Scope, l.Side = ledger.Kind(kind), ledger.Code(code), ledger.Scope(scope), ledger.Side(side)
	return nil
}

func (f AccountFilter) check() (ledger.Account, error) {
	a, ok := ledger.LookupAccount(f.Code)
	if !ok {
		return a, applications.FieldError("account", "请选择科目。")
	}
	return a, nil
}

func (db *DB) accountOpening(ctx context.Context, tx pgx.Tx, f AccountFilter, normal ledger.Side) (decimal.Decimal, error) {
	if f.From.IsZero() {
		return decimal.Zero, nil
	}
	var args ledgerArgs
	var d decimal.Decimal
	err := tx.QueryRow(ctx, `SELECT `+signedSum(normal)+` FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq`+
		f.where(&args, true), args...).Scan(&d)
	return d, err
}

// AccountLedger returns one page of an account ledger with running
// balances. Errors: Invalid (no such account).
func (db *DB) AccountLedger(ctx context.Context, f AccountFilter) (_ AccountPage, err error) {
	defer wrap(&err, "AccountLedger")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var page AccountPage
	a, err := f.check()
	if err != nil {
		return page, err
	}
	page.Account = a
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if page.Head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		if page.Opening, err = db.accountOpening(ctx, tx, f, a.Normal); err != nil {
			return err
		}
		page.Carry = page.Opening
		var args ledgerArgs
		where := f.where(&args, false)
		if !f.After.IsZero() {
			cur := "(" + args.add(day.Date(f.After.ValueDate)) + "::date, " + args.add(f.After.Seq) + "::bigint, " +
				args.add(f.After.Line) + "::smallint)"
			var carry decimal.Decimal
			if err := tx.QueryRow(ctx, `SELECT `+signedSum(a.Normal)+` FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq`+
				where+` AND (e.value_date, e.seq, p.line) <= `+cur, args...).Scan(&carry); err != nil {
				return err
			}
			page.Carry = page.Carry.Add(carry)
			where += ` AND (e.value_date, e.seq, p.line) > ` + cur
		}
		rows, err := tx.Query(ctx, `SELECT `+accountLineColumns+` FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq`+
			where+` ORDER BY e.value_date, e.seq, p.line LIMIT `+args.add(f.Limit+1), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		bal := page.Carry
		for rows.Next() {
			var l AccountLine
			if err := scanAccountLine(rows, &l); err != nil {
				return err
			}
			if len(page.Lines) == f.Limit {
				last := page.Lines[len(page.Lines)-1]
				page.Next = AccountCursor{ValueDate: last.ValueDate, Seq: last.Seq, Line: last.Line}
				break
			}
			bal = runBalance(bal, a.Normal, l.Side, l.Amount)
			l.Balance = bal
			page.Lines = append(page.Lines, l)
		}
		return rows.Err()
	})
	return page, err
}

func runBalance(bal decimal.Decimal, normal, side ledger.Side, amount decimal.Decimal) decimal.Decimal {
	if side == normal {
		return bal.Add(amount)
	}
	return bal.Sub(amount)
}

// ExportAccountLedger streams an account ledger (After and Limit are
// ignored) to fn with running balances, after calling opening with the
// balance before the period, and returns the chain head of the snapshot.
func (db *DB) ExportAccountLedger(ctx context.Context, f AccountFilter, opening func(ledger.Account, decimal.Decimal) error, fn func(*AccountLine) error) (_ ledger.ChainHead, err error) {
	defer wrap(&err, "ExportAccountLedger")
	var head ledger.ChainHead
	a, err := f.check()
	if err != nil {
		return head, err
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		bal, err := db.accountOpening(ctx, tx, f, a.Normal)
		if err != nil {
			return err
		}
		if err := opening(a, bal); err != nil {
			return err
		}
		var args ledgerArgs
		rows, err := tx.Query(ctx, `SELECT `+accountLineColumns+` FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq`+
			f.where(&args, false)+` ORDER BY e.value_date, e.seq, p.line`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var l AccountLine
		for rows.Next() {
			if err := scanAccountLine(rows, &l); err != nil {
				return err
			}
			bal = runBalance(bal, a.Normal, l.Side, l.Amount)
			l.Balance = bal
			if err := fn(&l); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return head, err
}

// RegisterFilter selects the project register.
type RegisterFilter struct {
	ProgrammeID int64
	AsOf        time.Time // postings with a value date on or before it; zero = all
	AfterID     int64     // keyset: applications after this one
	Limit       int
}

// RegisterRow is one project of the register (DOMAIN §13). The amounts
// come from the postings: disbursed is what entered 1221 by disbursement,
// converted what moved to 1511 by conversion, exited the cost of equity
// sold, proceeds what the exits paid into 1002, gain their gain (6111)
// less their loss (6711), written off what left the project's accounts by
// write-off, each net of reversals; outstanding is what the fund still
// holds in the project (1221 + 1511 + 1131). The key dates: the approved
// funding decision, the first signing, and from the ledger the first
// disbursement, the conversion and the last exit.
type RegisterRow struct {
	ApplicationID    int64
	Title            string
	Enterprise       string
	Programme        string
	State            applications.State
	Approved         decimal.NullDecimal
	Disbursed        decimal.Decimal
	Converted        decimal.Decimal
	Exited           decimal.Decimal
	Proceeds         decimal.Decimal
	Gain             decimal.Decimal // negative: a loss
	WrittenOff       decimal.Decimal
	Outstanding      decimal.Decimal
	DecidedOn        time.Time // zero when none
	SignedOn         time.Time
	FirstDisbursedOn time.Time
	ConvertedOn      time.Time
	ExitedOn         time.Time
}

// Add adds r's amounts to t (a totals row).
func (t *RegisterRow) Add(r RegisterRow) {
	if r.Approved.Valid {
		t.Approved = decimal.NewNullDecimal(t.Approved.Decimal.Add(r.Approved.Decimal))
	}
	t.Disbursed, t.Converted, t.Exited = t.Disbursed.Add(r.Disbursed), t.Converted.Add(r.Converted), t.Exited.Add(r.Exited)
	t.Proceeds, t.Gain = t.Proceeds.Add(r.Proceeds), t.Gain.Add(r.Gain)
	t.WrittenOff, t.Outstanding = t.WrittenOff.Add(r.WrittenOff), t.Outstanding.Add(r.Outstanding)
}

func (f RegisterFilter) query(args *ledgerArgs, paged bool) string {
	asOf := ""
	if !f.AsOf.IsZero() {
		asOf = " AND e.value_date <= " + args.add(day.Date(f.AsOf))
	}
	sql := `WITH m AS (
		SELECT p.scope_id AS app_id,
			sum(CASE WHEN e.kind = 'reversal' THEN -p.amount ELSE p.amount END)
				FILTER (WHERE COALESCE(o.kind, e.kind) = 'disbursement' AND p.account_code = '1221') AS disbursed,
			sum(CASE WHEN e.kind = 'reversal' THEN -p.amount ELSE p.amount END)
				FILTER (WHERE COALESCE(o.kind, e.kind) = 'conversion' AND p.account_code = '1511') AS converted,
			sum(CASE WHEN e.kind = 'reversal' THEN -p.amount ELSE p.amount END)
				FILTER (WHERE COALESCE(o.kind, e.kind) = 'exit' AND p.account_code = '1511') AS exited,
			sum(CASE WHEN e.kind = 'reversal' THEN -p.amount ELSE p.amount END)
				FILTER (WHERE COALESCE(o.kind, e.kind) = 'write_off') AS written_off,
			sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END) AS outstanding,
			min(e.value_date) FILTER (WHERE e.kind = 'disbursement' AND p.account_code = '1221') AS first_disbursed_on,
			min(e.value_date) FILTER (WHERE e.kind = 'conversion') AS converted_on,
			max(e.value_date) FILTER (WHERE e.kind = 'exit') AS exited_on
		FROM ledger_postings p JOIN ledger_entries e ON e.seq = p.entry_seq
			LEFT JOIN ledger_entries o ON o.seq = e.reverses
		WHERE p.scope = 'app'` + asOf + `
		GROUP BY p.scope_id),
	x AS (
		-- an exit's proceeds (1002) and gain (6111) or loss (6711) are kept
		-- per programme: the entry's 1511 posting names the project
		SELECT s.scope_id AS app_id,
			sum(CASE WHEN e.kind = 'reversal' THEN -q.amount ELSE q.amount END) FILTER (WHERE q.account_code = '1002') AS proceeds,
			sum(CASE WHEN e.kind = 'reversal' THEN -1 ELSE 1 END * CASE q.account_code WHEN '6111' THEN q.amount ELSE -q.amount END)
				FILTER (WHERE q.account_code IN ('6111', '6711')) AS gain
		FROM ledger_entries e LEFT JOIN ledger_entries o ON o.seq = e.reverses
			JOIN LATERAL (SELECT scope_id FROM ledger_postings WHERE entry_seq = e.seq AND account_code = '1511' LIMIT 1) s ON true
			JOIN ledger_postings q ON q.entry_seq = e.seq
		WHERE COALESCE(o.kind, e.kind) = 'exit'` + asOf + `
		GROUP BY s.scope_id)
	SELECT a.id, a.title, en.name, pr.name, a.state, a.approved_amount AS approved, COALESCE(m.disbursed, 0) AS disbursed,
		COALESCE(m.converted, 0) AS converted, COALESCE(m.exited, 0) AS exited, COALESCE(x.proceeds, 0) AS proceeds,
		COALESCE(x.gain, 0) AS gain, COALESCE(m.written_off, 0) AS written_off, COALESCE(m.outstanding, 0) AS outstanding,
		(SELECT (min(d.checked_at) AT TIME ZONE 'Asia/Shanghai')::date FROM decisions d
			WHERE d.application_id = a.id AND d.kind = 'approve' AND d.status = 'approved'),
		(SELECT min(g.signed_on) FROM agreements g WHERE g.application_id = a.id),
		m.first_disbursed_on, m.converted_on, m.exited_on
	FROM applications a JOIN enterprises en ON en.id = a.enterprise_id JOIN programmes pr ON pr.id = a.programme_id
		LEFT JOIN m ON m.app_id = a.id LEFT JOIN x ON x.app_id = a.id
	WHERE (a.approved_amount IS NOT NULL OR m.app_id IS NOT NULL)`
	if f.ProgrammeID > 0 {
		sql += " AND a.programme_id = " + args.add(f.ProgrammeID)
	}
	if paged && f.AfterID > 0 {
		sql += " AND a.id > " + args.add(f.AfterID)
	}
	sql += " ORDER BY a.id"
	if paged {
		sql += " LIMIT " + args.add(f.Limit+1)
	}
	return sql
}

func scanRegisterRow(rows pgx.Rows, r *RegisterRow) error {
	var state string
	var dates [5]*time.Time
	err := rows.Scan(&r.ApplicationID, &r.Title, &r.Enterprise, &r.Programme, &state, &r.Approved, &r.Disbursed,
		&r.Converted, &r.Exited, &r.Proceeds, &r.Gain, &r.WrittenOff, &r.Outstanding,
		&dates[0], &dates[1], &dates[2], &dates[3], &dates[4])
	r.State = applications.State(state)
	for i, dst := range []*time.Time{&r.DecidedOn, &r.SignedOn, &r.FirstDisbursedOn, &r.ConvertedOn, &r.ExitedOn} {
		*dst = time.Time{}
		if dates[i] != nil {
			*dst = *dates[i]
		}
	}
	return err
}

// registerTotals sums the whole register selected by f (not one page).
func registerTotals(ctx context.Context, tx pgx.Tx, f RegisterFilter) (RegisterRow, int64, error) {
	var t RegisterRow
	var n int64
	var args ledgerArgs
	err := tx.QueryRow(ctx, `SELECT count(*), sum(approved), COALESCE(sum(disbursed), 0), COALESCE(sum(converted), 0),
		COALESCE(sum(exited), 0), COALESCE(sum(proceeds), 0), COALESCE(sum(gain), 0), COALESCE(sum(written_off), 0),
		COALESCE(sum(outstanding), 0) FROM (`+f.query(&args, false)+`) r`, args...).Scan(&n, &t.Approved, &t.Disbursed,
		&t.Converted, &t.Exited, &t.Proceeds, &t.Gain, &t.WrittenOff, &t.Outstanding)
	return t, n, err
}

// RegisterPage is one page of the project register.
type RegisterPage struct {
	Rows     []RegisterRow
	Head     ledger.ChainHead
	NextID   int64 // keyset cursor of the next page; 0 when this is the last
	AsOf     time.Time
	Summary  RegisterRow // totals of the whole register the filter selects, not only this page
	Projects int64       // how many projects it holds
}

// Register returns one page of the project register, by application ID.
func (db *DB) Register(ctx context.Context, f RegisterFilter) (_ RegisterPage, err error) {
	defer wrap(&err, "Register")
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var page RegisterPage
	page.AsOf = f.AsOf
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if page.Head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		if page.Summary, page.Projects, err = registerTotals(ctx, tx, f); err != nil {
			return err
		}
		var args ledgerArgs
		rows, err := tx.Query(ctx, f.query(&args, true), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r RegisterRow
			if err := scanRegisterRow(rows, &r); err != nil {
				return err
			}
			if len(page.Rows) == f.Limit {
				page.NextID = page.Rows[len(page.Rows)-1].ApplicationID
				break
			}
			page.Rows = append(page.Rows, r)
		}
		return rows.Err()
	})
	return page, err
}

// ExportRegister streams the whole register (AfterID and Limit are
// ignored) to fn and returns the chain head of the snapshot.
func (db *DB) ExportRegister(ctx context.Context, f RegisterFilter, fn func(*RegisterRow) error) (_ ledger.ChainHead, err error) {
	defer wrap(&err, "ExportRegister")
	var head ledger.ChainHead
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		var args ledgerArgs
		rows, err := tx.Query(ctx, f.query(&args, false), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var r RegisterRow
		for rows.Next() {
			if err := scanRegisterRow(rows, &r); err != nil {
				return err
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return head, err
}

// AuditExportFilter selects audit rows for an export.
type AuditExportFilter struct {
	Event    string
	From, To time.Time // dates in China, inclusive; zero = open-ended
}

// ExportAudit streams audit rows in sequence order to fn and returns the
// audit chain's head in the same snapshot (as a ledger.ChainHead: the
// audit log is chained the same way).
func (db *DB) ExportAudit(ctx context.Context, f AuditExportFilter, fn func(*audit.Record) error) (_ ledger.ChainHead, err error) {
	defer wrap(&err, "ExportAudit")
	head := ledger.ChainHead{Seq: 0, Hash: audit.GenesisHash, Algorithm: audit.Algorithm}
	var args ledgerArgs
	var w []string
	if f.Event != "" {
		w = append(w, "event = "+args.add(f.Event))
	}
	if !f.From.IsZero() {
		y, m, d := f.From.Date()
		w = append(w, "at >= "+args.add(time.Date(y, m, d, 0, 0, 0, 0, day.Zone)))
	}
	if !f.To.IsZero() {
		y, m, d := f.To.Date()
		w = append(w, "at < "+args.add(time.Date(y, m, d+1, 0, 0, 0, 0, day.Zone)))
	}
	where := ""
	if len(w) > 0 {
		where = " WHERE " + strings.Join(w, " AND ")
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT seq, hash, hash_alg FROM audit_log ORDER BY seq DESC LIMIT 1`).
			Scan(&head.Seq, &head.Hash, &head.Algorithm)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_log`+where+` ORDER BY seq`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				return err
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return head, err
}
