package postgres

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
)

// MoneyStatusLabel is the Chinese name of a money record status.
func MoneyStatusLabel(s applications.MoneyStatus) string { return applications.MoneyStatusLabel(s) }

// Appropriation is fiscal money paid into a programme's fund (财政拨入):
// recorded by staff or an admin, approved by an approver, and then posted
// Dr 1002 / Cr 3001.
type Appropriation struct {
	ID           int64
	ProgrammeID  int64
	Programme    string
	Amount       decimal.Decimal
	ValueDate    time.Time
	Reference    string // 文号 or bank reference
	Note         string
	Status       applications.MoneyStatus
	PreparedBy   int64
	PreparerName string
	PreparedAt   time.Time
	CheckedBy    int64
	CheckerName  string
	CheckedAt    time.Time
	CheckComment string
	EntrySeq     int64
}

// AppropriationInput is what the maker submits.
type AppropriationInput struct {
	ProgrammeID    int64
	Amount         decimal.Decimal
	ValueDate      time.Time
	Reference      string
	Note           string
	IdempotencyKey string
}

var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,100}$`)

// checkIdempotencyKey refuses a form without the key it was rendered
// with: without one a double submit could not be recognised.
func checkIdempotencyKey(k string) error {
	if !idempotencyKeyPattern.MatchString(k) {
		return applications.Errorf(applications.Invalid, "表单缺少防重复提交标识，请刷新页面后重新填写提交。")
	}
	return nil
}

func checkMoneyReference(ref string) error {
	switch n := utf8.RuneCountInString(ref); {
	case strings.TrimSpace(ref) == "":
		return applications.FieldError("reference", "请填写凭证号或银行流水号。")
	case n > 100:
		return applications.FieldError("reference", "凭证号或银行流水号最多 100 个字符。")
	}
	return nil
}

func checkMoneyNote(note string) error {
	if utf8.RuneCountInString(note) > 500 {
		return applications.FieldError("note", "备注最多 500 字。")
	}
	return nil
}

const appropriationColumns = `x.id, x.programme_id, p.name, x.amount, x.value_date, x.reference, x.note, x.status,
	x.prepared_by, mu.display_name, x.prepared_at, COALESCE(x.checked_by, 0), COALESCE(cu.display_name, ''),
	x.checked_at, x.check_comment, COALESCE(x.entry_seq, 0)`

const appropriationFrom = ` FROM appropriations x JOIN programmes p ON p.id = x.programme_id
	JOIN users mu ON mu.id = x.prepared_by LEFT JOIN users cu ON cu.id = x.checked_by `

func scanAppropriation(row pgx.CollectableRow) (Appropriation, error) {
	var a Appropriation
	var checkedAt *time.Time
	err := row.Scan(&a.ID, &a.ProgrammeID, &a.Programme, &a.Amount, &a.ValueDate, &a.Reference, &a.Note, &a.Status,
		&a.PreparedBy, &a.PreparerName, &a.PreparedAt, &a.CheckedBy, &a.CheckerName, &checkedAt, &a.CheckComment, &a.EntrySeq)
	if checkedAt != nil {
		a.CheckedAt = *checkedAt
	}
	return a, err
}

func findAppropriation(ctx context.Context, q ledgerQuerier, id int64) (Appropriation, error) {
	rows, _ := q.Query(ctx, `SELECT `+appropriationColumns+appropriationFrom+`WHERE x.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanAppropriation)
}

// FindAppropriation returns one appropriation. Errors: NotFound.
func (db *DB) FindAppropriation(ctx context.Context, id int64) (_ Appropriation, err error) {
	defer wrap(&err, "FindAppropriation %d", id)
	a, err := findAppropriation(ctx, db.Pool, id)
	return a, mapError(err)
}

// AppropriationFilter selects appropriations, newest first.
type AppropriationFilter struct {
	ProgrammeID int64
	Status      applications.MoneyStatus // "" for any
	BeforeID    int64                    // keyset: rows with id < BeforeID; 0 = newest
	Limit       int
}

// ListAppropriations returns one page of appropriations, newest first.
func (db *DB) ListAppropriations(ctx context.Context, f AppropriationFilter) (_ []Appropriation, err error) {
	defer wrap(&err, "ListAppropriations")
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, _ := db.Pool.Query(ctx, `SELECT `+appropriationColumns+appropriationFrom+`
		WHERE ($1 = 0 OR x.programme_id = $1) AND ($2 = '' OR x.status = $2) AND ($3 = 0 OR x.id < $3)
		ORDER BY x.id DESC LIMIT $4`, f.ProgrammeID, string(f.Status), f.BeforeID, f.Limit)
	as, err := pgx.CollectRows(rows, scanAppropriation)
	return as, mapError(err)
}

func appropriationAudit(a Appropriation) map[string]any {
	return map[string]any{"programme_id": a.ProgrammeID, "amount": a.Amount.StringFixed(2),
		"value_date": a.ValueDate.Format(time.DateOnly), "reference": a.Reference, "status": a.Status}
}

// appropriationRecord is the appropriations table for checkMoney.
var appropriationRecord = moneyRecord[Appropriation]{table: "appropriations", recordType: applications.RecordAppropriation,
	what: "财政拨入", path: "/ledger/appropriations/", find: findAppropriation, checkedBy: func(a Appropriation) int64 { return a.CheckedBy },
	audit: appropriationAudit}

// RecordAppropriation records fiscal money paid into a programme's fund,
// pending an approver. A retry with the same idempotency key returns the
// record the first attempt made. Errors: Invalid, NotFound (programme),
// Conflict (the key was used for something else).
func (db *DB) RecordAppropriation(ctx context.Context, actor audit.Actor, in AppropriationInput) (_ Appropriation, err error) {
	defer wrap(&err, "RecordAppropriation programme %d", in.ProgrammeID)
	if err := checkIdempotencyKey(in.IdempotencyKey); err != nil {
		return Appropriation{}, err
	}
	if _, err := ledger.Appropriation(max(in.ProgrammeID, 1), in.Amount); err != nil {
		var le *ledger.Error
		if errors.As(err, &le) {
			return Appropriation{}, applications.FieldError("amount", "请填写大于零、最多两位小数的金额。")
		}
		return Appropriation{}, err
	}
	now := db.Now()
	if err := checkValueDate("value_date", in.ValueDate, now); err != nil {
		return Appropriation{}, err
	}
	in.Reference, in.Note = strings.TrimSpace(in.Reference), strings.TrimSpace(in.Note)
	if err := checkMoneyReference(in.Reference); err != nil {
		return Appropriation{}, err
	}
	if err := checkMoneyNote(in.Note); err != nil {
		return Appropriation{}, err
	}
	var out Appropriation
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := findProgramme(ctx, tx, in.ProgrammeID, false); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return applications.FieldError("programme_id", "请选择专项批次。")
			}
			return err
		}
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO appropriations (programme_id, amount, value_date, reference, note, idempotency_key, prepared_by, prepared_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			in.ProgrammeID, in.Amount, day.Date(in.ValueDate), in.Reference, in.Note, in.IdempotencyKey, actor.ID, now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// A retry: the first attempt's record is the answer.
			if err := tx.QueryRow(ctx, `SELECT id FROM appropriations WHERE idempotency_key = $1`, in.IdempotencyKey).Scan(&id); err != nil {
				return err
			}
			if out, err = findAppropriation(ctx, tx, id); err != nil {
				return err
			}
			if out.PreparedBy != actor.ID || out.ProgrammeID != in.ProgrammeID {
				return applications.Errorf(applications.Conflict, "该表单标识已被另一笔记录使用，请刷新页面后重新填写。")
			}
			return nil
		} else if err != nil {
			return err
		}
		if out, err = findAppropriation(ctx, tx, id); err != nil {
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveAppropriation, "财政拨入待审批："+applications.FormatAmount(out.Amount)+" 元", "/ledger/appropriations/"+itoa64(id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "appropriation_recorded", ObjectType: applications.RecordAppropriation,
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success, Detail: map[string]any{"after": appropriationAudit(out)}})
	})
	return out, mapError(err)
}

// ApproveAppropriation approves a pending appropriation: in one
// transaction the fund's balance rises, the entry Dr 1002 / Cr 3001 is
// posted and the audit row written. Approving again with the same check
// key returns the approved record (a retried request posts once). Errors:
// NotFound, Forbidden (the maker may not check), Conflict (already
// decided), Invalid.
func (db *DB) ApproveAppropriation(ctx context.Context, actor audit.Actor, id int64, checkKey string) (_ Appropriation, err error) {
	defer wrap(&err, "ApproveAppropriation %d", id)
	out, err := checkMoney(ctx, db, actor, appropriationRecord, id, checkKey, applications.MoneyApproved, func(tx pgx.Tx, now time.Time, a Appropriation, out *Appropriation) error {
		if _, err := tx.Exec(ctx, `INSERT INTO programme_funds (programme_id, updated_at) VALUES ($1, $2)
			ON CONFLICT (programme_id) DO NOTHING`, a.ProgrammeID, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE programme_funds SET balance = balance + $2, appropriated = appropriated + $2,
			updated_at = $3 WHERE programme_id = $1`, a.ProgrammeID, a.Amount, now); err != nil {
			return err
		}
		e, err := ledger.Appropriation(a.ProgrammeID, a.Amount)
		if err != nil {
			return applications.InvalidLedger(err)
		}
		e.Memo = "财政拨入专项资金：" + a.Programme + "（" + a.Reference + "）"
		e.ValueDate = a.ValueDate
		e.Record = ledger.RecordRef{Type: applications.RecordAppropriation, ID: a.ID}
		e.MakerID, e.CheckerID = a.PreparedBy, actor.ID
		e.IdempotencyKey = applications.RecordAppropriation + "/" + strconv.FormatInt(a.ID, 10)
		posted, _, err := postEntry(ctx, tx, now, e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE appropriations SET status = 'approved', checked_by = $2, checked_at = $3,
			check_key = $4, entry_seq = $5 WHERE id = $1`, id, actor.ID, now, checkKey, posted.Seq); err != nil {
			return err
		}
		if *out, err = findAppropriation(ctx, tx, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "appropriation_approved", ObjectType: applications.RecordAppropriation,
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": applications.MoneyPending}, "after": appropriationAudit(*out),
				"entry_seq": posted.Seq, "entry_hash": posted.Hash}})
	})
	return out, mapError(err)
}

// RejectAppropriation sends a pending appropriation back with a reason;
// nothing is posted. Errors: NotFound, Forbidden, Conflict, Invalid.
func (db *DB) RejectAppropriation(ctx context.Context, actor audit.Actor, id int64, checkKey, comment string) (_ Appropriation, err error) {
	defer wrap(&err, "RejectAppropriation %d", id)
	return rejectMoney(ctx, db, actor, appropriationRecord, id, checkKey, comment)
}

// FundBalance is one programme's fund as the money rules see it.
type FundBalance struct {
	ProgrammeID  int64
	Programme    string
	Balance      decimal.Decimal
	Appropriated decimal.Decimal
	Disbursed    decimal.Decimal
	Pending      decimal.Decimal // disbursements recorded and not yet decided
}

// ListFunds returns every programme's fund, newest programme first.
func (db *DB) ListFunds(ctx context.Context) (_ []FundBalance, err error) {
	defer wrap(&err, "ListFunds")
	rows, _ := db.Pool.Query(ctx, `
		SELECT p.id, p.name, COALESCE(f.balance, 0), COALESCE(f.appropriated, 0), COALESCE(f.disbursed, 0),
			COALESCE((SELECT sum(amount) FROM disbursements d WHERE d.programme_id = p.id AND d.status = 'pending'), 0)
		FROM programmes p LEFT JOIN programme_funds f ON f.programme_id = p.id
		ORDER BY p.year DESC, p.id DESC`)
	fs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (FundBalance, error) {
		var f FundBalance
		err := row.Scan(&f.ProgrammeID, &f.Programme, &f.Balance, &f.Appropriated, &f.Disbursed, &f.Pending)
		return f, err
	})
	return fs, mapError(err)
}
