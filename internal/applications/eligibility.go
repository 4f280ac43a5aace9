package applications

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
	"ite/internal/day"
)

// ProgrammeRules are a programme's eligibility rules (申报条件, DOMAIN §3),
// each optional, and its loss tolerance (容亏率, §16).
type ProgrammeRules struct {
	MaxCompanyAgeYears int                 // 0: no rule; else the enterprise is at most this many years old at submission
	RequireInZone      bool                // the enterprise declares 注册地在经开区
	MinFounderCashPct  decimal.NullDecimal // founders' paid-in cash ≥ this % of the project's total budget
	LossTolerance      decimal.Decimal     // percent, default 80
	Version            int                 // the programme's version, for the optimistic check
}

// Validate checks the rules. Errors: Invalid, naming the field.
func (r ProgrammeRules) Validate() error {
	switch {
	case r.MaxCompanyAgeYears < 0 || r.MaxCompanyAgeYears > 100:
		return FieldError("max_company_age_years", "企业成立年限上限应为 1–100 年（不限则留空）。")
	case r.MinFounderCashPct.Valid && (!r.MinFounderCashPct.Decimal.IsPositive() || r.MinFounderCashPct.Decimal.GreaterThan(hundred) ||
		!r.MinFounderCashPct.Decimal.Equal(r.MinFounderCashPct.Decimal.Truncate(2))):
		return FieldError("min_founder_cash_pct", "创始团队自有资金比例应大于 0、不超过 100（%），最多两位小数（不限则留空）。")
	case r.LossTolerance.IsNegative() || r.LossTolerance.GreaterThan(hundred) || !r.LossTolerance.Equal(r.LossTolerance.Truncate(2)):
		return FieldError("loss_tolerance", "容亏率应在 0–100（%）之间，最多两位小数。")
	}
	return nil
}

// Any reports whether the programme sets any eligibility rule.
func (r ProgrammeRules) Any() bool {
	return r.MaxCompanyAgeYears > 0 || r.RequireInZone || r.MinFounderCashPct.Valid
}

// EligibilityFacts are what the rules are checked against: the
// enterprise's profile and the application's own figures.
type EligibilityFacts struct {
	FoundedOn     time.Time           // 成立日期 (zero when unknown)
	InZone        bool                // declared 注册地在经开区
	PaidInCapital decimal.NullDecimal // 实缴资本
	FounderCash   decimal.NullDecimal // the founders' own cash put into the project
	TotalBudget   decimal.NullDecimal // the project's total budget
}

// ValidateFunding checks the application's founders' cash and total
// budget as the enterprise types them (requested is the grant asked for,
// part of the total budget). Errors: Invalid, naming the field.
func (f EligibilityFacts) ValidateFunding(requested decimal.Decimal) error {
	money := func(d decimal.NullDecimal) bool {
		return !d.Valid || (!d.Decimal.IsNegative() && d.Decimal.Equal(d.Decimal.Truncate(2)))
	}
	switch {
	case !money(f.FounderCash):
		return FieldError("founder_cash", "创始团队自有资金投入须为不小于 0 的金额（元），最多两位小数。")
	case !money(f.TotalBudget) || (f.TotalBudget.Valid && !f.TotalBudget.Decimal.IsPositive()):
		return FieldError("total_budget", "项目总预算须为大于 0 的金额（元），最多两位小数。")
	case f.TotalBudget.Valid && f.TotalBudget.Decimal.LessThan(requested):
		return FieldError("total_budget", "项目总预算不能小于申请金额 "+conversion.FormatMoney(requested)+" 元。")
	case !money(f.PaidInCapital):
		return FieldError("paid_in_capital", "实缴资本须为不小于 0 的金额（元），最多两位小数。")
	}
	return nil
}

// Failures lists the rules the application fails at submission on today,
// each named in Chinese; none when it is eligible.
func (r ProgrammeRules) Failures(f EligibilityFacts, today time.Time) []string {
	var out []string
	if n := r.MaxCompanyAgeYears; n > 0 {
		switch {
		case f.FoundedOn.IsZero():
			out = append(out, fmt.Sprintf("成立年限（不超过 %d 年）：企业信息中缺少成立日期", n))
		case day.AddYears(f.FoundedOn, n).Before(today):
			out = append(out, fmt.Sprintf("成立年限（不超过 %d 年）：企业成立于 %s，提交时已超过 %d 年", n, day.Chinese(f.FoundedOn), n))
		}
	}
	if r.RequireInZone && !f.InZone {
		out = append(out, "注册地在经开区：企业未声明注册地在经开区")
	}
	if p := r.MinFounderCashPct; p.Valid {
		rule := "创始团队自有资金（不低于项目总预算的 " + p.Decimal.String() + "%）"
		switch {
		case !f.FounderCash.Valid || !f.TotalBudget.Valid:
			out = append(out, rule+"：未填写创始团队自有资金投入或项目总预算")
		case f.FounderCash.Decimal.Mul(hundred).LessThan(p.Decimal.Mul(f.TotalBudget.Decimal)):
			out = append(out, fmt.Sprintf("%s：自有资金 %s 元，项目总预算 %s 元", rule, conversion.FormatMoney(f.FounderCash.Decimal),
				conversion.FormatMoney(f.TotalBudget.Decimal)))
		}
	}
	return out
}

// Admission is staff's admission of an application that fails a rule,
// with the written reason; the approver sees it on the decision.
type Admission struct {
	Reason string
	By     string
	At     time.Time
}

// CheckEligibility refuses the submission of an application that fails a
// rule and was not admitted, naming every rule it fails. Errors: Invalid.
func CheckEligibility(r ProgrammeRules, f EligibilityFacts, admitted *Admission, today time.Time) error {
	if admitted != nil {
		return nil
	}
	if fs := r.Failures(f, today); len(fs) > 0 {
		return Errorf(Invalid, "不符合本批次申报条件：%s。如有特殊情况，请联系经办人员审核准入。", strings.Join(fs, "；"))
	}
	return nil
}

// ValidateAdmission checks staff's written reason for admitting an
// ineligible application. Errors: Invalid.
func ValidateAdmission(reason string) error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(reason)); {
	case n == 0:
		return FieldError("admit_reason", "准予申报须写明理由。")
	case n > 1000:
		return FieldError("admit_reason", "理由不超过 1000 字。")
	}
	return nil
}
