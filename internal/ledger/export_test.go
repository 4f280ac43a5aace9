package ledger

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

var testTable = Table{
	Name: "测试",
	Columns: []Column{
		{Title: "序号", Type: ColInt},
		{Title: "日期", Type: ColDate},
		{Title: "摘要", Type: ColText},
		{Title: "金额", Type: ColMoney},
		{Title: "时间", Type: ColDateTime},
	},
	Location: time.FixedZone("CST", 8*3600),
}

var testHead = ChainHead{Seq: 3, Hash: strings.Repeat("ab", 32), Algorithm: HashAlgorithm}

var testDay = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

// testRows: formula-looking text, a negative amount, Chinese, empty cells.
var testRows = [][]Value{
	{Int(1), Date(testDay), Text("=cmd|' /C calc'!A0"), Money(dec("-100000.00")), DateTime(time.Date(2025, 3, 14, 1, 30, 0, 0, time.UTC))},
	{Int(2), Date(testDay), Text("拨付先投资金，第一期"), Money(dec("1234567.8")), DateTime(time.Time{})},
	{Int(3), {}, Text("-5"), NullMoney(decimal.NullDecimal{}), {}},
	{Int(4), Date(testDay), Text("@SUM(A1)"), Money(dec("0.01")), {}},
	{Int(5), Date(testDay), Text("+1+1"), Money(dec("12")), {}},
	{Int(6), Date(testDay), Text("\tx"), Money(dec("12")), {}},
}

func writeAll(t *testing.T, rw RowWriter, rows [][]Value) {
	t.Helper()
	for _, r := range rows {
		if err := rw.WriteRow(r...); err != nil {
			t.Fatalf("WriteRow %v: %v", r, err)
		}
	}
	if err := rw.Close(testHead); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	rw, err := NewRowWriter(FormatCSV, &buf, testTable)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, rw, testRows)
	out := buf.String()

	t.Run("StartsWithBOM", func(t *testing.T) {
		if !strings.HasPrefix(out, "\uFEFF序号,日期,摘要,金额,时间\r\n") {
			t.Fatalf("start %q", out[:min(len(out), 60)])
		}
	})

	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF")))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("RFC 4180 read back: %v", err)
	}
	if len(recs) != 1+len(testRows) {
		t.Fatalf("%d records, want %d", len(recs), 1+len(testRows))
	}
	cell := func(row, col int) string { return recs[row][col] }

	t.Run("EscapesFormulaText", func(t *testing.T) {
		for row, want := range map[int]string{1: "'=cmd|' /C calc'!A0", 4: "'@SUM(A1)", 5: "'+1+1", 6: "'\tx"} {
			if got := cell(row, 2); got != want {
				t.Errorf("row %d: %q, want %q", row, got, want)
			}
		}
	})
	t.Run("NumbersStayNumeric", func(t *testing.T) {
		if got := cell(1, 3); got != "-100000.00" {
			t.Errorf("negative amount %q", got)
		}
		if got := cell(3, 2); got != "-5" {
			t.Errorf("numeric text %q was escaped", got)
		}
		if got := cell(2, 3); got != "1234567.80" {
			t.Errorf("amount %q, want two decimals", got)
		}
	})
	t.Run("ChineseRoundTrips", func(t *testing.T) {
		if got := cell(2, 2); got != "拨付先投资金，第一期" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("DatesAndEmptyCells", func(t *testing.T) {
		if cell(1, 1) != "2025-03-14" || cell(1, 4) != "2025-03-14 09:30:00" {
			t.Errorf("date %q time %q", cell(1, 1), cell(1, 4))
		}
		if cell(3, 1) != "" || cell(3, 3) != "" || cell(2, 4) != "" {
			t.Errorf("empty cells not empty: %q", recs[3])
		}
	})
	t.Run("EndsWithChainHead", func(t *testing.T) {
		want := "# 链头: 3 sha256-v1:" + testHead.Hash + "\r\n"
		if !strings.HasSuffix(out, want) {
			t.Errorf("ends %q", out[max(0, len(out)-100):])
		}
	})
	t.Run("WriteAfterCloseRefused", func(t *testing.T) {
		if err := rw.WriteRow(testRows[0]...); err == nil {
			t.Error("accepted a row after Close")
		}
	})
}

func TestEmptyExportHasHeaders(t *testing.T) {
	t.Run("CSV", func(t *testing.T) {
		var buf bytes.Buffer
		rw, _ := NewCSVWriter(&buf, JournalTable)
		if err := rw.Close(ChainHead{}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\r\n"), "\r\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "\uFEFF凭证序号,记账日期") || lines[1] != "# 链头: 0 sha256-v1:"+GenesisHash {
			t.Fatalf("got %q", lines)
		}
	})
	t.Run("XLSX", func(t *testing.T) {
		var buf bytes.Buffer
		rw, _ := NewXLSXWriter(&buf, JournalTable)
		if err := rw.Close(ChainHead{}); err != nil {
			t.Fatal(err)
		}
		f := openXLSX(t, buf.Bytes())
		rows, err := f.GetRows("日记账")
		if err != nil || len(rows) != 1 || rows[0][0] != "凭证序号" || len(rows[0]) != len(JournalTable.Columns) {
			t.Fatalf("rows %q err %v", rows, err)
		}
		if v, _ := f.GetCellValue(ChainSheetName, "B3"); v != GenesisHash {
			t.Fatalf("chain head hash %q", v)
		}
	})
}

func openXLSX(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open produced XLSX: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestXLSX(t *testing.T) {
	var buf bytes.Buffer
	rw, err := NewRowWriter(FormatXLSX, &buf, testTable)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, rw, testRows)
	f := openXLSX(t, buf.Bytes())
	const s = "测试"

	t.Run("Sheets", func(t *testing.T) {
		if got := strings.Join(f.GetSheetList(), ","); got != "测试,链头" {
			t.Fatalf("sheets %s", got)
		}
	})
	t.Run("ChineseHeader", func(t *testing.T) {
		rows, _ := f.GetRows(s)
		if strings.Join(rows[0], ",") != "序号,日期,摘要,金额,时间" {
			t.Fatalf("header %q", rows[0])
		}
	})
	t.Run("MoneyIsNumberWithTwoDecimalFormat", func(t *testing.T) {
		typ, _ := f.GetCellType(s, "D2")
		if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber { // unset is "n" by default
			t.Errorf("type %v, want a number", typ)
		}
		raw, _ := f.GetCellValue(s, "D2", excelize.Options{RawCellValue: true})
		if raw != "-100000" {
			t.Errorf("raw value %q", raw)
		}
		id, _ := f.GetCellStyle(s, "D2")
		st, err := f.GetStyle(id)
		if err != nil || st.NumFmt != 4 {
			t.Errorf("number format %d (%v), want built-in 4 #,##0.00", st.NumFmt, err)
		}
		if shown, _ := f.GetCellValue(s, "D3"); shown != "1,234,567.80" {
			t.Errorf("shown as %q", shown)
		}
	})
	t.Run("DatesAreDateCells", func(t *testing.T) {
		raw, _ := f.GetCellValue(s, "B2", excelize.Options{RawCellValue: true})
		if raw != "45730" { // 2025-03-14
			t.Errorf("date serial %q", raw)
		}
		if shown, _ := f.GetCellValue(s, "B2"); shown != "2025-03-14" {
			t.Errorf("date shown %q", shown)
		}
		if shown, _ := f.GetCellValue(s, "E2"); shown != "2025-03-14 09:30:00" {
			t.Errorf("time shown %q", shown)
		}
	})
	t.Run("FormulaTextStaysText", func(t *testing.T) {
		v, _ := f.GetCellValue(s, "C2")
		formula, _ := f.GetCellFormula(s, "C2")
		if v != "=cmd|' /C calc'!A0" || formula != "" {
			t.Errorf("value %q formula %q", v, formula)
		}
	})
	t.Run("HeaderFrozen", func(t *testing.T) {
		p, err := f.GetPanes(s)
		if err != nil || !p.Freeze || p.YSplit != 1 || p.XSplit != 0 || p.TopLeftCell != "A2" {
			t.Fatalf("panes %+v %v", p, err)
		}
	})
	t.Run("ChainHeadSheet", func(t *testing.T) {
		seq, _ := f.GetCellValue(ChainSheetName, "B2")
		hash, _ := f.GetCellValue(ChainSheetName, "B3")
		alg, _ := f.GetCellValue(ChainSheetName, "B4")
		if seq != "3" || hash != testHead.Hash || alg != HashAlgorithm {
			t.Fatalf("chain sheet %q %q %q", seq, hash, alg)
		}
	})
	t.Run("EmptyCellsAbsent", func(t *testing.T) {
		if v, _ := f.GetCellValue(s, "B4"); v != "" {
			t.Errorf("empty date holds %q", v)
		}
	})
}

func TestXLSXHugeAmountKeptExactAsText(t *testing.T) {
	var buf bytes.Buffer
	rw, _ := NewXLSXWriter(&buf, testTable)
	writeAll(t, rw, [][]Value{{Int(1), Date(testDay), Text("x"), Money(dec("9999999999999999.99")), {}}})
	f := openXLSX(t, buf.Bytes())
	if v, _ := f.GetCellValue("测试", "D2"); v != "9999999999999999.99" {
		t.Fatalf("got %q", v)
	}
}

func TestXLSXContinuesOnNewSheet(t *testing.T) {
	var buf bytes.Buffer
	rw, _ := NewXLSXWriter(&buf, testTable)
	rw.maxRows = 3 // header + 2 rows per sheet
	for i := range 5 {
		if err := rw.WriteRow(Int(int64(i+1)), Date(testDay), Text("行"), Money(dec("1")), Value{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Close(testHead); err != nil {
		t.Fatal(err)
	}
	f := openXLSX(t, buf.Bytes())
	if got := strings.Join(f.GetSheetList(), ","); got != "测试,测试(2),测试(3),链头" {
		t.Fatalf("sheets %s", got)
	}
	for sheet, want := range map[string]string{"测试": "2", "测试(2)": "4", "测试(3)": "5"} {
		rows, _ := f.GetRows(sheet)
		if rows[0][0] != "序号" || rows[len(rows)-1][0] != want {
			t.Errorf("%s: %q", sheet, rows)
		}
	}
}

func TestRowWriterRefusesBadRows(t *testing.T) {
	for _, format := range []Format{FormatCSV, FormatXLSX} {
		t.Run(string(format), func(t *testing.T) {
			rw, err := NewRowWriter(format, io.Discard, testTable)
			if err != nil {
				t.Fatal(err)
			}
			defer rw.Abort()
			wantError(t, rw.WriteRow(Int(1), Date(testDay), Text("x")), "表有 5 列")
			wantError(t, rw.WriteRow(Text("1"), Date(testDay), Text("x"), Money(dec("1")), Value{}), "第 1 列（序号）应为整数，实为文本")
			wantError(t, rw.WriteRow(Int(1), Date(testDay), Text("x"), Int(2), Value{}), "应为金额，实为整数")
		})
	}
	if _, err := ParseFormat("pdf"); err == nil {
		t.Error("ParseFormat accepted pdf")
	}
	if f, err := ParseFormat(" XLSX "); err != nil || f != FormatXLSX {
		t.Errorf("ParseFormat XLSX: %v %v", f, err)
	}
	if _, err := NewCSVWriter(io.Discard, Table{}); err == nil {
		t.Error("accepted a table without columns")
	}
}

func TestJournalExport(t *testing.T) {
	entries := sampleChain(t, 6)
	for _, format := range []Format{FormatCSV, FormatXLSX} {
		t.Run(string(format), func(t *testing.T) {
			var buf bytes.Buffer
			rw, err := NewRowWriter(format, &buf, JournalTable)
			if err != nil {
				t.Fatal(err)
			}
			rows := 0
			for i := range entries {
				for _, p := range entries[i].Postings {
					if err := rw.WriteRow(AppendJournalRow(nil, &entries[i], p)...); err != nil {
						t.Fatal(err)
					}
					rows++
				}
			}
			if err := rw.Close(entries[len(entries)-1].Head()); err != nil {
				t.Fatal(err)
			}
			if format == FormatCSV {
				if !strings.Contains(buf.String(), ",冲销,冲销第 5 号凭证（拨付）,1221,") {
					t.Errorf("reversal row missing:\n%s", buf.String())
				}
				return
			}
			f := openXLSX(t, buf.Bytes())
			got, _ := f.GetRows("日记账")
			if len(got) != rows+1 {
				t.Errorf("%d rows, want %d", len(got), rows+1)
			}
		})
	}
	t.Run("TrialBalance", func(t *testing.T) {
		tb, err := SumPostings(Postings(func(yield func(Entry) bool) {
			for _, e := range entries {
				if !yield(e) {
					return
				}
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		rw, _ := NewCSVWriter(&buf, TrialBalanceTable)
		for _, b := range tb.Lines() {
			if err := rw.WriteRow(TrialBalanceRow(b)...); err != nil {
				t.Fatal(err)
			}
		}
		if err := rw.WriteRow(TrialBalanceTotalRow(tb)...); err != nil {
			t.Fatal(err)
		}
		if err := rw.Close(entries[5].Head()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "\r\n3001,财政拨入资金,3001/prog/7,0.00,100000000.00,0.00,100000000.00\r\n") ||
			!strings.Contains(buf.String(), "\r\n,合计,,100005000.05,100005000.05,100000000.00,100000000.00\r\n") {
			t.Errorf("trial balance:\n%s", buf.String())
		}
	})
}

// TestAppendMoneyMatchesStringFixed: the fast path feeds the hash chain, so
// it must agree with decimal's own formatting on every input.
func TestAppendMoneyMatchesStringFixed(t *testing.T) {
	for _, s := range []string{"0", "-0", "0.00", "1", "-1", "0.1", "-0.1", "0.01", "-0.01", "12.3", "-100000.00",
		"100000", "1e3", "1.005", "-1.005", "2.675", "9999999999999999.99", "99999999999999999999.99",
		"1234567890123456", "12345678901234567", "1E+20", "-9223372036854775808", "0.000001"} {
		d := dec(s)
		if got, want := string(appendMoney(nil, d)), d.StringFixed(2); got != want {
			t.Errorf("%s: appendMoney %q, StringFixed %q", s, got, want)
		}
	}
	for _, d := range []decimal.Decimal{decimal.Zero, {}, decimal.New(-5, -2), decimal.New(123, 0), decimal.New(7, 2)} {
		if got, want := string(appendMoney(nil, d)), d.StringFixed(2); got != want {
			t.Errorf("%v: appendMoney %q, StringFixed %q", d, got, want)
		}
	}
}

func FuzzAppendMoney(f *testing.F) {
	f.Add(int64(-10000000), int8(-2))
	f.Add(int64(5), int8(0))
	f.Add(int64(123456789), int8(-1))
	f.Fuzz(func(t *testing.T, coef int64, exp int8) {
		d := decimal.New(coef, int32(exp))
		if got, want := string(appendMoney(nil, d)), d.StringFixed(2); got != want {
			t.Errorf("%s: appendMoney %q, StringFixed %q", d, got, want)
		}
	})
}

func TestAppendDate(t *testing.T) {
	for _, tm := range []time.Time{testDay, time.Date(1, 2, 3, 4, 5, 6, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2025, 1, 2, 23, 30, 0, 0, time.FixedZone("CST", 8*3600))} {
		if got, want := string(appendDate(nil, tm)), tm.Format(time.DateOnly); got != want {
			t.Errorf("appendDate %q, want %q", got, want)
		}
		if got, want := string(appendDateTime(nil, tm)), tm.Format(dateTimeLayout); got != want {
			t.Errorf("appendDateTime %q, want %q", got, want)
		}
	}
}

func TestAppendCreatedAt(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
		time.Date(2025, 3, 14, 9, 30, 0, 999999999, time.FixedZone("CST", 8*3600)),
		time.Date(1999, 12, 31, 23, 59, 59, 1000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		want := tm.UTC().Truncate(time.Microsecond).Format(createdAtLayout)
		if got := string(appendCreatedAt(nil, tm)); got != want {
			t.Errorf("appendCreatedAt %q, want %q", got, want)
		}
	}
}
