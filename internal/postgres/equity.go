package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
)

// The equity register: the platform's holdings after conversion, less
// what it has exited.

// EquityPosition is the platform's holding in one project.
type EquityPosition struct {
	ApplicationID  int64
	Title          string
	Enterprise     string
	ProgrammeID    int64
	Programme      string
	State          applications.State
	ConversionDate time.Time
	Units          decimal.Decimal // converted
	Sold           decimal.Decimal
	Held           decimal.Decimal
	Stake          string // after the round
	CostBasis      decimal.Decimal
	CostReleased   decimal.Decimal
	Proceeds       decimal.Decimal
}

// heldByPlatform is the trustee's scope (DOMAIN §2): a project of a
// programme whose holding platform is $n, that went through conversion (an
// approved conversion: converted, exiting, exited, or ended after it).
func heldByPlatform(app, platform string) string {
	return `EXISTS (SELECT 1 FROM programmes hp JOIN conversions hc ON hc.application_id = ` + app + ` AND hc.status = 'approved'
		WHERE hp.id = (SELECT programme_id FROM applications WHERE id = ` + app + `) AND hp.holding_platform_uscc = ` + platform + `)`
}

// HeldByPlatform reports whether a trustee of the platform (its USCC) may
// see the application: its programme's holding platform is theirs and it
// went through conversion.
func (db *DB) HeldByPlatform(ctx context.Context, appID int64, platform string) (_ bool, err error) {
	defer wrap(&err, "HeldByPlatform %d", appID)
	var ok bool
	err = db.Pool.QueryRow(ctx, `SELECT `+heldByPlatform("$1::bigint", "$2::text"), appID, platform).Scan(&ok)
	return ok, mapError(err)
}

// ListEquity returns the platform's positions (the equity register), by
// programme then project; programmeID 0 lists every programme, platform
// "" every platform (else only the programmes it holds for).
func (db *DB) ListEquity(ctx context.Context, programmeID int64, platform string) (_ []EquityPosition, err error) {
	defer wrap(&err, "ListEquity %d", programmeID)
	rows, _ := db.Pool.Query(ctx, `
		SELECT a.id, a.title, e.name, p.id, p.name, a.state, c.conversion_date, c.units,
		       COALESCE(sum(x.units) FILTER (WHERE x.status = 'approved'), 0),
		       c.result->>'stake', c.principal,
		       COALESCE(sum(x.cost) FILTER (WHERE x.status = 'approved'), 0),
		       COALESCE(sum(x.proceeds) FILTER (WHERE x.status = 'approved'), 0)
		FROM conversions c JOIN applications a ON a.id = c.application_id
		JOIN enterprises e ON e.id = a.enterprise_id JOIN programmes p ON p.id = a.programme_id
		LEFT JOIN exits x ON x.application_id = a.id
		WHERE c.status = 'approved' AND ($1 = 0 OR p.id = $1) AND ($2 = '' OR p.holding_platform_uscc = $2)
		GROUP BY a.id, e.name, p.id, c.id ORDER BY p.id, a.id`, programmeID, platform)
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EquityPosition, error) {
		var q EquityPosition
		var state string
		err := r.Scan(&q.ApplicationID, &q.Title, &q.Enterprise, &q.ProgrammeID, &q.Programme, &state, &q.ConversionDate,
			&q.Units, &q.Sold, &q.Stake, &q.CostBasis, &q.CostReleased, &q.Proceeds)
		q.State = applications.State(state)
		q.Held = q.Units.Sub(q.Sold)
		return q, err
	})
	return ps, mapError(err)
}
