package applications

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"3000000", "3000000"},
		{"3,000,000", "3000000"},
		{"3,000,000.00", "3000000"},
		{" 3,000,000.5 ", "3000000.5"},
		{"300万", "3000000"},
		{"300.5万元", "3005000"},
		{"300.5 万元", "3005000"},
		{"0.0001万", "1"},
		{"3000000元", "3000000"},
		{"３０００００", "300000"},
		{"３，０００，０００．００", "3000000"},
		{"￥1,234.56", "1234.56"},
		{"0", "0"},
		{"2500000", "2500000"},
	} {
		got, err := ParseAmount(tc.in)
		if err != nil {
			t.Errorf("ParseAmount(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("ParseAmount(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	t.Run("RefusedJunk", func(t *testing.T) {
		for _, in := range []string{"", "3,00,0", "1e6", "-5", "+5", "abc", "3,000,00", ",300", "300,", "1.234", "0.0000001万",
			"3.000.000", "300万万", "万", "元", "1000000000000000", "NaN", "0x10", "1_000", "3 000 000"} {
			_, err := ParseAmount(in)
			if err == nil {
				t.Errorf("ParseAmount(%q) accepted", in)
				continue
			}
			if ErrorKind(err) != Invalid || !strings.Contains(ErrorMessage(err), AmountMessage) {
				t.Errorf("ParseAmount(%q) error %v", in, err)
			}
		}
	})
	t.Run("FieldNamed", func(t *testing.T) {
		_, err := AmountField("amount", "1e6")
		var e *Error
		if !errors.As(err, &e) || e.Field != "amount" || e.Message != AmountMessage {
			t.Fatalf("AmountField error %#v", err)
		}
	})
	t.Run("ShownNormalised", func(t *testing.T) {
		for in, want := range map[string]string{"300万": "3,000,000.00", "2500000": "2,500,000.00", "１２３４．５": "1,234.50",
			"0.5": "0.50", "junk": "junk", "": ""} {
			if got := NormalAmount(in); got != want {
				t.Errorf("NormalAmount(%q) = %q, want %q", in, got, want)
			}
		}
	})
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]string{"2.912621%": "0.02912621", "2.912621": "0.02912621", "20": "0.2", "0": "0",
		"３０％": "0.3", " 0.5 % ": "0.005", "-0.5": "-0.005"} {
		got, err := ParsePercent(in)
		if err != nil || !got.Equal(decimal.RequireFromString(want)) {
			t.Errorf("ParsePercent(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "1e2", "2.9.1", "%"} {
		if _, err := ParsePercent(in); ErrorKind(err) != Invalid {
			t.Errorf("ParsePercent(%q) accepted", in)
		}
	}
	if got := FormatPercent("0.02912621"); got != "2.912621" {
		t.Errorf("FormatPercent = %q", got)
	}
}

// FuzzParseAmount: whatever is typed, an accepted amount is non-negative,
// below 10^15, a whole fen, and reads back from its normalised form.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"3,000,000", "3,000,000.00", "300万", "300.5万元", "3000000元", "３０００００", "３，０００", "3,00,0", "1e6", "-5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAmount(s)
		if err != nil {
			if ErrorKind(err) != Invalid {
				t.Fatalf("ParseAmount(%q) error kind %v", s, err)
			}
			return
		}
		if d.IsNegative() || d.Cmp(maxAmount) >= 0 || !d.Equal(d.Truncate(2)) {
			t.Fatalf("ParseAmount(%q) = %s out of range", s, d)
		}
		back, err := ParseAmount(FormatAmount(d))
		if err != nil || !back.Equal(d) {
			t.Fatalf("ParseAmount(%q) = %s does not read back from %q: %s, %v", s, d, FormatAmount(d), back, err)
		}
	})
}
