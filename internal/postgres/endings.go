package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
)

// Kinds of ending (and the recovery receipt), each maker–checker.
const (
	EndingGrant    = "grant"     // lapsed → closed_grant: Dr 6401 / Cr 1221
	EndingRepay    = "repay"     // lapsed → recovery: Dr 1131 / Cr 1221
	EndingReceipt  = "receipt"   // recovery: Dr 1002 / Cr 1131, → recovered when nothing is owed
	EndingExtend   = "extend"    // lapsed → funded with a new terms version
	EndingWriteOff = "write_off" // 尽职免责: Dr 6711 / Cr 1221, 1511 or 1131 → written_off
)

// EndingLabel is the Chinese name.
func EndingLabel(k string) string {
	return map[string]string{EndingGrant: "转为无偿资助结题", EndingRepay: "追回资金", EndingReceipt: "收到追回款",
		EndingExtend: "延长转股期限", EndingWriteOff: "尽职免责核销"}[k]
}

// EvaluateLapses moves funded projects whose conversion window has ended
// without a verified trigger to lapsed. It runs from a periodic job and
// when a project page is opened.
func (db *DB) EvaluateLapses(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "EvaluateLapses")
	n := 0
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		rows, _ := tx.Query(ctx, `
			SELECT a.id FROM applications a JOIN agreements g ON g.application_id = a.id AND g.status = 'signed'
			WHERE a.state = 'funded'
			  AND g.signed_on + make_interval(years => (g.terms->>'window_years')::int) < $1
			ORDER BY a.id`, day.Today(now))
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := transitionTx(ctx, tx, now, audit.Actor{Name: "系统", Role: "system"}, id, applications.StateLapsed,
				"转股期限届满，未出现经核实的转股事项", nil); err != nil {
				return err
			}
			if err := notifyLiaison(ctx, tx, now, NotifyLapsed, id, "项目转股期限已届满，请按协议办理结题、追回或延期。", "/applications/"+itoa64(id)+"/equity"); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// balanceOf is a project sub-account's debit-minus-credit balance.
func balanceOf(ctx context.Context, tx querier, code ledger.Code, appID int64) (decimal.Decimal, error) {
	var d decimal.Decimal
	err := tx.QueryRow(ctx, `SELECT COALESCE(sum(CASE side WHEN 'debit' THEN amount ELSE -amount END), 0)
		FROM ledger_postings WHERE account_code = $1 AND scope = 'app' AND scope_id = $2`, string(code), appID).Scan(&d)
	return d, err
}

// Ending is a prepared or approved ending.
type Ending struct {
	ID             int64
	Kind           string
	Amount         decimal.NullDecimal
	Reason         string
	ValueDate      time.Time
	EvidenceDoc    int64
	Status         applications.EndingStatus
	PreparedBy     int64
	PreparedByName string
	CheckedByName  string
	EntrySeq       int64
	// Posts is what the approval books: the amount posted once approved;
	// while pending, the balance the approval would move today (a lapse,
	// a recovery claim and a write-off take the account balance at
	// approval), so the approver confirms a figure. Zero for an extension.
	Posts decimal.Decimal
}

// ListEndings returns an application's endings, newest first.
func (db *DB) ListEndings(ctx context.Context, appID int64) (_ []Ending, err error) {
	defer wrap(&err, "ListEndings %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT n.id, n.kind, n.amount, n.reason, n.value_date, COALESCE(n.evidence_doc, 0), n.status, n.prepared_by, pu.display_name,
		COALESCE(cu.display_name, ''), COALESCE(n.entry_seq, 0)
		FROM endings n JOIN users pu ON pu.id = n.prepared_by LEFT JOIN users cu ON cu.id = n.checked_by
		WHERE n.application_id = $1 ORDER BY n.id DESC`, appID)
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ending, error) {
		var e Ending
		return e, r.Scan(&e.ID, &e.Kind, &e.Amount, &e.Reason, &e.ValueDate, &e.EvidenceDoc, &e.Status, &e.PreparedBy, &e.PreparedByName,
			&e.CheckedByName, &e.EntrySeq)
	})
	if err != nil {
		return nil, mapError(err)
	}
	var state applications.State
	if err := db.Pool.QueryRow(ctx, `SELECT state FROM applications WHERE id = $1`, appID).Scan(&state); err != nil {
		return nil, mapError(err)
	}
	for i, e := range es {
		es[i].Posts = e.Amount.Decimal
		if e.Status != applications.EndingPending || e.Amount.Valid || e.Kind == EndingExtend {
			continue
		}
		if es[i].Posts, err = balanceOf(ctx, db.Pool, writeOffAccount(e.Kind, state), appID); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// writeOffAccount is the account an ending's approval empties: 1221 for a
// lapse or a recovery claim, and for a write-off the account the project's
// state holds its money in.
func writeOffAccount(kind string, state applications.State) ledger.Code {
	if kind != EndingWriteOff {
		return ledger.CodeInvested
	}
	switch state {
	case applications.StateConverted, applications.StateExiting:
		return ledger.CodeEquity
	case applications.StateRecovery:
		return ledger.CodeRecoveryDue
	}
	return ledger.CodeInvested
}

// EndingInput is what staff prepare.
type EndingInput struct {
	Kind      string
	Amount    decimal.Decimal // receipt only; the others take the account balance at approval
	Terms     []byte          // extend only
	Reason    string
	ValueDate time.Time
}

// allowedFrom says from which states an ending may be prepared.
var allowedFrom = map[string][]applications.State{
	EndingGrant:    {applications.StateLapsed},
	EndingRepay:    {applications.StateLapsed},
	EndingExtend:   {applications.StateLapsed},
	EndingReceipt:  {applications.StateRecovery},
	EndingWriteOff: {applications.StateFunded, applications.StateConverted, applications.StateExiting, applications.StateRecovery},
}

// PrepareEnding records staff's proposal for an approver, with its
// evidence file when given (a write-off needs one: the 尽职免责 file).
// Errors: NotFound, Conflict (wrong state, one already pending), Invalid.
func (db *DB) PrepareEnding(ctx context.Context, actor audit.Actor, appID int64, in EndingInput, key string, evidence *applications.Document) (_ int64, err error) {
	defer wrap(&err, "PrepareEnding %d", appID)
	if in.Kind == EndingWriteOff && evidence == nil {
		return 0, applications.FieldError("evidence", "核销须上传尽职免责的证明材料。")
	}
	if err := checkIdempotencyKey(key); err != nil {
		return 0, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return 0, applications.FieldError("reason", "请写明理由（核销须说明尽职免责的依据）。")
	}
	states, ok := allowedFrom[in.Kind]
	if !ok {
		return 0, applications.FieldError("kind", "请选择办理事项。")
	}
	if err := checkValueDate("value_date", in.ValueDate, db.Now()); err != nil {
		return 0, err
	}
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if err := tx.QueryRow(ctx, `SELECT id FROM endings WHERE idempotency_key = $1`, key).Scan(&id); err == nil {
			return nil
		}
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		okState := false
		for _, s := range states {
			okState = okState || a.State == s
		}
		if !okState {
			return applications.Errorf(applications.Conflict, "项目当前状态为「%s」，不能办理「%s」。", a.State.Label(), EndingLabel(in.Kind))
		}
		if in.Kind == EndingGrant {
			if err := checkGrantEnding(ctx, tx, appID); err != nil {
				return err
			}
		}
		if in.Kind == EndingWriteOff {
			var pending int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM exits WHERE application_id = $1 AND status = 'pending'`, appID).Scan(&pending); err != nil {
				return err
			}
			if pending > 0 {
				return applications.Errorf(applications.Conflict, "有待审批的退出，请先审批或退回后再办理核销。")
			}
		}
		var amount decimal.NullDecimal
		var terms []byte
		switch in.Kind {
		case EndingReceipt:
			owed, err := balanceOf(ctx, tx, ledger.CodeRecoveryDue, appID)
			if err != nil {
				return err
			}
			if !in.Amount.IsPositive() || in.Amount.GreaterThan(owed) {
				return applications.FieldError("amount", fmt.Sprintf("收款金额须大于 0 且不超过应收追回款余额 %s 元。", applications.FormatAmount(owed)))
			}
			amount = decimal.NewNullDecimal(in.Amount)
		case EndingExtend:
			t, err := applications.ParseTerms(in.Terms)
			if err != nil {
				return err
			}
			g, _, err := findSignedAgreement(ctx, tx, appID)
			if err != nil {
				return err
			}
			if t.WindowYears <= g.terms.WindowYears {
				return applications.FieldError("window_years", fmt.Sprintf("延期须把转股期限延长到 %d 年以上。", g.terms.WindowYears))
			}
			terms = in.Terms
		}
		docID, err := insertEvidence(ctx, tx, now, actor, appID, evidence)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO endings (application_id, kind, amount, terms, reason, value_date, evidence_doc, prepared_by, prepared_at, idempotency_key)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`, appID, in.Kind, amount, terms, in.Reason, in.ValueDate, docID, actor.ID, now, key).Scan(&id)
		if err != nil {
			if applications.ErrorKind(mapError(err)) == applications.Conflict {
				return applications.Errorf(applications.Conflict, "已有待审批的事项，请先审批或退回。")
			}
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveEquityProposal, EndingLabel(in.Kind)+"待审批：“"+a.Title+"”", "/applications/"+itoa64(appID)+"/equity"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "ending_prepare", ObjectType: RecordEnding,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"application_id": appID, "kind": in.Kind,
				"amount": in.Amount.StringFixed(2), "reason": in.Reason}})
	})
	return id, err
}

// ApproveEnding carries out an ending with its ledger entry and state
// change. Errors: NotFound, Forbidden (the maker), Conflict.
func (db *DB) ApproveEnding(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer wrap(&err, "ApproveEnding %d", id)
	err = db.checkTx(ctx, actor, RecordEnding, id, "approve", func(tx pgx.Tx, now time.Time, chk *checker) error {
		var appID, preparedBy int64
		var kind, reason string
		var status applications.EndingStatus
		var amount decimal.NullDecimal
		var terms []byte
		var valueDate time.Time
		if err := tx.QueryRow(ctx, `SELECT application_id, prepared_by, kind, status, reason, amount, terms, value_date
			FROM endings WHERE id = $1 FOR UPDATE`, id).Scan(&appID, &preparedBy, &kind, &status, &reason, &amount, &terms, &valueDate); err != nil {
			return err
		}
		if err := chk.notMaker(preparedBy, EndingLabel(kind)); err != nil {
			return err
		}
		if done, err := alreadyApproved(status, "事项"); done {
			return err
		}
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		var e ledger.Entry
		var to applications.State
		var posting bool
		switch kind {
		case EndingGrant, EndingRepay:
			bal, err := balanceOf(ctx, tx, ledger.CodeInvested, appID)
			if err != nil {
				return err
			}
			if kind == EndingGrant {
				if err := checkGrantEnding(ctx, tx, appID); err != nil {
					return err
				}
				e, err = ledger.LapseToGrant(a.ProgrammeID, appID, bal)
				to = applications.StateClosedGrant
			} else {
				e, err = ledger.RecoveryReceivable(appID, bal)
				to = applications.StateRecovery
			}
			if err != nil {
				return applications.InvalidLedger(err)
			}
			amount, posting = decimal.NewNullDecimal(bal), true
		case EndingReceipt:
			if e, err = ledger.RecoveryReceipt(a.ProgrammeID, appID, amount.Decimal); err != nil {
				return applications.InvalidLedger(err)
			}
			owed, err := balanceOf(ctx, tx, ledger.CodeRecoveryDue, appID)
			if err != nil {
				return err
			}
			if amount.Decimal.GreaterThan(owed) {
				return applications.Errorf(applications.Conflict, "收款金额超过应收追回款余额 %s 元。", applications.FormatAmount(owed))
			}
			if amount.Decimal.Equal(owed) {
				to = applications.StateRecovered
			}
			posting = true
			if _, err := tx.Exec(ctx, `UPDATE programme_funds SET balance = balance + $2, updated_at = $3 WHERE programme_id = $1`,
				a.ProgrammeID, amount.Decimal, now); err != nil {
				return err
			}
		case EndingWriteOff:
			from := writeOffAccount(kind, a.State)
			bal, err := balanceOf(ctx, tx, from, appID)
			if err != nil {
				return err
			}
			if e, err = ledger.WriteOff(a.ProgrammeID, appID, from, bal); err != nil {
				return applications.InvalidLedger(err)
			}
			if err := checkLoss(ctx, tx, now, actor, RecordEnding, id, a.ProgrammeID, bal); err != nil { // DOMAIN §16
				return err
			}
			amount, to, posting = decimal.NewNullDecimal(bal), applications.StateWrittenOff, true
		case EndingExtend:
			if err := extendTerms(ctx, tx, now, actor, preparedBy, appID, terms, reason); err != nil {
				return err
			}
			to = applications.StateFunded
		}
		var seq *int64
		if posting {
			e.Memo = fmt.Sprintf("%s：%s（%s）", EndingLabel(kind), a.Title, reason)
			e.ValueDate, e.Record = valueDate, ledger.RecordRef{Type: RecordEnding, ID: id}
			e.MakerID, e.CheckerID, e.IdempotencyKey = preparedBy, actor.ID, RecordEnding+"/"+itoa64(id)
			posted, _, err := postEntry(ctx, tx, now, e)
			if err != nil {
				return err
			}
			seq = &posted.Seq
		}
		if _, err := tx.Exec(ctx, `UPDATE endings SET status = 'approved', amount = COALESCE($2, amount), checked_by = $3, checked_at = $4, entry_seq = $5
			WHERE id = $1`, id, amount, actor.ID, now, seq); err != nil {
			return err
		}
		if to != "" {
			if _, err := transitionTx(ctx, tx, now, actor, appID, to, EndingLabel(kind)+"："+reason, nil); err != nil {
				return err
			}
		}
		if to == applications.StateRecovery {
			if err := notifyLiaison(ctx, tx, now, NotifyRecovery, appID, "项目“"+a.Title+"”进入追回程序，请跟进并登记追回款。", "/applications/"+itoa64(appID)+"/equity"); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "ending_approve", ObjectType: RecordEnding,
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: map[string]any{"kind": kind, "amount": amount.Decimal.StringFixed(2), "entry_seq": seq}})
	})
	return mapError(err)
}

// extendTerms puts an approved extension in force as a new agreement
// version, keeping the signing date (the window runs from it).
func extendTerms(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, maker, appID int64, terms []byte, reason string) error {
	var version int
	var amount decimal.Decimal
	var signedOn time.Time
	if err := tx.QueryRow(ctx, `UPDATE agreements SET status = 'superseded' WHERE application_id = $1 AND status = 'signed'
		RETURNING version, amount, signed_on`, appID).Scan(&version, &amount, &signedOn); err != nil {
		return err
	}
	var max int
	if err := tx.QueryRow(ctx, `SELECT max(version) FROM agreements WHERE application_id = $1`, appID).Scan(&max); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO agreements (application_id, version, terms, amount, status, signed_on, reason, created_by, approved_by, created_at)
		VALUES ($1, $2, $3, $4, 'signed', $5, $6, $7, $8, $9)`, appID, max+1, terms, amount, signedOn, "延长转股期限："+reason, maker, actor.ID, now)
	return err
}
