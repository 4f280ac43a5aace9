package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/day"
	"ite/internal/ledger"
)

// Conversion certificates (转股测算单, DOMAIN §13): the approved conversions,
// listed for the auditors with the figures of each certificate.

// CertificateRow is one approved conversion as the certificate list shows
// it.
type CertificateRow struct {
	ConversionID     int64
	ApplicationID    int64
	Enterprise       string
	Project          string
	ConversionDate   time.Time
	Principal        decimal.Decimal // disbursed principal moved to 1511
	Amount           decimal.Decimal // conversion amount A (principal plus any pre-conversion interest)
	Units            decimal.Decimal
	Price            decimal.Decimal
	Stake            decimal.Decimal // a fraction
	RegistrationDate time.Time       // 工商变更; zero until recorded
	PreparedBy       string
	ApprovedBy       string
	ApprovedAt       time.Time
	Digest           string
}

// Number is the certificate number printed on it.
func (c CertificateRow) Number() string { return "ZG-" + itoa64(c.ConversionID) }

// CertificateFilter selects certificates by programme and conversion date.
type CertificateFilter struct {
	ProgrammeID int64
	From, To    time.Time // conversion dates, inclusive; zero = open-ended
}

func (f CertificateFilter) query(args *ledgerArgs) string {
	sql := `SELECT c.id, a.id, en.name, a.title, c.conversion_date, c.principal,
		(c.result->>'conversion_amount')::numeric, c.units, (c.result->>'conversion_price')::numeric,
		(c.result->>'stake')::numeric, c.registration_date, pu.display_name, cu.display_name, c.checked_at, c.digest
		FROM conversions c JOIN applications a ON a.id = c.application_id JOIN enterprises en ON en.id = a.enterprise_id
			JOIN users pu ON pu.id = c.prepared_by JOIN users cu ON cu.id = c.checked_by
		WHERE c.status = 'approved'`
	if f.ProgrammeID > 0 {
		sql += " AND a.programme_id = " + args.add(f.ProgrammeID)
	}
	if !f.From.IsZero() {
		sql += " AND c.conversion_date >= " + args.add(day.Date(f.From))
	}
	if !f.To.IsZero() {
		sql += " AND c.conversion_date <= " + args.add(day.Date(f.To))
	}
	return sql + " ORDER BY c.conversion_date, c.id"
}

func scanCertificate(row pgx.CollectableRow) (CertificateRow, error) {
	var c CertificateRow
	var reg *time.Time
	err := row.Scan(&c.ConversionID, &c.ApplicationID, &c.Enterprise, &c.Project, &c.ConversionDate, &c.Principal,
		&c.Amount, &c.Units, &c.Price, &c.Stake, &reg, &c.PreparedBy, &c.ApprovedBy, &c.ApprovedAt, &c.Digest)
	if reg != nil {
		c.RegistrationDate = *reg
	}
	return c, err
}

// ListCertificates returns the approved conversions selected by f, by
// conversion date, with the ledger's chain head of the same snapshot.
func (db *DB) ListCertificates(ctx context.Context, f CertificateFilter) (_ []CertificateRow, _ ledger.ChainHead, err error) {
	defer wrap(&err, "ListCertificates")
	var out []CertificateRow
	var head ledger.ChainHead
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		var args ledgerArgs
		rows, _ := tx.Query(ctx, f.query(&args), args...)
		out, err = pgx.CollectRows(rows, scanCertificate)
		return err
	})
	return out, head, err
}
