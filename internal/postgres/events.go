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

// Trigger events (DOMAIN §8): financing rounds, revenue and milestones
// reported by the enterprise and verified by staff.

const eventColumns = `e.id, e.application_id, e.kind, e.event_date, e.period_start, e.investors, e.new_money,
	e.pre_money_valuation, e.pre_money_units, COALESCE(e.unit, ''), e.amount, e.description, COALESCE(e.evidence_doc, 0),
	e.status, e.satisfies, e.reason, u.display_name, e.reported_at`

func scanEvent(row pgx.CollectableRow) (applications.TriggerEvent, error) {
	var e applications.TriggerEvent
	var start *time.Time
	var money, val, units, amount decimal.NullDecimal
	err := row.Scan(&e.ID, &e.ApplicationID, &e.Kind, &e.EventDate, &start, &e.Investors, &money, &val, &units,
		&e.Unit, &amount, &e.Description, &e.EvidenceDoc, &e.Status, &e.Satisfies, &e.Reason, &e.ReportedBy, &e.ReportedAt)
	if start != nil {
		e.PeriodStart = *start
	}
	e.NewMoney, e.PreMoneyValuation, e.PreMoneyUnits, e.Amount = money.Decimal, val.Decimal, units.Decimal, amount.Decimal
	return e, err
}

// ListEvents returns an application's trigger events, newest first.
func (db *DB) ListEvents(ctx context.Context, appID int64) (_ []applications.TriggerEvent, err error) {
	defer wrap(&err, "ListEvents %d", appID)
	rows, _ := db.Pool.Query(ctx, `SELECT `+eventColumns+` FROM trigger_events e JOIN users u ON u.id = e.reported_by
		WHERE e.application_id = $1 ORDER BY e.id DESC`, appID)
	es, err := pgx.CollectRows(rows, scanEvent)
	return es, mapError(err)
}

func findEvent(ctx context.Context, tx pgx.Tx, id int64) (applications.TriggerEvent, error) {
	rows, _ := tx.Query(ctx, `SELECT `+eventColumns+` FROM trigger_events e JOIN users u ON u.id = e.reported_by WHERE e.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanEvent)
}

func nullIfZero(d decimal.Decimal) decimal.NullDecimal {
	if d.IsZero() {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(d)
}

func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ReportEvent records a financing round, revenue or milestone for a funded
// project, refused outside the conversion window, with its evidence file
// (already stored as a blob) when given. Errors: NotFound, Conflict (wrong
// state, no signed agreement), Invalid.
func (db *DB) ReportEvent(ctx context.Context, actor audit.Actor, e applications.TriggerEvent, evidence *applications.Document) (_ int64, err error) {
	defer wrap(&err, "ReportEvent application %d", e.ApplicationID)
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		a, err := findApplication(ctx, tx, e.ApplicationID, true)
		if err != nil {
			return err
		}
		if a.State != applications.StateFunded {
			return applications.Errorf(applications.Conflict, "只有「投后管理」阶段的项目可以报告转股事项（当前为「%s」）。", a.State.Label())
		}
		g, ok, err := findSignedAgreement(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if !ok {
			return applications.Errorf(applications.Conflict, "项目没有生效的协议。")
		}
		if err := e.Validate(g.terms, g.signedOn, day.Today(now)); err != nil {
			return err
		}
		var unit *string
		if e.Unit != "" {
			unit = &e.Unit
		}
		docID, err := insertEvidence(ctx, tx, now, actor, a.ID, evidence)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO trigger_events (application_id, kind, event_date, period_start, investors, new_money,
			pre_money_valuation, pre_money_units, unit, amount, description, evidence_doc, reported_by, reported_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) RETURNING id`,
			a.ID, e.Kind, e.EventDate, nullDate(e.PeriodStart), e.Investors, nullIfZero(e.NewMoney), nullIfZero(e.PreMoneyValuation),
			nullIfZero(e.PreMoneyUnits), unit, nullIfZero(e.Amount), e.Description, docID, actor.ID, now).Scan(&id); err != nil {
			return err
		}
		if err := notifyLiaison(ctx, tx, now, NotifyTriggerReported, a.ID, "项目“"+a.Title+"”报告了"+applications.EventKindLabel(e.Kind)+"，请核实。", "/applications/"+itoa64(a.ID)+"/equity"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "trigger_report", ObjectType: "application",
			ObjectID: itoa64(a.ID), Outcome: audit.Success, Detail: map[string]any{"event_id": id, "kind": e.Kind,
				"event_date": e.EventDate.Format(time.DateOnly), "new_money": e.NewMoney.StringFixed(2), "amount": e.Amount.StringFixed(2)}})
	})
	return id, err
}

// VerifyEvent is staff's verification. A verified event that meets a
// trigger of the agreement (inside the window, checked when reported)
// moves the project to conversion_due. Errors: NotFound, Conflict, Invalid.
func (db *DB) VerifyEvent(ctx context.Context, actor audit.Actor, eventID int64, verify bool, reason string) (err error) {
	defer wrap(&err, "VerifyEvent %d", eventID)
	if !verify && reason == "" {
		return applications.FieldError("reason", "不予认定须写明原因。")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		e, err := findEvent(ctx, tx, eventID)
		if err != nil {
			return err
		}
		a, err := findApplication(ctx, tx, e.ApplicationID, true)
		if err != nil {
			return err
		}
		if e.Status != applications.EventReported {
			return applications.Errorf(applications.Conflict, "该事项已核实过。")
		}
		status, satisfies := applications.EventRejected, false
		if verify {
			status = applications.EventVerified
			g, _, err := findSignedAgreement(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			var prior decimal.Decimal
			if err := tx.QueryRow(ctx, `SELECT COALESCE(sum(amount), 0) FROM trigger_events
				WHERE application_id = $1 AND kind = 'revenue' AND status = 'verified'`, a.ID).Scan(&prior); err != nil {
				return err
			}
			satisfies = a.State == applications.StateFunded && g.terms.Satisfies(e, prior)
		}
		if _, err := tx.Exec(ctx, `UPDATE trigger_events SET status = $2, satisfies = $3, reason = $4, verified_by = $5, verified_at = $6
			WHERE id = $1`, eventID, string(status), satisfies, reason, actor.ID, now); err != nil {
			return err
		}
		if satisfies {
			if _, err := transitionTx(ctx, tx, now, actor, a.ID, applications.StateConversionDue,
				"核实"+applications.EventKindLabel(e.Kind)+"，满足转股条件", nil); err != nil {
				return err
			}
			if err := notifyLiaison(ctx, tx, now, NotifyConversionDue, a.ID, "项目“"+a.Title+"”满足转股条件，请办理转股。", "/applications/"+itoa64(a.ID)+"/equity"); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "trigger_verify", ObjectType: "application",
			ObjectID: itoa64(a.ID), Outcome: audit.Success,
			Detail: map[string]any{"event_id": eventID, "status": string(status), "satisfies": satisfies, "reason": reason}})
	})
}

// EventApplication returns the application of trigger event id. NotFound.
func (db *DB) EventApplication(ctx context.Context, id int64) (int64, error) {
	return db.applicationOf(ctx, "EventApplication", `SELECT application_id FROM trigger_events WHERE id = $1`, id, "事项不存在。")
}
