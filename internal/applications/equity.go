package applications

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
	"ite/internal/day"
)

// Kinds of trigger event (DOMAIN §8).
const (
	EventFinancing = "financing"
	EventRevenue   = "revenue"
	EventMilestone = "milestone"
)

// EventKindLabel is the Chinese name.
func EventKindLabel(k string) string {
	return map[string]string{EventFinancing: "完成融资", EventRevenue: "实现销售收入", EventMilestone: "其他里程碑"}[k]
}

// TriggerEvent is a financing round, revenue or milestone reported by the
// enterprise (or staff on its behalf) and verified by staff.
type TriggerEvent struct {
	ID                int64
	ApplicationID     int64
	Kind              string
	EventDate         time.Time // round close, revenue period end, milestone date
	PeriodStart       time.Time // revenue
	Investors         string
	NewMoney          decimal.Decimal // financing: M
	PreMoneyValuation decimal.Decimal // financing: V
	PreMoneyUnits     decimal.Decimal // financing: U
	Unit              string          // registered_capital | shares
	Amount            decimal.Decimal // revenue
	Description       string
	EvidenceDoc       int64 // 0 when none
	Status            EventStatus
	Satisfies         bool
	Reason            string
	ReportedBy        string
	ReportedAt        time.Time
}

// WindowEnd is the last day a trigger may occur: signing + W years.
func (t Terms) WindowEnd(signedOn time.Time) time.Time {
	return signedOn.AddDate(t.WindowYears, 0, 0)
}

// Validate checks a reported event on its own and against the conversion
// window of the agreement signed on signedOn.
func (e TriggerEvent) Validate(t Terms, signedOn, today time.Time) error {
	switch {
	case e.EventDate.IsZero():
		return FieldError("event_date", "请填写日期。")
	case e.EventDate.After(today):
		return FieldError("event_date", "日期不能晚于今天。")
	case e.EventDate.Before(signedOn) || e.EventDate.After(t.WindowEnd(signedOn)):
		return FieldError("event_date", fmt.Sprintf("该事项不在转股期限内（%s 至 %s），不能作为转股依据。",
			day.Chinese(signedOn), day.Chinese(t.WindowEnd(signedOn))))
	}
	switch e.Kind {
	case EventFinancing:
		switch {
		case !e.NewMoney.IsPositive():
			return FieldError("new_money", "请填写本轮新增投资额（元，大于 0）。")
		case !e.PreMoneyValuation.IsPositive():
			return FieldError("pre_money_valuation", "请填写投前估值（元，大于 0）。")
		case !e.PreMoneyUnits.IsPositive():
			return FieldError("pre_money_units", "请填写本轮前的注册资本（元）或股本（股），大于 0。")
		case e.Unit != conversion.UnitRegisteredCapital && e.Unit != conversion.UnitShares:
			return FieldError("unit", "请选择注册资本或股本。")
		case strings.TrimSpace(e.Investors) == "":
			return FieldError("investors", "请填写本轮投资方。")
		}
	case EventRevenue:
		switch {
		case !e.Amount.IsPositive():
			return FieldError("amount", "请填写经审计的营业收入（元，大于 0）。")
		case e.PeriodStart.IsZero() || e.PeriodStart.After(e.EventDate):
			return FieldError("period_start", "请填写收入期间的起止日期（开始不晚于结束）。")
		}
	case EventMilestone:
		if strings.TrimSpace(e.Description) == "" {
			return FieldError("description", "请说明达成的里程碑。")
		}
	default:
		return FieldError("kind", "请选择事项类型。")
	}
	return nil
}

// Satisfies says whether a verified event meets a trigger of the terms.
// Revenue counts cumulatively over the verified revenue events, including
// this one (priorRevenue is the sum of the others).
func (t Terms) Satisfies(e TriggerEvent, priorRevenue decimal.Decimal) bool {
	switch e.Kind {
	case EventFinancing:
		min, err := decimal.NewFromString(t.Triggers.FinancingMinNewMoney)
		return err == nil && !e.NewMoney.LessThan(min)
	case EventRevenue:
		min, err := decimal.NewFromString(t.Triggers.RevenueMin)
		return err == nil && !priorRevenue.Add(e.Amount).LessThan(min)
	case EventMilestone:
		return strings.TrimSpace(t.Triggers.OtherMilestone) != ""
	}
	return false
}

// Paid is one approved disbursement as the calculator needs it.
type Paid struct {
	Date   time.Time
	Amount decimal.Decimal
}

func disbursementsJSON(paid []Paid) []conversion.Disbursement {
	out := make([]conversion.Disbursement, len(paid))
	for i, p := range paid {
		out[i] = conversion.Disbursement{Date: p.Date.Format(time.DateOnly), Amount: p.Amount.StringFixed(2)}
	}
	return out
}

// ConversionRequest builds the calculator request from the frozen terms,
// the verified event and the disbursements: the conversion date is the
// event's date. Financing events supply the round; for appraisal pricing
// the appraised value is the one input staff type (the terms leave it
// open).
func ConversionRequest(t Terms, e TriggerEvent, paid []Paid, preMoneyUnits decimal.Decimal, unit string, appraised string) conversion.ConvertRequest {
	req := conversion.ConvertRequest{Kind: "conversion", Unit: unit, ConversionDate: e.EventDate.Format(time.DateOnly),
		Disbursements: disbursementsJSON(paid), PreMoneyUnits: preMoneyUnits.String(), Pricing: t.Pricing,
		MaxStake: t.MaxStake, Interest: t.Interest, Explain: true}
	if e.Kind == EventFinancing {
		req.Round = &conversion.Round{PreMoneyValuation: e.PreMoneyValuation.StringFixed(2), NewMoney: e.NewMoney.StringFixed(2)}
	}
	if t.Pricing.Method == "appraisal" && appraised != "" {
		req.Pricing.AppraisedValue = appraised
	}
	return req
}

// ExitRequest builds the calculator request for the holding with the
// tranches so far (all approved ones plus the one being prepared). rates
// are the entries of the policy's reference series (nil when it names
// none), as the rate table holds them up to the last tranche's date.
func ExitRequest(t Terms, units decimal.Decimal, unitScale int, conversionDate time.Time, paid []Paid, tranches []conversion.Tranche, rates []conversion.ReferenceRate) conversion.ExitRequest {
	policy := t.ExitPolicy.Policy
	if t.ExitPolicy.ReferenceSeries != "" {
		policy.ReferenceRates = rates
	}
	return conversion.ExitRequest{Kind: "exit", UnitScale: &unitScale, Units: units.StringFixed(int32(unitScale)),
		ConversionDate: conversionDate.Format(time.DateOnly), Disbursements: disbursementsJSON(paid),
		Policy: policy, Tranches: tranches, Explain: true}
}

// Buyer kinds of an exit tranche. team and third_party are the
// calculator's buyers (DOMAIN §10); founders, new_investor and other are
// the kinds recorded before issue 17, priced as a team buy-back.
const (
	BuyerTeam       = conversion.BuyerTeam
	BuyerThirdParty = conversion.BuyerThirdParty
)

// BuyerLabel is the Chinese name of a buyer kind.
func BuyerLabel(k string) string {
	return map[string]string{BuyerTeam: "团队回购", BuyerThirdParty: "第三方（产权交易所挂牌）",
		"founders": "创始人/团队回购", "new_investor": "新投资方", "other": "其他"}[k]
}
