package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/postgres"
)

// TestBalanceSheetTiesToTrialBalance opens the account balance sheet of
// November (funded in October, disbursed in November): opening, movement
// and closing per sub-account by name, subtotals per first-level account,
// and totals equal to the trial balance at the period's end, on the page
// and in both exports.
func TestBalanceSheetTiesToTrialBalance(t *testing.T) {
	t.Parallel()
	m := newMoneyEnv(t, "3000000.00", "2000000.00") // funded 2026-10-26
	ctx := context.Background()
	m.disburseApproved("1000000.00", nil)
	c := m.loggedIn(auditor)
	const period = "/ledger/balances?from=2026-11-01&to=2026-11-30"
	doc := c.get(period).doc(t)
	fund := doc.Find(`#balances-table tr[data-account="1002/prog/` + itoa(m.prog.ID) + `"]`)
	if !strings.Contains(fund.Text(), m.prog.Name) || !strings.Contains(fund.Text(), "3,000,000.00") || !strings.Contains(fund.Text(), "2,000,000.00") {
		t.Fatalf("fund line: %q", fund.Text())
	}
	if inv := doc.Find(`#balances-table tr[data-account="1221/app/` + itoa(m.app) + `"]`).Text(); !strings.Contains(inv, "高性能储能材料中试") {
		t.Fatalf("project line names no project: %q", inv)
	}
	if n := doc.Find(`#balances-table tr.subtotal`).Length(); n != 3 { // 1002, 1221, 3001
		t.Fatalf("%d subtotals", n)
	}

	tb, _, err := m.db.TrialBalance(ctx, postgres.TrialFilter{AsOf: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	dBal, cBal := decimal.Zero, decimal.Zero
	for _, b := range tb.Lines() {
		dBal, cBal = dBal.Add(b.DebitBalance()), cBal.Add(b.CreditBalance())
	}
	closing := doc.Find(`#balances-total th`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if len(closing) != 7 || closing[5] != "3,000,000.00" || closing[6] != "3,000,000.00" || !dBal.Equal(decimal.RequireFromString("3000000")) {
		t.Fatalf("total %v, trial balance debit balances %s", closing, dBal)
	}
	p := exportBoth(t, c, "/ledger/balances/export?from=2026-11-01&to=2026-11-30", BalanceSheetTable)
	last := p.csv[len(p.csv)-1]
	if last[1] != "合计" || !sameFigure(last[8], dBal.String()) || !sameFigure(last[9], cBal.String()) ||
		!sameFigure(last[4], "3000000") || !sameFigure(last[6], "1000000") {
		t.Fatalf("CSV total row %v does not tie to the trial balance %s / %s", last, dBal, cBal)
	}
	var sub bool
	for _, r := range p.csv {
		sub = sub || r[1] == "先投资金(待转股) 小计"
	}
	if !sub {
		t.Fatalf("no 1221 subtotal in %v", p.csv)
	}
}

// disburseApproved records tranche 1 of amount, dated yesterday, and has it
// approved (after between, if given, e.g. moving the clock).
func (m *moneyEnv) disburseApproved(amount string, between func()) applications.Disbursement {
	m.t.Helper()
	ctx := context.Background()
	d, err := m.db.RecordDisbursement(ctx, m.actor(staff), applications.DisbursementInput{ApplicationID: m.app, Tranche: 1,
		Amount: decimal.RequireFromString(amount), ValueDate: m.clock.Now().AddDate(0, 0, -1), Reference: "PZ-1",
		IdempotencyKey: newFormKey(ctx)})
	if err != nil {
		m.t.Fatal(err)
	}
	if between != nil {
		between()
	}
	if d, err = m.db.ApproveDisbursement(ctx, m.actor(approver), d.ID, newFormKey(ctx)); err != nil {
		m.t.Fatal(err)
	}
	return d
}
