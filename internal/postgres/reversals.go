package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
)

const reversalColumns = `r.id, r.original_seq, o.kind, o.memo, o.record_type, o.record_id, o.value_date,
	COALESCE((SELECT sum(q.amount) FROM ledger_postings q WHERE q.entry_seq = o.seq AND q.side = 'debit'), 0),
	r.reason, r.status, r.prepared_by, mu.display_name, r.prepared_at, COALESCE(r.checked_by, 0),
	COALESCE(cu.display_name, ''), r.checked_at, r.check_comment, COALESCE(r.entry_seq, 0)`

const reversalFrom = ` FROM reversals r JOIN ledger_entries o ON o.seq = r.original_seq
	JOIN users mu ON mu.id = r.prepared_by LEFT JOIN users cu ON cu.id = r.checked_by `

func scanReversal(row pgx.CollectableRow) (applications.Reversal, error) {
	var r applications.Reversal
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

func findReversal(ctx context.Context, q ledgerQuerier, id int64) (applications.Reversal, error) {
	rows, _ := q.Query(ctx, `SELECT `+reversalColumns+reversalFrom+`WHERE r.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanReversal)
}

// FindReversal returns one reversal request. Errors: NotFound.
func (db *DB) FindReversal(ctx context.Context, id int64) (_ applications.Reversal, err error) {
	defer wrap(&err, "FindReversal %d", id)
	r, err := findReversal(ctx, db.Pool, id)
	return r, mapError(err)
}

// ReversalFilter selects reversal requests, newest first.
type ReversalFilter struct {
	Status   applications.MoneyStatus // "" for any
	BeforeID int64                    // keyset: rows with id < BeforeID; 0 = newest
	Limit    int
}

// ListReversals returns one page of reversal requests, newest first.
func (db *DB) ListReversals(ctx context.Context, f ReversalFilter) (_ []applications.Reversal, err error) {
	defer wrap(&err, "ListReversals")
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+reversalColumns+reversalFrom+`
		WHERE ($1 = '' OR r.status = $1) AND ($2 = 0 OR r.id < $2)
		ORDER BY r.id DESC LIMIT $3`, string(f.Status), f.BeforeID, f.Limit)
	rs, err := pgx.CollectRows(rows, scanReversal)
	return rs, mapError(err)
}

// EntryReversal is what the entry page needs to offer a correction: the
// open request for the entry, if any, and whether one may be made now.
type EntryReversal struct {
	Open    applications.Reversal // the pending or approved request; ID 0 when none
	Allowed bool
	Refusal string // why not, in Chinese, when !Allowed
}

// FindEntryReversal tells whether entry seq can be reversed now, and the
// request already open for it. It runs the same checks RequestReversal
// does, in a read-only snapshot. Errors: NotFound.
func (db *DB) FindEntryReversal(ctx context.Context, seq int64) (_ EntryReversal, err error) {
	defer wrap(&err, "FindEntryReversal %d", seq)
	var out EntryReversal
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
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

// lockReversalRecord takes the row locks the approval of the entry's
// business record took, in the same order (the record, then for a
// disbursement its application; the fund and the ledger chain follow in
// restoreBalances and postEntry, the order every money action takes), so a
// request or an approval of its reversal waits for anything else acting on
// that record instead of deadlocking with it. Entries the app cannot undo
// lock nothing.
func lockReversalRecord(ctx context.Context, tx pgx.Tx, e ledger.Entry) error {
	switch {
	case e.Kind == ledger.KindAppropriation && e.Record.Type == applications.RecordAppropriation:
		_, err := tx.Exec(ctx, `SELECT 1 FROM appropriations WHERE id = $1 FOR UPDATE`, e.Record.ID)
		return err
	case e.Kind == ledger.KindDisbursement && e.Record.Type == applications.RecordDisbursement:
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
// business record the reversal undoes; it reads what the rules
// (applications.ReversalCandidate, applications.ReversalTarget) decide on.
// self is the request being approved (0 when asking), which does not count
// as an open request. Errors: Conflict (a reversal, already reversed or
// requested, or the money has moved on), Invalid (a kind of entry the app
// cannot undo).
func checkReversible(ctx context.Context, q ledgerQuerier, e ledger.Entry, self int64) (applications.ReversalTarget, error) {
	c := applications.ReversalCandidate{Entry: e}
	if e.Kind != ledger.KindReversal {
		err := q.QueryRow(ctx, `SELECT seq FROM ledger_entries WHERE reverses = $1`, e.Seq).Scan(&c.ReversedBy)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return applications.ReversalTarget{}, err
		}
		err = q.QueryRow(ctx, `SELECT id, status FROM reversals WHERE original_seq = $1 AND status IN ('pending','approved')
			AND id <> $2 ORDER BY id LIMIT 1`, e.Seq, self).Scan(&c.OpenID, &c.OpenStatus)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return applications.ReversalTarget{}, err
		}
	}
	recordType, err := c.Check()
	if err != nil {
		return applications.ReversalTarget{}, err
	}
	t, err := loadReversalTarget(ctx, q, recordType, e.Record)
	if err != nil {
		return t, err
	}
	return t, t.Check(e.Seq)
}

// loadReversalTarget reads the business record a reversal would undo, and
// what its rule needs besides: the fund of an appropriation, the project
// of a disbursement.
func loadReversalTarget(ctx context.Context, q ledgerQuerier, recordType string, ref ledger.RecordRef) (applications.ReversalTarget, error) {
	t := applications.ReversalTarget{Record: ref}
	var entrySeq *int64
	var err error
	if recordType == applications.RecordDisbursement {
		err = q.QueryRow(ctx, `SELECT application_id, programme_id, amount, status, entry_seq FROM disbursements WHERE id = $1`,
			ref.ID).Scan(&t.AppID, &t.ProgrammeID, &t.Amount, &t.Status, &entrySeq)
	} else {
		err = q.QueryRow(ctx, `SELECT programme_id, amount, status, entry_seq FROM appropriations WHERE id = $1`, ref.ID).
			Scan(&t.ProgrammeID, &t.Amount, &t.Status, &entrySeq)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return t, nil // t.Found is false: the rule refuses
	} else if err != nil {
		return t, err
	}
	t.Found = true
	if entrySeq != nil {
		t.EntrySeq = *entrySeq
	}
	if recordType == applications.RecordAppropriation {
		err = q.QueryRow(ctx, `SELECT COALESCE((SELECT balance FROM programme_funds WHERE programme_id = $1), 0)`,
			t.ProgrammeID).Scan(&t.FundBalance)
		return t, err
	}
	var state string
	err = q.QueryRow(ctx, `SELECT state, disbursed,
			EXISTS (SELECT 1 FROM endings WHERE application_id = a.id AND status = 'pending')
		FROM applications a WHERE id = $1`, t.AppID).Scan(&state, &t.AppDisbursed, &t.EndingPending)
	t.AppState = applications.State(state)
	return t, err
}

// reversalTable is the table of the business record a reversal undoes (a
// fixed name, never input).
func reversalTable(t applications.ReversalTarget) string {
	if t.Record.Type == applications.RecordDisbursement {
		return "disbursements"
	}
	return "appropriations"
}

func reversalAudit(r applications.Reversal) map[string]any {
	return map[string]any{"original_seq": r.OriginalSeq, "kind": string(r.Kind), "record": r.Record.String(),
		"amount": r.Amount.StringFixed(2), "reason": r.Reason, "status": r.Status}
}

// RequestReversal asks for entry in.EntrySeq to be reversed, pending an
// approver. It refuses a reversal entry, an entry already reversed or
// with an open request, and kinds of entry the app cannot undo together
// with their business record (only approved appropriations and
// disbursements can be); an appropriation whose money has been disbursed
// since is refused too. A retry with the same idempotency key returns the
// first attempt's request. Errors: Invalid, Conflict.
func (db *DB) RequestReversal(ctx context.Context, actor audit.Actor, in applications.ReversalInput) (_ applications.Reversal, err error) {
	defer wrap(&err, "RequestReversal entry %d", in.EntrySeq)
	if err := checkIdempotencyKey(in.IdempotencyKey); err != nil {
		return applications.Reversal{}, err
	}
	if in.EntrySeq <= 0 {
		return applications.Reversal{}, applications.FieldError("entry_seq", "请填写要冲正的凭证号（正整数）。")
	}
	reason, err := applications.CheckReversalReason(in.Reason)
	if err != nil {
		return applications.Reversal{}, err
	}
	var out applications.Reversal
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
		if err := applications.CheckReversalRequester(applications.Role(actor.Role)); err != nil {
			return err
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
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveReversal, fmt.Sprintf("冲正申请待审批：第 %d 号凭证", e.Seq), "/ledger/reversals/"+itoa64(id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "reversal_requested", ObjectType: applications.RecordReversal,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"after": reversalAudit(out)}})
	})
	return out, mapError(err)
}

// reversalRecord is the reversals table for checkMoney.
var reversalRecord = moneyRecord[applications.Reversal]{table: "reversals", recordType: applications.RecordReversal,
	what: "冲正申请", path: "/ledger/reversals/", find: findReversal, checkedBy: func(r applications.Reversal) int64 { return r.CheckedBy },
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
func (db *DB) ApproveReversal(ctx context.Context, actor audit.Actor, id int64, checkKey string) (_ applications.Reversal, err error) {
	defer wrap(&err, "ApproveReversal %d", id)
	out, err := checkMoney(ctx, db, actor, reversalRecord, id, checkKey, applications.MoneyApproved, func(tx pgx.Tx, now time.Time, r applications.Reversal, out *applications.Reversal) error {
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
		e, err := t.Entry(orig, r, actor.ID, day.Today(now))
		if err != nil {
			return err
		}
		posted, _, err := postEntry(ctx, tx, now, e)
		if err != nil {
			return err
		}
		// After the entry: the guard lets a record become reversed only
		// once its entry is.
		tag, err := tx.Exec(ctx, `UPDATE `+reversalTable(t)+` SET status = 'reversed' WHERE id = $1 AND status = 'approved'`, t.Record.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return t.ErrMismatch("已变更", orig.Seq)
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
		if err := appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "reversal_approved", ObjectType: applications.RecordReversal,
			ObjectID: itoa64(id), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": applications.MoneyPending}, "after": reversalAudit(*out),
				"entry_seq": posted.Seq, "entry_hash": posted.Hash, "restored": restored}}); err != nil {
			return err
		}
		// The record's own trail shows it was undone, and by what.
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: t.Record.Type + "_reversed", ObjectType: t.Record.Type,
			ObjectID: itoa64(t.Record.ID), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": applications.MoneyApproved}, "after": map[string]any{"status": applications.MoneyReversed},
				"reversal_id": id, "entry_seq": posted.Seq, "reverses": orig.Seq}})
	})
	return out, mapError(err)
}

// undoFunding moves a project back to contracted when the disbursement
// just reversed was all it had been paid (applications.UndoesFunding). It
// is the one move back to contracted, so it bypasses the transition table,
// under the application lock the approval already holds.
func undoFunding(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, t applications.ReversalTarget, reversalID int64) error {
	if !t.PaidProject() {
		return nil
	}
	var disbursed decimal.Decimal
	if err := tx.QueryRow(ctx, `SELECT disbursed FROM applications WHERE id = $1`, t.AppID).Scan(&disbursed); err != nil {
		return err
	}
	a, err := findApplication(ctx, tx, t.AppID, false)
	if err != nil || !applications.UndoesFunding(a.State, disbursed) {
		return err
	}
	_, err = moveState(ctx, tx, now, actor, a, applications.StateContracted, applications.UndoFundingReason(reversalID))
	return err
}

// restoreBalances undoes what approving t's record did to the balances the
// money rules keep, with guarded UPDATEs (CHECK constraints back them), and
// returns the new figures for the audit row.
func restoreBalances(ctx context.Context, tx pgx.Tx, now time.Time, t applications.ReversalTarget) (map[string]any, error) {
	switch t.Record.Type {
	case applications.RecordDisbursement:
		var disbursed, balance decimal.Decimal
		err := tx.QueryRow(ctx, `UPDATE applications SET disbursed = disbursed - $2
			WHERE id = $1 AND disbursed >= $2 RETURNING disbursed`, t.AppID, t.Amount).Scan(&disbursed)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, applications.Errorf(applications.Conflict, "项目累计拨付少于本笔金额，与台账不符，不能冲正。请审计人员先运行台账校验。")
		} else if err != nil {
			return nil, err
		}
		err = tx.QueryRow(ctx, `UPDATE programme_funds SET balance = balance + $2, disbursed = disbursed - $2, updated_at = $3
			WHERE programme_id = $1 AND disbursed >= $2 RETURNING balance`, t.ProgrammeID, t.Amount, now).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, applications.Errorf(applications.Conflict, "专项资金拨付累计少于本笔金额，与台账不符，不能冲正。请审计人员先运行台账校验。")
		} else if err != nil {
			return nil, err
		}
		return map[string]any{"application_disbursed": disbursed.StringFixed(2), "fund_balance": balance.StringFixed(2)}, nil
	case applications.RecordAppropriation:
		var balance decimal.Decimal
		err := tx.QueryRow(ctx, `UPDATE programme_funds SET balance = balance - $2, appropriated = appropriated - $2, updated_at = $3
			WHERE programme_id = $1 AND balance >= $2 AND appropriated >= $2 RETURNING balance`, t.ProgrammeID, t.Amount, now).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			if err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT balance FROM programme_funds WHERE programme_id = $1), 0)`,
				t.ProgrammeID).Scan(&balance); err != nil {
				return nil, err
			}
			return nil, applications.ErrReversalFundShort(balance, t.Amount)
		} else if err != nil {
			return nil, err
		}
		return map[string]any{"fund_balance": balance.StringFixed(2)}, nil
	}
	return nil, applications.Errorf(applications.Internal, "no balances for record type %q", t.Record.Type)
}

// RejectReversal sends a pending reversal request back with a reason;
// nothing is posted and the entry may be requested again. Errors:
// NotFound, Forbidden, Conflict, Invalid.
func (db *DB) RejectReversal(ctx context.Context, actor audit.Actor, id int64, checkKey, comment string) (_ applications.Reversal, err error) {
	defer wrap(&err, "RejectReversal %d", id)
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
