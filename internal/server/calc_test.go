package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"ite/internal/applications"
	"ite/internal/conversion"
)

// DOMAIN §15 example A, as the calculator contract's JSON.
const (
	calcExampleA = `{"kind":"conversion","unit":"registered_capital","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "pre_money_units":"1000000","round":{"pre_money_valuation":"80000000","new_money":"20000000"},
 "pricing":{"method":"round_price"}}`
	calcExampleAExit = `{"kind":"exit","unit_scale":2,"units":"37500.00","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "policy":{"return_rate":"0.03","accrual_from":"disbursement","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2027-01-15","units":"12500.00","market_value":"2900000.00"},
             {"date":"2028-01-15","units":"12500.00"},
             {"date":"2029-01-15","rest":true,"market_value":"900000.00"}]}`
	// Example E: the 1-year LPR plus 0.5%, 0% within 2 years, an appraisal
	// after 4, a sale to a third party through a listing.
	calcExampleEExit = `{"kind":"exit","unit_scale":2,"units":"37500.00","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "policy":{"return_basis":"reference",
           "reference_rates":[{"from":"2024-07-22","rate":"0.0335"},{"from":"2024-10-21","rate":"0.0310"},{"from":"2025-05-20","rate":"0.0300"}],
           "spread":"0.005","tiers":[{"within_years":2,"return_rate":"0"}],"appraisal_after_years":4,
           "accrual_from":"disbursement","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2027-06-30","units":"12500.00","buyer":"team","market_value":"2000000.00"},
             {"date":"2029-01-15","units":"12500.00","buyer":"third_party","market_value":"1600000.00"},
             {"date":"2030-03-31","rest":true,"buyer":"team","appraised_value":"1300000.00"}]}`
)

// exampleEExitResult is example E's exit to the last digit (DOMAIN §15 E).
var exampleEExitResult = conversion.ExitResult{
	Tranches: []conversion.TrancheResult{
		{Date: "2027-06-30", Units: "12500.00", Cost: "1000000.00", Interest: "0.00", Rate: "0.000000", RateBasis: "tier", Buyer: "team",
			CapAmount: "1000000.00", MarketValue: strPtr("2000000.00"), Proceeds: "1000000.00", Concession: "1000000.00", Gain: "0.00"},
		{Date: "2029-01-15", Units: "12500.00", Cost: "1000000.00", Interest: "157643.84", Rate: "0.035000", RateBasis: "reference", Buyer: "third_party",
			CapAmount: "1157643.84", MarketValue: strPtr("1600000.00"), Proceeds: "1600000.00", Concession: "0.00", Gain: "600000.00"},
		{Date: "2030-03-31", Units: "12500.00", Cost: "1000000.00", Interest: "182287.67", Rate: "0.035000", RateBasis: "reference", Buyer: "team",
			AppraisedValue: strPtr("1300000.00"), CapAmount: "1182287.67", Proceeds: "1300000.00", Concession: "0.00", Gain: "300000.00"},
	},
	Totals: conversion.Totals{UnitsSold: "37500.00", UnitsRemaining: "0.00", CostReleased: "3000000.00", Proceeds: "3900000.00",
		Interest: "339931.51", Concession: "1000000.00", Gain: "900000.00", MOIC: strPtr("1.300000"), XIRR: strPtr("0.06025647")},
}

func strPtr(s string) *string { return &s }

// exampleAResult is example A's conversion to the last digit.
var exampleAResult = conversion.ConvertResult{
	ConversionAmount: "3000000.00", PreConversionInterest: "0.00",
	ReferencePrice: strPtr("80.000000"), ConversionPrice: "80.000000", PriceBasis: "round",
	Units: "37500.00", ToRegisteredCapital: "37500.00", ToCapitalReserve: "2962500.00",
	RoundInvestorUnits: "250000.00", PostMoneyUnits: "1287500.00", Stake: "0.02912621",
	Stakes: conversion.Stakes{Existing: "0.77669903", RoundInvestor: "0.19417476", Platform: "0.02912621"},
}

// postJSON sends a JSON body, with the client's CSRF token in the
// X-CSRF-Token header when withToken is set.
func (c *client) postJSON(path, body string, withToken bool) response {
	req, _ := http.NewRequest("POST", c.e.http.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if withToken {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	return c.do(req)
}

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

func TestCalcAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := e.loggedIn(applications.RoleStaff)
	anon := e.client()
	anon.get("/login") // a pre-session CSRF token, so the request reaches the gate

	tests := []struct {
		name      string
		c         *client
		body      string
		noToken   bool
		status    int
		field     string                       // for 422: the field named
		check     func(t *testing.T, b string) // for 200
		errorJSON bool                         // the body is {"error", "field"}
	}{
		{name: "ExampleAConversionExact", c: staff, body: calcExampleA, status: 200, check: func(t *testing.T, b string) {
			var got conversion.ConvertResult
			if err := json.Unmarshal([]byte(b), &got); err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(exampleAResult)
			if string(gj) != string(wj) {
				t.Fatalf("result\n got %s\nwant %s", gj, wj)
			}
		}},
		{name: "ExampleAExitExact", c: staff, body: calcExampleAExit, status: 200, check: func(t *testing.T, b string) {
			var got conversion.ExitResult
			if err := json.Unmarshal([]byte(b), &got); err != nil {
				t.Fatal(err)
			}
			tot := got.Totals
			if len(got.Tranches) != 3 || got.Tranches[0].Interest != "90082.19" || got.Tranches[1].Proceeds != "1105041.10" ||
				got.Tranches[0].Concession != "1809917.81" || got.Tranches[2].Gain != "-100000.00" ||
				tot.Proceeds != "3095123.29" || tot.Interest != "315205.48" || tot.Gain != "95123.29" ||
				tot.MOIC == nil || *tot.MOIC != "1.031708" || tot.XIRR == nil || *tot.XIRR != "0.00911826" {
				t.Fatalf("exit result %s", b)
			}
		}},
		{name: "ExampleEExitExact", c: staff, body: calcExampleEExit, status: 200, check: func(t *testing.T, b string) {
			var got conversion.ExitResult
			if err := json.Unmarshal([]byte(b), &got); err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(exampleEExitResult)
			if string(gj) != string(wj) || string(gj)+"\n" != b { // the handler ends the body with a newline
				t.Fatalf("result\n got %s\nwant %s", b, wj)
			}
		}},
		{name: "ThirdPartyWithoutPriceRefused", c: staff, status: 422, field: "tranches[1].market_value", errorJSON: true,
			body: strings.Replace(calcExampleEExit, `"buyer":"third_party","market_value":"1600000.00"`, `"buyer":"third_party"`, 1)},
		{name: "RequiredAppraisalMissingRefused", c: staff, status: 422, field: "tranches[2].appraised_value", errorJSON: true,
			body: strings.Replace(calcExampleEExit, `,"appraised_value":"1300000.00"`, ``, 1)},
		{name: "ExplainGivesChineseSteps", c: staff, body: strings.Replace(calcExampleA, `{"kind"`, `{"explain":true,"kind"`, 1), status: 200,
			check: func(t *testing.T, b string) {
				var got conversion.ConvertResult
				_ = json.Unmarshal([]byte(b), &got)
				if len(got.Steps) == 0 || !hasHan(got.Steps[0]) {
					t.Fatalf("steps %q", got.Steps)
				}
			}},
		{name: "DiscountOutOfRangeRefused", c: staff, status: 422, field: "pricing.discount", errorJSON: true,
			body: strings.Replace(calcExampleA, `"method":"round_price"`, `"method":"round_price","discount":"1.2"`, 1)},
		{name: "DisbursementAfterConversionRefused", c: staff, status: 422, field: "disbursements[1].date", errorJSON: true,
			body: strings.Replace(calcExampleA, `"2025-01-15"`, `"2026-02-01"`, 1)},
		{name: "UnknownKindRefused", c: staff, body: `{"kind":"loan"}`, status: 422, field: "kind", errorJSON: true},
		{name: "MalformedJSONRefused", c: staff, body: `{"kind":`, status: 422, field: "", errorJSON: true},
		{name: "EmptyBodyRefused", c: staff, body: ``, status: 422, field: "", errorJSON: true},
		{name: "TooLargeRefused", c: staff, body: `{"kind":"conversion","x":"` + strings.Repeat("9", conversion.MaxBodyBytes) + `"}`, status: 413, errorJSON: true},
		{name: "EnterpriseMayCalculate", c: e.loggedIn(applications.RoleEnterprise), body: calcExampleA, status: 200},
		{name: "ExpertMayCalculate", c: e.loggedIn(applications.RoleExpert), body: calcExampleA, status: 200},
		{name: "AnonymousUnauthorized", c: anon, body: calcExampleA, status: 401},
		{name: "MissingCSRFHeaderForbidden", c: staff, body: calcExampleA, noToken: true, status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.postJSON("/api/v1/calc", tt.body, !tt.noToken)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.StatusCode, tt.status, r.body)
			}
			if tt.status == 200 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("content type %q", r.Header.Get("Content-Type"))
			}
			if tt.check != nil {
				tt.check(t, r.body)
			}
			if tt.errorJSON {
				var ie map[string]string
				if err := json.Unmarshal([]byte(r.body), &ie); err != nil {
					t.Fatalf("error body is not JSON: %v: %s", err, r.body)
				}
				if _, ok := ie["field"]; !ok || len(ie) != 2 {
					t.Fatalf("error body %s, want exactly error and field", r.body)
				}
				if ie["field"] != tt.field && tt.status == 422 {
					t.Fatalf("field %q, want %q (%s)", ie["field"], tt.field, ie["error"])
				}
				if !hasHan(ie["error"]) {
					t.Fatalf("error %q is not in Chinese", ie["error"])
				}
			}
		})
	}
}
