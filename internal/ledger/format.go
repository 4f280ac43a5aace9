package ledger

import (
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// appendMoney appends d with exactly two decimals, byte for byte what
// d.StringFixed(2) returns, without its big.Int arithmetic for the common
// case (at most two decimals, at most 16 digits) that exports and the hash
// chain meet millions of times.
func appendMoney(dst []byte, d decimal.Decimal) []byte {
	cents, ok := centsOf(d)
	if !ok {
		return append(dst, d.StringFixed(2)...)
	}
	if cents < 0 {
		dst = append(dst, '-')
		cents = -cents
	}
	dst = strconv.AppendInt(dst, cents/100, 10)
	frac := cents % 100
	return append(dst, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// centsOf returns d in fen when it has at most two decimals and at most 16
// digits (so |cents| < 10^18 fits an int64); ok is false otherwise, and the
// caller falls back to decimal arithmetic.
func centsOf(d decimal.Decimal) (cents int64, ok bool) {
	exp := d.Exponent()
	if exp > 0 || exp < -2 || d.NumDigits() > 16 {
		return 0, false
	}
	cents = d.CoefficientInt64()
	for ; exp > -2; exp-- {
		cents *= 10
	}
	return cents, true
}

// appendDate appends the calendar day of t (in its own location) as
// YYYY-MM-DD.
func appendDate(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, time.DateOnly)
	}
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(m))
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendDateTime appends the wall clock of t as "YYYY-MM-DD HH:MM:SS".
func appendDateTime(dst []byte, t time.Time) []byte {
	dst = appendDate(dst, t)
	h, mi, s := t.Clock()
	dst = append(dst, ' ')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	return append2(dst, s)
}

// appendCreatedAt appends t in UTC as "YYYY-MM-DDTHH:MM:SS.ffffffZ",
// truncated to microseconds (createdAtLayout, without time.Format's cost).
func appendCreatedAt(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.Truncate(time.Microsecond).AppendFormat(dst, createdAtLayout)
	}
	dst = appendDate(dst, t)
	h, mi, s := t.Clock()
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	us := t.Nanosecond() / 1000
	dst = append(dst, '.')
	dst = append2(dst, us/10000)
	dst = append2(dst, us/100%100)
	dst = append2(dst, us%100)
	return append(dst, 'Z')
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func append4(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}
