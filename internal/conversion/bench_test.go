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
