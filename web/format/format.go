// Package format turns amounts, dates and stakes into the text users read.
// Templates call these helpers instead of formatting inline so every page
// shows money the same way (元 with thousands separators, 万元, and the
// Chinese uppercase 大写 used on agreements and vouchers) and every time in
// China's zone whatever the server's TZ is.
//
// Rounding is half-up in magnitude (四舍五入: 2.675 → 2.68, −2.675 → −2.68),
// done once on the exact decimal, never via float64.
package format

import (
	"ite/internal/applications"
	"ite/internal/day"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Yuan formats an amount in yuan, rounded half-up to 0.01, with thousands
// separators: 8000000 → "8,000,000.00 元", −1234.5 → "-1,234.50 元".
func Yuan(d decimal.Decimal) string {
	return applications.FormatAmount(d) + " 元"
}

// WanYuan formats an amount in 万元 (units of 10,000 yuan), as the bureau's
// documents and summaries do: 8000000 → "800.00 万元". The conversion is
// exact: the decimal point is shifted four places (no division, so no
// precision setting is involved), then the result is rounded once, half-up,
// to 2 decimals: 12345 → "1.23 万元", 12350 → "1.24 万元" (1.235 rounds up).
// Because of that rounding, use Yuan wherever the exact amount matters.
func WanYuan(d decimal.Decimal) string {
	return applications.FormatAmount(d.Shift(-4)) + " 万元"
}

// upperDigits are the uppercase numerals, indexed by digit value.
var upperDigits = [10]string{"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"}

// upperDigit returns the uppercase numeral for an ASCII digit.
func upperDigit(c byte) string { return upperDigits[c-'0'] }

// Uppercase writes an amount in Chinese uppercase (大写) as required on
// agreements, disbursement vouchers and bank forms, following the rules of
// 《支付结算办法》 (附件《正确填写票据和结算凭证的基本规定》):
//
//   - the amount is first rounded half-up to 0.01 yuan;
//   - numerals 壹贰叁肆伍陆柒捌玖, units 拾佰仟 within a four-digit section and
//     万, 亿 between sections (亿 nests, so 10^12 is 壹万亿 and 10^16 壹亿亿);
//     a leading 1 before 拾 is written (壹拾万, not 拾万), as financial forms do;
//   - a run of zeros inside the integer is written as one 零 (1005 →
//     壹仟零伍), also across a section boundary (100010000 → 壹亿零壹万);
//     trailing zeros of a section are silent (壹仟万壹仟, the rules allow
//     omitting 零 when a section starts with its 仟 digit);
//   - 元 ends the integer, then 角 and 分; 整 follows 元 when there are no
//     角 and 分; with 角 but no 分 nothing follows 角 (1005.30 → 壹仟零伍元叁角);
//     with 分 but no 角 a 零 is written after 元 (100000.05 → 壹拾万元零伍分);
//     the optional 零 between an integer ending in 0 and 角 is not written
//     (20300.40 → 贰万零叁佰元肆角);
//   - below one yuan only 角 and 分 are written (0.5 → 伍角, 0.05 → 伍分);
//     zero is 零元整;
//   - a negative amount gets 负 in front (a refund or reversal); an amount
//     that rounds to zero is never negative.
func Uppercase(d decimal.Decimal) string {
	d = d.Round(2)
	if d.Sign() == 0 {
		return "零元整"
	}
	var b strings.Builder
	if d.Sign() < 0 {
		b.WriteString("负")
		d = d.Neg()
	}
	intPart, frac, _ := strings.Cut(d.StringFixed(2), ".")
	jiao, fen := frac[0], frac[1]
	intPart = strings.TrimLeft(intPart, "0")
	if intPart != "" {
		b.WriteString(upperInteger(intPart))
		b.WriteString("元")
	}
	switch {
	case jiao == '0' && fen == '0':
		b.WriteString("整")
	case jiao == '0':
		if intPart != "" {
			b.WriteString("零")
		}
		b.WriteString(upperDigit(fen) + "分")
	default:
		b.WriteString(upperDigit(jiao) + "角")
		if fen != '0' {
			b.WriteString(upperDigit(fen) + "分")
		}
	}
	return b.String()
}

// upperInteger writes a positive integer given as digits without leading
// zeros. It splits off the lowest 8 digits under 亿 (or the lowest 4 under
// 万) and recurses on the higher part, which is how nested units like 万亿
// come out right. A 零 bridges the split when the lower part does not use its
// top digit.
func upperInteger(digits string) string {
	switch n := len(digits); {
	case n <= 4:
		return upperSection(digits)
	case n <= 8:
		return joinUnit(digits[:n-4], "万", digits[n-4:])
	default:
		return joinUnit(digits[:n-8], "亿", digits[n-8:])
	}
}

// joinUnit writes high+unit followed by the lower part, with 零 when the
// lower part is non-zero but starts with a zero.
func joinUnit(high, unit, low string) string {
	s := upperInteger(high) + unit
	trimmed := strings.TrimLeft(low, "0")
	if trimmed == "" {
		return s
	}
	if len(trimmed) < len(low) {
		s += "零"
	}
	return s + upperInteger(trimmed)
}

// upperSection writes 1 to 4 digits without leading zeros, e.g. 1050 →
// 壹仟零伍拾: inner zero runs become one 零, trailing zeros are silent.
func upperSection(digits string) string {
	units := [...]string{"", "拾", "佰", "仟"}
	var b strings.Builder
	zero := false
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c == '0' {
			zero = true
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		b.WriteString(upperDigit(c))
		b.WriteString(units[len(digits)-1-i])
	}
	return b.String()
}

// Date formats the calendar date of t as 2006-01-02, in t's own location:
// date-only values (a birth date, a due date, a PostgreSQL date read as UTC
// midnight) must not shift a day by a zone conversion. Use DateIn for an
// instant whose day should be China's. The zero time gives "".
func Date(t time.Time) string { return day.ISO(t) }

// Deadline formats a deadline as people write it, 2026年3月31日; the zero
// time gives "".
func Deadline(t time.Time) string { return day.Chinese(t) }

// DateIn formats the day on which instant t falls in China, 2006-01-02.
// The zero time gives "".
func DateIn(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return day.Of(t).Format(time.DateOnly)
}

// DateTime formats an instant as China's wall-clock time to the minute,
// 2006-01-02 15:04, whatever the server's zone. The zero time gives "".
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(day.Zone).Format("2006-01-02 15:04")
}

// Stake formats a stake held as a fraction (DOMAIN §9 keeps 8 decimals) as a
// percentage: the point is shifted two places exactly, rounded half-up to 6
// decimals (no information is lost for an 8-decimal fraction) and trailing
// zeros beyond the second decimal are dropped, so 0.02912621 → "2.912621%",
// 0.05 → "5.00%", 0.3 → "30.00%".
func Stake(d decimal.Decimal) string {
	s := d.Shift(2).Round(6).StringFixed(6)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	return s + "%"
}

// ChineseDateTime writes an instant as a printed document's time in China,
// 2026年3月31日 15:04 (the print time of a journal or trial balance). The
// zero time gives "".
func ChineseDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return day.Chinese(day.Of(t)) + " " + t.In(day.Zone).Format("15:04")
}
