package conversion

import (
	"math"
	"math/big"
	"testing"
	"time"
)

func flowsOf(t *testing.T, pairs ...any) []cashFlow {
	t.Helper()
	var fs []cashFlow
	for i := 0; i < len(pairs); i += 2 {
		d, err := time.Parse(time.DateOnly, pairs[i].(string))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, cashFlow{day: d.Unix() / 86400, amount: rat(pairs[i+1].(string))})
	}
	return fs
}

func TestXIRR(t *testing.T) {
	tests := []struct {
		name  string
		flows []any
		want  string // "" for no root
	}{
		{"SpreadsheetVendorExample", []any{"2008-01-01", "-10000", "2008-03-01", "2750", "2008-10-30", "4250",
			"2009-02-15", "3250", "2009-04-01", "2750"}, "0.37336253"},
		{"TenPercentOverOneYear", []any{"2025-01-01", "-1000", "2026-01-01", "1100"}, "0.10000000"},
		{"BreakEven", []any{"2025-01-01", "-1000", "2030-01-01", "1000"}, "0.00000000"},
		{"NearTotalLoss", []any{"2020-01-01", "-1000000000", "2022-01-01", "0.01"}, "-0.99999678"},
		{"LongHorizonLoss", []any{"1900-01-01", "-1000000", "2199-12-31", "1"}, "-0.04497851"},
		{"OnlyOutflows", []any{"2025-01-01", "-1000", "2026-01-01", "-1"}, ""},
		{"NothingBack", []any{"2025-01-01", "-1000", "2026-01-01", "0"}, ""},
		{"AllOnOneDay", []any{"2025-01-01", "-1000", "2025-01-01", "1000"}, ""},
		{"SingleFlow", []any{"2025-01-01", "-1000"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flows := flowsOf(t, tt.flows...)
			r, ok := xirr(flows)
			if tt.want == "" {
				if ok {
					t.Fatalf("xirr = %s, want no root", r.FloatString(10))
				}
				return
			}
			if !ok {
				t.Fatalf("no root, want %s", tt.want)
			}
			if got := fixed(r, placesXIRR, halfUp); got != tt.want {
				t.Errorf("xirr = %s (%s), want %s", got, r.FloatString(12), tt.want)
			}
		})
	}
}

// TestBisectAgreesWithNewton checks the fallback on its own: it must find the
// same root Newton finds.
func TestBisectAgreesWithNewton(t *testing.T) {
	for _, flows := range [][]any{
		{"2008-01-01", "-10000", "2008-03-01", "2750", "2008-10-30", "4250", "2009-02-15", "3250", "2009-04-01", "2750"},
		{"2024-01-15", "-1500000", "2025-01-15", "-1500000", "2027-01-15", "1090082.19", "2028-01-15", "1105041.10", "2029-01-15", "900000"},
		{"2020-01-01", "-1000000000", "2021-01-01", "0.01"},
	} {
		fs := flowsOf(t, flows...)
		var ts, vs []float64
		for _, f := range fs {
			ts = append(ts, float64(f.day-fs[0].day)/365)
			v, _ := f.amount.Float64()
			vs = append(vs, v)
		}
		b, ok := bisect(ts, vs)
		if !ok {
			t.Fatalf("bisect found no root for %v", flows)
		}
		n, ok := solveRate(ts, vs)
		if !ok || math.Abs(b-n) > 1e-10 {
			t.Errorf("bisect %.12f, solver %.12f (%v)", b, n, ok)
		}
	}
}

// TestXIRRExtremeFlowsDoNotPanic throws hostile magnitudes at the solver.
func TestXIRRExtremeFlowsDoNotPanic(t *testing.T) {
	for _, flows := range [][]any{
		{"2025-01-01", "-0.01", "2025-01-02", "999999999999999.99"},
		{"1900-01-01", "-999999999999999.99", "2199-12-31", "0.01"},
		{"1900-01-01", "-0.01", "2199-12-31", "999999999999999.99"},
		{"2025-01-01", "-1", "2025-01-02", "1", "2025-01-03", "-1", "2025-01-04", "1"},
	} {
		r, ok := xirr(flowsOf(t, flows...))
		if ok && (r == nil || r.Cmp(big.NewRat(-1, 1)) <= 0) {
			t.Errorf("xirr of %v = %v, outside (−1, ∞)", flows, r)
		}
	}
}
