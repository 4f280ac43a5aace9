package server

import (
	"net/http"
	"time"

	"ite/internal/applications"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/page"
)

// balanceRoutes: the account balance sheet (科目余额表) and its export.
func (s *Server) balanceRoutes() []route {
	readers := can(applications.ActionReadLedger)
	return []route{
		{"GET", "/ledger/balances", readers, s.handleBalances},
		{"GET", "/ledger/balances/export", readers, s.handleBalancesExport},
	}
}

// BalanceSheetTable is the account balance sheet export (科目余额表): per
// sub-account, then a subtotal per first-level account, then the total.
var BalanceSheetTable = ledger.Table{
	Name: "科目余额表",
	Columns: []ledger.Column{
		{Title: "科目代码", Type: ledger.ColText, Width: 10},
		{Title: "科目名称", Type: ledger.ColText, Width: 22},
		{Title: "明细科目", Type: ledger.ColText, Width: 16},
		{Title: "核算对象", Type: ledger.ColText, Width: 30},
		{Title: "期初借方余额", Type: ledger.ColMoney},
		{Title: "期初贷方余额", Type: ledger.ColMoney},
		{Title: "本期借方发生额", Type: ledger.ColMoney},
		{Title: "本期贷方发生额", Type: ledger.ColMoney},
		{Title: "期末借方余额", Type: ledger.ColMoney},
		{Title: "期末贷方余额", Type: ledger.ColMoney},
	},
}

// balanceSheetRow is the BalanceSheetTable row of l.
func balanceSheetRow(b postgres.AccountBalances, l ledger.SheetLine) []ledger.Value {
	code, name, key, scope := ledger.Text(string(l.Account.Code)), ledger.Text(l.Account.Name()), ledger.Value{}, ledger.Value{}
	switch {
	case l.IsTotal():
		code, name = ledger.Value{}, ledger.Text("合计")
	case l.IsSubtotal():
		name = ledger.Text(l.Account.Name() + " 小计")
	default:
		// The sub-account by its kind and name, never its key "1002/prog/1".
		key, scope = ledger.Text(l.Account.Scope.Label()), ledger.Text(page.ScopeName(b, l.Account))
	}
	return []ledger.Value{code, name, key, scope,
		ledger.Money(l.OpeningDebit), ledger.Money(l.OpeningCredit), ledger.Money(l.Debit), ledger.Money(l.Credit),
		ledger.Money(l.ClosingDebit), ledger.Money(l.ClosingCredit)}
}

// periodFilter reads the period (from, to) and programme filters.
func periodFilter(f page.LedgerFilter) (from, to time.Time, programme int64, err error) {
	if from, err = parseDay("from", f.From); err != nil {
		return
	}
	if to, err = parseDay("to", f.To); err != nil {
		return
	}
	programme, err = parseOptionalID("programme", "申报批次", f.Programme)
	return
}

func balanceFilter(f page.LedgerFilter) (postgres.BalanceFilter, error) {
	var bf postgres.BalanceFilter
	var err error
	bf.From, bf.To, bf.ProgrammeID, err = periodFilter(f)
	return bf, err
}

// handleBalances is the account balance sheet of any period
// (GET /ledger/balances?from=&to=&programme=).
func (s *Server) handleBalances(w http.ResponseWriter, r *http.Request) error {
	v := page.LedgerBalancesView{Filter: ledgerFilterOf(r.URL.Query())}
	v.Query = filterQuery(v.Filter)
	var err error
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	f, err := balanceFilter(v.Filter)
	if err == nil {
		v.Balances, err = s.DB.AccountBalances(r.Context(), f)
	}
	if err != nil {
		if applications.ErrorKind(err) != applications.Invalid {
			return err
		}
		v.Error = applications.ErrorMessage(err)
		return s.render(w, r, http.StatusUnprocessableEntity, page.LedgerBalances(v))
	}
	return s.render(w, r, http.StatusOK, page.LedgerBalances(v))
}

// handleBalancesExport exports the account balance sheet
// (GET /ledger/balances/export?format=csv|xlsx&from=&to=&programme=).
func (s *Server) handleBalancesExport(w http.ResponseWriter, r *http.Request) error {
	f, err := balanceFilter(ledgerFilterOf(r.URL.Query()))
	if err != nil {
		return err
	}
	return s.export(w, r, "ledger_balances", "科目余额表", BalanceSheetTable, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
		b, err := s.DB.AccountBalances(r.Context(), f)
		if err != nil {
			return b.Head, err
		}
		for _, l := range append(b.Sheet.Rows, b.Sheet.Total) {
			*n++
			if err := rw.WriteRow(balanceSheetRow(b, l)...); err != nil {
				return b.Head, err
			}
		}
		return b.Head, nil
	})
}
