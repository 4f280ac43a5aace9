package conversion

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// exitOf runs a request given as JSON (usually an edit of a worked example)
// and returns its result, failing the test on an error.
func exitOf(t *testing.T, body string) ExitResult {
	t.Helper()
	out, err := Calculate([]byte(body))
	if err != nil {
		t.Fatalf("Calculate: %v\n%s", err, body)
	}
	var res ExitResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAnniversary(t *testing.T) {
	tests := []struct {
		conv  string
		years int
		want  string
	}{
		{"2026-01-15", 2, "2028-01-15"},
		{"2024-02-29", 1, "2025-02-28"}, // no 29 February in 2025
		{"2024-02-29", 4, "2028-02-29"},
		{"2024-02-28", 1, "2025-02-28"},
		{"2023-03-01", 1, "2024-03-01"},
		{"2099-12-31", 1, "2100-12-31"},
		{"2096-02-29", 4, "2100-02-28"}, // 2100 is not a leap year
		{"2000-02-29", 100, "2100-02-28"},
	}
	for _, tt := range tests {
		day, err := parseDate(tt.conv, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := dayString(anniversary(day, tt.years)); got != tt.want {
			t.Errorf("anniversary(%s, %d) = %s, want %s", tt.conv, tt.years, got, tt.want)
		}
	}
	// Beyond the span of accepted dates every anniversary is later than any
	// tranche (and computing it neither overflows nor panics).
	day, _ := parseDate("2026-01-15", "", "")
	last, _ := parseDate("2199-12-31", "", "")
	for _, n := range []int{300, 1000, 1 << 40} {
		if a := anniversary(day, n); a <= last {
			t.Errorf("anniversary(2026-01-15, %d) = %s, want after 2199-12-31", n, dayString(a))
		}
	}
}

// TestExitPolicyRules checks the edges of DOMAIN §10's rate and price
// rules, each on example E changed in one place.
func TestExitPolicyRules(t *testing.T) {
	ex := exampleEExit
	t.Run("TierIncludesTheAnniversary", func(t *testing.T) {
		// Converted on 29 February: the 1-year anniversary is 28 February.
		body := edit(t, ex, func(m map[string]any) {
			m["conversion_date"] = "2024-02-29"
			m["disbursements"] = []any{map[string]any{"date": "2024-01-15", "amount": "3000000.00"}}
			obj(m, "policy")["tiers"] = []any{map[string]any{"within_years": 1, "return_rate": "0.01"}}
			delete(obj(m, "policy"), "appraisal_after_years")
			m["tranches"] = []any{
				map[string]any{"date": "2025-02-28", "units": "12500.00"},
				map[string]any{"date": "2025-03-01", "rest": true},
			}
		})
		res := exitOf(t, body)
		if got := []string{res.Tranches[0].RateBasis, res.Tranches[0].Rate, res.Tranches[1].RateBasis, res.Tranches[1].Rate}; !slices.Equal(got, []string{"tier", "0.010000", "reference", "0.036000"}) {
			t.Errorf("bases and rates %v, want tier 0.01 on the anniversary and LPR 3.10%% + 0.5%% the day after", got)
		}
	})
	t.Run("FirstMatchingTierWins", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) {
			obj(m, "policy")["tiers"] = []any{
				map[string]any{"within_years": 1, "return_rate": "0"},
				map[string]any{"within_years": 3, "return_rate": "0.02"},
			}
		})
		res := exitOf(t, body)
		// 2027-06-30 is after the 1st anniversary and within the 3rd: 2%;
		// 2029-01-15 is the 3rd anniversary itself, still within: 2%;
		// 2030-03-31 is beyond every tier: the reference rate.
		want := []string{"0.020000 tier", "0.020000 tier", "0.035000 reference"}
		for i, tr := range res.Tranches {
			if got := tr.Rate + " " + tr.RateBasis; got != want[i] {
				t.Errorf("tranche %d: %s, want %s", i, got, want[i])
			}
		}
	})
	t.Run("ReferenceEntryInForceFromItsDate", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) {
			delete(obj(m, "policy"), "tiers")
			delete(obj(m, "policy"), "appraisal_after_years")
			obj(m, "policy")["reference_rates"] = []any{
				map[string]any{"from": "2026-01-15", "rate": "0.0300"},
				map[string]any{"from": "2027-06-30", "rate": "0.0250"},
			}
			obj(m, "policy")["spread"] = "-0.005"
			m["tranches"] = []any{
				map[string]any{"date": "2027-06-29", "units": "12500.00"},
				map[string]any{"date": "2027-06-30", "rest": true},
			}
		})
		res := exitOf(t, body)
		if res.Tranches[0].Rate != "0.025000" || res.Tranches[1].Rate != "0.020000" {
			t.Errorf("rates %s, %s, want 0.025 the day before the change and 0.02 on it", res.Tranches[0].Rate, res.Tranches[1].Rate)
		}
	})
	t.Run("AppraisalNotRequiredOnTheAnniversary", func(t *testing.T) {
		// 2030-01-15 is anniversary(4) itself: not after it, so no appraisal
		// is needed, and one given is recorded without changing P.
		body := edit(t, ex, func(m map[string]any) {
			elem(m, "tranches", 2)["date"] = "2030-01-15"
			elem(m, "tranches", 2)["appraised_value"] = "9000000.00"
		})
		tr := exitOf(t, body).Tranches[2]
		if tr.AppraisedValue == nil || *tr.AppraisedValue != "9000000.00" || tr.Proceeds != tr.CapAmount {
			t.Errorf("tranche %+v, want the appraisal recorded and P = K", tr)
		}
	})
	t.Run("AppraisalBelowPriceChangesNothing", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) { elem(m, "tranches", 2)["appraised_value"] = "1000000.00" })
		if tr := exitOf(t, body).Tranches[2]; tr.Proceeds != "1182287.67" {
			t.Errorf("proceeds %s, want K 1182287.67 above the appraisal", tr.Proceeds)
		}
	})
	t.Run("AppraisalFloorLowersTheConcession", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) { elem(m, "tranches", 2)["market_value"] = "1500000.00" })
		tr := exitOf(t, body).Tranches[2]
		if tr.Proceeds != "1300000.00" || tr.Concession != "200000.00" {
			t.Errorf("proceeds %s, concession %s, want 1300000.00 and 200000.00 (MV − P)", tr.Proceeds, tr.Concession)
		}
	})
	t.Run("AppraisalFloorOverridesTheMarketRule", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) { elem(m, "tranches", 2)["market_value"] = "800000.00" })
		tr := exitOf(t, body).Tranches[2]
		if tr.Proceeds != "1300000.00" || tr.Concession != "0.00" {
			t.Errorf("proceeds %s, concession %s, want the appraisal 1300000.00 and none", tr.Proceeds, tr.Concession)
		}
	})
	t.Run("ThirdPartyPaysItsPriceWhateverTheAppraisal", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) {
			obj(m, "policy")["appraisal_after_years"] = 2
			elem(m, "tranches", 1)["appraised_value"] = "1700000.00"
		})
		tr := exitOf(t, body).Tranches[1]
		if tr.Proceeds != "1600000.00" || tr.Concession != "0.00" || tr.AppraisedValue == nil || *tr.AppraisedValue != "1700000.00" {
			t.Errorf("tranche %+v, want P = MV 1600000.00 with the appraisal recorded", tr)
		}
	})
	t.Run("ThirdPartyBelowCapUnderCapRule", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) {
			obj(m, "policy")["below_cap"] = "cap"
			elem(m, "tranches", 1)["market_value"] = "900000.00"
		})
		if tr := exitOf(t, body).Tranches[1]; tr.Proceeds != "900000.00" || tr.Gain != "-100000.00" {
			t.Errorf("proceeds %s gain %s, want the listing price 900000.00 even under rule cap", tr.Proceeds, tr.Gain)
		}
	})
	t.Run("ReturnRateIgnoredWithReference", func(t *testing.T) {
		body := edit(t, ex, func(m map[string]any) { obj(m, "policy")["return_rate"] = "not a number" })
		if res := exitOf(t, body); *res.Totals.XIRR != "0.06025647" {
			t.Errorf("XIRR %s, want example E's", *res.Totals.XIRR)
		}
	})
	t.Run("ExplainNamesTheRules", func(t *testing.T) {
		body := strings.Replace(ex, `{"kind"`, `{"explain":true,"kind"`, 1)
		all := strings.Join(exitOf(t, body).Steps, "\n")
		for _, w := range []string{"2028-01-15", "计息（分档）", "2025-05-20", "3.00%", "0.50%", "（参考利率）", "公开挂牌", "1600000.00", "2030-01-15", "按评估值", "1300000.00", "0.06025647"} {
			if !strings.Contains(all, w) {
				t.Errorf("steps lack %q:\n%s", w, all)
			}
		}
		if w := latinWord.FindString(all); w != "" {
			t.Errorf("steps show the English word %q:\n%s", w, all)
		}
	})
}

// TestOldRequestsPrintAsBefore pins the byte-for-byte JSON of a request that
// uses none of the issue-17 fields (example A's exit, printed before they
// existed), and checks that decoding and encoding a result again gives the
// same bytes, old or new.
func TestOldRequestsPrintAsBefore(t *testing.T) {
	const exampleAExitJSON = `{"tranches":[` +
		`{"date":"2027-01-15","units":"12500.00","cost":"1000000.00","interest":"90082.19","cap_amount":"1090082.19","market_value":"2900000.00","proceeds":"1090082.19","concession":"1809917.81","gain":"90082.19"},` +
		`{"date":"2028-01-15","units":"12500.00","cost":"1000000.00","interest":"105041.10","cap_amount":"1105041.10","market_value":null,"proceeds":"1105041.10","concession":"0.00","gain":"105041.10"},` +
		`{"date":"2029-01-15","units":"12500.00","cost":"1000000.00","interest":"120082.19","cap_amount":"1120082.19","market_value":"900000.00","proceeds":"900000.00","concession":"0.00","gain":"-100000.00"}],` +
		`"totals":{"units_sold":"37500.00","units_remaining":"0.00","cost_released":"3000000.00","proceeds":"3095123.29","interest":"315205.48","concession":"1809917.81","gain":"95123.29","moic":"1.031708","xirr":"0.00911826"}}`
	out, err := Calculate([]byte(exampleAExit))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != exampleAExitJSON {
		t.Errorf("example A's exit\n got %s\nwant %s", out, exampleAExitJSON)
	}
	// Naming the default basis or buyer is using the new contract: the
	// result then carries the new fields.
	named := strings.Replace(exampleAExit, `"policy":{`, `"policy":{"return_basis":"fixed",`, 1)
	if res := exitOf(t, named); res.Tranches[0].RateBasis != "fixed" || res.Tranches[0].Rate != "0.030000" || res.Tranches[0].Buyer != "team" {
		t.Errorf("tranche %+v, want rate 0.030000, basis fixed, buyer team", res.Tranches[0])
	}
	for _, body := range []string{exampleAExit, exampleBExit, exampleEExit, named} {
		out, err := Calculate([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var res ExitResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(out) {
			t.Errorf("round trip changed the result\n got %s\nwant %s", again, out)
		}
	}
}

// TestNewTrancheFields checks that a request using the new policy fields
// gets every tranche field of DOMAIN §14, in the contract's order.
func TestNewTrancheFields(t *testing.T) {
	out, err := Calculate([]byte(exampleEExit))
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Tranches []json.RawMessage }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	want := []string{"date", "units", "cost", "interest", "rate", "rate_basis", "buyer", "appraised_value", "cap_amount", "market_value", "proceeds", "concession", "gain"}
	for i, raw := range res.Tranches {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		var keys []string
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k.(string))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(keys, want) {
			t.Errorf("tranche %d fields %v, want %v", i, keys, want)
		}
	}
}
