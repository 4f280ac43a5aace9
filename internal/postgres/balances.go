package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/ledger"
)

// BalanceFilter chooses the period (value dates, inclusive) and optionally
// the programme of an account balance sheet (科目余额表).
type BalanceFilter struct {
	From, To    time.Time // zero From: from the first entry; zero To: up to the last
	ProgrammeID int64     // the programme's fund and its projects; 0 = all
}

// AccountBalances is the account balance sheet of a period with the names
// of the programmes and projects its sub-accounts are kept for, read in one
// snapshot with the chain head.
type AccountBalances struct {
	Sheet *ledger.BalanceSheet
	Names map[ledger.AccountKey]string // sub-account → programme name or project title
	Head  ledger.ChainHead
}

// Name is the name of the programme or project sub-account k is kept for.
func (b AccountBalances) Name(k ledger.AccountKey) string {
	return b.Names[ledger.AccountKey{Scope: k.Scope, ID: k.ID}]
}

// AccountBalances builds the balance sheet of f's period: the trial balance
// before it (opening) and of it (turnover). Errors: Invalid (From after To).
func (db *DB) AccountBalances(ctx context.Context, f BalanceFilter) (_ AccountBalances, err error) {
	defer wrap(&err, "AccountBalances")
	b := AccountBalances{Names: map[ledger.AccountKey]string{}}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return b, applications.FieldError("to", "截止日期不能早于起始日期。")
	}
	scope := func(args *ledgerArgs) []string {
		if f.ProgrammeID == 0 {
			return nil
		}
		id := args.add(f.ProgrammeID)
		return []string{`((p.scope = 'prog' AND p.scope_id = ` + id + `) OR
			(p.scope = 'app' AND p.scope_id IN (SELECT id FROM applications WHERE programme_id = ` + id + `)))`}
	}
	where := func(w []string) string {
		if len(w) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(w, " AND ")
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		var err error
		if b.Head, err = ledgerHead(ctx, tx); err != nil {
			return err
		}
		opening, period := ledger.NewTrialBalance(), ledger.NewTrialBalance()
		if !f.From.IsZero() {
			var args ledgerArgs
			w := append(scope(&args), "e.value_date < "+args.add(day.Date(f.From)))
			if err := sumTrial(ctx, tx, opening, where(w), args); err != nil {
				return err
			}
		}
		var args ledgerArgs
		w := scope(&args)
		if !f.From.IsZero() {
			w = append(w, "e.value_date >= "+args.add(day.Date(f.From)))
		}
		if !f.To.IsZero() {
			w = append(w, "e.value_date <= "+args.add(day.Date(f.To)))
		}
		if err := sumTrial(ctx, tx, period, where(w), args); err != nil {
			return err
		}
		b.Sheet = ledger.NewBalanceSheet(opening, period)
		return scopeNames(ctx, tx, b.Sheet, b.Names)
	})
	return b, err
}

// scopeNames fills names with the programme names and project titles of
// the sheet's sub-accounts, keyed by scope and ID.
func scopeNames(ctx context.Context, tx pgx.Tx, bs *ledger.BalanceSheet, names map[ledger.AccountKey]string) error {
	var progs, apps []int64
	for _, r := range bs.Rows {
		switch r.Account.Scope {
		case ledger.ScopeProgramme:
			progs = append(progs, r.Account.ID)
		case ledger.ScopeProject:
			apps = append(apps, r.Account.ID)
		}
	}
	rows, err := tx.Query(ctx, `SELECT 'prog', id, name FROM programmes WHERE id = ANY($1)
		UNION ALL SELECT 'app', id, title FROM applications WHERE id = ANY($2)`, progs, apps)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k ledger.AccountKey
		var scope, name string
		if err := rows.Scan(&scope, &k.ID, &name); err != nil {
			return err
		}
		k.Scope = ledger.Scope(scope)
		names[k] = name
	}
	return rows.Err()
}

// SubAccountNames are the programme names and project titles of the
// sub-accounts in keys, or of every sub-account when keys is nil (an
// export names them all). A page names only what it shows: the whole list
// is one row per application, which over 100,000 projects would cost every
// journal page a table scan.
func (db *DB) SubAccountNames(ctx context.Context, keys []ledger.AccountKey) (_ map[ledger.AccountKey]string, err error) {
	defer wrap(&err, "SubAccountNames")
	names := map[ledger.AccountKey]string{}
	q := `SELECT 'prog', id, name FROM programmes UNION ALL SELECT 'app', id, title FROM applications`
	var args []any
	if keys != nil {
		var progs, apps []int64
		for _, k := range keys {
			switch k.Scope {
			case ledger.ScopeProgramme:
				progs = append(progs, k.ID)
			case ledger.ScopeProject:
				apps = append(apps, k.ID)
			}
		}
		if len(progs) == 0 && len(apps) == 0 {
			return names, nil
		}
		q = `SELECT 'prog', id, name FROM programmes WHERE id = ANY($1) UNION ALL SELECT 'app', id, title FROM applications WHERE id = ANY($2)`
		args = []any{progs, apps}
	}
	rows, err := db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k ledger.AccountKey
		var scope, name string
		if err := rows.Scan(&scope, &k.ID, &name); err != nil {
			return nil, err
		}
		k.Scope = ledger.Scope(scope)
		names[k] = name
	}
	return names, rows.Err()
}
