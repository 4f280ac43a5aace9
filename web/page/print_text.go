package page

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"ite/internal/day"
	"ite/web/format"
)

// Helpers of the printed documents: numbers one way (thousands separators,
// the decimals they were computed with), price bases in Chinese, the
// engine's explanation steps without its English keys.

// num groups the integer part of a decimal string with thousands
// separators and keeps its decimals: "1296875.00" → "1,296,875.00".
func num(s string) string {
	if _, err := decimal.NewFromString(s); err != nil {
		return s
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// yuanOf is an amount string of the calculator as people read it:
// "182287.67" → "182,287.67 元".
func yuanOf(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return format.Yuan(d)
}

// rateOf is a rate or return of the calculator, a fraction, as a
// percentage: "0.035000" → "3.50%", XIRR "0.06025647" → "6.025647%".
func rateOf(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return format.Stake(d)
}

// yuanText is an amount string in figures and 大写: "3,000,000.00 元（叁佰万元整）".
func yuanText(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return format.Yuan(d) + "（" + format.Uppercase(d) + "）"
}

// basisNames are the price bases as documents name them.
var basisNames = map[string]string{"round": "融资轮价格", "appraisal": "评估价", "discount": "折扣价", "cap": "估值上限",
	"floor": "底价", "fixed_price": "固定价格", "fixed_stake": "固定比例", "stake_ceiling": "持股上限", "par": "面值"}

// BasisName is a price basis in Chinese, for the server's check rows.
func BasisName(b string) string { return basisName(b) }

// basisName is a price basis in Chinese (never the engine's key).
func basisName(b string) string {
	if n, ok := basisNames[b]; ok {
		return n
	}
	return "其他"
}

// engineKeys are the engine's English words in its steps ("折扣价格
// discount", "依据 tier"), with the Chinese that replaces them.
var engineKeys = strings.NewReplacer(
	"融资轮价格 round", "融资轮价格", "评估价格 appraisal", "评估价", "折扣价格 discount", "折扣价", "估值上限 cap", "估值上限",
	"最低价格 floor", "底价", "约定价格 fixed_price", "固定价格", "约定持股比例 fixed_stake", "固定比例",
	"持股比例上限 stake_ceiling", "持股上限", "面值 par", "面值",
	"，依据 tier", "（分档）", "，依据 reference", "（参考利率）", "，依据 fixed", "（固定）",
	// and the exit steps' words before issue 14 translated them
	"市场价值低于上限金额时按 market 规则", "市场价值低于上限金额时按市场价值收回（容亏）",
	"市场价值低于上限金额时按 cap 规则", "市场价值低于上限金额时仍按上限金额收回（如约定回购）",
	"按 market 规则", "按“市场价值”规则", "按 cap 规则", "按“上限金额”规则",
	"拨付金额比例（pro_rata）", "按拨付金额比例分摊", "先拨付先分摊（fifo）", "先拨付先分摊", "ACT/365", "按实际天数 ÷ 365 计")

// stepText is a stored explanation step as the pages show it: records
// calculated before the engine spoke only Chinese keep their English keys
// in storage, never on screen.
func stepText(s string) string { return engineKeys.Replace(s) }

var bigNumber = regexp.MustCompile(`\d+(?:\.\d+)?`)

// printStep is one explanation step for paper: Chinese names only and
// every number of four or more integer digits grouped (dates left alone).
func printStep(s string) string {
	s = engineKeys.Replace(s)
	locs := bigNumber.FindAllStringIndex(s, -1)
	var b strings.Builder
	last := 0
	for _, l := range locs {
		tok := s[l[0]:l[1]]
		intLen := strings.IndexByte(tok, '.')
		if intLen < 0 {
			intLen = len(tok)
		}
		date := (l[0] > 0 && s[l[0]-1] == '-') || (l[1] < len(s) && (s[l[1]] == '-' || strings.HasPrefix(s[l[1]:], "年")))
		if intLen < 4 || date {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(num(tok))
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// verificationCode is the short form of a digest people can read out:
// its first 16 hex digits in groups of four, upper case.
func verificationCode(digest string) string {
	d := strings.ToUpper(digest)
	if len(d) > 16 {
		d = d[:16]
	}
	var parts []string
	for len(d) > 4 {
		parts, d = append(parts, d[:4]), d[4:]
	}
	return strings.Join(append(parts, d), "-")
}

// chineseDate writes an ISO date string as 2026年3月31日 (as typed when it
// does not parse).
func chineseDate(s string) string {
	t, err := day.Parse(s)
	if err != nil {
		return s
	}
	return day.Chinese(t)
}
