package ledger

import (
	"archive/zip"
	"compress/flate"
	"hash/crc32"
	"io"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ChainSheetName is the XLSX sheet that records the chain head an export
// was taken at.
const ChainSheetName = "链头"

// excelEpoch is day 0 of Excel's 1900 date system for every date from
// 1900-03-01 on (Excel counts a 29 February 1900 that never was), and
// 10000-01-01 the first day past the last one a spreadsheet shows as a date.
var (
	excelEpoch     = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	excelFirstSafe = time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)
	excelPastLast  = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxExactDigits is the most significant digits a spreadsheet number keeps
// (an IEEE double, shown to 15 digits): 9,999,999,999,999.99 yuan.
const maxExactDigits = 15

// Spreadsheet limits: rows a sheet holds, characters (UTF-16 units) in a
// sheet name and in a cell, columns a sheet holds.
const (
	maxSheetRows    = 1_048_576
	maxSheetNameLen = 31
	maxCellChars    = 32_767
	maxSheetColumns = 16_384
)

// sheetDeflateLevel compresses the sheets: level 2, not zip's default 6.
// Measured on 200,000 journal rows (151 MiB of sheet XML, one core), level
// 2 deflates them in 0.43 s against 2.6 s at level 6, for a file 16% larger
// (10.1 MiB against 8.7 MiB); BestSpeed (level 1, Go's separate fast
// encoder) is hardly faster (0.41 s) and 27% larger again (12.8 MiB). An
// export is bound by CPU, and the file is a download that nobody keeps
// open, so the time is worth more than the bytes.
const sheetDeflateLevel = 2

// sheetFlushSize is how much sheet XML collects before it is deflated.
const sheetFlushSize = 64 << 10

// The cell styles of styles.xml (the s attribute): every workbook has the
// first five; the ColNumber formats follow, one style per distinct NumFmt.
const (
	styleHeader   = 1 // bold, centred, filled
	styleMoney    = 2 // built-in format 4, #,##0.00
	styleDate     = 3 // numFmt 164
	styleDateTime = 4 // numFmt 165
	styleNumber   = 5 // the first ColNumber format, numFmt 166
	firstNumFmtID = 164
)

// XLSXWriter writes an export as an XLSX workbook: a data sheet named after
// the table with a bold, centred, filled Chinese header row frozen at the
// top, typed cells (money as numbers with the built-in "#,##0.00" format,
// other decimals (units, stakes, MOIC, XIRR) as numbers with their column's
// NumFmt, dates and times as date cells (times exact to the second, see
// excelSerial), integers as numbers, text as inline strings, so never as
// formulas), and a second sheet (ChainSheetName) with the chain head. The
// first sheet is the active one.
//
// It writes the SpreadsheetML itself: each row is appended to one reused
// buffer and deflated as it goes, so memory stays flat whatever the row
// count. Nothing reaches w before Close: the deflated sheets collect in
// memory up to spillMemory and then in a temporary file, and Close writes
// the zip to w in the usual part order ([Content_Types].xml first, which
// file-type sniffers look for). An export that fails half-way can still be
// answered with an error page, and Abort leaves w untouched.
//
// An amount with more than 15 significant digits cannot be held exactly by a
// spreadsheet number; it is written as text so that no fen is lost. A date
// before 1900-03-01 or after 9999-12-31 is written as text too (Excel's
// calendar is wrong before, and ends after). Text is XML-escaped; the
// characters XML 1.0 cannot hold (control characters other than tab, line
// feed and carriage return, U+FFFE, U+FFFF) are written as the
// spreadsheet escape _xHHHH_, which Excel, LibreOffice and excelize read
// back as the character, so a control character in a memo can neither
// corrupt the file nor be lost; text that itself looks like such an escape
// has its underscore escaped (_x005F_). Invalid UTF-8 becomes U+FFFD, and a
// cell keeps at most 32,767 characters (Excel's limit). A sheet holds at
// most 1,048,576 rows; past that the rows continue on a new sheet
// ("日记账(2)", ...) under the same header.
type XLSXWriter struct {
	dst     io.Writer
	t       Table
	loc     *time.Location
	styles  []int    // per column: the style of its number cells
	numFmts []string // the ColNumber formats, numFmt 166 on
	cols    []string // column letters, A, B, ...
	maxRows int      // maxSheetRows; lowered by tests
	row     int      // last row written on the current sheet
	sheets  []sheetPart
	buf     []byte // sheet XML not yet deflated
	rs      []byte // the number of the row being written
	num     []byte // scratch for a value's digits
	spill   spill
	zw      *flate.Writer
	crc     uint32
	closed  bool
}

// sheetPart is one deflated sheet in the spill.
type sheetPart struct {
	name      string
	off, size int64 // where its deflated XML lies in the spill
	raw       int64 // the XML's length
	crc       uint32
}

// NewXLSXWriter returns an XLSX writer for t. It returns an *Error for a
// bad table or for a sheet name Excel does not allow (longer than 31
// characters, containing : \ / ? * [ ] or a control character, starting or
// ending with an apostrophe, or ChainSheetName).
func NewXLSXWriter(w io.Writer, t Table) (*XLSXWriter, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if t.Name == "" {
		t.Name = "数据"
	}
	if err := checkSheetName(t.Name); err != nil {
		return nil, err
	}
	if len(t.Columns) > maxSheetColumns {
		return nil, errorf("table", "导出表有 %d 列，XLSX 工作表最多 %d 列", len(t.Columns), maxSheetColumns)
	}
	x := &XLSXWriter{dst: w, t: t, loc: t.location(), maxRows: maxSheetRows, spill: spill{limit: spillMemory},
		styles: make([]int, len(t.Columns)), cols: make([]string, max(len(t.Columns), 2))}
	for i := range x.cols {
		x.cols[i] = columnName(i)
	}
	for i, c := range t.Columns {
		switch c.Type {
		case ColMoney:
			x.styles[i] = styleMoney
		case ColDate:
			x.styles[i] = styleDate
		case ColDateTime:
			x.styles[i] = styleDateTime
		case ColNumber:
			x.styles[i] = styleNumber + x.numFmtIndex(c.NumFmt)
		}
	}
	if err := x.startSheet(t.Name); err != nil {
		_ = x.spill.close()
		return nil, err
	}
	return x, nil
}

// numFmtIndex is the position of a ColNumber format in x.numFmts, added
// if new.
func (x *XLSXWriter) numFmtIndex(numFmt string) int {
	if numFmt == "" {
		numFmt = NumFmtGeneral
	}
	for i, f := range x.numFmts {
		if f == numFmt {
			return i
		}
	}
	x.numFmts = append(x.numFmts, numFmt)
	return len(x.numFmts) - 1
}

func checkSheetName(name string) error {
	if n := utf16Len(name); n > maxSheetNameLen {
		return errorf("table", "工作表名称“%s”有 %d 个字符，最多 %d 个", name, n, maxSheetNameLen)
	}
	if name[0] == '\'' || name[len(name)-1] == '\'' {
		return errorf("table", "工作表名称“%s”不能以单引号开头或结尾", name)
	}
	for _, r := range name {
		switch {
		case r == ':' || r == '\\' || r == '/' || r == '?' || r == '*' || r == '[' || r == ']':
			return errorf("table", "工作表名称“%s”不能含有 : \\ / ? * [ ]", name)
		case r < 0x20 || r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF:
			return errorf("table", "工作表名称 %q 含有控制字符或无效字符", name)
		}
	}
	if name == ChainSheetName {
		return errorf("table", "工作表名称不能是“%s”：链头工作表用这个名称", ChainSheetName)
	}
	return nil
}

// columnName is the letters of column i (0: A, 26: AA).
func columnName(i int) string {
	var b [4]byte
	n := len(b)
	for i++; i > 0; i = (i - 1) / 26 {
		n--
		b[n] = byte('A' + (i-1)%26)
	}
	return string(b[n:])
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

// startSheet starts data sheet name: its header row, frozen, and its
// column widths. Only the first sheet is selected.
func (x *XLSXWriter) startSheet(name string) error {
	x.sheets = append(x.sheets, sheetPart{name: name, off: x.spill.n})
	if x.zw == nil {
		zw, err := flate.NewWriter(&x.spill, sheetDeflateLevel)
		if err != nil {
			return err
		}
		x.zw = zw
	} else {
		x.zw.Reset(&x.spill)
	}
	x.crc = 0
	x.buf = appendSheetHead(x.buf[:0], x.t.Columns, len(x.sheets) == 1, true)
	x.buf = x.appendHeaderRow(x.buf, x.t.Columns, true)
	x.row = 1
	return nil
}

// endSheet finishes the current sheet's XML and its deflate stream.
func (x *XLSXWriter) endSheet() error {
	x.buf = append(x.buf, "</sheetData></worksheet>"...)
	if err := x.flush(); err != nil {
		return err
	}
	if err := x.zw.Close(); err != nil {
		return err
	}
	p := &x.sheets[len(x.sheets)-1]
	p.size, p.crc = x.spill.n-p.off, x.crc
	return nil
}

// flush deflates the collected XML.
func (x *XLSXWriter) flush() error {
	x.crc = crc32.Update(x.crc, crc32.IEEETable, x.buf)
	x.sheets[len(x.sheets)-1].raw += int64(len(x.buf))
	_, err := x.zw.Write(x.buf)
	x.buf = x.buf[:0]
	return err
}

// nextSheet finishes the full sheet and starts "<name>(n)", the name cut
// so that it stays within 31 characters.
func (x *XLSXWriter) nextSheet() error {
	if err := x.endSheet(); err != nil {
		return err
	}
	suffix := "(" + strconv.Itoa(len(x.sheets)+1) + ")"
	base := x.t.Name
	for utf16Len(base)+len(suffix) > maxSheetNameLen {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return x.startSheet(base + suffix)
}

// WriteRow writes one row (see RowWriter).
func (x *XLSXWriter) WriteRow(row ...Value) error {
	if x.closed {
		return errClosed
	}
	if err := checkRow(&x.t, row); err != nil {
		return err
	}
	if x.row >= x.maxRows {
		if err := x.nextSheet(); err != nil {
			return err
		}
	}
	x.row++
	x.buf = x.appendRow(x.buf, x.row, row, x.styles)
	if len(x.buf) < sheetFlushSize {
		return nil
	}
	return x.flush()
}

// appendSheetHead appends a worksheet's start up to <sheetData>: the view
// (selected or not, with the header row frozen or not) and the widths of
// cols.
func appendSheetHead(b []byte, cols []Column, selected, frozen bool) []byte {
	b = append(b, xmlHeader+`<worksheet xmlns="`+nsMain+`" xmlns:r="`+nsRel+`"><sheetViews><sheetView`...)
	if selected {
		b = append(b, ` tabSelected="1"`...)
	}
	b = append(b, ` workbookViewId="0"`...)
	if frozen {
		b = append(b, `><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>`+
			`<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>`...)
	} else {
		b = append(b, `/>`...)
	}
	b = append(b, `</sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>`...)
	for i, c := range cols {
		b = append(b, `<col min="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" max="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendFloat(b, columnWidth(c), 'f', -1, 64)
		b = append(b, `" customWidth="1"/>`...)
	}
	return append(b, `</cols><sheetData>`...)
}

// appendHeaderRow appends row 1: the titles of cols in the header style,
// 20 points high on a data sheet.
func (x *XLSXWriter) appendHeaderRow(b []byte, cols []Column, tall bool) []byte {
	b = append(b, `<row r="1"`...)
	if tall {
		b = append(b, ` ht="20" customHeight="1"`...)
	}
	b = append(b, '>')
	x.rs = append(x.rs[:0], '1')
	for i, c := range cols {
		b = x.appendText(b, i, styleHeader, c.Title)
	}
	return append(b, `</row>`...)
}

// appendRow appends row r of checked values; styles are the number styles
// of their columns. An empty value leaves its cell out.
func (x *XLSXWriter) appendRow(b []byte, r int, row []Value, styles []int) []byte {
	x.rs = strconv.AppendInt(x.rs[:0], int64(r), 10)
	b = append(b, `<row r="`...)
	b = append(b, x.rs...)
	b = append(b, `">`...)
	for i, v := range row {
		if v.typ != 0 {
			b = x.appendValue(b, i, v, styles[i])
		}
	}
	return append(b, `</row>`...)
}

// appendValue appends the cell of v in column i of the current row.
func (x *XLSXWriter) appendValue(b []byte, i int, v Value, style int) []byte {
	switch v.typ {
	case ColInt:
		b = x.appendCellStart(b, i, 0)
		b = strconv.AppendInt(b, v.n, 10)
		return append(b, `</v></c>`...)
	case ColMoney:
		x.num = appendMoney(x.num[:0], v.d)
		return x.appendNumber(b, i, style)
	case ColNumber:
		x.num = append(x.num[:0], v.d.String()...)
		return x.appendNumber(b, i, style)
	case ColDate:
		d := dateOf(v.t)
		if d.Before(excelFirstSafe) || !d.Before(excelPastLast) {
			x.num = appendDate(x.num[:0], d)
			return x.appendASCIIText(b, i, x.num)
		}
		b = x.appendCellStart(b, i, style)
		b = strconv.AppendInt(b, (d.Unix()-excelEpoch.Unix())/86400, 10)
		return append(b, `</v></c>`...)
	case ColDateTime:
		// A spreadsheet time has no zone: store the wall clock in loc.
		w := v.t.In(x.loc)
		_, offset := w.Zone()
		wall := w.Unix() + int64(offset)
		if wall < excelFirstSafe.Unix() || wall >= excelPastLast.Unix() {
			x.num = appendDateTime(x.num[:0], w)
			return x.appendASCIIText(b, i, x.num)
		}
		b = x.appendCellStart(b, i, style)
		b = strconv.AppendFloat(b, excelSerial(wall-excelEpoch.Unix()), 'f', -1, 64)
		return append(b, `</v></c>`...)
	}
	return x.appendText(b, i, 0, v.s)
}

// appendNumber appends a number cell of the decimal in x.num, or a text
// cell when a spreadsheet number cannot hold it exactly.
func (x *XLSXWriter) appendNumber(b []byte, i int, style int) []byte {
	if significantDigits(x.num) > maxExactDigits {
		return x.appendASCIIText(b, i, x.num)
	}
	// ParseFloat rounds correctly, and 'f' with precision -1 is the
	// shortest form that reads back the same (as excelize printed it, up
	// to 15 digits, which is all x.num has), so "-100000.00" is stored as
	// -100000 and shown as -100,000.00.
	f, err := strconv.ParseFloat(string(x.num), 64)
	if err != nil {
		return x.appendASCIIText(b, i, x.num)
	}
	b = x.appendCellStart(b, i, style)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	return append(b, `</v></c>`...)
}

// appendCellOpen appends the start of a cell of column i in the current
// row, its last attribute left open: <c r="A2" s="2.
func (x *XLSXWriter) appendCellOpen(b []byte, i int, style int) []byte {
	b = append(b, `<c r="`...)
	b = append(b, x.cols[i]...)
	b = append(b, x.rs...)
	if style != 0 {
		b = append(b, `" s="`...)
		b = strconv.AppendInt(b, int64(style), 10)
	}
	return b
}

// appendCellStart appends a number cell up to its value: <c r="A2" s="2"><v>.
func (x *XLSXWriter) appendCellStart(b []byte, i int, style int) []byte {
	return append(x.appendCellOpen(b, i, style), `"><v>`...)
}

// appendASCIIText appends an inline-string cell of s, text that needs no
// escaping (a date, an amount).
func (x *XLSXWriter) appendASCIIText(b []byte, i int, s []byte) []byte {
	b = x.appendTextStart(b, i, 0, false)
	b = append(b, s...)
	return append(b, `</t></is></c>`...)
}

// appendText appends an inline-string cell of s: never a formula, whatever
// it starts with.
func (x *XLSXWriter) appendText(b []byte, i int, style int, s string) []byte {
	if len(s) > maxCellChars { // a UTF-16 unit takes at least a byte
		s = truncateUTF16(s, maxCellChars)
	}
	b = x.appendTextStart(b, i, style, s != "" && (isXMLSpace(s[0]) || isXMLSpace(s[len(s)-1])))
	b = appendXMLText(b, s, false)
	return append(b, `</t></is></c>`...)
}

// appendTextStart appends an inline-string cell up to its text.
func (x *XLSXWriter) appendTextStart(b []byte, i int, style int, preserve bool) []byte {
	b = x.appendCellOpen(b, i, style)
	if preserve {
		return append(b, `" t="inlineStr"><is><t xml:space="preserve">`...)
	}
	return append(b, `" t="inlineStr"><is><t>`...)
}

// isXMLSpace: a reader would drop these at the ends of a cell unless told
// to preserve them.
func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// xmlSpecial marks the ASCII bytes appendXMLText must look at: controls,
// & < > " and the underscore that may start an _xHHHH_ escape.
var xmlSpecial = func() (special [utf8.RuneSelf]bool) {
	for c := range 0x20 {
		special[c] = true
	}
	for _, c := range `&<>"_` {
		special[c] = true
	}
	return special
}()

// controlEscapes are the _xHHHH_ escapes of the control characters.
var controlEscapes = func() (esc [0x20]string) {
	const hex = "0123456789ABCDEF"
	for c := range esc {
		esc[c] = "_x00" + hex[c>>4:c>>4+1] + hex[c&15:c&15+1] + "_"
	}
	return esc
}()

// appendXMLText appends s as XML character data, or as an attribute value
// (attr: quotes, tabs and line breaks escaped as well). What XML 1.0 cannot
// hold is written as the spreadsheet escape _xHHHH_ (ST_Xstring), which
// readers turn back into the character; in cell text an underscore that
// would start such an escape is itself escaped as _x005F_, so the text
// reads back as it was. (In attributes, the sheet names and format codes,
// underscores stay as they are, as excelize left them.) Invalid UTF-8
// becomes U+FFFD.
func appendXMLText(b []byte, s string, attr bool) []byte {
	last := 0 // s[last:i] is copied as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && !xmlSpecial[c] {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			if r, size = utf8.DecodeRuneInString(s[i:]); size > 1 && r != 0xFFFE && r != 0xFFFF {
				i += size
				continue
			}
		}
		if esc := escapeOf(r, s[i:], attr); esc != "" {
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			last = i + size
		}
		i += size
	}
	return append(b, s[last:]...)
}

// escapeOf is what replaces r, the character s starts with, in XML text
// (attr: in an attribute value); "" keeps it. r is an ASCII special, an
// invalid byte (utf8.RuneError), U+FFFE or U+FFFF.
func escapeOf(r rune, s string, attr bool) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '\r':
		return "&#xD;" // raw, a parser would read a line feed
	case '"':
		if attr {
			return "&quot;"
		}
	case '\n':
		if attr {
			return "&#xA;"
		}
	case '\t':
		if attr {
			return "&#x9;"
		}
	case '_':
		if !attr && isXEscape(s) {
			return "_x005F_" // before the rest of the lookalike, which stays
		}
	case utf8.RuneError:
		return "\uFFFD"
	case 0xFFFE:
		return "_xFFFE_"
	case 0xFFFF:
		return "_xFFFF_"
	default:
		if r < 0x20 {
			return controlEscapes[r]
		}
	}
	return ""
}

// isXEscape reports whether s starts with what a reader may take for an
// _xHHHH_ escape: _x, one to four hex digits, _ (LibreOffice also decodes
// the short forms, _x1_ and _x12_, when they name a control character).
func isXEscape(s string) bool {
	if len(s) < 4 || s[0] != '_' || s[1] != 'x' {
		return false
	}
	for i := 2; i < len(s) && i < 7; i++ {
		c := s[i]
		switch {
		case c == '_':
			return i > 2
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return false
}

// utf16Len is the length of s in UTF-16 units, as Excel counts characters.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncateUTF16 cuts s to at most n UTF-16 units, at a character boundary.
func truncateUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return s[:i]
		}
	}
	return s
}

// excelSerial is the spreadsheet serial of a time secs whole seconds after
// excelEpoch: days plus the fraction secs%86400/86400, computed in integers
// and rounded up to the 15 significant digits a cell keeps. Up, because a
// cell holds 15 digits and LibreOffice shows the second a serial has
// reached: the plain float quotient, cut to 15 digits, lands a few
// milliseconds early for about half of all times (23:53:00 showed as
// 23:52:59). Rounded up it is at most 9 µs late, so readers that truncate
// and readers that round both show the right second, and it prints (the
// shortest form, as WriteRow writes it) in at most 15 digits.
func excelSerial(secs int64) float64 {
	days, rem := secs/86400, secs%86400
	var buf [32]byte
	s := strconv.AppendInt(buf[:0], days, 10)
	decimals := maxExactDigits - len(s)
	scale := int64(1)
	for range decimals {
		scale *= 10
	}
	// rem < 86400 and scale <= 1e15/10^intDigits: rem*scale fits in int64
	// for every date a spreadsheet holds (intDigits >= 2 from 1900-03-01).
	frac := (rem*scale + 86399) / 86400
	s = append(s, '.')
	for p := scale / 10; p > frac && p >= 10; p /= 10 { // frac's leading zeros
		s = append(s, '0')
	}
	s = strconv.AppendInt(s, frac, 10)
	f, _ := strconv.ParseFloat(string(s), 64)
	return f
}

// significantDigits counts the digits of a decimal, leading zeros aside.
func significantDigits[T string | []byte](s T) int {
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

// Close finishes the data sheet, adds the chain-head sheet and writes the
// workbook to w, then removes the temporary file. It does not close w.
func (x *XLSXWriter) Close(head ChainHead) error {
	if x.closed {
		return errClosed
	}
	x.closed = true
	defer x.spill.close()
	if err := x.endSheet(); err != nil {
		return err
	}
	zw := zip.NewWriter(x.dst)
	n := len(x.sheets) + 1 // the data sheets, then the chain head
	parts := []struct {
		name string
		xml  func([]byte) []byte
	}{
		{"[Content_Types].xml", func(b []byte) []byte { return appendContentTypes(b, n) }},
		{"_rels/.rels", func(b []byte) []byte { return append(b, rootRels...) }},
		{"xl/workbook.xml", x.appendWorkbook},
		{"xl/_rels/workbook.xml.rels", func(b []byte) []byte { return appendWorkbookRels(b, n) }},
		{"xl/styles.xml", x.appendStyles},
	}
	for _, p := range parts {
		x.buf = p.xml(x.buf[:0])
		if err := writePart(zw, p.name, x.buf); err != nil {
			return err
		}
	}
	for i, p := range x.sheets {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: sheetPath(i + 1), Method: zip.Deflate,
			CRC32: p.crc, CompressedSize64: uint64(p.size), UncompressedSize64: uint64(p.raw)})
		if err != nil {
			return err
		}
		r, err := x.spill.section(p.off, p.size)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
	}
	x.buf = x.appendChainSheet(x.buf[:0], head.normal())
	if err := writePart(zw, sheetPath(n), x.buf); err != nil {
		return err
	}
	return zw.Close()
}

func writePart(zw *zip.Writer, name string, b []byte) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err == nil {
		_, err = w.Write(b)
	}
	return err
}

func sheetPath(n int) string { return "xl/worksheets/sheet" + strconv.Itoa(n) + ".xml" }

// chainColumns lay out the chain-head sheet.
var chainColumns = []Column{{Title: "项目", Type: ColText, Width: 12}, {Title: "值", Type: ColText, Width: 80}}

func (x *XLSXWriter) appendChainSheet(b []byte, h ChainHead) []byte {
	b = appendSheetHead(b, chainColumns, false, false)
	b = x.appendHeaderRow(b, chainColumns, false)
	rows := [][]Value{
		{Text("链头序号"), Int(h.Seq)},
		{Text("链头哈希"), Text(h.Hash)},
		{Text("哈希算法"), Text(h.Algorithm)},
		{Text("链头标识"), Text(h.String())},
		{Text("说明"), Text("导出时台账最后一条凭证的序号与哈希。用台账校验命令或台账校验页面核验：该序号的凭证哈希应与此一致，且链条完整。")},
	}
	for i, r := range rows {
		b = x.appendRow(b, i+2, r, []int{0, 0})
	}
	return append(b, "</sheetData></worksheet>"...)
}

// Abort removes the temporary file without writing anything to w. It is a
// no-op after Close.
func (x *XLSXWriter) Abort() error {
	if x.closed {
		return nil
	}
	x.closed = true
	return x.spill.close()
}

// The package parts: namespaces and the fixed XML.
const (
	xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsMain    = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsPkgRel  = "http://schemas.openxmlformats.org/package/2006/relationships"
	rootRels  = xmlHeader + `<Relationships xmlns="` + nsPkgRel + `">` +
		`<Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`
)

func appendContentTypes(b []byte, sheets int) []byte {
	const ct = "application/vnd.openxmlformats-officedocument.spreadsheetml."
	b = append(b, xmlHeader+`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="`+ct+`sheet.main+xml"/>`+
		`<Override PartName="/xl/styles.xml" ContentType="`+ct+`styles+xml"/>`...)
	for i := 1; i <= sheets; i++ {
		b = append(b, `<Override PartName="/`...)
		b = append(b, sheetPath(i)...)
		b = append(b, `" ContentType="`+ct+`worksheet+xml"/>`...)
	}
	return append(b, `</Types>`...)
}

// appendWorkbook lists the data sheets and the chain-head sheet, the first
// one active.
func (x *XLSXWriter) appendWorkbook(b []byte) []byte {
	b = append(b, xmlHeader+`<workbook xmlns="`+nsMain+`" xmlns:r="`+nsRel+`">`+
		`<bookViews><workbookView activeTab="0"/></bookViews><sheets>`...)
	sheet := func(b []byte, name string, n int) []byte {
		b = append(b, `<sheet name="`...)
		b = appendXMLText(b, name, true)
		b = append(b, `" sheetId="`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `" r:id="rId`...)
		b = strconv.AppendInt(b, int64(n), 10)
		return append(b, `"/>`...)
	}
	for i, p := range x.sheets {
		b = sheet(b, p.name, i+1)
	}
	b = sheet(b, ChainSheetName, len(x.sheets)+1)
	return append(b, `</sheets></workbook>`...)
}

func appendWorkbookRels(b []byte, sheets int) []byte {
	b = append(b, xmlHeader+`<Relationships xmlns="`+nsPkgRel+`">`...)
	for i := 1; i <= sheets; i++ {
		b = append(b, `<Relationship Id="rId`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `" Type="`+nsRel+`/worksheet" Target="worksheets/sheet`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `.xml"/>`...)
	}
	b = append(b, `<Relationship Id="rIdStyles" Type="`+nsRel+`/styles" Target="styles.xml"/>`...)
	return append(b, `</Relationships>`...)
}

// appendStyles writes the styles the cells name: the header (bold Calibri,
// centred, filled DDEBF7), money (built-in format 4, which every
// spreadsheet program knows without reading a custom format), the date and
// date-time formats, and the ColNumber formats.
func (x *XLSXWriter) appendStyles(b []byte) []byte {
	fmts := append([]string{"yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"}, x.numFmts...)
	b = append(b, xmlHeader+`<styleSheet xmlns="`+nsMain+`"><numFmts count="`...)
	b = strconv.AppendInt(b, int64(len(fmts)), 10)
	b = append(b, `">`...)
	for i, f := range fmts {
		b = append(b, `<numFmt numFmtId="`...)
		b = strconv.AppendInt(b, int64(firstNumFmtID+i), 10)
		b = append(b, `" formatCode="`...)
		b = appendXMLText(b, f, true)
		b = append(b, `"/>`...)
	}
	b = append(b, `</numFmts>`+
		`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>`+
		`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>`+
		`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>`+
		`<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>`+
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>`+
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="`...)
	b = strconv.AppendInt(b, int64(styleNumber+len(x.numFmts)), 10)
	b = append(b, `"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>`+
		`<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">`+
		`<alignment horizontal="center" vertical="center"/></xf>`...)
	numFmtXf := func(b []byte, id int) []byte {
		b = append(b, `<xf numFmtId="`...)
		b = strconv.AppendInt(b, int64(id), 10)
		return append(b, `" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`...)
	}
	b = numFmtXf(b, 4)
	for i := range fmts {
		b = numFmtXf(b, firstNumFmtID+i)
	}
	return append(b, `</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`...)
}
