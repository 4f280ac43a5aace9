package conversion

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
)

// The fuzz targets feed arbitrary bytes to the calculator contract. Seeds
// are the worked examples (below) plus the committed corpus under
// testdata/fuzz/<FuzzName>/, which covers every pricing method and exit
// policy, so mutations land on numbers, dates and field names rather than on
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
	for _, s := range []string{exampleAExit, exampleBExit, exampleSpreadsheetXIRR} {
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
		for _, tr := range res.Tranches {
			if rat(tr.Proceeds).Cmp(rat(tr.CapAmount)) > 0 {
				t.Fatalf("proceeds %s above cap amount %s", tr.Proceeds, tr.CapAmount)
			}
			sum.Add(sum, rat(tr.Cost))
		}
		if sum.Cmp(rat(res.Totals.CostReleased)) != 0 {
			t.Fatalf("tranche costs do not add up to %s", res.Totals.CostReleased)
		}
	})
}

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
