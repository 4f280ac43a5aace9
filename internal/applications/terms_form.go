package applications

import (
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
	"ite/internal/day"
)

// TermsForm is the structured terms form as typed: every value a string,
// rates and stakes as percentages, so a refused form shows back exactly
// what was entered. ParseTermsForm reads it from a request, Terms() checks
// it and maps it to the stored Terms; TermsFormOf fills it from Terms.
// Input names are the form's field names below; an error of a row is keyed
// name[i] (tranche_share[1]).
type TermsForm struct {
	Tranches                                            []TrancheRow
	FinancingMin, RevenueMin, OtherMilestone            string
	WindowYears, Unit                                   string
	Method, Discount, ValuationCap, FloorPrice          string
	Price, Stake, MaxStake, InterestRate                string
	ReturnBasis, ReturnRate, ReferenceSeries, Spread    string
	Tiers                                               []TierRow
	AppraisalAfterYears, AccrualFrom, Allocation, Below string
	Schedule                                            []ExitRow
	LapsePolicy                                         string
}

// TrancheRow is one row of the tranche table: a share (%) or an amount,
// months after signing or a date, and an optional milestone.
type TrancheRow struct{ Share, Amount, Months, Date, Milestone string }

// TierRow is one holding-time tier: within N years, rate %.
type TierRow struct{ WithinYears, Rate string }

// ExitRow is one planned exit tranche: years after conversion and a share
// of the holding (%), or the rest.
type ExitRow struct {
	Years, Fraction string
	Rest            bool
}

// TermsContext is what the form knows about the project: the approved
// amount and the signing date, zero when not yet known (a programme's
// template). A tranche given as an amount needs the amount, one given as a
// date needs the signing date; both are stored as the share and months
// the agreement format keeps.
type TermsContext struct {
	Amount   decimal.Decimal
	SignedOn time.Time
}

// Pricing methods, lapse policies and the other choices, in Chinese.
var (
	MethodLabels = [][2]string{{conversion.MethodRoundPrice, "融资轮次价格"}, {conversion.MethodAppraisal, "评估价格"},
		{conversion.MethodFixedPrice, "约定价格"}, {conversion.MethodFixedStake, "约定持股比例"}}
	LapseLabels      = [][2]string{{"grant", "转为无偿资助"}, {"repay", "追回已拨付资金"}, {"extend", "经批准延期"}}
	BasisLabels      = [][2]string{{conversion.ReturnBasisFixed, "固定利率"}, {conversion.ReturnBasisReference, "参考利率（加点）"}}
	AccrualLabels    = [][2]string{{conversion.AccrualDisbursement, "自各笔拨付之日"}, {conversion.AccrualConversion, "自转股之日"}}
	AllocationLabels = [][2]string{{conversion.AllocationFIFO, "先拨付先退出"}, {conversion.AllocationProRata, "按比例"}}
	BelowCapLabels   = [][2]string{{conversion.BelowCapMarket, "按市场价值（容亏）"}, {conversion.BelowCapCap, "仍按上限价格回购"}}
	UnitLabels       = [][2]string{{conversion.UnitRegisteredCapital, "注册资本（有限责任公司）"}, {conversion.UnitShares, "股本（股份有限公司）"}}
)

// ParseTermsForm reads the form fields from a request's values. Rows with
// nothing typed are dropped; add ("tranche", "tier", "exit") appends an
// empty row and remove ("tranche:1") drops one, for the plain-form "add a
// row" buttons.
func ParseTermsForm(v url.Values) TermsForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := TermsForm{FinancingMin: g("financing_min_new_money"), RevenueMin: g("revenue_min"), OtherMilestone: g("other_milestone"),
		WindowYears: g("window_years"), Unit: g("unit"), Method: g("pricing_method"), Discount: g("discount"),
		ValuationCap: g("valuation_cap"), FloorPrice: g("floor_price"), Price: g("price"), Stake: g("stake"),
		MaxStake: g("max_stake"), InterestRate: g("interest_rate"), ReturnBasis: g("return_basis"), ReturnRate: g("return_rate"),
		ReferenceSeries: g("reference_series"), Spread: g("spread"), AppraisalAfterYears: g("appraisal_after_years"),
		AccrualFrom: g("accrual_from"), Allocation: g("allocation"), Below: g("below_cap"), LapsePolicy: g("lapse_policy")}
	at := func(k string, i int) string {
		if xs := v[k]; i < len(xs) {
			return strings.TrimSpace(xs[i])
		}
		return ""
	}
	remove := v.Get("terms_remove")
	for i := range v["tranche_share"] {
		r := TrancheRow{at("tranche_share", i), at("tranche_amount", i), at("tranche_months", i), at("tranche_date", i), at("tranche_milestone", i)}
		if r != (TrancheRow{}) && remove != "tranche:"+strconv.Itoa(i) {
			f.Tranches = append(f.Tranches, r)
		}
	}
	for i := range v["tier_within_years"] {
		r := TierRow{at("tier_within_years", i), at("tier_rate", i)}
		if r != (TierRow{}) && remove != "tier:"+strconv.Itoa(i) {
			f.Tiers = append(f.Tiers, r)
		}
	}
	for i := range v["exit_years"] {
		r := ExitRow{Years: at("exit_years", i), Fraction: at("exit_fraction", i), Rest: at("exit_kind", i) == "rest"}
		if (r.Years != "" || r.Fraction != "" || r.Rest) && remove != "exit:"+strconv.Itoa(i) {
			f.Schedule = append(f.Schedule, r)
		}
	}
	switch v.Get("terms_add") {
	case "tranche":
		f.Tranches = append(f.Tranches, TrancheRow{})
	case "tier":
		f.Tiers = append(f.Tiers, TierRow{})
	case "exit":
		f.Schedule = append(f.Schedule, ExitRow{})
	}
	return f
}

// TermsFormEdit reports whether the request only adds or removes a row
// (the form is shown again, nothing is saved).
func TermsFormEdit(v url.Values) bool { return v.Get("terms_add") != "" || v.Get("terms_remove") != "" }

// TermsFormOf fills the form from stored terms, percentages shown exact.
func TermsFormOf(t Terms) TermsForm {
	p := t.Pricing
	f := TermsForm{FinancingMin: NormalAmount(t.Triggers.FinancingMinNewMoney), RevenueMin: NormalAmount(t.Triggers.RevenueMin),
		OtherMilestone: t.Triggers.OtherMilestone, WindowYears: strconv.Itoa(t.WindowYears), Unit: t.Unit,
		Method: p.Method, Discount: FormatPercent(p.Discount), ValuationCap: NormalAmount(p.ValuationCap), FloorPrice: p.FloorPrice,
		Price: p.Price, Stake: FormatPercent(p.Stake), MaxStake: FormatPercent(t.MaxStake),
		ReturnBasis: t.ExitPolicy.ReturnBasis, ReturnRate: FormatPercent(t.ExitPolicy.ReturnRate), ReferenceSeries: t.ExitPolicy.ReferenceSeries,
		Spread: FormatPercent(t.ExitPolicy.Spread), AccrualFrom: t.ExitPolicy.AccrualFrom, Allocation: t.ExitPolicy.Allocation,
		Below: t.ExitPolicy.BelowCap, LapsePolicy: t.LapsePolicy}
	if f.ReturnBasis == "" {
		f.ReturnBasis = conversion.ReturnBasisFixed
	}
	if t.Interest != nil {
		f.InterestRate = FormatPercent(t.Interest.Rate)
	}
	if n := t.ExitPolicy.AppraisalAfterYears; n != nil {
		f.AppraisalAfterYears = strconv.Itoa(*n)
	}
	for _, tr := range t.Tranches {
		f.Tranches = append(f.Tranches, TrancheRow{Share: FormatPercent(tr.Share), Months: strconv.Itoa(tr.MonthsAfterSigning), Milestone: tr.Milestone})
	}
	for _, tr := range t.ExitPolicy.Tiers {
		f.Tiers = append(f.Tiers, TierRow{WithinYears: strconv.Itoa(tr.WithinYears), Rate: FormatPercent(tr.ReturnRate)})
	}
	for _, s := range t.ExitSchedule {
		f.Schedule = append(f.Schedule, ExitRow{Years: strconv.Itoa(s.YearsAfterConversion), Fraction: FormatPercent(s.Fraction), Rest: s.Rest})
	}
	return f
}

// TermsFormErrors is every field error of a terms form, keyed by input
// name (rows: name[i]), each a Chinese message.
type TermsFormErrors map[string]string

func (e TermsFormErrors) Error() string { return "协议条款有误，请按提示修改。" }

// Terms checks the form and maps it to the stored terms. Only the fields
// of the chosen pricing method and return basis are read; the others are
// ignored. On failure the errors name every offending input; when every
// field is well-formed the calculator still judges the whole (Terms.Validate)
// and its refusal is reported under "_terms".
func (f TermsForm) Terms(c TermsContext) (Terms, TermsFormErrors) {
	errs := TermsFormErrors{}
	var t Terms
	pct := func(name, v string, lo, hi decimal.Decimal, msg string) string {
		if v == "" {
			errs[name] = msg
			return ""
		}
		d, err := ParsePercent(v)
		if err != nil || d.LessThan(lo) || d.GreaterThan(hi) {
			errs[name] = msg
			return ""
		}
		return d.String()
	}
	optPct := func(name, v string, lo, hi decimal.Decimal, msg string) string {
		if v == "" {
			return ""
		}
		return pct(name, v, lo, hi, msg)
	}
	money := func(name, v string, required bool, label string) string {
		if v == "" {
			if required {
				errs[name] = label + "：" + AmountMessage
			}
			return ""
		}
		d, err := ParseAmount(v)
		if err != nil || !d.IsPositive() {
			errs[name] = label + "须大于零。" + AmountMessage
			return ""
		}
		return d.StringFixed(2)
	}
	whole := func(name, v string, lo, hi int, msg string) int {
		n, err := strconv.Atoi(strings.TrimSpace(amountFold.Replace(v)))
		if err != nil || n < lo || n > hi {
			errs[name] = msg
		}
		return n
	}
	zero, one, hundred := decimal.Zero, decimal.NewFromInt(1), decimal.NewFromInt(100)
	_ = hundred

	// Tranches: share % or amount; months or a date.
	if len(f.Tranches) == 0 {
		errs["tranches"] = "至少需要一笔拨付计划。"
	}
	sum, amountSum, byAmount, byShare := decimal.Zero, decimal.Zero, false, false
	for i, r := range f.Tranches {
		key := func(n string) string { return fmt.Sprintf("%s[%d]", n, i) }
		tt := TrancheTerm{Milestone: r.Milestone}
		switch {
		case r.Share != "" && r.Amount != "":
			errs[key("tranche_share")] = "比例和金额只填一项。"
		case r.Amount != "":
			byAmount = true
			a, err := ParseAmount(r.Amount)
			switch {
			case err != nil || !a.IsPositive():
				errs[key("tranche_amount")] = "拨付金额须大于零。" + AmountMessage
			case c.Amount.IsZero():
				errs[key("tranche_amount")] = "立项金额尚未确定，请按比例（%）填写。"
			case byShare:
				errs[key("tranche_amount")] = "各笔请统一按比例或统一按金额填写。"
			default:
				amountSum = amountSum.Add(a)
				tt.Share = shareOf(a, c.Amount).String()
			}
		default:
			byShare = true
			if byAmount {
				errs[key("tranche_share")] = "各笔请统一按比例或统一按金额填写。"
			}
			s := pct(key("tranche_share"), r.Share, zero, one, "请填写拨付比例（%），大于 0、不超过 100，或填写金额。")
			if s != "" {
				if d := decimal.RequireFromString(s); d.IsZero() {
					errs[key("tranche_share")] = "拨付比例须大于 0。"
				} else {
					tt.Share, sum = s, sum.Add(d)
				}
			}
		}
		switch {
		case r.Months != "" && r.Date != "":
			errs[key("tranche_months")] = "签约后月数和日期只填一项。"
		case r.Date != "":
			d, err := day.Parse(r.Date)
			switch {
			case err != nil:
				errs[key("tranche_date")] = "日期格式应为 2026-01-31。"
			case c.SignedOn.IsZero():
				errs[key("tranche_date")] = "协议尚未签订，请填写签约后月数。"
			default:
				m, ok := monthsAfter(c.SignedOn, d)
				if !ok {
					errs[key("tranche_date")] = "日期须为签约日（" + day.Chinese(c.SignedOn) + "）后整月的同一天，0–120 个月。"
				}
				tt.MonthsAfterSigning = m
			}
		default:
			tt.MonthsAfterSigning = whole(key("tranche_months"), r.Months, 0, 120, "请填写签约后 0–120 个月，或填写日期。")
		}
		t.Tranches = append(t.Tranches, tt)
	}
	switch {
	case len(errs) > 0 || len(t.Tranches) == 0:
	case byAmount && !amountSum.Equal(c.Amount):
		errs["tranches"] = "各笔拨付金额之和须等于立项金额 " + FormatAmount(c.Amount) + " 元（当前 " + FormatAmount(amountSum) + " 元）。"
	case byAmount:
		// Each share is its amount's, rounded so that amount × share gives
		// the amount back to the fen; the last takes the rest, so the
		// shares sum to 1 and the tranches to the amount, exactly.
		rest := one
		for i := range t.Tranches[:len(t.Tranches)-1] {
			rest = rest.Sub(decimal.RequireFromString(t.Tranches[i].Share))
		}
		t.Tranches[len(t.Tranches)-1].Share = rest.String()
	case !sum.Equal(one):
		errs["tranches"] = "各笔拨付比例之和须为 100%（当前 " + sum.Shift(2).String() + "%）。"
	}

	// Triggers.
	t.Triggers = Triggers{FinancingMinNewMoney: money("financing_min_new_money", f.FinancingMin, false, "融资新增投资额"),
		RevenueMin: money("revenue_min", f.RevenueMin, false, "累计经审计营业收入"), OtherMilestone: f.OtherMilestone}
	if f.FinancingMin == "" && f.RevenueMin == "" && f.OtherMilestone == "" {
		errs["financing_min_new_money"] = "至少需要一个转股条件（融资、销售收入或其他里程碑）。"
	}
	t.WindowYears = whole("window_years", f.WindowYears, 1, 15, "转股期限须为 1–15 年。")
	t.Unit = f.Unit
	if !oneOf(f.Unit, UnitLabels) {
		errs["unit"] = "请选择计量单位。"
	}

	// Pricing: only the chosen method's fields.
	discount := func() string {
		return optPct("discount", f.Discount, zero, decimal.RequireFromString("0.999999999999"), "折扣须为 0 到 100% 之间（不含 100%）的百分比。")
	}
	t.Pricing.Method = f.Method
	switch f.Method {
	case conversion.MethodRoundPrice, conversion.MethodAppraisal:
		t.Pricing.Discount = discount()
		t.Pricing.ValuationCap = money("valuation_cap", f.ValuationCap, false, "估值上限")
		if f.FloorPrice != "" {
			if d, err := decimal.NewFromString(f.FloorPrice); err != nil || !d.IsPositive() {
				errs["floor_price"] = "最低价格须为大于零的每单位价格（元），如 10。"
			} else {
				t.Pricing.FloorPrice = d.String()
			}
		}
	case conversion.MethodFixedPrice:
		if d, err := decimal.NewFromString(f.Price); err != nil || !d.IsPositive() {
			errs["price"] = "请填写大于零的每单位价格（元），如 60。"
		} else {
			t.Pricing.Price = d.String()
		}
	case conversion.MethodFixedStake:
		t.Pricing.Stake = pct("stake", f.Stake, zero, one, "请填写约定持股比例（%），大于 0、小于 100。")
		if t.Pricing.Stake != "" && (decimal.RequireFromString(t.Pricing.Stake).IsZero() || decimal.RequireFromString(t.Pricing.Stake).Equal(one)) {
			errs["stake"] = "请填写约定持股比例（%），大于 0、小于 100。"
		}
	default:
		errs["pricing_method"] = "请选择定价方式。"
	}
	if t.MaxStake = optPct("max_stake", f.MaxStake, zero, one, "持股比例上限须为大于 0、小于 100 的百分比。"); t.MaxStake != "" {
		if d := decimal.RequireFromString(t.MaxStake); d.IsZero() || d.Equal(one) {
			errs["max_stake"] = "持股比例上限须为大于 0、小于 100 的百分比。"
		}
	}
	if r := optPct("interest_rate", f.InterestRate, zero, one, "转股前利息年利率须为 0–100% 的百分比。"); r != "" {
		t.Interest = &conversion.Interest{Rate: r}
	}

	// Exit policy: only the chosen basis's fields.
	p := conversion.Policy{ReturnBasis: f.ReturnBasis, AccrualFrom: f.AccrualFrom, Allocation: f.Allocation, BelowCap: f.Below}
	switch f.ReturnBasis {
	case conversion.ReturnBasisFixed, "":
		p.ReturnBasis = conversion.ReturnBasisFixed
		p.ReturnRate = pct("return_rate", f.ReturnRate, zero, one, "请填写年化收益率（%），0–100。")
	case conversion.ReturnBasisReference:
		if f.ReferenceSeries == "" {
			errs["reference_series"] = "请填写参考利率的系列代码，如 LPR1Y。"
		}
		t.ExitPolicy.ReferenceSeries = f.ReferenceSeries
		p.ReturnRate = "0"
		p.Spread = optPct("spread", f.Spread, decimal.NewFromInt(-1), one, "加点须为百分比，如 0.5（可为负）。")
	default:
		errs["return_basis"] = "请选择收益基准。"
	}
	prev := 0
	for i, r := range f.Tiers {
		key := func(n string) string { return fmt.Sprintf("%s[%d]", n, i) }
		n := whole(key("tier_within_years"), r.WithinYears, 1, 30, "分档年限须为 1–30 的整数年，逐档递增。")
		if _, bad := errs[key("tier_within_years")]; !bad && n <= prev {
			errs[key("tier_within_years")] = "分档年限须逐档递增。"
		}
		prev = n
		p.Tiers = append(p.Tiers, conversion.Tier{WithinYears: n, ReturnRate: pct(key("tier_rate"), r.Rate, zero, one, "请填写该档年化收益率（%），0 表示只收回本金。")})
	}
	if f.AppraisalAfterYears != "" {
		n := whole("appraisal_after_years", f.AppraisalAfterYears, 1, 30, "评估年限须为 1–30 的整数年，或不填。")
		p.AppraisalAfterYears = &n
	}
	if !oneOf(f.AccrualFrom, AccrualLabels) {
		errs["accrual_from"] = "请选择计息起点。"
	}
	if !oneOf(f.Allocation, AllocationLabels) {
		errs["allocation"] = "请选择成本分摊方式。"
	}
	if !oneOf(f.Below, BelowCapLabels) {
		errs["below_cap"] = "请选择市场价值低于上限时的处理。"
	}
	t.ExitPolicy.Policy = p
	if len(f.Schedule) == 0 {
		errs["exit_schedule"] = "至少需要一期退出计划。"
	}
	for i, r := range f.Schedule {
		key := func(n string) string { return fmt.Sprintf("%s[%d]", n, i) }
		s := ExitStep{YearsAfterConversion: whole(key("exit_years"), r.Years, 0, 30, "退出时间须为转股后 0–30 年。"), Rest: r.Rest}
		if !r.Rest {
			s.Fraction = pct(key("exit_fraction"), r.Fraction, zero, one, "请填写本期退出比例（%），或选择“剩余全部”。")
		}
		t.ExitSchedule = append(t.ExitSchedule, s)
	}
	t.LapsePolicy = f.LapsePolicy
	if !oneOf(f.LapsePolicy, LapseLabels) {
		errs["lapse_policy"] = "请选择到期未转股的处理方式。"
	}
	if len(errs) > 0 {
		return t, errs
	}
	if err := t.Validate(); err != nil {
		errs["_terms"] = ErrorMessage(err)
		return t, errs
	}
	return t, nil
}

func oneOf(v string, labels [][2]string) bool {
	for _, l := range labels {
		if l[0] == v {
			return true
		}
	}
	return false
}

// shareOf is a / total rounded half-up to 12 places: below 10^15 yuan,
// total × share rounds back to a at the fen (the error is under 10^-12 × total).
func shareOf(a, total decimal.Decimal) decimal.Decimal {
	return conversion.RoundHalfUp(new(big.Rat).Quo(a.Rat(), total.Rat()), 12)
}

// monthsAfter is the whole number of months from signed to d, when d is
// the same day of the month (AddDate's rule) 0–120 months later.
func monthsAfter(signed, d time.Time) (int, bool) {
	for m := 0; m <= 120; m++ {
		if due := signed.AddDate(0, m, 0); due.Equal(d) {
			return m, true
		} else if due.After(d) {
			break
		}
	}
	return 0, false
}

// TermsSample is the sample case a terms preview runs: the amount paid
// (all of it a year before conversion), a round on the conversion date
// and one exit of the whole holding at ExitOn.
type TermsSample struct {
	Amount, PreMoney, NewMoney, Capital decimal.Decimal
	ConvertOn, ExitOn                   time.Time
}

// ParseTermsSample reads the preview's sample inputs; blanks take the
// defaults (3,000,000.00 paid; an 80,000,000.00 pre-money round raising
// 20,000,000.00; 1,000,000.00 of registered capital; conversion today,
// exit three years later). Errors: TermsFormErrors.
func ParseTermsSample(v url.Values, today time.Time) (TermsSample, TermsFormErrors) {
	errs := TermsFormErrors{}
	s := TermsSample{ConvertOn: today}
	for _, x := range []struct {
		name, def string
		dst       *decimal.Decimal
	}{{"sample_amount", "3000000", &s.Amount}, {"sample_pre_money", "80000000", &s.PreMoney},
		{"sample_new_money", "20000000", &s.NewMoney}, {"sample_capital", "1000000", &s.Capital}} {
		t := strings.TrimSpace(v.Get(x.name))
		if t == "" {
			t = x.def
		}
		d, err := ParseAmount(t)
		if err != nil || !d.IsPositive() {
			errs[x.name] = AmountMessage
		}
		*x.dst = d
	}
	s.ExitOn = today.AddDate(3, 0, 0)
	if t := strings.TrimSpace(v.Get("sample_exit_on")); t != "" {
		d, err := day.Parse(t)
		if err != nil || !d.After(today) {
			errs["sample_exit_on"] = "退出日期须晚于今天，格式如 2029-01-31。"
		}
		s.ExitOn = d
	}
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}

// Preview runs the calculator on the sample: what the enterprise hands
// over at the round, and what an exit of the whole holding returns. A
// reference basis is previewed at a sample rate of 3%. Errors: Invalid
// (the calculator's refusal, in Chinese).
func (t Terms) Preview(s TermsSample) (conversion.ConvertResult, conversion.ExitResult, error) {
	paid := []Paid{{Date: s.ConvertOn.AddDate(-1, 0, 0), Amount: s.Amount}}
	e := TriggerEvent{Kind: EventFinancing, EventDate: s.ConvertOn, PreMoneyValuation: s.PreMoney, NewMoney: s.NewMoney}
	req := ConversionRequest(t, e, paid, s.Capital, t.Unit, s.PreMoney.StringFixed(2))
	req.Explain = false
	c, err := conversion.Convert(req)
	if err != nil {
		return c, conversion.ExitResult{}, calcError(err)
	}
	scale := 2
	if t.Unit == conversion.UnitShares {
		scale = 0
	}
	units := decimal.RequireFromString(c.Units)
	tr := conversion.Tranche{Date: s.ExitOn.Format(time.DateOnly), Rest: true}
	if n := t.ExitPolicy.AppraisalAfterYears; n != nil && s.ExitOn.After(s.ConvertOn.AddDate(*n, 0, 0)) {
		tr.AppraisedValue = s.Amount.StringFixed(2)
	}
	ex := ExitRequest(t, units, scale, s.ConvertOn, paid, []conversion.Tranche{tr}, nil)
	ex.Explain = false
	if ex.Policy.ReturnBasis == conversion.ReturnBasisReference && len(ex.Policy.ReferenceRates) == 0 {
		ex.Policy.ReferenceRates = []conversion.ReferenceRate{{From: "2000-01-01", Rate: "0.03"}}
	}
	x, err := conversion.Exit(ex)
	if err != nil {
		return c, x, calcError(err)
	}
	return c, x, nil
}

// Values are the form's fields as a request would post them (the inverse
// of ParseTermsForm), for a caller posting the form itself.
func (f TermsForm) Values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"financing_min_new_money": f.FinancingMin, "revenue_min": f.RevenueMin,
		"other_milestone": f.OtherMilestone, "window_years": f.WindowYears, "unit": f.Unit, "pricing_method": f.Method,
		"discount": f.Discount, "valuation_cap": f.ValuationCap, "floor_price": f.FloorPrice, "price": f.Price, "stake": f.Stake,
		"max_stake": f.MaxStake, "interest_rate": f.InterestRate, "return_basis": f.ReturnBasis, "return_rate": f.ReturnRate,
		"reference_series": f.ReferenceSeries, "spread": f.Spread, "appraisal_after_years": f.AppraisalAfterYears,
		"accrual_from": f.AccrualFrom, "allocation": f.Allocation, "below_cap": f.Below, "lapse_policy": f.LapsePolicy} {
		v.Set(k, x)
	}
	for _, r := range f.Tranches {
		v.Add("tranche_share", r.Share)
		v.Add("tranche_amount", r.Amount)
		v.Add("tranche_months", r.Months)
		v.Add("tranche_date", r.Date)
		v.Add("tranche_milestone", r.Milestone)
	}
	for _, r := range f.Tiers {
		v.Add("tier_within_years", r.WithinYears)
		v.Add("tier_rate", r.Rate)
	}
	for _, r := range f.Schedule {
		v.Add("exit_years", r.Years)
		v.Add("exit_fraction", r.Fraction)
		kind := "fraction"
		if r.Rest {
			kind = "rest"
		}
		v.Add("exit_kind", kind)
	}
	return v
}
