package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
)

// Reference rates (DOMAIN §17): published series and their append-only
// entries. A correction is a new row naming the entry it corrects; the
// entries in force are the ends of the correction chains.

const rateEntryColumns = `e.id, e.series_code, e.effective_date, e.rate, e.source, COALESCE(e.corrects, 0), e.reason,
	COALESCE(u.display_name, '系统初始数据'), e.created_at`

const rateEntryFrom = ` FROM rate_entries e LEFT JOIN users u ON u.id = e.created_by `

// inForce keeps the entries no later row corrects.
const rateInForce = ` NOT EXISTS (SELECT 1 FROM rate_entries c WHERE c.corrects = e.id) `

func scanRateEntry(row pgx.CollectableRow) (applications.RateEntry, error) {
	var e applications.RateEntry
	var rate decimal.NullDecimal
	err := row.Scan(&e.ID, &e.Series, &e.EffectiveDate, &rate, &e.Source, &e.Corrects, &e.Reason, &e.CreatedBy, &e.CreatedAt)
	e.Rate, e.Withdrawn = rate.Decimal, !rate.Valid
	return e, err
}

// ListRateSeries returns every series with its entries in force, oldest
// first.
func (db *DB) ListRateSeries(ctx context.Context) (_ []applications.RateSeries, err error) {
	defer wrap(&err, "ListRateSeries")
	rows, _ := db.Pool.Query(ctx, `SELECT code, name FROM rate_series ORDER BY code`)
	ss, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (applications.RateSeries, error) {
		var s applications.RateSeries
		return s, r.Scan(&s.Code, &s.Name)
	})
	if err != nil {
		return nil, mapError(err)
	}
	for i := range ss {
		if ss[i].Entries, err = rateEntries(ctx, db.Pool, ss[i].Code); err != nil {
			return nil, mapError(err)
		}
	}
	return ss, nil
}

// FindRateSeries returns one series with its entries in force. Errors:
// NotFound.
func (db *DB) FindRateSeries(ctx context.Context, code string) (_ applications.RateSeries, err error) {
	defer wrap(&err, "FindRateSeries %s", code)
	s, err := findRateSeries(ctx, db.Pool, code)
	return s, mapError(err)
}

// RateHistory returns every row of a series, corrections included, newest
// first: the admin page's record of what was entered when and by whom.
func (db *DB) RateHistory(ctx context.Context, code string) (_ []applications.RateEntry, err error) {
	defer wrap(&err, "RateHistory %s", code)
	rows, _ := db.Pool.Query(ctx, `SELECT `+rateEntryColumns+rateEntryFrom+`WHERE e.series_code = $1 ORDER BY e.id DESC`, code)
	es, err := pgx.CollectRows(rows, scanRateEntry)
	return es, mapError(err)
}

func findRateSeries(ctx context.Context, q ledgerQuerier, code string) (applications.RateSeries, error) {
	s := applications.RateSeries{Code: code}
	err := q.QueryRow(ctx, `SELECT name FROM rate_series WHERE code = $1`, code).Scan(&s.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, applications.Errorf(applications.NotFound, "参考利率序列 %s 不存在。", code)
	} else if err != nil {
		return s, err
	}
	s.Entries, err = rateEntries(ctx, q, code)
	return s, err
}

func rateEntries(ctx context.Context, q ledgerQuerier, code string) ([]applications.RateEntry, error) {
	rows, _ := q.Query(ctx, `SELECT `+rateEntryColumns+rateEntryFrom+`WHERE e.series_code = $1 AND `+rateInForce+
		`AND e.rate IS NOT NULL ORDER BY e.effective_date`, code)
	return pgx.CollectRows(rows, scanRateEntry)
}

// AddRateEntry stores an entry the admin typed (ParseRateEntry), or a
// correction of one in force (in.Corrects, same date; no rate withdraws
// it), audited with the entry before and after. Errors: Invalid,
// NotFound, Conflict (the date already has an entry: correct it instead;
// the entry was corrected meanwhile).
func (db *DB) AddRateEntry(ctx context.Context, actor audit.Actor, in applications.RateEntryInput) (_ int64, err error) {
	defer wrap(&err, "AddRateEntry %s", in.Series)
	now := db.Now()
	e, err := applications.ParseRateEntry(in, day.Today(now))
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM rate_series WHERE code = $1 FOR UPDATE`, e.Series); err != nil {
			return err
		}
		s, err := findRateSeries(ctx, tx, e.Series)
		if err != nil {
			return err
		}
		detail := map[string]any{"series": s.Code, "effective_date": e.EffectiveDate.Format(time.DateOnly), "source": e.Source}
		name := "rate_entry_add"
		var rate any
		if !e.Withdrawn {
			rate = e.Rate.StringFixed(6)
		}
		detail["after"] = rate
		if e.Corrects != 0 {
			rows, _ := tx.Query(ctx, `SELECT `+rateEntryColumns+rateEntryFrom+`WHERE e.id = $1 AND e.series_code = $2 AND `+rateInForce,
				e.Corrects, e.Series)
			old, err := pgx.CollectExactlyOneRow(rows, scanRateEntry)
			if errors.Is(err, pgx.ErrNoRows) {
				return applications.Errorf(applications.Conflict, "要更正的条目不存在或已被更正，请刷新页面后重试。")
			} else if err != nil {
				return err
			}
			e.EffectiveDate = old.EffectiveDate
			name, detail["corrects"], detail["reason"] = "rate_entry_correct", old.ID, e.Reason
			detail["effective_date"] = old.EffectiveDate.Format(time.DateOnly)
			if old.Withdrawn {
				detail["before"] = nil
			} else {
				detail["before"] = old.Rate.StringFixed(6)
			}
			if e.Withdrawn {
				name = "rate_entry_withdraw"
			}
		} else {
			// The date's chain, if any: an entry in force is corrected, not
			// entered twice; a withdrawn one is entered again as its correction.
			var leaf int64
			var leafRate decimal.NullDecimal
			err := tx.QueryRow(ctx, `SELECT e.id, e.rate FROM rate_entries e WHERE e.series_code = $1 AND e.effective_date = $2 AND `+
				rateInForce, e.Series, e.EffectiveDate).Scan(&leaf, &leafRate)
			switch {
			case err == nil && leafRate.Valid:
				return applications.FieldError("effective_date", "该生效日期已有条目；如需改正，请在下表中对该条目点“更正”。")
			case err == nil:
				e.Corrects, e.Reason = leaf, "重新登记此前撤销的条目"
				name, detail["corrects"], detail["before"] = "rate_entry_correct", leaf, nil
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		var corrects *int64
		if e.Corrects != 0 {
			corrects = &e.Corrects
		}
		if err := tx.QueryRow(ctx, `INSERT INTO rate_entries (series_code, effective_date, rate, source, corrects, reason, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, e.Series, e.EffectiveDate, rate, e.Source, corrects, e.Reason,
			actor.ID, now).Scan(&id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: name, ObjectType: "rate_entry",
			ObjectID: itoa64(id), Outcome: audit.Success, Detail: detail})
	})
	if applications.ErrorKind(mapError(err)) == applications.Conflict && in.Corrects == 0 {
		return 0, applications.FieldError("effective_date", "该生效日期已有条目；如需改正，请在下表中对该条目点“更正”。")
	}
	return id, mapError(err)
}
