package ledger

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// awkwardText is text a memo could hold that XML cannot take as it is:
// markup, every control character, the two non-characters, things that look
// like the spreadsheet's own _xHHHH_ escape, and spaces at both ends.
var awkwardText = ` <a href="x">&amp; 'q'</a> ]]> _x0041_ _x005F_ _x0041_x0042_ _x12_ ` +
	"\x00\x01\x08\x0b\x0c\x1f\x7f tab\there\r\nline \uFFFE\uFFFF 中文 𝄞 "

func writeXLSX(t *testing.T, tab Table, rows ...[]Value) []byte {
	t.Helper()
	var buf bytes.Buffer
	rw, err := NewXLSXWriter(&buf, tab)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, rw, rows)
	return buf.Bytes()
}

// lookalikes are text that a reader could take for _xHHHH_ escapes (or
// nearly); each must read back as it is.
var lookalikes = []string{"a_x1_b", "a_x12_b", "a_x123_b", "a_x1234_b", "a_x12345_b", "a_xZZ_b", "a_x_b", "a_X0041_b",
	"a_x0041b", "a_x0041_b", "a_x005f_b", "_x005F_x0041_", "a_xD800_b", "a_x0000_b", "a_xFFFF_b", "a_x41__b", "_x0041_x0042_"}

var textTable = Table{Name: "文本", Columns: []Column{{Title: "序号", Type: ColInt}, {Title: "摘要", Type: ColText}}}

// TestXLSXTextRoundTrips: whatever a text cell holds reads back exactly, and
// the file stays well-formed XML.
func TestXLSXTextRoundTrips(t *testing.T) {
	long := strings.Repeat("长", maxCellChars-1) + "𝄞" // 32,768 UTF-16 units: the last character is cut
	rows := [][]Value{
		{Int(1), Text(awkwardText)},
		{Int(2), Text("bad\xffutf-8\xc3")},
		{Int(3), Text(long)},
		{Int(4), Text("_x0041_")},
		{Int(5), Text("\t")},
	}
	b := writeXLSX(t, textTable, append(rows, lookalikeRows()...)...)
	assertWellFormed(t, b)
	f := openXLSX(t, b)
	want := map[string]string{
		"B2": awkwardText,
		"B3": "bad\uFFFDutf-8\uFFFD",
		"B4": strings.Repeat("长", maxCellChars-1),
		"B5": "_x0041_",
		"B6": "\t",
	}
	for _, l := range lookalikes {
		want["B"+strconv.Itoa(len(want)+2)] = l
	}
	for cell, want := range want {
		got, err := f.GetCellValue("文本", cell)
		if err != nil || got != want {
			t.Errorf("%s: got %q (%v), want %q", cell, trimForLog(got), err, trimForLog(want))
		}
		if typ, _ := f.GetCellType("文本", cell); typ != excelize.CellTypeInlineString {
			t.Errorf("%s: cell type %v, want an inline string", cell, typ)
		}
	}
}

func lookalikeRows() [][]Value {
	var rows [][]Value
	for i, l := range lookalikes {
		rows = append(rows, []Value{Int(int64(i)), Text(l)})
	}
	return rows
}

func trimForLog(s string) string {
	if len(s) > 200 {
		return s[:100] + "…" + s[len(s)-100:]
	}
	return s
}

// TestXLSXTextInLibreOffice: LibreOffice, when installed, reads the
// awkward text back as it was written (the _xHHHH_ escapes turned back into
// characters, a literal _x0041_ left alone).
func TestXLSXTextInLibreOffice(t *testing.T) {
	bin, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("LibreOffice is not installed (scripts/ensure-packages.sh libreoffice installs libreoffice-calc-nogui)")
	}
	if testing.Short() {
		t.Skip("starts LibreOffice")
	}
	// No line breaks (LibreOffice's CSV writes a cell's CR LF as it is)
	// and no NUL (its CSV ends a cell there).
	text := strings.NewReplacer("\r\n", " ", "\x00", "").Replace(awkwardText)
	dir := t.TempDir()
	in := filepath.Join(dir, "text.xlsx")
	rows := append([][]Value{{Int(1), Text(text)}}, lookalikeRows()...)
	if err := os.WriteFile(in, writeXLSX(t, textTable, rows...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless",
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", dir, in)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("LibreOffice: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "text.csv"))
	if err != nil {
		t.Fatalf("LibreOffice wrote no CSV: %v", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 1+len(rows) {
		t.Fatalf("LibreOffice CSV %q: %v", b, err)
	}
	if recs[0][1] != "摘要" {
		t.Errorf("header %q", recs[0])
	}
	for i, r := range rows {
		if got := recs[i+1][1]; got != r[1].s {
			t.Errorf("LibreOffice shows %q\nwant %q", got, r[1].s)
		}
	}
}

// assertWellFormed parses every XML part of the package.
func assertWellFormed(t *testing.T, b []byte) {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range z.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(r)
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", zf.Name, err)
			}
		}
		_ = r.Close()
	}
}

// TestXLSXPackage: the parts a spreadsheet program expects, in the usual
// order, each well-formed.
func TestXLSXPackage(t *testing.T) {
	b := writeXLSX(t, testTable, testRows...)
	assertWellFormed(t, b)
	z, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	var names []string
	for _, zf := range z.File {
		names = append(names, zf.Name)
	}
	want := "[Content_Types].xml _rels/.rels xl/workbook.xml xl/_rels/workbook.xml.rels xl/styles.xml " +
		"xl/worksheets/sheet1.xml xl/worksheets/sheet2.xml"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("parts %s\nwant %s", got, want)
	}
	f := openXLSX(t, b)
	if f.GetActiveSheetIndex() != 0 {
		t.Errorf("active sheet %d, want the data sheet", f.GetActiveSheetIndex())
	}
}

// TestXLSXHeaderAndWidths: the header is bold, centred and filled, 20
// points high; the columns have their widths, on the chain-head sheet too.
func TestXLSXHeaderAndWidths(t *testing.T) {
	b := writeXLSX(t, testTable, testRows...)
	f := openXLSX(t, b)
	id, _ := f.GetCellStyle("测试", "C1")
	st, err := f.GetStyle(id)
	if err != nil || st.Font == nil || !st.Font.Bold || st.Alignment == nil || st.Alignment.Horizontal != "center" ||
		st.Alignment.Vertical != "center" || st.Fill.Type != "pattern" || st.Fill.Pattern != 1 {
		t.Errorf("header style %+v %+v %+v (%v)", st.Font, st.Alignment, st.Fill, err)
	}
	// excelize reports fill colours only with a theme part; read the fill.
	if styles := partText(t, b, "xl/styles.xml"); !strings.Contains(styles, `<patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/>`) {
		t.Errorf("header fill missing:\n%s", styles)
	}
	if h, _ := f.GetRowHeight("测试", 1); h != 20 {
		t.Errorf("header height %v", h)
	}
	for sheet, widths := range map[string][]float64{"测试": {10, 12, 16, 18, 20}, ChainSheetName: {12, 80}} {
		for i, want := range widths {
			col := columnName(i)
			if got, _ := f.GetColWidth(sheet, col); got != want {
				t.Errorf("%s column %s: width %v, want %v", sheet, col, got, want)
			}
		}
	}
	if id, _ := f.GetCellStyle(ChainSheetName, "B1"); id != styleHeader {
		t.Errorf("chain sheet header style %d", id)
	}
	if p, _ := f.GetPanes(ChainSheetName); p.Freeze {
		t.Errorf("chain sheet frozen: %+v", p)
	}
}

func partText(t *testing.T, b []byte, name string) string {
	t.Helper()
	z, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	r, err := z.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, _ := io.ReadAll(r)
	return string(s)
}

// TestXLSXNothingReachesWBeforeClose: a failed export can still become an
// error page, and Abort leaves w empty, with the rows held in memory or,
// past the spill limit, in a temporary file that is gone afterwards.
func TestXLSXNothingReachesWBeforeClose(t *testing.T) {
	for _, limit := range []int{spillMemory, 1 << 10} {
		t.Run("Limit"+strconv.Itoa(limit), func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			var buf bytes.Buffer
			rw, _ := NewXLSXWriter(&buf, JournalTable)
			rw.spill.limit = limit
			e := sampleChain(t, 6)
			for range 200 {
				for i := range e {
					for _, p := range e[i].Postings {
						if err := rw.WriteRow(AppendJournalRow(nil, &e[i], p)...); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if buf.Len() != 0 {
				t.Fatalf("%d bytes written before Close", buf.Len())
			}
			if (rw.spill.f != nil) != (limit < spillMemory) {
				t.Errorf("spilled to a file: %v", rw.spill.f != nil)
			}
			if err := rw.Abort(); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 {
				t.Errorf("Abort wrote %d bytes", buf.Len())
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if err := rw.WriteRow(testRows[0]...); err == nil {
				t.Error("accepted a row after Abort")
			}
		})
	}
}

// TestXLSXSpilledSheetsReadBack: sheets spilled to the temporary file, and
// continued past the row limit, read back whole.
func TestXLSXSpilledSheetsReadBack(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var buf bytes.Buffer
	rw, _ := NewXLSXWriter(&buf, testTable)
	rw.spill.limit, rw.maxRows = 4<<10, 1001
	const n = 2500
	for i := range n {
		if err := rw.WriteRow(Int(int64(i+1)), Date(testDay), Text("第 "+strconv.Itoa(i+1)+" 行"), Money(dec("1.5")), Value{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Close(testHead); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	f := openXLSX(t, buf.Bytes())
	if got := strings.Join(f.GetSheetList(), ","); got != "测试,测试(2),测试(3),链头" {
		t.Fatalf("sheets %s", got)
	}
	next := 1
	for _, sheet := range []string{"测试", "测试(2)", "测试(3)"} {
		rows, _ := f.GetRows(sheet)
		if rows[0][0] != "序号" {
			t.Errorf("%s header %q", sheet, rows[0])
		}
		for _, r := range rows[1:] {
			if r[0] != strconv.Itoa(next) || r[2] != "第 "+r[0]+" 行" {
				t.Fatalf("%s: row %q, want number %d", sheet, r, next)
			}
			next++
		}
		if p, _ := f.GetPanes(sheet); !p.Freeze || p.TopLeftCell != "A2" {
			t.Errorf("%s panes %+v", sheet, p)
		}
	}
	if next != n+1 {
		t.Errorf("read back %d rows, want %d", next-1, n)
	}
}

func TestXLSXContinuationNameFits(t *testing.T) {
	name := strings.Repeat("账", 30)
	var buf bytes.Buffer
	rw, err := NewXLSXWriter(&buf, Table{Name: name, Columns: []Column{{Title: "序号", Type: ColInt}}})
	if err != nil {
		t.Fatal(err)
	}
	rw.maxRows = 2
	writeAll(t, rw, [][]Value{{Int(1)}, {Int(2)}})
	f := openXLSX(t, buf.Bytes())
	if got := f.GetSheetList(); len(got) != 3 || got[1] != strings.Repeat("账", 28)+"(2)" {
		t.Fatalf("sheets %q", got)
	}
}

func TestXLSXRefusesBadSheetNames(t *testing.T) {
	cols := []Column{{Title: "序号", Type: ColInt}}
	for name, fragment := range map[string]string{
		strings.Repeat("账", 32): "最多 31 个",
		strings.Repeat("𝄞", 16): "最多 31 个", // 32 UTF-16 units
		"日记账/2025":              "不能含有",
		"a[1]":                  "不能含有",
		"'日记账'":                 "单引号",
		"日记\x01账":               "控制字符",
		ChainSheetName:          "链头工作表",
		"A&B <日记账> \"x\"":       "",
		strings.Repeat("账", 31): "",
		strings.Repeat("𝄞", 15): "",
	} {
		_, err := NewXLSXWriter(io.Discard, Table{Name: name, Columns: cols})
		if fragment == "" {
			if err != nil {
				t.Errorf("%q refused: %v", name, err)
			}
			continue
		}
		wantError(t, err, fragment)
	}
	// A name that needs escaping reads back as it was.
	f := openXLSX(t, writeXLSX(t, Table{Name: `A&B <日记账> "x"`, Columns: cols}, []Value{Int(1)}))
	if got := f.GetSheetList(); got[0] != `A&B <日记账> "x"` {
		t.Errorf("sheet name %q", got[0])
	}
}

// TestXLSXDatesOutsideTheCalendarAreText: Excel's dates run from 1900-03-01
// (safely) to 9999-12-31; outside that a date or time is text.
func TestXLSXDatesOutsideTheCalendarAreText(t *testing.T) {
	tab := Table{Name: "日期", Columns: []Column{{Title: "日期", Type: ColDate}, {Title: "时间", Type: ColDateTime}}}
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	b := writeXLSX(t, tab,
		[]Value{Date(last), DateTime(last)},
		[]Value{Date(last.Add(time.Second)), DateTime(last.Add(time.Second))},
		[]Value{Date(excelFirstSafe.Add(-time.Second)), DateTime(excelFirstSafe.Add(-time.Second))},
		[]Value{Date(excelFirstSafe), DateTime(excelFirstSafe)},
	)
	f := openXLSX(t, b)
	for _, w := range []struct{ cell, raw, shown string }{
		{"A2", "2958465", "9999-12-31"},
		{"B2", "2958465.99998843", "9999-12-31 23:59:59"},
		{"A3", "10000-01-01", "10000-01-01"},
		{"B3", "10000-01-01 00:00:00", "10000-01-01 00:00:00"},
		{"A4", "1900-02-28", "1900-02-28"},
		{"B4", "1900-02-28 23:59:59", "1900-02-28 23:59:59"},
		{"A5", "61", "1900-03-01"},
		{"B5", "61", "1900-03-01 00:00:00"},
	} {
		raw, _ := f.GetCellValue("日期", w.cell, excelize.Options{RawCellValue: true})
		shown, _ := f.GetCellValue("日期", w.cell)
		if raw != w.raw || shown != w.shown {
			t.Errorf("%s: raw %q shown %q, want %q %q", w.cell, raw, shown, w.raw, w.shown)
		}
	}
}

// TestExcelSerialPrintsAsBefore: WriteRow prints a serial with
// strconv's shortest form; it must be the 15-digit decimal excelSerial
// rounded to, trailing zeros dropped (what excelize printed).
func TestExcelSerialPrintsAsBefore(t *testing.T) {
	for _, day := range []int64{61, 45730, 2958465} {
		for s := int64(0); s < 86400; s += 7 {
			secs := day*86400 + s
			got := strconv.FormatFloat(excelSerial(secs), 'f', -1, 64)
			decimals := maxExactDigits - len(strconv.FormatInt(day, 10))
			frac := new(strings.Builder)
			scale := int64(1)
			for range decimals {
				scale *= 10
			}
			fs := strconv.FormatInt((s*scale+86399)/86400, 10)
			frac.WriteString(strings.Repeat("0", decimals-len(fs)) + fs)
			want := strings.TrimSuffix(strings.TrimRight(strconv.FormatInt(day, 10)+"."+frac.String(), "0"), ".")
			if got != want {
				t.Fatalf("day %d second %d: %s, want %s", day, s, got, want)
			}
		}
	}
}
