package ledger

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// The builders below turn one business event of DOMAIN §11 into an entry
// with its kind, a default memo and its postings, so no caller ever
// assembles postings by hand (and so gets a side or an account wrong). The
// caller then sets ValueDate, Record, MakerID, CheckerID and IdempotencyKey
// (and may replace the memo), calls Validate, and Seal appends it.
//
// Every builder checks its amounts (positive, at most two decimals, within
// numeric(18,2)) and returns an *Error with a Chinese message otherwise.

func dr(k AccountKey, amount decimal.Decimal) Posting {
	return Posting{Account: k, Side: Debit, Amount: amount}
}

func cr(k AccountKey, amount decimal.Decimal) Posting {
	return Posting{Account: k, Side: Credit, Amount: amount}
}

func build(kind Kind, memo string, postings ...Posting) (Entry, error) {
	e := Entry{Kind: kind, Memo: memo, Postings: postings}
	if err := e.validatePostings(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func checkID(field, label string, id int64) error {
	if id <= 0 {
		return errorf(field, "缺少%s编号", label)
	}
	return nil
}

// Appropriation records fiscal money paid into a programme's fund:
// Dr 1002 / Cr 3001.
func Appropriation(programmeID int64, amount decimal.Decimal) (Entry, error) {
	if err := checkID("programme", "专项批次", programmeID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("amount", amount); err != nil {
		return Entry{}, err
	}
	return build(KindAppropriation, "财政拨入专项资金",
		dr(ProgrammeAccount(CodeFundBank, programmeID), amount),
		cr(ProgrammeAccount(CodeAppropriation, programmeID), amount))
}

// Disbursement records money paid from a programme's fund to a project:
// Dr 1221 (project) / Cr 1002 (programme).
func Disbursement(programmeID, applicationID int64, amount decimal.Decimal) (Entry, error) {
	if err := checkIDs(programmeID, applicationID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("amount", amount); err != nil {
		return Entry{}, err
	}
	return build(KindDisbursement, "拨付先投资金",
		dr(ProjectAccount(CodeInvested, applicationID), amount),
		cr(ProgrammeAccount(CodeFundBank, programmeID), amount))
}

// Conversion moves the disbursed principal into equity: Dr 1511 / Cr 1221,
// both of the project. Pre-conversion interest only changes the units
// received and is not income before exit, so principal is the disbursed sum.
func Conversion(applicationID int64, principal decimal.Decimal) (Entry, error) {
	if err := checkID("application", "项目", applicationID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("principal", principal); err != nil {
		return Entry{}, err
	}
	return build(KindConversion, "先投资金转为股权",
		dr(ProjectAccount(CodeEquity, applicationID), principal),
		cr(ProjectAccount(CodeInvested, applicationID), principal))
}

// Exit records the sale of (part of) a holding: Dr 1002 proceeds / Cr 1511
// cost, and the difference as Cr 6111 gain or Dr 6711 loss; an exit at cost
// posts neither. Proceeds may be zero (a holding sold for nothing under the
// market rule), in which case there is no 1002 line and the whole cost is a
// loss. Cost must be positive: it is the cost of the units sold.
func Exit(programmeID, applicationID int64, proceeds, cost decimal.Decimal) (Entry, error) {
	if err := checkIDs(programmeID, applicationID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("cost", cost); err != nil {
		return Entry{}, err
	}
	if !proceeds.IsZero() {
		if err := checkAmount("proceeds", proceeds); err != nil {
			return Entry{}, err
		}
	}
	ps := make([]Posting, 0, 3)
	if proceeds.Sign() > 0 {
		ps = append(ps, dr(ProgrammeAccount(CodeFundBank, programmeID), proceeds))
	}
	ps = append(ps, cr(ProjectAccount(CodeEquity, applicationID), cost))
	memo := "股权退出"
	switch gain := proceeds.Sub(cost); gain.Sign() {
	case 1:
		ps = append(ps, cr(ProgrammeAccount(CodeInvestmentIncome, programmeID), gain))
		memo = "股权退出，确认投资收益"
	case -1:
		ps = append(ps, dr(ProgrammeAccount(CodeLossAndWriteOff, programmeID), gain.Neg()))
		memo = "股权退出，确认投资损失"
	}
	return build(KindExit, memo, ps...)
}

// LapseToGrant turns money invested in a project into a grant when the
// conversion window lapses under the grant policy: Dr 6401 (programme) /
// Cr 1221 (project).
func LapseToGrant(programmeID, applicationID int64, amount decimal.Decimal) (Entry, error) {
	if err := checkIDs(programmeID, applicationID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("amount", amount); err != nil {
		return Entry{}, err
	}
	return build(KindLapseGrant, "先投资金到期转为无偿资助",
		dr(ProgrammeAccount(CodeGrantExpense, programmeID), amount),
		cr(ProjectAccount(CodeInvested, applicationID), amount))
}

// RecoveryReceivable records that money invested in a project is to be
// recovered: Dr 1131 / Cr 1221, both of the project.
func RecoveryReceivable(applicationID int64, amount decimal.Decimal) (Entry, error) {
	if err := checkID("application", "项目", applicationID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("amount", amount); err != nil {
		return Entry{}, err
	}
	return build(KindRecovery, "确认应收追回款",
		dr(ProjectAccount(CodeRecoveryDue, applicationID), amount),
		cr(ProjectAccount(CodeInvested, applicationID), amount))
}

// RecoveryReceipt records recovered money arriving in the fund:
// Dr 1002 (programme) / Cr 1131 (project).
func RecoveryReceipt(programmeID, applicationID int64, amount decimal.Decimal) (Entry, error) {
	if err := checkIDs(programmeID, applicationID); err != nil {
		return Entry{}, err
	}
	if err := checkAmount("amount", amount); err != nil {
		return Entry{}, err
	}
	return build(KindRecoveryReceipt, "收回追回款",
		dr(ProgrammeAccount(CodeFundBank, programmeID), amount),
		cr(ProjectAccount(CodeRecoveryDue, applicationID), amount))
}

// WriteOff writes a project's asset off to losses: Dr 6711 (programme) /
// Cr from (project). DOMAIN §11 names 1221 (money not yet converted) and
// 1511 (equity); 1131 is accepted too, because a recovery receivable that
// proves uncollectible has no other way off the books.
func WriteOff(programmeID, applicationID int64, from Code, amount decimal.Decimal) (Entry, error) {
	if err := checkIDs(programmeID, applicationID); err != nil {
		return Entry{}, err
	}
	if from != CodeInvested && from != CodeEquity && from != CodeRecoveryDue {
		return Entry{}, errorf("from", "只能从科目 1221、1511 或 1131 核销，不能从 %q 核销", string(from))
	}
	if err := checkAmount("amount", amount); err != nil {
		return Entry{}, err
	}
	a, _ := LookupAccount(from)
	return build(KindWriteOff, "核销"+a.Name,
		dr(ProgrammeAccount(CodeLossAndWriteOff, programmeID), amount),
		cr(ProjectAccount(from, applicationID), amount))
}

// Reverse builds the reversing entry that corrects orig, which must already
// be in the ledger (Seq > 0): the same postings with sides swapped, kind
// reversal, Reverses = orig.Seq, and orig's business record. Entries are
// never updated or deleted, so this is the only way to undo one. A reversal
// cannot itself be reversed: to restore the effect, post the event again.
func Reverse(orig Entry) (Entry, error) {
	if orig.Seq <= 0 {
		return Entry{}, errorf("reverses", "只能冲销已记账的凭证")
	}
	if orig.Kind == KindReversal {
		return Entry{}, errorf("reverses", "第 %d 号凭证本身是冲销凭证，不能再冲销；如需恢复，请重新记账", orig.Seq)
	}
	ps := make([]Posting, len(orig.Postings))
	for i, p := range orig.Postings {
		ps[i] = Posting{Account: p.Account, Side: p.Side.Opposite(), Amount: p.Amount}
	}
	e, err := build(KindReversal, fmt.Sprintf("冲销第 %d 号凭证（%s）", orig.Seq, orig.Kind.Label()), ps...)
	if err != nil {
		return Entry{}, err
	}
	e.Reverses = orig.Seq
	e.Record = orig.Record
	return e, nil
}

func checkIDs(programmeID, applicationID int64) error {
	if err := checkID("programme", "专项批次", programmeID); err != nil {
		return err
	}
	return checkID("application", "项目", applicationID)
}
