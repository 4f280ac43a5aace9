package conversion

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Benchmarks for docs/PERFORMANCE.md:
//
//	go test ./internal/conversion -run '^$' -bench . -benchmem
//
// "engine" calls the typed entry point; "json" goes through Calculate, as
// `server calc` and the API do (decode, validate, compute, encode).

func BenchmarkConversion(b *testing.B) {
	var req ConvertRequest
	if err := json.Unmarshal([]byte(exampleC), &req); err != nil {
		b.Fatal(err)
	}
	b.Run("engine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Convert(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		body := []byte(exampleC)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Calculate(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// exit10Tranches is a realistic heavy exit: three disbursements, ten sales
// over five years, FIFO from each disbursement date, with market values,
// ending empty so MOIC and XIRR are computed.
func exit10Tranches() ExitRequest {
	req := ExitRequest{
		Kind: KindExit, Units: "100000.00", ConversionDate: "2026-01-15",
		Disbursements: []Disbursement{
			{Date: "2024-01-15", Amount: "1500000.00"},
			{Date: "2024-07-15", Amount: "1000000.00"},
			{Date: "2025-01-15", Amount: "500000.00"},
		},
		Policy: Policy{ReturnRate: "0.03", AccrualFrom: AccrualDisbursement, Allocation: AllocationFIFO, BelowCap: BelowCapMarket},
	}
	for i := range 10 {
		tr := Tranche{Date: fmt.Sprintf("%d-%02d-15", 2026+i/2, 1+6*(i%2)), MarketValue: fmt.Sprintf("%d.00", 200000+i*37000)}
		if i == 9 {
			tr.Rest = true
		} else {
			tr.Units = "10000.00"
		}
		req.Tranches = append(req.Tranches, tr)
	}
	return req
}

func BenchmarkExit10Tranches(b *testing.B) {
	req := exit10Tranches()
	if res, err := Exit(req); err != nil || res.Totals.XIRR == nil {
		b.Fatalf("benchmark request is not a full exit: %v", err)
	}
	benchExit(b, req)
}

// benchExit times an exit through the typed entry point and through the
// JSON contract.
func benchExit(b *testing.B, req ExitRequest) {
	b.Run("engine", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Exit(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		body, err := json.Marshal(req)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Calculate(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// exit10TranchesReference is exit10Tranches under the pricing of DOMAIN §10
// at its fullest: the 1-year LPR history of §17 (13 entries) plus 0.5%, a 0%
// tier within 1 year, an appraisal after 3 years (the last three sales carry
// one) and the fifth sale to a third party through a listing.
func exit10TranchesReference() ExitRequest {
	req := exit10Tranches()
	three := 3
	req.Policy = Policy{
		ReturnBasis: ReturnBasisReference, Spread: "0.005",
		Tiers:               []Tier{{WithinYears: 1, ReturnRate: "0"}},
		AppraisalAfterYears: &three,
		AccrualFrom:         AccrualDisbursement, Allocation: AllocationFIFO, BelowCap: BelowCapMarket,
	}
	for _, e := range []struct{ from, rate string }{
		{"2019-08-20", "0.0425"}, {"2019-09-20", "0.0420"}, {"2019-11-20", "0.0415"}, {"2020-02-20", "0.0405"},
		{"2020-04-20", "0.0385"}, {"2021-12-20", "0.0380"}, {"2022-01-20", "0.0370"}, {"2022-08-22", "0.0365"},
		{"2023-06-20", "0.0355"}, {"2023-08-21", "0.0345"}, {"2024-07-22", "0.0335"}, {"2024-10-21", "0.0310"},
		{"2025-05-20", "0.0300"},
	} {
		req.Policy.ReferenceRates = append(req.Policy.ReferenceRates, ReferenceRate{From: e.from, Rate: e.rate})
	}
	req.Tranches[4].Buyer = BuyerThirdParty
	for i := 7; i < 10; i++ {
		req.Tranches[i].Buyer = BuyerTeam
		req.Tranches[i].AppraisedValue = fmt.Sprintf("%d.00", 400000+i*10000)
	}
	return req
}

func BenchmarkExit10TranchesReference(b *testing.B) {
	req := exit10TranchesReference()
	if res, err := Exit(req); err != nil || res.Totals.XIRR == nil || res.Tranches[9].RateBasis != RateBasisReference {
		b.Fatalf("benchmark request is not a full reference-rate exit: %v", err)
	}
	benchExit(b, req)
}
