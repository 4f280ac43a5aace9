package format

import (
	"ite/internal/day"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestYuan(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"8000000", "8,000,000.00 元"},
		{"10000000.00", "10,000,000.00 元"},
		{"0", "0.00 元"},
		{"1", "1.00 元"},
		{"123", "123.00 元"},
		{"1234", "1,234.00 元"},
		{"123456", "123,456.00 元"},
		{"1234567.891", "1,234,567.89 元"},
		{"999.995", "1,000.00 元"},
		{"2.675", "2.68 元"},
		{"2.665", "2.67 元"},
		{"-2.675", "-2.68 元"},
		{"-1234.5", "-1,234.50 元"},
		{"-0.001", "0.00 元"},
		{"123456789012345.67", "123,456,789,012,345.67 元"},
	}
	for _, tc := range cases {
		if got := Yuan(dec(tc.in)); got != tc.want {
			t.Errorf("Yuan(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWanYuan(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"8000000", "800.00 万元"},
		{"10000000", "1,000.00 万元"},
		{"3000000.00", "300.00 万元"},
		{"12345", "1.23 万元"},
		{"12350", "1.24 万元"}, // 1.2350 rounds half-up
		{"12349.99", "1.23 万元"},
		{"-12350", "-1.24 万元"},
		{"49.99", "0.00 万元"},
		{"50", "0.01 万元"},
		{"0", "0.00 万元"},
		{"123456789012", "12,345,678.90 万元"},
	}
	for _, tc := range cases {
		if got := WanYuan(dec(tc.in)); got != tc.want {
			t.Errorf("WanYuan(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUppercase(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"Zero", "0", "零元整"},
		{"ZeroWithScale", "0.00", "零元整"},
		{"HalfYuan", "0.5", "伍角"},
		{"FiveFen", "0.05", "伍分"},
		{"JiaoAndFen", "0.55", "伍角伍分"},
		{"One", "1", "壹元整"},
		{"TenKeepsLeadingOne", "10", "壹拾元整"},
		{"Fifteen", "15", "壹拾伍元整"},
		{"ZeroTens", "101", "壹佰零壹元整"},
		{"TrailingZeroSilent", "110", "壹佰壹拾元整"},
		{"ZerosInMiddleWithJiao", "1005.30", "壹仟零伍元叁角"},
		{"ZeroHundreds", "1050", "壹仟零伍拾元整"},
		{"StandardExample1680_32", "1680.32", "壹仟陆佰捌拾元叁角贰分"},
		{"StandardExample325_04", "325.04", "叁佰贰拾伍元零肆分"},
		{"StandardExample16409_02", "16409.02", "壹万陆仟肆佰零玖元零贰分"},
		{"TenThousand", "10000", "壹万元整"},
		{"ZeroAcrossWanWithJiao", "20300.40", "贰万零叁佰元肆角"},
		{"ZeroBeforeFen", "100000.05", "壹拾万元零伍分"},
		{"StandardExample107000_53", "107000.53", "壹拾万柒仟元伍角叁分"},
		{"SectionStartsWithThousands", "10001000", "壹仟万壹仟元整"},
		{"ZeroToUnits", "10000001", "壹仟万零壹元整"},
		{"AlternatingZeros", "1010101", "壹佰零壹万零壹佰零壹元整"},
		{"ZeroInsideHighSection", "60036000", "陆仟零叁万陆仟元整"},
		{"EightMillion", "8000000", "捌佰万元整"},
		{"CapTenMillion", "10000000.00", "壹仟万元整"},
		{"OneYi", "100000000", "壹亿元整"},
		{"YiThenWan", "100010000", "壹亿零壹万元整"},
		{"ShiYiThenYuan", "1000000001", "壹拾亿零壹元整"},
		{"YiWithJiao", "100000000.10", "壹亿元壹角"},
		{"AllDigits", "123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"},
		{"AllNines", "9999999999.99", "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"},
		{"WanYi", "1000000000000", "壹万亿元整"},
		{"WanYiNested", "1234500000000", "壹万贰仟叁佰肆拾伍亿元整"},
		{"WanLingYiYi", "1000100000000", "壹万零壹亿元整"},
		{"WanYiLingYiWan", "1000000010000", "壹万亿零壹万元整"},
		{"YiYi", "10000000000000000", "壹亿亿元整"},
		{"Negative", "-1005.3", "负壹仟零伍元叁角"},
		{"NegativeFen", "-0.05", "负伍分"},
		{"RoundsUpToFen", "0.005", "壹分"},
		{"RoundsHalfUp", "2.675", "贰元陆角捌分"},
		{"RoundsUpAcrossYuan", "9.999", "壹拾元整"},
		{"RoundsToZero", "0.004", "零元整"},
		{"NegativeRoundsToZero", "-0.004", "零元整"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Uppercase(dec(tc.in)); got != tc.want {
				t.Errorf("Uppercase(%s) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestUppercaseNoDoubleZero checks the rule that a run of zeros is written
// as at most one 零, and 零 never ends the integer part, over a range of
// amounts with many zeros.
func TestUppercaseNoDoubleZero(t *testing.T) {
	t.Parallel()
	for _, base := range []int64{1, 10, 101, 1001, 10001, 100001, 1000001, 10000001, 100000001, 1000000001} {
		for _, mult := range []int64{1, 10, 100, 1000, 10000} {
			for _, frac := range []string{"", ".01", ".1", ".11"} {
				in := decimal.NewFromInt(base*mult).String() + frac
				got := Uppercase(dec(in))
				for _, bad := range []string{"零零", "零元", "零万", "零亿"} {
					if strings.Contains(got, bad) {
						t.Errorf("Uppercase(%s) = %q contains %q", in, got, bad)
					}
				}
			}
		}
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	newYork := time.FixedZone("EST", -5*3600)
	evening := time.Date(2026, 1, 15, 22, 0, 0, 0, newYork) // 2026-01-16 11:00 in China
	if got := Date(evening); got != "2026-01-15" {
		t.Errorf("Date = %q, want the value's own calendar date", got)
	}
	if got := DateIn(evening); got != "2026-01-16" {
		t.Errorf("DateIn = %q, want China's date", got)
	}
	pgDate := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	if got := Date(pgDate); got != "2024-02-29" {
		t.Errorf("Date(pg date) = %q", got)
	}
	if Date(time.Time{}) != "" || DateIn(time.Time{}) != "" || DateTime(time.Time{}) != "" {
		t.Error("zero time not blank")
	}
}

func TestDateTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 15, 16, 30, 59, 0, time.UTC), "2026-01-16 00:30"},
		{time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), "2026-07-01 08:00"}, // no DST in summer
		{time.Date(2026, 1, 15, 9, 5, 0, 0, time.FixedZone("CST", 8*3600)), "2026-01-15 09:05"},
		{time.Date(2025, 12, 31, 23, 59, 0, 0, time.FixedZone("PST", -8*3600)), "2026-01-01 15:59"},
	}
	for _, tc := range cases {
		if got := DateTime(tc.in); got != tc.want {
			t.Errorf("DateTime(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShanghaiIsUTCPlus8(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Time{
		time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2040, 12, 1, 0, 0, 0, 0, time.UTC),
	} {
		if _, off := d.In(day.Zone).Zone(); off != 8*3600 {
			t.Errorf("offset at %s = %d", d, off)
		}
	}
}

func TestStake(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"0.02912621", "2.912621%"},
		{"0.77669903", "77.669903%"},
		{"0.09999991", "9.999991%"},
		{"0.05", "5.00%"},
		{"0.3", "30.00%"},
		{"0.1234", "12.34%"},
		{"0.12345", "12.345%"},
		{"0.123456789", "12.345679%"},
		{"0.1234565", "12.34565%"},
		{"1", "100.00%"},
		{"0", "0.00%"},
		{"0.000000001", "0.00%"},
	}
	for _, tc := range cases {
		if got := Stake(dec(tc.in)); got != tc.want {
			t.Errorf("Stake(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestChineseDateTime: a print time is China's day and wall clock, written
// 2026年3月31日 15:04 (no leading zeros in the date).
func TestChineseDateTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Time]string{
		time.Date(2026, 3, 31, 7, 4, 59, 0, time.UTC):  "2026年3月31日 15:04",
		time.Date(2026, 3, 31, 16, 30, 0, 0, time.UTC): "2026年4月1日 00:30",
		{}: "",
	} {
		if got := ChineseDateTime(in); got != want {
			t.Errorf("ChineseDateTime(%v) = %q, want %q", in, got, want)
		}
	}
}
