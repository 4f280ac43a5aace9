package applications

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
)

func TestParseRateEntry(t *testing.T) {
	today := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	good := RateEntryInput{Series: "LPR1Y", EffectiveDate: "2025-06-20", RatePercent: "2.90", Source: "公告"}
	e, err := ParseRateEntry(good, today)
	if err != nil || !e.Rate.Equal(decimal.RequireFromString("0.029")) {
		t.Fatalf("%v %v", e.Rate, err)
	}
	for _, c := range []struct {
		name  string
		edit  func(*RateEntryInput)
		field string
	}{
		{"NoDate", func(in *RateEntryInput) { in.EffectiveDate = "" }, "effective_date"},
		{"FutureDate", func(in *RateEntryInput) { in.EffectiveDate = "2025-07-02" }, "effective_date"},
		{"NoRate", func(in *RateEntryInput) { in.RatePercent = "" }, "rate"},
		{"Negative", func(in *RateEntryInput) { in.RatePercent = "-0.1" }, "rate"},
		{"Hundred", func(in *RateEntryInput) { in.RatePercent = "100" }, "rate"},
		{"FiveDecimals", func(in *RateEntryInput) { in.RatePercent = "3.00001" }, "rate"},
		{"NoSource", func(in *RateEntryInput) { in.Source = " " }, "source"},
		{"CorrectionWithoutReason", func(in *RateEntryInput) { in.Corrects = 3 }, "reason"},
		{"WithdrawNothing", func(in *RateEntryInput) { in.Withdraw, in.Reason = true, "x" }, "reason"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := good
			c.edit(&in)
			_, err := ParseRateEntry(in, today)
			var e *Error
			if err == nil || !asError(err, &e) || e.Field != c.field || !hasHan(e.Message) {
				t.Fatalf("got %v, want a Chinese error on %s", err, c.field)
			}
		})
	}
	if e, err := ParseRateEntry(RateEntryInput{Series: "LPR1Y", EffectiveDate: "2025-06-20", Source: "更正", Corrects: 3,
		Reason: "重复", Withdraw: true}, today); err != nil || !e.Withdrawn {
		t.Fatalf("withdrawal: %v %v", e, err)
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

func hasHan(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff })
}

func TestPercent(t *testing.T) {
	for in, want := range map[string]string{"0.03": "3.00%", "0.0335": "3.35%", "0.03125": "3.125%", "0": "0.00%", "0.005": "0.50%"} {
		if got := Percent(decimal.RequireFromString(in)); got != want {
			t.Errorf("Percent(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestReferenceRatesUpTo(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	s := RateSeries{Code: "LPR1Y", Entries: []RateEntry{{EffectiveDate: d("2024-10-21"), Rate: decimal.RequireFromString("0.031")},
		{EffectiveDate: d("2025-05-20"), Rate: decimal.RequireFromString("0.03")}}}
	got := s.ReferenceRates(d("2025-05-19"))
	if !slices.Equal(got, []conversion.ReferenceRate{{From: "2024-10-21", Rate: "0.031000"}}) {
		t.Fatalf("%v", got)
	}
	if n := len(s.ReferenceRates(d("2025-05-20"))); n != 2 {
		t.Fatalf("%d entries on the effective date", n)
	}
}

// TestExplainExampleE: the words for each tranche of DOMAIN §15 E.
func TestExplainExampleE(t *testing.T) {
	four := 4
	req := conversion.ExitRequest{Units: "37500.00", ConversionDate: "2026-01-15",
		Disbursements: []conversion.Disbursement{{Date: "2024-01-15", Amount: "1500000.00"}, {Date: "2025-01-15", Amount: "1500000.00"}},
		Policy: conversion.Policy{ReturnBasis: "reference", ReferenceRates: []conversion.ReferenceRate{{From: "2024-07-22", Rate: "0.0335"},
			{From: "2024-10-21", Rate: "0.0310"}, {From: "2025-05-20", Rate: "0.0300"}}, Spread: "0.005",
			Tiers: []conversion.Tier{{WithinYears: 2, ReturnRate: "0"}}, AppraisalAfterYears: &four,
			AccrualFrom: "disbursement", Allocation: "fifo", BelowCap: "market"},
		Tranches: []conversion.Tranche{{Date: "2027-06-30", Units: "12500.00", MarketValue: "2000000.00"},
			{Date: "2029-01-15", Units: "12500.00", Buyer: "third_party", MarketValue: "1600000.00"},
			{Date: "2030-03-31", Rest: true, AppraisedValue: "1300000.00"}}}
	res, err := conversion.Exit(req)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"持股满 2 年内按本金回购", "市场价值高于回购价，差额让利"},
		{"按 2025年5月20日 一年期 LPR 3.00% 加 0.50% 计息", "第三方通过产权交易所挂牌受让，按成交价"},
		{"按 2025年5月20日 一年期 LPR 3.00% 加 0.50% 计息", "评估值高于回购价，按评估值"}}
	sources := []string{"阶梯利率（持股满 2 年内）0.00%", "一年期LPR 2025年5月20日 3.00% + 0.50%", "一年期LPR 2025年5月20日 3.00% + 0.50%"}
	for i, tr := range res.Tranches {
		if got := ExplainTranche(req, tr, "一年期LPR"); !slices.Equal(got, want[i]) {
			t.Errorf("tranche %d: %q, want %q", i+1, got, want[i])
		}
		if got := RateSource(req, tr, "一年期LPR"); got != sources[i] {
			t.Errorf("tranche %d source %q, want %q", i+1, got, sources[i])
		}
	}
}

func TestTermsReferenceSeries(t *testing.T) {
	base := `{"tranches":[{"share":"1","months_after_signing":0}],"triggers":{"revenue_min":"1000000.00"},"window_years":5,
 "unit":"registered_capital","pricing":{"method":"round_price"},"exit_schedule":[{"years_after_conversion":3,"rest":true}],
 "lapse_policy":"grant","exit_policy":`
	for name, c := range map[string]struct{ policy, field string }{
		"SeriesOK":           {`{"return_basis":"reference","reference_series":"LPR1Y","return_rate":"","spread":"0.005","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"}`, ""},
		"ReferenceNoSeries":  {`{"return_basis":"reference","return_rate":"","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"}`, "terms_template.exit_policy.reference_series"},
		"SeriesWithFixed":    {`{"reference_series":"LPR1Y","return_rate":"0.03","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"}`, "terms_template.exit_policy.reference_series"},
		"SeriesAndEntries":   {`{"return_basis":"reference","reference_series":"LPR1Y","reference_rates":[{"from":"2025-05-20","rate":"0.03"}],"return_rate":"","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"}`, "terms_template.exit_policy.reference_series"},
		"TypedEntriesStayOK": {`{"return_basis":"reference","reference_rates":[{"from":"2025-05-20","rate":"0.03"}],"return_rate":"","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			terms, err := ParseTerms([]byte(base + c.policy + "}"))
			var e *Error
			switch {
			case c.field == "" && err != nil:
				t.Fatal(err)
			case c.field != "" && (err == nil || !asError(err, &e) || e.Field != c.field):
				t.Fatalf("got %v, want an error on %s", err, c.field)
			case c.field == "" && name == "SeriesOK" && terms.ExitPolicy.ReferenceSeries != "LPR1Y":
				t.Fatalf("series %q", terms.ExitPolicy.ReferenceSeries)
			}
		})
	}
}
