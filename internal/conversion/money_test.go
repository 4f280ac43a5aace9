package conversion

import (
	"errors"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

func TestRounding(t *testing.T) {
	tests := []struct {
		name         string
		r            *big.Rat
		places       int32
		halfUp, down string
	}{
		{"TieGoesUp", big.NewRat(5, 1000), 2, "0.01", "0.00"},
		{"NegativeTieGoesAwayFromZero", big.NewRat(-5, 1000), 2, "-0.01", "0.00"},
		{"JustBelowTie", big.NewRat(4999, 1000000), 2, "0.00", "0.00"},
		{"Thirds", big.NewRat(1, 3), 2, "0.33", "0.33"},
		{"TwoThirds", big.NewRat(2, 3), 2, "0.67", "0.66"},
		{"ExampleAInterest", big.NewRat(90082191780822, 1000000000), 2, "90082.19", "90082.19"},
		{"ExampleCPrice", big.NewRat(209818082, 33333300), 6, "6.294549", "6.294548"},
		{"WholeUnits", big.NewRat(4662624, 10), 0, "466262", "466262"},
		{"Nil", nil, 2, "0.00", "0.00"},
		{"PlacesClampedBelow", big.NewRat(15, 10), -3, "2", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := max(tt.places, 0)
			if got := RoundHalfUp(tt.r, tt.places).StringFixed(p); got != tt.halfUp {
				t.Errorf("RoundHalfUp = %s, want %s", got, tt.halfUp)
			}
			if got := RoundDown(tt.r, tt.places).StringFixed(p); got != tt.down {
				t.Errorf("RoundDown = %s, want %s", got, tt.down)
			}
		})
	}
	if got := RoundMoney(big.NewRat(1234565, 1000)).String(); got != "1234.57" {
		t.Errorf("RoundMoney = %s, want 1234.57", got)
	}
}

func TestQuo(t *testing.T) {
	d := decimal.RequireFromString
	got, err := Quo(d("3000000"), d("37500"), 2)
	if err != nil || got.StringFixed(2) != "80.00" {
		t.Errorf("Quo = %s, %v", got, err)
	}
	// 2/3 to 2 places: exact quotient then one half-up rounding, regardless
	// of decimal.DivisionPrecision.
	old := decimal.DivisionPrecision
	decimal.DivisionPrecision = 1
	defer func() { decimal.DivisionPrecision = old }()
	if got, _ := Quo(d("2"), d("3"), 4); got.String() != "0.6667" {
		t.Errorf("Quo(2, 3, 4) = %s, want 0.6667", got)
	}
	if _, err := Quo(d("1"), decimal.Zero, 2); err == nil {
		t.Error("Quo by zero did not fail")
	}
	if got := MulMoney(d("1000000"), d("0.031")); got.StringFixed(2) != "31000.00" {
		t.Errorf("MulMoney = %s", got)
	}
	if got := MulMoney(d("0.05"), d("0.1")); got.StringFixed(2) != "0.01" {
		t.Errorf("MulMoney(0.05, 0.1) = %s, want 0.01 (half-up)", got)
	}
}

func TestParseMoney(t *testing.T) {
	ok := map[string]string{
		"1500000":            "1500000.00",
		"1500000.5":          "1500000.50",
		"1500000.50":         "1500000.50",
		" 12.30 ":            "12.30",
		"0":                  "0.00",
		"0012.300":           "12.30",
		"999999999999999.99": "999999999999999.99",
	}
	for in, want := range ok {
		got, err := ParseMoney(in)
		if err != nil || FormatMoney(got) != want {
			t.Errorf("ParseMoney(%q) = %s, %v; want %s", in, FormatMoney(got), err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.234", "1,500", "1e6", "+5", "１２", ".5", "5.", "NaN", "1000000000000000"} {
		_, err := ParseMoney(in)
		var ie *InputError
		if !errors.As(err, &ie) || !hasHan(ie.Message) || ie.Field != "" {
			t.Errorf("ParseMoney(%q) error = %v, want a Chinese *InputError without field", in, err)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	got, err := ParseDecimal("-0.031", 4)
	if err != nil || got.StringFixed(4) != "-0.0310" {
		t.Errorf("ParseDecimal = %s, %v", got, err)
	}
	if _, err := ParseDecimal("0.03125", 4); err == nil {
		t.Error("ParseDecimal accepted 5 decimals with places 4")
	}
	if got := FormatMoney(decimal.RequireFromString("0.125")); got != "0.13" {
		t.Errorf("FormatMoney(0.125) = %s, want 0.13", got)
	}
}
