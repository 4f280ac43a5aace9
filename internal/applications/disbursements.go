package applications

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
	"ite/internal/day"
	"ite/internal/ledger"
)

// MoneyStatus is where a money record (an appropriation, a disbursement, a
// reversal request) stands.
type MoneyStatus string

// Money record statuses (appropriations and disbursements): recorded by a
// maker, then approved or rejected by a checker who is someone else. An
// approved record is reversed when an approved reversal (冲正) undoes it.
const (
	MoneyPending  MoneyStatus = "pending"
	MoneyApproved MoneyStatus = "approved"
	MoneyRejected MoneyStatus = "rejected"
	MoneyReversed MoneyStatus = "reversed"
)

// MoneyStatusLabel is the Chinese name of a money record status.
func MoneyStatusLabel(s MoneyStatus) string {
	switch s {
	case MoneyPending:
		return "待审批"
	case MoneyApproved:
		return "已审批"
	case MoneyRejected:
		return "已退回"
	case MoneyReversed:
		return "已冲正"
	}
	return string(s)
}

// Record types a ledger entry links to (ledger.RecordRef.Type).
const (
	RecordAppropriation = "appropriation"
	RecordDisbursement  = "disbursement"
	RecordReversal      = "reversal" // a reversal request (冲正), the record of a reversing entry
)

// recordPrefixes number the business records as people quote them on
// paper and on the phone: 转股测算单 ZG-1 (the certificate's own number),
// 拨付 BF-12.
var recordPrefixes = map[string]string{
	RecordAppropriation: "BR-", RecordDisbursement: "BF-", RecordReversal: "CZ-",
	"conversion": "ZG-", "exit": "TC-", "ending": "JT-", "terms": "BG-",
}

// RecordNumber is a record's number as lists, titles and messages show it
// beside the record's kind: "BF-12"; "第 12 号" for a kind without a prefix.
// Never the stored "disbursement#12".
func RecordNumber(r ledger.RecordRef) string {
	if p, ok := recordPrefixes[r.Type]; ok {
		return p + strconv.FormatInt(r.ID, 10)
	}
	return "第 " + strconv.FormatInt(r.ID, 10) + " 号"
}

// InvalidLedger turns the ledger package's refusal of an entry into an
// Invalid error naming the field; any other error is returned as it is.
func InvalidLedger(err error) error {
	var le *ledger.Error
	if errors.As(err, &le) {
		return &Error{Kind: Invalid, Field: le.Field, Message: le.Message, Err: err}
	}
	return err
}

// Disbursement is one tranche paid (or to be paid) from a programme's fund
// to a contracted project (拨付, DOMAIN §8): recorded by staff, approved by
// an approver, and then posted Dr 1221 / Cr 1002.
type Disbursement struct {
	ID               int64
	ApplicationID    int64
	Title            string // the project
	Enterprise       string
	ProgrammeID      int64
	Programme        string
	AgreementID      int64
	AgreementVersion int
	Tranche          int // 1-based, in the agreement's plan
	Amount           decimal.Decimal
	ValueDate        time.Time
	Reference        string // voucher or bank reference
	Note             string
	Status           MoneyStatus
	PreparedBy       int64
	PreparerName     string
	PreparedAt       time.Time
	CheckedBy        int64
	CheckerName      string
	CheckedAt        time.Time
	CheckComment     string
	EntrySeq         int64
}

// DisbursementInput is what staff submit.
type DisbursementInput struct {
	ApplicationID  int64
	Tranche        int
	Amount         decimal.Decimal
	ValueDate      time.Time
	Reference      string
	Note           string
	IdempotencyKey string
}

// Tranche is one line of a signed agreement's plan with what has happened
// to it.
type Tranche struct {
	No        int
	Share     string
	Amount    decimal.Decimal // planned: agreed amount × share, the last takes the remainder
	DueOn     time.Time       // signing date + months after signing
	Milestone string          // "" when not gated
	// Confirmation is staff's confirmation of the milestone; nil when the
	// tranche is gated and not yet confirmed (or not gated).
	Confirmation *MilestoneConfirmation
	// Gate is GateAcceptance when the tranche waits for a passed
	// acceptance; Accepted reports that the project's latest acceptance
	// passed (DisbursementPlan.WithAcceptance).
	Gate      string
	Accepted  bool
	Disbursed decimal.Decimal // approved
	Pending   decimal.Decimal // recorded, awaiting an approver
}

// Remaining is what may still be recorded against the tranche.
func (t Tranche) Remaining() decimal.Decimal { return t.Amount.Sub(t.Disbursed).Sub(t.Pending) }

// Gated reports whether the tranche waits for a milestone not yet
// confirmed or for a passed acceptance.
func (t Tranche) Gated() bool { return t.MilestoneGated() || t.AcceptanceGated() }

// MilestoneGated reports whether the tranche waits for its milestone.
func (t Tranche) MilestoneGated() bool { return t.Milestone != "" && t.Confirmation == nil }

// AcceptanceGated reports whether the tranche waits for a passed
// acceptance of the project.
func (t Tranche) AcceptanceGated() bool { return t.Gate == GateAcceptance && !t.Accepted }

// MilestoneConfirmation is staff's record that a tranche's milestone is
// met.
type MilestoneConfirmation struct {
	Tranche     int
	Milestone   string
	Note        string
	ConfirmedBy string
	ConfirmedAt time.Time
}

// DisbursementPlan is everything the disbursement panel of a project
// shows and every disbursement rule decides on: the agreement in force,
// its tranche plan and the money so far.
type DisbursementPlan struct {
	App              Application
	AgreementID      int64 // 0 when no agreement is signed
	AgreementVersion int
	AgreementAmount  decimal.Decimal
	SignedOn         time.Time
	Approved         decimal.NullDecimal // the approved amount (applications.approved_amount)
	Disbursed        decimal.Decimal     // Σ approved disbursements
	Pending          decimal.Decimal     // Σ pending disbursements
	FundBalance      decimal.Decimal     // the programme's fund
	Tranches         []Tranche
	Disbursements    []Disbursement // newest first
	Acceptance       *Acceptance    // the latest acceptance; nil when none
}

// Remaining is what may still be recorded for the project: the approved
// amount less what is disbursed or pending.
func (p DisbursementPlan) Remaining() decimal.Decimal {
	if !p.Approved.Valid {
		return decimal.Zero
	}
	return p.Approved.Decimal.Sub(p.Disbursed).Sub(p.Pending)
}

// Open reports whether the project's state allows disbursing.
func (p DisbursementPlan) Open() bool { return Disbursable(p.App.State) }

// Disbursable reports whether a project in state s may be paid: it is
// contracted (waiting for its first tranche) or funded.
func Disbursable(s State) bool { return s == StateContracted || s == StateFunded }

// TranchePlan turns an agreement's terms into its tranche plan: tranche
// i is amount × share rounded half-up to the fen, the last takes the
// remainder so the plan sums to amount exactly; due dates count months
// from signedOn. Errors: Invalid when the shares do not make a plan.
func TranchePlan(terms Terms, amount decimal.Decimal, signedOn time.Time) ([]Tranche, error) {
	amounts := terms.TrancheAmounts(amount)
	out := make([]Tranche, len(terms.Tranches))
	for i, tt := range terms.Tranches {
		share, err := decimal.NewFromString(tt.Share)
		if err != nil || !share.IsPositive() || amounts[i].Sign() <= 0 {
			return nil, Errorf(Invalid, "协议的拨付计划第 %d 笔比例无效，请核对协议条款。", i+1)
		}
		// The shared helper and MulMoney must agree; this keeps a change
		// to either from silently moving money between tranches.
		if i < len(terms.Tranches)-1 && !amounts[i].Equal(conversion.MulMoney(amount, share)) {
			return nil, Errorf(Internal, "tranche %d amount mismatch", i+1)
		}
		out[i] = Tranche{No: i + 1, Share: tt.Share, Amount: amounts[i], Milestone: strings.TrimSpace(tt.Milestone),
			Gate: tt.Gate, Disbursed: decimal.Zero, Pending: decimal.Zero}
		if !signedOn.IsZero() {
			out[i].DueOn = signedOn.AddDate(0, tt.MonthsAfterSigning, 0)
		}
	}
	return out, nil
}

// CheckMilestoneNote trims and checks staff's note confirming a milestone.
// Errors: Invalid.
func CheckMilestoneNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return "", FieldError("note", "请填写里程碑达成情况的说明（如验收结论、证明材料）。")
	}
	if utf8.RuneCountInString(note) > 1000 {
		return "", FieldError("note", "说明最多 1000 字。")
	}
	return note, nil
}

// ConfirmMilestone decides whether staff may confirm the milestone of
// tranche (1-based) now, and returns the tranche to confirm. Errors:
// Conflict (not in the disbursing stage, no signed agreement, not gated,
// already confirmed), Invalid (no such tranche).
func (p DisbursementPlan) ConfirmMilestone(tranche int) (Tranche, error) {
	if !p.Open() {
		return Tranche{}, Errorf(Conflict, "项目当前状态为「%s」，不在拨付阶段。", p.App.State.Label())
	}
	if p.AgreementID == 0 {
		return Tranche{}, Errorf(Conflict, "项目尚无已签署的投资协议。")
	}
	if tranche < 1 || tranche > len(p.Tranches) {
		return Tranche{}, FieldError("tranche", "请选择协议拨付计划中的一笔。")
	}
	t := p.Tranches[tranche-1]
	if t.Milestone == "" {
		return Tranche{}, Errorf(Conflict, "第 %d 笔拨付不以里程碑为条件，无需确认。", tranche)
	}
	if t.Confirmation != nil {
		return Tranche{}, Errorf(Conflict, "第 %d 笔拨付的里程碑已于 %s 由%s确认。", tranche,
			day.Chinese(day.Of(t.Confirmation.ConfirmedAt)), t.Confirmation.ConfirmedBy)
	}
	return t, nil
}

// CheckRecord decides whether in may be recorded against the plan, pending
// an approver: the project is contracted or funded with a signed agreement
// and an approved amount, the tranche exists and its milestone (if any) is
// confirmed, the value date is not before signing, and the amount fits
// what is left of the tranche, of the approved amount (counting pending
// records) and of the fund. The input's own form (amount, dates, texts) is
// the caller's check. Errors: Conflict, Invalid (naming the field).
func (p DisbursementPlan) CheckRecord(in DisbursementInput) error {
	if !p.Open() {
		return Errorf(Conflict, "项目当前状态为「%s」，不能拨付（须已签约）。", p.App.State.Label())
	}
	if p.AgreementID == 0 {
		return Errorf(Conflict, "项目尚无已签署的投资协议，不能拨付。")
	}
	if !p.Approved.Valid {
		return Errorf(Conflict, "项目没有批准金额，不能拨付。")
	}
	if in.Tranche < 1 || in.Tranche > len(p.Tranches) {
		return FieldError("tranche", "请选择协议拨付计划中的一笔。")
	}
	t := p.Tranches[in.Tranche-1]
	if t.MilestoneGated() {
		return FieldError("tranche", fmt.Sprintf("第 %d 笔拨付以里程碑“%s”为条件，须先由经办人员确认里程碑达成。", t.No, t.Milestone))
	}
	if t.AcceptanceGated() {
		return FieldError("tranche", fmt.Sprintf("第 %d 笔拨付以结题验收通过为条件，须先登记结论为通过（或有条件通过）的结题验收。", t.No))
	}
	if day.Date(in.ValueDate).Before(day.Date(p.SignedOn)) {
		return FieldError("value_date", "拨付日期不能早于协议签署日期（"+day.Chinese(p.SignedOn)+"）。")
	}
	if rem := t.Remaining(); in.Amount.GreaterThan(rem) {
		return FieldError("amount", fmt.Sprintf("金额超过第 %d 笔计划的剩余可拨付金额 %s 元（计划 %s 元，已拨付 %s 元，待审批 %s 元）。",
			t.No, FormatAmount(rem), FormatAmount(t.Amount), FormatAmount(t.Disbursed), FormatAmount(t.Pending)))
	}
	if rem := p.Remaining(); in.Amount.GreaterThan(rem) {
		return FieldError("amount", fmt.Sprintf("金额超过项目剩余可拨付金额 %s 元（批准 %s 元，已拨付 %s 元，待审批 %s 元）。",
			FormatAmount(rem), FormatAmount(p.Approved.Decimal), FormatAmount(p.Disbursed), FormatAmount(p.Pending)))
	}
	if in.Amount.GreaterThan(p.FundBalance) {
		return FieldError("amount", fmt.Sprintf("金额超过专项资金余额 %s 元，请先办理财政拨入。", FormatAmount(p.FundBalance)))
	}
	return nil
}

// DisbursementApproval is what approving a disbursement changes: the
// amount goes onto the application's disbursed total and out of the
// programme's fund (the store does both with guarded UPDATEs, which have
// the last word under concurrency), Entry is posted, and a contracted
// project becomes funded.
type DisbursementApproval struct {
	Amount decimal.Decimal
	Entry  ledger.Entry // Dr 1221 / Cr 1002, maker the preparer, checker the approver
	Funded bool         // contracted → funded: this is the project's first disbursement
}

// FundedReason is the transition reason of contracted → funded, naming the
// posted entry.
func (a DisbursementApproval) FundedReason(seq int64) string {
	return fmt.Sprintf("首笔拨付（第 %d 号凭证）审批通过", seq)
}

// Approve decides checkerID's approval of the pending disbursement d,
// recorded against this plan: the project is still disbursing under the
// same agreement, the tranche's milestone is confirmed and the tranche's
// plan is not exceeded. Whether the checker prepared d is the caller's
// (maker–checker) check. Errors: Conflict, Invalid (the entry refused).
func (p DisbursementPlan) Approve(d Disbursement, checkerID int64) (DisbursementApproval, error) {
	if !p.Open() {
		return DisbursementApproval{}, Errorf(Conflict, "项目当前状态为「%s」，不能拨付。", p.App.State.Label())
	}
	if p.AgreementID != d.AgreementID {
		return DisbursementApproval{}, Errorf(Conflict, "协议已变更（现为第 %d 版），该笔拨付按旧版协议登记，请退回后重新登记。", p.AgreementVersion)
	}
	if t := p.Tranches[d.Tranche-1]; t.MilestoneGated() {
		return DisbursementApproval{}, Errorf(Conflict, "第 %d 笔拨付的里程碑尚未确认。", t.No)
	} else if t.AcceptanceGated() {
		return DisbursementApproval{}, Errorf(Conflict, "第 %d 笔拨付以结题验收通过为条件，项目尚无通过的结题验收。", t.No)
	} else if t.Disbursed.Add(d.Amount).GreaterThan(t.Amount) {
		return DisbursementApproval{}, Errorf(Conflict, "第 %d 笔计划 %s 元，已拨付 %s 元，再拨付 %s 元将超出计划。",
			t.No, FormatAmount(t.Amount), FormatAmount(t.Disbursed), FormatAmount(d.Amount))
	}
	e, err := ledger.Disbursement(d.ProgrammeID, d.ApplicationID, d.Amount)
	if err != nil {
		return DisbursementApproval{}, InvalidLedger(err)
	}
	e.Memo = fmt.Sprintf("拨付先投资金：%s 第 %d 笔（%s）", d.Title, d.Tranche, d.Reference)
	e.ValueDate = d.ValueDate
	e.Record = ledger.RecordRef{Type: RecordDisbursement, ID: d.ID}
	e.MakerID, e.CheckerID = d.PreparedBy, checkerID
	e.IdempotencyKey = RecordDisbursement + "/" + strconv.FormatInt(d.ID, 10)
	return DisbursementApproval{Amount: d.Amount, Entry: e, Funded: p.App.State == StateContracted}, nil
}

// ErrAboveApproved is the refusal when the application's guarded UPDATE
// finds the approval would take the project past its approved amount.
func (p DisbursementPlan) ErrAboveApproved() error {
	return Errorf(Conflict, "批准该笔拨付后累计拨付将超过批准金额 %s 元（已拨付 %s 元），不能审批。",
		FormatAmount(p.Approved.Decimal), FormatAmount(p.Disbursed))
}

// ErrFundShort is the refusal when the fund's guarded UPDATE finds less
// than the disbursement's amount; balance is the fund as it is now.
func ErrFundShort(amount, balance decimal.Decimal) error {
	return Errorf(Conflict, "专项资金余额不足：本笔 %s 元，余额 %s 元。请先办理财政拨入，或退回该笔拨付。",
		FormatAmount(amount), FormatAmount(balance))
}
