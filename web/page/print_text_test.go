package page

import (
	"testing"
	"time"

	"ite/internal/day"
)

func TestPrintStep(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"转股价格 64.000000 元/元注册资本（依据：折扣价格 discount）。平台取得 G = 3000000.00 ÷ 64.000000 = 46875.00 元注册资本": "转股价格 64.000000 元/元注册资本（依据：折扣价）。平台取得 G = 3,000,000.00 ÷ 64.000000 = 46,875.00 元注册资本",
		"持有不超过 1 年（2027-01-15 及以前），按固定年收益率 0.03（3%）计息，依据 fixed":                                     "持有不超过 1 年（2027-01-15 及以前），按固定年收益率 0.03（3%）计息（固定）",
		"2026年起 1296875 单位": "2026年起 1,296,875 单位",
	} {
		if got := printStep(in); got != want {
			t.Errorf("printStep(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

func TestTrancheWhen(t *testing.T) {
	t.Parallel()
	signed := day.New(2026, time.March, 30) // the plan's due dates are AddDate(0, months, 0), as applications.DisbursementPlan has them
	for _, tc := range []struct {
		months int
		signed time.Time
		want   string
	}{
		{0, time.Time{}, "签约后立即拨付"},
		{6, time.Time{}, "签约后 6 个月内"},
		{0, signed, "签约时（2026年3月30日）"},
		{6, signed, "2026年9月30日前（签约后 6 个月内）"},
	} {
		if got := trancheWhen(tc.months, tc.signed); got != tc.want {
			t.Errorf("trancheWhen(%d, %v) = %q, want %q", tc.months, tc.signed, got, tc.want)
		}
	}
}

func TestVerificationCode(t *testing.T) {
	t.Parallel()
	if got := verificationCode("8a4ab88e47921be557c86321158df17c"); got != "8A4A-B88E-4792-1BE5" {
		t.Fatalf("got %q", got)
	}
}
