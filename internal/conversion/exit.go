package conversion

import (
	"fmt"
	"math/big"
)

// tranche is a validated Tranche; exactly one of units, fraction and rest is
// set.
type tranche struct {
	date     string
	day      int64
	units    *big.Rat
	fraction *big.Rat
	rest     bool
	mv       *big.Rat // nil when unknown
	buyer    string   // BuyerTeam or BuyerThirdParty
	av       *big.Rat // the appraised value, nil when none was given
	appraise bool     // the policy requires the appraisal: it is a floor for the team's price
}

// exit is a validated ExitRequest. Its rates decide each tranche's rate and
// the appraisal rule (policy.go).
type exit struct {
	scale    int
	units    *big.Rat // H, the holding at conversion
	convDate string
	convDay  int64
	disb     []disbursement
	rates
	accrual    string
	allocation string
	belowCap   string
	tranches   []tranche
	explain    bool
}

// Exit computes a staged exit (DOMAIN §10). Every error is an *InputError
// naming the field to fix.
func Exit(req ExitRequest) (ExitResult, error) {
	e, err := parseExit(req)
	if err != nil {
		return ExitResult{}, err
	}
	return e.compute()
}

func parseExit(req ExitRequest) (*exit, error) {
	if req.Kind != "" && req.Kind != KindExit {
		return nil, fieldErr("kind", "计算类型 kind 应为 \"exit\"。")
	}
	e := &exit{explain: req.Explain}
	var err error
	if e.scale, err = parseScale(req.UnitScale, 2); err != nil {
		return nil, err
	}
	if e.units, err = parsePositive(req.Units, "units", "转股后持有的单位数", e.scale); err != nil {
		return nil, err
	}
	e.convDate = req.ConversionDate
	if e.convDay, err = parseDate(req.ConversionDate, "conversion_date", "转股日期"); err != nil {
		return nil, err
	}
	if e.disb, err = parseDisbursements(req.Disbursements, e.convDay); err != nil {
		return nil, err
	}
	p := req.Policy
	if e.rates, err = parseRates(p, e.convDay); err != nil {
		return nil, err
	}
	e.extended = usesPolicyFields(req)
	switch p.AccrualFrom {
	case AccrualDisbursement, AccrualConversion:
		e.accrual = p.AccrualFrom
	default:
		return nil, fieldErr("policy.accrual_from", "计息起点 accrual_from 只能是 \"disbursement\"（自各笔拨付日起）或 \"conversion\"（自转股日起）。")
	}
	switch p.Allocation {
	case AllocationFIFO, AllocationProRata:
		e.allocation = p.Allocation
	default:
		return nil, fieldErr("policy.allocation", "成本分摊方式 allocation 只能是 \"fifo\"（先拨付先分摊）或 \"pro_rata\"（按拨付金额比例分摊）。")
	}
	switch p.BelowCap {
	case BelowCapMarket, BelowCapCap:
		e.belowCap = p.BelowCap
	default:
		return nil, fieldErr("policy.below_cap", "低于上限金额时的规则 below_cap 只能是 \"market\"（按市场价值，容亏）或 \"cap\"（仍按上限金额，如约定回购）。")
	}
	if len(req.Tranches) == 0 {
		return nil, fieldErr("tranches", "请至少填写一笔退出（日期及出售单位数）。")
	}
	if len(req.Tranches) > MaxTranches {
		return nil, fieldErr("tranches", "退出笔数过多：最多 %d 笔。", MaxTranches)
	}
	e.tranches = make([]tranche, len(req.Tranches))
	prev := e.convDay
	for i, t := range req.Tranches {
		f := fmt.Sprintf("tranches[%d]", i)
		n := i + 1
		day, err := parseDate(t.Date, f+".date", fmt.Sprintf("第 %d 笔退出的日期", n))
		if err != nil {
			return nil, err
		}
		if day < e.convDay {
			return nil, fieldErr(f+".date", "第 %d 笔退出的日期 %s 早于转股日期 %s：转股之前不能退出。", n, t.Date, req.ConversionDate)
		}
		if day < prev {
			return nil, fieldErr(f+".date", "第 %d 笔退出的日期 %s 早于上一笔退出：请按日期先后顺序填写退出。", n, t.Date)
		}
		prev = day
		tr := tranche{date: t.Date, day: day, rest: t.Rest, buyer: BuyerTeam}
		set := 0
		for _, b := range []bool{t.Units != "", t.Fraction != "", t.Rest} {
			if b {
				set++
			}
		}
		if set != 1 {
			return nil, fieldErr(f, "第 %d 笔退出须且只须填写以下一项：units（出售单位数）、fraction（占原持有的比例）或 rest（出售剩余全部）。", n)
		}
		if t.Units != "" {
			if tr.units, err = parseNum(t.Units, f+".units", fmt.Sprintf("第 %d 笔退出的单位数", n), e.scale); err != nil {
				return nil, err
			}
			if tr.units.Sign() <= 0 {
				return nil, fieldErr(f+".units", "第 %d 笔退出的单位数必须大于 0。", n)
			}
		}
		if t.Fraction != "" {
			if tr.fraction, err = parseUnitRange(t.Fraction, f+".fraction", fmt.Sprintf("第 %d 笔退出的比例", n), false, true, "，例如 \"0.25\" 表示原持有的四分之一"); err != nil {
				return nil, err
			}
		}
		if t.MarketValue != "" {
			if tr.mv, err = parseNonNegative(t.MarketValue, f+".market_value", fmt.Sprintf("第 %d 笔退出的市场价值", n), placesMoney); err != nil {
				return nil, err
			}
		}
		if err := e.parseBuyer(&tr, t, f, n); err != nil {
			return nil, err
		}
		e.tranches[i] = tr
	}
	return e, nil
}

// parseBuyer validates the tranche's buyer and appraisal: a third party
// buys at its transaction price, which must be given; after
// anniversary(appraisal_after_years) either buyer needs an appraisal.
func (e *exit) parseBuyer(tr *tranche, t Tranche, f string, n int) error {
	switch t.Buyer {
	case "", BuyerTeam:
	case BuyerThirdParty:
		tr.buyer = BuyerThirdParty
		if tr.mv == nil {
			return fieldErr(f+".market_value", "第 %d 笔退出由第三方受让（公开挂牌）：请填写成交价 market_value，回收金额即成交价。", n)
		}
	default:
		return fieldErr(f+".buyer", "第 %d 笔退出的受让方 buyer 只能是 \"team\"（团队或原股东回购）或 \"third_party\"（第三方通过产权交易所公开挂牌受让）。", n)
	}
	if t.AppraisedValue != "" {
		var err error
		if tr.av, err = parsePositive(t.AppraisedValue, f+".appraised_value", fmt.Sprintf("第 %d 笔退出的评估值", n), placesMoney); err != nil {
			return err
		}
	}
	tr.appraise = e.appraisalYears > 0 && tr.day > e.appraisalAfter
	if tr.appraise && tr.av == nil {
		return fieldErr(f+".appraised_value", "第 %d 笔退出的日期 %s 晚于转股满 %d 年之日 %s：政策要求评估，请填写评估值 appraised_value。", n, t.Date, e.appraisalYears, dayString(e.appraisalAfter))
	}
	return nil
}

// slice is the part of a tranche's cost drawn from one disbursement.
type slice struct {
	d      *disbursement
	amount *big.Rat
}

// compute runs DOMAIN §10 tranche by tranche. Money is rounded half-up to
// 0.01 in exactly two places per tranche (its cost and its interest); every
// other figure is a sum or difference of rounded amounts and so exact.
func (e *exit) compute() (ExitResult, error) {
	var steps stepList
	steps.on = e.explain
	sc := e.scale

	basis := new(big.Rat)
	dayWeighted := new(big.Rat) // Σ d_j × day_j, for pro rata interest in O(1) per tranche
	for _, d := range e.disb {
		basis.Add(basis, d.amount)
		dayWeighted.Add(dayWeighted, mul(d.amount, ratInt(d.day)))
	}
	if steps.on {
		steps.add("成本基数 = 拨付合计 %s 元；转股后持有 %s 单位；%s，单利，按实际天数 ÷ 365 计，自%s计息；成本分摊方式：%s；市场价值低于上限金额时%s。",
			fixed(basis, 2, halfUp), fixed(e.units, sc, down), e.rates.basisName(), accrualName(e.accrual), allocationName(e.allocation), belowCapName(e.belowCap))
		e.rates.explain(&steps)
	}

	held := new(big.Rat).Set(e.units)
	released := new(big.Rat)
	// FIFO state: the disbursement being consumed and what is left of it.
	fi := 0
	var left *big.Rat
	if len(e.disb) > 0 {
		left = new(big.Rat).Set(e.disb[0].amount)
	}

	totProceeds, totInterest, totConcession, totGain := new(big.Rat), new(big.Rat), new(big.Rat), new(big.Rat)
	res := ExitResult{Tranches: make([]TrancheResult, 0, len(e.tranches))}
	flows := make([]cashFlow, 0, len(e.disb)+len(e.tranches))
	for _, d := range e.disb {
		flows = append(flows, cashFlow{day: d.day, amount: new(big.Rat).Neg(d.amount)})
	}

	for i, t := range e.tranches {
		f := fmt.Sprintf("tranches[%d]", i)
		n := i + 1

		// Units sold.
		var u *big.Rat
		field := f + ".units"
		switch {
		case t.units != nil:
			u = t.units
		case t.fraction != nil:
			u = roundRat(mul(e.units, t.fraction), sc, down)
			field = f + ".fraction"
		default:
			u = new(big.Rat).Set(held)
			field = f + ".rest"
		}
		if u.Sign() == 0 {
			if t.rest {
				return ExitResult{}, fieldErr(field, "第 %d 笔退出选择出售剩余全部，但此前各笔已全部售出，没有可出售的单位。", n)
			}
			return ExitResult{}, fieldErr(field, "第 %d 笔退出按比例计算的出售单位数向下取整后为 0：请提高比例或直接填写单位数。", n)
		}
		if u.Cmp(held) > 0 {
			return ExitResult{}, fieldErr(field, "第 %d 笔退出出售 %s 单位，超过尚持有的 %s 单位。", n, fixed(u, sc, down), fixed(held, sc, down))
		}
		held.Sub(held, u)
		emptied := held.Sign() == 0

		// Cost released. The tranche that empties the holding takes what is
		// left, so the costs always add up to the basis. Half-up rounding of
		// many small tranches could otherwise overshoot the basis before the
		// last one; the clamp keeps every cost within what is left.
		remaining := sub(basis, released)
		var cost *big.Rat
		if emptied {
			cost = remaining
		} else {
			cost = roundRat(quo(mul(basis, u), e.units), placesMoney, halfUp)
			if cost.Cmp(remaining) > 0 {
				cost = remaining
			}
		}
		released.Add(released, cost)
		if steps.on {
			steps.add("第 %d 笔退出 %s：出售 %s 单位，尚余 %s 单位。", n, t.date, fixed(u, sc, down), fixed(held, sc, down))
			if emptied && i > 0 {
				steps.add("  本笔清空持仓，承担剩余成本 c = %s − %s = %s 元。", fixed(basis, 2, halfUp), fixed(sub(released, cost), 2, halfUp), fixed(cost, 2, halfUp))
			} else {
				steps.add("  成本 c = %s × %s ÷ %s = %s 元（四舍五入到分）。", fixed(basis, 2, halfUp), fixed(u, sc, down), fixed(e.units, sc, down), fixed(cost, 2, halfUp))
			}
		}

		// The rate, then slices and interest, exact until one rounding per
		// tranche.
		ar, err := e.rateFor(t.day, n)
		if err != nil {
			return ExitResult{}, err
		}
		if steps.on && e.extended {
			steps.add("  适用年利率：%s。", ar.describe(&e.rates))
		}
		acc := new(big.Rat) // Σ slice × days
		switch e.allocation {
		case AllocationFIFO:
			need := new(big.Rat).Set(cost)
			for need.Sign() > 0 && fi < len(e.disb) {
				take := left
				if need.Cmp(left) < 0 {
					take = new(big.Rat).Set(need)
				}
				d := &e.disb[fi]
				days := t.day - d.day
				if e.accrual == AccrualConversion {
					days = t.day - e.convDay
				}
				acc.Add(acc, mul(take, ratInt(days)))
				if steps.on {
					steps.add("  分摊：%s 拨付部分 %s 元，计息 %d 天。", d.date, fixed(take, 2, halfUp), days)
				}
				need.Sub(need, take)
				left = sub(left, take)
				if left.Sign() == 0 {
					fi++
					if fi < len(e.disb) {
						left = new(big.Rat).Set(e.disb[fi].amount)
					}
				}
			}
		case AllocationProRata:
			share := quo(cost, basis)
			if e.accrual == AccrualConversion {
				acc = mul(cost, ratInt(t.day-e.convDay))
			} else {
				// Σ_j cost × d_j / basis × (day − day_j)
				acc = mul(share, sub(mul(basis, ratInt(t.day)), dayWeighted))
			}
			// Listing every slice would make a hostile request's steps
			// quadratic in size; beyond ten disbursements they are summarised.
			switch {
			case !steps.on:
			case len(e.disb) <= 10:
				for j := range e.disb {
					d := &e.disb[j]
					days := t.day - d.day
					if e.accrual == AccrualConversion {
						days = t.day - e.convDay
					}
					steps.add("  按比例分摊：%s 拨付部分 %s 元，计息 %d 天。", d.date, fixed(mul(share, d.amount), 2, halfUp), days)
				}
			default:
				steps.add("  成本按 %d 笔拨付金额比例分摊（明细从略）。", len(e.disb))
			}
		}
		interest := roundRat(quo(mul(acc, ar.rate), rat365), placesMoney, halfUp)
		k := add(cost, interest)
		if steps.on {
			steps.add("  利息 I = Σ 分摊金额 × %s × 天数 ÷ 365 = %s 元（四舍五入到分）；上限金额 K = c + I = %s 元。", ratStr(ar.rate), fixed(interest, 2, halfUp), fixed(k, 2, halfUp))
		}
		concession := new(big.Rat) // filled by price; kept here so it stays on the stack
		proceeds := e.price(t, k, concession, &steps)
		gain := sub(proceeds, cost)
		if steps.on {
			steps.add("  收益 = P − c = %s − %s = %s 元。", fixed(proceeds, 2, halfUp), fixed(cost, 2, halfUp), fixed(gain, 2, halfUp))
		}

		totProceeds.Add(totProceeds, proceeds)
		totInterest.Add(totInterest, interest)
		totConcession.Add(totConcession, concession)
		totGain.Add(totGain, gain)
		flows = append(flows, cashFlow{day: t.day, amount: proceeds})

		tr := TrancheResult{
			Date:       t.date,
			Units:      fixed(u, sc, down),
			Cost:       fixed(cost, placesMoney, halfUp),
			Interest:   fixed(interest, placesMoney, halfUp),
			CapAmount:  fixed(k, placesMoney, halfUp),
			Proceeds:   fixed(proceeds, placesMoney, halfUp),
			Concession: fixed(concession, placesMoney, halfUp),
			Gain:       fixed(gain, placesMoney, halfUp),
		}
		if t.mv != nil {
			tr.MarketValue = fixedPtr(t.mv, placesMoney, halfUp)
		}
		if e.extended {
			tr.Rate = fixed(ar.rate, placesPrice, halfUp)
			tr.RateBasis = ar.basis
			tr.Buyer = t.buyer
			if t.av != nil {
				tr.AppraisedValue = fixedPtr(t.av, placesMoney, halfUp)
			}
		}
		res.Tranches = append(res.Tranches, tr)
	}

	res.Totals = Totals{
		UnitsSold:      fixed(sub(e.units, held), sc, down),
		UnitsRemaining: fixed(held, sc, down),
		CostReleased:   fixed(released, placesMoney, halfUp),
		Proceeds:       fixed(totProceeds, placesMoney, halfUp),
		Interest:       fixed(totInterest, placesMoney, halfUp),
		Concession:     fixed(totConcession, placesMoney, halfUp),
		Gain:           fixed(totGain, placesMoney, halfUp),
	}
	if steps.on {
		steps.add("合计：出售 %s 单位，释放成本 %s 元，收回 %s 元，利息 %s 元，让利 %s 元，收益 %s 元。",
			res.Totals.UnitsSold, res.Totals.CostReleased, res.Totals.Proceeds, res.Totals.Interest, res.Totals.Concession, res.Totals.Gain)
	}
	if held.Sign() == 0 {
		res.Totals.MOIC = fixedPtr(quo(totProceeds, basis), placesMOIC, halfUp)
		if steps.on {
			steps.add("已全部退出：MOIC = 收回合计 ÷ 成本基数 = %s ÷ %s = %s。", res.Totals.Proceeds, fixed(basis, 2, halfUp), *res.Totals.MOIC)
		}
		if r, ok := xirr(flows); ok {
			res.Totals.XIRR = fixedPtr(r, placesXIRR, halfUp)
			if steps.on {
				steps.add("XIRR（拨付为流出、收回为流入，按实际天数 ÷ 365 计）= %s。", *res.Totals.XIRR)
			}
		} else if steps.on {
			steps.add("这组现金流没有内部收益率（例如全部收回为 0），XIRR 为空。")
		}
	} else if steps.on {
		steps.add("尚未全部退出（剩余 %s 单位），MOIC 和 XIRR 为空。", res.Totals.UnitsRemaining)
	}
	res.Steps = steps.list
	return res, nil
}

// price sets a tranche's proceeds P and concession from its cap amount k
// (DOMAIN §10): a third party pays its transaction price; the team pays K,
// or a lower market value under the market rule, and never less than an
// appraisal the policy requires. It sets concession (zero on entry) to what
// the market value exceeds P by.
func (e *exit) price(t tranche, k, concession *big.Rat, steps *stepList) (proceeds *big.Rat) {
	switch {
	case t.buyer == BuyerThirdParty:
		proceeds = t.mv
		if steps.on {
			steps.add("  第三方通过公开挂牌受让：回收金额为成交价 %s 元（上限金额 K = %s 元不适用）。", fixed(t.mv, 2, halfUp), fixed(k, 2, halfUp))
		}
	case t.mv == nil:
		proceeds = k
		if steps.on {
			steps.add("  未提供市场价值：收回 K = %s 元。", fixed(k, 2, halfUp))
		}
	case t.mv.Cmp(k) >= 0:
		proceeds = k
		concession.Sub(t.mv, k)
		if steps.on {
			steps.add("  市场价值 %s 元 ≥ K：收回 K = %s 元，超出部分 %s 元让利给团队。", fixed(t.mv, 2, halfUp), fixed(k, 2, halfUp), fixed(concession, 2, halfUp))
		}
	case e.belowCap == BelowCapMarket:
		proceeds = t.mv
		if steps.on {
			steps.add("  市场价值 %s 元 < K：按“市场价值”规则收回市场价值 %s 元（容亏）。", fixed(t.mv, 2, halfUp), fixed(t.mv, 2, halfUp))
		}
	default:
		proceeds = k
		if steps.on {
			steps.add("  市场价值 %s 元 < K：按“上限金额”规则仍收回 K = %s 元（如创始人按约定回购）。", fixed(t.mv, 2, halfUp), fixed(k, 2, halfUp))
		}
	}
	switch {
	case t.appraise && t.buyer == BuyerTeam && t.av.Cmp(proceeds) > 0:
		proceeds = t.av
		concession.SetInt64(0)
		if t.mv != nil && t.mv.Cmp(proceeds) > 0 {
			concession.Sub(t.mv, proceeds)
		}
		if steps.on {
			steps.add("  晚于转股满 %d 年之日，须评估：评估值 %s 元高于回购价，按评估值收回 %s 元（国有资产不低于评估值向团队转让），让利 %s 元。",
				e.appraisalYears, fixed(t.av, 2, halfUp), fixed(proceeds, 2, halfUp), fixed(concession, 2, halfUp))
		}
	case t.appraise && t.buyer == BuyerThirdParty && steps.on:
		steps.add("  晚于转股满 %d 年之日，须评估：评估值 %s 元已记录；第三方按成交价受让，回收金额不变。", e.appraisalYears, fixed(t.av, 2, halfUp))
	case t.appraise && steps.on:
		steps.add("  晚于转股满 %d 年之日，须评估：评估值 %s 元不高于回收金额，回收金额不变。", e.appraisalYears, fixed(t.av, 2, halfUp))
	case t.av != nil && steps.on:
		steps.add("  评估值 %s 元已记录；政策未要求本笔评估，不影响回收金额。", fixed(t.av, 2, halfUp))
	}
	return proceeds
}

func accrualName(a string) string {
	if a == AccrualConversion {
		return "转股日起"
	}
	return "各笔拨付日起"
}

// belowCapName is the below-cap rule as the steps say it.
func belowCapName(r string) string {
	if r == BelowCapCap {
		return "仍按上限金额收回（如约定回购）"
	}
	return "按市场价值收回（容亏）"
}

func allocationName(a string) string {
	if a == AllocationProRata {
		return "按拨付金额比例分摊"
	}
	return "先拨付先分摊"
}
