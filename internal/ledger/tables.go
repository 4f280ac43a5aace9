package ledger

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// JournalTable is the ledger journal export (日记账): one row per posting,
// so debits and credits can be summed per column in a spreadsheet. The
// entry's hash is on every row so any row can be checked against the chain.
var JournalTable = Table{
	Name: "日记账",
	Columns: []Column{
		{Title: "凭证序号", Type: ColInt},
		{Title: "记账日期", Type: ColDate},
		{Title: "凭证类型", Type: ColText, Width: 14},
		{Title: "摘要", Type: ColText, Width: 30},
		{Title: "科目代码", Type: ColText, Width: 10},
		{Title: "科目名称", Type: ColText, Width: 18},
		{Title: "明细科目", Type: ColText, Width: 18},
		{Title: "借方金额", Type: ColMoney},
		{Title: "贷方金额", Type: ColMoney},
		{Title: "业务单据", Type: ColText, Width: 20},
		{Title: "制单人", Type: ColText, Width: 16},
		{Title: "复核人", Type: ColText, Width: 16},
		{Title: "冲销凭证序号", Type: ColInt, Width: 14},
		{Title: "记账时间", Type: ColDateTime},
		{Title: "哈希", Type: ColText, Width: 66},
	},
}

// AppendJournalRow appends the JournalTable row of posting p of entry e to
// dst (pass row[:0] of a reused slice to write a cursor without allocating),
// with the stored keys (sub-account, record, user IDs); the server's export
// replaces them with the names a person reads.
func AppendJournalRow(dst []Value, e *Entry, p Posting) []Value {
	var debit, credit, reverses Value
	if p.Side == Debit {
		debit = Money(p.Amount)
	} else {
		credit = Money(p.Amount)
	}
	if e.Reverses > 0 {
		reverses = Int(e.Reverses)
	}
	return append(dst,
		Int(e.Seq), Date(e.ValueDate), Text(e.Kind.Label()), Text(e.Memo),
		Text(string(p.Account.Code)), Text(p.Account.Name()), Text(p.Account.String()),
		debit, credit,
		Text(e.Record.String()), Text(strconv.FormatInt(e.MakerID, 10)), Text(strconv.FormatInt(e.CheckerID, 10)), reverses,
		DateTime(e.CreatedAt), Text(e.Hash),
	)
}

// TrialBalanceTable is the trial balance export (试算平衡表): turnover and
// closing balance per sub-account.
var TrialBalanceTable = Table{
	Name: "试算平衡表",
	Columns: []Column{
		{Title: "科目代码", Type: ColText, Width: 10},
		{Title: "科目名称", Type: ColText, Width: 18},
		{Title: "明细科目", Type: ColText, Width: 18},
		{Title: "借方发生额", Type: ColMoney},
		{Title: "贷方发生额", Type: ColMoney},
		{Title: "借方余额", Type: ColMoney},
		{Title: "贷方余额", Type: ColMoney},
	},
}

// TrialBalanceRow is the TrialBalanceTable row of b.
func TrialBalanceRow(b Balance) []Value {
	return []Value{
		Text(string(b.Account.Code)), Text(b.Account.Name()), Text(b.Account.String()),
		Money(b.Debit), Money(b.Credit), Money(b.DebitBalance()), Money(b.CreditBalance()),
	}
}

// TrialBalanceTotalRow is the closing "合计" row of a trial balance: the
// turnover totals and the sums of debit and credit balances, which must be
// equal pairwise when the ledger balances.
func TrialBalanceTotalRow(tb *TrialBalance) []Value {
	var dBal, cBal decimal.Decimal
	for _, b := range tb.lines {
		dBal = dBal.Add(b.DebitBalance())
		cBal = cBal.Add(b.CreditBalance())
	}
	debit, credit := tb.Totals()
	return []Value{{}, Text("合计"), {}, Money(debit), Money(credit), Money(dBal), Money(cBal)}
}
