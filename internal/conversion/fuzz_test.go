package conversion

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"slices"
	"testing"
)

// The fuzz targets feed arbitrary bytes to the calculator contract. Seeds
// are the worked examples (below) plus the committed corpus under
// testdata/fuzz/<FuzzName>/, which covers every pricing method and exit
// policy (return bases, tiers, appraisals and buyers included), so mutations land on numbers, dates and field names rather than on
// JSON punctuation alone. Run with
//
//	go test ./internal/conversion -run '^$' -fuzz FuzzCalcConversion -fuzztime 30s

func FuzzCalcConversion(f *testing.F) {
	for _, s := range []string{exampleAConversion, exampleBConversion, exampleC, exampleDCap, exampleDDiscount} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out := checkCalc(t, body)
		if out == nil {
			return
		}
		var res ConvertResult
		if json.Unmarshal(out, &res) != nil || res.Units == "" {
			return // an exit request reached through mutation; checked by checkCalc
		}
		// Never below par, whatever the terms.
		if rat(res.Units).Cmp(rat(res.ConversionAmount)) > 0 {
			t.Fatalf("units %s above amount %s", res.Units, res.ConversionAmount)
		}
		if rat(res.Stake).Cmp(ratOne) > 0 || rat(res.Units).Sign() <= 0 {
			t.Fatalf("stake %s, units %s", res.Stake, res.Units)
		}
	})
}

func FuzzCalcExit(f *testing.F) {
	for _, s := range []string{exampleAExit, exampleBExit, exampleEExit, exampleSpreadsheetXIRR} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out := checkCalc(t, body)
		if out == nil {
			return
		}
		var res ExitResult
		if json.Unmarshal(out, &res) != nil || len(res.Tranches) == 0 {
			return
		}
		sum := new(big.Rat)
		extended := res.Tranches[0].RateBasis != ""
		for k, tr := range res.Tranches {
			checkExitTranche(t, k, tr, extended)
			sum.Add(sum, rat(tr.Cost))
		}
		if sum.Cmp(rat(res.Totals.CostReleased)) != 0 {
			t.Fatalf("tranche costs do not add up to %s", res.Totals.CostReleased)
		}
	})
}

// checkExitTranche checks what DOMAIN §10 guarantees of any tranche: the
// new fields are all present (request with policy fields) or all absent,
// with known values; a third party pays its market value; the team pays at
// most the cap amount, or a required appraisal above it; the concession is
// what the market value exceeds the proceeds by.
func checkExitTranche(t *testing.T, k int, tr TrancheResult, extended bool) {
	t.Helper()
	p, kk := rat(tr.Proceeds), rat(tr.CapAmount)
	if !extended {
		if tr.RateBasis != "" || tr.Rate != "" || tr.Buyer != "" || tr.AppraisedValue != nil {
			t.Fatalf("tranche %d: new fields %+v in an old-style result", k, tr)
		}
		if p.Cmp(kk) > 0 {
			t.Fatalf("tranche %d: proceeds %s above cap amount %s", k, tr.Proceeds, tr.CapAmount)
		}
	} else {
		if !slices.Contains([]string{RateBasisTier, RateBasisFixed, RateBasisReference}, tr.RateBasis) || !rateRe.MatchString(tr.Rate) {
			t.Fatalf("tranche %d: rate %q basis %q", k, tr.Rate, tr.RateBasis)
		}
		if tr.AppraisedValue != nil && rat(*tr.AppraisedValue).Sign() <= 0 {
			t.Fatalf("tranche %d: appraised value %s not positive", k, *tr.AppraisedValue)
		}
		switch tr.Buyer {
		case BuyerThirdParty:
			if tr.MarketValue == nil || tr.Proceeds != *tr.MarketValue {
				t.Fatalf("tranche %d: third party pays %s, market value %v", k, tr.Proceeds, tr.MarketValue)
			}
		case BuyerTeam:
			ceiling := kk
			if tr.AppraisedValue != nil && rat(*tr.AppraisedValue).Cmp(kk) > 0 {
				ceiling = rat(*tr.AppraisedValue)
			}
			if p.Cmp(ceiling) > 0 {
				t.Fatalf("tranche %d: team pays %s above both K %s and the appraisal %v", k, tr.Proceeds, tr.CapAmount, tr.AppraisedValue)
			}
		default:
			t.Fatalf("tranche %d: buyer %q", k, tr.Buyer)
		}
	}
	want := new(big.Rat)
	if tr.MarketValue != nil && rat(*tr.MarketValue).Cmp(p) > 0 {
		want = sub(rat(*tr.MarketValue), p)
	}
	if rat(tr.Concession).Cmp(want) != 0 {
		t.Fatalf("tranche %d: concession %s, want %s", k, tr.Concession, want.FloatString(2))
	}
}

var rateRe = regexp.MustCompile(`^\d+\.\d{6}$`)

// checkCalc runs one request and checks what must hold for any input: a
// refusal is a clean *InputError with a message, an answer is valid JSON and
// the same answer every time. It returns the answer, or nil on refusal.
func checkCalc(t *testing.T, body []byte) []byte {
	out, err := Calculate(body)
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("error %T %v is not an *InputError", err, err)
		}
		if ie.Message == "" || !hasHan(ie.Message) {
			t.Fatalf("error without a Chinese message: %+v", ie)
		}
		if out != nil {
			t.Fatalf("output %q alongside an error", out)
		}
		if _, err := json.Marshal(ie); err != nil {
			t.Fatalf("error does not marshal: %v", err)
		}
		return nil
	}
	if !json.Valid(out) {
		t.Fatalf("result is not JSON: %q", out)
	}
	again, err := Calculate(body)
	if err != nil || !bytes.Equal(out, again) {
		t.Fatalf("second run differs: %v\n%s\n%s", err, out, again)
	}
	return out
}
