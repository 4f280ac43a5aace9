package applications

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func defaultForm(t *testing.T) TermsForm {
	t.Helper()
	terms, err := ParseTerms(DefaultTermsTemplate())
	if err != nil {
		t.Fatal(err)
	}
	return TermsFormOf(terms)
}

func TestTermsFormRoundTrip(t *testing.T) {
	f := ParseTermsForm(defaultForm(t).Values())
	got, errs := f.Terms(TermsContext{})
	if errs != nil {
		t.Fatalf("errors %v", errs)
	}
	want, _ := ParseTerms(DefaultTermsTemplate())
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	var x, y any
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	if ja, _ := json.Marshal(x); string(ja) != string(mustNormal(t, b)) {
		t.Fatalf("round trip\n got %s\nwant %s", ja, mustNormal(t, b))
	}
}

// mustNormal re-encodes JSON with decimals normalised ("0.20" and "0.2"
// are the same terms).
func mustNormal(t *testing.T, b []byte) []byte {
	t.Helper()
	terms, err := ParseTerms(b)
	if err != nil {
		t.Fatal(err)
	}
	f := TermsFormOf(terms)
	got, errs := f.Terms(TermsContext{})
	if errs != nil {
		t.Fatal(errs)
	}
	out, _ := json.Marshal(got)
	var v any
	_ = json.Unmarshal(out, &v)
	out, _ = json.Marshal(v)
	return out
}

func TestTermsFormPercentagesExact(t *testing.T) {
	f := defaultForm(t)
	f.Method, f.Stake = "fixed_stake", "2.912621%"
	f.MaxStake, f.InterestRate, f.ReturnRate = "30", "3.1", "2.5％"
	terms, errs := f.Terms(TermsContext{})
	if errs != nil {
		t.Fatal(errs)
	}
	for name, pair := range map[string][2]string{"stake": {terms.Pricing.Stake, "0.02912621"}, "max_stake": {terms.MaxStake, "0.3"},
		"interest": {terms.Interest.Rate, "0.031"}, "return_rate": {terms.ExitPolicy.ReturnRate, "0.025"}} {
		if !decimal.RequireFromString(pair[0]).Equal(decimal.RequireFromString(pair[1])) || pair[0] != pair[1] {
			t.Errorf("%s stored %q, want %q", name, pair[0], pair[1])
		}
	}
	if terms.Pricing.Discount != "" {
		t.Errorf("a field of another method was stored: discount %q", terms.Pricing.Discount)
	}
}

func TestTermsFormFieldErrors(t *testing.T) {
	signed := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	ctx := TermsContext{Amount: decimal.RequireFromString("3000000"), SignedOn: signed}
	for _, tc := range []struct {
		name, key string
		change    func(f *TermsForm)
		ctx       TermsContext
	}{
		{"NoTranche", "tranches", func(f *TermsForm) { f.Tranches = nil }, ctx},
		{"ShareJunk", "tranche_share[0]", func(f *TermsForm) { f.Tranches[0].Share = "half" }, ctx},
		{"ShareOver100", "tranche_share[1]", func(f *TermsForm) { f.Tranches[1].Share = "150" }, ctx},
		{"ShareAndAmount", "tranche_share[0]", func(f *TermsForm) { f.Tranches[0].Amount = "100万" }, ctx},
		{"SharesNot100", "tranches", func(f *TermsForm) { f.Tranches[1].Share = "40" }, ctx},
		{"AmountJunk", "tranche_amount[0]", func(f *TermsForm) { f.Tranches[0].Share, f.Tranches[0].Amount = "", "1e6" }, ctx},
		{"AmountWithoutApprovedAmount", "tranche_amount[0]", func(f *TermsForm) { f.Tranches[0].Share, f.Tranches[0].Amount = "", "100万" }, TermsContext{}},
		{"AmountsNotTheTotal", "tranches", func(f *TermsForm) {
			f.Tranches[0].Share, f.Tranches[0].Amount, f.Tranches[1].Share, f.Tranches[1].Amount = "", "100万", "", "150万"
		}, ctx},
		{"MonthsJunk", "tranche_months[1]", func(f *TermsForm) { f.Tranches[1].Months = "一年" }, ctx},
		{"MonthsAndDate", "tranche_months[1]", func(f *TermsForm) { f.Tranches[1].Date = "2027-03-31" }, ctx},
		{"DateBeforeSigning", "tranche_date[1]", func(f *TermsForm) { f.Tranches[1].Months, f.Tranches[1].Date = "", "2025-01-01" }, ctx},
		{"DateBeforeAgreement", "tranche_date[1]", func(f *TermsForm) { f.Tranches[1].Months, f.Tranches[1].Date = "", "2027-03-31" }, TermsContext{}},
		{"NoTrigger", "financing_min_new_money", func(f *TermsForm) { f.FinancingMin, f.RevenueMin = "", "" }, ctx},
		{"FinancingJunk", "financing_min_new_money", func(f *TermsForm) { f.FinancingMin = "3,00,0" }, ctx},
		{"RevenueNegative", "revenue_min", func(f *TermsForm) { f.RevenueMin = "-5" }, ctx},
		{"Window", "window_years", func(f *TermsForm) { f.WindowYears = "0" }, ctx},
		{"Unit", "unit", func(f *TermsForm) { f.Unit = "" }, ctx},
		{"Method", "pricing_method", func(f *TermsForm) { f.Method = "guess" }, ctx},
		{"Discount", "discount", func(f *TermsForm) { f.Discount = "100" }, ctx},
		{"Cap", "valuation_cap", func(f *TermsForm) { f.ValuationCap = "lots" }, ctx},
		{"Floor", "floor_price", func(f *TermsForm) { f.FloorPrice = "-1" }, ctx},
		{"Price", "price", func(f *TermsForm) { f.Method, f.Price = "fixed_price", "" }, ctx},
		{"Stake", "stake", func(f *TermsForm) { f.Method, f.Stake = "fixed_stake", "100" }, ctx},
		{"MaxStake", "max_stake", func(f *TermsForm) { f.MaxStake = "0" }, ctx},
		{"Interest", "interest_rate", func(f *TermsForm) { f.InterestRate = "x" }, ctx},
		{"Basis", "return_basis", func(f *TermsForm) { f.ReturnBasis = "guess" }, ctx},
		{"ReturnRate", "return_rate", func(f *TermsForm) { f.ReturnRate = "" }, ctx},
		{"Series", "reference_series", func(f *TermsForm) { f.ReturnBasis, f.ReferenceSeries = "reference", "" }, ctx},
		{"Spread", "spread", func(f *TermsForm) { f.ReturnBasis, f.ReferenceSeries, f.Spread = "reference", "LPR1Y", "a lot" }, ctx},
		{"TierYears", "tier_within_years[0]", func(f *TermsForm) { f.Tiers = []TierRow{{"0", "0"}} }, ctx},
		{"TiersIncrease", "tier_within_years[1]", func(f *TermsForm) { f.Tiers = []TierRow{{"3", "0"}, {"2", "1"}} }, ctx},
		{"TierRate", "tier_rate[0]", func(f *TermsForm) { f.Tiers = []TierRow{{"3", ""}} }, ctx},
		{"Appraisal", "appraisal_after_years", func(f *TermsForm) { f.AppraisalAfterYears = "0" }, ctx},
		{"Accrual", "accrual_from", func(f *TermsForm) { f.AccrualFrom = "" }, ctx},
		{"Allocation", "allocation", func(f *TermsForm) { f.Allocation = "" }, ctx},
		{"BelowCap", "below_cap", func(f *TermsForm) { f.Below = "" }, ctx},
		{"NoExit", "exit_schedule", func(f *TermsForm) { f.Schedule = nil }, ctx},
		{"ExitYears", "exit_years[0]", func(f *TermsForm) { f.Schedule[0].Years = "31" }, ctx},
		{"ExitFraction", "exit_fraction[1]", func(f *TermsForm) { f.Schedule[1].Fraction = "" }, ctx},
		{"Lapse", "lapse_policy", func(f *TermsForm) { f.LapsePolicy = "forget" }, ctx},
		{"CalculatorJudgesTheWhole", "_terms", func(f *TermsForm) { f.Schedule[2].Rest = false; f.Schedule[2].Fraction = "50" }, ctx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := defaultForm(t)
			tc.change(&f)
			_, errs := f.Terms(tc.ctx)
			if errs[tc.key] == "" {
				t.Fatalf("no error for %s: %v", tc.key, errs)
			}
		})
	}
	t.Run("AmountsAndDatesBecomeSharesAndMonths", func(t *testing.T) {
		f := defaultForm(t)
		f.Tranches = []TrancheRow{{Amount: "100万", Date: "2026-03-31"}, {Amount: "2,000,000", Date: "2027-03-31", Milestone: "中期"}}
		terms, errs := f.Terms(ctx)
		if errs != nil {
			t.Fatal(errs)
		}
		if terms.Tranches[0].MonthsAfterSigning != 0 || terms.Tranches[1].MonthsAfterSigning != 12 {
			t.Fatalf("months %+v", terms.Tranches)
		}
		amounts := terms.TrancheAmounts(ctx.Amount)
		if !amounts[0].Equal(decimal.NewFromInt(1000000)) || !amounts[1].Equal(decimal.NewFromInt(2000000)) {
			t.Fatalf("amounts %v (shares %+v)", amounts, terms.Tranches)
		}
	})
	t.Run("RowsAddedAndRemoved", func(t *testing.T) {
		v := defaultForm(t).Values()
		v.Set("terms_add", "tranche")
		if f := ParseTermsForm(v); len(f.Tranches) != 3 || !TermsFormEdit(v) {
			t.Fatalf("add: %d rows", len(f.Tranches))
		}
		v = defaultForm(t).Values()
		v.Set("terms_remove", "exit:0")
		if f := ParseTermsForm(v); len(f.Schedule) != 2 || f.Schedule[0].Fraction != "33.33" {
			t.Fatalf("remove: %+v", f.Schedule)
		}
	})
}

func TestTermsPreview(t *testing.T) {
	terms, _ := defaultForm(t).Terms(TermsContext{})
	today := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	s, errs := ParseTermsSample(url.Values{"sample_amount": {"300万"}}, today)
	if errs != nil {
		t.Fatal(errs)
	}
	c, x, err := terms.Preview(s)
	if err != nil {
		t.Fatal(err)
	}
	// 80,000,000 / 1,000,000 = 80 a unit, 20% discount → 64; 3,000,000 / 64 = 46,875 units.
	if c.ConversionPrice != "64.000000" || c.Units != "46875.00" || x.Totals.Proceeds == "" {
		t.Fatalf("preview %+v %+v", c, x.Totals)
	}
	if _, errs := ParseTermsSample(url.Values{"sample_new_money": {"1e6"}}, today); errs["sample_new_money"] == "" {
		t.Fatal("a junk sample accepted")
	}
}
