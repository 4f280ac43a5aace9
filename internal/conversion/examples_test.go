package conversion

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The worked examples of DOMAIN §15, run through the JSON contract and
// compared as printed strings, digit for digit.

const exampleAConversion = `{"kind":"conversion","unit":"registered_capital","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "pre_money_units":"1000000","round":{"pre_money_valuation":"80000000","new_money":"20000000"},
 "pricing":{"method":"round_price"}}`

const exampleAExit = `{"kind":"exit","unit_scale":2,"units":"37500.00","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "policy":{"return_rate":"0.03","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2027-01-15","units":"12500.00","market_value":"2900000.00"},
             {"date":"2028-01-15","units":"12500.00"},
             {"date":"2029-01-15","rest":true,"market_value":"900000.00"}]}`

const exampleBConversion = `{"kind":"conversion","unit":"registered_capital","conversion_date":"2026-06-30",
 "disbursements":[{"date":"2025-01-10","amount":"10000000.00"}],
 "pre_money_units":"5000000","round":{"pre_money_valuation":"400000000","new_money":"30000000"},
 "pricing":{"method":"round_price","discount":"0.20","valuation_cap":"300000000"}}`

const exampleBExit = `{"kind":"exit","units":"166666.66","conversion_date":"2026-06-30",
 "disbursements":[{"date":"2025-01-10","amount":"10000000.00"}],
 "policy":{"return_rate":"0.03","accrual_from":"conversion","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2031-06-30","rest":true,"market_value":"15037536.00"}]}`

const exampleC = `{"kind":"conversion","unit":"shares","conversion_date":"2026-09-30",
 "disbursements":[{"date":"2025-03-01","amount":"2000000.00"}],
 "pre_money_units":"3000000",
 "pricing":{"method":"appraisal","appraised_value":"15000000","discount":"0.10"},
 "max_stake":"0.10","interest":{"rate":"0.031"}}`

// Example D gives no round size; new money does not affect the platform's
// units unless a stake ceiling applies, so any positive amount will do.
const exampleDCap = `{"kind":"conversion","unit":"shares","conversion_date":"2026-01-01",
 "disbursements":[{"date":"2025-01-01","amount":"25000"}],
 "pre_money_units":"2000000","round":{"pre_money_valuation":"10000000","new_money":"2000000"},
 "pricing":{"method":"round_price","discount":"0.20","valuation_cap":"5000000"}}`

const exampleDDiscount = `{"kind":"conversion","unit":"shares","conversion_date":"2026-01-01",
 "disbursements":[{"date":"2025-01-01","amount":"25000"}],
 "pre_money_units":"1200000","round":{"pre_money_valuation":"6000000","new_money":"2000000"},
 "pricing":{"method":"round_price","discount":"0.20","valuation_cap":"5000000"}}`

// Example E: example A's holding under a reference rate (the 1-year LPR plus
// 0.5%), a 0% tier within 2 years and an appraisal after 4, sold to the team,
// to a third party through a listing, and to the team again at its appraisal.
const exampleEExit = `{"kind":"exit","unit_scale":2,"units":"37500.00","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "policy":{"return_basis":"reference",
           "reference_rates":[{"from":"2024-07-22","rate":"0.0335"},{"from":"2024-10-21","rate":"0.0310"},{"from":"2025-05-20","rate":"0.0300"}],
           "spread":"0.005","tiers":[{"within_years":2,"return_rate":"0"}],"appraisal_after_years":4,
           "accrual_from":"disbursement","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2027-06-30","units":"12500.00","buyer":"team","market_value":"2000000.00"},
             {"date":"2029-01-15","units":"12500.00","buyer":"third_party","market_value":"1600000.00"},
             {"date":"2030-03-31","rest":true,"buyer":"team","appraised_value":"1300000.00"}]}`

// The spreadsheet vendor's XIRR example, expressed as an exit: one
// disbursement of 10000 and four sales whose market values (the vendor's
// inflows) are below their cap amounts at a 100% return, so under the market
// rule the proceeds are exactly those inflows.
const exampleSpreadsheetXIRR = `{"kind":"exit","unit_scale":0,"units":"10000","conversion_date":"2008-01-01",
 "disbursements":[{"date":"2008-01-01","amount":"10000"}],
 "policy":{"return_rate":"1","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2008-03-01","units":"2600","market_value":"2750"},
             {"date":"2008-10-30","units":"2700","market_value":"4250"},
             {"date":"2009-02-15","units":"2500","market_value":"3250"},
             {"date":"2009-04-01","rest":true,"market_value":"2750"}]}`

func TestWorkedExamples(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string // JSON path → printed value ("null" for null)
	}{
		{"AConversionAtRoundPrice", exampleAConversion, map[string]string{
			"conversion_amount":       "3000000.00",
			"pre_conversion_interest": "0.00",
			"reference_price":         "80.000000",
			"conversion_price":        "80.000000",
			"price_basis":             "round",
			"units":                   "37500.00",
			"to_registered_capital":   "37500.00",
			"to_capital_reserve":      "2962500.00",
			"round_investor_units":    "250000.00",
			"post_money_units":        "1287500.00",
			"stake":                   "0.02912621",
			"stakes.existing":         "0.77669903",
			"stakes.round_investor":   "0.19417476",
			"stakes.platform":         "0.02912621",
		}},
		{"AExitInThreeTranches", exampleAExit, map[string]string{
			"tranches[0].date":         "2027-01-15",
			"tranches[0].units":        "12500.00",
			"tranches[0].cost":         "1000000.00",
			"tranches[0].interest":     "90082.19",
			"tranches[0].cap_amount":   "1090082.19",
			"tranches[0].market_value": "2900000.00",
			"tranches[0].proceeds":     "1090082.19",
			"tranches[0].concession":   "1809917.81",
			"tranches[0].gain":         "90082.19",
			"tranches[1].units":        "12500.00",
			"tranches[1].cost":         "1000000.00",
			"tranches[1].interest":     "105041.10",
			"tranches[1].market_value": "null",
			"tranches[1].proceeds":     "1105041.10",
			"tranches[1].concession":   "0.00",
			"tranches[2].units":        "12500.00",
			"tranches[2].cost":         "1000000.00",
			"tranches[2].interest":     "120082.19",
			"tranches[2].cap_amount":   "1120082.19",
			"tranches[2].proceeds":     "900000.00",
			"tranches[2].concession":   "0.00",
			"tranches[2].gain":         "-100000.00",
			"totals.units_sold":        "37500.00",
			"totals.units_remaining":   "0.00",
			"totals.cost_released":     "3000000.00",
			"totals.proceeds":          "3095123.29",
			"totals.interest":          "315205.48",
			"totals.concession":        "1809917.81",
			"totals.gain":              "95123.29",
			"totals.moic":              "1.031708",
			"totals.xirr":              "0.00911826",
		}},
		{"EReferenceTierAppraisalListing", exampleEExit, map[string]string{
			"tranches[0].date":            "2027-06-30",
			"tranches[0].units":           "12500.00",
			"tranches[0].cost":            "1000000.00",
			"tranches[0].rate":            "0.000000",
			"tranches[0].rate_basis":      "tier",
			"tranches[0].buyer":           "team",
			"tranches[0].appraised_value": "null",
			"tranches[0].interest":        "0.00",
			"tranches[0].cap_amount":      "1000000.00",
			"tranches[0].market_value":    "2000000.00",
			"tranches[0].proceeds":        "1000000.00",
			"tranches[0].concession":      "1000000.00",
			"tranches[0].gain":            "0.00",
			"tranches[1].date":            "2029-01-15",
			"tranches[1].units":           "12500.00",
			"tranches[1].cost":            "1000000.00",
			"tranches[1].rate":            "0.035000",
			"tranches[1].rate_basis":      "reference",
			"tranches[1].buyer":           "third_party",
			"tranches[1].appraised_value": "null",
			"tranches[1].interest":        "157643.84",
			"tranches[1].cap_amount":      "1157643.84",
			"tranches[1].market_value":    "1600000.00",
			"tranches[1].proceeds":        "1600000.00",
			"tranches[1].concession":      "0.00",
			"tranches[1].gain":            "600000.00",
			"tranches[2].date":            "2030-03-31",
			"tranches[2].units":           "12500.00",
			"tranches[2].cost":            "1000000.00",
			"tranches[2].rate":            "0.035000",
			"tranches[2].rate_basis":      "reference",
			"tranches[2].buyer":           "team",
			"tranches[2].appraised_value": "1300000.00",
			"tranches[2].interest":        "182287.67",
			"tranches[2].cap_amount":      "1182287.67",
			"tranches[2].market_value":    "null",
			"tranches[2].proceeds":        "1300000.00",
			"tranches[2].concession":      "0.00",
			"tranches[2].gain":            "300000.00",
			"totals.units_sold":           "37500.00",
			"totals.units_remaining":      "0.00",
			"totals.cost_released":        "3000000.00",
			"totals.proceeds":             "3900000.00",
			"totals.interest":             "339931.51",
			"totals.concession":           "1000000.00",
			"totals.gain":                 "900000.00",
			"totals.moic":                 "1.300000",
			"totals.xirr":                 "0.06025647",
		}},
		{"BConversionCapWins", exampleBConversion, map[string]string{
			"reference_price":      "80.000000",
			"conversion_price":     "60.000000",
			"price_basis":          "cap",
			"units":                "166666.66",
			"to_capital_reserve":   "9833333.34",
			"round_investor_units": "375000.00",
			"post_money_units":     "5541666.66",
			"stake":                "0.03007519",
		}},
		{"BExitFromConversion", exampleBExit, map[string]string{
			"tranches[0].units":      "166666.66",
			"tranches[0].interest":   "1500821.92",
			"tranches[0].proceeds":   "11500821.92",
			"tranches[0].concession": "3536714.08",
			"totals.proceeds":        "11500821.92",
			"totals.concession":      "3536714.08",
			"totals.moic":            "1.150082",
			"totals.xirr":            "0.02184362",
		}},
		{"CAppraisalWithStakeCeiling", exampleC, map[string]string{
			"pre_conversion_interest": "98180.82",
			"conversion_amount":       "2098180.82",
			"reference_price":         "5.000000",
			"conversion_price":        "6.294549",
			"price_basis":             "stake_ceiling",
			"units":                   "333333",
			"to_capital_reserve":      "1764847.82",
			"post_money_units":        "3333333",
			"stake":                   "0.09999991",
		}},
		{"DCapWins", exampleDCap, map[string]string{
			"conversion_price": "2.500000",
			"price_basis":      "cap",
			"units":            "10000",
		}},
		{"DDiscountWins", exampleDDiscount, map[string]string{
			"conversion_price": "4.000000",
			"price_basis":      "discount",
			"units":            "6250",
		}},
		{"SpreadsheetXIRR", exampleSpreadsheetXIRR, map[string]string{
			"tranches[0].proceeds": "2750.00",
			"tranches[1].proceeds": "4250.00",
			"tranches[2].proceeds": "3250.00",
			"tranches[3].proceeds": "2750.00",
			"totals.xirr":          "0.37336253",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Calculate([]byte(tt.body))
			if err != nil {
				t.Fatalf("Calculate: %v", err)
			}
			var doc any
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("result is not JSON: %v\n%s", err, out)
			}
			for path, want := range tt.want {
				got, err := lookup(doc, path)
				if err != nil {
					t.Errorf("%s: %v", path, err)
					continue
				}
				if got != want {
					t.Errorf("%s = %s, want %s", path, got, want)
				}
			}
		})
	}
}

// TestResultFieldsAreTheContract checks that without "explain" a result has
// exactly the fields of DOMAIN §14, and with it only "steps" is added.
func TestResultFieldsAreTheContract(t *testing.T) {
	convFields := []string{"conversion_amount", "conversion_price", "post_money_units", "pre_conversion_interest",
		"price_basis", "reference_price", "round_investor_units", "stake", "stakes", "to_capital_reserve",
		"to_registered_capital", "units"}
	exitFields := []string{"totals", "tranches"}
	for _, tc := range []struct {
		name, body string
		fields     []string
	}{
		{"Conversion", exampleAConversion, convFields},
		{"Exit", exampleAExit, exitFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, explain := range []bool{false, true} {
				body := tc.body
				want := tc.fields
				if explain {
					body = strings.Replace(body, `{"kind"`, `{"explain":true,"kind"`, 1)
					want = append(slices.Clone(want), "steps")
					slices.Sort(want)
				}
				out, err := Calculate([]byte(body))
				if err != nil {
					t.Fatal(err)
				}
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(out, &obj); err != nil {
					t.Fatal(err)
				}
				got := slices.Sorted(func(yield func(string) bool) {
					for k := range obj {
						if !yield(k) {
							return
						}
					}
				})
				if !slices.Equal(got, want) {
					t.Errorf("explain=%v: fields %v, want %v", explain, got, want)
				}
			}
		})
	}
	t.Run("ExitTrancheAndTotals", func(t *testing.T) {
		out, err := Calculate([]byte(exampleAExit))
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Tranches []map[string]json.RawMessage
			Totals   map[string]json.RawMessage
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		wantTr := []string{"cap_amount", "concession", "cost", "date", "gain", "interest", "market_value", "proceeds", "units"}
		wantTot := []string{"concession", "cost_released", "gain", "interest", "moic", "proceeds", "units_remaining", "units_sold", "xirr"}
		if got := sortedKeys(res.Tranches[0]); !slices.Equal(got, wantTr) {
			t.Errorf("tranche fields %v, want %v", got, wantTr)
		}
		if got := sortedKeys(res.Totals); !slices.Equal(got, wantTot) {
			t.Errorf("totals fields %v, want %v", got, wantTot)
		}
	})
}

// TestPrintedDecimals checks the fixed number of decimals of every printed
// figure, including a unit scale that differs from the default.
func TestPrintedDecimals(t *testing.T) {
	out, err := Calculate([]byte(strings.Replace(exampleC, `"unit":"shares"`, `"unit":"shares","unit_scale":1`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	var res ConvertResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	check := func(name, v string, places int) {
		t.Helper()
		re := `^-?\d+$`
		if places > 0 {
			re = fmt.Sprintf(`^-?\d+\.\d{%d}$`, places)
		}
		if !regexp.MustCompile(re).MatchString(v) {
			t.Errorf("%s = %q, want %d decimals", name, v, places)
		}
	}
	check("conversion_amount", res.ConversionAmount, 2)
	check("reference_price", *res.ReferencePrice, 6)
	check("conversion_price", res.ConversionPrice, 6)
	check("units", res.Units, 1)
	check("round_investor_units", res.RoundInvestorUnits, 1)
	check("post_money_units", res.PostMoneyUnits, 1)
	check("to_registered_capital", res.ToRegisteredCapital, 2)
	check("stake", res.Stake, 8)
	check("stakes.existing", res.Stakes.Existing, 8)
	// Ceiling at 1 decimal: G = 0.1 × 3000000 / 0.9 = 333333.33… → 333333.3.
	if res.Units != "333333.3" {
		t.Errorf("units = %s, want 333333.3", res.Units)
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lookup follows a path like "tranches[2].units" in a decoded JSON document
// and returns the string there, or "null".
func lookup(doc any, path string) (string, error) {
	cur := doc
	for part := range strings.SplitSeq(path, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", fmt.Errorf("not an object at %q", name)
		}
		if cur, ok = obj[name]; !ok {
			return "", fmt.Errorf("no field %q", name)
		}
		if hasIdx {
			i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil {
				return "", err
			}
			arr, ok := cur.([]any)
			if !ok || i >= len(arr) {
				return "", fmt.Errorf("no element %d of %q", i, name)
			}
			cur = arr[i]
		}
	}
	switch v := cur.(type) {
	case nil:
		return "null", nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("value %v is not a string", cur)
}

// latinWord is a word of lower-case Latin letters (an engine key).
var latinWord = regexp.MustCompile(`[A-Za-z]*[a-z][A-Za-z_]+`)

// TestExplainSteps checks that the explanation names the figures a reader
// needs to follow the calculation, in Chinese.
func TestExplainSteps(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // fragments that must appear in some step
	}{
		{"AConversion", exampleAConversion, []string{"参考价格", "80.000000", "（依据：融资轮价格）", "250000.00", "37500.00", "资本公积", "2962500.00", "0.02912621", "0.77669903"}},
		{"CStakeCeiling", exampleC, []string{"578 天", "98180.82", "5.000000", "4.500000", "466262", "超过上限", "333333", "6.294549", "（依据：持股比例上限）", "股本"}},
		{"BCap", exampleBConversion, []string{"折扣", "64.000000", "估值上限价格", "60.000000"}},
		{"AExit", exampleAExit, []string{"1096 天", "1461 天", "1095 天", "90082.19", "105041.10", "1809917.81", "按“市场价值”规则", "-100000.00", "1.031708", "0.00911826"}},
		{"BExit", exampleBExit, []string{"1826 天", "1500821.92", "3536714.08", "0.02184362"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(tt.body, `{"kind"`, `{"explain":true,"kind"`, 1)
			out, err := Calculate([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			var res struct{ Steps []string }
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(res.Steps, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("steps lack %q:\n%s", w, all)
				}
			}
			for _, s := range res.Steps {
				if !hasHan(s) {
					t.Errorf("step %q is not in Chinese", s)
				}
				// A person reads the steps (simulator, conversion and exit
				// pages, printouts): no engine key such as "round" or
				// "pro_rata" may show; upper-case MOIC and XIRR are the
				// measures' names.
				if w := latinWord.FindString(s); w != "" {
					t.Errorf("step %q shows the English word %q", s, w)
				}
			}
		})
	}
}
