package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
)

// The checker's side of maker–checker (DOMAIN §2): an approver approves or
// sends back what someone else prepared. checkTx is what every such action
// shares: the transaction, the maker's refusal and its audit row.
// checkMoney adds what the money records (appropriations, disbursements,
// reversals) share on top: the row lock, the check key and its retries.
// alreadyApproved is the retry rule of the proposals without a check key
// (conversions, exits, endings); RejectProposal sends any of them back.

// checker is the approver acting inside checkTx.
type checker struct {
	actorID int64
	refused bool // the approver is the maker: audit the refusal after the rollback
}

// notMaker refuses the approver when they prepared the record themselves;
// what names the record in the message. Return its error as it is, so the
// transaction rolls back. Errors: Forbidden.
func (c *checker) notMaker(preparedBy int64, what string) error {
	if preparedBy != c.actorID {
		return nil
	}
	c.refused = true
	return errSelfCheck(what)
}

// checkTx runs fn, an approver's action on the record (objectType, id), in
// one transaction (inTx), with db.Now() taken as it starts. fn locks the
// record, then calls chk.notMaker before it changes anything; a refused
// self-check is audited in a transaction of its own (the refused one is
// rolled back) as objectType + "_" + action. The error is inTx's.
func (db *DB) checkTx(ctx context.Context, actor audit.Actor, objectType string, id int64, action string,
	fn func(tx pgx.Tx, now time.Time, chk *checker) error) error {
	c := &checker{actorID: actor.ID}
	err := db.inTx(ctx, func(tx pgx.Tx) error { return fn(tx, db.Now(), c) })
	if c.refused {
		db.refuseSelfCheck(ctx, actor, objectType, id, action)
	}
	return err
}

// errSelfCheck is the refusal of a maker acting as the checker of their own
// money action or proposal (DOMAIN §2).
func errSelfCheck(what string) error {
	return applications.Errorf(applications.Forbidden,
		"您是这笔%s的经办人，不能审批自己经办的事项：经办与审批须由不同人员完成。请由其他审批人审批。", what)
}

// refuseSelfCheck writes the audit row of a refused self-check. It runs in
// its own transaction because the refused one is rolled back.
func (db *DB) refuseSelfCheck(ctx context.Context, actor audit.Actor, objectType string, id int64, action string) {
	_ = db.RecordAudit(ctx, audit.Event{Actor: actor, Name: objectType + "_" + action, ObjectType: objectType,
		ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Refused, Detail: map[string]any{"reason": "maker_is_checker"}})
}

// moneyRecord describes a maker–checker money table: one with status,
// prepared_by and check_key columns.
type moneyRecord[T any] struct {
	table      string // a fixed table name, never input
	recordType string
	what       string // the record in Chinese, for the self-check refusal
	path       string // the record's page without its ID, e.g. /disbursements/
	find       func(ctx context.Context, q ledgerQuerier, id int64) (T, error)
	checkedBy  func(T) int64
	audit      func(T) map[string]any
}

// checkMoney is an approver's decision (MoneyApproved or MoneyRejected) on
// a pending money record. In checkTx it locks the row, loads the record,
// answers a decided one with alreadyDecided (a retry with the same check
// key gets the record as it stands), refuses the maker, and only then
// calls decide with the record; decide does the rest and stores the record
// as decided in *out. Errors (for the caller to pass through mapError):
// Invalid (a malformed check key), NotFound, Forbidden,
// Conflict, and decide's.
func checkMoney[T any](ctx context.Context, db *DB, actor audit.Actor, m moneyRecord[T], id int64, checkKey string, decision applications.MoneyStatus,
	decide func(tx pgx.Tx, now time.Time, rec T, out *T) error) (T, error) {
	var out T
	if err := checkIdempotencyKey(checkKey); err != nil {
		return out, err
	}
	action := "approve"
	if decision == applications.MoneyRejected {
		action = "reject"
	}
	err := db.checkTx(ctx, actor, m.recordType, id, action, func(tx pgx.Tx, now time.Time, chk *checker) error {
		var status applications.MoneyStatus
		var preparedBy int64
		var key *string
		if err := tx.QueryRow(ctx, `SELECT status, prepared_by, check_key FROM `+m.table+` WHERE id = $1 FOR UPDATE`, id).
			Scan(&status, &preparedBy, &key); err != nil {
			return err
		}
		rec, err := m.find(ctx, tx, id)
		if err != nil {
			return err
		}
		if decided, err := alreadyDecided(status, key, checkKey, m.checkedBy(rec), actor.ID, decision); decided {
			out = rec
			return err
		}
		if err := chk.notMaker(preparedBy, m.what); err != nil {
			return err
		}
		return decide(tx, now, rec, &out)
	})
	return out, err
}

// alreadyDecided tells a checker's action on a record that is no longer
// pending: a retry of the same decision (same check key, same checker)
// succeeds with the record as it stands; anything else is a Conflict.
func alreadyDecided(status applications.MoneyStatus, storedKey *string, checkKey string, checkedBy, actorID int64, want applications.MoneyStatus) (bool, error) {
	if status == applications.MoneyPending {
		return false, nil
	}
	if status == want && storedKey != nil && *storedKey == checkKey && checkedBy == actorID {
		return true, nil
	}
	return true, applications.Errorf(applications.Conflict, "该笔记录%s，不能重复处理。请刷新页面查看最新状态。", MoneyStatusLabel(status))
}

// alreadyApproved tells the approval of a conversion, exit or ending that
// is no longer pending: approving an approved one again is done, with
// nothing to do; anything else is a Conflict naming what in Chinese.
func alreadyApproved[S applications.ConversionStatus | applications.ExitStatus | applications.EndingStatus](status S, what string) (bool, error) {
	switch applications.ConversionStatus(status) { // the three share their strings
	case applications.ConversionPending:
		return false, nil
	case applications.ConversionApproved:
		return true, nil
	}
	return true, applications.Errorf(applications.Conflict, "该%s已处理，不能重复审批。请刷新页面查看最新状态。", what)
}

// rejectMoney sends a pending money record back with a reason; nothing is
// posted. A retry with the same check key returns the record as decided;
// the maker can never be the checker. Errors: NotFound, Forbidden,
// Conflict, Invalid.
func rejectMoney[T any](ctx context.Context, db *DB, actor audit.Actor, m moneyRecord[T], id int64, checkKey, comment string) (T, error) {
	// The key first (checkMoney checks it again): a stale form is told to
	// refresh before it is told to give a reason.
	var zero T
	if err := checkIdempotencyKey(checkKey); err != nil {
		return zero, err
	}
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return zero, applications.FieldError("comment", "退回时请填写理由。")
	}
	out, err := checkMoney(ctx, db, actor, m, id, checkKey, applications.MoneyRejected, func(tx pgx.Tx, now time.Time, _ T, out *T) error {
		if _, err := tx.Exec(ctx, `UPDATE `+m.table+` SET status = 'rejected', checked_by = $2, checked_at = $3,
			check_key = $4, check_comment = $5 WHERE id = $1`, id, actor.ID, now, checkKey, comment); err != nil {
			return err
		}
		var maker int64
		if err := tx.QueryRow(ctx, `SELECT prepared_by FROM `+m.table+` WHERE id = $1`, id).Scan(&maker); err != nil {
			return err
		}
		if err := notify(ctx, tx, now, NotifySentBack, maker, m.what+"被审批人退回："+comment, m.path+strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		var err error
		if *out, err = m.find(ctx, tx, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: m.recordType + "_rejected", ObjectType: m.recordType,
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": applications.MoneyPending}, "after": m.audit(*out), "comment": comment}})
	})
	return out, mapError(err)
}

// rejectable are the proposals an approver may send back, with the status
// a sent-back one gets.
var rejectable = map[string]struct {
	table, status string
}{
	RecordConversion: {"conversions", "rejected"},
	RecordExit:       {"exits", "rejected"},
	RecordEnding:     {"endings", "rejected"},
	"terms":          {"agreements", "superseded"},
}

// RejectProposal sends a pending conversion, exit, ending or terms change
// back with a reason, posting nothing; the project can then be prepared
// again. Errors: NotFound, Forbidden (the maker), Conflict (not pending),
// Invalid (no reason).
func (db *DB) RejectProposal(ctx context.Context, actor audit.Actor, kind string, id int64, reason string) (_ int64, err error) {
	defer wrap(&err, "RejectProposal %d", id)
	t, ok := rejectable[kind]
	if !ok {
		return 0, applications.Errorf(applications.NotFound, "记录不存在。")
	}
	var appID int64
	if reason == "" {
		// With the project, so that the page the reason was missing on is
		// shown again with the message, not an error page.
		// t.table comes from the fixed map above, never input.
		if err := db.Pool.QueryRow(ctx, `SELECT application_id FROM `+t.table+` WHERE id = $1`, id).Scan(&appID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return 0, applications.Errorf(applications.NotFound, "记录不存在。")
			}
			return 0, err
		}
		return appID, applications.FieldError("reason", "退回须写明原因。")
	}
	err = db.checkTx(ctx, actor, kind, id, "reject", func(tx pgx.Tx, now time.Time, chk *checker) error {
		var maker int64
		var status string
		makerCol, pending := "prepared_by", "pending"
		if kind == "terms" {
			makerCol, pending = "created_by", "draft"
		}
		// t.table and makerCol come from the fixed map above, never input.
		if err := tx.QueryRow(ctx, `SELECT application_id, `+makerCol+`, status FROM `+t.table+` WHERE id = $1 FOR UPDATE`, id).
			Scan(&appID, &maker, &status); err != nil {
			return err
		}
		if err := chk.notMaker(maker, "事项"); err != nil {
			return err
		}
		if status != pending {
			return applications.Errorf(applications.Conflict, "该事项不是待审批状态，不能退回。")
		}
		if kind == "terms" {
			_, err := tx.Exec(ctx, `UPDATE agreements SET status = 'superseded', reason = reason || '（退回：' || $2 || '）'
				WHERE id = $1 AND version > 1`, id, reason)
			if err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `UPDATE `+t.table+` SET status = $2, checked_by = $3, checked_at = $4 WHERE id = $1`,
			id, t.status, actor.ID, now); err != nil {
			return err
		}
		link := "/applications/" + itoa64(appID) + "/equity"
		if kind == "terms" {
			link = "/applications/" + itoa64(appID) + "/agreement"
		}
		if err := notify(ctx, tx, now, NotifySentBack, maker, "事项被审批人退回："+reason, link); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: kind + "_reject", ObjectType: kind,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"application_id": appID, "reason": reason}})
	})
	return appID, err
}

// proposalTables are the tables of the proposals an approver decides on
// their project's equity page.
var proposalTables = map[string]bool{"conversions": true, "exits": true, "endings": true}

// ProposalApplication returns the project a conversion, exit or ending
// (table names which) belongs to. Errors: NotFound.
func (db *DB) ProposalApplication(ctx context.Context, table string, id int64) (_ int64, err error) {
	defer wrap(&err, "ProposalApplication %d", id)
	if !proposalTables[table] {
		return 0, fmt.Errorf("postgres: %q is not a proposal table", table)
	}
	var appID int64
	err = db.Pool.QueryRow(ctx, `SELECT application_id FROM `+table+` WHERE id = $1`, id).Scan(&appID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, applications.Errorf(applications.NotFound, "记录不存在。")
	}
	return appID, err
}
