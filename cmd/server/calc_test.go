package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
)

// exampleA is DOMAIN §15 example A as a calculator request.
const exampleA = `{"kind":"conversion","unit":"registered_capital","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "pre_money_units":"1000000","round":{"pre_money_valuation":"80000000","new_money":"20000000"},
 "pricing":{"method":"round_price"}}`

// exampleAResult is what `server calc` prints for it, to the last digit.
const exampleAResult = `{"conversion_amount":"3000000.00","pre_conversion_interest":"0.00",` +
	`"reference_price":"80.000000","conversion_price":"80.000000","price_basis":"round",` +
	`"units":"37500.00","to_registered_capital":"37500.00","to_capital_reserve":"2962500.00",` +
	`"round_investor_units":"250000.00","post_money_units":"1287500.00","stake":"0.02912621",` +
	`"stakes":{"existing":"0.77669903","round_investor":"0.19417476","platform":"0.02912621"}}` + "\n"

// exampleE is DOMAIN §15 example E: a reference rate plus spread, a 0% tier,
// an appraisal after 4 years, a sale through a public listing.
const exampleE = `{"kind":"exit","unit_scale":2,"units":"37500.00","conversion_date":"2026-01-15",
 "disbursements":[{"date":"2024-01-15","amount":"1500000.00"},{"date":"2025-01-15","amount":"1500000.00"}],
 "policy":{"return_basis":"reference",
           "reference_rates":[{"from":"2024-07-22","rate":"0.0335"},{"from":"2024-10-21","rate":"0.0310"},{"from":"2025-05-20","rate":"0.0300"}],
           "spread":"0.005","tiers":[{"within_years":2,"return_rate":"0"}],"appraisal_after_years":4,
           "accrual_from":"disbursement","allocation":"fifo","below_cap":"market"},
 "tranches":[{"date":"2027-06-30","units":"12500.00","buyer":"team","market_value":"2000000.00"},
             {"date":"2029-01-15","units":"12500.00","buyer":"third_party","market_value":"1600000.00"},
             {"date":"2030-03-31","rest":true,"buyer":"team","appraised_value":"1300000.00"}]}`

// exampleEResult is what `server calc` prints for it, to the last digit.
const exampleEResult = `{"tranches":[` +
	`{"date":"2027-06-30","units":"12500.00","cost":"1000000.00","interest":"0.00","rate":"0.000000","rate_basis":"tier","buyer":"team","appraised_value":null,` +
	`"cap_amount":"1000000.00","market_value":"2000000.00","proceeds":"1000000.00","concession":"1000000.00","gain":"0.00"},` +
	`{"date":"2029-01-15","units":"12500.00","cost":"1000000.00","interest":"157643.84","rate":"0.035000","rate_basis":"reference","buyer":"third_party","appraised_value":null,` +
	`"cap_amount":"1157643.84","market_value":"1600000.00","proceeds":"1600000.00","concession":"0.00","gain":"600000.00"},` +
	`{"date":"2030-03-31","units":"12500.00","cost":"1000000.00","interest":"182287.67","rate":"0.035000","rate_basis":"reference","buyer":"team","appraised_value":"1300000.00",` +
	`"cap_amount":"1182287.67","market_value":null,"proceeds":"1300000.00","concession":"0.00","gain":"300000.00"}],` +
	`"totals":{"units_sold":"37500.00","units_remaining":"0.00","cost_released":"3000000.00","proceeds":"3900000.00","interest":"339931.51",` +
	`"concession":"1000000.00","gain":"900000.00","moic":"1.300000","xirr":"0.06025647"}}` + "\n"

// TestCalcCommand runs `server calc` in-process, as main would.
func TestCalcCommand(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" } // calc needs no configuration
	tests := []struct {
		name  string
		stdin string
		code  int
		want  string // exact stdout, for exit 0
		field string // the field named, for exit 2
	}{
		{name: "ExampleAExact", stdin: exampleA, code: 0, want: exampleAResult},
		{name: "ExampleEExact", stdin: exampleE, code: 0, want: exampleEResult},
		{name: "MalformedJSONExits2", stdin: `{"kind":"conversion",`, code: 2, field: ""},
		{name: "NotJSONExits2", stdin: "hello", code: 2, field: ""},
		{name: "BadDiscountExits2WithField", stdin: strings.Replace(exampleA, `"method":"round_price"`, `"method":"round_price","discount":"1"`, 1), code: 2, field: "pricing.discount"},
		{name: "UnknownKindExits2", stdin: `{"kind":"loan"}`, code: 2, field: "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"calc"}, getenv, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.code, stdout.String(), stderr.String())
			}
			if tt.code == 0 {
				if stdout.String() != tt.want {
					t.Fatalf("stdout\n got %s\nwant %s", stdout.String(), tt.want)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal(stdout.Bytes(), &e); err != nil {
				t.Fatalf("stdout is not the error object: %v: %q", err, stdout.String())
			}
			if _, ok := e["field"]; !ok || len(e) != 2 || e["field"] != tt.field {
				t.Fatalf("error object %s, want field %q", stdout.String(), tt.field)
			}
			if strings.IndexFunc(e["error"], func(r rune) bool { return unicode.Is(unicode.Han, r) }) < 0 {
				t.Fatalf("error %q is not in Chinese", e["error"])
			}
		})
	}
}
