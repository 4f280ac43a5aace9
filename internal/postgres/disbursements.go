package postgres

import (
	"context"
	"errors"
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

const disbursementColumns = `d.id, d.application_id, a.title, en.name, d.programme_id, p.name, d.agreement_id, g.version,
	d.tranche, d.amount, d.value_date, d.reference, d.note, d.status, d.prepared_by, mu.display_name, d.prepared_at,
	COALESCE(d.checked_by, 0), COALESCE(cu.display_name, ''), d.checked_at, d.check_comment, COALESCE(d.entry_seq, 0)`

const disbursementFrom = ` FROM disbursements d JOIN applications a ON a.id = d.application_id
	JOIN enterprises en ON en.id = a.enterprise_id JOIN programmes p ON p.id = d.programme_id
	JOIN agreements g ON g.id = d.agreement_id JOIN users mu ON mu.id = d.prepared_by
	LEFT JOIN users cu ON cu.id = d.checked_by `

func scanDisbursement(row pgx.CollectableRow) (applications.Disbursement, error) {
	var d applications.Disbursement
	var checkedAt *time.Time
	err := row.Scan(&d.ID, &d.ApplicationID, &d.Title, &d.Enterprise, &d.ProgrammeID, &d.Programme, &d.AgreementID,
		&d.AgreementVersion, &d.Tranche, &d.Amount, &d.ValueDate, &d.Reference, &d.Note, &d.Status, &d.PreparedBy,
		&d.PreparerName, &d.PreparedAt, &d.CheckedBy, &d.CheckerName, &checkedAt, &d.CheckComment, &d.EntrySeq)
	if checkedAt != nil {
		d.CheckedAt = *checkedAt
	}
	return d, err
}

func findDisbursement(ctx context.Context, q ledgerQuerier, id int64) (applications.Disbursement, error) {
	rows, _ := q.Query(ctx, `SELECT `+disbursementColumns+disbursementFrom+`WHERE d.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanDisbursement)
}

// FindDisbursement returns one disbursement. Errors: NotFound.
func (db *DB) FindDisbursement(ctx context.Context, id int64) (_ applications.Disbursement, err error) {
	defer wrap(&err, "FindDisbursement %d", id)
	d, err := findDisbursement(ctx, db.Pool, id)
	return d, mapError(err)
}

// DisbursementFilter selects disbursements, newest first.
type DisbursementFilter struct {
	ApplicationID int64
	Status        applications.MoneyStatus // "" for any
	BeforeID      int64                    // keyset: rows with id < BeforeID; 0 = newest
	Limit         int
}

// ListDisbursements returns one page of disbursements, newest first.
func (db *DB) ListDisbursements(ctx context.Context, f DisbursementFilter) (_ []applications.Disbursement, err error) {
	defer wrap(&err, "ListDisbursements application %d", f.ApplicationID)
	ds, err := listDisbursements(ctx, db.Pool, f)
	return ds, mapError(err)
}

func listDisbursements(ctx context.Context, q ledgerQuerier, f DisbursementFilter) ([]applications.Disbursement, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, _ := q.Query(ctx, `SELECT `+disbursementColumns+disbursementFrom+`
		WHERE ($1 = 0 OR d.application_id = $1) AND ($2 = '' OR d.status = $2) AND ($3 = 0 OR d.id < $3)
		ORDER BY d.id DESC LIMIT $4`, f.ApplicationID, string(f.Status), f.BeforeID, f.Limit)
	return pgx.CollectRows(rows, scanDisbursement)
}

// signedAgreement is the agreement in force, read inside a transaction.
type signedAgreement struct {
	id       int64
	version  int
	amount   decimal.Decimal
	signedOn time.Time
	terms    applications.Terms
}

// signedAgreementSQL reads the agreement in force (at most one:
// agreements_one_signed).
const signedAgreementSQL = `SELECT id, version, amount, signed_on, terms::text FROM agreements
	WHERE application_id = $1 AND status = 'signed'`

// scanSignedAgreement scans a row of signedAgreementSQL, its terms parsed.
func scanSignedAgreement(row pgx.CollectableRow) (signedAgreement, error) {
	var g signedAgreement
	var raw string
	var signed *time.Time
	if err := row.Scan(&g.id, &g.version, &g.amount, &signed, &raw); err != nil {
		return g, err
	}
	if signed != nil {
		g.signedOn = *signed
	}
	var err error
	g.terms, err = applications.ParseTerms([]byte(raw))
	return g, err
}

func findSignedAgreement(ctx context.Context, q ledgerQuerier, appID int64) (signedAgreement, bool, error) {
	rows, _ := q.Query(ctx, signedAgreementSQL, appID)
	g, err := pgx.CollectExactlyOneRow(rows, scanSignedAgreement)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, false, nil
	}
	return g, err == nil, err
}

// planReads is what a project's disbursement plan is made of, read by one
// batch (queuePlan): the money action's transaction and the application
// page each pay one round trip for it instead of five.
type planReads struct {
	fund          decimal.Decimal
	agreements    []signedAgreement         // none before signing, else one
	acceptances   []applications.Acceptance // the latest, if any
	sums          []trancheSum
	confirmations []applications.MilestoneConfirmation
}

// trancheSum is what a tranche has paid or has pending. Rejected and
// reversed disbursements paid nothing: their amounts are available again.
type trancheSum struct {
	tranche int
	status  applications.MoneyStatus
	sum     decimal.Decimal
}

func queuePlan(b *pgx.Batch, appID int64, r *planReads) {
	b.Queue(`SELECT COALESCE((SELECT f.balance FROM programme_funds f JOIN applications a ON a.programme_id = f.programme_id
		WHERE a.id = $1), 0)`, appID).QueryRow(func(row pgx.Row) error { return row.Scan(&r.fund) })
	queueRows(b, signedAgreementSQL, appID, scanSignedAgreement, &r.agreements)
	queueRows(b, latestAcceptanceSQL, appID, scanAcceptance, &r.acceptances)
	queueRows(b, `SELECT tranche, status, sum(amount) FROM disbursements
		WHERE application_id = $1 AND status IN ('pending','approved') GROUP BY tranche, status`, appID,
		func(row pgx.CollectableRow) (trancheSum, error) {
			var t trancheSum
			return t, row.Scan(&t.tranche, &t.status, &t.sum)
		}, &r.sums)
	queueRows(b, `SELECT m.tranche, m.milestone, m.note, u.display_name, m.confirmed_at
		FROM milestone_confirmations m JOIN users u ON u.id = m.confirmed_by
		WHERE m.agreement_id = (SELECT id FROM agreements WHERE application_id = $1 AND status = 'signed')`, appID,
		func(row pgx.CollectableRow) (applications.MilestoneConfirmation, error) {
			var m applications.MilestoneConfirmation
			return m, row.Scan(&m.Tranche, &m.Milestone, &m.Note, &m.ConfirmedBy, &m.ConfirmedAt)
		}, &r.confirmations)
}

// plan assembles application a's plan from its reads.
func (r *planReads) plan(a applications.Application) (applications.DisbursementPlan, error) {
	p := applications.DisbursementPlan{App: a, Approved: a.ApprovedAmount, Disbursed: decimal.Zero, Pending: decimal.Zero, FundBalance: r.fund}
	if len(r.agreements) == 0 {
		return p, nil
	}
	g := r.agreements[0]
	p.AgreementID, p.AgreementVersion, p.AgreementAmount, p.SignedOn = g.id, g.version, g.amount, g.signedOn
	var err error
	if p.Tranches, err = applications.TranchePlan(g.terms, g.amount, g.signedOn); err != nil {
		return p, err
	}
	var latest *applications.Acceptance
	if len(r.acceptances) > 0 {
		latest = &r.acceptances[0]
	}
	p.WithAcceptance(latest)
	for _, s := range r.sums {
		var t *applications.Tranche
		if s.tranche >= 1 && s.tranche <= len(p.Tranches) {
			t = &p.Tranches[s.tranche-1]
		}
		if s.status == applications.MoneyApproved {
			p.Disbursed = p.Disbursed.Add(s.sum)
			if t != nil {
				t.Disbursed = t.Disbursed.Add(s.sum)
			}
		} else {
			p.Pending = p.Pending.Add(s.sum)
			if t != nil {
				t.Pending = t.Pending.Add(s.sum)
			}
		}
	}
	for i := range r.confirmations {
		if m := &r.confirmations[i]; m.Tranche >= 1 && m.Tranche <= len(p.Tranches) {
			p.Tranches[m.Tranche-1].Confirmation = m
		}
	}
	return p, nil
}

// loadPlan reads a project's plan inside tx (which may hold the
// application's row lock), in one round trip.
func loadPlan(ctx context.Context, tx pgx.Tx, a applications.Application) (applications.DisbursementPlan, error) {
	var r planReads
	b := &pgx.Batch{}
	queuePlan(b, a.ID, &r)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return applications.DisbursementPlan{App: a}, err
	}
	return r.plan(a)
}

// DisbursementPlan returns a project's agreement, tranche plan and
// disbursements. A project without a signed agreement has AgreementID 0.
// One snapshot and one round trip: the transaction's BEGIN and COMMIT,
// the application, the plan's reads and the disbursements go as one
// batch (nine round trips before, docs/PERFORMANCE.md), as the journal's
// do. Errors: NotFound.
func (db *DB) DisbursementPlan(ctx context.Context, appID int64) (_ applications.DisbursementPlan, err error) {
	defer wrap(&err, "DisbursementPlan %d", appID)
	var apps []applications.Application
	var r planReads
	var ds []applications.Disbursement
	b := snapshotBatch(func(b *pgx.Batch) {
		queueRows(b, `SELECT `+appColumns+appFrom+`WHERE a.id = $1`, appID, scanApplication, &apps)
		queuePlan(b, appID, &r)
		queueRows(b, `SELECT `+disbursementColumns+disbursementFrom+`WHERE d.application_id = $1 ORDER BY d.id DESC LIMIT 200`,
			appID, scanDisbursement, &ds)
	})
	if err := db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return applications.DisbursementPlan{}, mapError(err)
	}
	if len(apps) == 0 {
		return applications.DisbursementPlan{}, mapError(pgx.ErrNoRows)
	}
	p, err := r.plan(apps[0])
	p.Disbursements = ds
	return p, mapError(err)
}

// ConfirmMilestone records staff's confirmation that a gated tranche's
// milestone is met, so the tranche can be disbursed. Errors: NotFound,
// Invalid, Conflict (no signed agreement, not gated, already confirmed).
func (db *DB) ConfirmMilestone(ctx context.Context, actor audit.Actor, appID int64, tranche int, note string) (err error) {
	defer wrap(&err, "ConfirmMilestone %d", appID)
	note, err = applications.CheckMilestoneNote(note)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		p, err := loadPlan(ctx, tx, a)
		if err != nil {
			return err
		}
		t, err := p.ConfirmMilestone(tranche)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO milestone_confirmations (application_id, agreement_id, tranche, milestone, note,
			confirmed_by, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			appID, p.AgreementID, tranche, t.Milestone, note, actor.ID, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "milestone_confirmed", ObjectType: "application",
			ObjectID: strconv.FormatInt(appID, 10), Outcome: audit.Success,
			Detail: map[string]any{"agreement_id": p.AgreementID, "tranche": tranche, "milestone": t.Milestone, "note": note}})
	})
	return mapError(err)
}

func disbursementAudit(d applications.Disbursement) map[string]any {
	return map[string]any{"application_id": d.ApplicationID, "agreement_id": d.AgreementID, "tranche": d.Tranche,
		"amount": d.Amount.StringFixed(2), "value_date": d.ValueDate.Format(time.DateOnly),
		"reference": d.Reference, "status": d.Status}
}

// RecordDisbursement records one tranche's disbursement, pending an
// approver. Under the application's row lock it loads the plan and asks
// DisbursementPlan.CheckRecord whether the project, the tranche, the value
// date and the amount allow it. A retry with the same idempotency key returns the first
// attempt's record. Errors: Invalid, NotFound, Conflict.
func (db *DB) RecordDisbursement(ctx context.Context, actor audit.Actor, in applications.DisbursementInput) (_ applications.Disbursement, err error) {
	defer wrap(&err, "RecordDisbursement application %d tranche %d", in.ApplicationID, in.Tranche)
	if err := checkIdempotencyKey(in.IdempotencyKey); err != nil {
		return applications.Disbursement{}, err
	}
	if _, err := ledger.Disbursement(1, max(in.ApplicationID, 1), in.Amount); err != nil {
		return applications.Disbursement{}, applications.FieldError("amount", "请填写大于零、最多两位小数的金额。")
	}
	now := db.Now()
	if err := checkValueDate("value_date", in.ValueDate, now); err != nil {
		return applications.Disbursement{}, err
	}
	in.Reference, in.Note = strings.TrimSpace(in.Reference), strings.TrimSpace(in.Note)
	if err := checkMoneyReference(in.Reference); err != nil {
		return applications.Disbursement{}, err
	}
	if err := checkMoneyNote(in.Note); err != nil {
		return applications.Disbursement{}, err
	}
	var out applications.Disbursement
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		a, err := findApplication(ctx, tx, in.ApplicationID, true)
		if err != nil {
			return err
		}
		// A retry: the lock above orders it after the first attempt, whose
		// record is now visible and is the answer.
		var id int64
		err = tx.QueryRow(ctx, `SELECT id FROM disbursements WHERE idempotency_key = $1`, in.IdempotencyKey).Scan(&id)
		if err == nil {
			if out, err = findDisbursement(ctx, tx, id); err != nil {
				return err
			}
			if out.PreparedBy != actor.ID || out.ApplicationID != in.ApplicationID {
				return applications.Errorf(applications.Conflict, "该表单标识已被另一笔记录使用，请刷新页面后重新填写。")
			}
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		p, err := loadPlan(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := p.CheckRecord(in); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO disbursements (application_id, programme_id, agreement_id, tranche, amount, value_date, reference,
				note, idempotency_key, prepared_by, prepared_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			a.ID, a.ProgrammeID, p.AgreementID, in.Tranche, in.Amount, day.Date(in.ValueDate), in.Reference, in.Note,
			in.IdempotencyKey, actor.ID, now).Scan(&id); err != nil {
			return err
		}
		if out, err = findDisbursement(ctx, tx, id); err != nil {
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveDisbursement, "拨付待审批：“"+a.Title+"”第 "+strconv.Itoa(in.Tranche)+" 笔 "+applications.FormatAmount(in.Amount)+" 元", "/disbursements/"+itoa64(id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "disbursement_recorded", ObjectType: applications.RecordDisbursement,
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success, Detail: map[string]any{"after": disbursementAudit(out)}})
	})
	return out, mapError(err)
}

// disbursementRecord is the disbursements table for checkMoney.
var disbursementRecord = moneyRecord[applications.Disbursement]{table: "disbursements", recordType: applications.RecordDisbursement,
	what: "拨付", path: "/disbursements/", find: findDisbursement, checkedBy: func(d applications.Disbursement) int64 { return d.CheckedBy },
	audit: disbursementAudit}

// ApproveDisbursement approves a pending disbursement. In one transaction,
// holding the disbursement's and the application's row locks, it asks
// DisbursementPlan.Approve (which re-checks the tranche and builds the
// entry), raises the application's disbursed total with a guarded
// UPDATE (Σ disbursed ≤ approved; a CHECK constraint backs it), lowers the
// fund's balance the same way (never below zero), posts Dr 1221 / Cr 1002,
// moves a contracted application to funded on its first disbursement, and
// writes the audit row. Approving again with the same check key returns
// the approved record and posts nothing. Errors: NotFound, Forbidden (the
// maker may not check), Conflict (already decided, or the money is no
// longer there), Invalid.
func (db *DB) ApproveDisbursement(ctx context.Context, actor audit.Actor, id int64, checkKey string) (_ applications.Disbursement, err error) {
	defer wrap(&err, "ApproveDisbursement %d", id)
	out, err := checkMoney(ctx, db, actor, disbursementRecord, id, checkKey, applications.MoneyApproved, func(tx pgx.Tx, now time.Time, d applications.Disbursement, out *applications.Disbursement) error {
		appID := d.ApplicationID // read under the disbursement's lock
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		p, err := loadPlan(ctx, tx, a)
		if err != nil {
			return err
		}
		approval, err := p.Approve(d, actor.ID)
		if err != nil {
			return err
		}
		var total decimal.Decimal
		err = tx.QueryRow(ctx, `UPDATE applications SET disbursed = disbursed + $2
			WHERE id = $1 AND disbursed + $2 <= approved_amount RETURNING disbursed`, appID, approval.Amount).Scan(&total)
		if errors.Is(err, pgx.ErrNoRows) {
			return p.ErrAboveApproved()
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO programme_funds (programme_id, updated_at) VALUES ($1, $2)
			ON CONFLICT (programme_id) DO NOTHING`, d.ProgrammeID, now); err != nil {
			return err
		}
		var balance decimal.Decimal
		err = tx.QueryRow(ctx, `UPDATE programme_funds SET balance = balance - $2, disbursed = disbursed + $2, updated_at = $3
			WHERE programme_id = $1 AND balance >= $2 RETURNING balance`, d.ProgrammeID, approval.Amount, now).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			// The balance as it is now, under the lock the UPDATE waited
			// for (the plan's figure may predate a concurrent change).
			if err := tx.QueryRow(ctx, `SELECT balance FROM programme_funds WHERE programme_id = $1`, d.ProgrammeID).Scan(&balance); err != nil {
				return err
			}
			return applications.ErrFundShort(approval.Amount, balance)
		} else if err != nil {
			return err
		}
		posted, _, err := postEntry(ctx, tx, now, approval.Entry)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE disbursements SET status = 'approved', checked_by = $2, checked_at = $3,
			check_key = $4, entry_seq = $5 WHERE id = $1`, id, actor.ID, now, checkKey, posted.Seq); err != nil {
			return err
		}
		if approval.Funded {
			if _, err := transitionTx(ctx, tx, now, actor, appID, applications.StateFunded,
				approval.FundedReason(posted.Seq), nil); err != nil {
				return err
			}
		}
		if *out, err = findDisbursement(ctx, tx, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "disbursement_approved", ObjectType: applications.RecordDisbursement,
			ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{"before": map[string]any{"status": applications.MoneyPending}, "after": disbursementAudit(*out),
				"entry_seq": posted.Seq, "entry_hash": posted.Hash, "application_disbursed": total.StringFixed(2),
				"fund_balance": balance.StringFixed(2)}})
	})
	return out, mapError(err)
}

// RejectDisbursement sends a pending disbursement back with a reason;
// nothing is posted. Errors: NotFound, Forbidden, Conflict, Invalid.
func (db *DB) RejectDisbursement(ctx context.Context, actor audit.Actor, id int64, checkKey, comment string) (_ applications.Disbursement, err error) {
	defer wrap(&err, "RejectDisbursement %d", id)
	return rejectMoney(ctx, db, actor, disbursementRecord, id, checkKey, comment)
}
