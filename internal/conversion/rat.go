package conversion

import (
	"math/big"
	"strings"
	"time"
)

// This file holds the exact-arithmetic plumbing: strict parsing of decimal
// strings into big.Rat, the two rounding modes the spec uses, and dates as day
// numbers. Everything else in the package computes on big.Rat and rounds only
// through these functions.

const (
	maxIntDigits = 15 // every number is below 10^15 (a thousand trillion yuan or units)
	maxNumLen    = 40 // longest accepted number string; bounds parsing work

	placesMoney = 2
	placesPrice = 6
	placesStake = 8
	placesMOIC  = 6
	placesXIRR  = 8
	placesRatio = 12 // rates, discounts, stakes and fractions in a request
	placesInPx  = 10 // prices in a request
)

// roundMode is how a rational becomes a decimal. Only two are needed.
type roundMode int

const (
	halfUp roundMode = iota // 四舍五入: ties away from zero; money, prices, stakes, MOIC, XIRR
	down                    // toward zero; units (always positive, so this is floor)
)

var pow10Cache = func() []*big.Int {
	p := make([]*big.Int, 40)
	p[0] = big.NewInt(1)
	for i := 1; i < len(p); i++ {
		p[i] = new(big.Int).Mul(p[i-1], big.NewInt(10))
	}
	return p
}()

// pow10 returns 10^n for 0 ≤ n < 40; the result must not be modified.
func pow10(n int) *big.Int {
	if n < 0 {
		n = 0
	}
	if n >= len(pow10Cache) {
		n = len(pow10Cache) - 1
	}
	return pow10Cache[n]
}

// scaledInt returns r × 10^places rounded to an integer with mode.
func scaledInt(r *big.Rat, places int, mode roundMode) *big.Int {
	num := new(big.Int).Mul(r.Num(), pow10(places))
	den := r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int)) // truncated toward zero
	if mode == halfUp && m.Sign() != 0 {
		m.Abs(m)
		m.Lsh(m, 1)
		if m.Cmp(den) >= 0 {
			if num.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	return q
}

// roundRat rounds r to places decimals and returns the rounded value exactly.
func roundRat(r *big.Rat, places int, mode roundMode) *big.Rat {
	return new(big.Rat).SetFrac(scaledInt(r, places, mode), pow10(places))
}

// fixed prints r with exactly places decimals after rounding with mode.
func fixed(r *big.Rat, places int, mode roundMode) string {
	return formatScaled(scaledInt(r, places, mode), places)
}

// formatScaled prints the integer q as a decimal with places digits after the
// point: formatScaled(-5, 2) == "-0.05".
func formatScaled(q *big.Int, places int) string {
	s := new(big.Int).Abs(q).String()
	neg := q.Sign() < 0
	if places > 0 {
		if len(s) <= places {
			s = strings.Repeat("0", places-len(s)+1) + s
		}
		s = s[:len(s)-places] + "." + s[len(s)-places:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fixedPtr is fixed returning a pointer, for the nullable result fields.
func fixedPtr(r *big.Rat, places int, mode roundMode) *string {
	s := fixed(r, places, mode)
	return &s
}

// Small rational helpers. They allocate a fresh result so callers never alias.
func add(a, b *big.Rat) *big.Rat { return new(big.Rat).Add(a, b) }
func sub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }
func mul(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }

// quo divides; callers guarantee b ≠ 0 (every divisor is validated positive).
func quo(a, b *big.Rat) *big.Rat { return new(big.Rat).Quo(a, b) }
func ratInt(n int64) *big.Rat    { return new(big.Rat).SetInt64(n) }

var (
	ratZero = new(big.Rat)
	ratOne  = big.NewRat(1, 1)
	rat365  = big.NewRat(365, 1)
)

// syntaxOK reports whether s is a plain decimal: an optional minus sign,
// digits, and optionally a point followed by digits. No plus sign, exponent,
// spaces, thousands separators or full-width digits: a calculator that
// guesses what "1,500" meant is a calculator that can be wrong about money.
func syntaxOK(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	i++
	start = i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i > start && i == len(s)
}

// parseNum parses a decimal string exactly. places is the most decimals
// allowed (trailing zeros do not count: "1.500" is a valid amount). The error
// messages name the input by label so the user knows which box to fix.
func parseNum(s, field, label string, places int) (*big.Rat, error) {
	if s == "" {
		return nil, fieldErr(field, "请填写%s。", label)
	}
	if len(s) > maxNumLen || !syntaxOK(s) {
		return nil, fieldErr(field, "%s格式不正确：请填写不带逗号、空格或科学计数法的十进制数字，例如 \"1500000.00\"。", label)
	}
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > places {
		if places == 0 {
			return nil, fieldErr(field, "%s必须是整数，不能有小数。", label)
		}
		return nil, fieldErr(field, "%s最多保留 %d 位小数。", label, places)
	}
	if len(strings.TrimLeft(intPart, "0")) > maxIntDigits {
		return nil, fieldErr(field, "%s数值过大，不能超过 15 位整数。", label)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok { // unreachable after syntaxOK, kept so a parser change cannot panic later
		return nil, fieldErr(field, "%s格式不正确。", label)
	}
	return r, nil
}

// parsePositive parses a number that must be greater than zero.
func parsePositive(s, field, label string, places int) (*big.Rat, error) {
	r, err := parseNum(s, field, label, places)
	if err != nil {
		return nil, err
	}
	if r.Sign() <= 0 {
		return nil, fieldErr(field, "%s必须大于 0。", label)
	}
	return r, nil
}

// parseNonNegative parses a number that must not be negative.
func parseNonNegative(s, field, label string, places int) (*big.Rat, error) {
	r, err := parseNum(s, field, label, places)
	if err != nil {
		return nil, err
	}
	if r.Sign() < 0 {
		return nil, fieldErr(field, "%s不能为负数。", label)
	}
	return r, nil
}

// parseUnitRange parses a fraction that must lie in [0,1), (0,1), [0,1] or
// (0,1]; hint completes the message with an example.
func parseUnitRange(s, field, label string, zeroOK, oneOK bool, hint string) (*big.Rat, error) {
	r, err := parseNum(s, field, label, placesRatio)
	if err != nil {
		return nil, err
	}
	lowOK := r.Sign() > 0 || (zeroOK && r.Sign() == 0)
	c := r.Cmp(ratOne)
	highOK := c < 0 || (oneOK && c == 0)
	if !lowOK || !highOK {
		lo, hi := "大于 0", "小于 1"
		if zeroOK {
			lo = "不小于 0"
		}
		if oneOK {
			hi = "不大于 1"
		}
		return nil, fieldErr(field, "%s必须%s 且%s%s。", label, lo, hi, hint)
	}
	return r, nil
}

// Dates are handled as day numbers (days since 1970-01-01, UTC), so that
// ACT/365 day counts are plain subtraction.
const (
	minYear = 1900
	maxYear = 2199
)

func parseDate(s, field, label string) (int64, error) {
	if s == "" {
		return 0, fieldErr(field, "请填写%s。", label)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return 0, fieldErr(field, "%s格式不正确：请按 YYYY-MM-DD 填写一个真实存在的日期，例如 \"2026-01-15\"。", label)
	}
	if t.Year() < minYear || t.Year() > maxYear {
		return 0, fieldErr(field, "%s须在 %d 年至 %d 年之间。", label, minYear, maxYear)
	}
	return t.Unix() / 86400, nil
}

// parseScale validates unit_scale. Registered capital is recorded to the fen,
// so more than 2 decimals would make "units at par" an amount that cannot be
// booked; 0, 1 and 2 are the only sensible scales.
func parseScale(p *int, def int) (int, error) {
	if p == nil {
		return def, nil
	}
	if *p < 0 || *p > 2 {
		return 0, fieldErr("unit_scale", "单位小数位数 unit_scale 只能是 0、1 或 2（注册资本默认 2，股份默认 0）。")
	}
	return *p, nil
}
