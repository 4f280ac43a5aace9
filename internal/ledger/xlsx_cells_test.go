package ledger

import (
	"bytes"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// serialRat is the exact value of a raw cell string.
func serialRat(t *testing.T, raw string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(raw)
	if !ok {
		t.Fatalf("raw serial %q is not a number", raw)
	}
	return r
}

// TestXLSXTimesExactToTheSecond: a time cell's serial is the exact
// days + seconds/86400 to the 15 digits a cell keeps, never below it, so
// LibreOffice (which shows the second a serial has reached) and excelize
// both show 23:53:00, not 23:52:59 (issue 15 point 3).
func TestXLSXTimesExactToTheSecond(t *testing.T) {
	tab := Table{Name: "时间", Columns: []Column{{Title: "时间", Type: ColDateTime}}}
	var buf bytes.Buffer
	rw, err := NewXLSXWriter(&buf, tab)
	if err != nil {
		t.Fatal(err)
	}
	times := []time.Time{time.Date(2026, 3, 31, 23, 53, 0, 0, time.UTC)}
	for i := range 40 { // a spread of seconds over days, half of which used to land early
		times = append(times, time.Date(2026, 1, 1+i, i%24, (i*7)%60, (i*13)%60, 0, time.UTC))
	}
	for _, tm := range times {
		if err := rw.WriteRow(DateTime(tm)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Close(ChainHead{}); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	for i, tm := range times {
		cell := "A" + strconv.Itoa(i+2)
		raw, _ := f.GetCellValue("时间", cell, excelize.Options{RawCellValue: true})
		secs := int64(tm.Sub(excelEpoch) / time.Second)
		exact := big.NewRat(secs, 86400)
		got := serialRat(t, raw)
		diff := new(big.Rat).Sub(got, exact)
		if diff.Sign() < 0 || diff.Cmp(big.NewRat(1, 86400*1000*100)) > 0 { // within 10 µs, never early
			t.Errorf("%s: raw serial %s is %s days off the exact %s", tm, raw, diff.FloatString(15), exact.FloatString(15))
		}
		// What a truncating reader sees: floor(serial × 86400) seconds.
		s := new(big.Rat).Mul(got, big.NewRat(86400, 1))
		if floor := new(big.Int).Quo(s.Num(), s.Denom()); floor.Int64() != secs {
			t.Errorf("%s: serial %s truncates to second %d, want %d", tm, raw, floor.Int64(), secs)
		}
		if shown, _ := f.GetCellValue("时间", cell); shown != tm.Format(dateTimeLayout) {
			t.Errorf("%s shown as %q", tm, shown)
		}
	}
	raw, _ := f.GetCellValue("时间", "A2", excelize.Options{RawCellValue: true})
	if raw != "46112.9951388889" { // 2026-03-31 23:53:00: 46112 + 85980/86400, rounded up at 15 digits
		t.Errorf("23:53:00 stored as %s", raw)
	}
}

func TestExcelSerialEverySecondOfADay(t *testing.T) {
	day := int64(46112) * 86400
	for s := range int64(86400) {
		f := excelSerial(day + s)
		// The float must read back as a decimal of at most 15 digits
		// (what excelize writes) that does not fall before the second.
		str := strconv.FormatFloat(f, 'f', -1, 64)
		if significantDigits(str) > maxExactDigits {
			t.Fatalf("second %d: %s has more than 15 digits and would be cut", s, str)
		}
		r := serialRat(t, str)
		r.Mul(r, big.NewRat(86400, 1))
		if floor := new(big.Int).Quo(r.Num(), r.Denom()); floor.Int64() != day+s {
			t.Fatalf("second %d: serial %s reads as second %d", s, str, floor.Int64()-day)
		}
	}
}

// TestXLSXNumbersAreNumberCells: units, stakes, MOIC and XIRR are number
// cells with their number format, not text (issue 15 point 3).
func TestXLSXNumbersAreNumberCells(t *testing.T) {
	tab := Table{Name: "股权", Columns: []Column{
		{Title: "持有单位", Type: ColNumber, NumFmt: NumFmtUnits},
		{Title: "持股比例", Type: ColNumber, NumFmt: NumFmtPercent},
		{Title: "MOIC", Type: ColNumber, NumFmt: NumFmtRatio},
		{Title: "XIRR", Type: ColNumber, NumFmt: NumFmtPercent},
		{Title: "其他", Type: ColNumber},
	}}
	rows := [][]Value{{Number(dec("1250000")), Number(dec("0.0375")), Number(dec("1.52")), Number(dec("0.0831")), Number(dec("3.14159"))}}
	var buf bytes.Buffer
	rw, err := NewXLSXWriter(&buf, tab)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, rw, rows)
	f := openXLSX(t, buf.Bytes())
	want := []struct{ cell, raw, numFmt, shown string }{
		{"A2", "1250000", NumFmtUnits, "1,250,000."},
		{"B2", "0.0375", NumFmtPercent, "3.75%"},
		{"C2", "1.52", NumFmtRatio, "1.52x"},
		{"D2", "0.0831", NumFmtPercent, "8.31%"},
		{"E2", "3.14159", NumFmtGeneral, ""},
	}
	for _, w := range want {
		typ, _ := f.GetCellType("股权", w.cell)
		if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("%s: cell type %v, want a number", w.cell, typ)
		}
		raw, _ := f.GetCellValue("股权", w.cell, excelize.Options{RawCellValue: true})
		if raw != w.raw {
			t.Errorf("%s: raw %q, want %q", w.cell, raw, w.raw)
		}
		id, _ := f.GetCellStyle("股权", w.cell)
		st, err := f.GetStyle(id)
		if err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != w.numFmt {
			t.Errorf("%s: number format %v (%v), want %q", w.cell, st.CustomNumFmt, err, w.numFmt)
		}
		if w.shown != "" {
			if shown, _ := f.GetCellValue("股权", w.cell); shown != w.shown && !(w.cell == "A2" && shown == "1,250,000") {
				t.Errorf("%s: shown %q, want %q", w.cell, shown, w.shown)
			}
		}
	}
	// CSV prints the decimals as they are.
	buf.Reset()
	crw, _ := NewCSVWriter(&buf, tab)
	writeAll(t, crw, rows)
	if !bytes.Contains(buf.Bytes(), []byte("1250000,0.0375,1.52,0.0831,3.14159\r\n")) {
		t.Errorf("CSV:\n%s", buf.String())
	}
}
