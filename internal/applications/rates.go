package applications

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
	"ite/internal/day"
)

// RateSeries is a published reference-rate series (DOMAIN §17), e.g. LPR1Y
// 一年期LPR. A programme's exit policy names one by its code.
type RateSeries struct {
	Code    string
	Name    string
	Entries []RateEntry // in force, oldest first
}

// RateEntry is one row of a series. Entries are append-only: a correction
// is a new row naming the one it corrects (Corrects) with a reason; a
// correction without a rate (Withdrawn) takes the entry out of the series.
type RateEntry struct {
	ID            int64
	Series        string
	EffectiveDate time.Time
	Rate          decimal.Decimal // annual, 0.03 = 3%
	Withdrawn     bool
	Source        string
	Corrects      int64 // 0 for a first entry
	Reason        string
	CreatedBy     string
	CreatedAt     time.Time
}

// RateEntryInput is the admin's form: the rate typed as a percentage.
type RateEntryInput struct {
	Series        string
	EffectiveDate string // YYYY-MM-DD
	RatePercent   string // "3.00" for 3%; empty with Withdraw
	Source        string
	Corrects      int64 // the entry being corrected, 0 for a new date
	Reason        string
	Withdraw      bool
}

// ParseRateEntry checks the admin's input and returns the entry to store.
// Errors: Invalid with the field (effective_date, rate, source, reason).
func ParseRateEntry(in RateEntryInput, today time.Time) (RateEntry, error) {
	e := RateEntry{Series: in.Series, Source: strings.TrimSpace(in.Source), Corrects: in.Corrects,
		Reason: strings.TrimSpace(in.Reason), Withdrawn: in.Withdraw}
	d, err := day.Parse(in.EffectiveDate)
	if err != nil {
		return e, FieldError("effective_date", "请填写生效日期（年-月-日）。")
	}
	if d.After(today) {
		return e, FieldError("effective_date", "生效日期不能晚于今天：只登记已公布的利率。")
	}
	e.EffectiveDate = d
	if !in.Withdraw {
		s := strings.TrimSuffix(strings.TrimSpace(in.RatePercent), "%")
		p, err := decimal.NewFromString(s)
		switch {
		case s == "" || err != nil:
			return e, FieldError("rate", "请填写年利率（百分数，如 3.00 表示 3.00%）。")
		case p.IsNegative() || p.GreaterThanOrEqual(decimal.NewFromInt(100)):
			return e, FieldError("rate", "年利率须在 0 到 100 之间（百分数）。")
		case p.Exponent() < -4:
			return e, FieldError("rate", "年利率最多四位小数（百分数，如 3.1025）。")
		}
		e.Rate = p.Shift(-2)
	}
	if e.Source == "" {
		return e, FieldError("source", "请填写来源（如全国银行间同业拆借中心公告及日期）。")
	}
	if in.Corrects != 0 && e.Reason == "" {
		return e, FieldError("reason", "更正或撤销已登记的利率须说明原因。")
	}
	if in.Withdraw && in.Corrects == 0 {
		return e, FieldError("reason", "只能撤销已登记的条目。")
	}
	return e, nil
}

// ReferenceRates are the series' entries in force on or before upTo, as
// the calculator request carries them.
func (s RateSeries) ReferenceRates(upTo time.Time) []conversion.ReferenceRate {
	var out []conversion.ReferenceRate
	for _, e := range s.Entries {
		if e.Withdrawn || e.EffectiveDate.After(upTo) {
			continue
		}
		out = append(out, conversion.ReferenceRate{From: e.EffectiveDate.Format(time.DateOnly), Rate: e.Rate.StringFixed(6)})
	}
	return out
}

// ExitPolicy is the agreed exit policy: the calculator's policy plus the
// reference series it names (DOMAIN §17). The terms store the code only;
// the server fills ReferenceRates from the rate table when it prepares or
// previews an exit, and the stored request is the record from then on.
type ExitPolicy struct {
	conversion.Policy
	ReferenceSeries string `json:"reference_series,omitempty"` // a rate_series code, with return_basis reference
}

// Percent writes a fraction as a percentage with at least two decimals:
// 0.03 → "3.00%", 0.0335 → "3.35%", 0.03125 → "3.125%".
func Percent(d decimal.Decimal) string {
	p := d.Shift(2)
	if p.Equal(p.Round(2)) {
		return p.StringFixed(2) + "%"
	}
	return p.String() + "%"
}

// RateSource says where a tranche's rate came from, e.g. "一年期LPR
// 2025年5月20日 3.00% + 0.50%", "阶梯利率（持股满 2 年内）0.00%" or "固定利率
// 3.00%"; "" for a result without a rate basis (an old-style request).
func RateSource(req conversion.ExitRequest, t conversion.TrancheResult, seriesName string) string {
	switch t.RateBasis {
	case conversion.RateBasisTier:
		if tier, ok := tierOf(req, t.Date); ok {
			return "阶梯利率（持股满 " + strconv.Itoa(tier.WithinYears) + " 年内）" + pctString(tier.ReturnRate)
		}
	case conversion.RateBasisFixed:
		return "固定利率 " + pctString(req.Policy.ReturnRate)
	case conversion.RateBasisReference:
		e, ok := entryOf(req, t.Date)
		if !ok {
			return ""
		}
		if seriesName == "" {
			seriesName = "参考利率"
		}
		s := seriesName + " " + dateChinese(e.From) + " " + pctString(e.Rate)
		if sp := spreadOf(req); !sp.IsZero() {
			if sp.IsNegative() {
				s += " − " + Percent(sp.Neg())
			} else {
				s += " + " + Percent(sp)
			}
		}
		return s
	}
	return ""
}

// RateBasisLabel is the Chinese name of a rate basis.
func RateBasisLabel(b string) string {
	return map[string]string{conversion.RateBasisTier: "阶梯", conversion.RateBasisFixed: "固定",
		conversion.RateBasisReference: "参考利率"}[b]
}

// ExplainTranche says in words how a tranche's price came about (DOMAIN §10),
// one phrase per rule that applied: "持股满 2 年内按本金回购", "按 2025年5月20日
// 一年期 LPR 3.00% 加 0.50% 计息", "评估值高于回购价，按评估值", "第三方通过产权交易所
// 挂牌受让，按成交价". seriesName names the policy's reference series.
func ExplainTranche(req conversion.ExitRequest, t conversion.TrancheResult, seriesName string) []string {
	var out []string
	switch t.RateBasis {
	case conversion.RateBasisTier:
		if tier, ok := tierOf(req, t.Date); ok {
			r, _ := decimal.NewFromString(tier.ReturnRate)
			if r.IsZero() {
				out = append(out, "持股满 "+strconv.Itoa(tier.WithinYears)+" 年内按本金回购")
			} else {
				out = append(out, "持股满 "+strconv.Itoa(tier.WithinYears)+" 年内按年利率 "+Percent(r)+" 计息")
			}
		}
	case conversion.RateBasisFixed, "":
		out = append(out, "按年利率 "+pctString(req.Policy.ReturnRate)+" 计息")
	case conversion.RateBasisReference:
		if e, ok := entryOf(req, t.Date); ok {
			if seriesName == "" {
				seriesName = "参考利率"
			}
			s := "按 " + dateChinese(e.From) + " " + spaced(seriesName) + " " + pctString(e.Rate)
			if sp := spreadOf(req); sp.IsPositive() {
				s += " 加 " + Percent(sp)
			} else if sp.IsNegative() {
				s += " 减 " + Percent(sp.Neg())
			}
			out = append(out, s+" 计息")
		}
	}
	capAmt := decimal.RequireFromString(t.CapAmount)
	proceeds := decimal.RequireFromString(t.Proceeds)
	var mv *decimal.Decimal
	if t.MarketValue != nil {
		d := decimal.RequireFromString(*t.MarketValue)
		mv = &d
	}
	if t.Buyer == conversion.BuyerThirdParty {
		return append(out, "第三方通过产权交易所挂牌受让，按成交价")
	}
	if t.AppraisedValue != nil {
		av := decimal.RequireFromString(*t.AppraisedValue)
		if proceeds.Equal(av) && av.GreaterThan(capAmt) && (mv == nil || av.GreaterThan(*mv)) {
			return append(out, "评估值高于回购价，按评估值")
		}
	}
	switch {
	case mv != nil && mv.LessThan(capAmt) && proceeds.Equal(*mv):
		out = append(out, "市场价值低于回购价，按市场价值（容亏）")
	case mv != nil && mv.LessThan(capAmt):
		out = append(out, "市场价值低于回购价，仍按回购价")
	case mv != nil && mv.GreaterThan(proceeds):
		out = append(out, "市场价值高于回购价，差额让利")
	}
	return out
}

func tierOf(req conversion.ExitRequest, date string) (conversion.Tier, bool) {
	d, err := day.Parse(date)
	c, cerr := day.Parse(req.ConversionDate)
	if err != nil || cerr != nil {
		return conversion.Tier{}, false
	}
	for _, t := range req.Policy.Tiers {
		if !d.After(day.AddYears(c, t.WithinYears)) {
			return t, true
		}
	}
	return conversion.Tier{}, false
}

func entryOf(req conversion.ExitRequest, date string) (conversion.ReferenceRate, bool) {
	var found conversion.ReferenceRate
	ok := false
	for _, e := range req.Policy.ReferenceRates {
		if e.From <= date { // YYYY-MM-DD compares as text
			found, ok = e, true
		}
	}
	return found, ok
}

func spreadOf(req conversion.ExitRequest) decimal.Decimal {
	d, err := decimal.NewFromString(req.Policy.Spread)
	if err != nil {
		return decimal.Zero
	}
	return d
}

func pctString(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return Percent(d)
}

func dateChinese(s string) string {
	d, err := day.Parse(s)
	if err != nil {
		return s
	}
	return day.Chinese(d)
}

// spaced puts a space between Han characters and Latin letters or digits,
// as running Chinese text writes "一年期 LPR".
func spaced(s string) string {
	var b strings.Builder
	var prev rune
	for i, r := range s {
		if i > 0 && (unicode.Is(unicode.Han, prev) && r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) ||
			unicode.Is(unicode.Han, r) && prev < unicode.MaxASCII && (unicode.IsLetter(prev) || unicode.IsDigit(prev))) {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}
