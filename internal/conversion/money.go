package conversion

import (
	"math/big"
	"strings"

	"github.com/shopspring/decimal"
)

// Rounding helpers for the rest of the application. decimal.Decimal.Div
// rounds to a package-global precision (DivisionPrecision, 16 by default), so
// a quotient silently depends on a setting anyone can change; these helpers
// compute the exact quotient as a big.Rat and round it once, with the rule
// the spec names. Use them for every division of money.
//
// Half-up means 四舍五入 as Chinese accounting uses it: ties go away from
// zero (0.005 → 0.01, −0.005 → −0.01).

// maxPlaces bounds the places argument so a caller's mistake cannot ask for
// a billion digits.
const maxPlaces = 30

func clampPlaces(places int32) int {
	return int(min(max(places, 0), maxPlaces))
}

// RoundMoney rounds r half-up to 0.01 yuan. A nil r is zero.
func RoundMoney(r *big.Rat) decimal.Decimal {
	return RoundHalfUp(r, placesMoney)
}

// RoundHalfUp rounds r half-up (ties away from zero) to places decimals
// (clamped to 0..30). A nil r is zero. The result carries exactly places
// decimals, so StringFixed(places) prints it unchanged.
func RoundHalfUp(r *big.Rat, places int32) decimal.Decimal {
	return roundDecimal(r, places, halfUp)
}

// RoundDown rounds r toward zero to places decimals (clamped to 0..30): the
// rule for units, which are never issued in fractions the register cannot
// hold. A nil r is zero.
func RoundDown(r *big.Rat, places int32) decimal.Decimal {
	return roundDecimal(r, places, down)
}

func roundDecimal(r *big.Rat, places int32, mode roundMode) decimal.Decimal {
	p := clampPlaces(places)
	if r == nil {
		r = ratZero
	}
	return decimal.NewFromBigInt(scaledInt(r, p, mode), -int32(p))
}

// Quo returns a / b computed exactly and rounded half-up to places decimals:
// the replacement for a.Div(b). It fails only when b is zero.
func Quo(a, b decimal.Decimal, places int32) (decimal.Decimal, error) {
	if b.IsZero() {
		return decimal.Decimal{}, &InputError{Message: "除数不能为 0。"}
	}
	return RoundHalfUp(new(big.Rat).Quo(a.Rat(), b.Rat()), places), nil
}

// MulMoney returns a × b rounded half-up to 0.01, e.g. an amount times a
// rate.
func MulMoney(a, b decimal.Decimal) decimal.Decimal {
	return RoundMoney(new(big.Rat).Mul(a.Rat(), b.Rat()))
}

// ParseMoney parses an amount of yuan typed by a user: plain digits with at
// most 2 decimals ("1500000", "1500000.5", "1500000.50"), not negative,
// below 10^15, surrounding spaces ignored. No thousands separators, signs or
// exponents. The error is an *InputError with a Chinese message and an empty
// Field for the caller to fill in.
func ParseMoney(s string) (decimal.Decimal, error) {
	r, err := parseNonNegative(strings.TrimSpace(s), "", "金额", placesMoney)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return RoundMoney(r), nil
}

// ParseDecimal parses a plain decimal string (optional minus sign, digits,
// optional point and digits; at most places decimals, below 10^15 in
// magnitude; surrounding spaces ignored) into a decimal with exactly places
// decimals. The error is an *InputError with a Chinese message and an empty
// Field.
func ParseDecimal(s string, places int32) (decimal.Decimal, error) {
	p := clampPlaces(places)
	r, err := parseNum(strings.TrimSpace(s), "", "数值", p)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return RoundHalfUp(r, int32(p)), nil
}

// FormatMoney prints d in yuan with exactly 2 decimals ("1500000.00"),
// rounding half-up if it has more.
func FormatMoney(d decimal.Decimal) string {
	return fixed(d.Rat(), placesMoney, halfUp)
}
