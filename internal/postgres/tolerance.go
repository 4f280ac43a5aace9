package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
)

// lossRatio reads a programme's loss ratio (DOMAIN §16) from the running
// ledger totals (migration 000010): the net of 6711 over every kind (exit
// losses and write-offs, less their reversals) over the net debits of 1221
// by disbursements, both to date, with the programme's tolerance.
func lossRatio(ctx context.Context, q ledgerQuerier, programmeID int64) (applications.LossRatio, error) {
	r := applications.LossRatio{}
	err := q.QueryRow(ctx, `SELECT p.loss_tolerance,
		COALESCE((SELECT sum(net) FROM ledger_totals WHERE programme_id = p.id AND account_code = '6711'), 0),
		COALESCE((SELECT sum(net) FROM ledger_totals WHERE programme_id = p.id AND account_code = '1221' AND kind = 'disbursement'), 0)
		FROM programmes p WHERE p.id = $1`, programmeID).Scan(&r.Tolerance, &r.Losses, &r.Disbursed)
	return r, err
}

// LossRatio returns a programme's loss ratio to date. Errors: NotFound.
func (db *DB) LossRatio(ctx context.Context, programmeID int64) (_ applications.LossRatio, err error) {
	defer wrap(&err, "LossRatio %d", programmeID)
	r, err := lossRatio(ctx, db.Pool, programmeID)
	return r, mapError(err)
}

// checkLoss is the tolerance gate of an exit at a loss or a write-off
// (recordType, id) about to book loss to 6711: under the programme's fund
// row lock (taken here, before the ledger chain, the order every money
// action takes them in), it computes the ratio before and after, refuses
// an approval beyond the tolerance without minutes, and records the check
// for the certificate and as audit row loss_check (ratio before and
// after). Errors: Conflict.
func checkLoss(ctx context.Context, tx pgx.Tx, now time.Time, actor audit.Actor, recordType string, id, programmeID int64, loss decimal.Decimal) error {
	if !loss.IsPositive() {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO programme_funds (programme_id) VALUES ($1) ON CONFLICT (programme_id) DO NOTHING`, programmeID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM programme_funds WHERE programme_id = $1 FOR UPDATE`, programmeID); err != nil {
		return err
	}
	before, err := lossRatio(ctx, tx, programmeID)
	if err != nil {
		return err
	}
	m, err := minutesOf(ctx, tx, recordType, id)
	if err != nil {
		return err
	}
	c, err := applications.CheckLoss(before, loss, m)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO loss_checks (record_type, record_id, loss, losses_before, disbursed, tolerance, ratio_before, ratio_after, beyond)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, recordType, id, loss, before.Losses, before.Disbursed, before.Tolerance,
		c.Before.Percent(), c.After.Percent(), c.Beyond); err != nil {
		return err
	}
	d := map[string]any{"programme_id": programmeID, "loss": loss.StringFixed(2), "losses_before": before.Losses.StringFixed(2),
		"disbursed": before.Disbursed.StringFixed(2), "loss_ratio_before": applications.FormatRatio(c.Before.Percent()),
		"loss_ratio_after": applications.FormatRatio(c.After.Percent()), "loss_tolerance": before.Tolerance.String() + "%",
		"beyond_tolerance": c.Beyond}
	if m != nil {
		d["minutes_number"] = m.Number
	}
	return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "loss_check", ObjectType: recordType, ObjectID: itoa64(id),
		Outcome: audit.Success, Detail: d})
}

// ListLossChecks returns the tolerance checks of an application's exits
// and endings, keyed by MinutesKey.
func (db *DB) ListLossChecks(ctx context.Context, appID int64) (_ map[string]applications.LossCheck, err error) {
	defer wrap(&err, "ListLossChecks %d", appID)
	rows, _ := db.Pool.Query(ctx, lossChecksSQL, appID)
	out, err := collectLossChecks(rows)
	return out, mapError(err)
}

// lossChecksSQL reads the tolerance checks of an application's exits and
// endings.
const lossChecksSQL = `SELECT c.record_type, c.record_id, c.loss, c.losses_before, c.disbursed, c.tolerance, c.beyond
	FROM loss_checks c WHERE (c.record_type = 'exit' AND c.record_id IN (SELECT id FROM exits WHERE application_id = $1))
	   OR (c.record_type = 'ending' AND c.record_id IN (SELECT id FROM endings WHERE application_id = $1))`

// collectLossChecks reads lossChecksSQL's rows, keyed by MinutesKey.
func collectLossChecks(rows pgx.Rows) (map[string]applications.LossCheck, error) {
	out := map[string]applications.LossCheck{}
	err := forEachRow(rows, func(r pgx.Row) error {
		var typ string
		var id int64
		var c applications.LossCheck
		if err := r.Scan(&typ, &id, &c.Loss, &c.Before.Losses, &c.Before.Disbursed, &c.Before.Tolerance, &c.Beyond); err != nil {
			return err
		}
		c.After = c.Before
		c.After.Losses = c.Before.Losses.Add(c.Loss)
		out[minutesKey(typ, id)] = c
		return nil
	})
	return out, err
}
