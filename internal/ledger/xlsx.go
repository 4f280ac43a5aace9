package ledger

import (
	"archive/zip"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// ChainSheetName is the XLSX sheet that records the chain head an export
// was taken at.
const ChainSheetName = "链头"

// excelEpoch is day 0 of Excel's 1900 date system for every date from
// 1900-03-01 on (Excel counts a 29 February 1900 that never was).
var (
	excelEpoch     = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	excelFirstSafe = time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)
)

// maxExactDigits is the most significant digits a spreadsheet number keeps
// (an IEEE double, shown to 15 digits): 9,999,999,999,999.99 yuan.
const maxExactDigits = 15

// XLSXWriter writes an export as an XLSX workbook through excelize's
// StreamWriter: a data sheet named after the table with a bold Chinese header
// row frozen at the top, typed cells (money as numbers with the built-in
// "#,##0.00" format, other decimals (units, stakes, MOIC, XIRR) as numbers
// with their column's NumFmt, dates and times as date cells (times exact to
// the second, see excelSerial), integers as numbers,
// text as inline strings, so never as formulas), and a second sheet
// (ChainSheetName) with the chain head.
//
// Memory stays flat: the stream writer keeps at most 16 MiB of sheet XML in
// memory and spills the rest to a temporary file, and Close writes the zip
// straight to w instead of through excelize's default in-memory buffer.
//
// An amount with more than 15 significant digits cannot be held exactly by a
// spreadsheet number; it is written as text so that no fen is lost. A sheet
// holds at most 1,048,576 rows; past that the rows continue on a new sheet
// ("日记账(2)", ...) under the same header.
type XLSXWriter struct {
	dst     io.Writer
	f       *excelize.File
	sw      *excelize.StreamWriter
	t       Table
	loc     *time.Location
	sheet   int // number of data sheets started
	row     int // last row written on the current sheet
	maxRows int // excelize.TotalRows; lowered by tests
	vals    []any
	closed  bool

	styleHeader, styleMoney, styleDate, styleDateTime int
	styleNumber                                       []int // per column: the NumFmt style of a ColNumber column
}

// NewXLSXWriter returns an XLSX writer for t. It returns an *Error for a bad
// table, or excelize's error for a sheet name Excel does not allow (longer
// than 31 characters, or containing : \ / ? * [ ]).
func NewXLSXWriter(w io.Writer, t Table) (*XLSXWriter, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if t.Name == "" {
		t.Name = "数据"
	}
	x := &XLSXWriter{dst: w, f: excelize.NewFile(), t: t, loc: t.location(),
		maxRows: excelize.TotalRows, vals: make([]any, len(t.Columns))}
	if err := x.init(); err != nil {
		_ = x.f.Close()
		return nil, err
	}
	return x, nil
}

func (x *XLSXWriter) init() error {
	var err error
	if x.styleHeader, err = x.f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
	}); err != nil {
		return err
	}
	// Built-in format 4 is "#,##0.00": every spreadsheet program knows it
	// without reading a custom format.
	if x.styleMoney, err = x.f.NewStyle(&excelize.Style{NumFmt: 4}); err != nil {
		return err
	}
	dateFmt, dateTimeFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	if x.styleDate, err = x.f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return err
	}
	if x.styleDateTime, err = x.f.NewStyle(&excelize.Style{CustomNumFmt: &dateTimeFmt}); err != nil {
		return err
	}
	x.styleNumber = make([]int, len(x.t.Columns))
	for i, c := range x.t.Columns {
		if c.Type != ColNumber {
			continue
		}
		numFmt := c.NumFmt
		if numFmt == "" {
			numFmt = NumFmtGeneral
		}
		if x.styleNumber[i], err = x.f.NewStyle(&excelize.Style{CustomNumFmt: &numFmt}); err != nil {
			return err
		}
	}
	if err := x.f.SetSheetName("Sheet1", x.t.Name); err != nil {
		return err
	}
	return x.startSheet(x.t.Name)
}

// startSheet opens a stream on sheet (which must exist) and writes the
// header row with the pane frozen below it.
func (x *XLSXWriter) startSheet(sheet string) error {
	sw, err := x.f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for i, c := range x.t.Columns {
		if err := sw.SetColWidth(i+1, i+1, columnWidth(c)); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	header := make([]any, len(x.t.Columns))
	for i, c := range x.t.Columns {
		header[i] = excelize.Cell{StyleID: x.styleHeader, Value: c.Title}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: 20}); err != nil {
		return err
	}
	x.sw, x.row = sw, 1
	x.sheet++
	return nil
}

func columnWidth(c Column) float64 {
	if c.Width > 0 {
		return c.Width
	}
	switch c.Type {
	case ColMoney:
		return 18
	case ColDate:
		return 12
	case ColDateTime:
		return 20
	case ColInt:
		return 10
	case ColNumber:
		return 14
	}
	return 16
}

// nextSheet flushes the full sheet and starts "<name>(n)".
func (x *XLSXWriter) nextSheet() error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	suffix := "(" + strconv.Itoa(x.sheet+1) + ")"
	base := x.t.Name
	for utf8.RuneCountInString(base)+len(suffix) > excelize.MaxSheetNameLength {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	name := base + suffix
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	return x.startSheet(name)
}

// WriteRow writes one row (see RowWriter).
func (x *XLSXWriter) WriteRow(row ...Value) error {
	if x.closed {
		return errClosed
	}
	if err := checkRow(&x.t, row); err != nil {
		return err
	}
	for i, v := range row {
		x.vals[i] = x.cell(i, v)
	}
	if x.row >= x.maxRows {
		if err := x.nextSheet(); err != nil {
			return err
		}
	}
	x.row++
	return x.sw.SetRow("A"+strconv.Itoa(x.row), x.vals)
}

// cell turns a checked value of column i into what StreamWriter.SetRow
// takes; nil leaves the cell out.
func (x *XLSXWriter) cell(i int, v Value) any {
	switch v.typ {
	case 0:
		return nil
	case ColMoney:
		return x.number(v.d.StringFixed(2), x.styleMoney)
	case ColNumber:
		return x.number(v.d.String(), x.styleNumber[i])
	case ColInt:
		return v.n
	case ColDate:
		d := dateOf(v.t)
		if d.Before(excelFirstSafe) {
			return d.Format(time.DateOnly)
		}
		return excelize.Cell{StyleID: x.styleDate, Value: float64(d.Sub(excelEpoch) / (24 * time.Hour))}
	case ColDateTime:
		// A spreadsheet time has no zone: store the wall clock in loc.
		w := v.t.In(x.loc)
		wall := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
		if wall.Before(excelFirstSafe) {
			return w.Format(dateTimeLayout)
		}
		return excelize.Cell{StyleID: x.styleDateTime, Value: excelSerial(int64(wall.Sub(excelEpoch) / time.Second))}
	}
	return v.s
}

// number is a number cell of s (a decimal) in style, or the text s when a
// spreadsheet number cannot hold it exactly.
func (x *XLSXWriter) number(s string, style int) any {
	if significantDigits(s) > maxExactDigits {
		return s
	}
	// ParseFloat rounds correctly, and excelize prints the shortest form
	// that reads back the same (up to 15 digits, which is all s has), so
	// "-100000.00" is stored as -100000 and shown as -100,000.00.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return excelize.Cell{StyleID: style, Value: f}
}

// excelSerial is the spreadsheet serial of a time secs whole seconds after
// excelEpoch: days plus the fraction secs%86400/86400, computed in integers
// and rounded up to the 15 significant digits a cell keeps. Up, because
// excelize cuts a number to 15 digits and LibreOffice shows the second a
// serial has reached: the plain float quotient, cut, lands a few
// milliseconds early for about half of all times (23:53:00 showed as
// 23:52:59). Rounded up it is at most 9 µs late, so readers that truncate
// and readers that round both show the right second, and it reads back
// unchanged through excelize's 15 digits.
func excelSerial(secs int64) float64 {
	days, rem := secs/86400, secs%86400
	intDigits := len(strconv.FormatInt(days, 10))
	decimals := maxExactDigits - intDigits
	scale := int64(1)
	for range decimals {
		scale *= 10
	}
	// rem < 86400 and scale <= 1e15/10^intDigits: rem*scale fits in int64
	// for every date a spreadsheet holds (intDigits >= 2 from 1900-03-01).
	frac := (rem*scale + 86399) / 86400
	s := strconv.FormatInt(days, 10) + "." + leftPad(strconv.FormatInt(frac, 10), decimals)
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func significantDigits(s string) int {
	n, leading := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		if leading && c == '0' {
			continue
		}
		leading = false
		n++
	}
	return n
}

// Close flushes the data sheet, adds the chain-head sheet and writes the
// workbook to w, then removes temporary files. It does not close w.
func (x *XLSXWriter) Close(head ChainHead) error {
	if x.closed {
		return errClosed
	}
	x.closed = true
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	if err := x.writeChainSheet(head.normal()); err != nil {
		return err
	}
	x.f.SetActiveSheet(0)
	// WriteTo would assemble the whole zip in a bytes.Buffer first; handing
	// excelize a zip writer on w instead streams it out.
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(x.dst) })
	_, err := x.f.WriteTo(x.dst)
	return err
}

func (x *XLSXWriter) writeChainSheet(h ChainHead) error {
	const s = ChainSheetName
	if _, err := x.f.NewSheet(s); err != nil {
		return err
	}
	rows := [][]any{
		{"项目", "值"},
		{"链头序号", h.Seq},
		{"链头哈希", h.Hash},
		{"哈希算法", h.Algorithm},
		{"链头标识", h.String()},
		{"说明", "导出时台账最后一条凭证的序号与哈希。用台账校验命令或台账校验页面核验：该序号的凭证哈希应与此一致，且链条完整。"},
	}
	for i, r := range rows {
		if err := x.f.SetSheetRow(s, "A"+strconv.Itoa(i+1), &r); err != nil {
			return err
		}
	}
	if err := x.f.SetCellStyle(s, "A1", "B1", x.styleHeader); err != nil {
		return err
	}
	if err := x.f.SetColWidth(s, "A", "A", 12); err != nil {
		return err
	}
	return x.f.SetColWidth(s, "B", "B", 80)
}

// Abort removes temporary files without writing anything to w. It is a
// no-op after Close.
func (x *XLSXWriter) Abort() error {
	if x.closed {
		return nil
	}
	x.closed = true
	return x.f.Close()
}
