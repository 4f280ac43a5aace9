package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Decision is a prepared funding decision and its check.
type Decision struct {
	ID             int64
	ApplicationID  int64
	Approve        bool
	Amount         decimal.NullDecimal
	CapOverride    bool
	OverrideReason string
	Terms          []byte
	Reason         string
	Status         applications.DecisionStatus
	PreparedBy     int64
	PreparedByName string
	PreparedAt     time.Time
	CheckedByName  string
	CheckComment   string
}

const decisionColumns = `d.id, d.application_id, d.kind = 'approve', d.amount, d.cap_override, d.override_reason,
	COALESCE(d.terms::text, ''), d.reason, d.status, d.prepared_by, pu.display_name, d.prepared_at,
	COALESCE(cu.display_name, ''), d.check_comment`

const decisionFrom = ` FROM decisions d JOIN users pu ON pu.id = d.prepared_by LEFT JOIN users cu ON cu.id = d.checked_by `

func scanDecision(row pgx.CollectableRow) (Decision, error) {
	var d Decision
	var terms string
	err := row.Scan(&d.ID, &d.ApplicationID, &d.Approve, &d.Amount, &d.CapOverride, &d.OverrideReason, &terms,
		&d.Reason, &d.Status, &d.PreparedBy, &d.PreparedByName, &d.PreparedAt, &d.CheckedByName, &d.CheckComment)
	d.Terms = []byte(terms)
	return d, err
}

// ListDecisions returns an application's decisions, newest first.
func (db *DB) ListDecisions(ctx context.Context, appID int64) (_ []Decision, err error) {
	defer wrap(&err, "ListDecisions %d", appID)
	rows, _ := db.Pool.Query(ctx, decisionsSQL, appID)
	ds, err := pgx.CollectRows(rows, scanDecision)
	return ds, mapError(err)
}

const decisionsSQL = `SELECT ` + decisionColumns + decisionFrom + `WHERE d.application_id = $1 ORDER BY d.id DESC`

// committed is the budget already set aside in a programme: the approved
// amounts of every project not rejected or withdrawn.
func committed(ctx context.Context, tx pgx.Tx, programmeID int64) (decimal.Decimal, error) {
	var sum decimal.Decimal
	err := tx.QueryRow(ctx, `SELECT COALESCE(sum(approved_amount), 0) FROM applications
		WHERE programme_id = $1 AND approved_amount IS NOT NULL AND state NOT IN ('rejected','withdrawn')`, programmeID).Scan(&sum)
	return sum, err
}

// PrepareDecision records staff's proposed decision for a reviewed
// application and notifies the approvers. Errors: NotFound, Conflict
// (wrong state, a decision already pending, budget), Invalid.
func (db *DB) PrepareDecision(ctx context.Context, actor audit.Actor, appID int64, in applications.DecisionInput) (_ int64, err error) {
	defer wrap(&err, "PrepareDecision %d", appID)
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, appID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateReviewed {
			return applications.Errorf(applications.Conflict, "只有「待决策」的申报可以拟定立项决定（当前为「%s」）。", a.State.Label())
		}
		p, err := findProgramme(ctx, tx, a.ProgrammeID, false)
		if err != nil {
			return err
		}
		c, err := committed(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if err := applications.CheckDecision(a, p, in, c); err != nil {
			return err
		}
		kind := "reject"
		var amount decimal.NullDecimal
		var terms []byte
		if in.Approve {
			kind, amount, terms = "approve", decimal.NewNullDecimal(in.Amount), in.Terms
		}
		err = tx.QueryRow(ctx, `INSERT INTO decisions (application_id, kind, amount, cap_override, override_reason, terms, reason, prepared_by, prepared_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			appID, kind, amount, in.CapOverride, in.OverrideReason, terms, in.Reason, actor.ID, now).Scan(&id)
		if err != nil {
			if applications.ErrorKind(mapError(err)) == applications.Conflict {
				return applications.Errorf(applications.Conflict, "该申报已有待审批的立项决定，请等待审批或由审批人退回后再拟定。")
			}
			return err
		}
		if err := notifyWhoMay(ctx, tx, now, NotifyApproval, applications.ActionApproveDecision, "立项决定待审批：“"+a.Title+"”", "/applications/"+itoa64(appID)+"#decisions"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "decision_prepare", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success,
			Detail: map[string]any{"decision_id": id, "kind": kind, "amount": in.Amount.StringFixed(2),
				"cap_override": in.CapOverride, "override_reason": in.OverrideReason, "reason": in.Reason}})
	})
	return id, err
}

// ApproveDecision is the approver's sign-off. The programme row is locked
// so two approvals at the same moment cannot both spend the last of the
// budget; the rules are checked again under that lock. An approval sets
// the approved amount, starts the public notice, freezes the terms as
// agreement version 1 and moves the application to approved; a rejection
// moves it to rejected. Errors: NotFound, Forbidden (the preparer),
// Conflict (not pending, wrong state, budget).
func (db *DB) ApproveDecision(ctx context.Context, actor audit.Actor, decisionID int64) (err error) {
	defer wrap(&err, "ApproveDecision %d", decisionID)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		rows, _ := tx.Query(ctx, `SELECT `+decisionColumns+decisionFrom+`WHERE d.id = $1 FOR UPDATE OF d`, decisionID)
		d, err := pgx.CollectExactlyOneRow(rows, scanDecision)
		if err != nil {
			return err
		}
		if d.PreparedBy == actor.ID {
			return applications.Errorf(applications.Forbidden, "经办与审批须分离：您不能审批自己拟定的立项决定。")
		}
		if d.Status != applications.DecisionPending {
			return applications.Errorf(applications.Conflict, "该立项决定已处理，不能重复审批。")
		}
		a, err := findApplication(ctx, tx, d.ApplicationID, false)
		if err != nil {
			return err
		}
		p, err := findProgramme(ctx, tx, a.ProgrammeID, true) // serialises approvals of the programme
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE decisions SET status = 'approved', checked_by = $2, checked_at = $3 WHERE id = $1`,
			decisionID, actor.ID, now); err != nil {
			return err
		}
		if !d.Approve {
			if _, err := transitionTx(ctx, tx, now, actor, a.ID, applications.StateRejected, d.Reason, nil); err != nil {
				return err
			}
			if err := notifyEnterprise(ctx, tx, now, NotifyOutcome, a.ID, "项目“"+a.Title+"”不予立项："+d.Reason, ""); err != nil {
				return err
			}
			return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "decision_approve", ObjectType: "application",
				ObjectID: itoa64(a.ID), Outcome: audit.Success, Detail: map[string]any{"decision_id": decisionID, "kind": "reject"}})
		}
		if d.CapOverride { // 一事一议 needs the committee (DOMAIN §8)
			m, err := minutesOf(ctx, tx, RecordDecision, decisionID)
			if err != nil {
				return err
			}
			if err := applications.RequireMinutes(m, "超上限例外（一事一议）"); err != nil {
				return err
			}
		}
		c, err := committed(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		in := applications.DecisionInput{Approve: true, Amount: d.Amount.Decimal, CapOverride: d.CapOverride,
			OverrideReason: d.OverrideReason, Terms: d.Terms}
		if err := applications.CheckDecision(a, p, in, c); err != nil {
			return err
		}
		cal, err := loadCalendar(ctx, tx)
		if err != nil {
			return err
		}
		start, end := cal.NoticePeriod(day.Today(now), p.NoticeWorkingDays)
		if _, err := tx.Exec(ctx, `UPDATE applications SET approved_amount = $2, notice_starts_on = $3, notice_ends_on = $4 WHERE id = $1`,
			a.ID, d.Amount.Decimal, start, end); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO agreements (application_id, version, terms, amount, status, reason, created_by, approved_by, created_at)
			VALUES ($1, 1, $2, $3, 'draft', '立项决定确定的协议条款', $4, $5, $6)`, a.ID, d.Terms, d.Amount.Decimal, d.PreparedBy, actor.ID, now); err != nil {
			return err
		}
		if _, err := transitionTx(ctx, tx, now, actor, a.ID, applications.StateApproved,
			"批准立项 "+applications.FormatAmount(d.Amount.Decimal)+" 元，公示 "+day.Chinese(start)+" 至 "+day.Chinese(end), nil); err != nil {
			return err
		}
		if err := notifyEnterprise(ctx, tx, now, NotifyOutcome, a.ID, "项目“"+a.Title+"”已批准立项，公示期 "+day.Chinese(start)+" 至 "+day.Chinese(end)+"。", ""); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "decision_approve", ObjectType: "application",
			ObjectID: itoa64(a.ID), Outcome: audit.Success,
			Detail: map[string]any{"decision_id": decisionID, "kind": "approve", "amount": d.Amount.Decimal.StringFixed(2),
				"committed_before": c.StringFixed(2), "notice_start": start.Format(time.DateOnly), "notice_end": end.Format(time.DateOnly)}})
	})
}

// SendBackDecision returns a prepared decision to staff with a reason.
// Errors: NotFound, Forbidden (the preparer), Conflict, Invalid.
func (db *DB) SendBackDecision(ctx context.Context, actor audit.Actor, decisionID int64, comment string) (err error) {
	defer wrap(&err, "SendBackDecision %d", decisionID)
	if comment == "" {
		return applications.FieldError("comment", "退回须写明原因。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var appID, preparedBy int64
		var status applications.DecisionStatus
		if err := tx.QueryRow(ctx, `SELECT application_id, prepared_by, status FROM decisions WHERE id = $1 FOR UPDATE`, decisionID).
			Scan(&appID, &preparedBy, &status); err != nil {
			return err
		}
		if preparedBy == actor.ID {
			return applications.Errorf(applications.Forbidden, "经办与审批须分离：您不能处理自己拟定的立项决定。")
		}
		if status != applications.DecisionPending {
			return applications.Errorf(applications.Conflict, "该立项决定已处理。")
		}
		if _, err := tx.Exec(ctx, `UPDATE decisions SET status = 'sent_back', checked_by = $2, checked_at = $3, check_comment = $4 WHERE id = $1`,
			decisionID, actor.ID, now, comment); err != nil {
			return err
		}
		if err := notify(ctx, tx, now, NotifySentBack, preparedBy, "立项决定被退回："+comment, "/applications/"+itoa64(appID)+"#decisions"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "decision_send_back", ObjectType: "application",
			ObjectID: itoa64(appID), Outcome: audit.Success, Detail: map[string]any{"decision_id": decisionID, "comment": comment}})
	})
}

// DecisionApplication returns the application of decision id. NotFound.
func (db *DB) DecisionApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "DecisionApplication", `SELECT application_id FROM decisions WHERE id = $1`, id, "立项决定不存在。")
}
