package conversion

import (
	"fmt"
	"math/big"
	"sort"
)

// disbursement is a validated Disbursement.
type disbursement struct {
	date   string
	day    int64
	amount *big.Rat
}

// parseDisbursements validates the list shared by both request kinds and
// returns it in date order (stable, so same-day payments keep their order),
// which is the order FIFO consumes them in.
func parseDisbursements(ds []Disbursement, convDay int64) ([]disbursement, error) {
	if len(ds) == 0 {
		return nil, fieldErr("disbursements", "请至少填写一笔拨付记录（日期和金额）。")
	}
	if len(ds) > MaxDisbursements {
		return nil, fieldErr("disbursements", "拨付记录过多：最多 %d 笔。", MaxDisbursements)
	}
	out := make([]disbursement, len(ds))
	for i, d := range ds {
		f := fmt.Sprintf("disbursements[%d]", i)
		day, err := parseDate(d.Date, f+".date", fmt.Sprintf("第 %d 笔拨付的日期", i+1))
		if err != nil {
			return nil, err
		}
		if day > convDay {
			return nil, fieldErr(f+".date", "第 %d 笔拨付的日期 %s 晚于转股日期：转股日之后的拨付不能计入转股金额。", i+1, d.Date)
		}
		amt, err := parsePositive(d.Amount, f+".amount", fmt.Sprintf("第 %d 笔拨付的金额", i+1), placesMoney)
		if err != nil {
			return nil, err
		}
		out[i] = disbursement{date: d.Date, day: day, amount: amt}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].day < out[b].day })
	return out, nil
}

// conversion is a validated ConvertRequest; nil pointers are absent options.
type conversion struct {
	unit     string
	scale    int
	convDate string
	convDay  int64
	disb     []disbursement
	u        *big.Rat // U
	v, m     *big.Rat // the round, nil without one
	method   string
	discount *big.Rat
	cap      *big.Rat
	floor    *big.Rat
	price    *big.Rat
	stake    *big.Rat
	appr     *big.Rat
	maxStake *big.Rat
	rate     *big.Rat // pre-conversion interest, nil without
	explain  bool
}

// Convert computes a conversion (DOMAIN §9). Every error is an *InputError
// naming the field to fix.
func Convert(req ConvertRequest) (ConvertResult, error) {
	c, err := parseConversion(req)
	if err != nil {
		return ConvertResult{}, err
	}
	return c.compute()
}

func parseConversion(req ConvertRequest) (*conversion, error) {
	if req.Kind != "" && req.Kind != KindConversion {
		return nil, fieldErr("kind", "计算类型 kind 应为 \"conversion\"。")
	}
	c := &conversion{unit: req.Unit, explain: req.Explain, method: req.Pricing.Method}
	var def int
	switch req.Unit {
	case UnitRegisteredCapital:
		def = 2
	case UnitShares:
		def = 0
	case "":
		return nil, fieldErr("unit", "请填写单位类型 unit：有限责任公司填 \"registered_capital\"（注册资本），股份有限公司填 \"shares\"（股份）。")
	default:
		return nil, fieldErr("unit", "单位类型 unit 只能是 \"registered_capital\"（注册资本）或 \"shares\"（股份）。")
	}
	var err error
	if c.scale, err = parseScale(req.UnitScale, def); err != nil {
		return nil, err
	}
	c.convDate = req.ConversionDate
	if c.convDay, err = parseDate(req.ConversionDate, "conversion_date", "转股日期"); err != nil {
		return nil, err
	}
	if c.disb, err = parseDisbursements(req.Disbursements, c.convDay); err != nil {
		return nil, err
	}
	uLabel := "转股前注册资本（元）"
	if c.unit == UnitShares {
		uLabel = "转股前股份总数（股）"
	}
	if c.u, err = parsePositive(req.PreMoneyUnits, "pre_money_units", uLabel, c.scale); err != nil {
		return nil, err
	}
	if r := req.Round; r != nil {
		if r.PreMoneyValuation == "" {
			return nil, fieldErr("round.pre_money_valuation", "融资轮必须给出大于 0 的投前估值。")
		}
		if c.v, err = parsePositive(r.PreMoneyValuation, "round.pre_money_valuation", "融资轮投前估值", placesMoney); err != nil {
			return nil, err
		}
		if c.m, err = parsePositive(r.NewMoney, "round.new_money", "融资轮新增投资金额", placesMoney); err != nil {
			return nil, err
		}
	}
	if err = c.parsePricing(req.Pricing, req.Round != nil); err != nil {
		return nil, err
	}
	if req.MaxStake != "" {
		if c.maxStake, err = parseUnitRange(req.MaxStake, "max_stake", "持股比例上限", false, false, "，例如 \"0.30\" 表示不超过 30%"); err != nil {
			return nil, err
		}
	}
	if req.Interest != nil {
		if c.rate, err = parseUnitRange(req.Interest.Rate, "interest.rate", "转股前年利率", true, true, "，例如 \"0.031\" 表示年利率 3.1%"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *conversion) parsePricing(p Pricing, hasRound bool) error {
	// refuse rejects any field, among those listed with their labels, that
	// the method does not use.
	refuse := func(method string, fields map[string]string, values map[string]string) error {
		for _, name := range []string{"discount", "valuation_cap", "floor_price", "price", "stake", "appraised_value"} {
			if label, ok := fields[name]; ok && values[name] != "" {
				return fieldErr("pricing."+name, "定价方式 %s 不使用%s，请删除该项。", method, label)
			}
		}
		return nil
	}
	values := map[string]string{
		"discount": p.Discount, "valuation_cap": p.ValuationCap, "floor_price": p.FloorPrice,
		"price": p.Price, "stake": p.Stake, "appraised_value": p.AppraisedValue,
	}
	var err error
	switch p.Method {
	case MethodRoundPrice:
		if !hasRound {
			return fieldErr("round", "定价方式 round_price（按融资轮价格）需要填写融资轮 round：大于 0 的投前估值和新增投资金额。")
		}
		if err = refuse(p.Method, map[string]string{"price": "约定价格 price", "stake": "约定持股比例 stake", "appraised_value": "评估价值 appraised_value"}, values); err != nil {
			return err
		}
	case MethodAppraisal:
		if err = refuse(p.Method, map[string]string{"price": "约定价格 price", "stake": "约定持股比例 stake"}, values); err != nil {
			return err
		}
		if c.appr, err = parsePositive(p.AppraisedValue, "pricing.appraised_value", "评估价值（股权评估值）", placesMoney); err != nil {
			return err
		}
	case MethodFixedPrice:
		if err = refuse(p.Method, map[string]string{"discount": "折扣 discount", "valuation_cap": "估值上限 valuation_cap", "floor_price": "最低价格 floor_price", "stake": "约定持股比例 stake", "appraised_value": "评估价值 appraised_value"}, values); err != nil {
			return err
		}
		if c.price, err = parsePositive(p.Price, "pricing.price", "约定转股价格", placesInPx); err != nil {
			return err
		}
		return nil
	case MethodFixedStake:
		if err = refuse(p.Method, map[string]string{"discount": "折扣 discount", "valuation_cap": "估值上限 valuation_cap", "floor_price": "最低价格 floor_price", "price": "约定价格 price", "appraised_value": "评估价值 appraised_value"}, values); err != nil {
			return err
		}
		if c.stake, err = parseUnitRange(p.Stake, "pricing.stake", "约定持股比例", false, false, "，例如 \"0.05\" 表示 5%"); err != nil {
			return err
		}
		return nil
	case "":
		return fieldErr("pricing.method", "请填写定价方式 pricing.method：round_price、appraisal、fixed_price 或 fixed_stake。")
	default:
		return fieldErr("pricing.method", "不支持的定价方式 %q：只能是 round_price（融资轮价格）、appraisal（评估价格）、fixed_price（约定价格）或 fixed_stake（约定持股比例）。", p.Method)
	}
	// round_price and appraisal share the adjustments.
	if p.Discount != "" {
		if c.discount, err = parseUnitRange(p.Discount, "pricing.discount", "折扣", true, false, "，例如 \"0.20\" 表示在参考价格上打八折"); err != nil {
			return err
		}
	}
	if p.ValuationCap != "" {
		if c.cap, err = parsePositive(p.ValuationCap, "pricing.valuation_cap", "估值上限", placesMoney); err != nil {
			return err
		}
	}
	if p.FloorPrice != "" {
		if c.floor, err = parsePositive(p.FloorPrice, "pricing.floor_price", "最低转股价格", placesInPx); err != nil {
			return err
		}
	}
	return nil
}

// unitsLabel names the unit in messages: 注册资本 or 股本.
func (c *conversion) unitsLabel(prefix string) string {
	if c.unit == UnitShares {
		return prefix + "股份"
	}
	return prefix + "注册资本"
}

// capitalName is the equity account the units at par go to.
func (c *conversion) capitalName() string {
	if c.unit == UnitShares {
		return "股本"
	}
	return "注册资本"
}

// unitName follows a quantity: "37500.00 元注册资本", "333333 股".
func (c *conversion) unitName() string {
	if c.unit == UnitShares {
		return "股"
	}
	return "元注册资本"
}

// compute runs DOMAIN §9 steps 1 to 8 in order. All arithmetic is exact; the
// only roundings are the interest (half-up to 0.01), R and G (down to the
// unit scale), and the printing of prices and stakes (half-up).
func (c *conversion) compute() (ConvertResult, error) {
	var steps stepList
	steps.on = c.explain
	un := c.unitName()
	pu := "元/" + un // price unit: 元/元注册资本 or 元/股

	// 1. Conversion amount.
	sum := new(big.Rat)
	for _, d := range c.disb {
		sum.Add(sum, d.amount)
	}
	interest := new(big.Rat)
	if c.rate != nil {
		acc := new(big.Rat) // Σ amount × days, one rounding at the end
		for _, d := range c.disb {
			acc.Add(acc, mul(d.amount, ratInt(c.convDay-d.day)))
		}
		interest = roundRat(quo(mul(acc, c.rate), rat365), placesMoney, halfUp)
	}
	a := add(sum, interest)
	if steps.on {
		steps.add("已拨付资金合计 %s 元（%d 笔）。", fixed(sum, 2, halfUp), len(c.disb))
		if c.rate != nil {
			for _, d := range c.disb {
				steps.add("  %s 拨付 %s 元，至转股日 %s 计息 %d 天。", d.date, fixed(d.amount, 2, halfUp), c.convDate, c.convDay-d.day)
			}
			steps.add("转股前利息 = Σ 拨付金额 × 年利率 %s × 天数 ÷ 365，四舍五入到分：%s 元。", ratStr(c.rate), fixed(interest, 2, halfUp))
		}
		steps.add("转股金额 A = %s 元。", fixed(a, 2, halfUp))
	}

	// 2–3. Reference price and conversion price.
	var pref, p *big.Rat
	var basis string
	switch c.method {
	case MethodRoundPrice:
		pref = quo(c.v, c.u)
		basis = BasisRound
		if steps.on {
			steps.add("参考价格 = 融资轮投前估值 %s ÷ %s %s = %s %s。", ratStr(c.v), c.unitsLabel("转股前"), ratStr(c.u), fixed(pref, placesPrice, halfUp), pu)
		}
	case MethodAppraisal:
		pref = quo(c.appr, c.u)
		basis = BasisAppraisal
		if steps.on {
			steps.add("参考价格 = 评估价值 %s ÷ %s %s = %s %s。", ratStr(c.appr), c.unitsLabel("转股前"), ratStr(c.u), fixed(pref, placesPrice, halfUp), pu)
		}
	case MethodFixedPrice:
		p = c.price
		basis = BasisFixedPrice
		if steps.on {
			steps.add("按协议约定的转股价格 %s %s。", fixed(p, placesPrice, halfUp), pu)
		}
	case MethodFixedStake:
		basis = BasisFixedStake
	}
	if pref != nil {
		p = pref
		if c.discount != nil && c.discount.Sign() > 0 {
			p = mul(pref, sub(ratOne, c.discount))
			basis = BasisDiscount
			if steps.on {
				steps.add("折扣 %s：%s × (1 − %s) = %s %s。", ratStr(c.discount), fixed(pref, placesPrice, halfUp), ratStr(c.discount), fixed(p, placesPrice, halfUp), pu)
			}
		}
		if c.cap != nil {
			cp := quo(c.cap, c.u)
			if cp.Cmp(p) < 0 {
				p = cp
				basis = BasisCap
				if steps.on {
					steps.add("估值上限价格 = %s ÷ %s = %s %s，低于前述价格，转股价格取估值上限价格。", ratStr(c.cap), ratStr(c.u), fixed(cp, placesPrice, halfUp), pu)
				}
			} else if steps.on {
				steps.add("估值上限价格 = %s ÷ %s = %s %s，不低于前述价格，不影响转股价格。", ratStr(c.cap), ratStr(c.u), fixed(cp, placesPrice, halfUp), pu)
			}
		}
		if c.floor != nil {
			if c.floor.Cmp(p) > 0 {
				p = c.floor
				basis = BasisFloor
				if steps.on {
					steps.add("最低价格 %s %s 高于前述价格，转股价格取最低价格。", fixed(c.floor, placesPrice, halfUp), pu)
				}
			} else if steps.on {
				steps.add("最低价格 %s %s 不高于前述价格，不影响转股价格。", fixed(c.floor, placesPrice, halfUp), pu)
			}
		}
	}

	// 4. Round investor units at the round's own price.
	r := new(big.Rat)
	if c.v != nil {
		r = roundRat(quo(mul(c.m, c.u), c.v), c.scale, down)
		if steps.on {
			steps.add("本轮投资人新增投资 %s 元，按融资轮价格 %s %s 取得 R = %s %s（向下取整）。", ratStr(c.m), fixed(quo(c.v, c.u), placesPrice, halfUp), pu, fixed(r, c.scale, down), un)
		}
	}
	ur := add(c.u, r)

	// 5. Platform units.
	var g *big.Rat
	priceFromUnits := false // true once p must be recomputed as A / G
	if c.method == MethodFixedStake {
		g = roundRat(quo(mul(c.stake, ur), sub(ratOne, c.stake)), c.scale, down)
		priceFromUnits = true
		if steps.on {
			steps.add("按约定持股比例 s = %s：G = s × (U + R) / (1 − s) = %s × %s / (1 − %s) = %s %s（向下取整）。", ratStr(c.stake), ratStr(c.stake), fixed(ur, c.scale, down), ratStr(c.stake), fixed(g, c.scale, down), un)
		}
	} else {
		g = roundRat(quo(a, p), c.scale, down)
		if steps.on {
			steps.add("转股价格 %s %s（依据：%s）。平台取得 G = %s ÷ %s = %s %s（向下取整）。", fixed(p, placesPrice, halfUp), pu, basisName(basis), fixed(a, 2, halfUp), fixed(p, placesPrice, halfUp), fixed(g, c.scale, down), un)
		}
	}

	// 6. Stake ceiling.
	if c.maxStake != nil {
		st := quo(g, add(ur, g))
		if st.Cmp(c.maxStake) > 0 {
			g = roundRat(quo(mul(c.maxStake, ur), sub(ratOne, c.maxStake)), c.scale, down)
			basis = BasisStakeCeiling
			priceFromUnits = true
			if steps.on {
				steps.add("平台持股比例 %s 超过上限 %s：G = m × (U + R) / (1 − m) = %s %s（向下取整），转股价格 = A ÷ G。", fixed(st, placesStake, halfUp), ratStr(c.maxStake), fixed(g, c.scale, down), un)
			}
		} else if steps.on {
			steps.add("平台持股比例 %s 未超过上限 %s。", fixed(st, placesStake, halfUp), ratStr(c.maxStake))
		}
	}

	// 7. Par floor, always last: no unit may be issued below 1 yuan.
	if g.Cmp(a) > 0 {
		g = roundRat(a, c.scale, down)
		basis = BasisPar
		priceFromUnits = true
		if steps.on {
			steps.add("单位数超过转股金额，即价格低于面值 1 元：按面值发行，G = %s %s，转股价格 = A ÷ G。", fixed(g, c.scale, down), un)
		}
	}
	if g.Sign() == 0 {
		field := "disbursements"
		switch basis {
		case BasisFixedStake:
			field = "pricing.stake"
		case BasisStakeCeiling:
			field = "max_stake"
		}
		return ConvertResult{}, fieldErr(field, "按这些条件平台取得的%s不足一个最小单位（%s），无法转股：请检查转股金额、价格或持股比例。", c.unitsLabel(""), minUnit(c.scale, un))
	}
	if priceFromUnits {
		p = quo(a, g)
		if steps.on {
			steps.add("转股价格 = %s ÷ %s = %s %s（依据：%s）。", fixed(a, 2, halfUp), fixed(g, c.scale, down), fixed(p, placesPrice, halfUp), pu, basisName(basis))
		}
	}

	// 8. Post-money.
	t := add(ur, g)
	reserve := sub(a, g)
	if steps.on {
		steps.add("计入%s %s 元（每单位面值 1 元），计入资本公积 A − G = %s 元。", c.capitalName(), fixed(g, 2, halfUp), fixed(reserve, 2, halfUp))
	}
	if steps.on {
		steps.add("投后总数 T = U + R + G = %s + %s + %s = %s %s。", fixed(c.u, c.scale, down), fixed(r, c.scale, down), fixed(g, c.scale, down), fixed(t, c.scale, down), un)
	}
	stake := quo(g, t)
	if steps.on {
		steps.add("持股比例：平台 %s（%s），原股东 %s，本轮投资人 %s。", fixed(stake, placesStake, halfUp), percent(stake), fixed(quo(c.u, t), placesStake, halfUp), fixed(quo(r, t), placesStake, halfUp))
	}

	res := ConvertResult{
		ConversionAmount:      fixed(a, placesMoney, halfUp),
		PreConversionInterest: fixed(interest, placesMoney, halfUp),
		ConversionPrice:       fixed(p, placesPrice, halfUp),
		PriceBasis:            basis,
		Units:                 fixed(g, c.scale, down),
		ToRegisteredCapital:   fixed(g, placesMoney, halfUp),
		ToCapitalReserve:      fixed(reserve, placesMoney, halfUp),
		RoundInvestorUnits:    fixed(r, c.scale, down),
		PostMoneyUnits:        fixed(t, c.scale, down),
		Stake:                 fixed(stake, placesStake, halfUp),
		Stakes: Stakes{
			Existing:      fixed(quo(c.u, t), placesStake, halfUp),
			RoundInvestor: fixed(quo(r, t), placesStake, halfUp),
			Platform:      fixed(stake, placesStake, halfUp),
		},
		Steps: steps.list,
	}
	if pref != nil {
		res.ReferencePrice = fixedPtr(pref, placesPrice, halfUp)
	}
	return res, nil
}

// minUnit describes the smallest unit at a scale: "0.01 元注册资本", "1 股".
func minUnit(scale int, un string) string {
	return formatScaled(big.NewInt(1), scale) + " " + un
}

// basisName is the Chinese name of a price basis, for explanations.
func basisName(b string) string {
	switch b {
	case BasisRound:
		return "融资轮价格"
	case BasisAppraisal:
		return "评估价格"
	case BasisDiscount:
		return "折扣价格"
	case BasisCap:
		return "估值上限"
	case BasisFloor:
		return "最低价格"
	case BasisFixedPrice:
		return "约定价格"
	case BasisFixedStake:
		return "约定持股比例"
	case BasisStakeCeiling:
		return "持股比例上限"
	case BasisPar:
		return "面值"
	}
	return b
}
