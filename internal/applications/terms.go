package applications

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
)

// Terms are the conversion and exit terms of an agreement (DOMAIN §7). A
// programme carries a template; an agreement freezes a copy with
// per-project overrides. Pricing, ceiling, interest and exit policy use the
// calculator's own types so what is agreed is exactly what is computed.
type Terms struct {
	Tranches     []TrancheTerm        `json:"tranches"`
	Triggers     Triggers             `json:"triggers"`
	WindowYears  int                  `json:"window_years"`
	Unit         string               `json:"unit"` // registered_capital | shares
	Pricing      conversion.Pricing   `json:"pricing"`
	MaxStake     string               `json:"max_stake,omitempty"`
	Interest     *conversion.Interest `json:"interest,omitempty"`
	ExitPolicy   ExitPolicy           `json:"exit_policy"`
	ExitSchedule []ExitStep           `json:"exit_schedule"`
	LapsePolicy  string               `json:"lapse_policy"` // grant | repay | extend
}

// TrancheTerm is one planned disbursement: a share of the approved amount,
// due some months after signing, optionally gated by a milestone and/or
// by the project's acceptance (Gate "acceptance": paid only after a passed
// 结题验收, DOMAIN §16).
type TrancheTerm struct {
	Share              string `json:"share"` // fraction of the approved amount, shares sum to 1
	MonthsAfterSigning int    `json:"months_after_signing"`
	Milestone          string `json:"milestone,omitempty"`
	Gate               string `json:"gate,omitempty"` // "" or GateAcceptance
}

// Triggers are the conversion conditions; empty strings mean "not used".
type Triggers struct {
	FinancingMinNewMoney string `json:"financing_min_new_money,omitempty"` // X yuan
	RevenueMin           string `json:"revenue_min,omitempty"`             // Y yuan, cumulative audited
	OtherMilestone       string `json:"other_milestone,omitempty"`
}

// ExitStep is one planned exit tranche: a fraction of the original
// holding, some years after conversion.
type ExitStep struct {
	YearsAfterConversion int    `json:"years_after_conversion"`
	Fraction             string `json:"fraction,omitempty"`
	Rest                 bool   `json:"rest,omitempty"`
}

// DefaultTermsTemplate is a conservative template: two tranches, round or
// revenue trigger, 5-year window, round price with a 20% discount, 3%
// simple return from each disbursement, lapse to grant.
func DefaultTermsTemplate() json.RawMessage {
	t := Terms{
		Tranches: []TrancheTerm{
			{Share: "0.5", MonthsAfterSigning: 0},
			{Share: "0.5", MonthsAfterSigning: 12, Milestone: "完成中期检查"},
		},
		Triggers:    Triggers{FinancingMinNewMoney: "5000000.00", RevenueMin: "20000000.00"},
		WindowYears: 5,
		Unit:        conversion.UnitRegisteredCapital,
		Pricing:     conversion.Pricing{Method: "round_price", Discount: "0.20"},
		MaxStake:    "0.30",
		ExitPolicy:  ExitPolicy{Policy: conversion.Policy{ReturnRate: "0.03", AccrualFrom: "disbursement", Allocation: "fifo", BelowCap: "market"}},
		ExitSchedule: []ExitStep{
			{YearsAfterConversion: 1, Fraction: "0.3333"},
			{YearsAfterConversion: 2, Fraction: "0.3333"},
			{YearsAfterConversion: 3, Rest: true},
		},
		LapsePolicy: "grant",
	}
	b, _ := json.MarshalIndent(t, "", "  ")
	return b
}

// ParseTerms decodes terms strictly (unknown fields refused) and validates
// them.
func ParseTerms(raw []byte) (Terms, error) {
	var t Terms
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, FieldError("terms_template", "协议条款模板不是有效的 JSON 或含有未知字段："+jsonProblem(err))
	}
	if dec.More() || !json.Valid(raw) {
		return t, FieldError("terms_template", "协议条款模板在 JSON 之后还有多余内容，请删除。")
	}
	return t, t.Validate()
}

// ValidateTermsTemplate checks a programme's template.
func ValidateTermsTemplate(raw []byte) error {
	_, err := ParseTerms(raw)
	return err
}

func jsonProblem(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "json") {
		return s[i+2:]
	}
	return s
}

// Validate checks the terms. Pricing, stake ceiling, interest and the exit
// policy are validated by running the calculator on a sample case, so a
// template the calculator would refuse can never be saved.
func (t Terms) Validate() error {
	bad := func(field, msg string) error { return FieldError("terms_template."+field, "协议条款："+msg) }
	if len(t.Tranches) == 0 {
		return bad("tranches", "至少需要一笔拨付计划。")
	}
	sum := decimal.Zero
	for i, tr := range t.Tranches {
		share, err := decimal.NewFromString(tr.Share)
		if err != nil || !share.IsPositive() || share.GreaterThan(decimal.NewFromInt(1)) {
			return bad(fmt.Sprintf("tranches[%d].share", i), "每笔拨付比例须为 0 到 1 之间的小数。")
		}
		if tr.MonthsAfterSigning < 0 || tr.MonthsAfterSigning > 120 {
			return bad(fmt.Sprintf("tranches[%d].months_after_signing", i), "拨付时间须为签约后 0–120 个月。")
		}
		if tr.Gate != "" && tr.Gate != GateAcceptance {
			return bad(fmt.Sprintf("tranches[%d].gate", i), "拨付条件（gate）只能为空或 acceptance（结题验收通过后拨付）。")
		}
		sum = sum.Add(share)
	}
	if !sum.Equal(decimal.NewFromInt(1)) {
		return bad("tranches", "各笔拨付比例之和须为 1（当前 "+sum.String()+"）。")
	}
	if t.Triggers.FinancingMinNewMoney == "" && t.Triggers.RevenueMin == "" && strings.TrimSpace(t.Triggers.OtherMilestone) == "" {
		return bad("triggers", "至少需要一个转股条件（融资、销售收入或其他里程碑）。")
	}
	for name, v := range map[string]string{"financing_min_new_money": t.Triggers.FinancingMinNewMoney, "revenue_min": t.Triggers.RevenueMin} {
		if v == "" {
			continue
		}
		if d, err := conversion.ParseMoney(v); err != nil || !d.IsPositive() {
			return bad("triggers."+name, "转股条件金额须为大于 0、最多两位小数的金额。")
		}
	}
	if t.WindowYears < 1 || t.WindowYears > 15 {
		return bad("window_years", "转股期限须为 1–15 年。")
	}
	if t.LapsePolicy != "grant" && t.LapsePolicy != "repay" && t.LapsePolicy != "extend" {
		return bad("lapse_policy", "到期未转股的处理方式须为 grant（转无偿资助）、repay（追回）或 extend（经批准延期）。")
	}
	if len(t.ExitSchedule) == 0 {
		return bad("exit_schedule", "至少需要一期退出计划。")
	}
	// The calculator is the judge of pricing, ceiling, interest and policy.
	conv := conversion.ConvertRequest{
		Unit: t.Unit, ConversionDate: "2026-01-15",
		Disbursements: []conversion.Disbursement{{Date: "2025-01-15", Amount: "3000000.00"}},
		PreMoneyUnits: "1000000", Round: &conversion.Round{PreMoneyValuation: "80000000", NewMoney: "20000000"},
		Pricing: t.Pricing, MaxStake: t.MaxStake, Interest: t.Interest,
	}
	if t.Pricing.Method == "appraisal" && t.Pricing.AppraisedValue == "" {
		conv.Pricing.AppraisedValue = "80000000" // supplied per project at conversion time
	}
	res, err := conversion.Convert(conv)
	if err != nil {
		return calcError(err)
	}
	policy, err := t.ExitPolicy.sample()
	if err != nil {
		return err
	}
	ex := conversion.ExitRequest{Units: res.Units, ConversionDate: conv.ConversionDate,
		Disbursements: conv.Disbursements, Policy: policy}
	scale := 2
	if t.Unit == conversion.UnitShares {
		scale = 0
	}
	ex.UnitScale = &scale
	if ex.Policy.ReturnBasis == conversion.ReturnBasisReference && len(ex.Policy.ReferenceRates) == 0 {
		// the series' rates are read at exit time; check with a sample
		ex.Policy.ReferenceRates = []conversion.ReferenceRate{{From: "2020-01-01", Rate: "0.03"}}
	}
	for i, s := range t.ExitSchedule {
		if s.YearsAfterConversion < 0 || s.YearsAfterConversion > 30 {
			return bad(fmt.Sprintf("exit_schedule[%d].years_after_conversion", i), "退出时间须为转股后 0–30 年。")
		}
		ex.Tranches = append(ex.Tranches, conversion.Tranche{
			Date: fmt.Sprintf("%d-01-15", 2026+s.YearsAfterConversion), Fraction: s.Fraction, Rest: s.Rest})
	}
	if _, err := conversion.Exit(ex); err != nil {
		var ie *conversion.InputError
		if errors.As(err, &ie) && strings.HasPrefix(ie.Field, "tranches") {
			return bad("exit_schedule", "退出计划无效："+ie.Message)
		}
		return calcError(err)
	}
	return nil
}

// sample is the policy the validation runs: a named reference series gets
// a stand-in entry (its real entries are filled from the rate table at
// exit time). Errors: Invalid on exit_policy.reference_series.
func (p ExitPolicy) sample() (conversion.Policy, error) {
	field := "terms_template.exit_policy.reference_series"
	if p.ReferenceSeries == "" {
		if p.ReturnBasis == conversion.ReturnBasisReference && len(p.ReferenceRates) == 0 {
			return p.Policy, FieldError(field, "协议条款：按参考利率计息须指定参考利率序列（reference_series，如 LPR1Y）。")
		}
		return p.Policy, nil
	}
	if p.ReturnBasis != conversion.ReturnBasisReference {
		return p.Policy, FieldError(field, "协议条款：参考利率序列只在按参考利率计息（return_basis 为 reference）时使用。")
	}
	if len(p.ReferenceRates) > 0 {
		return p.Policy, FieldError(field, "协议条款：指定了参考利率序列时不要再列出利率条目，条目取自参考利率表。")
	}
	p.ReferenceRates = []conversion.ReferenceRate{{From: "1900-01-01", Rate: "0.03"}}
	return p.Policy, nil
}

func calcError(err error) error {
	var ie *conversion.InputError
	if errors.As(err, &ie) {
		field := ie.Field
		switch {
		case strings.HasPrefix(field, "policy"):
			field = "exit_policy" + strings.TrimPrefix(field, "policy")
		}
		return FieldError("terms_template."+field, "协议条款："+ie.Message)
	}
	return err
}

// TrancheAmounts splits the agreed amount over the tranche plan: each
// tranche is amount × share rounded half-up to the fen, and the last takes
// the remainder so the tranches always sum to the amount exactly.
func (t Terms) TrancheAmounts(amount decimal.Decimal) []decimal.Decimal {
	out := make([]decimal.Decimal, len(t.Tranches))
	left := amount
	for i, tr := range t.Tranches {
		if i == len(t.Tranches)-1 {
			out[i] = left
			break
		}
		share, _ := decimal.NewFromString(tr.Share)
		out[i] = conversion.MulMoney(amount, share)
		left = left.Sub(out[i])
	}
	return out
}
