package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/day"
	"ite/internal/ledger"
)

// Period close (结账, migration 000012): staff close a month once its trial
// balance balances; from then on no entry may be dated in it (postEntry
// refuses, and so does a trigger), and `ledger verify` flags any entry
// dated in a period that was closed before the entry was posted.

// closedThrough is the latest closed month (zero when none is).
func closedThrough(ctx context.Context, q ledgerQuerier) (time.Time, error) {
	var m *time.Time
	if err := q.QueryRow(ctx, `SELECT max(month) FROM ledger_periods`).Scan(&m); err != nil || m == nil {
		return time.Time{}, err
	}
	return *m, nil
}

// checkPeriodOpen refuses an entry dated in a closed period; postEntry
// calls it under the chain lock, which ClosePeriod takes too.
func checkPeriodOpen(ctx context.Context, q ledgerQuerier, valueDate time.Time) error {
	closed, err := closedThrough(ctx, q)
	if err != nil {
		return err
	}
	return applications.InvalidLedger(ledger.CheckOpen(valueDate, closed))
}

// Period is one month of the period-close page.
type Period struct {
	Month        time.Time // its first day
	Entries      int64     // entries dated in it
	Closed       bool
	ClosedAt     time.Time
	ClosedByName string
	Debit        decimal.Decimal // the trial balance at its end when it was closed
	Credit       decimal.Decimal
	HeadSeq      int64
	// Next marks the month that may be closed next (if it has ended and
	// its trial balance balances).
	Next bool
}

// ListPeriods returns the closed months and the open ones up to today's,
// newest first.
func (db *DB) ListPeriods(ctx context.Context) (_ []Period, err error) {
	defer wrap(&err, "ListPeriods")
	var out []Period
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		today := day.Today(db.Now())
		closed, first, err := periodBounds(ctx, tx)
		if err != nil {
			return err
		}
		counts := map[time.Time]int64{}
		rows, err := tx.Query(ctx, `SELECT date_trunc('month', value_date)::date, count(*) FROM ledger_entries GROUP BY 1`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m time.Time
			var n int64
			if err := rows.Scan(&m, &n); err != nil {
				rows.Close()
				return err
			}
			counts[m] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		next := ledger.NextOpenMonth(closed, first, today)
		for m := ledger.Month(today); !m.Before(next); m = m.AddDate(0, -1, 0) {
			out = append(out, Period{Month: m, Entries: counts[m], Next: m.Equal(next)})
		}
		rows, err = tx.Query(ctx, `SELECT p.month, p.closed_at, u.display_name, p.debit, p.credit, p.head_seq
			FROM ledger_periods p JOIN users u ON u.id = p.closed_by ORDER BY p.month DESC`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := Period{Closed: true}
			if err := rows.Scan(&p.Month, &p.ClosedAt, &p.ClosedByName, &p.Debit, &p.Credit, &p.HeadSeq); err != nil {
				return err
			}
			p.Entries = counts[p.Month]
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// periodBounds reads the latest closed month and the first entry's value
// date (zero when there is none).
func periodBounds(ctx context.Context, q ledgerQuerier) (closed, first time.Time, err error) {
	if closed, err = closedThrough(ctx, q); err != nil {
		return
	}
	var f *time.Time
	if err = q.QueryRow(ctx, `SELECT min(value_date) FROM ledger_entries`).Scan(&f); err == nil && f != nil {
		first = *f
	}
	return
}

// ClosePeriod closes month (结账) after checking, under the chain lock so
// no entry lands meanwhile, that it is the next open month, that it has
// ended and that the trial balance at its end balances; the close is
// audited with that trial balance and the chain head. Errors: Invalid.
func (db *DB) ClosePeriod(ctx context.Context, actor audit.Actor, month time.Time) (err error) {
	defer wrap(&err, "ClosePeriod %s", month.Format("2006-01"))
	month = ledger.Month(month)
	return db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ledgerChainLock); err != nil {
			return err
		}
		closed, first, err := periodBounds(ctx, tx)
		if err != nil {
			return err
		}
		tb := ledger.NewTrialBalance()
		var args ledgerArgs
		if err := sumTrial(ctx, tx, tb, " WHERE e.value_date <= "+args.add(day.Date(ledger.MonthEnd(month))), args); err != nil {
			return err
		}
		if err := ledger.CheckClose(month, closed, first, day.Today(now), tb); err != nil {
			return applications.InvalidLedger(err)
		}
		head, err := ledgerHead(ctx, tx)
		if err != nil {
			return err
		}
		debit, credit := tb.Totals()
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_periods (month, closed_at, closed_by, debit, credit, head_seq, head_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, month, now, actor.ID, debit, credit, head.Seq, head.Hash); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, audit.Event{Actor: actor, Name: "ledger_period_close", ObjectType: "ledger_period",
			ObjectID: month.Format("2006-01"), Outcome: audit.Success, Detail: map[string]any{
				"month": ledger.MonthLabel(month), "debit": debit.StringFixed(2), "credit": credit.StringFixed(2),
				"head": head.String()}})
	})
}

// verifyPeriods flags the first entry dated in a period that had been
// closed before the entry was posted (created_at after the close): an
// entry that went round the checks.
func verifyPeriods(ctx context.Context, tx pgx.Tx, v *LedgerVerification) error {
	var seq int64
	var valueDate, closedAt time.Time
	var month time.Time
	err := tx.QueryRow(ctx, `SELECT e.seq, e.value_date, p.month, p.closed_at FROM ledger_entries e
		JOIN ledger_periods p ON e.value_date < (p.month + interval '1 month')::date AND e.created_at > p.closed_at
		ORDER BY e.seq, p.closed_at LIMIT 1`).Scan(&seq, &valueDate, &month, &closedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	v.OK, v.FirstBad = false, seq
	v.Entries = min(v.Entries, seq-1)
	v.Problem = fmt.Sprintf("第 %d 号凭证：记账日期 %s 所在期间已于 %s 随%s结账，凭证却在结账后记入", seq,
		day.Chinese(valueDate), closedAt.In(chinaZone).Format("2006-01-02 15:04:05"), ledger.MonthLabel(month))
	return nil
}

// chinaZone is the zone times are shown in.
var chinaZone = time.FixedZone("CST", 8*3600)
