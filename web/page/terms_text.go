package page

import (
	"fmt"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/web/format"
)

// pct shows a fraction string ("0.5") as a percentage.
func pct(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return d.Shift(2).String() + "%"
}

// moneyText shows a yuan amount string in figures and 大写.
func moneyText(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return format.Yuan(d) + "（" + format.Uppercase(d) + "）"
}

var methodText = map[string]string{
	"round_price": "以触发转股的融资轮次价格（投前估值 ÷ 投前注册资本或股本）为参考价",
	"appraisal":   "以评估机构评估的股权价值 ÷ 注册资本或股本为参考价",
	"fixed_price": "按约定的每单位价格",
	"fixed_stake": "按约定的持股比例",
}

// pricingText says the pricing terms in a sentence.
func pricingText(t applications.Terms) string {
	p := t.Pricing
	s := methodText[p.Method]
	switch p.Method {
	case "fixed_price":
		s += " " + p.Price + " 元/单位"
	case "fixed_stake":
		s += " " + pct(p.Stake)
	}
	if p.Discount != "" && p.Discount != "0" {
		s += "，给予 " + pct(p.Discount) + " 折扣"
	}
	if p.ValuationCap != "" {
		s += "，估值上限（投前）" + moneyText(p.ValuationCap)
	}
	if p.FloorPrice != "" {
		s += "，最低价格 " + p.FloorPrice + " 元/单位"
	}
	if t.MaxStake != "" {
		s += "；平台持股比例不超过 " + pct(t.MaxStake)
	}
	if t.Interest != nil && t.Interest.Rate != "" {
		s += "；转股金额计入年化 " + pct(t.Interest.Rate) + " 的单利"
	}
	return s + "；转股价格不低于每单位 1 元（面值）。"
}

// exitText says the exit policy in a sentence.
func exitText(t applications.Terms) string {
	from := map[string]string{"disbursement": "各笔资金拨付之日", "conversion": "转股之日"}[t.ExitPolicy.AccrualFrom]
	alloc := map[string]string{"fifo": "先拨付先退出", "pro_rata": "按比例"}[t.ExitPolicy.Allocation]
	below := map[string]string{"market": "市场价值低于上限时按市场价值退出（容亏）", "cap": "市场价值低于上限时仍按上限价格回购"}[t.ExitPolicy.BelowCap]
	s := fmt.Sprintf("平台分期退出，退出价格以本金加年化 %s 单利（自%s起算，成本%s分摊）为上限，超出部分让利于创业团队；%s。",
		pct(t.ExitPolicy.ReturnRate), from, alloc, below)
	for i, step := range t.ExitSchedule {
		part := pct(step.Fraction)
		if step.Rest {
			part = "剩余全部"
		}
		s += fmt.Sprintf(" 第 %d 期：转股后第 %d 年，%s；", i+1, step.YearsAfterConversion, part)
	}
	return s
}

func lapseText(policy string) string {
	return map[string]string{
		"grant":  "转股期限届满仍未满足转股条件的，经批准，已拨付资金转为无偿资助，项目结题。",
		"repay":  "转股期限届满仍未满足转股条件的，企业应返还已拨付资金。",
		"extend": "转股期限届满仍未满足转股条件的，经批准可延长转股期限。",
	}[policy]
}

// stakeText shows a stake fraction string ("0.02912621") as a percentage
// ("2.912621%"); what is not a number is shown as it is.
func stakeText(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return format.Stake(d)
}
