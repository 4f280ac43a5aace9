package conversion

import (
	"fmt"
	"math/big"
	"sort"
	"time"
)

// This file holds the parts of an exit policy that decide a tranche's rate
// and price beyond a fixed return (DOMAIN §10): the return basis (a fixed
// rate or a reference series plus a spread), tiers by holding time with the
// anniversary rule, and the appraisal required after N years.

// rateEntry is a validated ReferenceRate.
type rateEntry struct {
	date string
	day  int64
	rate *big.Rat
}

// tierRule is a validated Tier with its anniversary as a day number.
type tierRule struct {
	years int
	anniv int64
	rate  *big.Rat
}

// rates is the validated rate part of a policy.
type rates struct {
	basis  string   // ReturnBasisFixed or ReturnBasisReference
	fixed  *big.Rat // the return rate, with the fixed basis
	refs   []rateEntry
	spread *big.Rat
	tiers  []tierRule

	appraisalYears int   // 0 when the policy requires no appraisal
	appraisalAfter int64 // anniversary(appraisalYears): a tranche dated after it needs one

	// extended is set when the request used any field beyond a fixed
	// return_rate; only then does the result carry rate, rate_basis, buyer and
	// appraised_value (see TrancheResult.MarshalJSON).
	extended bool
}

// usesPolicyFields reports whether a request uses any field added to the
// exit contract for reference rates, tiers, appraisals or buyers.
func usesPolicyFields(req ExitRequest) bool {
	p := req.Policy
	if p.ReturnBasis != "" || len(p.ReferenceRates) > 0 || p.Spread != "" || len(p.Tiers) > 0 || p.AppraisalAfterYears != nil {
		return true
	}
	for _, t := range req.Tranches {
		if t.Buyer != "" || t.AppraisedValue != "" {
			return true
		}
	}
	return false
}

// parseRates validates the return basis, its rate or series, the tiers and
// the appraisal rule. convDay is the conversion date, from which the
// anniversaries count.
func parseRates(p Policy, convDay int64) (rates, error) {
	var r rates
	var err error
	switch p.ReturnBasis {
	case "", ReturnBasisFixed:
		r.basis = ReturnBasisFixed
		if r.fixed, err = parseUnitRange(p.ReturnRate, "policy.return_rate", "年收益率（适当收益）", true, true, "，例如 \"0.03\" 表示年化 3%"); err != nil {
			return r, err
		}
	case ReturnBasisReference:
		r.basis = ReturnBasisReference
		if r.refs, err = parseReferenceRates(p.ReferenceRates); err != nil {
			return r, err
		}
		r.spread = new(big.Rat)
		if p.Spread != "" {
			if r.spread, err = parseNum(p.Spread, "policy.spread", "参考利率加点（spread）", placesRatio); err != nil {
				return r, err
			}
		}
	default:
		return r, fieldErr("policy.return_basis", "收益基准 return_basis 只能是 \"fixed\"（固定年收益率 return_rate）或 \"reference\"（退出日生效的参考利率加点，如一年期 LPR + 0.5%%）。")
	}
	prev := 0
	for i, t := range p.Tiers {
		f := fmt.Sprintf("policy.tiers[%d]", i)
		n := i + 1
		if t.WithinYears < 1 {
			return r, fieldErr(f+".within_years", "第 %d 档的持有年限 within_years 须为不小于 1 的整数（年）。", n)
		}
		if t.WithinYears <= prev {
			return r, fieldErr(f+".within_years", "第 %d 档的持有年限 %d 年不大于上一档的 %d 年：各档须按持有年限从小到大填写，且不能重复。", n, t.WithinYears, prev)
		}
		prev = t.WithinYears
		rate, err := parseNonNegative(t.ReturnRate, f+".return_rate", fmt.Sprintf("第 %d 档的年收益率", n), placesRatio)
		if err != nil {
			return r, err
		}
		r.tiers = append(r.tiers, tierRule{years: t.WithinYears, anniv: anniversary(convDay, t.WithinYears), rate: rate})
	}
	if p.AppraisalAfterYears != nil {
		n := *p.AppraisalAfterYears
		if n < 1 {
			return r, fieldErr("policy.appraisal_after_years", "需要评估的持有年限 appraisal_after_years 须为不小于 1 的整数（年）。")
		}
		r.appraisalYears = n
		r.appraisalAfter = anniversary(convDay, n)
	}
	return r, nil
}

func parseReferenceRates(rs []ReferenceRate) ([]rateEntry, error) {
	if len(rs) == 0 {
		return nil, fieldErr("policy.reference_rates", "收益基准为 reference 时须填写参考利率序列 reference_rates（各条的生效日 from 和年利率 rate）。")
	}
	out := make([]rateEntry, len(rs))
	for i, x := range rs {
		f := fmt.Sprintf("policy.reference_rates[%d]", i)
		n := i + 1
		day, err := parseDate(x.From, f+".from", fmt.Sprintf("第 %d 条参考利率的生效日", n))
		if err != nil {
			return nil, err
		}
		if i > 0 && day <= out[i-1].day {
			return nil, fieldErr(f+".from", "第 %d 条参考利率的生效日 %s 不晚于上一条的 %s：请按生效日从早到晚填写，且不能重复。", n, x.From, out[i-1].date)
		}
		rate, err := parseNonNegative(x.Rate, f+".rate", fmt.Sprintf("第 %d 条参考利率", n), placesRatio)
		if err != nil {
			return nil, err
		}
		out[i] = rateEntry{date: x.From, day: day, rate: rate}
	}
	return out, nil
}

// anniversary returns the day number of the conversion date plus n calendar
// years; 29 February becomes 28 February in a year without it. n is clamped
// to the span of accepted dates, beyond which every anniversary is later
// than any tranche.
func anniversary(convDay int64, n int) int64 {
	n = min(n, maxYear-minYear+1)
	t := time.Unix(convDay*86400, 0).UTC()
	y, m, d := t.Year()+n, t.Month(), t.Day()
	if m == time.February && d == 29 && !isLeap(y) {
		d = 28
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func dayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// appliedRate is the rate of one tranche and where it came from.
type appliedRate struct {
	rate  *big.Rat
	basis string     // one of the RateBasis constants
	tier  *tierRule  // with RateBasisTier
	entry *rateEntry // with RateBasisReference
}

// rateFor picks the rate of the n-th tranche, dated day: the first tier
// whose anniversary is on or after the date, else the fixed rate, else the
// last reference entry in force plus the spread. Both searches are binary:
// tiers' anniversaries and the series' dates are strictly increasing.
func (r *rates) rateFor(day int64, n int) (appliedRate, error) {
	if k := sort.Search(len(r.tiers), func(k int) bool { return day <= r.tiers[k].anniv }); k < len(r.tiers) {
		return appliedRate{rate: r.tiers[k].rate, basis: RateBasisTier, tier: &r.tiers[k]}, nil
	}
	if r.basis == ReturnBasisFixed {
		return appliedRate{rate: r.fixed, basis: RateBasisFixed}, nil
	}
	k := sort.Search(len(r.refs), func(k int) bool { return r.refs[k].day > day }) - 1
	if k < 0 {
		return appliedRate{}, fieldErr("policy.reference_rates", "第 %d 笔退出的日期 %s 早于参考利率序列的第一个生效日 %s：当日没有生效的参考利率，请补充更早的利率。", n, dayString(day), r.refs[0].date)
	}
	rate := add(r.refs[k].rate, r.spread)
	if rate.Sign() < 0 {
		return appliedRate{}, fieldErr("policy.spread", "第 %d 笔退出（%s）适用的参考利率 %s 加点 %s 为负数：适用的年利率不能小于 0，请检查加点 spread。", n, dayString(day), ratStr(r.refs[k].rate), ratStr(r.spread))
	}
	return appliedRate{rate: rate, basis: RateBasisReference, entry: &r.refs[k]}, nil
}

// describe explains a tranche's rate in a step (Simplified Chinese).
func (a appliedRate) describe(r *rates) string {
	switch a.basis {
	case RateBasisTier:
		return fmt.Sprintf("持有不超过 %d 年（%s 及以前），按该档年收益率 %s（%s）计息（分档）", a.tier.years, dayString(a.tier.anniv), ratStr(a.rate), percent(a.rate))
	case RateBasisReference:
		return fmt.Sprintf("按 %s 起生效的参考利率 %s 加点 %s，年利率 %s（%s）（参考利率）", a.entry.date, percent(a.entry.rate), percent(r.spread), ratStr(a.rate), percent(a.rate))
	}
	return fmt.Sprintf("按固定年收益率 %s（%s）计息（固定）", ratStr(a.rate), percent(a.rate))
}

// basisName names the return basis in the first step; for a fixed rate the
// words are those of the steps before issue 17.
func (r *rates) basisName() string {
	if r.basis == ReturnBasisReference {
		return fmt.Sprintf("年收益率按退出日生效的参考利率（序列 %d 条）加点 %s（%s）", len(r.refs), ratStr(r.spread), percent(r.spread))
	}
	return fmt.Sprintf("年收益率 %s（%s）", ratStr(r.fixed), percent(r.fixed))
}

// explain adds the tiers and the appraisal rule to the steps.
func (r *rates) explain(steps *stepList) {
	for _, t := range r.tiers {
		steps.add("分档：持有不超过 %d 年（%s 及以前）的退出按年收益率 %s（%s）计息。", t.years, dayString(t.anniv), ratStr(t.rate), percent(t.rate))
	}
	if r.appraisalYears > 0 {
		steps.add("评估：转股满 %d 年之日（%s）以后的退出须有评估值；团队回购价不低于评估值。", r.appraisalYears, dayString(r.appraisalAfter))
	}
}
