package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/ledger"
)

// Reversal is a request to correct an approved entry with its mirror (冲正,
// DOMAIN §11): made by staff or an admin with a reason, approved by an
// approver who is someone else. Approval posts the reversing entry and
// undoes the business record the original entry recorded.
type Reversal struct {
	ID           int64
	OriginalSeq  int64            // the entry to reverse
	Kind         ledger.Kind      // the original entry's kind
	Memo         string           // the original entry's memo
	Record       ledger.RecordRef // the original entry's business record
	OriginalDate time.Time        // the original entry's value date
	Amount       decimal.Decimal  // Σ debits of the original entry
	Reason       string
	Status       string // MoneyPending, MoneyApproved or MoneyRejected
	PreparedBy   int64
	PreparerName string
	PreparedAt   time.Time
	CheckedBy    int64
	CheckerName  string
	CheckedAt    time.Time
	CheckComment string
	EntrySeq     int64 // the reversing entry; 0 until approved
}

// ReversalInput is what the requester submits.
type ReversalInput struct {
	EntrySeq       int64
	Reason         string
	IdempotencyKey string
}

// AdminReversalRefusal says why an admin may not ask to reverse an entry
// that is not an appropriation.
const AdminReversalRefusal = "系统管理员只能申请冲正财政拨入（拨款）凭证；拨付凭证的冲正请由经办人员申请。"

// maxReversalReason bounds the reason: it goes into the reversing entry's
// memo (at most 500 characters) after a short prefix.
const maxReversalReason = 300

const reversalColumns = `r.id, r.original_seq, o.kind, o.memo, o.record_type, o.record_id, o.value_date,
	COALESCE((SELECT sum(q.amount) FROM ledger_postings q WHERE q.entry_seq = o.seq AND q.side = 'debit'), 0),
	r.reason, r.status, r.prepared_by, mu.display_name, r.prepared_at, COALESCE(r.checked_by, 0),
	COALESCE(cu.display_name, ''), r.checked_at, r.check_comment, COALESCE(r.entry_seq, 0)`

const reversalFrom = ` FROM reversals r JOIN ledger_entries o ON o.seq = r.original_seq
	JOIN users mu ON mu.id = r.prepared_by LEFT JOIN users cu ON cu.id = r.checked_by `

func scanReversal(row pgx.CollectableRow) (Reversal, error) {
	var r Reversal
	var kind string
	var checkedAt *time.Time
	err := row.Scan(&r.ID, &r.OriginalSeq, &kind, &r.Memo, &r.Record.Type, &r.Record.ID, &r.OriginalDate, &r.Amount,
		&r.Reason, &r.Status, &r.PreparedBy, &r.PreparerName, &r.PreparedAt, &r.CheckedBy, &r.CheckerName, &checkedAt,
		&r.CheckComment, &r.EntrySeq)
	r.Kind = ledger.Kind(kind)
	if checkedAt != nil {
		r.CheckedAt = *checkedAt
	}
	return r, err
}

func findReversal(ctx context.Context, q ledgerQuerier, id int64) (Reversal, error) {
	rows, _ := q.Query(ctx, `SELECT `+reversalColumns+reversalFrom+`WHERE r.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanReversal)
}

// FindReversal returns one reversal request. Errors: NotFound.
func (db *DB) FindReversal(ctx context.Context, id int64) (Reversal, error) {
	r, err := findReversal(ctx, db.Pool, id)
	return r, mapError(err)
}

// ReversalFilter selects reversal requests, newest first.
type ReversalFilter struct {
	Status   string
	BeforeID int64 // keyset: rows with id < BeforeID; 0 = newest
	Limit    int
}

// ListReversals returns one page of reversal requests, newest first.
func (db *DB) ListReversals(ctx context.Context, f ReversalFilter) ([]Reversal, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+reversalColumns+reversalFrom+`
		WHERE ($1 = '' OR r.status = $1) AND ($2 = 0 OR r.id < $2)
		ORDER BY r.id DESC LIMIT $3`, f.Status, f.BeforeID, f.Limit)
	rs, err := pgx.CollectRows(rows, scanReversal)
	return rs, mapError(err)
}

// EntryReversal is what the entry page needs to offer a correction: the
// open request for the entry, if any, and whether one may be made now.
type EntryReversal struct {
	Open    Reversal // the pending or approved request; ID 0 when none
	Allowed bool
	Refusal string // why not, in Chinese, when !Allowed
}

// FindEntryReversal tells whether entry seq can be reversed now, and the
// request already open for it. It runs the same checks RequestReversal
// does, in a read-only snapshot. Errors: NotFound.
func (db *DB) FindEntryReversal(ctx context.Context, seq int64) (EntryReversal, error) {
	var out EntryReversal
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		e, err := findEntry(ctx, tx, seq)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+reversalColumns+reversalFrom+`
			WHERE r.original_seq = $1 AND r.status IN ('pending','approved') ORDER BY r.id LIMIT 1`, seq)
		open, err := pgx.CollectRows(rows, scanReversal)
		if err != nil {
			return err
		}
		if len(open) > 0 {
			out.Open = open[0]
		}
		_, err = checkReversible(ctx, tx, e, 0)
		switch k := applications.ErrorKind(err); {
		case err == nil:
			out.Allowed = true
		case k == applications.Conflict || k == applications.Invalid:
			out.Refusal = applications.ErrorMessage(err)
		default:
			return err
		}
		return nil
	})
	return out, err
}

// reversalTarget is the business record a reversal undoes.
type reversalTarget struct {
	record      ledger.RecordRef
	what        string // the record's kind in Chinese
	table       string // a fixed table name, never input
	programmeID int64
	appID       int64 // disbursements only
	amount      decimal.Decimal
}

// lockReversalRecord takes the row locks the approval of the entry's
// business record took, in the same order (the record, then for a
// disbursement its application; the fund and the ledger chain follow in
// restoreBalances and postEntry, the order every money action takes), so a
// request or an approval of its reversal waits for anything else acting on
// that record instead of deadlocking with it. Entries the app cannot undo
// lock nothing.
func lockReversalRecord(ctx context.Context, tx pgx.Tx, e ledger.Entry) error {
	switch {
	case e.Kind == ledger.KindAppropriation && e.Record.Type == RecordAppropriation:
		_, err := tx.Exec(ctx, `SELECT 1 FROM appropriations WHERE id = $1 FOR UPDATE`, e.Record.ID)
		return err
	case e.Kind == ledger.KindDisbursement && e.Record.Type == RecordDisbursement:
		var appID int64
		err := tx.QueryRow(ctx, `SELECT application_id FROM disbursements WHERE id = $1 FOR UPDATE`, e.Record.ID).Scan(&appID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // checkReversible says what is wrong
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT 1 FROM applications WHERE id = $1 FOR UPDATE`, appID)
		return err
	}
	return nil
}

// checkReversible checks that entry e can be reversed now and returns the
// business record the reversal undoes. self is the request being approved
// (0 when asking), which does not count as an open request. Errors:
// Conflict (a reversal, already reversed or requested, or the money has
// moved on), Invalid (a kind of entry the app cannot undo).
func checkReversible(ctx context.Context, q ledgerQuerier, e ledger.Entry, self int64) (reversalTarget, error) {
	var t reversalTarget
	if e.Kind == ledger.KindReversal {
		return t, applications.Errorf(applications.Conflict,
			"第 %d 号凭证本身是冲销凭证，不能再冲正。如冲正有误，请按原业务重新登记并审批。", e.Seq)
	}
	var by int64
	err := q.QueryRow(ctx, `SELECT seq FROM ledger_entries WHERE reverses = $1`, e.Seq).Scan(&by)
	if err == nil {
		return t, applications.Errorf(applications.Conflict, "第 %d 号凭证已由第 %d 号凭证冲销，不能重复冲正。", e.Seq, by)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return t, err
	}
	var openID int64
	var openStatus string
	err = q.QueryRow(ctx, `SELECT id, status FROM reversals WHERE original_seq = $1 AND status IN ('pending','approved')
		AND id <> $2 ORDER BY id LIMIT 1`, e.Seq, self).Scan(&openID, &openStatus)
	if err == nil {
		return t, applications.Errorf(applications.Conflict,
			"第 %d 号凭证已有%s的冲正申请（#%d），不能重复申请。请在冲正列表中查看该申请。", e.Seq, MoneyStatusLabel(openStatus), openID)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return t, err
	}
	switch {
	case e.Kind == ledger.KindAppropriation && e.Record.Type == RecordAppropriation:
		return appropriationTarget(ctx, q, e)
	case e.Kind == ledger.KindDisbursement && e.Record.Type == RecordDisbursement:
		return disbursementTarget(ctx, q, e)
	case e.Kind == ledger.KindAppropriation || e.Kind == ledger.KindDisbursement:
		return t, applications.Errorf(applications.Invalid,
			"第 %d 号凭证关联的业务单据为 %s，不是系统登记的%s，系统无法同时恢复业务状态，不能在系统内冲正。请联系系统管理员。",
			e.Seq, e.Record.String(), e.Kind.Label())
	}
	return t, applications.Errorf(applications.Invalid,
		"第 %d 号凭证是「%s」凭证。系统内冲正只适用于已审批的财政拨入和拨付；%s凭证牵涉转股、退出或结题等后续记录，不能单独冲销，请联系系统管理员按规程处理。",
		e.Seq, e.Kind.Label(), e.Kind.Label())
}

// recordMismatch is the refusal when a business record no longer says what
// its entry says: only a fault elsewhere leads here.
func recordMismatch(what string, id int64, status string, seq int64) error {
	return applications.Errorf(applications.Conflict,
		"%s #%d 当前为「%s」，与第 %d 号凭证不符，不能冲正。请审计人员先运行台账校验。", what, id, MoneyStatusLabel(status), seq)
}

func appropriationTarget(ctx context.Context, q ledgerQuerier, e ledger.Entry) (reversalTarget, error) {
	t := reversalTarget{record: e.Record, what: "财政拨入", table: "appropriations"}
	var status string
	var entrySeq *int64
	err := q.QueryRow(ctx, `SELECT programme_id, amount, status, entry_seq FROM appropriations WHERE id = $1`, e.Record.ID).
		Scan(&t.programmeID, &t.amount, &status, &entrySeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, recordMismatch(t.what, e.Record.ID, "不存在", e.Seq)
	} else if err != nil {
		return t, err
	}
	if status != MoneyApproved || entrySeq == nil || *entrySeq != e.Seq {
		return t, recordMismatch(t.what, e.Record.ID, status, e.Seq)
	}
	var balance decimal.Decimal
	if err := q.QueryRow(ctx, `SELECT COALESCE((SELECT balance FROM programme_funds WHERE programme_id = $1), 0)`,
		t.programmeID).Scan(&balance); err != nil {
		return t, err
	}
	if balance.LessThan(t.amount) {
		return t, fundShortfall(balance, t.amount)
	}
	return t, nil
}

// fundShortfall refuses reversing an appropriation whose money has been
// disbursed since: the fund would go below zero.
func fundShortfall(balance, amount decimal.Decimal) error {
	return applications.Errorf(applications.Conflict,
		"专项资金余额 %s 元，不足以冲回这笔财政拨入 %s 元：其中的资金已拨付给项目。请先冲正相关拨付，使余额足以冲回后再办理。",
		balance.StringFixed(2), amount.StringFixed(2))
}

func disbursementTarget(ctx context.Context, q ledgerQuerier, e ledger.Entry) (reversalTarget, error) {
	t := reversalTarget{record: e.Record, what: "拨付", table: "disbursements"}
	var status string
	var entrySeq *int64
	err := q.QueryRow(ctx, `SELECT application_id, programme_id, amount, status, entry_seq FROM disbursements WHERE id = $1`,
		e.Record.ID).Scan(&t.appID, &t.programmeID, &t.amount, &status, &entrySeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, recordMismatch(t.what, e.Record.ID, "不存在", e.Seq)
	} else if err != nil {
		return t, err
	}
	if status != MoneyApproved || entrySeq == nil || *entrySeq != e.Seq {
		return t, recordMismatch(t.what, e.Record.ID, status, e.Seq)
	}
	var state string
	var disbursed decimal.Decimal
	var endingPending bool
	if err := q.QueryRow(ctx, `SELECT state, disbursed,
			EXISTS (SELECT 1 FROM endings WHERE application_id = a.id AND status = 'pending')
		FROM applications a WHERE id = $1`, t.appID).Scan(&state, &disbursed, &endingPending); err != nil {
		return t, err
	}
	// After funding, the money is the basis of a conversion, an ending or
	// an exit: undoing it alone would leave those wrong.
	if st := applications.State(state); !disbursable(st) {
		return t, applications.Errorf(applications.Conflict,
			"项目当前状态为「%s」，这笔拨付已进入转股、结题等后续环节，不能在系统内冲正。请联系系统管理员按规程处理。", st.Label())
	}
	if endingPending {
		return t, applications.Errorf(applications.Conflict, "项目有待审批的结题或核销事项，请先审批或退回该事项后再冲正拨付。")
	}
	if disbursed.LessThan(t.amount) {
		return t, applications.Errorf(applications.Conflict,
			"项目累计拨付 %s 元少于本笔 %s 元，与台账不符，不能冲正。请审计人员先运行台账校验。", disbursed.StringFixed(2), t.amount.StringFixed(2))
	}
	return t, nil
}

func reversalAudit(r Reversal) map[string]any {
	return map[string]any{"original_seq": r.OriginalSeq, "kind": string(r.Kind), "record": r.Record.String(),
		"amount": r.Amount.StringFixed(2), "reason": r.Reason, "status": r.Status}
}

// checkReversalReason trims and checks the reason a requester gives.
func checkReversalReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", applications.FieldError("reason", "请填写冲正理由：原凭证错在哪里，依据是什么（如退回的银行回单、更正后的拨款文号）。")
	case utf8.RuneCountInString(reason) > maxReversalReason:
		return "", applications.FieldError("reason", fmt.Sprintf("冲正理由最多 %d 字，请精简。", maxReversalReason))
	}
	return reason, nil
}

// RequestReversal asks for entry in.EntrySeq to be reversed, pending an
// approver. It refuses a reversal entry, an entry already reversed or
// with an open request, and kinds of entry the app cannot undo together
// with their business record (only approved appropriations and
// disbursements can be); an appropriation whose money has been disbursed
// since is refused too. A retry with the same idempotency key returns the
// first attempt's request. Errors: Invalid, Conflict.
func (db *DB) RequestReversal(ctx context.Context, actor audit.Actor, in ReversalInput) (Reversal, error) {
	if err := checkIdempotencyKey(in.IdempotencyKey); err != nil {
		return Reversal{}, err
	}
	if in.EntrySeq <= 0 {
		return Reversal{}, applications.FieldError("entry_seq", "请填写要冲正的凭证号（正整数）。")
	}
	reason, err := checkReversalReason(in.Reason)
	if err != nil {
		return Reversal{}, err
	}
	var out Reversal
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		e, err := findEntry(ctx, tx, in.EntrySeq)
		if errors.Is(err, pgx.ErrNoRows) {
			return applications.FieldError("entry_seq", fmt.Sprintf("第 %d 号凭证不存在，请核对凭证号。", in.EntrySeq))
		} else if err != nil {
			return err
		}
		// The lock orders a retried submit after the first attempt, whose
		// request is then visible and is the answer.
		if err := lockReversalRecord(ctx, tx, e); err != nil {
			return err
		}
		var id int64
		err = tx.QueryRow(ctx, `SELECT id FROM reversals WHERE idempotency_key = $1`, in.IdempotencyKey).Scan(&id)
		if err == nil {
			if out, err = findReversal(ctx, tx, id); err != nil {
				return err
			}
			if out.PreparedBy != actor.ID || out.OriginalSeq != in.EntrySeq {
				return applications.Errorf(applications.Conflict, "该表单标识已被另一笔记录使用，请刷新页面后重新填写。")
			}
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if actor.Role == string(applications.RoleAdmin) && e.Kind != ledger.KindAppropriation {
			// Admins record fiscal money coming in (appropriations) but do
			// not move project money (DOMAIN §2): its corrections are staff's.
			return applications.Errorf(applications.Forbidden, "%s", AdminReversalRefusal)
		}
		if _, err := checkReversible(ctx, tx, e, 0); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO reversals (original_seq, reason, idempotency_key, prepared_by, prepared_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, e.Seq, reason, in.IdempotencyKey, actor.ID, now).Scan(&id); err != nil {
			return err
		}
		if out, err = findReversal(ctx, tx, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "reversal_requested", ObjectType: RecordReversal,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"after": reversalAudit(out)}})
	})
	return out, mapError(err)
}

// reversalRecord is the reversals table for checkMoney.
var reversalRecord = moneyRecord[Reversal]{table: "reversals", recordType: RecordReversal,
	what: "冲正申请", find: findReversal, checkedBy: func(r Reversal) int64 { return r.CheckedBy },
	audit: reversalAudit}

// ApproveReversal approves a pending reversal request. In one transaction,
// holding the request's row lock and then the locks the original record's
// approval took (the record, its application, the fund, the ledger chain,
// in that order), it checks again that the entry can be reversed, restores
// the balances the money rules keep (a disbursement: the application's
// disbursed total down, the fund's balance up and its disbursed total
// down; an appropriation: the fund's balance and appropriated total down,
// never below zero), posts the mirror of the original entry (maker the
// requester, checker the approver, linked to the request), marks the
// record reversed and writes the audit rows. Approving again with the same
// check key returns the approved request and posts nothing. Errors:
// NotFound, Forbidden (the requester may not approve), Conflict (already
// decided, or the entry can no longer be reversed), Invalid.
func (db *DB) ApproveReversal(ctx context.Context, actor audit.Actor, id int64, checkKey string) (Reversal, error) {
	out, err := checkMoney(ctx, db, actor, reversalRecord, id, checkKey, MoneyApproved, func(tx pgx.Tx, now time.Time, r Reversal, out *Reversal) error {
		orig, err := findEntry(ctx, tx, r.OriginalSeq)
		if err != nil {
			return err
		}
		if err := lockReversalRecord(ctx, tx, orig); err != nil {
			return err
		}
		t, err := checkReversible(ctx, tx, orig, id)
		if err != nil {
			return err
		}
		restored, err := restoreBalances(ctx, tx, now, t)
		if err != nil {
			return err
		}
		e, err := ledger.Reverse(orig)
		if err != nil {
			return invalidLedger(err)
		}
		e.Memo = fmt.Sprintf("冲正第 %d 号凭证（%s #%d）：%s", orig.Seq, t.what, t.record.ID, r.Reason)
		e.ValueDate = ledgerToday(now)
		if orig.ValueDate.After(e.ValueDate) {
			e.ValueDate = orig.ValueDate
		}
		e.Record = ledger.RecordRef{Type: RecordReversal, ID: id}
		e.MakerID, e.CheckerID = r.PreparedBy, actor.ID
		e.IdempotencyKey = RecordReversal + "/" + itoa64(id)
		posted, _, err := postEntry(ctx, tx, now, e)
		if err != nil {
			return err
		}
		// After the entry: the guard lets a record become reversed only
		// once its entry is.
		tag, err := tx.Exec(ctx, `UPDATE `+t.table+` SET status = 'reversed' WHERE id = $1 AND status = 'approved'`, t.record.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return recordMismatch(t.what, t.record.ID, "已变更", orig.Seq)
		}
		if err := undoFunding(ctx, tx, now, actor, t, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE reversals SET status = 'approved', checked_by = $2, checked_at = $3,
			check_key = $4, entry_seq = $5 WHERE id = $1`, id, actor.ID, now, checkKey, posted.Seq); err != nil {
			return err
		}
		if *out, err = findReversal(ctx, tx, id); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "reversal_approved", ObjectType: RecordReversal,
			ObjectID: itoa64(id), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": MoneyPending}, "after": reversalAudit(*out),
				"entry_seq": posted.Seq, "entry_hash": posted.Hash, "restored": restored}}); err != nil {
			return err
		}
		// The record's own trail shows it was undone, and by what.
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: t.record.Type + "_reversed", ObjectType: t.record.Type,
			ObjectID: itoa64(t.record.ID), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": MoneyApproved}, "after": map[string]any{"status": MoneyReversed},
				"reversal_id": id, "entry_seq": posted.Seq, "reverses": orig.Seq}})
	})
	return out, mapError(err)
}

// undoFunding moves a project back to contracted when the disbursement
// just reversed was all it had been paid: funded means "first tranche
// disbursed" (DOMAIN §4), and the correction undoes what the disbursement
// did, so the project can be funded again, or withdrawn, instead of
// lapsing or converting with nothing paid. It is the one move back to
// contracted, so it bypasses the transition table, under the application
// lock the approval already holds.
func undoFunding(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, t reversalTarget, reversalID int64) error {
	if t.record.Type != RecordDisbursement {
		return nil
	}
	var disbursed decimal.Decimal
	if err := tx.QueryRow(ctx, `SELECT disbursed FROM applications WHERE id = $1`, t.appID).Scan(&disbursed); err != nil {
		return err
	}
	a, err := findApplication(ctx, tx, t.appID, false)
	if err != nil || a.State != applications.StateFunded || !disbursed.IsZero() {
		return err
	}
	_, err = moveState(ctx, tx, now, actor, a, applications.StateContracted,
		fmt.Sprintf("冲正申请 #%d 冲销了项目唯一一笔拨付，项目回到已签约，待重新拨付", reversalID))
	return err
}

// restoreBalances undoes what approving t's record did to the balances the
// money rules keep, with guarded UPDATEs (CHECK constraints back them), and
// returns the new figures for the audit row.
func restoreBalances(ctx context.Context, tx pgx.Tx, now time.Time, t reversalTarget) (map[string]any, error) {
	switch t.record.Type {
	case RecordDisbursement:
		var disbursed, balance decimal.Decimal
		err := tx.QueryRow(ctx, `UPDATE applications SET disbursed = disbursed - $2
			WHERE id = $1 AND disbursed >= $2 RETURNING disbursed`, t.appID, t.amount).Scan(&disbursed)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, applications.Errorf(applications.Conflict, "项目累计拨付少于本笔金额，与台账不符，不能冲正。请审计人员先运行台账校验。")
		} else if err != nil {
			return nil, err
		}
		err = tx.QueryRow(ctx, `UPDATE programme_funds SET balance = balance + $2, disbursed = disbursed - $2, updated_at = $3
			WHERE programme_id = $1 AND disbursed >= $2 RETURNING balance`, t.programmeID, t.amount, now).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, applications.Errorf(applications.Conflict, "专项资金拨付累计少于本笔金额，与台账不符，不能冲正。请审计人员先运行台账校验。")
		} else if err != nil {
			return nil, err
		}
		return map[string]any{"application_disbursed": disbursed.StringFixed(2), "fund_balance": balance.StringFixed(2)}, nil
	case RecordAppropriation:
		var balance decimal.Decimal
		err := tx.QueryRow(ctx, `UPDATE programme_funds SET balance = balance - $2, appropriated = appropriated - $2, updated_at = $3
			WHERE programme_id = $1 AND balance >= $2 AND appropriated >= $2 RETURNING balance`, t.programmeID, t.amount, now).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			if err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT balance FROM programme_funds WHERE programme_id = $1), 0)`,
				t.programmeID).Scan(&balance); err != nil {
				return nil, err
			}
			return nil, fundShortfall(balance, t.amount)
		} else if err != nil {
			return nil, err
		}
		return map[string]any{"fund_balance": balance.StringFixed(2)}, nil
	}
	return nil, applications.Errorf(applications.Internal, "no balances for record type %q", t.record.Type)
}

// RejectReversal sends a pending reversal request back with a reason;
// nothing is posted and the entry may be requested again. Errors:
// NotFound, Forbidden, Conflict, Invalid.
func (db *DB) RejectReversal(ctx context.Context, actor audit.Actor, id int64, checkKey, comment string) (Reversal, error) {
	return rejectMoney(ctx, db, actor, reversalRecord, id, checkKey, comment)
}

// reversalConstraintMessages are the user-facing messages for the
// constraints of migration 000007 and the ledger's own one-reversal rule;
// they catch races the Go checks cannot.
var reversalConstraintMessages = map[string]string{
	"reversals_one_open":          "该凭证已有待审批或已审批的冲正申请，不能重复申请。请刷新页面查看。",
	"reversals_idempotency_key":   "该表单已提交过，请勿重复提交。",
	"reversals_reason_check":      "请填写冲正理由，最多 300 字。",
	"reversals_comment_check":     "退回时须填写理由。",
	"reversals_maker_checker":     "经办人与审批人不能是同一人。",
	"ledger_entries_reverses_key": "该凭证已被冲销，不能重复冲正。",
	"money_record_reversed_check": "原凭证尚未冲销，业务单据不能标记为已冲正。",
}
