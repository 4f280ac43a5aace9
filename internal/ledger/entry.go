package ledger

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Error is a rule of the ledger that an entry, posting or account key
// breaks. Message is Simplified Chinese and safe to show to a user; Field
// names the offending part ("postings[1].amount", "memo", ...). The domain
// layer maps it to its Invalid kind.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Kind is the business event an entry records. Stored and hashed as these
// exact strings.
type Kind string

// The kinds of entry, one per business event of DOMAIN §11, plus reversal.
const (
	KindAppropriation   Kind = "appropriation"    // Dr 1002 / Cr 3001
	KindDisbursement    Kind = "disbursement"     // Dr 1221 / Cr 1002
	KindConversion      Kind = "conversion"       // Dr 1511 / Cr 1221
	KindExit            Kind = "exit"             // Dr 1002 / Cr 1511, Cr 6111 or Dr 6711
	KindLapseGrant      Kind = "lapse_grant"      // Dr 6401 / Cr 1221
	KindRecovery        Kind = "recovery"         // Dr 1131 / Cr 1221
	KindRecoveryReceipt Kind = "recovery_receipt" // Dr 1002 / Cr 1131
	KindWriteOff        Kind = "write_off"        // Dr 6711 / Cr 1221, 1511 or 1131
	KindReversal        Kind = "reversal"         // the mirror of an earlier entry
)

type kindRule struct {
	label string
	// allowed lists the (code, side) pairs an entry of this kind may post
	// to; nil means any (reversal mirrors whatever it reverses).
	allowed map[Code]Side
	// alsoCredit lists codes that may additionally be credited (write-off
	// credits one of several asset accounts).
	alsoCredit []Code
}

var kinds = map[Kind]kindRule{
	KindAppropriation: {"财政拨入", map[Code]Side{CodeFundBank: Debit, CodeAppropriation: Credit}, nil},
	KindDisbursement:  {"拨付", map[Code]Side{CodeInvested: Debit, CodeFundBank: Credit}, nil},
	KindConversion:    {"转股", map[Code]Side{CodeEquity: Debit, CodeInvested: Credit}, nil},
	KindExit: {"退出", map[Code]Side{CodeFundBank: Debit, CodeEquity: Credit,
		CodeInvestmentIncome: Credit, CodeLossAndWriteOff: Debit}, nil},
	KindLapseGrant:      {"转为无偿资助", map[Code]Side{CodeGrantExpense: Debit, CodeInvested: Credit}, nil},
	KindRecovery:        {"确认应收追回款", map[Code]Side{CodeRecoveryDue: Debit, CodeInvested: Credit}, nil},
	KindRecoveryReceipt: {"收回追回款", map[Code]Side{CodeFundBank: Debit, CodeRecoveryDue: Credit}, nil},
	KindWriteOff: {"核销", map[Code]Side{CodeLossAndWriteOff: Debit},
		[]Code{CodeInvested, CodeEquity, CodeRecoveryDue}},
	KindReversal: {"冲销", nil, nil},
}

// Label is the Chinese name of the kind, as printed in journals and exports.
func (k Kind) Label() string {
	if r, ok := kinds[k]; ok {
		return r.label
	}
	return string(k)
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	_, ok := kinds[k]
	return ok
}

// RecordRef points at the business record that caused an entry (an
// appropriation, a disbursement, a conversion certificate, an exit tranche,
// ...), so an auditor can go from the money to the decision behind it.
type RecordRef struct {
	Type string // e.g. "disbursement"; ASCII snake_case by convention
	ID   int64
}

// String is "type#id", the form used in exports.
func (r RecordRef) String() string { return r.Type + "#" + strconv.FormatInt(r.ID, 10) }

// Posting is one line of an entry: an amount on one side of a sub-account.
// Amount is always positive with at most two decimals (yuan and fen); the
// side carries the sign.
type Posting struct {
	Account AccountKey
	Side    Side
	Amount  decimal.Decimal
}

// Entry is one journal entry (记账凭证). The chain fields (Seq, CreatedAt,
// PrevHash, HashAlg, Hash) are set by Seal when the entry is appended; the
// rest describes the business event and is set by a builder plus the caller.
type Entry struct {
	Seq int64 // gapless, from 1

	// ValueDate is the effective (value) date: a calendar day. Only its
	// year, month and day in its own location are used, so both a pgx
	// `date` (midnight UTC) and a local midnight mean the same day.
	ValueDate time.Time
	// CreatedAt is when the entry was appended. It is hashed at microsecond
	// precision, the precision PostgreSQL keeps; Seal truncates it.
	CreatedAt time.Time

	Kind           Kind
	Memo           string // 摘要, Chinese
	Record         RecordRef
	MakerID        int64  // user who recorded the business event (制单)
	CheckerID      int64  // user who approved it (复核)
	Reverses       int64  // Seq of the entry this one reverses; 0 when none
	IdempotencyKey string // from the form that caused it: a retry posts once

	Postings []Posting

	PrevHash string // Hash of entry Seq-1 (GenesisHash for Seq 1), lowercase hex
	HashAlg  string // HashAlgorithm
	Hash     string // lowercase hex
}

// maxAmount bounds every amount: numeric(18,2) holds 16 integer digits.
var maxAmount = decimal.New(1, 16)

// checkAmount enforces the rules for a posting amount; field names it in the
// error.
func checkAmount(field string, d decimal.Decimal) error {
	if d.Sign() <= 0 {
		return errorf(field, "金额必须大于零（当前为 %s）", d.String())
	}
	if d.Exponent() < -2 && !d.Equal(d.Truncate(2)) {
		return errorf(field, "金额最多保留两位小数（分），当前为 %s", d.String())
	}
	if d.Cmp(maxAmount) >= 0 {
		return errorf(field, "金额 %s 超出上限", d.StringFixed(2))
	}
	return nil
}

// checkText refuses text PostgreSQL cannot store (invalid UTF-8, NUL) so a
// hashed entry is always storable byte for byte.
func checkText(field, label, s string, required bool, max int) error {
	if required && strings.TrimSpace(s) == "" {
		return errorf(field, "%s不能为空", label)
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return errorf(field, "%s包含无效字符", label)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return errorf(field, "%s过长（%d 字，最多 %d 字）", label, n, max)
	}
	return nil
}

// Validate checks that e is a well-formed entry before it is sealed and
// stored: at least two postings; every amount positive, at most two decimals
// and within numeric(18,2); every account in the chart with its proper scope;
// the postings allowed for the kind; Σ debits = Σ credits; and the business
// fields an auditor needs (value date, record, maker, checker, idempotency
// key, and a reversed entry for a reversal and only for one). It does not
// look at the chain fields; Verifier does. The error is an *Error whose
// message is Simplified Chinese.
func (e *Entry) Validate() error {
	if err := e.validatePostings(); err != nil {
		return err
	}
	if e.ValueDate.IsZero() {
		return errorf("value_date", "缺少记账日期")
	}
	if y := e.ValueDate.Year(); y < 1900 || y > 9999 {
		return errorf("value_date", "记账日期 %s 超出范围", e.ValueDate.Format(time.DateOnly))
	}
	if err := checkText("memo", "摘要", e.Memo, true, 500); err != nil {
		return err
	}
	if err := checkText("record", "业务单据类型", e.Record.Type, true, 64); err != nil {
		return err
	}
	if e.Record.ID <= 0 {
		return errorf("record", "凭证未关联业务单据")
	}
	if e.MakerID <= 0 {
		return errorf("maker", "凭证缺少制单人")
	}
	if e.CheckerID <= 0 {
		return errorf("checker", "凭证缺少复核人")
	}
	if err := checkText("idempotency_key", "幂等键", e.IdempotencyKey, true, 200); err != nil {
		return err
	}
	switch {
	case e.Kind == KindReversal && e.Reverses <= 0:
		return errorf("reverses", "冲销凭证必须注明被冲销的凭证序号")
	case e.Kind != KindReversal && e.Reverses != 0:
		return errorf("reverses", "只有冲销凭证可以引用被冲销的凭证")
	case e.Seq > 0 && e.Reverses >= e.Seq:
		return errorf("reverses", "冲销凭证只能冲销在它之前的凭证")
	}
	return nil
}

// validatePostings is the part of Validate the builders can check before
// the caller has filled in the business fields.
func (e *Entry) validatePostings() error {
	rule, ok := kinds[e.Kind]
	if !ok {
		return errorf("kind", "未知的凭证类型 %q", string(e.Kind))
	}
	if len(e.Postings) < 2 {
		return errorf("postings", "一张凭证至少要有两条分录（当前 %d 条）", len(e.Postings))
	}
	// Sums run in fen as int64 while every amount fits (always, for amounts
	// within maxAmount and fewer than nine postings a side); exact decimals
	// take over otherwise.
	var debitFen, creditFen int64
	fast := true
	for i, p := range e.Postings {
		// Field names are built only on failure: the verifier runs this
		// for every posting of the ledger.
		field := func(name string) string { return "postings[" + strconv.Itoa(i) + "]." + name }
		if err := p.Account.Check(); err != nil {
			err.(*Error).Field = field("account")
			return err
		}
		if !p.Side.valid() {
			return errorf(field("side"), "第 %d 条分录的借贷方向无效", i+1)
		}
		if err := checkAmount("", p.Amount); err != nil {
			err.(*Error).Field = field("amount")
			err.(*Error).Message = fmt.Sprintf("第 %d 条分录：%s", i+1, err.(*Error).Message)
			return err
		}
		if rule.allowed != nil && !rule.permits(p.Account.Code, p.Side) {
			return errorf(field("account"), "“%s”凭证不能%s记科目 %s %s",
				rule.label, p.Side.Label(), p.Account.Code, p.Account.Name())
		}
		if fast {
			c, ok := centsOf(p.Amount)
			sum := &creditFen
			if p.Side == Debit {
				sum = &debitFen
			}
			if ok && *sum <= math.MaxInt64-c {
				*sum += c
			} else {
				fast = false
			}
		}
	}
	if fast && debitFen == creditFen {
		return nil
	}
	if debit, credit := e.Totals(); debit.Cmp(credit) != 0 {
		return errorf("postings", "借贷不平衡：借方合计 %s，贷方合计 %s", debit.StringFixed(2), credit.StringFixed(2))
	}
	return nil
}

func (r kindRule) permits(code Code, side Side) bool {
	if s, ok := r.allowed[code]; ok && s == side {
		return true
	}
	if side == Credit {
		for _, c := range r.alsoCredit {
			if c == code {
				return true
			}
		}
	}
	return false
}

// Totals returns Σ debits and Σ credits of the entry's postings.
func (e *Entry) Totals() (debit, credit decimal.Decimal) {
	for _, p := range e.Postings {
		if p.Side == Debit {
			debit = debit.Add(p.Amount)
		} else {
			credit = credit.Add(p.Amount)
		}
	}
	return debit, credit
}
