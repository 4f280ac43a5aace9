package ledger

import (
	"fmt"
	"strconv"
	"strings"
)

// Code is an account code of the chart (DOMAIN §11). It is a string, not a
// number, because codes are identifiers: nobody adds them up, and keeping
// them textual keeps "1002" from ever being printed as "1,002".
type Code string

// The chart of accounts. One fund per programme: cash, appropriations and
// the income statement accounts are kept per programme; what the fund holds
// in a company is kept per project (application).
const (
	CodeFundBank         Code = "1002" // 专项资金存款
	CodeInvested         Code = "1221" // 先投资金(待转股)
	CodeEquity           Code = "1511" // 长期股权投资
	CodeRecoveryDue      Code = "1131" // 应收追回款
	CodeAppropriation    Code = "3001" // 财政拨入资金
	CodeInvestmentIncome Code = "6111" // 投资收益
	CodeLossAndWriteOff  Code = "6711" // 投资损失及核销
	CodeGrantExpense     Code = "6401" // 无偿资助支出
)

// Side is the side of a posting, and the normal side of an account.
type Side string

// The two sides. Stored and hashed as these exact strings.
const (
	Debit  Side = "debit"
	Credit Side = "credit"
)

// Label is the Chinese name of the side, as printed in exports.
func (s Side) Label() string {
	switch s {
	case Debit:
		return "借"
	case Credit:
		return "贷"
	}
	return string(s)
}

// Opposite returns the other side; reversing entries are built with it.
func (s Side) Opposite() Side {
	if s == Debit {
		return Credit
	}
	return Debit
}

func (s Side) valid() bool { return s == Debit || s == Credit }

// Scope says what a sub-account is kept per: a programme (its fund) or a
// project (an application). It is part of the account key so that a key
// can be checked against the chart without a database.
type Scope string

// The scopes. The short strings appear in the canonical key form.
const (
	ScopeProgramme Scope = "prog"
	ScopeProject   Scope = "app"
)

// Label is the Chinese name of the scope.
func (s Scope) Label() string {
	switch s {
	case ScopeProgramme:
		return "专项批次"
	case ScopeProject:
		return "项目"
	}
	return string(s)
}

// Account is one line of the chart of accounts.
type Account struct {
	Code   Code
	Name   string // Chinese name, as on the auditor's reports
	Normal Side   // the side on which the balance normally stands
	Scope  Scope  // what a sub-account of this account is kept per
}

// chart is ordered by code so that listings and trial balances come out in
// the order an accountant expects.
var chart = []Account{
	{CodeFundBank, "专项资金存款", Debit, ScopeProgramme},
	{CodeRecoveryDue, "应收追回款", Debit, ScopeProject},
	{CodeInvested, "先投资金(待转股)", Debit, ScopeProject},
	{CodeEquity, "长期股权投资", Debit, ScopeProject},
	{CodeAppropriation, "财政拨入资金", Credit, ScopeProgramme},
	{CodeInvestmentIncome, "投资收益", Credit, ScopeProgramme},
	{CodeGrantExpense, "无偿资助支出", Debit, ScopeProgramme},
	{CodeLossAndWriteOff, "投资损失及核销", Debit, ScopeProgramme},
}

// Chart returns the chart of accounts ordered by code. The slice is a copy:
// the chart is fixed by DOMAIN §11 and callers must not change it.
func Chart() []Account {
	out := make([]Account, len(chart))
	copy(out, chart)
	return out
}

// LookupAccount returns the chart entry for code; ok is false for a code
// that is not in the chart.
func LookupAccount(code Code) (Account, bool) {
	for _, a := range chart {
		if a.Code == code {
			return a, true
		}
	}
	return Account{}, false
}

// AccountKey names a sub-account: an account code plus the programme or
// project it is kept for. It is comparable, so it can key a map.
//
// Canonical string form (String, ParseAccountKey, and the hash encoding):
//
//	<code>/<scope>/<id>      e.g. "1002/prog/7", "1221/app/123"
//
// where scope is "prog" (programme ID) or "app" (project, i.e. application
// ID) and id is a positive decimal integer without sign or leading zeros.
// The form has no spaces, so it is safe in CSV cells, URLs and log keys.
type AccountKey struct {
	Code  Code
	Scope Scope
	ID    int64
}

// ProgrammeAccount is the key of code's sub-account for a programme.
func ProgrammeAccount(code Code, programmeID int64) AccountKey {
	return AccountKey{Code: code, Scope: ScopeProgramme, ID: programmeID}
}

// ProjectAccount is the key of code's sub-account for a project
// (application).
func ProjectAccount(code Code, applicationID int64) AccountKey {
	return AccountKey{Code: code, Scope: ScopeProject, ID: applicationID}
}

// String returns the canonical form "<code>/<scope>/<id>".
func (k AccountKey) String() string {
	return string(k.Code) + "/" + string(k.Scope) + "/" + strconv.FormatInt(k.ID, 10)
}

// Name is the Chinese name of the account, or "" for an unknown code.
func (k AccountKey) Name() string {
	a, _ := LookupAccount(k.Code)
	return a.Name
}

// Label is a human description of the sub-account, e.g. "项目 123".
func (k AccountKey) Label() string {
	return k.Scope.Label() + " " + strconv.FormatInt(k.ID, 10)
}

// Check reports whether the key names a sub-account the chart allows: a known
// code, the scope the chart gives that code, and a positive ID. The error is
// an *Error with a Chinese message.
func (k AccountKey) Check() error {
	a, ok := LookupAccount(k.Code)
	if !ok {
		return &Error{Field: "account", Message: fmt.Sprintf("科目 %q 不在科目表中", string(k.Code))}
	}
	if k.Scope != a.Scope {
		return &Error{Field: "account", Message: fmt.Sprintf("科目 %s %s 应按%s设明细，不能按%s设明细",
			a.Code, a.Name, a.Scope.Label(), scopeLabelOr(k.Scope))}
	}
	if k.ID <= 0 {
		return &Error{Field: "account", Message: fmt.Sprintf("科目 %s %s 缺少%s编号", a.Code, a.Name, a.Scope.Label())}
	}
	return nil
}

func scopeLabelOr(s Scope) string {
	if s == "" {
		return "（空）"
	}
	return s.Label()
}

// ParseAccountKey parses the canonical form produced by String. It accepts
// only that exact form (so that one sub-account has one spelling) and checks
// the key against the chart.
func ParseAccountKey(s string) (AccountKey, error) {
	bad := &Error{Field: "account", Message: fmt.Sprintf("科目编号 %q 格式不正确，应为“科目代码/prog或app/编号”", s)}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return AccountKey{}, bad
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != parts[2] {
		return AccountKey{}, bad
	}
	k := AccountKey{Code: Code(parts[0]), Scope: Scope(parts[1]), ID: id}
	if err := k.Check(); err != nil {
		return AccountKey{}, err
	}
	return k, nil
}

// compareKeys orders keys by code, then scope, then ID: the order of the
// chart, which is what a trial balance lists.
func compareKeys(a, b AccountKey) int {
	if c := strings.Compare(string(a.Code), string(b.Code)); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Scope), string(b.Scope)); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}
