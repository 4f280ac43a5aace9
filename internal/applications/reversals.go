package applications

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"ite/internal/ledger"
)

// Reversal is a request to correct an approved entry with its mirror (冲正,
// DOMAIN §11): made by staff or an admin with a reason, approved by an
// approver who is someone else. Approval posts the reversing entry and
// undoes the business record the original entry recorded.
type Reversal struct {
	ID           int64
	OriginalSeq  int64            // the entry to reverse
	Kind         ledger.Kind      // the original entry's kind
	Memo         string           // the original entry's memo
	Record       ledger.RecordRef // the original entry's business record
	OriginalDate time.Time        // the original entry's value date
	Amount       decimal.Decimal  // Σ debits of the original entry
	Reason       string
	Status       MoneyStatus // MoneyPending, MoneyApproved or MoneyRejected
	PreparedBy   int64
	PreparerName string
	PreparedAt   time.Time
	CheckedBy    int64
	CheckerName  string
	CheckedAt    time.Time
	CheckComment string
	EntrySeq     int64 // the reversing entry; 0 until approved
}

// ReversalInput is what the requester submits.
type ReversalInput struct {
	EntrySeq       int64
	Reason         string
	IdempotencyKey string
}

// maxReversalReason bounds the reason: it goes into the reversing entry's
// memo (at most 500 characters) after a short prefix.
const maxReversalReason = 300

// CheckReversalReason trims and checks the reason a requester gives.
// Errors: Invalid.
func CheckReversalReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", FieldError("reason", "请填写冲正理由：原凭证错在哪里，依据是什么（如退回的银行回单、更正后的拨款文号）。")
	case utf8.RuneCountInString(reason) > maxReversalReason:
		return "", FieldError("reason", fmt.Sprintf("冲正理由最多 %d 字，请精简。", maxReversalReason))
	}
	return reason, nil
}

// CheckReversalRequester refuses a requester whose role may not ask for
// a correction (ActionRequestReversal: staff, the makers of money records;
// never the admin, who moves no money, DOMAIN §2). Errors: Forbidden.
func CheckReversalRequester(role Role) error {
	if !role.Can(ActionRequestReversal) {
		return Errorf(Forbidden, "您的角色（%s）不能申请冲正：冲正由经办人员申请、审批人审批。", role.Label())
	}
	return nil
}

// ReversalCandidate is an entry someone asks to reverse, with what the
// ledger and the reversal requests say about it so far.
type ReversalCandidate struct {
	Entry      ledger.Entry
	ReversedBy int64       // the entry that reversed it; 0 when none
	OpenID     int64       // another pending or approved request for it; 0 when none
	OpenStatus MoneyStatus // that request's status
}

// Check decides whether the entry itself may be reversed and returns the
// type of business record the reversal undoes (RecordAppropriation or
// RecordDisbursement): only approved appropriations and disbursements the
// app recorded can be undone together with their record. Errors: Conflict
// (a reversal, already reversed or requested), Invalid (a kind of entry
// the app cannot undo).
func (c ReversalCandidate) Check() (string, error) {
	e := c.Entry
	if e.Kind == ledger.KindReversal {
		return "", Errorf(Conflict, "第 %d 号凭证本身是冲销凭证，不能再冲正。如冲正有误，请按原业务重新登记并审批。", e.Seq)
	}
	if c.ReversedBy != 0 {
		return "", Errorf(Conflict, "第 %d 号凭证已由第 %d 号凭证冲销，不能重复冲正。", e.Seq, c.ReversedBy)
	}
	if c.OpenID != 0 {
		return "", Errorf(Conflict, "第 %d 号凭证已有%s的冲正申请（%s），不能重复申请。请在冲正列表中查看该申请。",
			e.Seq, MoneyStatusLabel(c.OpenStatus), RecordNumber(ledger.RecordRef{Type: RecordReversal, ID: c.OpenID}))
	}
	switch {
	case e.Kind == ledger.KindAppropriation && e.Record.Type == RecordAppropriation:
		return RecordAppropriation, nil
	case e.Kind == ledger.KindDisbursement && e.Record.Type == RecordDisbursement:
		return RecordDisbursement, nil
	case e.Kind == ledger.KindAppropriation || e.Kind == ledger.KindDisbursement:
		return "", Errorf(Invalid,
			"第 %d 号凭证关联的业务单据为 %s，不是系统登记的%s，系统无法同时恢复业务状态，不能在系统内冲正。请联系系统管理员。",
			e.Seq, e.Record.String(), e.Kind.Label())
	}
	return "", Errorf(Invalid,
		"第 %d 号凭证是「%s」凭证。系统内冲正只适用于已审批的财政拨入和拨付；%s凭证牵涉转股、退出或结题等后续记录，不能单独冲销，请联系系统管理员按规程处理。",
		e.Seq, e.Kind.Label(), e.Kind.Label())
}

// ReversalTarget is the business record a reversal undoes (an
// appropriation or a disbursement), as it is now.
type ReversalTarget struct {
	Record      ledger.RecordRef
	Found       bool // the record exists
	Status      MoneyStatus
	EntrySeq    int64 // the record's entry; 0 when none
	ProgrammeID int64
	Amount      decimal.Decimal
	// An appropriation: the fund it paid into.
	FundBalance decimal.Decimal
	// A disbursement: the project it paid.
	AppID         int64
	AppState      State
	AppDisbursed  decimal.Decimal
	EndingPending bool // the project has an ending awaiting an approver
}

// What is the record's kind in Chinese.
func (t ReversalTarget) What() string {
	if t.Record.Type == RecordDisbursement {
		return "拨付"
	}
	return "财政拨入"
}

// Check decides whether the record of entry seq may be undone now: it is
// still the approved record of that entry, an appropriation's money is
// still in the fund, and a disbursement's project is still in the
// disbursing stage with nothing pending that rests on it. Errors:
// Conflict.
func (t ReversalTarget) Check(seq int64) error {
	if !t.Found {
		return t.ErrMismatch("不存在", seq)
	}
	if t.Status != MoneyApproved || t.EntrySeq != seq {
		return t.ErrMismatch(t.Status, seq)
	}
	switch t.Record.Type {
	case RecordAppropriation:
		if t.FundBalance.LessThan(t.Amount) {
			return ErrReversalFundShort(t.FundBalance, t.Amount)
		}
	case RecordDisbursement:
		// After funding, the money is the basis of a conversion, an ending
		// or an exit: undoing it alone would leave those wrong.
		if !Disbursable(t.AppState) {
			return Errorf(Conflict,
				"项目当前状态为「%s」，这笔拨付已进入转股、结题等后续环节，不能在系统内冲正。请联系系统管理员按规程处理。", t.AppState.Label())
		}
		if t.EndingPending {
			return Errorf(Conflict, "项目有待审批的结题或核销事项，请先审批或退回该事项后再冲正拨付。")
		}
		if t.AppDisbursed.LessThan(t.Amount) {
			return Errorf(Conflict, "项目累计拨付 %s 元少于本笔 %s 元，与台账不符，不能冲正。请审计人员先运行台账校验。",
				FormatAmount(t.AppDisbursed), FormatAmount(t.Amount))
		}
	}
	return nil
}

// ErrMismatch is the refusal when the record no longer says what entry
// seq says (status is what it says instead): only a fault elsewhere leads
// here.
func (t ReversalTarget) ErrMismatch(status MoneyStatus, seq int64) error {
	return Errorf(Conflict, "%s %s 当前为「%s」，与第 %d 号凭证不符，不能冲正。请审计人员先运行台账校验。",
		t.What(), RecordNumber(t.Record), MoneyStatusLabel(status), seq)
}

// ErrReversalFundShort refuses reversing an appropriation whose money has
// been disbursed since: the fund would go below zero.
func ErrReversalFundShort(balance, amount decimal.Decimal) error {
	return Errorf(Conflict,
		"专项资金余额 %s 元，不足以冲回这笔财政拨入 %s 元：其中的资金已拨付给项目。请先冲正相关拨付，使余额足以冲回后再办理。",
		FormatAmount(balance), FormatAmount(amount))
}

// Entry is the entry that approving request r posts: the mirror of orig,
// dated today (China's date, midnight UTC) or orig's own value date when
// that is later, maker the requester and checker checkerID, linked to the
// request. Errors: Invalid (the ledger refuses the mirror).
func (t ReversalTarget) Entry(orig ledger.Entry, r Reversal, checkerID int64, today time.Time) (ledger.Entry, error) {
	e, err := ledger.Reverse(orig)
	if err != nil {
		return e, InvalidLedger(err)
	}
	e.Memo = fmt.Sprintf("冲正第 %d 号凭证（%s %s）：%s", orig.Seq, t.What(), RecordNumber(t.Record), r.Reason)
	e.ValueDate = today
	if orig.ValueDate.After(e.ValueDate) {
		e.ValueDate = orig.ValueDate
	}
	e.Record = ledger.RecordRef{Type: RecordReversal, ID: r.ID}
	e.MakerID, e.CheckerID = r.PreparedBy, checkerID
	e.IdempotencyKey = RecordReversal + "/" + strconv.FormatInt(r.ID, 10)
	return e, nil
}

// PaidProject reports whether undoing the record changes a project (a
// disbursement), which may then have to move back to contracted.
func (t ReversalTarget) PaidProject() bool { return t.Record.Type == RecordDisbursement }

// UndoesFunding reports whether the project, after the reversal of one of
// its disbursements (state and disbursed as they are then), moves back to
// contracted: funded means "first tranche disbursed" (DOMAIN §4), and the
// correction undoes what the disbursement did, so the project can be
// funded again, or withdrawn, instead of lapsing or converting with
// nothing paid.
func UndoesFunding(state State, disbursed decimal.Decimal) bool {
	return state == StateFunded && disbursed.IsZero()
}

// UndoFundingReason is the transition reason of that move back.
func UndoFundingReason(reversalID int64) string {
	return fmt.Sprintf("冲正申请 %s 冲销了项目唯一一笔拨付，项目回到已签约，待重新拨付", RecordNumber(ledger.RecordRef{Type: RecordReversal, ID: reversalID}))
}
