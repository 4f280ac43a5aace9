package conversion

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
)

// edit decodes a JSON example, lets f change it and encodes it again, so each
// error case reads as "the worked example, but with this one thing wrong".
func edit(t testing.TB, base string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }
func elem(m map[string]any, key string, i int) map[string]any {
	return m[key].([]any)[i].(map[string]any)
}

func TestInputErrors(t *testing.T) {
	conv, exit, ex := exampleAConversion, exampleAExit, exampleEExit
	manyDisb := edit(t, conv, func(m map[string]any) {
		ds := make([]any, MaxDisbursements+1)
		for i := range ds {
			ds[i] = map[string]any{"date": "2024-01-15", "amount": "1.00"}
		}
		m["disbursements"] = ds
	})
	tests := []struct {
		name, body, field string
	}{
		// The request as a whole.
		{"EmptyBody", "", ""},
		{"MalformedJSON", `{"kind":"conversion",`, ""},
		{"NotJSON", `kind=conversion`, ""},
		{"TopLevelArray", `[1,2]`, ""},
		{"TrailingData", conv + ` {}`, ""},
		{"TooLarge", `{"kind":"conversion","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, ""},
		{"MissingKind", `{"unit":"shares"}`, "kind"},
		{"KindNotString", `{"kind":1}`, "kind"},
		{"UnknownKind", `{"kind":"loan"}`, "kind"},

		// Decoding: unknown fields and wrong JSON types, with full paths.
		{"UnknownTopField", edit(t, conv, func(m map[string]any) { m["foo"] = "1" }), "foo"},
		{"UnknownNestedField", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["discont"] = "0.2" }), "pricing.discont"},
		{"UnknownFieldInArray", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 1)["unit"] = "1" }), "tranches[1].unit"},
		{"NumberNotString", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 1)["amount"] = 1500000 }), "disbursements[1].amount"},
		{"ArrayNotObject", edit(t, conv, func(m map[string]any) { m["disbursements"] = "1500000" }), "disbursements"},
		{"UnitScaleString", edit(t, conv, func(m map[string]any) { m["unit_scale"] = "2" }), "unit_scale"},
		{"UnitScaleFraction", edit(t, conv, func(m map[string]any) { m["unit_scale"] = 1.5 }), "unit_scale"},
		{"RestNotBool", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 2)["rest"] = "true" }), "tranches[2].rest"},

		// Conversion: §14's list.
		{"UnknownUnit", edit(t, conv, func(m map[string]any) { m["unit"] = "yuan" }), "unit"},
		{"UnitScaleOutOfRange", edit(t, conv, func(m map[string]any) { m["unit_scale"] = 3 }), "unit_scale"},
		{"MissingConversionDate", edit(t, conv, func(m map[string]any) { delete(m, "conversion_date") }), "conversion_date"},
		{"MalformedDate", edit(t, conv, func(m map[string]any) { m["conversion_date"] = "2026-1-15" }), "conversion_date"},
		{"ImpossibleDate", edit(t, conv, func(m map[string]any) { m["conversion_date"] = "2026-02-30" }), "conversion_date"},
		{"DateOutOfRange", edit(t, conv, func(m map[string]any) { m["conversion_date"] = "9999-01-01" }), "conversion_date"},
		{"NoDisbursements", edit(t, conv, func(m map[string]any) { m["disbursements"] = []any{} }), "disbursements"},
		{"TooManyDisbursements", manyDisb, "disbursements"},
		{"MissingAmount", edit(t, conv, func(m map[string]any) { delete(elem(m, "disbursements", 1), "amount") }), "disbursements[1].amount"},
		{"ZeroAmount", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = "0.00" }), "disbursements[0].amount"},
		{"NegativeAmount", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = "-5" }), "disbursements[0].amount"},
		{"AmountWithComma", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = "1,500,000.00" }), "disbursements[0].amount"},
		{"AmountWithExponent", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = "1.5e6" }), "disbursements[0].amount"},
		{"AmountWithSpace", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = " 1500000" }), "disbursements[0].amount"},
		{"AmountThreeDecimals", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = "1500000.001" }), "disbursements[0].amount"},
		{"AmountTooLarge", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 0)["amount"] = "1000000000000000" }), "disbursements[0].amount"},
		{"AmountTooLong", edit(t, conv, func(m map[string]any) {
			elem(m, "disbursements", 0)["amount"] = "1." + strings.Repeat("0", 60)
		}), "disbursements[0].amount"},
		{"DisbursementAfterConversion", edit(t, conv, func(m map[string]any) { elem(m, "disbursements", 1)["date"] = "2026-01-16" }), "disbursements[1].date"},
		{"ZeroPreMoneyUnits", edit(t, conv, func(m map[string]any) { m["pre_money_units"] = "0" }), "pre_money_units"},
		{"UnitsBeyondScale", edit(t, conv, func(m map[string]any) { m["pre_money_units"] = "1000000.001" }), "pre_money_units"},
		{"FractionalShares", edit(t, exampleC, func(m map[string]any) { m["pre_money_units"] = "3000000.5" }), "pre_money_units"},
		{"RoundPriceWithoutRound", edit(t, conv, func(m map[string]any) { delete(m, "round") }), "round"},
		{"RoundWithoutValuation", edit(t, conv, func(m map[string]any) { delete(obj(m, "round"), "pre_money_valuation") }), "round.pre_money_valuation"},
		{"RoundWithZeroValuation", edit(t, conv, func(m map[string]any) { obj(m, "round")["pre_money_valuation"] = "0" }), "round.pre_money_valuation"},
		{"RoundWithoutNewMoney", edit(t, conv, func(m map[string]any) { delete(obj(m, "round"), "new_money") }), "round.new_money"},
		{"MissingMethod", edit(t, conv, func(m map[string]any) { delete(obj(m, "pricing"), "method") }), "pricing.method"},
		{"UnknownMethod", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["method"] = "vwap" }), "pricing.method"},
		{"DiscountOne", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["discount"] = "1" }), "pricing.discount"},
		{"DiscountNegative", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["discount"] = "-0.1" }), "pricing.discount"},
		{"DiscountAsPercent", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["discount"] = "20" }), "pricing.discount"},
		{"ZeroCap", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["valuation_cap"] = "0" }), "pricing.valuation_cap"},
		{"ZeroFloor", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["floor_price"] = "0" }), "pricing.floor_price"},
		{"RoundPriceWithPrice", edit(t, conv, func(m map[string]any) { obj(m, "pricing")["price"] = "60" }), "pricing.price"},
		{"AppraisalWithoutValue", edit(t, exampleC, func(m map[string]any) { delete(obj(m, "pricing"), "appraised_value") }), "pricing.appraised_value"},
		{"FixedPriceWithoutPrice", edit(t, conv, func(m map[string]any) { m["pricing"] = map[string]any{"method": "fixed_price"} }), "pricing.price"},
		{"FixedPriceZero", edit(t, conv, func(m map[string]any) { m["pricing"] = map[string]any{"method": "fixed_price", "price": "0"} }), "pricing.price"},
		{"FixedPriceWithDiscount", edit(t, conv, func(m map[string]any) {
			m["pricing"] = map[string]any{"method": "fixed_price", "price": "60", "discount": "0.2"}
		}), "pricing.discount"},
		{"FixedStakeWithoutStake", edit(t, conv, func(m map[string]any) { m["pricing"] = map[string]any{"method": "fixed_stake"} }), "pricing.stake"},
		{"StakeZero", edit(t, conv, func(m map[string]any) { m["pricing"] = map[string]any{"method": "fixed_stake", "stake": "0"} }), "pricing.stake"},
		{"StakeOne", edit(t, conv, func(m map[string]any) { m["pricing"] = map[string]any{"method": "fixed_stake", "stake": "1"} }), "pricing.stake"},
		{"StakeTooSmallForOneUnit", edit(t, exampleC, func(m map[string]any) {
			m["pricing"] = map[string]any{"method": "fixed_stake", "stake": "0.0000001"}
		}), "pricing.stake"},
		{"MaxStakeOne", edit(t, conv, func(m map[string]any) { m["max_stake"] = "1" }), "max_stake"},
		{"MaxStakeZero", edit(t, conv, func(m map[string]any) { m["max_stake"] = "0" }), "max_stake"},
		{"InterestWithoutRate", edit(t, conv, func(m map[string]any) { m["interest"] = map[string]any{} }), "interest.rate"},
		{"InterestRateAbove100Percent", edit(t, conv, func(m map[string]any) { m["interest"] = map[string]any{"rate": "1.5"} }), "interest.rate"},
		{"LessThanOneUnit", edit(t, exampleC, func(m map[string]any) {
			m["disbursements"] = []any{map[string]any{"date": "2025-03-01", "amount": "0.01"}}
			delete(m, "interest")
			delete(m, "max_stake")
		}), "disbursements"},

		// Exit: §14's list.
		{"ExitZeroUnits", edit(t, exit, func(m map[string]any) { m["units"] = "0" }), "units"},
		{"ExitUnitsBeyondScale", edit(t, exit, func(m map[string]any) { m["units"] = "37500.005" }), "units"},
		{"ExitMissingRate", edit(t, exit, func(m map[string]any) { delete(obj(m, "policy"), "return_rate") }), "policy.return_rate"},
		{"ExitNegativeRate", edit(t, exit, func(m map[string]any) { obj(m, "policy")["return_rate"] = "-0.03" }), "policy.return_rate"},
		{"ExitUnknownAccrual", edit(t, exit, func(m map[string]any) { obj(m, "policy")["accrual_from"] = "signing" }), "policy.accrual_from"},
		{"ExitUnknownAllocation", edit(t, exit, func(m map[string]any) { obj(m, "policy")["allocation"] = "lifo" }), "policy.allocation"},
		{"ExitUnknownBelowCap", edit(t, exit, func(m map[string]any) { obj(m, "policy")["below_cap"] = "" }), "policy.below_cap"},
		{"ExitDisbursementAfterConversion", edit(t, exit, func(m map[string]any) { elem(m, "disbursements", 0)["date"] = "2026-02-01" }), "disbursements[0].date"},
		{"ExitNoTranches", edit(t, exit, func(m map[string]any) { m["tranches"] = []any{} }), "tranches"},
		{"TrancheBeforeConversion", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 0)["date"] = "2026-01-14" }), "tranches[0].date"},
		{"TranchesOutOfOrder", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 2)["date"] = "2027-06-30" }), "tranches[2].date"},
		{"TrancheZeroUnits", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 0)["units"] = "0.00" }), "tranches[0].units"},
		{"TrancheFractionRoundsToZero", edit(t, exit, func(m map[string]any) {
			tr := elem(m, "tranches", 0)
			delete(tr, "units")
			tr["fraction"] = "0.0000001"
		}), "tranches[0].fraction"},
		{"TrancheFractionAboveOne", edit(t, exit, func(m map[string]any) {
			tr := elem(m, "tranches", 0)
			delete(tr, "units")
			tr["fraction"] = "1.5"
		}), "tranches[0].fraction"},
		{"TrancheSellsMoreThanHeld", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 1)["units"] = "25000.01" }), "tranches[1].units"},
		{"TrancheRestWhenNothingLeft", edit(t, exit, func(m map[string]any) {
			elem(m, "tranches", 1)["units"] = "25000.00"
		}), "tranches[2].rest"},
		{"TrancheUnitsAndRest", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 0)["rest"] = true }), "tranches[0]"},
		{"TrancheNothingSold", edit(t, exit, func(m map[string]any) { delete(elem(m, "tranches", 1), "units") }), "tranches[1]"},
		{"TrancheNegativeMarketValue", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 0)["market_value"] = "-1.00" }), "tranches[0].market_value"},
		{"TrancheMalformedMarketValue", edit(t, exit, func(m map[string]any) { elem(m, "tranches", 0)["market_value"] = "2.9M" }), "tranches[0].market_value"},
		{"ExitUnitScaleOutOfRange", edit(t, exit, func(m map[string]any) { m["unit_scale"] = -1 }), "unit_scale"},
		{"ConversionFieldInExit", edit(t, exit, func(m map[string]any) { m["unit"] = "shares" }), "unit"},

		// Exit policy of DOMAIN §10 (example E, with one thing wrong).
		{"UnknownReturnBasis", edit(t, ex, func(m map[string]any) { obj(m, "policy")["return_basis"] = "lpr" }), "policy.return_basis"},
		{"FixedBasisWithoutReturnRate", edit(t, ex, func(m map[string]any) { obj(m, "policy")["return_basis"] = "fixed" }), "policy.return_rate"},
		{"ReferenceWithoutRates", edit(t, ex, func(m map[string]any) { delete(obj(m, "policy"), "reference_rates") }), "policy.reference_rates"},
		{"ReferenceRatesEmpty", edit(t, ex, func(m map[string]any) { obj(m, "policy")["reference_rates"] = []any{} }), "policy.reference_rates"},
		{"ReferenceRatesOutOfOrder", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "reference_rates", 2)["from"] = "2024-09-01" }), "policy.reference_rates[2].from"},
		{"ReferenceRatesSameDate", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "reference_rates", 1)["from"] = "2024-07-22" }), "policy.reference_rates[1].from"},
		{"ReferenceRateMalformedDate", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "reference_rates", 0)["from"] = "2024-7-22" }), "policy.reference_rates[0].from"},
		{"ReferenceRateNegative", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "reference_rates", 1)["rate"] = "-0.0310" }), "policy.reference_rates[1].rate"},
		{"ReferenceRateMissing", edit(t, ex, func(m map[string]any) { delete(elem(obj(m, "policy"), "reference_rates", 0), "rate") }), "policy.reference_rates[0].rate"},
		{"ReferenceRatePercentSign", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "reference_rates", 2)["rate"] = "3.00%" }), "policy.reference_rates[2].rate"},
		{"NoReferenceRateInForce", edit(t, ex, func(m map[string]any) {
			obj(m, "policy")["reference_rates"] = []any{map[string]any{"from": "2029-06-01", "rate": "0.03"}}
		}), "policy.reference_rates"},
		{"NegativeRateAfterSpread", edit(t, ex, func(m map[string]any) { obj(m, "policy")["spread"] = "-0.031" }), "policy.spread"},
		{"SpreadMalformed", edit(t, ex, func(m map[string]any) { obj(m, "policy")["spread"] = "0.5%" }), "policy.spread"},
		{"TierZeroYears", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "tiers", 0)["within_years"] = 0 }), "policy.tiers[0].within_years"},
		{"TierNegativeYears", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "tiers", 0)["within_years"] = -2 }), "policy.tiers[0].within_years"},
		{"TierFractionalYears", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "tiers", 0)["within_years"] = 1.5 }), "policy.tiers[0].within_years"},
		{"TierYearsAsString", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "tiers", 0)["within_years"] = "2" }), "policy.tiers[0].within_years"},
		{"TiersNotIncreasing", edit(t, ex, func(m map[string]any) {
			obj(m, "policy")["tiers"] = []any{map[string]any{"within_years": 2, "return_rate": "0"}, map[string]any{"within_years": 2, "return_rate": "0.01"}}
		}), "policy.tiers[1].within_years"},
		{"TierNegativeRate", edit(t, ex, func(m map[string]any) { elem(obj(m, "policy"), "tiers", 0)["return_rate"] = "-0.01" }), "policy.tiers[0].return_rate"},
		{"TierMissingRate", edit(t, ex, func(m map[string]any) { delete(elem(obj(m, "policy"), "tiers", 0), "return_rate") }), "policy.tiers[0].return_rate"},
		{"AppraisalAfterZeroYears", edit(t, ex, func(m map[string]any) { obj(m, "policy")["appraisal_after_years"] = 0 }), "policy.appraisal_after_years"},
		{"AppraisalAfterFractionalYears", edit(t, ex, func(m map[string]any) { obj(m, "policy")["appraisal_after_years"] = 2.5 }), "policy.appraisal_after_years"},
		{"UnknownBuyer", edit(t, ex, func(m map[string]any) { elem(m, "tranches", 0)["buyer"] = "bank" }), "tranches[0].buyer"},
		{"ThirdPartyWithoutMarketValue", edit(t, ex, func(m map[string]any) { delete(elem(m, "tranches", 1), "market_value") }), "tranches[1].market_value"},
		{"RequiredAppraisalMissing", edit(t, ex, func(m map[string]any) { delete(elem(m, "tranches", 2), "appraised_value") }), "tranches[2].appraised_value"},
		{"RequiredAppraisalMissingForThirdParty", edit(t, ex, func(m map[string]any) { obj(m, "policy")["appraisal_after_years"] = 2 }), "tranches[1].appraised_value"},
		{"AppraisedValueZero", edit(t, ex, func(m map[string]any) { elem(m, "tranches", 2)["appraised_value"] = "0.00" }), "tranches[2].appraised_value"},
		{"AppraisedValueNegative", edit(t, ex, func(m map[string]any) { elem(m, "tranches", 0)["appraised_value"] = "-1.00" }), "tranches[0].appraised_value"},
		{"AppraisedValueBeyondFen", edit(t, ex, func(m map[string]any) { elem(m, "tranches", 2)["appraised_value"] = "1300000.001" }), "tranches[2].appraised_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Calculate([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted, want an error on %q; result %s", tt.field, out)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v, want *InputError", err, err)
			}
			if ie.Field != tt.field {
				t.Errorf("field %q, want %q (message %s)", ie.Field, tt.field, ie.Message)
			}
			if !hasHan(ie.Message) {
				t.Errorf("message %q is not in Chinese", ie.Message)
			}
			t.Log(ie.Message)
		})
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestTypedEntryPoints checks that Convert and Exit validate like the JSON
// path and refuse a request of the other kind.
func TestTypedEntryPoints(t *testing.T) {
	var creq ConvertRequest
	if err := json.Unmarshal([]byte(exampleAConversion), &creq); err != nil {
		t.Fatal(err)
	}
	creq.Kind = ""
	if res, err := Convert(creq); err != nil || res.Units != "37500.00" {
		t.Fatalf("Convert = %+v, %v", res, err)
	}
	creq.Kind = KindExit
	if _, err := Convert(creq); err == nil {
		t.Error("Convert accepted kind exit")
	}
	var ereq ExitRequest
	if err := json.Unmarshal([]byte(exampleAExit), &ereq); err != nil {
		t.Fatal(err)
	}
	if res, err := Exit(ereq); err != nil || *res.Totals.XIRR != "0.00911826" {
		t.Fatalf("Exit = %+v, %v", res, err)
	}
	ereq.Tranches[0].Units = "abc"
	_, err := Exit(ereq)
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "tranches[0].units" {
		t.Errorf("Exit error = %v, want tranches[0].units", err)
	}
}

func TestRunCLI(t *testing.T) {
	t.Run("ExitZeroWithResult", func(t *testing.T) {
		var out bytes.Buffer
		if code := RunCLI(strings.NewReader(exampleAConversion), &out); code != 0 {
			t.Fatalf("exit code %d, output %s", code, out.String())
		}
		var res ConvertResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Stake != "0.02912621" {
			t.Fatalf("output %s (%v)", out.String(), err)
		}
		if !strings.HasSuffix(out.String(), "}\n") {
			t.Errorf("output does not end with a newline")
		}
	})
	t.Run("ExitTwoWithErrorObject", func(t *testing.T) {
		var out bytes.Buffer
		body := strings.Replace(exampleAConversion, `"round_price"`, `"vwap"`, 1)
		if code := RunCLI(strings.NewReader(body), &out); code != 2 {
			t.Fatalf("exit code %d, want 2", code)
		}
		var e map[string]string
		if err := json.Unmarshal(out.Bytes(), &e); err != nil {
			t.Fatalf("output %s: %v", out.String(), err)
		}
		if e["field"] != "pricing.method" || !hasHan(e["error"]) || len(e) != 2 {
			t.Errorf("error object %v", e)
		}
	})
	t.Run("ExitTwoWhenTooLarge", func(t *testing.T) {
		var out bytes.Buffer
		big := strings.NewReader(strings.Repeat(" ", MaxBodyBytes+10))
		if code := RunCLI(big, &out); code != 2 {
			t.Fatalf("exit code %d, want 2", code)
		}
	})
}

func TestInputErrorJSON(t *testing.T) {
	b, err := json.Marshal(&InputError{Message: "折扣必须不小于 0 且小于 1。", Field: "pricing.discount"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"error":"折扣必须不小于 0 且小于 1。","field":"pricing.discount"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
