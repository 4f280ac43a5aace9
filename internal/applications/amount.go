package applications

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// AmountMessage is what a refused amount says: the spellings accepted.
const AmountMessage = "请输入金额，例如 3,000,000.00 或 300万"

// amountPattern is an amount once full-width characters are folded and the
// 元/万 suffixes taken off: digits, optionally grouped by commas in threes
// ("3,000,000"), and an optional fraction. No sign, no exponent.
var amountPattern = regexp.MustCompile(`^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$`)

// amountFold maps what a Chinese input method types to ASCII: full-width
// digits, comma, point and space.
var amountFold = strings.NewReplacer(
	"０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
	"５", "5", "６", "6", "７", "7", "８", "8", "９", "9",
	"，", ",", "．", ".", "\u3000", " ", "￥", "", "¥", "",
)

// maxAmount bounds amounts (10^15 yuan, as conversion.ParseMoney does).
var maxAmount = decimal.New(1, 15)

// ParseAmount reads an amount of yuan as finance staff type it:
// "3000000", "3,000,000", "3,000,000.00", "300万", "300.5万元", "3000000元",
// full-width digits and comma ("３，０００，０００"). The result is exact,
// not negative, below 10^15 and has at most 2 decimals (300.12345万 is
// refused: it is not a whole fen). Errors: Invalid with AmountMessage and
// an empty Field (use AmountField to name the input); a fraction of a fen
// says so first.
func ParseAmount(s string) (decimal.Decimal, error) {
	bad := &Error{Kind: Invalid, Message: AmountMessage}
	s = strings.TrimSpace(amountFold.Replace(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "元"))
	shift := int32(0)
	if t, ok := strings.CutSuffix(s, "万"); ok {
		s, shift = strings.TrimSpace(t), 4
	}
	if len(s) > 40 || !amountPattern.MatchString(s) {
		return decimal.Zero, bad
	}
	d, err := decimal.NewFromString(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		return decimal.Zero, bad
	}
	d = d.Shift(shift)
	if d.Exponent() < -2 && !d.Equal(d.Truncate(2)) {
		return decimal.Zero, &Error{Kind: Invalid, Message: "金额最多两位小数（精确到分）；" + AmountMessage}
	}
	if d.Cmp(maxAmount) >= 0 {
		return decimal.Zero, bad
	}
	return d.Truncate(2), nil
}

// AmountField is ParseAmount with the error tied to the named input.
func AmountField(field, s string) (decimal.Decimal, error) {
	d, err := ParseAmount(s)
	if err != nil {
		return d, FieldError(field, ErrorMessage(err))
	}
	return d, nil
}

// FormatAmount shows an amount the way ParseAmount reads it back, rounded
// half-up to the fen and grouped: 3000000 → "3,000,000.00", −1234.5 →
// "-1,234.50". web/format's Yuan and WanYuan print through it.
func FormatAmount(d decimal.Decimal) string {
	s := d.StringFixed(2) // rounds half away from zero to the fen
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac := s[:len(s)-3], s[len(s)-3:] // frac is ".xx"
	// One allocation for the result: a queue page formats fifty amounts.
	out := make([]byte, 0, len(s)+len(intPart)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, intPart[i])
	}
	return string(append(out, frac...))
}

// NormalAmount is the typed amount s shown back normalised
// ("300万" → "3,000,000.00"), or s itself when it is not an amount, so a
// refused form shows what was typed.
func NormalAmount(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	d, err := ParseAmount(s)
	if err != nil {
		return s
	}
	return FormatAmount(d)
}

// ParsePercent reads a rate or a stake typed as a percentage ("2.912621%",
// "2.912621", full-width ％ too) and returns the exact fraction
// (0.02912621): the decimal point is shifted, nothing is divided. Errors:
// Invalid with a Chinese message and an empty Field.
func ParsePercent(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(amountFold.Replace(s))
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "%"), "％"))
	if len(s) > 40 || !percentPattern.MatchString(s) {
		return decimal.Zero, &Error{Kind: Invalid, Message: "请输入百分比，例如 2.912621%"}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, &Error{Kind: Invalid, Message: "请输入百分比，例如 2.912621%"}
	}
	return d.Shift(-2), nil
}

var percentPattern = regexp.MustCompile(`^-?[0-9]{1,6}(?:\.[0-9]{1,12})?$`)

// FormatPercent shows a fraction string ("0.02912621") as the percentage
// typed into a form ("2.912621"), exact; "" stays "".
func FormatPercent(fraction string) string {
	if fraction == "" {
		return ""
	}
	d, err := decimal.NewFromString(fraction)
	if err != nil {
		return fraction
	}
	return d.Shift(2).String()
}
